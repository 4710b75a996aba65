"""Seeded simulations of the interval-censored estimators (synthetic data only).

Used by ``tests/models/test_interval_censoring.py`` and ``test_published_points.py`` (fast
versions) and their ``@pytest.mark.slow`` versions; run one by hand with e.g.::

    .venv/bin/python -c "from analysis.models._interval_coverage import *; \\
        print(coverage_published_points(400))"

Weekly crawl: channels are created uniformly over 180 days (creation time known), live an
exponential time with mean 10 days (median 6.93), and are visited every 7 days until day 210;
a ban is seen at the first visit after it.  Grouped points: Weibull lifetimes (shape 0.5,
scale 30 days), the shares with the event by 2, 14 and 90 days among ``n`` accounts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import UnidentifiedWarning

CRAWL_MEAN = 10.0
CRAWL_DAYS = 7.0
TRUE_MEDIAN = CRAWL_MEAN * np.log(2.0)
POINT_SHAPE, POINT_SCALE = 0.5, 30.0
POINT_HORIZONS = (2.0, 14.0, 90.0)


def weekly_crawl(
    n: int, rng: np.random.Generator, span: float = 180.0, end: float = 210.0
) -> dict[str, np.ndarray]:
    """Simulated weekly crawl: intervals ``(lower, upper]`` and the naive "exact" times."""
    created = rng.uniform(0.0, span, n)
    banned = created + rng.exponential(CRAWL_MEAN, n)
    first_gone = np.ceil(banned / CRAWL_DAYS) * CRAWL_DAYS
    last_visit = np.floor(end / CRAWL_DAYS) * CRAWL_DAYS
    censored = first_gone > last_visit
    last_alive = np.where(censored, last_visit, np.maximum(created, first_gone - CRAWL_DAYS))
    lower = last_alive - created
    upper = np.where(censored, np.inf, first_gone - created)
    naive = np.where(censored, last_visit - created, first_gone - created)
    return {"lower": lower, "upper": upper, "naive_time": naive, "naive_event": ~censored}


def grouped_points(
    n: int,
    rng: np.random.Generator,
    shape: float = POINT_SHAPE,
    scale: float = POINT_SCALE,
    horizons: tuple[float, ...] = POINT_HORIZONS,
) -> pd.DataFrame:
    """Nested cumulative shares of one simulated cohort of ``n`` Weibull lifetimes."""
    t = scale * rng.weibull(shape, n)
    h = np.asarray(horizons)
    counts = (t[:, None] <= h[None, :]).sum(axis=0)
    return pd.DataFrame({"horizon_days": h, "count": counts, "n": n})


def coverage_published_points(n_sim: int = 400, n: int = 500, seed: int = 11) -> pd.DataFrame:
    """Coverage of the profile and Wald intervals of a Weibull fit to three grouped points."""
    from analysis.models.published_points import fit_published_points

    rng = np.random.default_rng(seed)
    truth = {"shape": POINT_SHAPE, "scale": POINT_SCALE}
    f30 = 1.0 - np.exp(-((30.0 / POINT_SCALE) ** POINT_SHAPE))
    hits: dict[str, list[bool]] = {
        k: [] for k in ("shape_profile", "scale_profile", "shape_wald", "scale_wald", "cdf30")
    }
    for _ in range(n_sim):
        pts = grouped_points(n, rng)
        for ci in ("profile", "wald"):
            fit = fit_published_points(pts, "weibull", ci=ci)
            for name, value in truth.items():
                row = fit.summary.loc[name]
                hits[f"{name}_{ci}"].append(row["ci_lower"] <= value <= row["ci_upper"])
        band = fit.ci_cdf([30.0]).iloc[0]
        hits["cdf30"].append(band["ci_lower"] <= f30 <= band["ci_upper"])
    return _table(hits, n_sim)


def size_constant_hazard(n_sim: int = 400, n: int = 722, seed: int = 12) -> float:
    """Rejection rate at 5 % of :func:`constant_hazard_test` on exponential truth (2 points)."""
    from analysis.models.published_points import constant_hazard_test

    rng = np.random.default_rng(seed)
    rejected = 0
    for _ in range(n_sim):
        t = rng.exponential(40.0, n)
        counts = [(t <= 2.0).sum(), (t <= 90.0).sum()]
        pts = pd.DataFrame({"horizon_days": [2.0, 90.0], "count": counts, "n": n})
        rejected += constant_hazard_test(pts).p_value < 0.05
    return rejected / n_sim


def coverage_crawl(n_sim: int = 300, n: int = 300, seed: int = 13) -> pd.DataFrame:
    """Coverage on weekly crawls: Turnbull S(7), S(14), median; exponential scale, Weibull shape.

    Two extra rows (``*_relative_bias``, in the ``coverage`` column) hold the mean relative
    bias of the Turnbull median and of the naive median (first-seen-gone read as exact).
    """
    from analysis.models.interval_censoring import IntervalCensoredParametric, TurnbullEstimator
    from analysis.models.survival import KaplanMeier

    rng = np.random.default_rng(seed)
    s7, s14 = np.exp(-7.0 / CRAWL_MEAN), np.exp(-14.0 / CRAWL_MEAN)
    hits: dict[str, list[bool]] = {
        k: [] for k in ("turnbull_s7", "turnbull_s14", "turnbull_median", "exp_scale", "weib_shape")
    }
    bias: dict[str, list[float]] = {"turnbull_median": [], "naive_median": []}
    for _ in range(n_sim):
        d = weekly_crawl(n, rng)
        tb = TurnbullEstimator().fit(d["lower"], d["upper"])
        naive = KaplanMeier().fit(d["naive_time"], d["naive_event"]).median_
        bias["turnbull_median"].append(tb.median_ / TRUE_MEDIAN - 1.0)
        bias["naive_median"].append(naive / TRUE_MEDIAN - 1.0)
        band = tb.survival_ci([7.0, 14.0])
        hits["turnbull_s7"].append(band["ci_lower"].iloc[0] <= s7 <= band["ci_upper"].iloc[0])
        hits["turnbull_s14"].append(band["ci_lower"].iloc[1] <= s14 <= band["ci_upper"].iloc[1])
        lo, hi = tb.median_ci_
        hits["turnbull_median"].append(lo <= TRUE_MEDIAN <= hi)
        ex = IntervalCensoredParametric("exponential").fit(d["lower"], d["upper"]).summary
        hits["exp_scale"].append(
            ex.loc["scale", "ci_lower"] <= CRAWL_MEAN <= ex.loc["scale", "ci_upper"]
        )
        wb = IntervalCensoredParametric("weibull").fit(d["lower"], d["upper"]).summary
        hits["weib_shape"].append(wb.loc["shape", "ci_lower"] <= 1.0 <= wb.loc["shape", "ci_upper"])
    out = _table(hits, n_sim)
    out["consistent_with_95"] = out["consistent_with_95"].astype("boolean")  # NA on bias rows
    for name, values in bias.items():  # mean relative bias of the median (not a coverage)
        out.loc[f"{name}_relative_bias", ["coverage", "n_sim"]] = [float(np.mean(values)), n_sim]
    return out


def coverage_cure_points(n_sim: int = 300, n: int = 1000, seed: int = 14) -> pd.DataFrame:
    """Coverage of a Weibull cure fit to five grouped points (cure fraction 0.3)."""
    from analysis.models.published_points import fit_published_points

    rng = np.random.default_rng(seed)
    pi, horizons = 0.3, (1.0, 7.0, 30.0, 90.0, 365.0)
    hits: dict[str, list[bool]] = {"cure_fraction": [], "shape": []}
    for _ in range(n_sim):
        t = np.where(rng.random(n) < pi, np.inf, 20.0 * rng.weibull(0.7, n))
        h = np.asarray(horizons)
        pts = pd.DataFrame({"horizon_days": h, "count": (t[:, None] <= h).sum(0), "n": n})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnidentifiedWarning)
            s = fit_published_points(pts, "weibull", cure=True).summary
        hits["cure_fraction"].append(
            s.loc["cure_fraction", "ci_lower"] <= pi <= s.loc["cure_fraction", "ci_upper"]
        )
        hits["shape"].append(s.loc["shape", "ci_lower"] <= 0.7 <= s.loc["shape", "ci_upper"])
    return _table(hits, n_sim)


def _table(hits: dict[str, list[bool]], n_sim: int) -> pd.DataFrame:
    cov = {k: float(np.mean(v)) for k, v in hits.items()}
    out = pd.DataFrame({"coverage": cov, "n_sim": n_sim})
    out["mc_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / n_sim)
    lo, hi = stats.binom.interval(0.99, n_sim, 0.95)
    out["consistent_with_95"] = (out["coverage"] >= lo / n_sim) & (out["coverage"] <= hi / n_sim)
    out.index.name = "quantity"
    return out
