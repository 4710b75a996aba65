"""Private: numerical Hessian by central differences (no statsmodels at run time).

``H[i, j] ~ (f(x + h_i e_i + h_j e_j) - f(x + h_i e_i - h_j e_j) - f(x - h_i e_i + h_j e_j)
+ f(x - h_i e_i - h_j e_j)) / (4 h_i h_j)`` with ``h_i = eps**(1/4) * max(|x_i|, 0.1)``, the
step of statsmodels' ``approx_hess3`` (checked against it in the tests).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    x = np.asarray(x, dtype=float)
    n = x.size
    h = np.finfo(float).eps ** 0.25 * np.maximum(np.abs(x), 0.1)
    ee = np.diag(h)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            val = (
                f(x + ee[i] + ee[j])
                - f(x + ee[i] - ee[j])
                - f(x - ee[i] + ee[j])
                + f(x - ee[i] - ee[j])
            ) / (4.0 * h[i] * h[j])
            out[i, j] = out[j, i] = val
    return out
