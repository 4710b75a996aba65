"""Fine-Gray proportional subdistribution hazards regression for one cause of ending.

The subdistribution hazard of cause ``k`` is the hazard of ``T_k = T if cause == k else inf``:
channels that ended for another reason stay in its risk set.  Fine & Gray (1999) model it as
``lambda_k(t | x) = lambda_k0(t) exp(x' beta)``, so ``F_k(t | x) = 1 - exp(-Lambda_k0(t) e^{x'b})``
and ``exp(beta)`` says how a covariate moves the *cumulative incidence* (the share banned),
which a cause-specific Cox model does not.

Estimation: the weighted partial likelihood with inverse-probability-of-censoring weights
(Fine & Gray 1999, eq. 6).  At an event time ``u`` of cause ``k`` the risk set holds everyone
still open (weight 1) and everyone who ended for another reason at ``T_i < u`` with weight
``G(u-) / G(T_i-)``, ``G`` the Kaplan-Meier curve of the censoring times (left limits; an event
at a censoring time is taken to come first).  Ties: Breslow.  The sums over the weighted risk
set are cumulative sums, so a fit is ``O(n log n)`` per Newton step.

Variance: the robust sandwich ``I^-1 (sum_c U_c U_c') I^-1`` from per-subject score residuals,
summed within ``cluster_col`` when given (lineages), treating ``G`` as known, as R's
``coxph(..., weights, cluster)`` on ``survival::finegray`` data does (Geskus 2011); the
uncertainty in ``G`` is small and coverage is tested in simulation.

Delayed entry (Geskus 2011): a row is at risk with weight 1 from its entry on; a row that ended
for another cause at ``T_i`` keeps weight ``G(u-) H(u-) / (G(T_i-) H(T_i-))`` with ``H(t-) =
P(L < t)`` the distribution of entry times, estimated by Lynden-Bell's reverse-time
product-limit estimator (it restores the channels that ended for another cause before they
could have been found), and ``G`` the censoring Kaplan-Meier with delayed-entry risk sets.
Assumes entry independent of everything else; tested by simulation with known truth.  The
weights are unbounded when entry has little mass before early competing endings (``H(T_i-)``
near 0); in simulation with entry uniform from 0 the log ratio was biased by +0.03 even at
n = 30 000 (with the true ``H``), while with half the rows entering at 0 (channels created
after observation started, the usual crawl design) the bias was 0.001 +- 0.003.  A warning is
issued when a weight exceeds 20.

References
----------
Fine, J.P. & Gray, R.J. (1999). A proportional hazards model for the subdistribution of a
competing risk. JASA 94, 496-509.  Geskus, R.B. (2011). Cause-specific cumulative incidence
estimation and the Fine and Gray model under both left truncation and right censoring.
Biometrics 67, 39-49.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.errors import ModelError, TakedownWarning, UnidentifiedWarning
from analysis.models._cr_data import cause_codes
from analysis.models._reg import (
    cluster_codes,
    covariate_matrix,
    numeric_column,
    require_columns,
    wald_table,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["FineGray", "censoring_survival", "truncation_cdf_left"]


def censoring_survival(
    t: np.ndarray, censored: np.ndarray, entry: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier of the censoring distribution: jump times and ``G`` just after each.

    Events are taken to precede censorings at the same time (risk set ``entry < s <= T``).
    """
    times, inv = np.unique(t, return_inverse=True)
    c = np.bincount(inv, weights=censored.astype(float), minlength=times.size)
    at_risk = t.size - np.searchsorted(np.sort(t), times, side="left")
    if entry is not None:
        at_risk = at_risk - (t.size - np.searchsorted(np.sort(entry), times, side="left"))
    g = np.cumprod(1.0 - c / at_risk)
    return times, g


