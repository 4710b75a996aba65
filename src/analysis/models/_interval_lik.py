"""Interval-censored log-likelihood of the log-location-scale families, with a cure fraction.

One likelihood serves two data kinds: crawl data (a ban seen between two visits, ``(L, R]``;
still alive at the last visit, ``(L, inf)``) in :mod:`analysis.models.interval_censoring`, and
published grouped survival points ("30 % of n within 2 days, 63 % within 90 days") in
:mod:`analysis.models.published_points`, whose nested cumulative shares of one cohort are the
multinomial counts of the intervals ``(0, t1], (t1, t2], ..., (tk, inf)``.

The families and their parametrisation are those of :mod:`analysis.models._parametric`:
``log T = mu + sigma W`` with ``s = log sigma`` and, with a cure fraction ``pi = expit(eta)``,
the population survival ``S(t) = pi + (1 - pi) S_u(t)``.  A row contributes
``w * log(S(L) - S(R))`` (``S(inf) = 0``: a row open on the right also covers the cured),
or ``w * log f(t)`` when ``L == R = t`` (an exact time).  Weights may be negative: the
conditional likelihood of "share among those with the event by H" subtracts
``m * log(1 - S(H))``, written as a row ``(0, H]`` with weight ``-m``.

Differences of survival probabilities are computed on the log scale from whichever tail is
smaller (``S`` in the right tail, ``F`` in the left), so narrow intervals far in a tail keep
full precision; the gradient is analytic and the Hessian a central difference of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize, special

from analysis.errors import ModelError
from analysis.models import _parametric as par

_LN2 = float(np.log(2.0))


def log_cdf0(family: str, z: np.ndarray) -> np.ndarray:
    """log F0(z) = log(1 - S0(z)) of the standard error distribution."""
    if family in ("weibull", "exponential"):
        with np.errstate(divide="ignore", over="ignore"):
            # log(1 - exp(-e^z)) = z - e^z / 2 + O(e^2z) far in the left tail
            return np.where(
                z < -20.0, z - 0.5 * np.exp(np.minimum(z, 0.0)), np.log(-np.expm1(-np.exp(z)))
            )
    if family == "loglogistic":
        return -np.logaddexp(0.0, -z)
    return special.log_ndtr(z)


def log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x <= 0, accurate on the whole range (Maechler 2012)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x > -_LN2, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


class IntervalData:
    """Rows ``(lower, upper]`` in days with weights; identical rows are merged.

    ``lower == upper > 0`` is an exact time; ``upper = inf`` is open on the right; rows
    ``(0, inf)`` carry no information and are dropped.
    """

    def __init__(self, lower: np.ndarray, upper: np.ndarray, weight: np.ndarray) -> None:
        lo = np.asarray(lower, dtype=float)
        up = np.asarray(upper, dtype=float)
        w = np.asarray(weight, dtype=float)
        keep = ~((lo == 0) & np.isinf(up)) & (w != 0)
        lo, up, w = lo[keep], up[keep], w[keep]
        if lo.size:
            pairs, inv = np.unique(np.column_stack([lo, up]), axis=0, return_inverse=True)
            w = np.bincount(inv.ravel(), weights=w, minlength=pairs.shape[0])
            lo, up = pairs[:, 0], pairs[:, 1]
        self.lower, self.upper, self.weight = lo, up, w
        self.exact = (lo == up) & (lo > 0)
        iv = ~self.exact
        self.il, self.iu, self.iw = lo[iv], up[iv], w[iv]
        self.el, self.ew = lo[self.exact], w[self.exact]
        with np.errstate(divide="ignore"):
            self.yl = np.log(self.il)  # -inf where lower == 0
            self.yu = np.log(self.iu)  # inf where upper == inf
            self.ye = np.log(self.el)
        self.has_lower = self.il > 0
        self.has_upper = np.isfinite(self.iu)

    @property
    def n_rows(self) -> int:
        return int(self.lower.size)

    def event_weight(self) -> float:
        """Total positive weight of rows that bound an event time (finite upper end)."""
        w = self.weight
        return float(w[np.isfinite(self.upper) & (w > 0)].sum())


def _log_pi(eta: float) -> tuple[float, float]:
    """(log pi, log(1 - pi)) for pi = expit(eta); eta = -inf means no cure."""
    if eta == -np.inf:
        return -np.inf, 0.0
    return -float(np.logaddexp(0.0, -eta)), -float(np.logaddexp(0.0, eta))


def loglik(family: str, theta: np.ndarray, data: IntervalData) -> tuple[float, np.ndarray]:
    """Log-likelihood and its gradient in ``theta = (mu, s, eta)`` (``eta = -inf``: no cure).

    Far outside the data (during a profile search) a term may overflow: the log-likelihood is
    then ``-inf`` and the gradient zero, which the optimisers treat as a rejected step.
    """
    with np.errstate(all="ignore"):
        ll, g = _loglik(family, theta, data)
    if not np.isfinite(ll) or not np.all(np.isfinite(g)):
        return -np.inf, np.zeros(3)
    return ll, g


def _loglik(family: str, theta: np.ndarray, data: IntervalData) -> tuple[float, np.ndarray]:
    mu, s, eta = (float(v) for v in theta)
    sigma = np.exp(s)
    log_pi, log_1mpi = _log_pi(eta)
    pi = np.exp(log_pi)
    ll = 0.0
    g = np.zeros(3)
    if data.el.size:  # exact times: log(1 - pi) + log f0(z) - s - log t
        z = (data.ye - mu) / sigma
        f, f1, _ = par.log_pdf0(family, z)
        w = data.ew
        ll += float(w @ (log_1mpi + f - s - data.ye))
        g += [-(w @ f1) / sigma, -(w @ (f1 * z)) - w.sum(), -pi * w.sum()]
    if data.il.size == 0:
        return ll, g
    w = data.iw
    hl, hu = data.has_lower, data.has_upper
    zl = np.where(hl, (data.yl - mu) / sigma, 0.0)
    zu = np.where(hu, (data.yu - mu) / sigma, 0.0)
    ls_l, d1_l, _ = par.log_sf0(family, zl)
    ls_u, d1_u, _ = par.log_sf0(family, zu)
    ls_l = np.where(hl, ls_l, 0.0)
    d1_l = np.where(hl, d1_l, 0.0)
    ls_u = np.where(hu, ls_u, -np.inf)
    d1_u = np.where(hu, d1_u, 0.0)
    # log D = log(S_u(L) - S_u(R)) from the smaller tail
    lf_l = np.where(hl, log_cdf0(family, zl), -np.inf)
    lf_u = np.where(hu, log_cdf0(family, zu), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        right_tail = ls_l < -_LN2
        log_d = np.where(right_tail, ls_l + log1mexp(ls_u - ls_l), lf_u + log1mexp(lf_l - lf_u))
        # dS_u/dtheta at each end, divided by D (zero at L = 0 and R = inf)
        rl = np.where(hl, np.exp(ls_l - log_d), 0.0)
        ru = np.where(hu, np.exp(ls_u - log_d), 0.0)
    closed = hu
    # finite R: log P = log(1 - pi) + log D
    lp = np.where(closed, log_1mpi + log_d, np.logaddexp(log_pi, log_1mpi + ls_l))
    ll += float(w @ lp)
    # d log P / d mu and d s for closed rows: (dS_u(L) - dS_u(R)) / D with dS_u = S_u d1 dz
    dmu_c = (-rl * d1_l + ru * d1_u) / sigma
    ds_c = -rl * d1_l * zl + ru * d1_u * zu
    # open rows: weight of the uncured part, wo = (1 - pi) S_u(L) / S(L)
    wo = np.exp(log_1mpi + ls_l - lp)
    dmu_o = wo * (-d1_l) / sigma
    ds_o = wo * (-d1_l * zl)
    deta_o = pi * np.exp(log_1mpi) * (-np.expm1(ls_l)) * np.exp(-lp)
    dmu = np.where(closed, dmu_c, dmu_o)
    ds = np.where(closed, ds_c, ds_o)
    deta = np.where(closed, -pi, deta_o)
    g += [float(w @ dmu), float(w @ ds), float(w @ deta)]
    if not np.isfinite(ll):
        return -np.inf, g
    return ll, g


def free_index(family: str, cure: bool) -> list[int]:
    """Indices of ``(mu, s, eta)`` that are estimated."""
    idx = [0] if family == "exponential" else [0, 1]
    return [*idx, 2] if cure else idx


def _full(base: np.ndarray, free: list[int], x: np.ndarray) -> np.ndarray:
    th = np.array(base, dtype=float)
    th[free] = x
    return th


def hessian(family: str, theta: np.ndarray, data: IntervalData, free: list[int]) -> np.ndarray:
    """Observed Hessian in the free parameters (central differences of the analytic gradient)."""
    k = len(free)
    h = np.zeros((k, k))
    for a, i in enumerate(free):
        step = 1e-5 * max(1.0, abs(theta[i]))
        up, dn = theta.copy(), theta.copy()
        up[i] += step
        dn[i] -= step
        h[:, a] = (loglik(family, up, data)[1][free] - loglik(family, dn, data)[1][free]) / (
            2.0 * step
        )
    return 0.5 * (h + h.T)


def maximise(
    family: str, data: IntervalData, start: np.ndarray, free: list[int]
) -> tuple[np.ndarray, float]:
    """Maximise over ``free`` from ``start`` (BFGS, then Newton steps to polish)."""

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        ll, g = loglik(family, _full(start, free, x), data)
        if not np.isfinite(ll):
            return 1e300, np.zeros_like(x)
        return -ll, -g[free]

    x0 = np.asarray(start, dtype=float)[free]
    res = optimize.minimize(neg, x0, jac=True, method="BFGS", options={"gtol": 1e-9})
    x = res.x
    if not np.isfinite(res.fun) or res.fun >= 1e300:
        res = optimize.minimize(lambda v: neg(v)[0], x0, method="Nelder-Mead")
        x = res.x
    theta = _full(start, free, x)
    ll, g = loglik(family, theta, data)
    for _ in range(8):  # Newton polish: BFGS stops at gtol, Newton gets the last digits
        h = hessian(family, theta, data, free)
        try:
            step = np.linalg.solve(-h, g[free])
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        t = 1.0
        while t > 1e-6:
            cand = theta.copy()
            cand[free] += t * step
            ll_c, g_c = loglik(family, cand, data)
            if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * max(1.0, abs(ll)):
                break
            t *= 0.5
        else:
            break
        done = np.max(np.abs(t * step)) < 1e-11
        theta, ll, g = cand, ll_c, g_c
        if done:
            break
    if not np.isfinite(ll):
        raise ModelError(f"interval-censored {family} fit failed: log-likelihood not finite")
    return theta, float(ll)


def start_values(family: str, data: IntervalData, cure: bool) -> np.ndarray:
    """Starting ``(mu, s, eta)`` from weighted log-midpoints of the positive-weight rows."""
    w = data.weight
    lo, up = data.lower, data.upper
    closed = np.isfinite(up) & (w > 0)
    if not closed.any():
        raise ModelError("no row bounds an event time (every interval is open on the right)")
    mid = np.where(
        lo[closed] > 0, np.sqrt(np.maximum(lo[closed], 1e-12) * up[closed]), up[closed] / 2
    )
    mid = np.where(lo[closed] == up[closed], lo[closed], mid)
    ym = np.log(mid)
    wc = w[closed]
    mean = float(wc @ ym / wc.sum())
    sd = float(np.sqrt(max(wc @ (ym - mean) ** 2 / wc.sum(), 0.0)))
    sd = float(np.clip(sd if sd > 0 else 1.0, 0.2, 3.0))
    open_w = float(w[~np.isfinite(up) & (w > 0)].sum())
    share_open = open_w / float(w[w > 0].sum())
    s0 = 0.0 if family == "exponential" else np.log(sd)
    mu0 = mean + (0.5 * sd if family != "exponential" else 0.0)
    if family == "exponential":
        mu0 = mean + 0.5772  # E log T = log(scale) - Euler gamma
    eta0 = -np.inf
    if cure:
        eta0 = float(special.logit(np.clip(0.5 * share_open, 0.02, 0.9)))
        mu0 -= 0.5 * np.exp(s0)
    return np.array([mu0, s0, eta0])


def fit(
    family: str, data: IntervalData, cure: bool, start: np.ndarray | None = None
) -> tuple[np.ndarray, float, np.ndarray]:
    """Maximum likelihood ``theta = (mu, s, eta)``, log-likelihood and Hessian (free params).

    Without a cure fraction several starts are not needed (the families are log-concave in
    ``mu`` for interval data); with one, the fit without cure gives the second start.
    """
    free = free_index(family, cure)
    if start is None:
        start = start_values(family, data, cure=False)
    theta, ll = maximise(family, data, np.asarray(start, dtype=float), free_index(family, False))
    if cure:
        best: tuple[np.ndarray, float] | None = None
        base = start_values(family, data, cure=True)
        for begin in (base, np.array([theta[0], theta[1], base[2]])):
            cand = maximise(family, data, begin, free)
            if best is None or cand[1] > best[1]:
                best = cand
        assert best is not None
        theta, ll = best
    return theta, ll, hessian(family, theta, data, free)


def profile(
    family: str, data: IntervalData, theta: np.ndarray, free: list[int], index: int, value: float
) -> float:
    """Profile log-likelihood with parameter ``index`` of ``(mu, s, eta)`` fixed at ``value``."""
    rest = [i for i in free if i != index]
    th = theta.copy()
    th[index] = value
    if not rest:
        return loglik(family, th, data)[0]
    return maximise(family, data, th, rest)[1]


def profile_interval(
    family: str,
    data: IntervalData,
    theta: np.ndarray,
    free: list[int],
    index: int,
    ll_max: float,
    crit: float,
    wald_se: float,
    max_dist: float = 40.0,
) -> tuple[float, float]:
    """Profile-likelihood interval of ``theta[index]`` (internal scale).

    Each bound solves ``l_p(v) = ll_max - crit``; the search starts at the Wald half-width and
    doubles until the crossing is bracketed.  A side never crossed within ``max_dist`` gets
    ``-inf``/``inf`` (the data do not bound the parameter there).
    """
    from scipy.optimize import brentq

    target = ll_max - crit
    hat = float(theta[index])
    width = float(wald_se) if np.isfinite(wald_se) and wald_se > 0 else 1.0
    out = []
    for direction in (-1.0, 1.0):
        inner, dist = hat, float(np.clip(1.5 * width, 0.02, 5.0))
        outer: float | None = hat + direction * dist
        while profile(family, data, theta, free, index, outer) > target:
            if dist >= max_dist:
                outer = None
                break
            inner, dist = outer, 2.0 * dist
            outer = hat + direction * dist
        if outer is None:
            out.append(direction * np.inf)
            continue
        root = brentq(
            lambda v: profile(family, data, theta, free, index, v) - target,
            min(inner, outer),
            max(inner, outer),
            xtol=1e-8,
        )
        out.append(float(root))
    return out[0], out[1]


def check_intervals(lower: Any, upper: Any, weights: Any) -> tuple[np.ndarray, ...]:
    """Validate ``(lower, upper]`` intervals in days and weights; return float arrays."""
    lo = np.asarray(lower, dtype=float)
    up = np.asarray(upper, dtype=float)
    if lo.ndim != 1 or lo.shape != up.shape or lo.size == 0:
        raise ModelError(
            f"lower/upper: expected two 1-D arrays of equal length > 0, got "
            f"{lo.shape} and {up.shape}"
        )
    w = np.ones_like(lo) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != lo.shape or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ModelError("weights: expected finite non-negative numbers, one per interval")
    checks = (
        (~np.isfinite(lo) | (lo < 0), "lower", "a finite number of days >= 0"),
        (np.isnan(up) | (up < lo), "upper", "upper >= lower (inf: right-censored)"),
        ((lo == up) & (lo == 0), "upper", "an exact time > 0 (lower == upper == 0 given)"),
    )
    for bad, name, expected in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelError(
                f"{name}: row {i} is {(lo if name == 'lower' else up)[i]!r}; expected {expected}"
            )
    if not np.any(np.isfinite(up) & (w > 0)):
        from analysis.errors import NoEventsError

        raise NoEventsError(
            "interval-censored fit: every interval is open on the right (no "
            "event seen); the lifetime distribution is not identified"
        )
    return lo, up, w
