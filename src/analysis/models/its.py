"""Interrupted time series: segmented regression of a daily count around action days.

Model (M2 of the modelling notes), for a daily count ``y_t``::

    log E[y_t] = b0 + b1 t + sum_j [ c_j 1(t >= T_j) + s_j (t - T_j) 1(t >= T_j) ]
                 + day-of-week effects (optional) + log(exposure_t) (optional offset)
                 + log(control_t + 0.5) (optional comparison series, as an offset)

* ``exp(c_j) - 1``: immediate level change at action ``j`` (percent change in the rate);
* ``s_j``: change of the log-linear slope per day after action ``j``.

Errors (``errors``), see :mod:`analysis.models._ts_errors`:

* ``"arma"`` (default): ``log(y + 0.5)`` regressed on the design with ARMA(1, 1) errors
  (statsmodels SARIMAX, exact likelihood).  Measured false-positive rate of a 5 % test of a
  level change, 180 days, latent AR(1) 0.9 on the log-rate, no effect: 5.7 % over 300
  series (slow test in ``tests/models/test_its.py``; README validation table; Newey-West
  36 % on the same series).  ``exp(c)`` is then a ratio of geometric means.
* ``"nb_ar"``: negative-binomial counts with an AR term on the lagged log-mean residual
  (GLARMA-type).  Its measured size in the same setting is 13 % (300 series): better than
  Newey-West, not valid; use it for point estimates on low counts, not for tests.
* ``"independent"``: Poisson / NB2 GLM (statsmodels) treating days as independent, with
  ``cov_type`` ``"hac"`` (Newey-West), ``"robust"`` (HC0) or ``"model"``.  **Not valid for
  autocorrelated series**: in the setting above the 5 % Newey-West test rejected in 38.7 % of
  runs (issue 12; 25 % with 15 lags, 61 % model-based).  Kept as a named option for
  comparison; it warns.  Passing ``cov_type`` alone selects it (the call of earlier
  versions).

A **controlled ITS** (``control=``) models the log ratio of the series to a comparison series
that the action did not touch (another platform, another language): ``log(control + 0.5)``
enters as an offset, so shocks common to both series are not read as effects.  The
coefficient is fixed at 1 on purpose: estimated freely, it is attenuated by the count noise
of the control (errors in variables, made worse by the quasi-differencing of AR errors), and
part of a common shock leaks into the effect.  :meth:`InterruptedTimeSeries.placebo` refits with placebo
interruption dates in the pre-period and gives a placebo-calibrated p-value
(``placebo_p_value_``).

30-day contrasts (:meth:`InterruptedTimeSeries.contrasts`) compare the fitted mean over the
``window_days`` after an action with the ``window_days`` before, as CREST 2021 did with raw
means (organic posts -15 % after the Oct 2018 Europol action and -95.5 % after the Nov 2019
one, https://evidencehub.net/chart/number-of-posts-on-telegram-30-days-before-and-30-days-after-europol-s-interventions-2018-2020-218.0),
here with a delta-method CI from the fitted covariance.  The raw ratio is reported too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError, TakedownWarning
from analysis.models._ts_bootstrap import placebo_p_value
from analysis.models._ts_errors import (
    fit_arma_errors,
    fit_independent_glm,
    fit_nb_ar,
)

__all__ = ["InterruptedTimeSeries", "fit_glm"]

_INDEPENDENT_SIZE = {
    "hac": "38.7 % (Newey-West, 4 lags)",
    "robust": "well above 25 % (HC0 ignores serial correlation)",
    "model": "60.7 % (model-based)",
}


def fit_glm(
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray | None = None,
    dispersion: float = 0.0,
) -> np.ndarray:
    """Log-link Poisson (``dispersion=0``) or NB2 GLM coefficients (statsmodels ``GLM``).

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
    import statsmodels.api as sm

    fam = (
        sm.families.NegativeBinomial(alpha=float(dispersion))
        if dispersion > 0
        else sm.families.Poisson()
    )
    res = sm.GLM(np.asarray(y, float), np.asarray(x, float), family=fam, offset=offset).fit(
        tol=1e-12
    )
    return np.asarray(res.params, dtype=float)


