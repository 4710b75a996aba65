"""Resampling for autocorrelated daily series: block and sieve bootstraps, placebo p-values.

* :func:`moving_block_indices`: moving-block bootstrap (Kuensch 1989) index arrays: blocks of
  ``block_length`` consecutive days drawn with replacement and concatenated.  It keeps the
  dependence within blocks only; on 180 days with a latent AR(1) of 0.9 it under-covers
  (issue 12 measured a 24.7 % false-positive rate for an ITS level change), so it is offered
  for residual diagnostics, not used for the default intervals.
* :func:`sieve_ar_bootstrap`: AR-sieve bootstrap (Buehlmann 1997): fit an AR(p) to a residual
  series (order by AIC, Yule-Walker via statsmodels), resample the centred innovations and
  rebuild series with the same autocorrelation.
* :func:`placebo_p_value`: the share of placebo statistics at least as extreme as the real one,
  ``(1 + #{|s_placebo| >= |s|}) / (1 + n_placebo)`` -- a p-value calibrated on the series
  itself (placebo interruption dates in the pre-period), valid when the placebo dates and the
  real date are exchangeable under no effect.
"""

from __future__ import annotations

import numpy as np

from analysis.errors import ModelError

__all__ = [
    "default_block_length",
    "moving_block_indices",
    "placebo_p_value",
    "sieve_ar_bootstrap",
]


def default_block_length(n: int) -> int:
    """``ceil(n^(1/3))``, the usual rate for the moving-block bootstrap of a mean."""
    return max(1, int(np.ceil(n ** (1.0 / 3.0))))


def moving_block_indices(
    n: int,
    block_length: int | None = None,
    n_boot: int = 1,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Index arrays ``(n_boot, n)`` of the moving-block bootstrap."""
    if n < 2:
        raise ModelError(f"need at least 2 days for a block bootstrap, got {n}")
    length = default_block_length(n) if block_length is None else int(block_length)
    if not 1 <= length <= n:
        raise ModelError(f"block_length must be in 1..{n}, got {block_length!r}")
    rng = np.random.default_rng(seed)
    n_blocks = int(np.ceil(n / length))
    starts = rng.integers(0, n - length + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(length)[None, None, :]).reshape(n_boot, -1)
    return idx[:, :n]


def sieve_ar_bootstrap(
    residuals: np.ndarray,
    n_boot: int = 1,
    max_order: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Series with the autocorrelation of ``residuals`` (AR-sieve bootstrap).

    Returns ``(draws, ar_coefficients)``: ``draws`` of shape ``(n_boot, n)``, each an AR(p)
    path driven by innovations resampled from the fitted ones (a burn-in of 100 days makes
    it stationary).
    """
    from statsmodels.regression.linear_model import yule_walker

    r = np.asarray(residuals, dtype=float)
    n = r.size
    if n < 10:
        raise ModelError(f"need at least 10 residuals for a sieve bootstrap, got {n}")
    r = r - r.mean()
    top = int(max_order) if max_order is not None else int(min(10 * np.log10(n), n // 4))
    best, best_aic = (np.zeros(0), float(np.var(r))), np.inf
    for p in range(top + 1):
        if p == 0:
            sigma2 = float(np.var(r))
            coef = np.zeros(0)
        else:
            coef, sigma = yule_walker(r, order=p, method="mle", result_object=False)
            sigma2 = float(sigma) ** 2
        aic = n * np.log(sigma2) + 2 * p
        if aic < best_aic:
            best, best_aic = (np.asarray(coef, dtype=float), sigma2), aic
    coef = best[0]
    p = coef.size
    innov = r[p:] - sum(coef[j] * r[p - 1 - j : n - 1 - j] for j in range(p)) if p else r.copy()
    innov = innov - innov.mean()
    rng = np.random.default_rng(seed)
    burn = 100
    e = rng.choice(innov, size=(n_boot, n + burn), replace=True)
    from scipy.signal import lfilter

    draws = lfilter([1.0], np.r_[1.0, -coef], e, axis=1)[:, burn:]
    return draws, coef


def placebo_p_value(statistic: float, placebo_statistics: np.ndarray) -> float:
    """``(1 + #{|placebo| >= |statistic|}) / (1 + n_placebo)`` (two-sided, by absolute value)."""
    s = np.abs(np.asarray(placebo_statistics, dtype=float))
    s = s[np.isfinite(s)]
    if s.size == 0:
        raise ModelError("no finite placebo statistic: cannot calibrate a p-value")
    return float((1 + np.sum(s >= abs(float(statistic)))) / (1 + s.size))
