"""Two kinds of channel: a fast-banned and a slow-banned type (a two-point frailty).

Conway et al. (2017, *Disrupting Daesh*) report a large share of pro-IS Twitter accounts
suspended in their first two days, yet well under all of them within three months
(figures ``ST03-is-within-2d``, ``ST03-is-suspended`` and ``ST03-is-sample-derived`` of the
dataset; :func:`conway_points` reads them, this module holds no published number).  One
constant hazard cannot do both: ``F(t1) >= s1`` forces ``mu >= -ln(1 - s1) / t1`` and then
``F(t2) >= 1 - (1 - s1)**(t2 / t1)``, almost 1 for these points.  A mixture of two exponential
types can: ``S(t) = p e^{-a t} + (1 - p) e^{-b t}`` (``a > b``, share ``p`` fast).

Two published shares identify two numbers, the mixture has three: the points pin down a
*curve* of exact solutions (:func:`two_type_solutions`), from the cure model (``b = 0``,
C's ``fit_published_points(..., "exponential", cure=True)``) to an instantly banned fast
type (``a -> inf``).  Individual lifetimes (right-censored, with delayed entry) identify all
three: :class:`TypeMixture` (maximum likelihood, Wald intervals on the logit/log scale; their
coverage is tested in simulation).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from analysis.errors import ModelError, NoEventsError, UnidentifiedWarning
from analysis.models.mechanisms._numdiff import hessian

__all__ = [
    "CONWAY_FIGURE_IDS",
    "TypeMixture",
    "conway_points",
    "conway_source",
    "two_type_solutions",
]

UNIDENTIFIED_CI_RATIO = 100.0

CONWAY_FIGURE_IDS = {
    "within_2_days": "ST03-is-within-2d",
    "suspended": "ST03-is-suspended",
    "monitored": "ST03-is-sample-derived",
}
"""Figure ids (``analysis.load.figure``) of Conway et al.'s points: the share suspended within
two days, the count suspended within the three-month window, and the number of accounts
monitored (derived by the ETL from the count and its published percentage)."""


@dataclass(frozen=True)
class PublishedSource:
    url: str
    quotes: tuple[str, ...]
    note: str


def _conway_figures(processed: str | Path | None) -> dict[str, pd.Series]:
    from analysis import load

    folder = None if processed is None else Path(processed)
    figs = {key: load.figure(fid, processed=folder) for key, fid in CONWAY_FIGURE_IDS.items()}
    checks = (
        ("within_2_days", "unit", "percent"),
        ("suspended", "unit", "count"),
        ("monitored", "unit", "count"),
    )
    for key, field, expected in checks:
        if figs[key][field] != expected:
            raise ModelError(
                f"{CONWAY_FIGURE_IDS[key]}: {field} {figs[key][field]!r}, expected {expected!r}"
            )
    for key in ("within_2_days", "suspended"):
        if not math.isfinite(figs[key]["horizon_days"]):
            raise ModelError(f"{CONWAY_FIGURE_IDS[key]}: no horizon in days")
    return figs


def conway_points(denominator: str = "all", *, processed: str | Path | None = None) -> pd.DataFrame:
    """Conway et al.'s two published points as a grouped-survival table, read from the dataset.

    Columns ``horizon_days``, ``share``, ``n``, ``cohort``, ``denominator`` (the input of
    :func:`analysis.models.published_points.fit_published_points`) plus ``qualifier``,
    ``url``, ``quote``, ``figure_id`` (the figure the row's share comes from) and
    ``figure_ids`` (every figure the row uses, ``;``-separated).  Rows:

    * the share within two days (``ST03-is-within-2d``; published as a lower bound, used as
      its value);
    * the share within the three-month window = accounts suspended (``ST03-is-suspended``) /
      accounts monitored (``ST03-is-sample-derived``, rounded to a whole account; it is itself
      derived from the count and its printed percentage).  The horizon is the dataset's
      ``horizon_days`` of the window (the observation window, not every account's follow-up).

    ``n`` is the number monitored.  ``denominator="events"`` reads the two-day share as a share
    of the *suspended* accounts (then ``share * suspended / n`` of all), the alternative
    reading: the dataset marks that figure's denominator as unclear.  ``processed`` is the
    dataset folder (default ``data/processed``): edit ``data/raw`` and rerun the ETL, and the
    points move.

    Raises
    ------
    ModelError
        For an unknown ``denominator`` or figures without the expected unit or horizon.
    """
    if denominator not in ("all", "events"):
        raise ModelError(f"denominator must be 'all' or 'events', got {denominator!r}")
    figs = _conway_figures(processed)
    early, suspended, monitored = figs["within_2_days"], figs["suspended"], figs["monitored"]
    n = int(round(monitored["value"]))
    share_late = suspended["value"] / n
    share_early = early["value"] / 100.0
    if denominator == "events":
        share_early *= share_late
    ids = CONWAY_FIGURE_IDS
    return pd.DataFrame(
        {
            "horizon_days": [early["horizon_days"], suspended["horizon_days"]],
            "share": [share_early, share_late],
            "n": [n, n],
            "cohort": [early["cohort"], suspended["cohort"]],
            "denominator": ["all", "all"],
            "qualifier": [early["qualifier"], suspended["qualifier"]],
            "url": [early["url"], suspended["url"]],
            "quote": [early["quote"], suspended["quote"]],
            "figure_id": [ids["within_2_days"], ids["suspended"]],
            "figure_ids": [
                ";".join([ids["within_2_days"], ids["monitored"]])
                + (f";{ids['suspended']}" if denominator == "events" else ""),
                ";".join([ids["suspended"], ids["monitored"]]),
            ],
        }
    )


def conway_source(processed: str | Path | None = None) -> PublishedSource:
    """URL(s) and quotes of Conway et al.'s points, from the dataset (see :func:`conway_points`)."""
    points = conway_points(processed=processed)
    urls = list(dict.fromkeys(points["url"]))
    return PublishedSource(
        url=urls[0] if len(urls) == 1 else " ".join(urls),
        quotes=tuple(points["quote"]),
        note="figures " + ", ".join(CONWAY_FIGURE_IDS.values()) + " of the dataset",
    )


def __getattr__(name: str) -> object:
    if name == "CONWAY_SOURCE":  # earlier versions held a copy; now read from the dataset
        return conway_source()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def mixture_cdf(t: np.ndarray, fast_share: float, fast_hazard: float, slow_hazard: float):
    """``F(t) = 1 - p e^{-a t} - (1 - p) e^{-b t}``."""
    t = np.asarray(t, dtype=float)
    return 1.0 - fast_share * np.exp(-fast_hazard * t) - (1 - fast_share) * np.exp(-slow_hazard * t)


def two_type_solutions(points: pd.DataFrame, n_grid: int = 41, warn: bool = True) -> pd.DataFrame:
    """Every two-type exponential mixture reproducing two published shares exactly.

    Parameters
    ----------
    points
        Two rows with ``horizon_days`` and ``share`` (of all accounts), e.g.
        :func:`conway_points`.
    n_grid
        Number of slow hazards ``b`` on ``[0, b_max)``, ``b_max = ln(S1/S2)/(t2 - t1)`` (the
        limit of an instantly banned fast type).

    Returns
    -------
    pandas.DataFrame
        ``slow_hazard_per_day``, ``fast_hazard_per_day``, ``fast_share``, and the implied
        ``share_within_30_days`` / ``share_within_365_days``: the spread of the last column is
        what the points leave open.  Warns :class:`~analysis.errors.UnidentifiedWarning`: two
        shares cannot identify three parameters.

    Raises
    ------
    ModelError
        Not two points, or shares that a constant hazard (or a *rising* hazard) fits: the
        mixture needs ``-ln S1 / t1 > -ln S2 / t2`` (a falling average hazard).
    """
    if len(points) != 2:
        raise ModelError(f"two_type_solutions needs exactly two points, got {len(points)}")
    pts = points.sort_values("horizon_days")
    t1, t2 = pts["horizon_days"].astype(float).to_numpy()
    s1, s2 = 1.0 - pts["share"].astype(float).to_numpy()
    if not (0 < s2 < s1 < 1) or not (-np.log(s1) / t1 > -np.log(s2) / t2):
        raise ModelError(
            "two_type_solutions: the shares need a falling average hazard "
            f"(-ln S(t)/t), got S({t1:g}) = {s1:.4g}, S({t2:g}) = {s2:.4g}"
        )
    b_max = np.log(s1 / s2) / (t2 - t1)
    rows = []
    for b in np.linspace(0.0, b_max, n_grid + 1)[:-1]:
        e1, e2 = np.exp(-b * t1), np.exp(-b * t2)

        def gap(a: float, e1: float = e1, e2: float = e2, b: float = b) -> float:
            lhs = (np.exp(-a * t1) - e1) * (s2 - e2)
            return lhs - (np.exp(-a * t2) - e2) * (s1 - e1)

        hi = max(10 * b, 1.0)
        while gap(hi) * gap(b + 1e-12) > 0 and hi < 1e6:
            hi *= 4
        if gap(hi) * gap(b + 1e-12) > 0:
            continue
        a = optimize.brentq(gap, b + 1e-12, hi, xtol=1e-14)
        p = (s1 - e1) / (np.exp(-a * t1) - e1)
        if 0 < p < 1:
            rows.append((b, a, p))
    out = pd.DataFrame(rows, columns=["slow_hazard_per_day", "fast_hazard_per_day", "fast_share"])
    for horizon in (30, 365):
        out[f"share_within_{horizon}_days"] = mixture_cdf(
            horizon, out["fast_share"], out["fast_hazard_per_day"], out["slow_hazard_per_day"]
        )
    if warn:
        warnings.warn(
            "two published shares cannot identify a two-type mixture (three parameters): "
            f"{len(out)} exact solutions from slow hazard 0 (cure) to {b_max:.4g}/day; the "
            f"share within a year ranges {out['share_within_365_days'].min():.2f}-"
            f"{out['share_within_365_days'].max():.2f}",
            UnidentifiedWarning,
            stacklevel=2,
        )
    return out


class TypeMixture:
    """Two-type exponential mixture fitted to channel lifetimes by maximum likelihood.

    ``S(t) = p e^{-a t} + (1 - p) e^{-b t}`` with ``a > b`` (``p`` = share of the fast type).

    Parameters
    ----------
    confidence
        Confidence level of the intervals.
    n_starts
        Starting points of the optimiser (the likelihood can be multimodal).
    ci
        ``"wald"`` (default; logit scale for ``p``, log scale for the hazards) or
        ``"profile"`` (profile likelihood, about 5 times slower).  Measured coverage of
        nominal 95 % intervals with 400 lifetimes (35 % fast, hazards 1 and 0.02 per day,
        censoring uniform on 30-150 days), 400 replications: Wald 97.3 % (share), 92.3 %
        (fast hazard), 95.8 % (slow hazard); profile (200 replications) 97.5 %, 93.0 %,
        97.0 %: the fast hazard's interval is slightly too narrow and the share's slightly
        too wide at this size (``tests/models/test_mechanisms_types.py``).
    """

    PARAMS = ("fast_share", "fast_hazard_per_day", "slow_hazard_per_day")

    def __init__(self, confidence: float = 0.95, n_starts: int = 2, ci: str = "profile") -> None:
        if not 0 < confidence < 1:
            raise ModelError(f"confidence must be in (0, 1), got {confidence!r}")
        if ci not in ("profile", "wald"):
            raise ModelError(f"ci must be 'profile' or 'wald', got {ci!r}")
        self.confidence = confidence
        self.n_starts = int(n_starts)
        self.ci = ci

    def _profile_bounds(
        self, phi: np.ndarray, se: np.ndarray, t, d, e, crit: float
    ) -> list[tuple[float, float]]:
        """Profile-likelihood interval of each parameter, on the transformed scale."""
        ll_hat = self._loglik(phi, t, d, e)
        out = []
        for i in range(3):
            others = [j for j in range(3) if j != i]

            def drop(psi: float, i: int = i, others: list[int] = others) -> float:
                def neg(x: np.ndarray) -> float:
                    full = phi.copy()
                    full[i] = psi
                    full[others] = x
                    return -self._loglik(full, t, d, e)

                res = optimize.minimize(neg, phi[others], method="BFGS", options={"gtol": 1e-6})
                return (ll_hat + res.fun) - crit

            bounds = []
            for sign in (-1.0, 1.0):
                step = se[i] if np.isfinite(se[i]) and se[i] > 0 else 1.0
                lo, hi = phi[i], phi[i] + sign * 2.0 * step
                k = 0
                while drop(hi) < 0 and k < 8:
                    lo, hi = hi, hi + sign * 2.0 * step
                    k += 1
                if drop(hi) < 0:
                    bounds.append(np.inf * sign)
                    continue
                bounds.append(optimize.brentq(drop, lo, hi, xtol=1e-4))
            out.append((min(bounds), max(bounds)))
        return out

    @staticmethod
    def _loglik(phi: np.ndarray, t: np.ndarray, d: np.ndarray, entry: np.ndarray) -> float:
        p = special.expit(phi[0])
        a, b = np.exp(phi[1]), np.exp(phi[2])
        if not (0.0 < p < 1.0 and np.isfinite(a) and np.isfinite(b)):
            return -1e12  # a type with share 0 or 1, or an infinite hazard: out of the model
        log_p, log_q = np.log(p), np.log1p(-p)

        def log_s(x: np.ndarray) -> np.ndarray:
            return np.logaddexp(log_p - a * x, log_q - b * x)

        log_f = np.logaddexp(log_p + np.log(a) - a * t, log_q + np.log(b) - b * t)
        value = float(np.sum(np.where(d, log_f, log_s(t))) - np.sum(log_s(entry)))
        return value if np.isfinite(value) else -1e12

    def fit(
        self,
        durations: np.ndarray | pd.Series,
        banned: np.ndarray | pd.Series,
        entry: np.ndarray | pd.Series | None = None,
    ) -> TypeMixture:
        """Fit to lifetimes in days (``banned`` False = right-censored; ``entry`` = age at
        which observation started, for left truncation).  Returns ``self``."""
        t = np.asarray(durations, dtype=float)
        d = np.asarray(banned, dtype=bool)
        e = np.zeros_like(t) if entry is None else np.asarray(entry, dtype=float)
        if t.ndim != 1 or d.shape != t.shape or e.shape != t.shape:
            raise ModelError("durations, banned and entry must be 1-D arrays of equal length")
        bad = ~np.isfinite(t) | (t < 0) | ~np.isfinite(e) | (e < 0) | (e > t)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelError(
                f"row {i}: duration {t[i]!r} / entry {e[i]!r}; expected 0 <= entry <= duration"
            )
        if d.sum() == 0:
            raise NoEventsError("TypeMixture.fit: no banned channel (zero events)")
        t = np.maximum(t, 1e-9)
        rate = d.sum() / max(np.sum(t - e), 1e-12)
        best = None
        starts = [(0.3, 30.0), (0.6, 5.0), (0.3, 5.0), (0.6, 30.0)][: max(self.n_starts, 1)]
        for q, ratio in starts:
            phi0 = np.array([special.logit(q), np.log(rate * np.sqrt(ratio) * 2), np.log(rate / 2)])
            res = optimize.minimize(
                lambda ph: -self._loglik(ph, t, d, e),
                phi0,
                method="BFGS",
                options={"gtol": 1e-7},
            )
            if best is None or res.fun < best.fun:
                best = res
        phi = best.x.copy()
        if phi[1] < phi[2]:  # label switching: the fast type has the larger hazard
            phi = np.array([-phi[0], phi[2], phi[1]])
        hess = hessian(lambda ph: self._loglik(ph, t, d, e), phi)
        try:
            cov = np.linalg.inv(-hess)
        except np.linalg.LinAlgError:
            cov = np.full((3, 3), np.nan)
        se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        z = stats.norm.ppf(0.5 + self.confidence / 2)
        back = (special.expit, np.exp, np.exp)
        if self.ci == "profile":
            crit = 0.5 * stats.chi2.ppf(self.confidence, 1)
            limits = self._profile_bounds(phi, se, t, d, e, crit)
        else:
            limits = [(phi[i] - z * se[i], phi[i] + z * se[i]) for i in range(3)]
        rows = []
        for i in range(len(self.PARAMS)):
            lo, hi = back[i](limits[i][0]), back[i](limits[i][1])
            est = back[i](phi[i])
            if i == 0:
                width = (hi / (1 - hi)) / (lo / (1 - lo)) if 0 < lo and hi < 1 else np.inf
            else:
                width = hi / lo if lo > 0 else np.inf
            ok = bool(np.isfinite(se[i]) and np.isfinite(width) and width < UNIDENTIFIED_CI_RATIO)
            rows.append((est, se[i], lo, hi, ok))
        self.summary = pd.DataFrame(
            rows,
            index=pd.Index(self.PARAMS, name="parameter"),
            columns=["estimate", "se", "lower", "upper", "identified"],
        )
        self.params_ = self.summary["estimate"].copy()
        self.loglik_ = float(-best.fun)
        self.aic_ = 2 * 3 - 2 * self.loglik_
        self.n_events_ = int(d.sum())
        self.n_ = int(t.size)
        bad_names = [
            n for n, ok in zip(self.PARAMS, self.summary["identified"], strict=True) if not ok
        ]
        if bad_names:
            warnings.warn(
                f"TypeMixture: {bad_names} not identified by these lifetimes (singular "
                f"information or a {self.confidence:.0%} interval wider than a factor "
                f"{UNIDENTIFIED_CI_RATIO:g}); do not report them as estimates",
                UnidentifiedWarning,
                stacklevel=2,
            )
        return self

    def cdf(self, t: np.ndarray | float) -> np.ndarray:
        """Share banned by ``t`` days at the estimate."""
        p = self.params_
        return mixture_cdf(t, p["fast_share"], p["fast_hazard_per_day"], p["slow_hazard_per_day"])

    def plot(self, ax=None, t_max: float = 120.0):
        """Fitted share banned by ``t``; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        grid = np.linspace(0, t_max, 400)
        ax.plot(grid, self.cdf(grid), label="two-type mixture (fit)")
        ax.set_xlabel("days since creation")
        ax.set_ylabel("share banned")
        return ax
