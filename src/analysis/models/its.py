"""Interrupted time series: segmented Poisson / negative-binomial regression around action days.

Model (M2 of the modelling notes), for a daily count ``y_t``::

    log E[y_t] = b0 + b1 t + sum_j [ c_j 1(t >= T_j) + s_j (t - T_j) 1(t >= T_j) ]
                 + day-of-week effects (optional) + log(exposure_t) (optional offset)

* ``exp(c_j) - 1``: immediate level change at action ``j`` (percent change in the rate);
* ``s_j``: change of the log-linear slope per day after action ``j``.

Estimation: Poisson GLM by iteratively reweighted least squares (IRLS, written here with
numpy; statsmodels is not a dependency); NB2 (``Var = mu + alpha mu^2``) by IRLS for
``beta`` inside a one-dimensional maximisation of the profile likelihood over ``alpha``.

Standard errors: ``"hac"`` (default) is the Newey-West sandwich with Bartlett weights on the
GLM score contributions ``x_t (y_t - mu_t) / (1 + alpha mu_t)`` (robust to overdispersion
and to serial correlation up to ``hac_lags``, default ``floor(4 (n/100)^(2/9))``);
``"robust"`` is the HC0 sandwich; ``"model"`` the inverse Fisher information.

Caveat, measured by simulation: on 180 daily counts with no intervention whose log-rate
follows a latent AR(1) with coefficient 0.9 (sd 0.08, mean 500), the 95 % Newey-West
interval of a level change at day 90 excluded zero in 19 of 60 seeded runs (about 32 %, not
5 %); even Andrews' (1991) plug-in bandwidth (about 15 lags) left 27 %.  For strongly
autocorrelated series such as daily counts of active channels, treat the intervals as too
narrow and run :meth:`InterruptedTimeSeries.placebo`.

30-day contrasts (:meth:`InterruptedTimeSeries.contrasts`) compare the fitted mean over the
``window_days`` after an action with the ``window_days`` before, as CREST 2021 did with raw
means (organic posts -15 % after the Oct 2018 Europol action and -95.5 % after the Nov 2019
one, https://evidencehub.net/chart/number-of-posts-on-telegram-30-days-before-and-30-days-after-europol-s-interventions-2018-2020-218.0),
here with a delta-method CI from the robust covariance.  The raw ratio is reported too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.errors import ModelError
from analysis.models._cm_stats import nb2_loglik, poisson_loglik

__all__ = ["InterruptedTimeSeries", "fit_glm"]


def fit_glm(
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray | None = None,
    dispersion: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> np.ndarray:
    """Log-link Poisson (``dispersion=0``) or NB2 GLM coefficients by IRLS.

    Parameters
    ----------
    x
        Design matrix (n, p), full column rank.
    y
        Counts (n,).
    offset
        Log exposure (n,), default 0.
    dispersion
        NB2 dispersion ``alpha`` held fixed.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    off = np.zeros(y.size) if offset is None else np.asarray(offset, dtype=float)
    eta = np.log(y + 0.5)
    beta = np.linalg.lstsq(x, eta - off, rcond=None)[0]
    for _ in range(max_iter):
        eta = x @ beta + off
        mu = np.exp(np.clip(eta, -700, 700))
        w = mu / (1.0 + dispersion * mu)
        z = eta - off + (y - mu) / mu
        sw = np.sqrt(w)
        new = np.linalg.lstsq(x * sw[:, None], z * sw, rcond=None)[0]
        if np.max(np.abs(new - beta)) < tol * (1.0 + np.max(np.abs(beta))):
            beta = new
            break
        beta = new
    return beta


def _hac_meat(scores: np.ndarray, lags: int) -> np.ndarray:
    meat = scores.T @ scores
    for lag in range(1, lags + 1):
        w = 1.0 - lag / (lags + 1.0)
        gamma = scores[lag:].T @ scores[:-lag]
        meat += w * (gamma + gamma.T)
    return meat


