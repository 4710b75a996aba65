"""Private numerical helpers shared by the recovery, ITS, cat-and-mouse and calibration modules.

Count log-likelihoods (Poisson, negative binomial NB2), a central-difference Hessian and a
robust multi-start minimiser.  Nothing here is public API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize, special

__all__ = [
    "minimise",
    "nb2_loglik",
    "numerical_gradient",
    "numerical_hessian",
    "poisson_loglik",
]

_TINY = 1e-300


def poisson_loglik(counts: np.ndarray, mean: np.ndarray) -> float:
    """Poisson log-likelihood sum(y log mu - mu - log y!), with mu floored at 1e-300."""
    y = np.asarray(counts, dtype=float)
    mu = np.maximum(np.asarray(mean, dtype=float), _TINY)
    return float(np.sum(special.xlogy(y, mu) - mu - special.gammaln(y + 1.0)))


def nb2_loglik(counts: np.ndarray, mean: np.ndarray, dispersion: float) -> float:
    """NB2 log-likelihood: Var = mu + dispersion * mu**2 (dispersion -> 0 gives Poisson)."""
    y = np.asarray(counts, dtype=float)
    mu = np.maximum(np.asarray(mean, dtype=float), _TINY)
    if dispersion <= 1e-10:
        return poisson_loglik(y, mu)
    r = 1.0 / dispersion
    return float(
        np.sum(
            special.gammaln(y + r)
            - special.gammaln(r)
            - special.gammaln(y + 1.0)
            + r * np.log(r / (r + mu))
            + special.xlogy(y, mu / (r + mu))
        )
    )


def sample_counts(mean: np.ndarray, dispersion: float, rng: np.random.Generator) -> np.ndarray:
    """Draw Poisson (dispersion 0) or NB2 counts with the given means."""
    mu = np.maximum(np.asarray(mean, dtype=float), 0.0)
    if dispersion <= 1e-10:
        return rng.poisson(mu).astype(float)
    r = 1.0 / dispersion
    return rng.poisson(rng.gamma(r, mu / r)).astype(float)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central-difference gradient with relative steps."""
    x = np.asarray(x, dtype=float)
    g = np.empty_like(x)
    for i in range(x.size):
        h = 1e-5 * max(1.0, abs(x[i]))
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2.0 * h)
    return g


def numerical_hessian(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of a scalar function (symmetrised)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    hess = np.empty((n, n))
    steps = 1e-4 * np.maximum(1.0, np.abs(x))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = steps[i]
        hess[i, i] = (f(x + ei) - 2.0 * f0 + f(x - ei)) / steps[i] ** 2
        for j in range(i + 1, n):
            ej = np.zeros(n)
            ej[j] = steps[j]
            val = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4.0 * steps[i] * steps[j]
            )
            hess[i, j] = hess[j, i] = val
    return hess


def minimise(
    objective: Callable[[np.ndarray], float],
    starts: Sequence[np.ndarray],
    bounds: Sequence[tuple[float, float]] | None = None,
    polish: bool = True,
) -> optimize.OptimizeResult:
    """Minimise ``objective``: L-BFGS-B from each start, then Nelder-Mead and L-BFGS-B polish.

    Non-finite objective values are mapped to a large number so that the simplex can back
    away from invalid regions.
    """

    def safe(x: np.ndarray) -> float:
        if bounds is not None:
            for xi, (lo, hi) in zip(x, bounds, strict=True):
                if not lo <= xi <= hi:
                    return 1e300
        val = objective(x)
        return float(val) if np.isfinite(val) else 1e300

    best: optimize.OptimizeResult | None = None
    for x0 in starts:
        res = optimize.minimize(safe, np.asarray(x0, dtype=float), method="L-BFGS-B", bounds=bounds)
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    if not polish:
        return best
    n = best.x.size
    simplex = optimize.minimize(
        safe,
        best.x,
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 300 * n, "adaptive": True},
    )
    polished = optimize.minimize(safe, simplex.x, method="L-BFGS-B", bounds=bounds)
    for res in (simplex, polished):
        if res.fun < best.fun:
            best = res
    return best
