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


HORIZON_FACTOR = 100.0
"""The profile search for a time to recover stops at ``HORIZON_FACTOR`` times the days observed
after the shock: a bound beyond it is reported as ``inf`` (open)."""


def profile_time_interval(
    curve: RecoveryCurve, theta: np.ndarray, q: float, value: float, z: float
) -> tuple[float, float]:
    """Profile-likelihood interval of the time to recover ``q`` of the drop.

    The profile at a time ``h`` maximises the likelihood under the constraint that the fitted
    mean ``h`` days after the shock equals ``trough + q (pre_level - trough)`` (all shapes
    rise monotonically, so this is "the time to recover is ``h``"; the constraint stays finite
    when a trial curve never recovers ``q``, so the search also works when the estimate is
    ``inf``).  Bounds beyond :data:`HORIZON_FACTOR` times the observed days after the shock are
    ``inf``.  With an infinite estimate (the fitted equilibrium recovers less than ``q``) the
    upper bound is ``inf`` and the lower bound is the shortest time the data do not rule out
    (``inf`` when every finite time is ruled out).  A side whose search fails is ``NaN`` (with
    a warning).
    """
    d, y, shock = curve.days_, curve.counts_, curve.shock_day_
    top = curve._loglik(theta, d, y, shock)
    crit = 0.5 * z * z
    start = [theta]
    bounds = [(-50.0, 50.0)] * theta.size
    bounds[-3:] = [(-14.0, 2.0), (-14.0, 2.0), (-AR_BOUND, AR_BOUND)]
    log_max = float(np.log(HORIZON_FACTOR * max(float(d.max() - shock), 1.0)))

    def gap(th: np.ndarray, log_h: float) -> float:
        pre, trough = np.exp(th[0]), np.exp(th[1])
        level = curve._curve(th, np.array([shock + np.exp(log_h)]), shock)[0]
        return float((level - trough - q * (pre - trough)) / pre)

    def drop_at(log_h: float) -> float:
        cons = {"type": "eq", "fun": lambda th: gap(th, log_h)}
        res = optimize.minimize(
            lambda th: -curve._loglik(th, d, y, shock),
            start[0],
            method="SLSQP",
            constraints=[cons],
            bounds=bounds,
            options={"maxiter": 200, "ftol": 1e-10},
        )
        if not np.isfinite(res.fun) or abs(gap(res.x, log_h)) > 1e-6:
            return np.inf
        if res.success:
            start[0] = res.x
        return top + float(res.fun) - crit

    def search(inner: float, sign: float) -> float:
        """Bound on the ``sign`` side of ``inner`` (a log time inside the interval)."""
        start[0] = theta
        step, outer = 0.1, inner + sign * 0.1
        while drop_at(outer) < 0:
            if sign > 0 and outer >= log_max:
                return np.inf
            if sign < 0 and outer <= -10.0:
                return 0.0
            inner, outer, step = outer, outer + sign * step, 2 * step
            if sign > 0:
                outer = min(outer, log_max)
        try:
            root = optimize.brentq(drop_at, *sorted((inner, outer)), xtol=1e-3)
        except ValueError:
            warnings.warn(
                f"profile interval of the time to recover {q:.0%} of the drop failed on one "
                "side; that bound is NaN",
                TakedownWarning,
                stacklevel=4,
            )
            return np.nan
        return float(np.exp(root))

    if np.isfinite(value):
        return search(np.log(value), -1.0), search(np.log(value), 1.0)
    # infinite estimate: find a finite time the data do not rule out, from the horizon down
    start[0] = theta
    log_h = log_max
    while log_h > -10.0:
        if drop_at(log_h) < 0:
            return search(log_h, -1.0), np.inf
        log_h -= np.log(2.0)
    return np.inf, np.inf


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