def truncation_cdf_left(t: np.ndarray, entry: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``P(L < q)`` for the entry (truncation) times ``L``: Lynden-Bell's reverse-time
    product-limit estimator, ``prod_{s >= q} (1 - a(s) / r(s))`` with ``a(s)`` entries at
    ``s`` and ``r(s) = #{L <= s <= T}``; normalised so that it is 1 after the last entry."""
    pos = entry > 0
    if not pos.any():
        return np.ones_like(q, dtype=float)
    s_times, a = np.unique(entry[pos], return_counts=True)
    r = np.searchsorted(np.sort(entry), s_times, side="right") - np.searchsorted(
        np.sort(t), s_times, side="left"
    )
    factor = 1.0 - a / r
    # suffix products: value at q is the product over entry times s >= q
    suffix = np.concatenate([np.cumprod(factor[::-1])[::-1], [1.0]])
    return suffix[np.searchsorted(s_times, q, side="left")]


def _g_left(times: np.ndarray, g: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``G(q-)``: product over censoring times strictly before ``q``."""
    idx = np.searchsorted(times, q, side="left") - 1
    return np.where(idx >= 0, g[np.maximum(idx, 0)], 1.0)


class _Sums:
    """Weighted risk-set sums S0, S1, S2 at the event times of the cause of interest."""

    def __init__(
        self, t: np.ndarray, codes: np.ndarray, k: int, x: np.ndarray, entry: np.ndarray
    ) -> None:
        self.t, self.x, self.entry = t, x, entry
        self.ev = codes == k
        self.comp = (codes > 0) & ~self.ev
        gt, g = censoring_survival(t, codes == 0, entry)
        self.u, inv = np.unique(t[self.ev], return_inverse=True)
        self.d = np.bincount(inv, minlength=self.u.size).astype(float)
        self.dx = np.zeros((self.u.size, x.shape[1]))
        np.add.at(self.dx, inv, x[self.ev])
        # weight of a subject who ended for another cause at T_c, at u > T_c: W(u) / W(T_c)
        # with W = G(.-) H(.-): censoring (Fine & Gray) times truncation (Geskus 2011)
        self.gu = _g_left(gt, g, self.u) * truncation_cdf_left(t, entry, self.u)
        self.order = np.argsort(t, kind="stable")
        self.first = np.searchsorted(t[self.order], self.u, side="left")  # T >= u from here
        self.e_order = np.argsort(entry, kind="stable")
        self.e_first = np.searchsorted(entry[self.e_order], self.u, side="left")  # entry >= u
        ci = np.flatnonzero(self.comp)
        self.ci = ci[np.argsort(t[ci], kind="stable")]
        tc = t[self.ci]
        self.gc = _g_left(gt, g, tc) * truncation_cdf_left(t, entry, tc)
        self.ncomp = np.searchsorted(tc, self.u, side="left")  # T_c < u

    def compute(self, beta: np.ndarray) -> tuple[np.ndarray, ...]:
        x = self.x
        r = np.exp(x @ beta)
        xx = x[:, :, None] * x[:, None, :]

        def tail(a: np.ndarray) -> np.ndarray:  # at risk with weight 1: entry < u <= T
            def from_(order: np.ndarray, pos: np.ndarray) -> np.ndarray:
                b = a[order]
                zero = np.zeros((1, *b.shape[1:]))
                return np.concatenate([np.cumsum(b[::-1], axis=0)[::-1], zero])[pos]

            return from_(self.order, self.first) - from_(self.e_order, self.e_first)

        def head(a: np.ndarray) -> np.ndarray:
            a = a[self.ci] / self.gc.reshape(-1, *([1] * (a.ndim - 1)))
            fc = np.concatenate([np.zeros((1, *a.shape[1:])), np.cumsum(a, axis=0)])
            return fc[self.ncomp]

        s0 = tail(r) + self.gu * head(r)
        s1 = tail(r[:, None] * x) + self.gu[:, None] * head(r[:, None] * x)
        s2 = tail(r[:, None, None] * xx) + self.gu[:, None, None] * head(r[:, None, None] * xx)
        return r, s0, s1, s2

    def loglik(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        _, s0, s1, s2 = self.compute(beta)
        ll = float((self.dx @ beta).sum() - self.d @ np.log(s0))
        xbar = s1 / s0[:, None]
        grad = (self.dx - self.d[:, None] * xbar).sum(axis=0)
        info = np.einsum(
            "j,jab->ab", self.d, s2 / s0[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
        )
        return ll, grad, info

    def score_residuals(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-subject score residuals and the baseline increments ``d_j / S0_j``."""
        r, s0, s1, _ = self.compute(beta)
        x, t = self.x, self.t
        xbar = s1 / s0[:, None]
        dl = self.d / s0
        res = np.zeros_like(x)
        j_ev = np.searchsorted(self.u, t[self.ev])
        res[self.ev] += x[self.ev] - xbar[j_ev]
        # everyone at risk with weight 1 at u_j <= T_i
        l0 = np.concatenate([[0.0], np.cumsum(dl)])
        l1 = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(xbar * dl[:, None], axis=0)])
        upto = np.searchsorted(self.u, t, side="right")
        since = np.searchsorted(self.u, self.entry, side="right")
        res -= r[:, None] * (x * (l0[upto] - l0[since])[:, None] - (l1[upto] - l1[since]))
        # other causes, weight G(u-)/G(T_i-) at u_j > T_i
        c = self.ci
        m0 = np.concatenate([np.cumsum((self.gu * dl)[::-1])[::-1], [0.0]])
        m1w = (self.gu * dl)[:, None] * xbar
        m1 = np.concatenate([np.cumsum(m1w[::-1], axis=0)[::-1], np.zeros((1, x.shape[1]))])
        after = np.searchsorted(self.u, t[c], side="right")
        res[c] -= (r[c] / self.gc)[:, None] * (x[c] * m0[after, None] - m1[after])
        return res, dl


