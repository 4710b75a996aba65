"""Censored, left-truncated maximum likelihood for log-location-scale lifetime families.

Every family is written in accelerated-failure-time form ``log T = mu + sigma * W`` with a
standard error distribution ``W`` (minimum extreme value for Weibull/exponential, normal for
log-normal, logistic for log-logistic).  With ``z = (log t - mu) / sigma`` the log-likelihood
of right-censored, left-truncated data is

    sum_events [log f0(z) - log sigma - log t] + sum_censored log S0(z) - sum_entries log S0(z_e)

and its first and second derivatives in ``(mu, s = log sigma)`` follow from those of
``log f0`` and ``log S0`` in ``z`` (closed forms below), so fitting is a damped Newton method
with analytic gradient and Hessian.  The Weibull case uses the profile likelihood in the shape
(the scale has a closed form given the shape), a one-dimensional Newton iteration.

Mixture cure models (Farewell 1982; Maller & Zhou 1996) add ``pi`` (the share never reaching
the event): ``S(t) = pi + (1 - pi) S_u(t)``; they are fitted with BFGS on an analytic gradient,
parametrised by ``eta = logit(pi)``, and their covariance is a finite difference of that
gradient.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy import optimize, special

from analysis.errors import ModelError

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
FAMILIES = ("exponential", "weibull", "lognormal", "loglogistic")


def log_sf0(family: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log S0(z) and its first two derivatives in z for the standard error distribution."""
    if family in ("weibull", "exponential"):
        ez = np.exp(z)
        return -ez, -ez, -ez
    if family == "loglogistic":
        sg = special.expit(z)
        return -np.logaddexp(0.0, z), -sg, -sg * (1.0 - sg)
    lsf = special.log_ndtr(-z)
    h = np.exp(-0.5 * z * z - _LOG_SQRT_2PI - lsf)
    return lsf, -h, -h * (h - z)


