"""Recovery of a daily count series after a known shock (crackdown, purge, action day).

Model (days ``t``, shock at ``t0``, ``tau = t - t0``)::

    mean(t) = pre_level                                    t < t0
    mean(t) = trough + (equilibrium - trough) * F(tau)     t >= t0

with ``F(0) = 0``, ``F(inf) = 1`` and

* ``shape="exponential"``: ``F(tau) = 1 - exp(-k tau)`` (one speed);
* ``shape="biexponential"``: ``F(tau) = 1 - w exp(-k tau) - (1 - w) exp(-k_slow tau)`` with
  ``k_slow < k`` (two speeds: after a purge, fast re-creation of banned channels and a slow
  refill by new ones; the cat-and-mouse mean field has this shape);
* ``shape="logistic"``: ``F(tau) = (L(tau) - L(0)) / (1 - L(0))`` with
  ``L(tau) = 1 / (1 + exp(-k (tau - midpoint)))`` (a delayed, S-shaped comeback).

Compare shapes by AIC with :func:`compare_shapes` (same likelihood for all).

**Time to recover** (one definition, used by every number here and by notebook 05): the time
to recover a fraction ``q`` *of the drop* is the first ``tau >= 0`` at which the fitted mean is
back at ``trough + q (pre_level - trough)``.  ``half_life_days`` is ``q = 0.5`` and
``time_to_90pct_days`` is ``q = 0.9`` (:meth:`RecoveryCurve.time_to_recover` for any ``q``).
When the new equilibrium stays below that level (``recovery_fraction = (equilibrium - trough)
/ (pre_level - trough) < q``) the time is infinite: reported as ``inf`` with a warning.  For
the exponential shape with full recovery, ``half_life_days = ln 2 / k``.

**Intervals of the times** (profile likelihood, the default): only the half-life's is
validated.  In simulation with known truth (latent AR(1) 0.8, full recovery; setting and
numbers in :data:`COVERAGE_TESTED` / :data:`COVERAGE_BELOW_TARGET`) the nominal 95 % interval
of the half-life covered 0.935 and 0.925 (two sets of 200 series), that of the time to 90 %
of the drop 0.920 and 0.910, with an open upper bound (``inf``: the data do not rule out a new
equilibrium below 90 % of the drop) in 80-83 % of the series.  ``summary["coverage_tested"]``
flags the validated row; every fit warns (:class:`~analysis.errors.TakedownWarning`) about a
time interval that is not validated or has an open bound, and so does
:meth:`RecoveryCurve.time_to_recover_interval` for any other share.  An infinite estimate keeps
its interval ``[lower, inf]`` (``lower = inf`` when the data rule out every finite time).

Likelihoods (``likelihood``):

* ``"arma"`` (default): ``log(y + 0.5) = log mean(t) + u_t + e_t`` with a latent AR(1)
  ``u_t`` (coefficient and innovation variance estimated) and count noise ``e_t`` of
  variance ``1 / (mean(t) + 0.5) + s^2`` (Poisson on the log scale, plus extra noise
  ``s^2`` estimated): an ARMA(1, 1) on the log scale whose noise part is heteroscedastic,
  as counts are.  Exact Gaussian likelihood by a scalar Kalman filter.  Wald intervals on
  the log scale from the observed information.
  Measured half-life coverage under a latent AR(1) 0.8 in
  ``tests/models/test_recovery.py`` (README validation table).
* ``"poisson"`` / ``"negbin"``: independent counts.  **Not valid for autocorrelated series**:
  under a latent AR(1) of 0.8 the half-life intervals covered 0.60 (Wald) and 0.55
  (bootstrap) (issue 12); they warn.

Intervals: ``ci_method="wald"`` (default for ``"arma"``) or ``"bootstrap"`` (parametric,
seeded; default for the independent likelihoods, as in earlier versions).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, signal, special, stats

from analysis.errors import ModelError, TakedownWarning, UnidentifiedWarning
from analysis.models._cm_stats import (
    minimise,
    nb2_loglik,
    numerical_gradient,
    numerical_hessian,
    poisson_loglik,
    sample_counts,
)
from analysis.models._ts_recovery import (
    AR_BOUND,
    compare_shapes,
    latent_ar_loglik,
    profile_time_interval,
)

__all__ = ["RecoveryCurve", "compare_shapes"]

_TIMES = {"half_life_days": 0.5, "time_to_90pct_days": 0.9}

COVERAGE_TESTED = {
    "half_life_days": "0.935 (seeds 2000-2199) and 0.925 (seeds 3000-3199), 200 series each",
}
"""Intervals validated in simulation with known truth (default ``likelihood="arma"`` with
profile intervals; latent AR(1) 0.8, the setting of ``tests/models/test_recovery.py``; measured
by ``tests/models/recovery_time_coverage.py``), with the measured coverage of the nominal 95 %.
Every other row of :attr:`RecoveryCurve.summary` has ``coverage_tested`` false."""

COVERAGE_BELOW_TARGET = {
    "time_to_90pct_days": "0.920 (seeds 2000-2199) and 0.910 (seeds 3000-3199), 200 series "
    "each; upper bound open (inf) in 80-83 % of them",
}
"""Intervals measured in the same simulation whose coverage is below the project's 0.92: not
validated (``coverage_tested`` false), reported with a warning."""

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
    """Fit a one- or two-speed recovery after a shock (lifelines-style fitter).

    Parameters
    ----------
    shape
        ``"exponential"``, ``"biexponential"`` or ``"logistic"``.
    likelihood
        ``"arma"`` (default: log counts with ARMA(1, 1) errors), ``"poisson"`` or
        ``"negbin"`` (independent days; warn).
    ci_method
        ``"wald"`` or ``"bootstrap"`` (parametric, seeded); default ``"wald"`` for
        ``"arma"``, ``"bootstrap"`` otherwise.
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
        Point estimates (counts per day and days; times as defined in the module docstring).
    summary
        DataFrame indexed by quantity: ``estimate``, ``lower``, ``upper``.
    loglik_, aic_
        Maximised log-likelihood and AIC.
    """

    shape: Literal["exponential", "biexponential", "logistic"] = "exponential"
    likelihood: Literal["arma", "poisson", "negbin"] = "arma"
    ci_method: Literal["bootstrap", "wald"] | None = None
    n_bootstrap: int = 200
    confidence: float = 0.95
    seed: int | np.random.Generator | None = None

    def __post_init__(self) -> None:
        if self.shape not in ("exponential", "biexponential", "logistic"):
            raise ModelError(
                f"shape must be 'exponential', 'biexponential' or 'logistic', got {self.shape!r}"
            )
        if self.likelihood not in ("arma", "poisson", "negbin"):
            raise ModelError(
                f"likelihood must be 'arma', 'poisson' or 'negbin', got {self.likelihood!r}"
            )
        if self.ci_method is None:
            self.ci_method = "profile" if self.likelihood == "arma" else "bootstrap"
        if self.ci_method not in ("bootstrap", "wald", "profile"):
            raise ModelError(
                f"ci_method must be 'profile', 'bootstrap' or 'wald', got {self.ci_method!r}"
            )

    # ---------------------------------------------------------------- parametrisation
    @property
    def _names(self) -> list[str]:
        names = ["log_pre", "log_trough", "log_equilibrium", "log_rate"]
        if self.shape == "logistic":
            names.append("midpoint_days")
        if self.shape == "biexponential":
            names += ["logit_fast_share", "logit_slow_over_fast"]
        if self.likelihood == "negbin":
            names.append("log_dispersion")
        if self.likelihood == "arma":
            names += ["log_extra_noise_var", "log_innovation_var", "atanh_ar"]
        return names

    def _fraction(self, theta: np.ndarray, tau: np.ndarray) -> np.ndarray:
        k = np.exp(theta[3])
        if self.shape == "exponential":
            return -np.expm1(-k * tau)
        if self.shape == "biexponential":
            w = special.expit(theta[4])
            k_slow = k * special.expit(theta[5])
            return 1.0 - w * np.exp(-k * tau) - (1.0 - w) * np.exp(-k_slow * tau)
        mid = theta[4]
        l0 = min(special.expit(-k * mid), 1.0 - 1e-12)
        return (special.expit(k * (tau - mid)) - l0) / (1.0 - l0)

    def _curve(self, theta: np.ndarray, days: np.ndarray, shock_day: float) -> np.ndarray:
        pre, trough, eq = np.exp(theta[:3])
        tau = np.asarray(days, dtype=float) - shock_day
        post = tau >= 0
        frac = self._fraction(theta, np.where(post, tau, 0.0))
        return np.where(post, trough + (eq - trough) * frac, pre)

    def _loglik(
        self, theta: np.ndarray, days: np.ndarray, counts: np.ndarray, shock: float
    ) -> float:
        mu = self._curve(theta, days, shock)
        if self.likelihood == "negbin":
            return nb2_loglik(counts, mu, float(np.exp(theta[-1])))
        if self.likelihood == "poisson":
            return poisson_loglik(counts, mu)
        if np.any(mu <= 0):
            return -np.inf
        return latent_ar_loglik(
            np.log(counts + 0.5) - np.log(mu),
            1.0 / (mu + 0.5) + float(np.exp(theta[-3])),
            float(np.tanh(theta[-1])),
            float(np.exp(theta[-2])),
        )

    def _time_to(self, theta: np.ndarray, q: float) -> float:
        pre, trough, eq = np.exp(theta[:3])
        drop = pre - trough
        if drop <= 0:
            return np.nan
        target = q * drop / (eq - trough) if eq != trough else np.inf
        if not 0 < target < 1:
            return np.inf if target >= 1 or target < 0 else 0.0
        k = np.exp(theta[3])
        if self.shape == "exponential":
            return float(-np.log1p(-target) / k)
        if self.shape == "logistic":
            mid = theta[4]
            l0 = special.expit(-k * mid)
            return float(mid + special.logit(l0 + target * (1.0 - l0)) / k)
        upper = 1.0 / k
        while self._fraction(theta, np.array([upper]))[0] < target and upper < 1e7:
            upper *= 2.0
        return float(
            optimize.brentq(lambda t: self._fraction(theta, np.array([t]))[0] - target, 0, upper)
        )

    def _derived(self, theta: np.ndarray) -> dict[str, float]:
        pre, trough, eq = np.exp(theta[:3])
        k = float(np.exp(theta[3]))
        drop = pre - trough
        out = {
            "pre_level": pre,
            "trough": trough,
            "equilibrium": eq,
            "rate_per_day": k,
            "time_constant_days": 1.0 / k,
            "half_life_days": self._time_to(theta, 0.5),
            "time_to_90pct_days": self._time_to(theta, 0.9),
            "recovery_fraction": (eq - trough) / drop if drop != 0 else np.nan,
        }
        if self.shape == "biexponential":
            out["fast_share"] = float(special.expit(theta[4]))
            out["slow_rate_per_day"] = k * float(special.expit(theta[5]))
        return out

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
        if self.shape == "biexponential":
            x[3] = np.log(20.0 / span)
            x += [0.0, special.logit(0.1)]
        if self.likelihood == "negbin":
            x.append(np.log(0.1))
        if self.likelihood == "arma":
            x += [np.log(1e-3), np.log(0.01), np.arctanh(0.7)]
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
        if self.likelihood == "arma":
            bounds[-3:] = [(-14.0, 2.0), (-14.0, 2.0), (-AR_BOUND, AR_BOUND)]
        if self.shape == "biexponential":
            bounds[4] = bounds[5] = (-12.0, 12.0)
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

        Needs at least 3 days before and 5 days from the shock on (``"arma"``: consecutive
        days without gaps).  Returns ``self``.
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
        if self.likelihood == "arma" and not np.allclose(np.diff(d), 1.0):
            raise ModelError("likelihood='arma' needs consecutive days (no gaps, no NaN counts)")
        if self.likelihood != "arma":
            warnings.warn(
                f"likelihood={self.likelihood!r} treats days as independent: under a latent "
                "AR(1) of 0.8 its half-life intervals covered 0.55-0.60 instead of 0.95 "
                "(issue 12); use the default likelihood='arma' for intervals",
                TakedownWarning,
                stacklevel=2,
            )
        x0 = self._start(d, y, shock_day)
        alt = x0.copy()
        alt[3] = x0[3] + np.log(5.0)
        theta, loglik = self._optimise(d, y, shock_day, [x0, alt])
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
        if self.likelihood == "arma":
            self.ar_ = float(np.tanh(theta[-1]))
            if abs(theta[-1]) > AR_BOUND - 1e-3:
                warnings.warn(
                    f"latent AR coefficient at its bound ({self.ar_:.2f}): the series wanders "
                    "like a random walk around the curve (e.g. a stock such as active "
                    "channels); levels are weakly identified and intervals may be too narrow",
                    UnidentifiedWarning,
                    stacklevel=2,
                )
            self.innovation_sd_ = float(np.exp(0.5 * theta[-2]))
            self.extra_noise_sd_ = float(np.exp(0.5 * theta[-3]))
        for name in ("half_life_days", "time_to_90pct_days"):
            if not np.isfinite(estimates[name]):
                warnings.warn(
                    f"{name}: the fitted equilibrium recovers {estimates['recovery_fraction']:.2f}"
                    " of the drop, never that share; reported as inf",
                    TakedownWarning,
                    stacklevel=2,
                )
        summary = self._intervals(theta, estimates)
        tested = (
            self.likelihood == "arma" and self.ci_method == "profile" and self.confidence == 0.95
        )
        summary["coverage_tested"] = [tested and n in COVERAGE_TESTED for n in summary.index]
        self.summary = summary
        for name, q in _TIMES.items():
            lower, upper = summary.loc[name, ["lower", "upper"]]
            self._warn_time_interval(name, q, lower, upper, tested)
        return self

    @staticmethod
    def _warn_time_interval(
        name: str, q: float, lower: float, upper: float, default_setting: bool
    ) -> None:
        """Say when an interval of a time to recover is not validated or is open
        (``default_setting``: latent-AR likelihood with a profile interval, as simulated)."""
        problems = []
        if default_setting and name in COVERAGE_BELOW_TARGET:
            problems.append(
                "not validated: its nominal 95 % covered "
                f"{COVERAGE_BELOW_TARGET[name]} in simulation (only the half-life's interval "
                "is validated, with the default likelihood='arma' and profile intervals)"
            )
        elif not (default_setting and name in COVERAGE_TESTED):
            problems.append(
                "its coverage is not tested in simulation (only the half-life's is, with the "
                "default likelihood='arma' and profile intervals)"
            )
        if np.isposinf(upper):
            problems.append(
                f"its upper bound is open (inf): the data do not rule out a new equilibrium "
                f"that never recovers {q:.0%} of the drop"
            )
        if np.isnan(lower) or np.isnan(upper):
            problems.append("a bound could not be computed (NaN)")
        if problems:
            warnings.warn(
                f"{name} interval [{lower:.3g}, {upper:.3g}]: " + "; ".join(problems),
                TakedownWarning,
                stacklevel=3,
            )

    def time_to_recover(self, q: float) -> float:
        """Days from the shock until the fitted mean has recovered a fraction ``q`` of the drop.

        A point estimate; :meth:`time_to_recover_interval` adds an interval.
        """
        if not 0 < q < 1:
            raise ModelError(f"q must be in (0, 1), got {q!r}")
        return self._time_to(self.theta_, float(q))

    def time_to_recover_interval(self, q: float) -> tuple[float, float, float]:
        """``(estimate, lower, upper)`` of the time to recover ``q`` of the drop.

        Profile-likelihood interval (any ``ci_method``; needs ``likelihood="arma"``) at the
        fit's confidence level.  Warns (:class:`~analysis.errors.TakedownWarning`) unless its
        coverage is tested (``q = 0.5``, see :data:`COVERAGE_TESTED`) and its bounds are
        finite: ``upper = inf`` means the data do not rule out never recovering ``q``.
        """
        if not 0 < q < 1:
            raise ModelError(f"q must be in (0, 1), got {q!r}")
        if not hasattr(self, "theta_"):
            raise ModelError("RecoveryCurve is not fitted; call fit() first")
        if self.likelihood != "arma":
            raise ModelError("time_to_recover_interval needs likelihood='arma'")
        value = self._time_to(self.theta_, float(q))
        if not value > 0:
            return value, np.nan, np.nan
        z = stats.norm.ppf(0.5 + self.confidence / 2)
        lower, upper = profile_time_interval(self, self.theta_, float(q), value, z)
        name = {v: k for k, v in _TIMES.items()}.get(float(q), f"time to recover {q:g}")
        self._warn_time_interval(name, float(q), lower, upper, self.confidence == 0.95)
        return value, lower, upper

    def _intervals(self, theta: np.ndarray, estimates: dict[str, float]) -> pd.DataFrame:
        alpha = (1.0 - self.confidence) / 2.0
        d, y, shock = self.days_, self.counts_, self.shock_day_
        names = list(estimates)
        lower: dict[str, float] = {}
        upper: dict[str, float] = {}
        if self.ci_method in ("wald", "profile"):
            z = stats.norm.ppf(1 - alpha)
            try:
                hess = numerical_hessian(lambda th: -self._loglik(th, d, y, shock), theta)
                cov = np.linalg.inv(hess)
            except np.linalg.LinAlgError:
                cov = np.full((theta.size, theta.size), np.nan)
            for name, value in estimates.items():
                if self.ci_method == "profile" and name in _TIMES and value > 0:
                    lower[name], upper[name] = profile_time_interval(
                        self, theta, _TIMES[name], value, z
                    )
                    continue
                if not np.isfinite(value) or value <= 0:
                    lower[name], upper[name] = np.nan, np.nan
                    continue

                def g(th: np.ndarray, name: str = name) -> float:
                    return float(np.log(abs(self._derived(th)[name]) + 1e-300))

                grad = numerical_gradient(g, theta)
                se = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
                lower[name], upper[name] = sorted((value * np.exp(-z * se), value * np.exp(z * se)))
        else:
            rng = np.random.default_rng(self.seed)
            draws = []
            for _ in range(int(self.n_bootstrap)):
                y_b = self._simulate(theta, rng)
                th_b, _ = self._optimise(d, y_b, shock, [theta], polish=False)
                draws.append([self._derived(th_b)[n] for n in names])
            arr = np.asarray(draws, dtype=float)
            for i, name in enumerate(names):
                lower[name] = float(np.nanquantile(arr[:, i], alpha))
                upper[name] = float(np.nanquantile(arr[:, i], 1 - alpha))
        return pd.DataFrame(
            {
                "estimate": [estimates[n] for n in names],
                "lower": [lower[n] for n in names],
                "upper": [upper[n] for n in names],
            },
            index=pd.Index(names, name="quantity"),
        )

    def _simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mu = self._curve(theta, self.days_, self.shock_day_)
        if self.likelihood != "arma":
            return sample_counts(mu, self.dispersion_, rng)
        innov = rng.normal(scale=self.innovation_sd_, size=mu.size + 100)
        latent = signal.lfilter([1.0], [1.0, -self.ar_], innov)[100:]
        noise = rng.normal(scale=self.extra_noise_sd_, size=mu.size)
        return rng.poisson(mu * np.exp(latent + noise)).astype(float)

    def predict(self, days: np.ndarray | pd.Series) -> np.ndarray:
        """Fitted mean count on the given days (``"arma"``: the geometric-mean curve)."""
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