@dataclass
class InterruptedTimeSeries:
    """Segmented count regression with level and slope changes at known action days.

    Parameters
    ----------
    family
        ``"poisson"`` or ``"negbin"``.
    slope_change
        Also estimate a change of slope at each action (else level changes only).
    weekly_seasonality
        Add day-of-week effects (6 dummies).
    cov_type
        ``"hac"`` (Newey-West), ``"robust"`` (HC0) or ``"model"``.
    hac_lags
        Newey-West lags (default ``floor(4 (n/100)^(2/9))``).
    confidence
        Interval level.

    Attributes (after :meth:`fit`)
    ------------------------------
    params_, cov_, summary, dispersion_, loglik_, level_change_pct_
    """

    family: Literal["poisson", "negbin"] = "poisson"
    slope_change: bool = True
    weekly_seasonality: bool = False
    cov_type: Literal["hac", "robust", "model"] = "hac"
    hac_lags: int | None = None
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.family not in ("poisson", "negbin"):
            raise ModelError(f"family must be 'poisson' or 'negbin', got {self.family!r}")
        if self.cov_type not in ("hac", "robust", "model"):
            raise ModelError(f"cov_type must be 'hac', 'robust' or 'model', got {self.cov_type!r}")

    # ---------------------------------------------------------------- design
    @staticmethod
    def _to_days(values: object, origin: pd.Timestamp | None) -> np.ndarray:
        arr = pd.Series(values) if not isinstance(values, pd.Series) else values
        if pd.api.types.is_datetime64_any_dtype(arr):
            base = origin if origin is not None else arr.min()
            return ((arr - base) / pd.Timedelta(days=1)).to_numpy(dtype=float)
        return pd.to_numeric(arr).to_numpy(dtype=float)

    def _design(self, t: np.ndarray) -> tuple[np.ndarray, list[str]]:
        cols = [np.ones_like(t), t - self._t_centre]
        names = ["intercept", "trend_per_day"]
        for j, a in enumerate(self.action_days_):
            after = (t >= a).astype(float)
            cols.append(after)
            names.append(f"level_change[{j}]")
            if self.slope_change:
                cols.append((t - a) * after)
                names.append(f"slope_change_per_day[{j}]")
        if self.weekly_seasonality:
            dow = np.mod(np.floor(t + self._dow_shift), 7).astype(int)
            for k in range(1, 7):
                cols.append((dow == k).astype(float))
                names.append(f"weekday[{k}]")
        return np.column_stack(cols), names

    # ---------------------------------------------------------------- fit
    def fit(
        self,
        days: object,
        counts: object,
        action_days: object,
        exposure: object | None = None,
    ) -> InterruptedTimeSeries:
        """Fit to daily ``counts`` on ``days`` (numbers or datetimes) with known ``action_days``.

        ``exposure`` (e.g. the number of monitored channels) enters as a log offset.
        Returns ``self``.
        """
        days_s = pd.Series(days).reset_index(drop=True)
        origin = days_s.min() if pd.api.types.is_datetime64_any_dtype(days_s) else None
        t = self._to_days(days_s, origin)
        y = np.asarray(counts, dtype=float)
        if t.size != y.size:
            raise ModelError(f"days and counts differ in length ({t.size} vs {y.size})")
        if np.any(np.isnan(y)) or np.any(y < 0):
            raise ModelError("counts must be non-negative numbers without gaps (NaN)")
        acts = self._to_days(pd.Series(np.atleast_1d(action_days)), origin)
        acts = np.sort(np.asarray(acts, dtype=float))
        for a in acts:
            if not (t.min() < a <= t.max()):
                raise ModelError(f"action day {a} is outside the observed days ({t.min()}, {t.max()}]")
        self.action_days_ = acts
        self._origin = origin
        self._t_centre = float(t.mean())
        override = getattr(self, "_dow_shift_override", None)
        if override is not None:
            self._dow_shift = float(override)
        else:
            self._dow_shift = float(origin.day_of_week) if origin is not None else 0.0
        off = None if exposure is None else np.log(np.asarray(exposure, dtype=float))
        x, names = self._design(t)
        if np.linalg.matrix_rank(x) < x.shape[1]:
            raise ModelError(f"design matrix is rank deficient (columns {names})")

        def profile(log_alpha: float) -> float:
            alpha = float(np.exp(log_alpha))
            b = fit_glm(x, y, off, alpha)
            mu = np.exp(x @ b + (0 if off is None else off))
            return -nb2_loglik(y, mu, alpha)

        if self.family == "negbin":
            res = optimize.minimize_scalar(profile, bounds=(-12.0, 4.0), method="bounded")
            alpha = float(np.exp(res.x))
        else:
            alpha = 0.0
        beta = fit_glm(x, y, off, alpha)
        mu = np.exp(x @ beta + (0 if off is None else off))
        self.dispersion_ = alpha
        self.loglik_ = nb2_loglik(y, mu, alpha) if alpha > 0 else poisson_loglik(y, mu)
        w = mu / (1.0 + alpha * mu)
        bread = np.linalg.inv(x.T @ (x * w[:, None]))
        if self.cov_type == "model":
            cov = bread
        else:
            scores = x * ((y - mu) / (1.0 + alpha * mu))[:, None]
            lags = 0
            if self.cov_type == "hac":
                lags = (
                    int(np.floor(4 * (y.size / 100.0) ** (2.0 / 9.0)))
                    if self.hac_lags is None
                    else int(self.hac_lags)
                )
            cov = bread @ _hac_meat(scores, lags) @ bread
            self.hac_lags_ = lags
        self._x, self._y, self._t, self._mu, self._off = x, y, t, mu, off
        self.params_ = pd.Series(beta, index=names)
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        se = np.sqrt(np.diag(cov))
        z = stats.norm.ppf(0.5 + self.confidence / 2)
        zstat = beta / se
        self.summary = pd.DataFrame(
            {
                "coef": beta,
                "se": se,
                "z": zstat,
                "p": 2 * stats.norm.sf(np.abs(zstat)),
                "lower": beta - z * se,
                "upper": beta + z * se,
                "rate_ratio": np.exp(beta),
                "rate_ratio_lower": np.exp(beta - z * se),
                "rate_ratio_upper": np.exp(beta + z * se),
            },
            index=pd.Index(names, name="term"),
        )
        self.level_change_pct_ = 100.0 * (
            self.summary.loc[[n for n in names if n.startswith("level_change")], "rate_ratio"] - 1
        )
        return self

    # ---------------------------------------------------------------- contrasts / checks
    def contrasts(self, window_days: int = 30) -> pd.DataFrame:
        """Mean over ``window_days`` after each action vs the ``window_days`` before.

        Returns one row per action: ``observed_pct_change`` (ratio of raw sums, as CREST
        2021) and ``model_pct_change`` with a delta-method CI (``lower``, ``upper``) from the
        fitted covariance.  Windows are clipped to the observed days.
        """
        z = stats.norm.ppf(0.5 + self.confidence / 2)
        rows = []
        cov = self.cov_.to_numpy()
        for j, a in enumerate(self.action_days_):
            before = (self._t >= a - window_days) & (self._t < a)
            after = (self._t >= a) & (self._t < a + window_days)
            mu_b, mu_a = self._mu[before], self._mu[after]
            log_ratio = np.log(mu_a.mean()) - np.log(mu_b.mean())
            grad = (mu_a @ self._x[after]) / mu_a.sum() - (mu_b @ self._x[before]) / mu_b.sum()
            se = float(np.sqrt(grad @ cov @ grad))
            rows.append(
                {
                    "action": j,
                    "action_day": a,
                    "days_before": int(before.sum()),
                    "days_after": int(after.sum()),
                    "observed_pct_change": 100.0
                    * (self._y[after].mean() / self._y[before].mean() - 1.0),
                    "model_pct_change": 100.0 * np.expm1(log_ratio),
                    "lower": 100.0 * np.expm1(log_ratio - z * se),
                    "upper": 100.0 * np.expm1(log_ratio + z * se),
                }
            )
        return pd.DataFrame(rows).set_index("action")

    def placebo(self, placebo_days: object | None = None, margin_days: int = 14) -> pd.DataFrame:
        """Refit on the data before the first action with a fake action at each placebo day.

        Default placebo days: every 7 days in the pre-period, at least ``margin_days`` from
        its ends.  A credible design gives level changes whose CIs mostly cover 0; compare
        the ``abs_z`` of the real effect with the placebo distribution
        (``placebo(...)["abs_z"]``).  Returns one row per placebo day.
        """
        first = self.action_days_[0]
        pre = self._t < first
        t_pre, y_pre = self._t[pre], self._y[pre]
        if placebo_days is None:
            cand = np.arange(t_pre.min() + margin_days, first - margin_days + 1e-9, 7.0)
        else:
            cand = self._to_days(pd.Series(np.atleast_1d(placebo_days)), self._origin)
        rows = []
        for p in cand:
            sub = InterruptedTimeSeries(
                family=self.family,
                slope_change=self.slope_change,
                weekly_seasonality=self.weekly_seasonality,
                cov_type=self.cov_type,
                hac_lags=self.hac_lags,
                confidence=self.confidence,
            )
            exposure = None if self._off is None else np.exp(self._off[pre])
            sub._fit_numeric(t_pre, y_pre, float(p), exposure, self._dow_shift)
            r = sub.summary.loc["level_change[0]"]
            rows.append(
                {
                    "placebo_day": float(p),
                    "level_change_pct": 100 * (r["rate_ratio"] - 1),
                    "lower_pct": 100 * (r["rate_ratio_lower"] - 1),
                    "upper_pct": 100 * (r["rate_ratio_upper"] - 1),
                    "p": r["p"],
                    "abs_z": abs(r["z"]),
                }
            )
        return pd.DataFrame(rows)

    def _fit_numeric(
        self, t: np.ndarray, y: np.ndarray, action: float, exposure: object, dow_shift: float
    ) -> None:
        self._dow_shift_override = dow_shift  # keep the calendar of the parent fit
        self.fit(t, y, [action], exposure)

    def predict(self) -> np.ndarray:
        """Fitted mean counts on the observed days."""
        return self._mu.copy()

    def plot(self, ax=None):
        """Observed counts, fitted mean and action days; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.5))
        ax.plot(self._t, self._y, ".", ms=3, color="0.4", label="observed")
        ax.plot(self._t, self._mu, label=f"segmented {self.family} fit")
        for a in self.action_days_:
            ax.axvline(a, ls="--", color="0.5", lw=1)
        ax.set_xlabel("day")
        ax.set_ylabel("count per day")
        ax.legend(fontsize=8)
        return ax
