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

What to draw.  With autocorrelated errors the regression part ``x b`` is not the fit: a
persistent error process (ARMA(1, 1) with AR near 1 on a stock such as active channels) lets
the series stay away from it for months, and the regression line can run far from the data
it was fitted to (notebook 05: about 760 against a series of about 500 before the purge).
Hence three named curves, each documented with its scale:

* :meth:`InterruptedTimeSeries.fitted`: the model's one-step-ahead predictions (regression
  and error process, each day given the days before), the line to draw through the data;
* :meth:`InterruptedTimeSeries.counterfactual`: the path without the actions, forecast with
  the ARMA errors from the days before the first action, with a prediction interval;
* :meth:`InterruptedTimeSeries.regression_mean`: the regression part alone (what
  ``predict()`` returned; ``predict()`` still does, with a ``FutureWarning``).

For ``errors="arma"`` the model is for ``log(y + 0.5)``: ``exp(prediction) - 0.5`` is the
predicted **median** count (log-normal errors), not the mean; ``scale="mean"`` gives
``exp(m + v / 2) - 0.5`` with ``v`` the prediction variance.

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
    LOG_SHIFT,
    arma_predictions,
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

    Curves (after :meth:`fit`): :meth:`fitted` (the model's one-step predictions, the line
    through the data), :meth:`counterfactual` (no action, ARMA errors forecast from the
    pre-action days, with a prediction interval) and :meth:`regression_mean` (the regression
    part alone, not the fit under autocorrelated errors).
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
        self._days = days_s
        self._fit = res
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
        fitted covariance.  The model's contrast compares the regression part
        (:meth:`regression_mean`, ``exp(x b + offset)``: for ``errors="arma"`` a geometric-mean
        scale) averaged over each window, so it measures the level and slope changes and the
        trend, not the error process; it can differ from the raw ratio when the errors are
        persistent.  Windows are clipped to the observed days.
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

    # ---------------------------------------------------------------- curves
    def _count_scale(self, log_pred: np.ndarray, var: np.ndarray | None, scale: str):
        if scale not in ("median", "mean", "log"):
            raise ModelError(f"scale must be 'median', 'mean' or 'log', got {scale!r}")
        if scale == "log":
            return log_pred.copy()
        if self.errors_ == "arma":
            if scale == "median":
                return np.maximum(np.exp(log_pred) - LOG_SHIFT, 0.0)
            return np.maximum(np.exp(log_pred + 0.5 * var) - LOG_SHIFT, 0.0)
        mu = np.exp(log_pred)
        if scale == "mean":
            return mu
        if self.dispersion_ > 0:
            r = 1.0 / self.dispersion_
            return stats.nbinom.median(r, r / (r + mu)).astype(float)
        return stats.poisson.median(mu).astype(float)

    def fitted(self, scale: Literal["median", "mean", "log"] = "median") -> np.ndarray:
        """One-step-ahead predictions of the full model on the observed days.

        Each day is predicted from the days before it with the fitted regression **and** error
        process (ARMA errors by the Kalman filter for ``errors="arma"``; the AR term of
        ``"nb_ar"``).  This is the line that shows what the model says the series was; it
        tracks the data where the errors are persistent, unlike :meth:`regression_mean`.

        Parameters
        ----------
        scale
            ``"median"`` (default): predicted median count.  For ``errors="arma"``,
            ``exp(m_t) - 0.5`` (clipped at 0) with ``m_t`` the predicted mean of
            ``log(y_t + 0.5)``: exp of a log-scale mean is a median under the model's
            Gaussian log-scale errors, not a mean.  For the count models, the median of the
            Poisson / NB2 distribution with the one-step mean.
            ``"mean"``: predicted mean count; for ``"arma"`` ``exp(m_t + v_t / 2) - 0.5``
            with ``v_t`` the one-step prediction variance (log-normal mean).
            ``"log"``: ``m_t`` itself (``"arma"``: the scale of ``log(y + 0.5)``; count
            models: the log of the one-step mean).

        Returns
        -------
        numpy.ndarray
            One value per observed day, in the order given to :meth:`fit`.  The first day
            has no past: its prediction is the regression part (the stationary mean of the
            errors).
        """
        return self._count_scale(self._fit.one_step_log, self._fit.one_step_var, scale)

    def regression_mean(self, scale: Literal["count", "log"] = "count") -> np.ndarray:
        """The regression part ``x b + offset`` alone, without the error process.

        Not the fit when the errors are autocorrelated: with ARMA errors whose AR
        coefficient is near 1 the series can stay far from this line for months (notebook
        05: about 760 against a series of about 500).  It is the level the model's errors
        revert to; level and slope changes are changes of this line.

        Parameters
        ----------
        scale
            ``"count"``: ``exp(x b + offset)``.  For ``errors="arma"`` that is the median of
            ``y + 0.5`` under stationary errors (a geometric mean), not a mean count; for the
            count models the regression rate.  ``"log"``: ``x b + offset``.

        Returns
        -------
        numpy.ndarray
            One value per observed day.
        """
        if scale not in ("count", "log"):
            raise ModelError(f"scale must be 'count' or 'log', got {scale!r}")
        return self._mu.copy() if scale == "count" else np.log(self._mu)

    def predict(self) -> np.ndarray:
        """Deprecated: the regression part ``exp(x b + offset)``, see :meth:`regression_mean`.

        Kept with its old meaning; it warns because the line it draws is not the model's fit
        under autocorrelated errors.  Use :meth:`fitted` for the line through the data and
        :meth:`counterfactual` for the path without the action.
        """
        warnings.warn(
            "InterruptedTimeSeries.predict() returns the regression part exp(x b) "
            "(regression_mean()), which is not the fit when the errors are autocorrelated; "
            "draw fitted() (one-step predictions of the full model) or counterfactual() "
            "(no action) instead.  predict() will be removed.",
            FutureWarning,
            stacklevel=2,
        )
        return self.regression_mean()

    def counterfactual(self, confidence: float | None = None) -> pd.DataFrame:
        """The series without the actions, predicted from the days before the first action.

        The design with every level- and slope-change column set to zero is run through the
        Kalman filter at the fitted parameters on the days before the first action (one-step
        predictions there, as :meth:`fitted`) and forecast from then on: the ARMA error of
        the last pre-action day decays as the fitted process says, towards the pre-action
        trend.  Only ``errors="arma"``.

        Parameters
        ----------
        confidence
            Level of the prediction interval (default: the model's ``confidence``).

        Returns
        -------
        pandas.DataFrame
            One row per observed day: ``day`` (as given to :meth:`fit`), ``after_action``
            (on or after the first action), ``log_pred`` (predicted mean of
            ``log(y + 0.5)`` without the actions), ``log_lower`` / ``log_upper`` (prediction
            interval for ``log(y0 + 0.5)``, ``y0`` the count that day had there been no
            action: ARMA innovations with parameters fixed, plus the delta-method variance of
            the regression coefficients), ``median`` (``exp(log_pred) - 0.5``, the predicted
            median count) and ``lower`` / ``upper`` (the interval on the count scale; all
            three clipped at 0).
        """
        if self.errors_ != "arma":
            raise ModelError(
                f"counterfactual() needs errors='arma' (the fit has errors={self.errors_!r})"
            )
        level = self.confidence if confidence is None else float(confidence)
        names = list(self.params_.index)
        x0 = self._x.copy()
        for j, n in enumerate(names):
            if n.startswith(("level_change[", "slope_change_per_day[")):
                x0[:, j] = 0.0
        n_pre = int(np.sum(self._t < self.action_days_[0]))
        mean, var = arma_predictions(
            self._y, x0, self.params_.to_numpy(), self.cov_.to_numpy(), self.error_params_,
            self.arma_order, self._off, n_pre,
        )  # fmt: skip
        half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(var)
        to_count = lambda v: np.maximum(np.exp(v) - LOG_SHIFT, 0.0)  # noqa: E731
        return pd.DataFrame(
            {
                "day": self._days.to_numpy(),
                "after_action": self._t >= self.action_days_[0],
                "log_pred": mean,
                "log_lower": mean - half,
                "log_upper": mean + half,
                "median": to_count(mean),
                "lower": to_count(mean - half),
                "upper": to_count(mean + half),
            }
        )

    def plot(self, ax=None):
        """Observed counts, the one-step fit, the no-action path (ARMA) and the action days.

        Returns the Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.5))
        ax.plot(self._t, self._y, ".", ms=3, color="0.4", label="observed")
        (line,) = ax.plot(
            self._t, self.fitted(), label=f"one-step prediction, median ({self.errors_} errors)"
        )
        if self.errors_ == "arma":
            cf = self.counterfactual()
            after = cf["after_action"].to_numpy()
            ax.plot(self._t[after], cf["median"][after], ls="--", color=line.get_color(),
                    label="no action (forecast, median)")  # fmt: skip
            ax.fill_between(self._t[after], cf["lower"][after], cf["upper"][after],
                            color=line.get_color(), alpha=0.15, lw=0,
                            label=f"no action, {self.confidence:.0%} prediction interval")  # fmt: skip
        for a in self.action_days_:
            ax.axvline(a, ls="--", color="0.5", lw=1)
        ax.set_xlabel("day")
        ax.set_ylabel("count per day")
        ax.legend(fontsize=8)
        return ax