@dataclass
class InterruptedTimeSeries:
    """Segmented count regression with level and slope changes at known action days.

    Parameters
    ----------
    errors
        ``"arma"`` (default; ARMA errors on log counts), ``"nb_ar"`` (NB with an AR term)
        or ``"independent"`` (GLM treating days as independent; invalid for autocorrelated
        series, warns).
    family
        ``"poisson"`` or ``"negbin"``: the count family of ``errors="independent"``
        (``"nb_ar"`` is always negative binomial, ``"arma"`` models log counts).
    slope_change
        Also estimate a change of slope at each action (else level changes only).
    weekly_seasonality
        Add day-of-week effects (6 dummies).
    arma_order
        ``(p, q)`` of the ARMA errors (``errors="arma"``).
    cov_type
        ``"hac"`` (Newey-West), ``"robust"`` (HC0) or ``"model"``: only with
        ``errors="independent"``; given alone, it selects ``errors="independent"``.
    hac_lags
        Newey-West lags (default ``floor(4 (n/100)^(2/9))``).
    confidence
        Interval level.

    Attributes (after :meth:`fit`)
    ------------------------------
    params_, cov_, summary, error_params_, loglik_, level_change_pct_, errors_, hac_lags_
    """

    family: Literal["poisson", "negbin"] = "poisson"
    slope_change: bool = True
    weekly_seasonality: bool = False
    cov_type: Literal["hac", "robust", "model"] | None = None
    hac_lags: int | None = None
    confidence: float = 0.95
    errors: Literal["arma", "nb_ar", "independent"] | None = None
    arma_order: tuple[int, int] = (1, 1)

    def __post_init__(self) -> None:
        if self.family not in ("poisson", "negbin"):
            raise ModelError(f"family must be 'poisson' or 'negbin', got {self.family!r}")
        if self.cov_type not in (None, "hac", "robust", "model"):
            raise ModelError(f"cov_type must be 'hac', 'robust' or 'model', got {self.cov_type!r}")
        if self.errors not in (None, "arma", "nb_ar", "independent"):
            raise ModelError(
                f"errors must be 'arma', 'nb_ar' or 'independent', got {self.errors!r}"
            )
        if self.errors is None:
            self.errors = "independent" if self.cov_type is not None else "arma"
        if self.cov_type is not None and self.errors != "independent":
            raise ModelError(
                f"cov_type={self.cov_type!r} applies to errors='independent' only "
                f"(errors={self.errors!r} has its own model-based covariance)"
            )

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
        control: object | None = None,
    ) -> InterruptedTimeSeries:
        """Fit to daily ``counts`` on ``days`` (numbers or datetimes) with known ``action_days``.

        ``exposure`` (e.g. the number of monitored channels) enters as a log offset;
        ``control`` is a comparison series on the same days that the actions did not touch
        (controlled ITS: its log enters as an offset, so the model is for the log ratio).  Days must be consecutive for the
        autocorrelated error models.  Returns ``self``.
        """
        days_s = pd.Series(days).reset_index(drop=True)
        origin = days_s.min() if pd.api.types.is_datetime64_any_dtype(days_s) else None
        t = self._to_days(days_s, origin)
        y = np.asarray(counts, dtype=float)
        if t.size != y.size:
            raise ModelError(f"days and counts differ in length ({t.size} vs {y.size})")
        if np.any(np.isnan(y)) or np.any(y < 0):
            raise ModelError("counts must be non-negative numbers without gaps (NaN)")
        if self.errors != "independent" and t.size > 1 and not np.allclose(np.diff(t), 1.0):
            raise ModelError(
                f"errors={self.errors!r} needs consecutive days (one count per day, no gaps)"
            )
        acts = self._to_days(pd.Series(np.atleast_1d(action_days)), origin)
        acts = np.sort(np.asarray(acts, dtype=float))
        for a in acts:
            if not (t.min() < a <= t.max()):
                raise ModelError(
                    f"action day {a} is outside the observed days ({t.min()}, {t.max()}]"
                )
        self._control = None
        if control is not None:
            c = np.asarray(control, dtype=float)
            if c.shape != y.shape or np.any(np.isnan(c)) or np.any(c < 0):
                raise ModelError(
                    f"control must be {y.size} non-negative counts on the same days, "
                    f"got shape {c.shape}"
                )
            self._control = c
        self.action_days_ = acts
        self._origin = origin
        self._t_centre = float(t.mean())
        override = getattr(self, "_dow_shift_override", None)
        if override is not None:
            self._dow_shift = float(override)
        else:
            self._dow_shift = float(origin.day_of_week) if origin is not None else 0.0
        off = None if exposure is None else np.log(np.asarray(exposure, dtype=float))
        if self._control is not None:
            off = np.log(self._control + 0.5) + (0.0 if off is None else off)
        x, names = self._design(t)
        if self.errors == "arma":
            res = fit_arma_errors(y, x, names, order=self.arma_order, offset=off)
        elif self.errors == "nb_ar":
            res = fit_nb_ar(y, x, names, offset=off)
        else:
            cov_type = self.cov_type or "hac"
            warnings.warn(
                f"errors='independent' with cov_type={cov_type!r} treats days as independent: "
                f"on a daily series with latent AR(1) 0.9 its 5 % test of no effect rejected in "
                f"{_INDEPENDENT_SIZE[cov_type]} of simulated runs (issue 12); use the default "
                "errors='arma' for inference",
                TakedownWarning,
                stacklevel=2,
            )
            res = fit_independent_glm(
                y, x, names, family=self.family, offset=off, cov_type=cov_type,
                hac_lags=self.hac_lags,
            )  # fmt: skip
        self.hac_lags_ = int(res.error_params["hac_lags"]) if self.errors == "independent" else None
        beta = res.params.to_numpy()
        cov = res.cov.to_numpy()
        mu = np.exp(res.log_mean)
        self.dispersion_ = float(res.error_params.get("alpha", 0.0))
        self.error_params_ = dict(res.error_params)
        self.errors_ = res.method
        self.loglik_ = res.loglik
        self._x, self._y, self._t, self._mu, self._off = x, y, t, mu, off
        self._exposure = None if exposure is None else np.asarray(exposure, dtype=float)
        self.params_ = res.params
        self.cov_ = res.cov
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
        """Refit on the days before the first action with a fake action at each placebo day.

        Default placebo days: every 7 days in the pre-period, at least ``margin_days`` from
        its ends.  Sets ``placebo_p_value_``: the placebo-calibrated p-value of the first
        action's level change, ``(1 + #{placebo |z| >= real |z|}) / (1 + n_placebo)``; its
        smallest possible value is ``1 / (1 + n_placebo)``.  Returns one row per placebo day
        (``placebo_day``, ``level_change_pct``, ``lower_pct``, ``upper_pct``, ``p``, ``abs_z``).
        """
        first = self.action_days_[0]
        pre = self._t < first
        t_pre, y_pre = self._t[pre], self._y[pre]
        if placebo_days is None:
            cand = np.arange(t_pre.min() + margin_days, first - margin_days + 1e-9, 7.0)
        else:
            cand = self._to_days(pd.Series(np.atleast_1d(placebo_days)), self._origin)
        if len(cand) == 0:
            raise ModelError(
                f"no placebo day: the pre-period has {int(pre.sum())} days, fewer than "
                f"2 x margin_days = {2 * margin_days}"
            )
        rows = []
        for p in cand:
            sub = InterruptedTimeSeries(
                family=self.family,
                slope_change=self.slope_change,
                weekly_seasonality=self.weekly_seasonality,
                cov_type=self.cov_type,
                hac_lags=self.hac_lags,
                confidence=self.confidence,
                errors=self.errors,
                arma_order=self.arma_order,
            )
            exposure = None if self._exposure is None else self._exposure[pre]
            control = None if self._control is None else self._control[pre]
            sub._dow_shift_override = self._dow_shift  # keep the calendar of the parent fit
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TakedownWarning)  # the parent fit warned
                sub.fit(t_pre, y_pre, [float(p)], exposure, control)
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
        out = pd.DataFrame(rows)
        self.placebo_p_value_ = placebo_p_value(
            float(self.summary.loc["level_change[0]", "z"]), out["abs_z"].to_numpy()
        )
        return out

    def predict(self) -> np.ndarray:
        """Fitted mean counts on the observed days (``exp`` of the fitted log-rate)."""
        return self._mu.copy()

    def plot(self, ax=None):
        """Observed counts, fitted mean and action days; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.5))
        ax.plot(self._t, self._y, ".", ms=3, color="0.4", label="observed")
        ax.plot(self._t, self._mu, label=f"segmented fit ({self.errors_} errors)")
        for a in self.action_days_:
            ax.axvline(a, ls="--", color="0.5", lw=1)
        ax.set_xlabel("day")
        ax.set_ylabel("count per day")
        ax.legend(fontsize=8)
        return ax
