"""Recovery of a daily count series after a known shock (crackdown, action day).

Model (days ``t``, shock at ``t0``, ``tau = t - t0``)::

    mean(t) = pre_level                                    t < t0
    mean(t) = trough + (equilibrium - trough) * F(tau)     t >= t0

with ``F(0) = 0``, ``F(inf) = 1`` and

* ``shape="exponential"``: ``F(tau) = 1 - exp(-k tau)``; time constant ``1/k``,
  half-life ``ln 2 / k``, time to 90 % ``ln 10 / k``;
* ``shape="logistic"``: ``F(tau) = (L(tau) - L(0)) / (1 - L(0))`` with
  ``L(tau) = 1 / (1 + exp(-k (tau - midpoint)))`` (a delayed, S-shaped comeback); time
  constant ``1/k``; the half-life and time to 90 % solve ``F = 0.5`` / ``0.9`` in closed form.

"Recovery" is measured towards the *new* equilibrium (which may be below the pre-shock level);
``recovery_fraction = (equilibrium - trough) / (pre_level - trough)`` says how much of the
drop comes back (1: full recovery, 0: none).  Counts are Poisson or NB2 (``Var = mu + a mu^2``).
This is the M3 model of the modelling notes; in the birth-death model (M4) with constant
creation, the recovery after a pulse is exponential with half-life ``ln 2 / mu``.

Intervals: parametric bootstrap (default; seeded: counts redrawn from the fitted model and
refitted, percentile intervals) or Wald / delta method on the log scale (fast).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from analysis.errors import ModelError
from analysis.models._cm_stats import (
    minimise,
    nb2_loglik,
    numerical_gradient,
    numerical_hessian,
    poisson_loglik,
    sample_counts,
)

__all__ = ["RecoveryCurve"]

_RESULTS = (
    "pre_level",
    "trough",
    "equilibrium",
    "rate_per_day",
    "time_constant_days",
    "half_life_days",
    "time_to_90pct_days",
    "recovery_fraction",
)


@dataclass
class RecoveryCurve:
    """Fit an exponential or logistic recovery after a shock (lifelines-style fitter).

    Parameters
    ----------
    shape
        ``"exponential"`` or ``"logistic"``.
    likelihood
        ``"poisson"`` or ``"negbin"``.
    ci_method
        ``"bootstrap"`` (parametric, seeded) or ``"wald"``.
    n_bootstrap
        Bootstrap replicates.
    confidence
        Interval level.
    seed
        Seed or Generator for the bootstrap.

    Attributes (after :meth:`fit`)
    ------------------------------
    pre_level_, trough_, equilibrium_, rate_per_day_, time_constant_days_, half_life_days_,
    time_to_90pct_days_, recovery_fraction_
        Point estimates (counts per day and days).
    summary
        DataFrame indexed by quantity: ``estimate``, ``lower``, ``upper``.
    loglik_, aic_
        Maximised log-likelihood and AIC.
    """

    shape: Literal["exponential", "logistic"] = "exponential"
    likelihood: Literal["poisson", "negbin"] = "poisson"
    ci_method: Literal["bootstrap", "wald"] = "bootstrap"
    n_bootstrap: int = 200
    confidence: float = 0.95
    seed: int | np.random.Generator | None = None

    def __post_init__(self) -> None:
        if self.shape not in ("exponential", "logistic"):
            raise ModelError(f"shape must be 'exponential' or 'logistic', got {self.shape!r}")
        if self.likelihood not in ("poisson", "negbin"):
            raise ModelError(f"likelihood must be 'poisson' or 'negbin', got {self.likelihood!r}")
        if self.ci_method not in ("bootstrap", "wald"):
            raise ModelError(f"ci_method must be 'bootstrap' or 'wald', got {self.ci_method!r}")

    # ---------------------------------------------------------------- parametrisation
    @property
    def _names(self) -> list[str]:
        names = ["log_pre", "log_trough", "log_equilibrium", "log_rate"]
        if self.shape == "logistic":
            names.append("midpoint_days")
        if self.likelihood == "negbin":
            names.append("log_dispersion")
        return names

    def _curve(self, theta: np.ndarray, days: np.ndarray, shock_day: float) -> np.ndarray:
        pre, trough, eq, k = np.exp(theta[:4])
        tau = np.asarray(days, dtype=float) - shock_day
        post = tau >= 0
        tp = np.where(post, tau, 0.0)
        if self.shape == "exponential":
            frac = -np.expm1(-k * tp)
        else:
            mid = theta[4]
            l0 = min(special.expit(-k * mid), 1.0 - 1e-12)
            frac = (special.expit(k * (tp - mid)) - l0) / (1.0 - l0)
        return np.where(post, trough + (eq - trough) * frac, pre)

    def _loglik(self, theta: np.ndarray, days: np.ndarray, counts: np.ndarray, shock: float) -> float:
        mu = self._curve(theta, days, shock)
        if self.likelihood == "negbin":
            return nb2_loglik(counts, mu, float(np.exp(theta[-1])))
        return poisson_loglik(counts, mu)

    def _derived(self, theta: np.ndarray) -> dict[str, float]:
        pre, trough, eq, k = np.exp(theta[:4])
        if self.shape == "exponential":
            half, t90 = np.log(2.0) / k, np.log(10.0) / k
        else:
            mid = theta[4]
            l0 = special.expit(-k * mid)

            def time_to(f: float) -> float:
                return float(mid + special.logit(l0 + f * (1.0 - l0)) / k)

            half, t90 = time_to(0.5), time_to(0.9)
        drop = pre - trough
        return {
            "pre_level": pre,
            "trough": trough,
            "equilibrium": eq,
            "rate_per_day": k,
            "time_constant_days": 1.0 / k,
            "half_life_days": half,
            "time_to_90pct_days": t90,
            "recovery_fraction": (eq - trough) / drop if drop != 0 else np.nan,
        }

    def _start(self, days: np.ndarray, counts: np.ndarray, shock: float) -> np.ndarray:
        before = counts[days < shock]
        after = counts[days >= shock]
        pre = max(before.mean(), 0.5)
        trough = max(after[: max(1, min(3, after.size))].mean(), 0.5)
        tail = after[-max(1, after.size // 4) :]
        eq = max(tail.mean(), 0.5)
        span = max(float(days.max() - shock), 1.0)
        x = [np.log(pre), np.log(trough), np.log(eq), np.log(5.0 / span)]
        if self.shape == "logistic":
            x.append(span / 5.0)
        if self.likelihood == "negbin":
            x.append(np.log(0.1))
        return np.array(x)

    def _optimise(
        self,
        days: np.ndarray,
        counts: np.ndarray,
        shock: float,
        starts: list[np.ndarray],
        polish: bool = True,
    ) -> tuple[np.ndarray, float]:
        bounds = [(-np.inf, np.inf)] * len(self._names)
        if self.likelihood == "negbin":
            bounds[-1] = (-12.0, 5.0)
        res = minimise(
            lambda th: -self._loglik(th, days, counts, shock), starts, bounds=bounds, polish=polish
        )
        return np.asarray(res.x), -float(res.fun)

    # ---------------------------------------------------------------- public API
    def fit(
        self,
        days: np.ndarray | pd.Series,
        counts: np.ndarray | pd.Series,
        shock_day: float,
    ) -> RecoveryCurve:
        """Fit the curve to daily ``counts`` observed on ``days`` (shock at ``shock_day``).

        Needs at least 3 days before and 5 days from the shock on.  Returns ``self``.
        """
        d = np.asarray(days, dtype=float)
        y = np.asarray(counts, dtype=float)
        if d.shape != y.shape or d.ndim != 1:
            raise ModelError("days and counts must be 1-D arrays of the same length")
        ok = ~np.isnan(y)
        d, y = d[ok], y[ok]
        if np.any(y < 0):
            raise ModelError("counts must be >= 0")
        if np.sum(d < shock_day) < 3 or np.sum(d >= shock_day) < 5:
            raise ModelError(
                f"need >= 3 days before and >= 5 days from shock_day={shock_day}; got "
                f"{int(np.sum(d < shock_day))} and {int(np.sum(d >= shock_day))}"
            )
        x0 = self._start(d, y, shock_day)
        starts = [x0]
        alt = x0.copy()
        alt[3] = x0[3] + np.log(5.0)
        starts.append(alt)
        theta, loglik = self._optimise(d, y, shock_day, starts)
        self.days_, self.counts_, self.shock_day_ = d, y, float(shock_day)
        self.theta_ = theta
        self.loglik_ = loglik
        self.aic_ = 2 * theta.size - 2 * loglik
        estimates = self._derived(theta)
        for name, value in estimates.items():
            setattr(self, f"{name}_", value)
        if self.shape == "logistic":
            self.midpoint_days_ = float(theta[4])
        self.dispersion_ = float(np.exp(theta[-1])) if self.likelihood == "negbin" else 0.0
        self.summary = self._intervals(theta, estimates)
        return self

    def _intervals(self, theta: np.ndarray, estimates: dict[str, float]) -> pd.DataFrame:
        alpha = (1.0 - self.confidence) / 2.0
        d, y, shock = self.days_, self.counts_, self.shock_day_
        lower: dict[str, float] = {}
        upper: dict[str, float] = {}
        if self.ci_method == "wald":
            z = stats.norm.ppf(1 - alpha)
            try:
                cov = np.linalg.inv(numerical_hessian(lambda th: -self._loglik(th, d, y, shock), theta))
            except np.linalg.LinAlgError:
                cov = np.full((theta.size, theta.size), np.nan)
            for name, value in estimates.items():
                def g(th: np.ndarray, name: str = name) -> float:
                    return float(np.log(abs(self._derived(th)[name]) + 1e-300))

                grad = numerical_gradient(g, theta)
                se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
                lower[name], upper[name] = sorted(
                    (value * np.exp(-z * se), value * np.exp(z * se))
                )
        else:
            rng = np.random.default_rng(self.seed)
            mu = self._curve(theta, d, shock)
            draws = []
            for _ in range(int(self.n_bootstrap)):
                y_b = sample_counts(mu, self.dispersion_, rng)
                th_b, _ = self._optimise(d, y_b, shock, [theta], polish=False)
                draws.append([self._derived(th_b)[n] for n in _RESULTS])
            arr = np.asarray(draws)
            for i, name in enumerate(_RESULTS):
                lower[name] = float(np.nanquantile(arr[:, i], alpha))
                upper[name] = float(np.nanquantile(arr[:, i], 1 - alpha))
        out = pd.DataFrame(
            {
                "estimate": [estimates[n] for n in _RESULTS],
                "lower": [lower[n] for n in _RESULTS],
                "upper": [upper[n] for n in _RESULTS],
            },
            index=pd.Index(_RESULTS, name="quantity"),
        )
        return out

    def predict(self, days: np.ndarray | pd.Series) -> np.ndarray:
        """Fitted mean count on the given days."""
        if not hasattr(self, "theta_"):
            raise ModelError("RecoveryCurve is not fitted; call fit() first")
        return self._curve(self.theta_, np.asarray(days, dtype=float), self.shock_day_)

    def plot(self, ax=None):
        """Observed counts and the fitted curve, with the shock marked; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        grid = np.linspace(self.days_.min(), self.days_.max(), 400)
        ax.plot(self.days_, self.counts_, ".", ms=3, color="0.4", label="observed")
        ax.plot(grid, self.predict(grid), label=f"{self.shape} recovery")
        ax.axvline(self.shock_day_, ls="--", color="0.5", lw=1)
        ax.axhline(self.equilibrium_, ls=":", color="0.5", lw=1)
        ax.set_xlabel("day")
        ax.set_ylabel("count per day")
        ax.legend(fontsize=8)
        return ax
