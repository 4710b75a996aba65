"""Regressions of a daily count series with autocorrelated errors (shared by ITS and recovery).

Daily counts of channels, bans or posts are autocorrelated: a latent log-rate that wanders
(an AR(1) with coefficient 0.8-0.95 on the log scale) makes a regression that treats days as
independent claim far too much precision.  Measured on 180 daily counts (mean 500, latent
AR(1) with coefficient 0.9, innovation sd 0.08, no effect), a 5 % test of a level change at
day 90 rejected in 38.7 % of runs with Newey-West errors (issue 12).  Three fits live here:

* :func:`fit_arma_errors`: Gaussian regression of ``log(y + 0.5)`` with ARMA(p, q) errors,
  by exact maximum likelihood in statsmodels' SARIMAX (Kalman filter).  A latent AR(1) plus
  count noise is an ARMA(1, 1) on the log scale, so ``order=(1, 1)`` is the default.  The
  regression coefficients are first estimated by GLS inside the state vector
  (``mle_regression=False``: only the ARMA parameters are optimised, fast), then used as a
  warm start for the joint fit whose outer-product-of-gradients covariance gives the
  intervals (statsmodels' default; measured size 4-5 % at AR 0.9, see ``tests/models/test_its.py``).
* :func:`fit_nb_ar`: negative-binomial (NB2) regression with an AR term on the lagged
  log-mean residual (a log-linear INGARCH / GLARMA-type model)::

      log mu_t = x_t b + phi * (log(y_{t-1} + 1) - x_{t-1} b)

  Given ``phi`` this is an NB regression with design ``x_t - phi x_{t-1}`` and offset
  ``phi log(y_{t-1} + 1)``, fitted by statsmodels' ``NegativeBinomial``; ``phi`` is chosen
  by profile likelihood.  The covariance of ``b`` is conditional on ``phi``.
* :func:`fit_independent_glm`: Poisson / NB2 regression treating days as independent
  (statsmodels ``GLM`` / ``NegativeBinomial``) with model-based, HC0 or Newey-West errors.

Each returns a :class:`RegressionFit`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.errors import ModelError

__all__ = [
    "LOG_SHIFT",
    "RegressionFit",
    "arma_predictions",
    "fit_arma_errors",
    "fit_independent_glm",
    "fit_nb_ar",
]

LOG_SHIFT = 0.5
"""Added to counts before taking logs (``log(y + 0.5)``), so that zero days stay finite."""


@dataclass
class RegressionFit:
    """Coefficients of a count regression with their covariance.

    Attributes
    ----------
    params
        Regression coefficients on the log-rate scale (Series indexed by term).
    cov
        Their covariance (DataFrame).
    log_mean
        The regression part ``x b + offset`` on the observed days.  For the count models
        (``"nb_ar"``, ``"independent"``) without their error process, the log of the
        regression rate; for ``"arma"`` the regression mean of ``log(y + 0.5)``, from which a
        series with persistent ARMA errors can stay away for weeks: it is not the fit.
    loglik
        Maximised log-likelihood (of the transformed series for ``"arma"``).
    method
        ``"arma"``, ``"nb_ar"`` or ``"independent"``.
    error_params
        Parameters of the error process (``ar.L1``, ``ma.L1``, ``sigma2``, ``phi``,
        ``alpha``, ``hac_lags``...).
    one_step_log
        One-step-ahead predictions of the full model (regression and error process) on the
        observed days, given the days before each: for ``"arma"`` the predicted mean of
        ``log(y_t + 0.5)`` (Kalman filter, offset included), for ``"nb_ar"`` the log of the NB
        mean including the AR term (the first day: the regression part), for
        ``"independent"`` equal to ``log_mean``.
    one_step_var
        For ``"arma"``: the variance of the one-step prediction error of ``log(y_t + 0.5)``
        (ARMA parameters fixed at their estimates); ``None`` for the count models.
    """

    params: pd.Series
    cov: pd.DataFrame
    log_mean: np.ndarray
    loglik: float
    method: str
    error_params: dict[str, float] = field(default_factory=dict)
    one_step_log: np.ndarray | None = None
    one_step_var: np.ndarray | None = None


def _check(x: np.ndarray, y: np.ndarray, names: list[str]) -> None:
    if x.ndim != 2 or x.shape[0] != y.size or x.shape[1] != len(names):
        raise ModelError(
            f"design of shape {x.shape} does not match {y.size} days / {len(names)} terms"
        )
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ModelError(f"design matrix is rank deficient (columns {names})")


def fit_arma_errors(
    y: np.ndarray,
    x: np.ndarray,
    names: list[str],
    order: tuple[int, int] = (1, 1),
    offset: np.ndarray | None = None,
) -> RegressionFit:
    """Regression of ``log(y + 0.5) - offset`` on ``x`` with ARMA(p, q) errors (SARIMAX).

    Parameters
    ----------
    y
        Daily counts (n,), no gaps.
    x
        Design matrix (n, k), including the intercept column.
    names
        Names of the columns of ``x``.
    order
        ``(p, q)`` of the ARMA error process.
    offset
        Log exposure (n,), subtracted from the log counts.

    Returns
    -------
    RegressionFit
        ``params`` on the log scale: ``exp(coef)`` is a rate ratio (of the geometric mean).
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    _check(x, y, names)
    off = np.zeros(y.size) if offset is None else np.asarray(offset, dtype=float)
    z = np.log(y + LOG_SHIFT) - off
    p, q = (int(order[0]), int(order[1]))
    with warnings.catch_warnings():
        # statsmodels warns about non-invertible starting MA values and convergence of the
        # warm-start GLS step; the final fit's convergence is checked below
        warnings.simplefilter("ignore")
        gls = SARIMAX(
            z, exog=x, order=(p, 0, q), trend="n", mle_regression=False, concentrate_scale=True
        ).fit(disp=False)
        start_b = gls.filtered_state[-x.shape[1] :, -1]
        model = SARIMAX(z, exog=x, order=(p, 0, q), trend="n", concentrate_scale=True)
        res = model.fit(start_params=np.r_[start_b, gls.params], disp=False, maxiter=200)
    converged = bool(res.mle_retvals.get("converged", True)) if res.mle_retvals else True
    if not converged:
        warnings.warn(
            "ARMA-error regression: the optimiser did not report convergence; "
            "check the fit (fewer terms or a lower ARMA order may help)",
            _warning_class(),
            stacklevel=3,
        )
    k = x.shape[1]
    beta = np.asarray(res.params[:k], dtype=float)
    cov = np.asarray(res.cov_params(), dtype=float)[:k, :k]
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        raise ModelError("ARMA-error regression: covariance of the coefficients is not finite")
    errs = {
        str(n): float(v) for n, v in zip(res.model.param_names[k:], res.params[k:], strict=True)
    }
    errs["sigma2"] = float(res.scale)
    return RegressionFit(
        params=pd.Series(beta, index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        log_mean=x @ beta + off,
        loglik=float(res.llf),
        method="arma",
        error_params=errs,
        one_step_log=np.asarray(res.fittedvalues, dtype=float) + off,
        one_step_var=np.asarray(res.forecasts_error_cov[0, 0], dtype=float).copy(),
    )


def arma_predictions(
    y: np.ndarray,
    x: np.ndarray,
    beta: np.ndarray,
    cov: np.ndarray,
    error_params: dict[str, float],
    order: tuple[int, int],
    offset: np.ndarray | None,
    n_cond: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions of ``log(y_t + 0.5)`` from the first ``n_cond`` days, ARMA errors included.

    The regression ``log(y + 0.5) - offset = x b + u`` with ARMA(p, q) errors ``u`` is run
    through the Kalman filter at the fitted parameters on days ``0 .. n_cond - 1``: there the
    predictions are one-step-ahead (given the days before), and on days ``n_cond ..`` they
    are forecasts from day ``n_cond - 1`` (the error ``u`` of the last conditioning day decays
    as the ARMA process says).  ``x`` may differ from the design that was fitted (a
    counterfactual design with the action columns set to zero).

    Parameters
    ----------
    y
        Daily counts (n,); only the first ``n_cond`` are used.
    x
        Design (n, k) of the predictions.
    beta, cov
        Regression coefficients (k,) and their covariance (k, k).
    error_params
        ``ar.L1 .. ar.Lp``, ``ma.L1 .. ma.Lq`` and ``sigma2`` as :func:`fit_arma_errors`
        returns them.
    order
        ``(p, q)``.
    offset
        Log exposure (n,) or ``None``.
    n_cond
        Number of leading days the predictions condition on (1 to n).

    Returns
    -------
    mean, var
        Predicted mean of ``log(y_t + 0.5)`` (offset included) and the variance of the
        prediction error of ``log(y_t + 0.5)``: the Kalman filter's (ARMA parameters fixed)
        plus the delta-method variance from ``cov`` (the predictions are linear in ``b``).
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    beta = np.asarray(beta, dtype=float)
    n, k = x.shape
    if not 1 <= n_cond <= n:
        raise ModelError(f"n_cond must be between 1 and {n}, got {n_cond}")
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    z = np.log(y[:n_cond] + LOG_SHIFT) - off[:n_cond]
    p, q = (int(order[0]), int(order[1]))
    arma = [error_params[f"ar.L{i}"] for i in range(1, p + 1)]
    arma += [error_params[f"ma.L{i}"] for i in range(1, q + 1)]
    model = SARIMAX(z, exog=x[:n_cond], order=(p, 0, q), trend="n")

    def run(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        res = model.filter(np.r_[b, arma, error_params["sigma2"]])
        mean = np.asarray(res.forecasts[0], dtype=float)
        var = np.asarray(res.forecasts_error_cov[0, 0], dtype=float)
        if n_cond < n:
            fc = res.get_forecast(n - n_cond, exog=x[n_cond:])
            mean = np.r_[mean, np.asarray(fc.predicted_mean, dtype=float)]
            var = np.r_[var, np.asarray(fc.var_pred_mean, dtype=float)]
        return mean, var

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' notes on zero exog columns
        mean, var = run(beta)
        grad = np.column_stack([run(beta + np.eye(k)[j])[0] - mean for j in range(k)])
    var_beta = np.einsum("ij,jk,ik->i", grad, np.asarray(cov, dtype=float), grad)
    return mean + off, var + var_beta


def _warning_class() -> type[Warning]:
    from analysis.errors import TakedownWarning

    return TakedownWarning


def _nb_fit(y: np.ndarray, x: np.ndarray, offset: np.ndarray, start: np.ndarray | None):
    from statsmodels.discrete.discrete_model import NegativeBinomial

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = NegativeBinomial(y, x, offset=offset, loglike_method="nb2")
        return model.fit(start_params=start, disp=False, maxiter=200, method="bfgs")


def fit_nb_ar(
    y: np.ndarray,
    x: np.ndarray,
    names: list[str],
    offset: np.ndarray | None = None,
    phi_bounds: tuple[float, float] = (-0.5, 0.99),
) -> RegressionFit:
    """NB2 regression with an AR(1) term on the lagged log-mean residual (GLARMA-type).

    ``log mu_t = x_t b + o_t + phi (log(y_{t-1} + 1) - x_{t-1} b - o_{t-1})`` for ``t >= 1``
    (the first day is conditioned on).  ``phi`` by profile likelihood (bounded scalar
    search), ``b`` and the NB2 dispersion by statsmodels' ``NegativeBinomial`` given ``phi``.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    _check(x, y, names)
    off = np.zeros(y.size) if offset is None else np.asarray(offset, dtype=float)
    lagged = np.log(y[:-1] + 1.0) - off[:-1]
    cache: dict[float, object] = {}
    start: list[np.ndarray | None] = [None]

    def fit_at(phi: float):
        design = x[1:] - phi * x[:-1]
        res = _nb_fit(y[1:], design, off[1:] + phi * lagged, start[0])
        if np.all(np.isfinite(res.params)):
            start[0] = np.asarray(res.params)
        cache[phi] = res
        return res

    opt = optimize.minimize_scalar(
        lambda phi: -float(fit_at(float(phi)).llf),
        bounds=phi_bounds,
        method="bounded",
        options={"xatol": 1e-3},
    )
    phi = float(opt.x)
    res = cache.get(phi) or fit_at(phi)
    if min(phi - phi_bounds[0], phi_bounds[1] - phi) < 2e-3:
        warnings.warn(
            f"NB-AR regression: the AR coefficient {phi:.3f} is at its search bound "
            f"{phi_bounds}; the error process is not captured",
            _warning_class(),
            stacklevel=3,
        )
    k = x.shape[1]
    beta = np.asarray(res.params[:k], dtype=float)
    cov = np.asarray(res.cov_params(), dtype=float)[:k, :k]
    log_mean = x @ beta + off
    one_step = log_mean.copy()
    one_step[1:] += phi * (lagged - (x[:-1] @ beta))
    return RegressionFit(
        params=pd.Series(beta, index=names),
        cov=pd.DataFrame(cov, index=names, columns=names),
        log_mean=log_mean,
        loglik=float(res.llf),
        method="nb_ar",
        error_params={"phi": phi, "alpha": float(res.params[-1])},
        one_step_log=one_step,
    )


def default_hac_lags(n: int) -> int:
    """Newey-West's rule ``floor(4 (n / 100)^(2/9))``."""
    return int(np.floor(4 * (n / 100.0) ** (2.0 / 9.0)))


def fit_independent_glm(
    y: np.ndarray,
    x: np.ndarray,
    names: list[str],
    family: str = "poisson",
    offset: np.ndarray | None = None,
    cov_type: str = "hac",
    hac_lags: int | None = None,
) -> RegressionFit:
    """Poisson or NB2 regression treating days as independent (statsmodels).

    ``cov_type``: ``"model"`` (inverse information), ``"robust"`` (HC0) or ``"hac"``
    (Newey-West, Bartlett weights, ``hac_lags`` default :func:`default_hac_lags`).  NB2's
    dispersion is estimated by maximum likelihood.
    """
    import statsmodels.api as sm

    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    _check(x, y, names)
    off = np.zeros(y.size) if offset is None else np.asarray(offset, dtype=float)
    lags = default_hac_lags(y.size) if hac_lags is None else int(hac_lags)
    alpha = 0.0
    if family == "negbin":
        alpha = float(_nb_fit(y, x, off, None).params[-1])
        fam = sm.families.NegativeBinomial(alpha=max(alpha, 1e-10))
    else:
        fam = sm.families.Poisson()
    kwargs: dict = {"cov_type": "nonrobust"}
    if cov_type == "robust":
        kwargs = {"cov_type": "HC0"}
    elif cov_type == "hac":
        kwargs = {"cov_type": "HAC", "cov_kwds": {"maxlags": lags, "use_correction": False}}
    res = sm.GLM(y, x, family=fam, offset=off).fit(**kwargs)
    beta = np.asarray(res.params, dtype=float)
    mu = np.exp(x @ beta + off)
    if family == "negbin":
        loglik = float(sm.families.NegativeBinomial(alpha=max(alpha, 1e-10)).loglike(y, mu))
    else:
        loglik = float(sm.families.Poisson().loglike(y, mu))
    return RegressionFit(
        params=pd.Series(beta, index=names),
        cov=pd.DataFrame(np.asarray(res.cov_params()), index=names, columns=names),
        log_mean=x @ beta + off,
        loglik=loglik,
        method="independent",
        error_params={"alpha": alpha, "hac_lags": float(lags if cov_type == "hac" else 0)},
        one_step_log=x @ beta + off,
    )
