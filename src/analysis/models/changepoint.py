"""Changepoints in a daily count series: PELT with a Poisson or NB cost (M6 of the notes).

:class:`NegBinChangepoints` (recommended for real series) uses a negative-binomial cost with
a penalty calibrated by simulation and gives a confidence set for each break location (see
:mod:`analysis.models._ts_changepoint`).  Measured on 500 simulated days with 4 true breaks and
NB dispersion 0.05: precision >= 0.9 (``tests/models/test_changepoint.py``, README validation
table), where the Poisson cost with the BIC penalty found 134 breaks (issue 12).
:class:`PoissonChangepoints` is the original Poisson fitter, described below.

Crackdowns found without given dates.  The series is split into segments of constant Poisson
rate; the segmentation minimises

    sum over segments of C(segment)  +  penalty * (number of changepoints)

with ``C = -2 * max log-likelihood = -2 (S log(S / n) - S)`` for a segment of ``n`` days
and total count ``S`` (the ``log y!`` terms do not depend on the segmentation and are
dropped).  On this ``-2 log L`` scale the BIC penalty of one changepoint (one new rate and
one location) is ``2 log n``; that is the default (``penalty="bic"``; ``"aic"`` gives 4; a
number is used as is).  Overdispersed real series (day-of-week effects, bursts) produce
extra changepoints under a Poisson cost: raise the penalty, e.g. multiply the BIC value by
an estimate of the dispersion ``Var/mean`` within quiet periods.

PELT (Killick, Fearnhead & Eckley 2012) is exact: it returns the optimal partitioning, as
the tests check against brute force; pruning is valid because this cost satisfies
``C(a..b) + C(b..c) <= C(a..c)``.  A pulse (a crackdown of a few days) appears as two
changepoints: up at its start and down at its end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import ModelError
from analysis.models._ts_changepoint import (
    calibrated_penalty,
    crops,
    estimate_dispersion,
    location_sets,
    nb_cost,
)

__all__ = [
    "NegBinChangepoints",
    "PoissonChangepoints",
    "match_changepoints",
    "optimal_partitioning",
    "pelt_poisson",
    "penalty_value",
    "segmentation_cost",
]


def _check(counts: object) -> np.ndarray:
    y = np.asarray(counts, dtype=float)
    if y.ndim != 1 or y.size == 0:
        raise ModelError("counts must be a non-empty 1-D array")
    if np.any(np.isnan(y)) or np.any(y < 0):
        raise ModelError("counts must be non-negative numbers without NaN")
    return y


def penalty_value(penalty: str | float, n: int) -> float:
    """Penalty per changepoint on the ``-2 log L`` scale (``"bic"``: 2 log n, ``"aic"``: 4)."""
    if isinstance(penalty, str):
        if penalty.lower() == "bic":
            return 2.0 * np.log(n)
        if penalty.lower() == "aic":
            return 4.0
        raise ModelError(f"penalty must be 'bic', 'aic' or a number, got {penalty!r}")
    if not penalty >= 0:
        raise ModelError(f"penalty must be >= 0, got {penalty!r}")
    return float(penalty)


def _segment_cost(total: np.ndarray, length: np.ndarray) -> np.ndarray:
    total = np.asarray(total, dtype=float)
    length = np.asarray(length, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.where(total > 0, total * np.log(total / length) - total, 0.0)
    return -2.0 * ll


def segmentation_cost(counts: object, changepoints: object, penalty: str | float = "bic") -> float:
    """Penalised cost of a given segmentation (changepoints = first index of each new segment)."""
    y = _check(counts)
    cps = np.asarray(changepoints, dtype=int)
    edges = np.concatenate([[0], np.sort(cps), [y.size]])
    cs = np.concatenate([[0.0], np.cumsum(y)])
    cost = _segment_cost(cs[edges[1:]] - cs[edges[:-1]], np.diff(edges)).sum()
    return float(cost + penalty_value(penalty, y.size) * cps.size)


def _partition(y: np.ndarray, pen: float, min_size: int, prune: bool, cost=None) -> np.ndarray:
    cost = _segment_cost if cost is None else cost
    n = y.size
    cs = np.concatenate([[0.0], np.cumsum(y)])
    best = np.full(n + 1, np.inf)
    best[0] = -pen
    last = np.zeros(n + 1, dtype=np.int64)
    candidates = np.array([0], dtype=np.int64)
    # a candidate beaten at time t (F[c] + C(c, t) > F[t]) can still be optimal for an end s
    # with s - t < min_size (the path through t is not admissible yet): drop it from t + min_size
    dead_from = np.array([np.inf])
    for t in range(min_size, n + 1):
        alive = dead_from > t
        candidates, dead_from = candidates[alive], dead_from[alive]
        ok = t - candidates >= min_size
        admissible = candidates[ok]
        costs = cost(cs[t] - cs[admissible], t - admissible)
        totals = best[admissible] + costs + pen
        k = int(np.argmin(totals))
        best[t] = totals[k]
        last[t] = admissible[k]
        if prune:
            beaten = np.zeros(candidates.size, bool)
            beaten[ok] = best[admissible] + costs > best[t]
            dead_from = np.where(beaten & np.isinf(dead_from), t + min_size, dead_from)
        new = t - min_size + 1
        if min_size <= new <= n - min_size:
            candidates = np.append(candidates, new)
            dead_from = np.append(dead_from, np.inf)
    cps = []
    t = n
    while t > 0:
        t = int(last[t])
        if t > 0:
            cps.append(t)
    return np.array(sorted(cps), dtype=np.int64)


def pelt_poisson(counts: object, penalty: str | float = "bic", min_size: int = 1) -> np.ndarray:
    """Optimal Poisson changepoints by PELT.

    Parameters
    ----------
    counts
        Daily counts.
    penalty
        ``"bic"`` (default, ``2 log n``), ``"aic"`` or a number (``-2 log L`` scale).
    min_size
        Minimum segment length in days.

    Returns
    -------
    numpy.ndarray
        Indices where a new segment starts (sorted, excluding 0).
    """
    y = _check(counts)
    if int(min_size) < 1:
        raise ModelError(f"min_size must be >= 1, got {min_size!r}")
    return _partition(y, penalty_value(penalty, y.size), int(min_size), prune=True)


def optimal_partitioning(
    counts: object, penalty: str | float = "bic", min_size: int = 1
) -> np.ndarray:
    """The same optimum by plain optimal partitioning (O(n^2), no pruning; for checking)."""
    y = _check(counts)
    return _partition(y, penalty_value(penalty, y.size), int(min_size), prune=False)


def match_changepoints(
    found: object, truth: object, tolerance_days: float = 2.0
) -> dict[str, float]:
    """Compare detected and known changepoints.

    Returns ``precision`` (share of found within ``tolerance_days`` of a true one),
    ``recall`` (share of true ones with a found one within tolerance) and ``max_distance``
    (largest distance from a true changepoint to its nearest found one; the one-sided
    Hausdorff distance).
    """
    f = np.asarray(found, dtype=float)
    tr = np.asarray(truth, dtype=float)
    if tr.size == 0 or f.size == 0:
        return {
            "precision": float(f.size == 0),
            "recall": float(tr.size == 0),
            "max_distance": np.inf,
        }
    d = np.abs(f[:, None] - tr[None, :])
    return {
        "precision": float(np.mean(d.min(axis=1) <= tolerance_days)),
        "recall": float(np.mean(d.min(axis=0) <= tolerance_days)),
        "max_distance": float(d.min(axis=0).max()),
    }


@dataclass
class PoissonChangepoints:
    """Fitter wrapper around :func:`pelt_poisson`.

    Parameters
    ----------
    penalty
        ``"bic"``, ``"aic"`` or a number.
    min_size
        Minimum segment length in days.

    Attributes (after :meth:`fit`)
    ------------------------------
    changepoints_
        Indices where new segments start.
    changepoint_days_
        The corresponding ``days`` values.
    segments_
        DataFrame: ``start_day``, ``end_day`` (inclusive), ``n_days``, ``total``,
        ``rate_per_day``.
    """

    penalty: str | float = "bic"
    min_size: int = 1

    def fit(self, counts: object, days: object | None = None) -> PoissonChangepoints:
        """Segment ``counts`` (observed on consecutive ``days``; default 0..n-1). Returns self."""
        y = _check(counts)
        d = np.arange(y.size) if days is None else np.asarray(days)
        if d.size != y.size:
            raise ModelError(f"days and counts differ in length ({d.size} vs {y.size})")
        cps = pelt_poisson(y, self.penalty, self.min_size)
        self.changepoints_ = cps
        self.changepoint_days_ = d[cps]
        self.segments_ = _segments(y, d, cps)
        self.cost_ = segmentation_cost(y, cps, self.penalty)
        self._y, self._d = y, d
        return self

    def plot(self, ax=None):
        """Counts with the fitted piecewise-constant rate; returns the Axes."""
        ax = _plot_segments(self._d, self._y, self.segments_, ax)
        for c in self.changepoint_days_:
            ax.axvline(c, ls="--", color="0.6", lw=0.8)
        ax.legend(fontsize=8)
        return ax


def _plot_segments(d: np.ndarray, y: np.ndarray, segments: pd.DataFrame, ax=None):
    """Counts and the piecewise-constant segment rates (both changepoint models' plots)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(d, y, ".", ms=3, color="0.4", label="observed")
    rate = np.repeat(segments["rate_per_day"].to_numpy(), segments["n_days"])
    ax.step(d, rate, where="post", label="segment rate")
    ax.set_xlabel("day")
    ax.set_ylabel("count per day")
    return ax


def _segments(y: np.ndarray, d: np.ndarray, cps: np.ndarray) -> pd.DataFrame:
    edges = np.concatenate([[0], cps, [y.size]])
    rows = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        rows.append(
            {
                "start_day": d[a],
                "end_day": d[b - 1],
                "n_days": int(b - a),
                "total": float(y[a:b].sum()),
                "rate_per_day": float(y[a:b].mean()),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class NegBinChangepoints:
    """PELT with a negative-binomial cost, a simulation-calibrated penalty and location sets.

    Parameters
    ----------
    penalty
        ``"calibrated"`` (default): the penalty at which a series of the same length and
        dispersion without any change gets a spurious break with probability
        ``false_alarm`` (simulated, see
        :func:`analysis.models._ts_changepoint.calibrated_penalty`); ``"bic"`` (``2 log n``)
        or a number (``-2 log L`` scale) are used as is.
    false_alarm
        Target probability of a spurious break in a series without change.
    min_size
        Minimum segment length in days.
    dispersion
        NB2 ``alpha``; default: estimated from day-to-day differences.
    latent_ar
        ``(phi, sd)`` of a latent AR(1) log-rate to include in the calibration simulations
        (an autocorrelated series needs a higher penalty); default none.
    confidence
        Level of the break-location sets.
    n_sim, n_boot
        Simulations for the penalty and bootstrap replicates for each location set.
    seed
        Seed or Generator.

    Attributes (after :meth:`fit`)
    ------------------------------
    changepoints_, changepoint_days_, segments_, dispersion_, penalty_, locations_
        ``locations_``: one row per break with ``changepoint``, ``lower``, ``upper``
        (indices), ``day``, ``lower_day``, ``upper_day`` and ``set_size`` (days in the set).
    """

    penalty: str | float = "calibrated"
    false_alarm: float = 0.02
    min_size: int = 1
    dispersion: float | None = None
    latent_ar: tuple[float, float] | None = None
    confidence: float = 0.95
    n_sim: int = 400
    n_boot: int = 400
    seed: int | np.random.Generator | None = None

    def _penalty(self, y: np.ndarray, alpha: float, rng: np.random.Generator) -> float:
        if isinstance(self.penalty, str) and self.penalty == "calibrated":
            return calibrated_penalty(
                y.size, float(np.median(y)), alpha, self.min_size, self.false_alarm,
                self.n_sim, self.latent_ar, rng,
            )  # fmt: skip
        return penalty_value(self.penalty, y.size)

    def fit(self, counts: object, days: object | None = None) -> NegBinChangepoints:
        """Segment ``counts`` (observed on consecutive ``days``; default 0..n-1). Returns self."""
        y = _check(counts)
        d = np.arange(y.size) if days is None else np.asarray(days)
        if d.size != y.size:
            raise ModelError(f"days and counts differ in length ({d.size} vs {y.size})")
        if int(self.min_size) < 1:
            raise ModelError(f"min_size must be >= 1, got {self.min_size!r}")
        rng = np.random.default_rng(self.seed)
        alpha = estimate_dispersion(y) if self.dispersion is None else float(self.dispersion)
        self.dispersion_ = alpha
        self.penalty_ = self._penalty(y, alpha, rng)
        self._cost = nb_cost(alpha)
        cps = _partition(y, self.penalty_, int(self.min_size), prune=True, cost=self._cost)
        self.changepoints_ = cps
        self.changepoint_days_ = d[cps]
        self.segments_ = _segments(y, d, cps)
        loc = location_sets(y, cps, alpha, int(self.min_size), self.confidence, self.n_boot, rng)
        loc["day"] = d[loc["changepoint"].to_numpy(dtype=int)]
        loc["lower_day"] = d[loc["lower"].to_numpy(dtype=int)]
        loc["upper_day"] = d[loc["upper"].to_numpy(dtype=int)]
        self.locations_ = loc
        self._y, self._d = y, d
        return self

    def _run(self, pen: float) -> tuple[np.ndarray, float]:
        cps = _partition(self._y, pen, int(self.min_size), prune=True, cost=self._cost)
        edges = np.concatenate([[0], cps, [self._y.size]])
        cs = np.concatenate([[0.0], np.cumsum(self._y)])
        total = float(self._cost(cs[edges[1:]] - cs[edges[:-1]], np.diff(edges)).sum())
        return cps, total

    def path(self, pen_min: float | None = None, pen_max: float | None = None) -> pd.DataFrame:
        """CROPS path of the fitted series: the optimal segmentation for every penalty.

        Default range: a tenth to twice the fitted penalty.  One row per number of
        changepoints (``n_changepoints``, unpenalised ``cost``, ``penalty_from``,
        ``penalty_to``).
        """
        lo = 0.1 * self.penalty_ if pen_min is None else float(pen_min)
        hi = 2.0 * self.penalty_ if pen_max is None else float(pen_max)
        return crops(self._y, lo, hi, self._run)

    def plot(self, ax=None):
        """Counts, segment rates and the break-location sets; returns the Axes."""
        ax = _plot_segments(self._d, self._y, self.segments_, ax)
        for _, row in self.locations_.iterrows():
            ax.axvspan(row["lower_day"], row["upper_day"], color="0.8", lw=0)
            ax.axvline(row["day"], ls="--", color="0.4", lw=0.8)
        ax.legend(fontsize=8)
        return ax
