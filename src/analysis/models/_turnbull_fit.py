"""The Turnbull estimator object (algorithm in :mod:`analysis.models._turnbull`).

Public through :mod:`analysis.models.interval_censoring`; see its docstring for the model.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError, UnidentifiedWarning
from analysis.models import _interval_lik as il
from analysis.models import _turnbull as tb

if TYPE_CHECKING:
    from matplotlib.axes import Axes

POLISH_MAX = 500
"""Largest number of innermost intervals for which the EM solution is polished by Newton."""


class TurnbullEstimator:
    """Turnbull's NPMLE of the survival function for interval-censored lifetimes.

    Parameters
    ----------
    alpha
        1 - confidence level of the bootstrap intervals.
    variance
        ``"information"`` (default): observed information of the masses on the NPMLE's
        support (the support taken as known), pointwise intervals on the log(-log) scale;
        ``"bootstrap"``: percentile bootstrap (``n_boot`` resamples of the intervals, each
        refitted by EM from the estimate); ``None``: no intervals.
    n_boot
        Bootstrap resamples when ``variance="bootstrap"``.
    seed
        Seed of the bootstrap (``numpy.random.default_rng``).
    tol
        Kuhn-Tucker tolerance of the NPMLE.

    Attributes (after :meth:`fit`)
    ------------------------------
    intervals_ : pandas.DataFrame
        Innermost intervals ``left``, ``right`` (``left == right``: a point mass) and their
        ``probability``.
    survival_function_ : pandas.DataFrame
        Index ``time_days`` (0 and the ends of the innermost intervals): ``survival`` (linear
        inside innermost intervals), ``ci_lower``, ``ci_upper`` (bootstrap percentile).
    median_, median_ci_ : float, tuple
    log_likelihood_ : float
    converged_ : bool
    """

    def __init__(
        self,
        alpha: float = 0.05,
        variance: str | None = "information",
        n_boot: int = 200,
        seed: int | None = 0,
        tol: float = 1e-10,
    ) -> None:
        if variance not in ("information", "bootstrap", None):
            raise ModelError(f"variance={variance!r}; expected 'information', 'bootstrap' or None")
        self.alpha, self.variance, self.n_boot, self.seed, self.tol = (
            alpha,
            variance,
            n_boot,
            seed,
            tol,
        )

    def _solve(self, w: np.ndarray, p0: np.ndarray | None) -> tuple[np.ndarray, bool]:
        m = self._left.size
        p, _, ok = tb.npmle(self._cover, w, m, p0=p0, tol=1e-6, max_iter=3000)
        if m <= POLISH_MAX:  # exact KKT point by active-set Newton (dense: small problems)
            return tb.polish(p, self._cover, w, tol=self.tol)
        return p, tb.kkt_gap(p, self._cover, w) < 1e-4

    def fit(self, lower: Any, upper: Any, weights: Any = None) -> TurnbullEstimator:
        """Fit to intervals ``(lower, upper]`` in days (``upper = inf``: right-censored)."""
        if not 0.0 < self.alpha < 1.0:
            raise ModelError(f"alpha={self.alpha!r}; expected 0 < alpha < 1")
        lo, up, w = il.check_intervals(lower, upper, weights)
        data = il.IntervalData(lo, up, w)  # merges identical rows
        lo, up, w = data.lower, data.upper, data.weight
        self._left, self._right, self._cover = tb.innermost(lo, up)
        self._w = w
        p, ok = self._solve(w, None)
        self.converged_ = bool(ok)
        if not ok:
            warnings.warn(
                "Turnbull: the NPMLE did not reach its optimality conditions",
                UnidentifiedWarning,
                stacklevel=2,
            )
        self._p = p
        self.log_likelihood_ = tb.loglik(p, self._cover, w)
        self.intervals_ = pd.DataFrame({"left": self._left, "right": self._right, "probability": p})
        self.median_ = self.quantile(0.5)
        self._grid = np.unique(np.r_[0.0, self._left, self._right[np.isfinite(self._right)]])
        self._boot_s: np.ndarray | None = None
        self._boot_med: np.ndarray | None = None
        self._cov: np.ndarray | None = None
        if self.variance == "bootstrap" and self.n_boot > 0:
            self._bootstrap()
        elif self.variance == "information":
            self._cov = tb.support_covariance(p, self._cover, w)
        return self

    def _bootstrap(self) -> None:
        rng = np.random.default_rng(self.seed)
        total = int(round(self._w.sum()))
        probs = self._w / self._w.sum()
        start = 0.8 * self._p + 0.2 / self._p.size
        surv, med = [], []
        for _ in range(self.n_boot):
            wb = rng.multinomial(total, probs).astype(float)
            keep = wb > 0
            cover, w = self._cover[keep], wb[keep]
            p, _, _ = tb.npmle(cover, w, self._left.size, p0=start, tol=1e-6, max_iter=300)
            surv.append(self._curve(self._grid, p))
            med.append(self._quantile(0.5, p))
        self._boot_s, self._boot_med = np.array(surv), np.array(med)

    def _curve(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Survival of masses ``p`` (uniform inside innermost intervals)."""
        return 1.0 - self._fractions(t, p) @ p

    def _fractions(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Share of each innermost interval's mass at or before ``t`` (``(T, m)``).

        The NPMLE fixes the mass of each innermost interval, not where it sits inside; it is
        spread uniformly over the interval (a point mass drops at its time), so
        ``S = 1 - frac @ p`` equals the NPMLE at every interval end and between intervals.
        """
        del p  # the spreading rule does not depend on the masses
        t = np.asarray(t, dtype=float)[..., None]
        left, right = self._left, self._right
        width = np.where(np.isfinite(right), right - left, np.inf)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(
                width > 0, np.clip((t - left) / width, 0.0, 1.0), (t >= right).astype(float)
            )
        return np.where(np.isinf(right), 0.0, frac)  # mass at infinity never falls

    def _quantile(self, q: float, p: np.ndarray) -> float:
        """Time where the NPMLE survival falls to ``q`` (inf if never)."""
        cum = np.cumsum(p)
        j = int(np.searchsorted(cum, 1.0 - q - 1e-12))
        if j >= p.size or not np.isfinite(self._right[j]):
            return float("inf")
        before = cum[j] - p[j]
        frac = (1.0 - q - before) / p[j] if p[j] > 0 else 1.0
        return float(self._left[j] + frac * (self._right[j] - self._left[j]))

    def quantile(self, q: float) -> float:
        """Time by which the survival has fallen to ``q`` (``0.5``: the median)."""
        self._check()
        return self._quantile(q, self._p)

    def _check(self) -> None:
        if not hasattr(self, "_p"):
            raise ModelError("TurnbullEstimator is not fitted; call .fit(lower, upper) first")

    def survival_at(self, t: Any) -> np.ndarray:
        """NPMLE ``S(t)`` (mass spread uniformly inside each innermost interval)."""
        self._check()
        return self._curve(np.asarray(t, dtype=float), self._p)

    def survival_bounds(self, t: Any) -> pd.DataFrame:
        """The two extreme NPMLE step functions: mass at the left or at the right ends."""
        self._check()
        t = np.atleast_1d(np.asarray(t, dtype=float))[:, None]
        upper = 1.0 - ((t >= self._right) * self._p).sum(axis=1)
        lower = 1.0 - ((t > self._left) * self._p * np.isfinite(self._right)).sum(axis=1)
        lower = np.where(t[:, 0] <= 0, 1.0, lower)
        return pd.DataFrame(
            {"survival_lower": lower, "survival_upper": upper},
            index=pd.Index(t[:, 0], name="time_days"),
        )

    def survival_ci(self, t: Any) -> pd.DataFrame:
        """``S(t)`` with its percentile-bootstrap interval at arbitrary times."""
        self._check()
        t = np.atleast_1d(np.asarray(t, dtype=float))
        s = self.survival_at(t)
        if self._cov is not None:
            lo, hi = self._information_band(t, s)
            return pd.DataFrame(
                {"survival": s, "ci_lower": lo, "ci_upper": hi},
                index=pd.Index(t, name="time_days"),
            )
        if self._boot_s is None:
            nan = np.full(t.size, np.nan)
            return pd.DataFrame(
                {"survival": s, "ci_lower": nan, "ci_upper": nan},
                index=pd.Index(t, name="time_days"),
            )
        boot = np.array([np.interp(t, self._grid, b) for b in self._boot_s])
        lo, hi = np.quantile(boot, [self.alpha / 2, 1 - self.alpha / 2], axis=0)
        return pd.DataFrame(
            {"survival": s, "ci_lower": lo, "ci_upper": hi}, index=pd.Index(t, name="time_days")
        )

    def _information_band(self, t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise log(-log) interval from the support covariance of the masses."""
        frac = self._fractions(t, self._p)  # S(t) = 1 - frac @ p: linear in the masses
        var = np.einsum("ti,ij,tj->t", frac, self._cov, frac)
        se = np.sqrt(np.maximum(var, 0.0))
        z = float(stats.norm.ppf(1 - self.alpha / 2))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            sd = se / np.abs(s * np.log(s))
            lo = s ** np.exp(z * sd)
            hi = s ** np.exp(-z * sd)
        edge = (s >= 1.0) | (s <= 0.0) | ~np.isfinite(sd)
        lo = np.where(edge, s, lo)
        hi = np.where(edge, s, hi)
        return lo, hi

    @property
    def median_ci_(self) -> tuple[float, float]:
        """Interval of the median.

        Bootstrap: percentile interval.  Information: the times where the pointwise band
        crosses 0.5 (Brookmeyer & Crowley 1982 style), read on the grid of innermost ends.
        """
        self._check()
        if self._cov is not None:
            grid = np.unique(np.r_[self._grid, np.linspace(0, self._grid.max(), 2001)])
            band = self.survival_ci(grid)
            below = lambda col: grid[np.flatnonzero(band[col].to_numpy() <= 0.5)]  # noqa: E731
            lo_t, hi_t = below("ci_lower"), below("ci_upper")
            return (
                float(lo_t[0]) if lo_t.size else float("inf"),
                float(hi_t[0]) if hi_t.size else float("inf"),
            )
        if self._boot_med is None:
            return (float("nan"), float("nan"))
        lo, hi = np.quantile(self._boot_med, [self.alpha / 2, 1 - self.alpha / 2])
        return float(lo), float(hi)

    @property
    def survival_function_(self) -> pd.DataFrame:
        """Survival at 0 and every innermost-interval end, with bootstrap intervals."""
        return self.survival_ci(self._grid)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Survival curve (linear in innermost intervals) with its bootstrap band."""
        import matplotlib.pyplot as plt

        sf = self.survival_function_
        if ax is None:
            _, ax = plt.subplots()
        x = sf.index.to_numpy()
        (line,) = ax.plot(x, sf["survival"], **kwargs)
        if sf["ci_lower"].notna().all():
            ax.fill_between(x, sf["ci_lower"], sf["ci_upper"], alpha=0.25, color=line.get_color())
        ax.set_xlabel("days")
        ax.set_ylabel("survival probability")
        ax.set_ylim(0, 1.02)
        return ax