class FineGray:
    """Fine-Gray subdistribution hazards regression of one cause (competing risks).

    Parameters
    ----------
    alpha
        1 - confidence level.
    max_iter, tol
        Newton iterations and the convergence tolerance on the score (sup norm).

    Attributes (after :meth:`fit`)
    ------------------------------
    params_ : pandas.Series
        Log subdistribution hazard ratios.
    variance_matrix_ : pandas.DataFrame
        Robust (sandwich) covariance; ``variance_matrix_model_`` the model-based ``I^-1``.
    summary : pandas.DataFrame
        ``estimate, se, ci_lower, ci_upper, z, p, shr, shr_lower, shr_upper`` (``shr``: the
        subdistribution hazard ratio ``exp(estimate)``).
    baseline_cumulative_subhazard_ : pandas.Series
        Breslow-type ``Lambda_k0(t)`` at the event times of the cause.
    log_likelihood_ : float
        Weighted partial log-likelihood at the estimate.
    """

    def __init__(self, alpha: float = 0.05, max_iter: int = 50, tol: float = 1e-9) -> None:
        self.alpha, self.max_iter, self.tol = alpha, max_iter, tol

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str,
        event_col: str,
        cause: Any,
        covariates: Sequence[str] | None = None,
        cluster_col: str | None = None,
        entry_col: str | None = None,
    ) -> FineGray:
        """Fit the subdistribution hazard of ``cause``.

        Parameters
        ----------
        df
            One row per subject (channel).
        duration_col
            Days from origin (creation) to the ending or censoring.
        event_col
            Cause labels; censored rows hold null, 0 or ``"censored"``.
        cause
            The label whose cumulative incidence is modelled.
        covariates
            Columns used as covariates (default: every other numeric or bool column).
        cluster_col
            Lineage (family) labels: the sandwich variance sums score residuals within each.
        entry_col
            Delayed entry (days): at risk from then on; rows that ended for another cause keep
            the censoring-times-truncation weight of Geskus (2011).
        """
        what = "FineGray.fit"
        require_columns(df, [duration_col, event_col, cluster_col, entry_col], what)
        t = numeric_column(df, duration_col, what)
        if (t < 0).any():
            raise ModelError(f"{what}: column {duration_col!r} has negative durations")
        entry = numeric_column(df, entry_col, what) if entry_col else np.zeros(t.size)
        bad = (entry < 0) | ((entry > 0) & (entry >= t))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelError(f"{what}: row {i}: expected 0 <= {entry_col} < {duration_col}")
        codes, labels = cause_codes(df[event_col], len(df))
        if cause not in labels:
            raise ModelError(
                f"{what}: cause {cause!r} never occurs in {event_col!r}; causes present: {labels}"
            )
        k = labels.index(cause) + 1
        x, names = covariate_matrix(
            df, covariates, [duration_col, event_col, cluster_col, entry_col], what
        )
        if not names:
            raise ModelError(f"{what}: no covariates; expected at least one numeric column")
        sums = _Sums(t, codes, k, x, entry)
        h_min = float(truncation_cdf_left(t, entry, t[sums.ci]).min()) if sums.ci.size else 1.0
        if h_min < 0.05:
            warnings.warn(
                f"{what}: truncation weights up to {1.0 / max(h_min, 1e-300):.3g}: rows that "
                "ended for another cause very early, when few channels had entered observation "
                "(P(entry < T) estimated at "
                f"{h_min:.3g}); the estimate can be biased in finite samples (simulation: "
                "+0.03 on a log ratio of 0.5 with entry uniform from 0). Consider a later time "
                "origin or restricting to channels created after observation started",
                TakedownWarning,
                stacklevel=2,
            )
        beta = np.zeros(len(names))
        ll, grad, info = sums.loglik(beta)
        for _ in range(self.max_iter):
            step = np.linalg.solve(info, grad)
            for _half in range(30):
                new = beta + step
                ll_new, g_new, i_new = sums.loglik(new)
                if np.isfinite(ll_new) and ll_new >= ll - 1e-12:
                    break
                step = step / 2.0
            beta, ll, grad, info = new, ll_new, g_new, i_new
            if np.max(np.abs(grad)) < self.tol * max(1.0, sums.d.sum()) or (
                np.max(np.abs(step)) < 1e-12
            ):
                break
        else:
            raise ModelError(
                f"{what}: Newton iterations did not converge in {self.max_iter} steps "
                f"(score {np.max(np.abs(grad)):.3g}); a covariate may separate the events"
            )
        inv = np.linalg.inv(info)
        res, dl = sums.score_residuals(beta)
        if cluster_col is not None:
            groups = cluster_codes(df[cluster_col])
            res = np.asarray(pd.DataFrame(res).groupby(groups).sum())
        meat = res.T @ res
        cov = inv @ meat @ inv
        self.names_ = names
        self.cause_ = cause
        self.params_ = pd.Series(beta, index=pd.Index(names, name="covariate"), name="coef")
        self.variance_matrix_ = pd.DataFrame(cov, index=names, columns=names)
        self.variance_matrix_model_ = pd.DataFrame(inv, index=names, columns=names)
        self.log_likelihood_ = ll
        self.score_residuals_ = res
        self.n_, self.n_events_ = int(t.size), int(sums.ev.sum())
        self.baseline_cumulative_subhazard_ = pd.Series(
            np.cumsum(dl), index=pd.Index(sums.u, name="time_days"), name="cumulative_subhazard"
        )
        self.summary = wald_table(names, beta, cov, self.alpha, "shr")
        if self.n_events_ < 10 * len(names):
            warnings.warn(
                f"{what}: {self.n_events_} events for {len(names)} covariates; Wald intervals "
                "may be unreliable",
                UnidentifiedWarning,
                stacklevel=2,
            )
        return self

    def predict_cumulative_incidence(self, x: Any, times: Any) -> pd.DataFrame:
        """``F_k(t | x) = 1 - exp(-Lambda_k0(t) exp(x' beta))``; rows times, columns subjects."""
        if not hasattr(self, "params_"):
            raise ModelError("FineGray is not fitted; call .fit(...) first")
        if isinstance(x, pd.DataFrame):
            x = x[self.names_].to_numpy(dtype=float)
        xm = np.atleast_2d(np.asarray(x, dtype=float))
        q = np.asarray(times, dtype=float)
        base = self.baseline_cumulative_subhazard_
        idx = np.searchsorted(base.index.to_numpy(), q, side="right") - 1
        lam = np.where(idx >= 0, base.to_numpy()[np.maximum(idx, 0)], 0.0)
        risk = np.exp(xm @ self.params_.to_numpy())
        return pd.DataFrame(1.0 - np.exp(-np.outer(lam, risk)), index=pd.Index(q, name="time_days"))

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Forest plot of the subdistribution hazard ratios with intervals; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        s = self.summary
        y = np.arange(len(s))
        ax.errorbar(
            s["shr"],
            y,
            xerr=[s["shr"] - s["shr_lower"], s["shr_upper"] - s["shr"]],
            fmt="o",
            **kwargs,
        )
        ax.axvline(1.0, color="grey", lw=0.8)
        ax.set_yticks(y, s.index)
        ax.set_xscale("log")
        ax.set_xlabel(f"subdistribution hazard ratio ({self.cause_})")
        return ax
