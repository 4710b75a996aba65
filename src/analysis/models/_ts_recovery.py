"""Helpers of :mod:`analysis.models.recovery`: the latent-AR likelihood, profile intervals of
the times to recover, and the comparison of shapes by AIC."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.errors import TakedownWarning

if TYPE_CHECKING:
    from analysis.models.recovery import RecoveryCurve

__all__ = ["compare_shapes", "latent_ar_loglik", "profile_time_interval"]

AR_BOUND = float(np.arctanh(0.95))
"""Bound of the latent AR coefficient (|ar| <= 0.95, on the atanh scale).  Nearer 1 the latent
process is a random walk that absorbs the level: the pre-level and equilibrium are then not
identified (a stock such as daily active channels did this: pre-level 1,895 for a mean of 507)."""


def latent_ar_loglik(resid: np.ndarray, noise_var: np.ndarray, ar: float, q: float) -> float:
    """Exact Gaussian log-likelihood of ``resid_t = u_t + e_t`` by the Kalman filter.

    ``u_t = ar u_{t-1} + N(0, q)`` (stationary start), ``e_t ~ N(0, noise_var_t)``.
    A scalar filter in plain Python floats: about 0.3 ms for 200 days.
    """
    a, p = 0.0, q / max(1.0 - ar * ar, 1e-9)
    ll = 0.0
    for z, h in zip(resid.tolist(), noise_var.tolist(), strict=True):
        f = p + h
        if not f > 0:
            return -np.inf
        v = z - a
        ll += np.log(f) + v * v / f
        gain = p / f
        a, p = ar * (a + gain * v), ar * ar * (p - gain * p) + q
    return -0.5 * (ll + len(resid) * np.log(2 * np.pi))


def profile_time_interval(
    curve: RecoveryCurve, theta: np.ndarray, q: float, value: float, z: float
) -> tuple[float, float]:
    """Profile-likelihood interval of the time to recover ``q`` of the drop."""
    d, y, shock = curve.days_, curve.counts_, curve.shock_day_
    top = curve._loglik(theta, d, y, shock)
    crit = 0.5 * z * z
    start = [theta]
    bounds = [(-50.0, 50.0)] * theta.size
    bounds[-3:] = [(-14.0, 2.0), (-14.0, 2.0), (-AR_BOUND, AR_BOUND)]

    def drop_at(log_h: float) -> float:
        cons = {"type": "eq", "fun": lambda th: np.log(curve._time_to(th, q)) - log_h}
        res = optimize.minimize(
            lambda th: -curve._loglik(th, d, y, shock),
            start[0],
            method="SLSQP",
            constraints=[cons],
            bounds=bounds,
            options={"maxiter": 200, "ftol": 1e-10},
        )
        if not np.isfinite(res.fun):
            return np.inf
        if res.success:
            start[0] = res.x
        return top + float(res.fun) - crit

    out = []
    failed = np.nan  # the bound of a side where the profile search fails
    for sign in (-1.0, 1.0):
        start[0] = theta
        step, inner = 0.1, np.log(value)
        outer = inner + sign * step
        tries = 0
        while drop_at(outer) < 0 and tries < 12:
            inner, outer, step = outer, outer + sign * step, 2 * step
            tries += 1
        if tries == 12:
            out.append(np.inf if sign > 0 else 0.0)
            continue
        start[0] = theta
        try:
            root = optimize.brentq(drop_at, *sorted((inner, outer)), xtol=1e-3)
        except ValueError:
            warnings.warn(
                f"profile interval of the time to recover {q:.0%} of the drop failed on one "
                "side; that bound is NaN",
                TakedownWarning,
                stacklevel=4,
            )
            root = failed
        out.append(float(np.exp(root)))
    return out[0], out[1]


def compare_shapes(
    days: np.ndarray | pd.Series,
    counts: np.ndarray | pd.Series,
    shock_day: float,
    shapes: tuple[str, ...] = ("exponential", "biexponential"),
    likelihood: str = "arma",
) -> pd.DataFrame:
    """Fit each recovery shape with the same likelihood and compare them by AIC.

    Returns one row per shape (sorted by AIC): ``n_params``, ``loglik``, ``aic``,
    ``delta_aic`` (0 for the best), ``half_life_days`` and ``time_to_90pct_days`` (times to
    recover 50 % and 90 % of the drop).  No intervals: refit the chosen shape for those.
    """
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)
        for shape in shapes:
            fit = _recovery_curve()(shape=shape, likelihood=likelihood, ci_method="wald")
            m = _point_fit(fit, days, counts, shock_day)
            rows.append(
                {
                    "shape": shape,
                    "n_params": m.theta_.size,
                    "loglik": m.loglik_,
                    "aic": m.aic_,
                    "half_life_days": m.half_life_days_,
                    "time_to_90pct_days": m.time_to_90pct_days_,
                }
            )
    out = pd.DataFrame(rows).sort_values("aic").reset_index(drop=True)
    out["delta_aic"] = out["aic"] - out["aic"].min()
    return out


def _point_fit(fit: RecoveryCurve, days, counts, shock_day) -> RecoveryCurve:
    """Fit without intervals (the summary then has NaN bounds)."""
    original = fit._intervals

    def no_intervals(theta: np.ndarray, estimates: dict[str, float]) -> pd.DataFrame:
        return pd.DataFrame(
            {"estimate": list(estimates.values()), "lower": np.nan, "upper": np.nan},
            index=pd.Index(list(estimates), name="quantity"),
        )

    fit._intervals = no_intervals  # type: ignore[method-assign]
    try:
        fit.fit(days, counts, shock_day)
    finally:
        fit._intervals = original  # type: ignore[method-assign]
    return fit


def _recovery_curve():
    from analysis.models.recovery import RecoveryCurve

    return RecoveryCurve
