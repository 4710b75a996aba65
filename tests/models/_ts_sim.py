"""Simulated daily count series as researchers get them: a latent AR(1) log-rate plus count noise.

``log rate_t = log(mean_t) + u_t`` with ``u_t = phi u_{t-1} + e_t``, ``e_t ~ N(0, sd^2)``
(stationary start), and counts Poisson(rate_t) or NB2(rate_t, alpha).  The issue-12 setting of
the ITS false-positive rate: 180 days, mean 500, ``phi = 0.9``, ``sd = 0.08``, no effect, a
test of a level change at day 90.
"""

from __future__ import annotations

import numpy as np


def latent_ar1(n: int, phi: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    """A stationary Gaussian AR(1) path of length ``n`` (innovation sd ``sd``)."""
    u = np.empty(n)
    u[0] = rng.normal(scale=sd / np.sqrt(1.0 - phi**2)) if phi < 1 else 0.0
    e = rng.normal(scale=sd, size=n)
    for i in range(1, n):
        u[i] = phi * u[i - 1] + e[i]
    return u


def counts(mean: np.ndarray, u: np.ndarray, rng: np.random.Generator, alpha: float = 0.0):
    """Poisson (``alpha = 0``) or NB2 counts around ``mean * exp(u)``."""
    rate = np.asarray(mean, dtype=float) * np.exp(u)
    if alpha > 0:
        rate = rng.gamma(1.0 / alpha, alpha * rate)
    return rng.poisson(rate)


def its_null_series(seed: int, n: int = 180, phi: float = 0.9, sd: float = 0.08, mean=500.0):
    """The issue-12 null series (no effect)."""
    rng = np.random.default_rng(seed)
    return counts(np.full(n, mean), latent_ar1(n, phi, sd, rng), rng)
