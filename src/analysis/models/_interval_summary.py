"""Reported parameters, summary rows and curves of the interval-censored fits.

Shared by :mod:`analysis.models.published_points` and :mod:`analysis.models.interval_censoring`;
the internal coordinates ``(mu, s, eta)`` are those of :mod:`analysis.models._interval_lik`.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from analysis.models import _parametric as par

PARAM_NAMES = {
    "exponential": ("scale", None),
    "weibull": ("scale", "shape"),
    "loglogistic": ("scale", "shape"),
    "lognormal": ("mu", "sigma"),
}


def natural(family: str, index: int, value: np.ndarray | float) -> np.ndarray:
    """Internal ``(mu, s, eta)`` coordinate -> reported parameter (monotone map)."""
    v = np.asarray(value, dtype=float)
    if index == 2:
        return special.expit(v)
    if family == "lognormal":
        return v if index == 0 else np.exp(v)
    return np.exp(v) if index == 0 else np.exp(-v)


def summary_table(
    family: str,
    theta: np.ndarray,
    cov: np.ndarray,
    free: list[int],
    z: float,
    bounds: dict[int, tuple[float, float]] | None = None,
) -> tuple[list[str], np.ndarray]:
    """Rows ``estimate, se, ci_lower, ci_upper`` per free parameter on the reported scale.

    ``cov`` is the covariance in the free internal coordinates; ``se`` is by the delta method;
    intervals are Wald on the internal scale (log for positive parameters, logit for the cure
    fraction) unless ``bounds`` holds profile bounds for that coordinate.
    """
    names, rows = [], []
    for a, i in enumerate(free):
        name = "cure_fraction" if i == 2 else PARAM_NAMES[family][i]
        se_int = float(np.sqrt(cov[a, a])) if np.isfinite(cov[a, a]) and cov[a, a] >= 0 else np.nan
        est = float(natural(family, i, theta[i]))
        h = 1e-6 * max(1.0, abs(theta[i]))
        deriv = float(
            (natural(family, i, theta[i] + h) - natural(family, i, theta[i] - h)) / (2 * h)
        )
        if bounds is not None and i in bounds:
            lo_i, hi_i = bounds[i]
        else:
            lo_i, hi_i = theta[i] - z * se_int, theta[i] + z * se_int
        ends = sorted([float(natural(family, i, lo_i)), float(natural(family, i, hi_i))])
        names.append(name)
        rows.append([est, abs(deriv) * se_int, ends[0], ends[1]])
    return names, np.array(rows, dtype=float)


def survival(family: str, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Population survival ``S(t) = pi + (1 - pi) S_u(t)`` (``S = 1`` for ``t <= 0``)."""
    t = np.asarray(t, dtype=float)
    mu, s, eta = (float(v) for v in theta)
    pi = 0.0 if eta == -np.inf else float(special.expit(eta))
    with np.errstate(divide="ignore"):
        z = (np.log(np.maximum(t, 0.0)) - mu) / np.exp(s)
    su = np.where(t > 0, np.exp(par.log_sf0(family, np.where(t > 0, z, 0.0))[0]), 1.0)
    return pi + (1.0 - pi) * su


def cdf_band(
    family: str, theta: np.ndarray, cov: np.ndarray, free: list[int], t: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``F(t)`` with a pointwise delta-method band on the logit scale."""
    t = np.asarray(t, dtype=float)
    f = 1.0 - survival(family, theta, t)

    def logit_f(th: np.ndarray) -> np.ndarray:
        return special.logit(np.clip(1.0 - survival(family, th, t), 1e-300, 1 - 1e-16))

    grads = []
    for i in free:
        h = 1e-6 * max(1.0, abs(theta[i]))
        up, dn = theta.copy(), theta.copy()
        up[i] += h
        dn[i] -= h
        grads.append((logit_f(up) - logit_f(dn)) / (2 * h))
    g = np.array(grads)
    var = np.einsum("it,ij,jt->t", g, cov, g)
    se = np.sqrt(np.maximum(var, 0.0))
    centre = logit_f(theta)
    lo = special.expit(centre - z * se)
    hi = special.expit(centre + z * se)
    zero = f <= 0
    lo[zero], hi[zero] = 0.0, 0.0
    return f, lo, hi