def log_pdf0(family: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log f0(z) and its first two derivatives in z."""
    if family in ("weibull", "exponential"):
        ez = np.exp(z)
        return z - ez, 1.0 - ez, -ez
    if family == "loglogistic":
        sg = special.expit(z)
        return z - 2.0 * np.logaddexp(0.0, z), 1.0 - 2.0 * sg, -2.0 * sg * (1.0 - sg)
    return -0.5 * z * z - _LOG_SQRT_2PI, -z, -np.ones_like(z)


def quantile0(family: str, p: float | np.ndarray) -> np.ndarray:
    """w such that S0(w) = p."""
    p = np.asarray(p, dtype=float)
    if family in ("weibull", "exponential"):
        return np.log(-np.log(p))
    if family == "loglogistic":
        return np.log1p(-p) - np.log(p)
    return special.ndtri(1.0 - p)


class Data:
    """Log-times of one fit; split into events and censored lazily (computed once)."""

    def __init__(self, t: np.ndarray, e: np.ndarray, entry: np.ndarray | None) -> None:
        self.y = np.log(t)
        self.event = e
        self.y_entry = np.log(entry[entry > 0]) if entry is not None else np.empty(0)
        self.n = t.size

    @cached_property
    def y_event(self) -> np.ndarray:
        return self.y[self.event]

    @cached_property
    def y_censored(self) -> np.ndarray:
        return self.y[~self.event]


def loglik_aft(
    family: str, theta: np.ndarray, data: Data, derivs: bool = True
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient and Hessian in ``(mu, s)`` for a model without cure."""
    mu, s = float(theta[0]), float(theta[1])
    sigma = np.exp(s)
    ll = -data.y_event.size * s - data.y_event.sum()
    grad = np.array([0.0, -float(data.y_event.size)])
    hess = np.zeros((2, 2))
    for y, func, sign in (
        (data.y_event, log_pdf0, 1.0),
        (data.y_censored, log_sf0, 1.0),
        (data.y_entry, log_sf0, -1.0),
    ):
        if y.size == 0:
            continue
        z = (y - mu) / sigma
        g, g1, g2 = func(family, z)
        ll += sign * g.sum()
        if derivs:
            g1z = g1 @ z
            sum_g1, sum_g2 = g1.sum(), g2.sum()
            g2z = g2 @ z
            g2zz = (g2 * z) @ z
            grad += sign * np.array([-sum_g1 / sigma, -g1z])
            hess += sign * np.array(
                [
                    [sum_g2 / sigma**2, (g2z + sum_g1) / sigma],
                    [(g2z + sum_g1) / sigma, g2zz + g1z],
                ]
            )
    return float(ll), grad, hess


def _newton(
    fun, theta0: np.ndarray, max_iter: int = 100, tol: float = 1e-10
) -> tuple[np.ndarray, float, np.ndarray]:
    """Damped Newton ascent with step halving; ``fun`` returns (ll, grad, hess)."""
    theta = np.asarray(theta0, dtype=float)
    ll, g, h = fun(theta)
    for _ in range(max_iter):
        neg_h = -h
        lam = 0.0
        for _ in range(60):
            try:
                m = neg_h + lam * np.eye(theta.size)
                np.linalg.cholesky(m)
                step = np.linalg.solve(m, g)
                break
            except np.linalg.LinAlgError:
                lam = max(2.0 * lam, 1e-6 * (1.0 + np.abs(np.diag(neg_h)).max()))
        else:  # pragma: no cover - pathological Hessian
            step = g * 1e-3
        t = 1.0
        while t > 1e-12:
            new = theta + t * step
            ll_new, g_new, h_new = fun(new)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                break
            t *= 0.5
        else:
            break
        converged = np.max(np.abs(new - theta)) < tol
        theta, ll, g, h = new, ll_new, g_new, h_new
        if converged or np.max(np.abs(g)) < 1e-12 * max(1.0, abs(ll)):
            break
    return theta, ll, h


def fit_exponential(data: Data) -> np.ndarray:
    """Closed form: scale = total time at risk / events."""
    d = data.y_event.size
    if d == 0:
        raise ModelError("no observed events: the exponential scale is not identifiable")
    exposure = (
        np.exp(data.y_event).sum() + np.exp(data.y_censored).sum() - np.exp(data.y_entry).sum()
    )
    return np.array([np.log(exposure / d), 0.0])


def fit_weibull_profile(
    y: np.ndarray, event: np.ndarray, y_entry: np.ndarray, max_iter: int = 100
) -> tuple[np.ndarray, float, np.ndarray]:
    """Weibull MLE by Newton on the profile likelihood of the shape ``rho``.

    Given ``rho`` the scale has the closed form ``lambda**rho = A(rho) / d`` with
    ``A = sum(t**rho) - sum(entry**rho)``; the profile log-likelihood is
    ``d log rho + (rho - 1) sum_events log t - d log A(rho) + const``, concave in ``rho``
    without truncation.  Its derivatives need only ``A``, ``A'`` and ``A''`` (sums of
    ``t**rho log(t)**k``), which also give the log-likelihood and the observed information in
    ``(mu, s)`` at the optimum, so the full fit costs a few passes over the data.

    Parameters
    ----------
    y, event
        log-durations and the event indicator.
    y_entry
        log of the positive entry times.

    Returns
    -------
    theta, loglik, hessian
        ``theta = (mu, s) = (log scale, -log shape)`` and the Hessian in ``(mu, s)``.
    """
    d = int(np.count_nonzero(event))
    if d == 0:
        raise ModelError("no observed events: the Weibull parameters are not identifiable")
    c = float(y.max())  # centre so that exp(rho * y) <= 1: no overflow
    yc = y - c
    y_en = y_entry - c
    sum_y_ev_raw = float(np.sum(y, where=event))
    sum_y_ev = sum_y_ev_raw - d * c
    spread = float(np.std(y, where=event)) if d > 1 else 0.0
    rho = 1.2825 / spread if spread > 0 else 1.0  # Menon's moment estimate as a start
    rho = float(np.clip(rho, 0.05, 50.0))
    u = np.empty_like(yc)
    uy = np.empty_like(yc)

    def derivs(r: float) -> tuple[float, float, float, float]:
        np.multiply(yc, r, out=u)
        np.exp(u, out=u)
        np.multiply(u, yc, out=uy)
        a0, a1 = u.sum(), uy.sum()
        np.multiply(uy, yc, out=u)
        a2 = u.sum()
        if y_en.size:
            ue = np.exp(r * y_en)
            uey = ue * y_en
            a0, a1, a2 = a0 - ue.sum(), a1 - uey.sum(), a2 - (uey * y_en).sum()
        return a0, a1, a2, d * np.log(r) + (r - 1.0) * sum_y_ev - d * np.log(a0)

    a0, a1, a2, lp = derivs(rho)
    for _ in range(max_iter):
        g = d / rho + sum_y_ev - d * a1 / a0
        h = -d / rho**2 - d * (a2 / a0 - (a1 / a0) ** 2)
        step = -g / h if h < 0 else g * rho  # ascent direction either way
        t = 1.0
        while True:
            new = rho + t * step
            if new > 0:
                b0, b1, b2, lp_new = derivs(new)
                if np.isfinite(lp_new) and lp_new >= lp - 1e-13 * abs(lp):
                    break
            t *= 0.5
            if t < 1e-14:
                new, b0, b1, b2, lp_new = rho, a0, a1, a2, lp
                break
        done = abs(new - rho) <= 1e-13 * rho
        rho, a0, a1, a2, lp = new, b0, b1, b2, lp_new
        if done:
            break
    # At the optimum exp(z_i) = u_i d / A0 with z = rho (y - mu): closed-form information.
    big_l = np.log(a0 / d)
    e0 = float(d)
    e1 = d * (rho * a1 / a0 - big_l)
    e2 = d / a0 * (rho**2 * a2 - 2.0 * rho * big_l * a1 + big_l**2 * a0)
    z_ev = rho * sum_y_ev - d * big_l
    sigma = 1.0 / rho
    hess = np.array(
        [
            [-e0 / sigma**2, (d - e0 - e1) / sigma],
            [(d - e0 - e1) / sigma, -e2 + z_ev - e1],
        ]
    )
    loglik = z_ev + d * np.log(rho) - sum_y_ev_raw - e0
    theta = np.array([c + big_l / rho, -np.log(rho)])
    return theta, float(loglik), hess


def fit_aft(family: str, data: Data) -> tuple[np.ndarray, float, np.ndarray]:
    """MLE without cure: returns ``theta = (mu, s)``, log-likelihood and Hessian."""
    if not data.event.any():
        raise ModelError(f"no observed events: the {family} parameters are not identifiable")
    if family == "exponential":
        theta = fit_exponential(data)
    elif family == "weibull":
        return fit_weibull_profile(data.y, data.event, data.y_entry)
    else:
        spread = float(data.y.std()) or 1.0
        theta0 = np.array([float(data.y_event.mean()) + 0.5 * spread, np.log(spread)])
        theta, _, _ = _newton(lambda th: loglik_aft(family, th, data), theta0)
    ll, _, hess = loglik_aft(family, theta, data)
    return theta, ll, hess


def _log_pi(eta: float) -> tuple[float, float]:
    """(log pi, log(1 - pi)) for pi = expit(eta), stable."""
    return -float(np.logaddexp(0.0, -eta)), -float(np.logaddexp(0.0, eta))


def loglik_cure(
    family: str, theta: np.ndarray, data: Data, fixed_s: float | None = None
) -> tuple[float, np.ndarray]:
    """Log-likelihood and gradient of a mixture cure model in ``(mu, s, eta)``.

    With ``fixed_s`` (exponential family) ``theta = (mu, eta)``.
    """
    if fixed_s is None:
        mu, s, eta = (float(v) for v in theta)
    else:
        mu, eta = float(theta[0]), float(theta[1])
        s = fixed_s
    sigma = np.exp(s)
    log_pi, log_1mpi = _log_pi(eta)
    pi = np.exp(log_pi)
    ll = 0.0
    g_mu = g_s = g_eta = 0.0
    y = data.y_event
    if y.size:
        z = (y - mu) / sigma
        f, f1, _ = log_pdf0(family, z)
        ll += y.size * (log_1mpi - s) - y.sum() + f.sum()
        g_mu += -f1.sum() / sigma
        g_s += -(f1 @ z) - y.size
        g_eta += -pi * y.size
    for y, sign in ((data.y_censored, 1.0), (data.y_entry, -1.0)):
        if y.size == 0:
            continue
        z = (y - mu) / sigma
        ls, ls1, _ = log_sf0(family, z)
        log_mix = np.logaddexp(log_pi, log_1mpi + ls)
        w = np.exp(log_1mpi + ls - log_mix)  # (1 - pi) S_u / S
        ll += sign * log_mix.sum()
        wl = w * ls1
        g_mu += sign * (-wl.sum() / sigma)
        g_s += sign * (-(wl @ z))
        one_minus_su = -np.expm1(ls)
        g_eta += sign * pi * np.exp(log_1mpi) * (one_minus_su / np.exp(log_mix)).sum()
    grad = np.array([g_mu, g_eta] if fixed_s is not None else [g_mu, g_s, g_eta])
    return float(ll), grad


def fit_cure(
    family: str, data: Data, start: np.ndarray, eta_fixed: float | None = None
) -> tuple[np.ndarray, float]:
    """Maximise the cure likelihood from ``start = (mu, s, eta)``.

    With ``eta_fixed`` only ``(mu, s)`` are free (profile likelihood of the cure fraction).
    Returns the full ``(mu, s, eta)`` and the log-likelihood.
    """
    expo = family == "exponential"
    free = [0] if expo else [0, 1]
    if eta_fixed is None:
        free = [*free, 2]

    def full(x: np.ndarray) -> np.ndarray:
        th = np.array(start, dtype=float)
        th[free] = x
        if eta_fixed is not None:
            th[2] = eta_fixed
        if expo:
            th[1] = 0.0
        return th

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        th = full(x)
        ll, g = loglik_cure(family, th, data)
        if not np.isfinite(ll):
            return np.inf, np.zeros_like(x)
        return -ll, -g[free]

    x0 = np.asarray(start, dtype=float)[free]
    res = optimize.minimize(neg, x0, jac=True, method="BFGS", options={"gtol": 1e-8})
    if not np.isfinite(res.fun):
        raise ModelError(f"cure {family} fit failed: {res.message}")
    return full(res.x), -float(res.fun)


def cure_hessian(family: str, theta: np.ndarray, data: Data) -> np.ndarray:
    """Observed Hessian of the cure log-likelihood by central differences of the gradient."""
    idx = [0, 2] if family == "exponential" else [0, 1, 2]
    k = len(idx)
    hess = np.zeros((k, k))
    for a, i in enumerate(idx):
        step = 1e-5 * max(1.0, abs(theta[i]))
        up, dn = theta.copy(), theta.copy()
        up[i] += step
        dn[i] -= step
        g_up = loglik_cure(family, up, data)[1][idx]
        g_dn = loglik_cure(family, dn, data)[1][idx]
        hess[:, a] = (g_up - g_dn) / (2.0 * step)
    return 0.5 * (hess + hess.T)
