"""Calibration of the cat-and-mouse model to published aggregate anchors, with profiles.

Each anchor is one published number with an observation model (Poisson count, log-normal
number or range, one-sided "at least", or a mean lifespan of ``n`` channels read as the mean
of ``n`` exponential lifetimes).  :func:`calibrate` maximises the summed log-likelihood over
the free parameters (log scale, within search bounds) and then profiles each parameter:
the 95 % profile interval is where ``2 (max logL - profile logL) <= 3.84``.  An interval
that reaches the edge of the search range means the anchors do **not** identify the
parameter in that direction (reported as ``lower_identified`` / ``upper_identified``).

Public anchors (constants below; see /work/shared/reference/modelling_literature.md, section 1)
are used only by the scenario builders and :func:`calibrate_public_anchors`, never as test
expectations.  The scenarios join anchors from *one* platform and period each: the numbers
come from different populations (Telegram bans incl. bots, CREST's jihadist channel sample,
Twitter accounts) and must not share parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.errors import ModelError
from analysis.models._cm_stats import minimise
from analysis.models.catmouse import CatMouseModel, Crackdown

__all__ = [
    "Anchor",
    "CalibrationProblem",
    "CalibrationResult",
    "calibrate",
    "calibrate_public_anchors",
    "crest_2018_2019_problem",
    "telegram_nov2019_problem",
    "twitter_april2015_problem",
]

# --------------------------------------------------------------------------- public anchors
# A14: Telegram "ISIS Watch" bans (accounts + bots) around the Nov 2019 Europol action.
# BBC Monitoring text mirrored at
# https://alexpresents.com/2019/11/25/europol-disrupts-islamic-state-propaganda-machine/
TELEGRAM_BANS_22NOV2019 = 2096
TELEGRAM_BANS_23NOV2019 = 2959
TELEGRAM_BASELINE_BANS_PER_DAY = (200, 300)  # "typical daily average 200-300"

# A12: CREST 2021 (Amarasingam, Maher & Winter), new jihadist Telegram channels after the
# 2018 and 2019 Europol Action Days and their mean lifespans.
# https://www.crestresearch.ac.uk/resources/how-telegram-disruption-impacts-jihadist-platform-migration/
CREST_NEW_CHANNELS_2018 = 12
CREST_NEW_CHANNELS_2019 = 105
CREST_MEAN_LIFESPAN_DAYS_2018 = 302.0
CREST_MEAN_LIFESPAN_DAYS_2019 = 14.0

# A11: CREST 2021, organic posts 30 days after vs before: -15 % (2018), -95.5 % (2019); used
# as a proxy for the fraction of channels removed on the action day (an assumption).
# https://evidencehub.net/chart/number-of-posts-on-telegram-30-days-before-and-30-days-after-europol-s-interventions-2018-2020-218.0
CREST_POSTS_DROP_2018 = 0.15
CREST_POSTS_DROP_2019 = 0.955

# A8: Twitter purge of 2 Apr 2015: 10,000 accounts suspended; at least 2,000 created while
# they were suspended.  http://intelwire.blogspot.com/2015/04/isis-strategy-aq-fractures-twitter.html
TWITTER_PURGE_SUSPENDED_APR2015 = 10_000
TWITTER_PURGE_CREATED_AT_LEAST_APR2015 = 2_000
# A9: IS Twitter population, autumn 2014: at least 46,000 (conservative) to 70,000 accounts.
# https://www.brookings.edu/articles/the-isis-twitter-census-making-sense-of-isiss-use-of-twitter/
TWITTER_POPULATION_2014 = (46_000, 70_000)
# A7: Twitter's own IS suspension rate, 15,000-18,000 a month (mid-2015 to Jan 2016; later
# than the purge: an assumption that the baseline was similar).
# https://uk.news.yahoo.com/islamic-state-twitter-network-decimated-090731268.html
TWITTER_SUSPENSIONS_PER_MONTH_2015 = (15_000, 18_000)


@dataclass(frozen=True)
class Anchor:
    """One published number and its observation model.

    Parameters
    ----------
    name
        Label.
    key
        Key of the prediction (see :class:`CalibrationProblem`) compared with ``observed``.
    observed
        The published value (for ranges: the geometric mean, see :meth:`from_range`).
    kind
        ``"poisson"`` (a count), ``"lognormal"`` (log(observed) ~ N(log predicted, sd_log)),
        ``"at_least"`` (one-sided: P(log observed <= log predicted + noise)), or
        ``"mean_lifetime"`` (mean of ``n`` exponential lifetimes with predicted mean).
    sd_log
        Log-scale sd for ``lognormal`` / ``at_least``.
    n
        Number of channels behind a ``mean_lifetime`` anchor.
    source
        URL where the number was seen.
    """

    name: str
    key: str
    observed: float
    kind: Literal["poisson", "lognormal", "at_least", "mean_lifetime"]
    sd_log: float = 0.1
    n: int = 1
    source: str = ""

    @classmethod
    def from_range(cls, name: str, key: str, low: float, high: float, source: str = "") -> Anchor:
        """Log-normal anchor whose central 95 % interval is ``[low, high]``."""
        return cls(
            name, key, float(np.sqrt(low * high)), "lognormal",
            sd_log=float(np.log(high / low) / (2 * 1.959964)), source=source,
        )

    def loglik(self, predicted: float) -> float:
        """Log-likelihood of the observed value given the model prediction."""
        if not np.isfinite(predicted) or predicted <= 0:
            return -1e12
        if self.kind == "poisson":
            return float(stats.poisson.logpmf(round(self.observed), predicted))
        if self.kind == "lognormal":
            return float(stats.norm.logpdf(np.log(self.observed), np.log(predicted), self.sd_log))
        if self.kind == "at_least":
            return float(stats.norm.logcdf((np.log(predicted) - np.log(self.observed)) / self.sd_log))
        if self.kind == "mean_lifetime":
            return float(self.n * (-np.log(predicted) - self.observed / predicted))
        raise ModelError(f"unknown anchor kind {self.kind!r}")


@dataclass
class CalibrationProblem:
    """Anchors, a prediction function and the free parameters with search ranges.

    ``predict(params) -> {key: value}`` maps a full parameter dict (free and fixed, natural
    units) to the predicted anchor values.  ``free[name] = (start, lower, upper)`` (positive;
    searched on the log scale).
    """

    name: str
    anchors: list[Anchor]
    predict: Callable[[dict[str, float]], dict[str, float]]
    free: dict[str, tuple[float, float, float]]
    fixed: dict[str, float] = field(default_factory=dict)
    notes: str = ""


@dataclass
class CalibrationResult:
    """Output of :func:`calibrate`: ``params_``, ``summary``, ``anchors``, ``profiles``."""

    problem: CalibrationProblem
    params_: pd.Series
    summary: pd.DataFrame
    anchors: pd.DataFrame
    profiles: dict[str, pd.DataFrame]
    loglik_: float


def _total_loglik(problem: CalibrationProblem, params: dict[str, float]) -> float:
    try:
        pred = problem.predict(params)
    except (ModelError, ValueError, FloatingPointError, np.linalg.LinAlgError):
        return -1e12
    return float(sum(a.loglik(pred[a.key]) for a in problem.anchors))


def calibrate(
    problem: CalibrationProblem, profile_points: int = 17, confidence: float = 0.95
) -> CalibrationResult:
    """Maximum-likelihood calibration with profile-likelihood intervals.

    Parameters
    ----------
    problem
        The anchors and parameters.
    profile_points
        Grid points per profile (log-spaced over the search range, plus the estimate).
    confidence
        Profile interval level (threshold ``chi2_1`` quantile).

    Returns
    -------
    CalibrationResult
        ``summary`` columns: ``estimate``, ``lower``, ``upper``, ``lower_identified``,
        ``upper_identified`` (False: the interval reaches the search bound), ``search_lower``,
        ``search_upper``.
    """
    names = list(problem.free)
    # probabilities (search range inside (0, 1)) on the logit scale, everything else on log
    is_prob = np.array([problem.free[n][2] < 1.0 for n in names])

    def fwd(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        return np.where(is_prob, np.log(v) - np.log1p(-np.where(is_prob, v, 0.0)), np.log(v))

    def back(x: np.ndarray) -> np.ndarray:
        return np.where(is_prob, 1.0 / (1.0 + np.exp(-x)), np.exp(x))

    lo = fwd([problem.free[n][1] for n in names])
    hi = fwd([problem.free[n][2] for n in names])
    x0 = fwd([problem.free[n][0] for n in names])
    bounds = list(zip(lo, hi, strict=True))

    def params_of(x: np.ndarray, names: list[str] = names) -> dict[str, float]:
        p = dict(problem.fixed)
        p.update({n: float(v) for n, v in zip(names, back(np.asarray(x)), strict=True)})
        return p

    def neg(x: np.ndarray) -> float:
        return -_total_loglik(problem, params_of(x))

    starts = [x0, (lo + hi) / 2, 0.75 * x0 + 0.25 * lo, 0.75 * x0 + 0.25 * hi]
    best = minimise(neg, starts, bounds=bounds)
    x_hat, ll_hat = np.asarray(best.x), -float(best.fun)
    threshold = stats.chi2.ppf(confidence, 1) / 2.0
    profiles: dict[str, pd.DataFrame] = {}
    rows = []
    for i, name in enumerate(names):
        grid = np.unique(np.concatenate([np.linspace(lo[i], hi[i], profile_points), [x_hat[i]]]))
        others = [j for j in range(len(names)) if j != i]

        def profile_at(g: float, i: int = i, others: list[int] = others) -> float:
            """Profile log-likelihood with parameter ``i`` fixed at ``g`` (log scale)."""
            if not others:
                x = x_hat.copy()
                x[i] = g
                return -neg(x)

            def sub(z: np.ndarray) -> float:
                x = np.empty(len(names))
                x[i] = g
                x[others] = z
                return neg(x)

            res = minimise(sub, [x_hat[others]], bounds=[bounds[j] for j in others], polish=False)
            return -float(res.fun)

        prof = np.asarray([profile_at(g) for g in grid])
        ll_max = max(ll_hat, float(prof.max()))
        drop = ll_max - prof
        k_hat = int(np.argmin(drop))

        def to_natural(v: float, i: int = i) -> float:
            return float(1.0 / (1.0 + np.exp(-v)) if is_prob[i] else np.exp(v))

        def excess(
            g: float, profile_at: Callable[[float], float] = profile_at, top: float = ll_max
        ) -> float:
            return top - profile_at(g) - threshold

        lower, lower_ok = _crossing(grid, drop, threshold, k_hat, -1, to_natural, excess)
        upper, upper_ok = _crossing(grid, drop, threshold, k_hat, +1, to_natural, excess)
        natural_grid = np.array([to_natural(v) for v in grid])
        profiles[name] = pd.DataFrame({name: natural_grid, "loglik": prof, "deviance": 2 * drop})
        rows.append(
            {
                "parameter": name,
                "estimate": to_natural(x_hat[i]),
                "lower": lower,
                "upper": upper,
                "lower_identified": lower_ok,
                "upper_identified": upper_ok,
                "search_lower": to_natural(lo[i]),
                "search_upper": to_natural(hi[i]),
            }
        )
    summary = pd.DataFrame(rows).set_index("parameter")
    p_hat = params_of(x_hat)
    pred = problem.predict(p_hat)
    anchors = pd.DataFrame(
        [
            {
                "anchor": a.name, "kind": a.kind, "observed": a.observed,
                "predicted": pred[a.key], "loglik": a.loglik(pred[a.key]), "source": a.source,
            }
            for a in problem.anchors
        ]
    ).set_index("anchor")
    return CalibrationResult(
        problem=problem,
        params_=pd.Series({**problem.fixed, **{n: p_hat[n] for n in names}}),
        summary=summary,
        anchors=anchors,
        profiles=profiles,
        loglik_=ll_hat,
    )


def _crossing(
    grid: np.ndarray,
    drop: np.ndarray,
    threshold: float,
    k_hat: int,
    direction: int,
    to_natural: Callable[[float], float],
    excess: Callable[[float], float] | None = None,
) -> tuple[float, bool]:
    """Walk from the profile maximum to the first grid point outside, then find the crossing.

    Between the last grid point inside and the first outside, the crossing of the profile
    deviance with the threshold is found by Brent's method on ``excess`` (profile drop minus
    threshold; re-profiling at each trial point) to 0.01 on the log scale, so the bound does not
    depend on the grid's spacing; without ``excess`` it is interpolated linearly.

    Returns (bound, identified); identified is False when the search range ends first.
    """
    inside = drop <= threshold
    k = k_hat
    while 0 <= k + direction < grid.size and inside[k + direction]:
        k += direction
    if not 0 <= k + direction < grid.size:
        return float(to_natural(grid[k])), False
    a, b = drop[k], drop[k + direction]
    frac = (threshold - a) / (b - a) if b != a else 0.5
    guess = grid[k] + frac * (grid[k + direction] - grid[k])
    if excess is not None:
        lo_g, hi_g = sorted((grid[k], grid[k + direction]))
        try:
            guess = optimize.brentq(excess, lo_g, hi_g, xtol=0.01)
        except ValueError:  # the re-profiled ends do not bracket: keep the interpolation
            pass
    return float(to_natural(guess)), True


# --------------------------------------------------------------------------- scenarios
def _telegram_predict(p: Mapping[str, float]) -> dict[str, float]:
    rho = p["recreation_probability"]
    mu0 = 1.0 / p["mean_lifetime_days"]
    model = CatMouseModel(
        creation_rate_per_day=p["baseline_bans_per_day"] * (1 - rho),
        ban_hazard_per_day=mu0,
        recreation_probability=rho,
        recreation_delay_mean_days=p["recreation_delay_mean_days"],
        crackdowns=(
            Crackdown(5.0, 1.0, p["extra_hazard_day1_per_day"]),
            Crackdown(6.0, 1.0, p["extra_hazard_day2_per_day"]),
        ),
    )
    mf = model.mean_field(7, method="expm")
    return {
        "baseline_bans": float(mf["bans_per_day"].iloc[0]),
        "bans_day1": float(mf["bans_per_day"].iloc[5]),
        "bans_day2": float(mf["bans_per_day"].iloc[6]),
        "active_before": float(mf["active"].iloc[4]),
    }


def telegram_nov2019_problem(
    recreation_probability: float = 0.0, recreation_delay_mean_days: float = 1.0
) -> CalibrationProblem:
    """A14: ISIS Watch bans on 22 and 23 Nov 2019 against a 200-300/day baseline.

    Free: ``baseline_bans_per_day`` (= equilibrium creation = ban flow), ``mean_lifetime_days``
    (``1/mu_0``), and the extra hazards of the two action days.  Re-creation is fixed (bans
    alone cannot separate it from the hazard at this time scale).
    """
    return CalibrationProblem(
        name="Telegram ISIS Watch, Nov 2019 (A14)",
        anchors=[
            Anchor.from_range(
                "baseline bans per day (200-300)", "baseline_bans", *TELEGRAM_BASELINE_BANS_PER_DAY,
                source="https://alexpresents.com/2019/11/25/europol-disrupts-islamic-state-propaganda-machine/",
            ),
            Anchor("bans 22 Nov 2019", "bans_day1", TELEGRAM_BANS_22NOV2019, "poisson",
                   source="https://alexpresents.com/2019/11/25/europol-disrupts-islamic-state-propaganda-machine/"),
            Anchor("bans 23 Nov 2019", "bans_day2", TELEGRAM_BANS_23NOV2019, "poisson",
                   source="https://alexpresents.com/2019/11/25/europol-disrupts-islamic-state-propaganda-machine/"),
        ],
        predict=_telegram_predict,
        free={
            "baseline_bans_per_day": (250.0, 50.0, 2000.0),
            "mean_lifetime_days": (60.0, 1.0, 5000.0),
            "extra_hazard_day1_per_day": (0.3, 1e-4, 50.0),
            "extra_hazard_day2_per_day": (0.5, 1e-4, 50.0),
        },
        fixed={
            "recreation_probability": recreation_probability,
            "recreation_delay_mean_days": recreation_delay_mean_days,
        },
    )


def _crest_predict(p: Mapping[str, float]) -> dict[str, float]:
    window = int(p["window_days"])
    mu0 = 1.0 / p["mean_lifetime_2018_days"]
    h19 = max(1.0 / p["mean_lifetime_2019_days"] - mu0, 0.0)
    base = dict(
        creation_rate_per_day=p["creation_rate_per_day"],
        ban_hazard_per_day=mu0,
        recreation_probability=p["recreation_probability"],
        recreation_delay_mean_days=p["recreation_delay_mean_days"],
    )
    m18 = CatMouseModel(**base, crackdowns=(Crackdown.removing_fraction(0.0, p["removed_2018"]),))
    m19 = CatMouseModel(
        **base,
        crackdowns=(
            Crackdown.removing_fraction(0.0, p["removed_2019"]),
            Crackdown(1.0, float(window), h19),
        ),
    )
    c18 = m18.mean_field(window + 1, method="expm")["creations_per_day"].iloc[1:].sum()
    c19 = m19.mean_field(window + 1, method="expm")["creations_per_day"].iloc[1:].sum()
    return {
        "new_2018": float(c18),
        "new_2019": float(c19),
        "lifespan_2018": 1.0 / mu0,
        "lifespan_2019": 1.0 / (mu0 + h19),
        "active_before": m18.equilibrium_active(),
    }


def crest_2018_2019_problem(
    window_days: int = 365, recreation_delay_mean_days: float = 3.0
) -> CalibrationProblem:
    """A12 (+A11 as removal fractions): new channels and their lifespans after 2018 vs 2019.

    2018: removal of 15 % of channels on the action day, then the baseline hazard; 2019:
    removal of 95.5 % and a sustained extra hazard for ``window_days`` (the mean lifespan of
    the 2019 cohort is ``1/(mu_0 + h)``).  New channels = expected creations (organic plus
    re-created) in days 1..``window_days`` (CREST's window is not stated in the summary seen:
    an assumption; rerun with other windows).  Free: ``creation_rate_per_day`` (in CREST's
    channel sample), the two mean lifespans, ``recreation_probability``.
    """
    return CalibrationProblem(
        name=f"CREST 2018 vs 2019 Telegram action days (A12, A11), window {window_days} d",
        anchors=[
            Anchor("new channels after 2018 action", "new_2018", CREST_NEW_CHANNELS_2018, "poisson",
                   source="https://www.crestresearch.ac.uk/resources/how-telegram-disruption-impacts-jihadist-platform-migration/"),
            Anchor("new channels after 2019 action", "new_2019", CREST_NEW_CHANNELS_2019, "poisson",
                   source="https://www.crestresearch.ac.uk/resources/how-telegram-disruption-impacts-jihadist-platform-migration/"),
            Anchor("mean lifespan 2018 cohort", "lifespan_2018", CREST_MEAN_LIFESPAN_DAYS_2018,
                   "mean_lifetime", n=CREST_NEW_CHANNELS_2018,
                   source="https://www.crestresearch.ac.uk/resources/how-telegram-disruption-impacts-jihadist-platform-migration/"),
            Anchor("mean lifespan 2019 cohort", "lifespan_2019", CREST_MEAN_LIFESPAN_DAYS_2019,
                   "mean_lifetime", n=CREST_NEW_CHANNELS_2019,
                   source="https://www.crestresearch.ac.uk/resources/how-telegram-disruption-impacts-jihadist-platform-migration/"),
        ],
        predict=_crest_predict,
        free={
            "creation_rate_per_day": (0.03, 1e-4, 10.0),
            "mean_lifetime_2018_days": (300.0, 20.0, 5000.0),
            "mean_lifetime_2019_days": (14.0, 1.0, 200.0),
            "recreation_probability": (0.5, 1e-3, 0.999),
        },
        fixed={
            "window_days": float(window_days),
            "removed_2018": CREST_POSTS_DROP_2018,
            "removed_2019": CREST_POSTS_DROP_2019,
            "recreation_delay_mean_days": recreation_delay_mean_days,
        },
    )


def _twitter_predict(p: Mapping[str, float]) -> dict[str, float]:
    mu0 = 1.0 / p["mean_lifetime_days"]
    rho = p["recreation_probability"]
    lam = p["population"] * mu0 * (1 - rho)  # so that the equilibrium equals `population`
    model = CatMouseModel(
        creation_rate_per_day=lam,
        ban_hazard_per_day=mu0,
        recreation_probability=rho,
        recreation_delay_mean_days=p["recreation_delay_mean_days"],
        crackdowns=(Crackdown(1.0, 1.0, p["purge_extra_hazard_per_day"]),),
    )
    window = int(p["creation_window_days"])
    mf = model.mean_field(1 + window, method="expm")
    return {
        "population": model.equilibrium_active(),
        "baseline_suspensions_per_month": 30.0 * float(mf["bans_per_day"].iloc[0]),
        "purge_suspensions": float(mf["bans_per_day"].iloc[1]),
        "created_during_purge": float(mf["creations_per_day"].iloc[1 : 1 + window].sum()),
    }


def twitter_april2015_problem(creation_window_days: int = 3) -> CalibrationProblem:
    """A8 with A9 and A7: the 2 Apr 2015 Twitter purge.

    One-day purge (extra hazard) of a population of 46,000-70,000 accounts (A9) with a
    baseline of 15,000-18,000 suspensions a month (A7, measured later in 2015: an assumption);
    10,000 suspended (A8, rounded: log-sd 0.05) and at least 2,000 created within
    ``creation_window_days`` from the purge day (one-sided, log-sd 0.05).  Free: population,
    mean lifetime, purge hazard, re-creation probability and mean delay.
    """
    src_a8 = "http://intelwire.blogspot.com/2015/04/isis-strategy-aq-fractures-twitter.html"
    return CalibrationProblem(
        name="Twitter purge, 2 Apr 2015 (A8, A9, A7)",
        anchors=[
            Anchor.from_range("IS Twitter population 2014 (46k-70k)", "population",
                              *TWITTER_POPULATION_2014,
                              source="https://www.brookings.edu/articles/the-isis-twitter-census-making-sense-of-isiss-use-of-twitter/"),
            Anchor.from_range("suspensions per month (15k-18k)", "baseline_suspensions_per_month",
                              *TWITTER_SUSPENSIONS_PER_MONTH_2015,
                              source="https://uk.news.yahoo.com/islamic-state-twitter-network-decimated-090731268.html"),
            Anchor("suspended in the purge", "purge_suspensions", TWITTER_PURGE_SUSPENDED_APR2015,
                   "lognormal", sd_log=0.05, source=src_a8),
            Anchor("created during the purge (at least)", "created_during_purge",
                   TWITTER_PURGE_CREATED_AT_LEAST_APR2015, "at_least", sd_log=0.05, source=src_a8),
        ],
        predict=_twitter_predict,
        free={
            "population": (56_000.0, 10_000.0, 300_000.0),
            "mean_lifetime_days": (100.0, 5.0, 3000.0),
            "purge_extra_hazard_per_day": (0.2, 1e-3, 20.0),
            "recreation_probability": (0.3, 1e-3, 0.999),
            "recreation_delay_mean_days": (2.0, 0.05, 60.0),
        },
        fixed={"creation_window_days": float(creation_window_days)},
    )


def calibrate_public_anchors(profile_points: int = 17) -> dict[str, CalibrationResult]:
    """Run the three public-anchor calibrations (A14; A12+A11; A8+A9+A7)."""
    problems = {
        "telegram_nov2019": telegram_nov2019_problem(),
        "crest_2018_2019": crest_2018_2019_problem(),
        "twitter_april2015": twitter_april2015_problem(),
    }
    return {k: calibrate(p, profile_points=profile_points) for k, p in problems.items()}


if __name__ == "__main__":  # pragma: no cover - manual run: python -m analysis.models.calibration
    pd.set_option("display.width", 160)
    for key, result in calibrate_public_anchors().items():
        print(f"\n== {result.problem.name} ({key})  logL = {result.loglik_:.2f}")
        print(result.anchors[["observed", "predicted"]].round(2).to_string())
        print(result.summary.round(4).to_string())
