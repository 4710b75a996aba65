"""Shared gamma frailty Weibull model: is the ban hazard shared within a lineage?

Channels of one lineage (an original and its re-creations, ``family_id``) may share what
makes them resilient (the same operators, audience, tactics).  The shared frailty model says
so with one number: given the lineage's frailty ``Z`` (gamma, mean 1, variance ``theta``), a
channel's hazard is ``Z h_0(t) exp(x' beta)`` with a Weibull baseline ``H_0(t) = exp(g0)
t^rho``.  ``theta = 0`` is independence; ``theta = 1`` means a lineage's channels differ in
ban speed by a factor whose standard deviation equals its mean.

The frailty integrates out in closed form (Klein 1992; Duchateau & Janssen 2008, ch. 4): for
lineage ``i`` with ``d_i`` events, cumulative hazards ``A_i = sum_j H_ij(t_ij)`` and, with
delayed entry, ``B_i = sum_j H_ij(e_ij)`` (the lineage is conditioned on all its channels
surviving to their entry),

    l_i = sum_j delta_ij log(h_ij) + sum_{m < d_i} log(1 + m theta)
          - (1/theta + d_i) log(1 + theta A_i) + (1/theta) log(1 + theta B_i),

which tends to the Weibull proportional hazards likelihood as ``theta -> 0``.  The marginal
likelihood is maximised in ``(g0, log rho, beta, log theta)`` with BFGS (analytic gradient
of this closed form is not needed at these sizes); Wald intervals from a central-difference
Hessian, ``theta``'s on the log scale.  ``theta`` at its boundary (0) is said loudly
(:class:`~analysis.errors.UnidentifiedWarning`), and :attr:`frailty_test_` gives the
likelihood-ratio test of ``theta = 0`` with the boundary-corrected p-value (half a chi-square
with one degree of freedom; Self & Liang 1987).  Coverage and recovery of ``theta`` and
``beta`` are tested in simulation (``tests/models/test_frailty.py``).

References
----------
Klein, J.P. (1992). Semiparametric estimation of random effects using the Cox model based on
the EM algorithm. Biometrics 48, 795-806.  Duchateau, L. & Janssen, P. (2008). The Frailty
Model. Springer.  Self, S.G. & Liang, K.-Y. (1987). Asymptotic properties of maximum
likelihood estimators and likelihood ratio tests under nonstandard conditions. JASA 82,
605-610.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.errors import ModelError, UnidentifiedWarning
from analysis.models._reg import (
    cluster_codes,
    covariate_matrix,
    numeric_column,
    numerical_hessian,
    positive_durations_and_events,
    require_columns,
    wald_table,
    z_value,
)

__all__ = ["FrailtyTest", "GammaFrailtyWeibull", "frailty_loglik"]

LOG_THETA_FLOOR = -12.0


@dataclass(frozen=True)
class FrailtyTest:
    """Likelihood-ratio test of no shared frailty (``theta = 0``), boundary-corrected."""

    statistic: float
    p_value: float


def frailty_loglik(
    params: np.ndarray,
    t: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    cluster: np.ndarray,
    entry: np.ndarray | None = None,
) -> float:
    """Marginal log-likelihood at ``params = (g0, log rho, beta..., log theta)``.

    ``cluster`` holds integer codes 0..G-1.  ``log theta = -inf`` gives the Weibull PH
    likelihood (no frailty).
    """
    g0, lrho = params[0], params[1]
    beta, ltheta = params[2:-1], params[-1]
    rho = np.exp(lrho)
    lin = g0 + x @ beta
    with np.errstate(divide="ignore"):
        logt = np.log(t)
    h = np.exp(lin + rho * logt)
    ll = float(np.sum(event * (lrho + (rho - 1.0) * logt + lin)))
    n_cl = int(cluster.max()) + 1
    a = np.bincount(cluster, weights=h, minlength=n_cl)
    d = np.bincount(cluster, weights=event.astype(float), minlength=n_cl)
    b = None
    if entry is not None:
        pos = entry > 0
        he = np.zeros_like(t)
        he[pos] = np.exp(lin[pos] + rho * np.log(entry[pos]))
        b = np.bincount(cluster, weights=he, minlength=n_cl)
    if not np.isfinite(ltheta):
        return ll - float(a.sum()) + (float(b.sum()) if b is not None else 0.0)
    theta = np.exp(ltheta)
    m = np.arange(int(d.max()))
    ll += float(np.sum((m[None, :] < d[:, None]) * np.log1p(m[None, :] * theta)))
    ll -= float(np.sum((1.0 / theta + d) * np.log1p(theta * a)))
    if b is not None:
        ll += float(np.sum(np.log1p(theta * b)) / theta)
    return ll


class GammaFrailtyWeibull:
    """Weibull proportional hazards model with a shared gamma frailty per cluster (lineage).

    Parameters
    ----------
    alpha
        1 - confidence level.

    Attributes (after :meth:`fit`)
    ------------------------------
    params_ : pandas.Series
        ``g0`` (log baseline scale), ``log_rho`` (Weibull shape), the log hazard ratios,
        ``log_theta`` (frailty variance).
    summary : pandas.DataFrame
        Wald table of the internal parameters (``hr`` columns meaningful on covariates), plus
        rows ``rho`` and ``theta`` on their natural scale (intervals from the log scale).
    theta_, rho_ : float
    frailty_test_ : FrailtyTest
        LR test of ``theta = 0`` (p-value from 0.5 chi2_0 + 0.5 chi2_1).
    log_likelihood_, log_likelihood_no_frailty_ : float
    """

    def __init__(self, alpha: float = 0.05) -> None:
        self.alpha = alpha

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str,
        event_col: str,
        cluster_col: str,
        covariates: Sequence[str] | None = None,
        entry_col: str | None = None,
    ) -> GammaFrailtyWeibull:
        """Fit by maximum marginal likelihood (durations in days, > 0)."""
        what = "GammaFrailtyWeibull.fit"
        z_value(self.alpha)
        require_columns(df, [duration_col, event_col, cluster_col, entry_col], what)
        t, ev = positive_durations_and_events(df, duration_col, event_col, what)
        entry = None
        if entry_col is not None:
            entry = numeric_column(df, entry_col, what)
            bad = (entry < 0) | ((entry > 0) & (entry >= t))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ModelError(f"{what}: row {i}: expected 0 <= {entry_col} < {duration_col}")
        cluster = cluster_codes(df[cluster_col])  # a missing lineage: a cluster of its own
        x, names = covariate_matrix(
            df, covariates, [duration_col, event_col, cluster_col, entry_col], what
        )
        sizes = np.bincount(cluster)
        if sizes.max() < 2:
            raise ModelError(
                f"{what}: every cluster in {cluster_col!r} has one row; the frailty variance is "
                "not identified without clusters of two or more"
            )

        def nll(p: np.ndarray) -> float:
            return -frailty_loglik(p, t, ev.astype(float), x, cluster, entry)

        # start: Weibull PH without frailty (log theta fixed at -inf), then add theta
        k = x.shape[1]
        start0 = np.zeros(2 + k)
        start0[0] = np.log(ev.sum() / t.sum())
        res0 = optimize.minimize(
            lambda p: nll(np.r_[p, -np.inf]), start0, method="BFGS", options={"gtol": 1e-8}
        )
        best = None
        for lt0 in (np.log(0.5), np.log(0.05), np.log(2.0)):
            res = optimize.minimize(
                nll, np.r_[res0.x, lt0], method="BFGS", options={"gtol": 1e-8, "maxiter": 2000}
            )
            if best is None or res.fun < best.fun:
                best = res
        p_hat = best.x
        self.log_likelihood_no_frailty_ = -float(res0.fun)
        self.log_likelihood_ = -float(best.fun)
        at_boundary = p_hat[-1] < LOG_THETA_FLOOR
        if at_boundary:
            p_hat[-1] = LOG_THETA_FLOOR
        hess = numerical_hessian(nll, p_hat, eps=1e-4)
        if at_boundary:
            cov = np.full_like(hess, np.nan)
            cov[:-1, :-1] = np.linalg.inv(hess[:-1, :-1])
        else:
            try:
                cov = np.linalg.inv(hess)
            except np.linalg.LinAlgError as exc:
                raise ModelError(f"{what}: singular information matrix") from exc
        lr = max(0.0, 2.0 * (self.log_likelihood_ - self.log_likelihood_no_frailty_))
        self.frailty_test_ = FrailtyTest(lr, float(0.5 * stats.chi2.sf(lr, 1)) if lr > 0 else 1.0)
        labels = ["g0", "log_rho", *names, "log_theta"]
        self.names_ = names
        self.params_ = pd.Series(p_hat, index=pd.Index(labels, name="parameter"), name="coef")
        self.variance_matrix_ = pd.DataFrame(cov, index=labels, columns=labels)
        self.theta_ = float(np.exp(p_hat[-1]))
        self.rho_ = float(np.exp(p_hat[1]))
        table = wald_table(labels, p_hat, cov, self.alpha, "hr")
        nat = table.loc[["log_rho", "log_theta"]].copy()
        nat.index = pd.Index(["rho", "theta"], name="parameter")
        for col in ("estimate", "ci_lower", "ci_upper"):
            nat[col] = np.exp(nat[col])
        nat["se"] = nat["estimate"] * nat["se"]  # delta method
        self.summary = pd.concat([table, nat])
        self.summary.index.name = "parameter"
        self.n_, self.n_clusters_, self.n_events_ = len(df), int(sizes.size), int(ev.sum())
        if at_boundary or not best.success and np.max(np.abs(best.jac)) > 1e-3:
            warnings.warn(
                f"{what}: frailty variance at its boundary (theta = 0) or optimiser not "
                f"converged ({best.message}); no evidence of a lineage-shared frailty "
                f"(LR = {lr:.3g}); the theta interval is not reported",
                UnidentifiedWarning,
                stacklevel=2,
            )
        return self

    def _check(self) -> None:
        if not hasattr(self, "params_"):
            raise ModelError("GammaFrailtyWeibull is not fitted; call .fit(...) first")

    def predict_survival(self, x: Any, times: Any, conditional: bool = False) -> pd.DataFrame:
        """Population (marginal) survival ``(1 + theta H(t|x))^(-1/theta)``, or conditional on
        ``Z = 1`` (``exp(-H(t|x))``); rows ``times`` in days, one column per row of ``x``."""
        self._check()
        if isinstance(x, pd.DataFrame):
            x = x[self.names_].to_numpy(dtype=float)
        xm = np.atleast_2d(np.asarray(x, dtype=float)).reshape(-1, len(self.names_))
        p = self.params_.to_numpy()
        q = np.asarray(times, dtype=float)
        h = np.exp(p[0] + xm @ p[2:-1])[None, :] * q[:, None] ** self.rho_
        s = np.exp(-h) if conditional else (1.0 + self.theta_ * h) ** (-1.0 / self.theta_)
        return pd.DataFrame(s, index=pd.Index(q, name="time_days"))
