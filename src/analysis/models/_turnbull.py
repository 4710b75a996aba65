"""Turnbull's nonparametric MLE for interval-censored data: innermost intervals and EM.

Observations are half-open intervals ``(L, R]`` (``R = inf``: right-censored; ``L == R``: an
exact time, the closed point ``[t, t]``).  The NPMLE puts mass only on the *innermost
intervals* (Turnbull 1976; Peto 1973): the intervals between a left end and the next right end
of the sorted endpoints, with no other end inside.  Ties follow the half-open convention: at
one value, an exact time's left end sorts first, then right ends, then open left ends, so
``(a, b]`` and ``(b, c]`` do not overlap while ``(a, b]`` contains the point ``b``.

Because the innermost intervals are ordered, each observation covers a contiguous run of them
``[first_i, last_i]``, so ``(A p)_i`` is a difference of cumulative sums and one EM
(self-consistency) step costs O(n + m).  EM is accelerated by SQUAREM (Varadhan & Roland 2008,
scheme S3 with a monotonicity safeguard) and stops when the Kuhn-Tucker conditions of the
NPMLE hold to ``tol`` (Gentleman & Geyer 1994): ``d_j = sum_i w_i A_ij / (A p)_i / W <= 1 + tol``
for every ``j``, with equality where ``p_j > 0``.
"""

from __future__ import annotations

import numpy as np

from analysis.errors import ModelError


def innermost(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Innermost intervals and the run ``[first, last]`` each observation covers.

    Returns ``(left, right, cover)`` with ``left``/``right`` the ends of the innermost
    intervals (a point mass when equal) and ``cover`` an ``(n, 2)`` integer array.
    """
    exact = lower == upper
    # order keys: exact left 0, right end 1, open left end 2
    lkind = np.where(exact, 0, 2)
    vals = np.concatenate([lower, upper])
    kinds = np.concatenate([lkind, np.ones_like(lkind)])
    is_left = np.concatenate([np.ones(lower.size, bool), np.zeros(upper.size, bool)])
    order = np.lexsort((kinds, vals))
    sv, sk, sl = vals[order], kinds[order], is_left[order]
    pick = np.flatnonzero(sl[:-1] & ~sl[1:])
    left, right = sv[pick], sv[pick + 1]
    left_kind, right_kind = sk[pick], sk[pick + 1]
    # observation i covers innermost j iff key(L_i) <= key(left_j) and key(right_j) <= key(R_i)
    big = 4.0

    def key(v: np.ndarray, k: np.ndarray) -> np.ndarray:
        rank = np.searchsorted(np.unique(vals), v)
        return rank * big + k

    k_left = key(left, left_kind)
    k_right = key(right, right_kind)
    k_lo = key(lower, lkind)
    k_up = key(upper, np.ones_like(lkind))
    first = np.searchsorted(k_left, k_lo, side="left")
    last = np.searchsorted(k_right, k_up, side="right") - 1
    if np.any(last < first):  # pragma: no cover - every observation holds an innermost interval
        raise ModelError("Turnbull: an observation covers no innermost interval")
    return left, right, np.column_stack([first, last])


def _cover_mass(p: np.ndarray, cover: np.ndarray) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(p)])
    return cum[cover[:, 1] + 1] - cum[cover[:, 0]]


def _em_step(p: np.ndarray, cover: np.ndarray, w: np.ndarray, wsum: float) -> np.ndarray:
    new = p * _ratios(p, cover, w) / wsum
    return new / new.sum()


def _ratios(p: np.ndarray, cover: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sum_i w_i A_ij / (A p)_i`` for every innermost interval ``j``."""
    ratio = w / _cover_mass(p, cover)
    m = p.size + 1
    diff = np.bincount(cover[:, 0], ratio, m) - np.bincount(cover[:, 1] + 1, ratio, m)
    return np.cumsum(diff)[:-1]


def loglik(p: np.ndarray, cover: np.ndarray, w: np.ndarray) -> float:
    """``sum_i w_i log (A p)_i``."""
    with np.errstate(divide="ignore"):
        return float(w @ np.log(_cover_mass(p, cover)))


def kkt_gap(p: np.ndarray, cover: np.ndarray, w: np.ndarray) -> float:
    """Largest violation of the NPMLE optimality conditions (0 at the optimum)."""
    d = _ratios(p, cover, w) / w.sum()
    return float(max(np.max(d) - 1.0, np.max(np.abs(d[p > 1e-10] - 1.0), initial=0.0)))


def npmle(
    cover: np.ndarray,
    w: np.ndarray,
    m: int,
    p0: np.ndarray | None = None,
    tol: float = 1e-9,
    max_iter: int = 20000,
) -> tuple[np.ndarray, int, bool]:
    """Masses ``p`` of the ``m`` innermost intervals (SQUAREM-accelerated EM).

    Returns ``(p, iterations, converged)``.
    """
    wsum = float(w.sum())
    p = np.full(m, 1.0 / m) if p0 is None else np.asarray(p0, dtype=float).copy()
    p = np.maximum(p, 1e-300)
    p /= p.sum()
    it = 0
    check = 0
    while it < max_iter:
        p1 = _em_step(p, cover, w, wsum)
        p2 = _em_step(p1, cover, w, wsum)
        it += 2
        r = p1 - p
        v = p2 - p1 - r
        nv = float(np.sqrt(v @ v))
        cand = p2
        if nv > 0:
            alpha = min(-float(np.sqrt(r @ r)) / nv, -1.0)
            while alpha < -1.0:  # step back towards plain EM until every mass stays positive
                prop = p - 2.0 * alpha * r + alpha**2 * v
                if np.all(prop > 0):
                    break
                alpha = 0.5 * (alpha - 1.0) if alpha < -1.01 else -1.0
            if alpha < -1.0:
                prop = _em_step(prop / prop.sum(), cover, w, wsum)
                it += 1
                if loglik(prop, cover, w) >= loglik(p2, cover, w):
                    cand = prop
        p = cand
        check += 1
        if check % 5 == 0 and kkt_gap(p, cover, w) < tol:
            return p, it, True
    return p, it, kkt_gap(p, cover, w) < tol


def polish(
    p: np.ndarray, cover: np.ndarray, w: np.ndarray, tol: float = 1e-10, max_iter: int = 500
) -> tuple[np.ndarray, bool]:
    """Active-set Newton refinement of an EM solution (exact KKT point in a few steps).

    On the support ``{p_j > 0}`` the log-likelihood is maximised under ``sum p = 1`` by
    Newton steps; a step that would make a mass negative stops there and drops that mass.
    A point outside the support whose KKT ratio ``d_j`` exceeds ``1 + tol`` then enters it.
    """
    m = p.size
    idx = np.arange(m)
    full = ((idx[None, :] >= cover[:, :1]) & (idx[None, :] <= cover[:, 1:])).astype(float)
    p = np.where(p > 1e-10 * p.max(), p, 0.0)
    p /= p.sum()
    wsum = float(w.sum())
    for _ in range(max_iter):
        sup = np.flatnonzero(p > 0)
        a = full[:, sup]
        ap = a @ p[sup]
        g = a.T @ (w / ap)
        h = -(a.T * (w / ap**2)) @ a
        k = sup.size
        kkt = np.zeros((k + 1, k + 1))
        kkt[:k, :k] = h
        kkt[:k, k] = 1.0
        kkt[k, :k] = 1.0
        sol = np.linalg.lstsq(kkt, np.r_[-g, 0.0], rcond=None)[0]
        dp = sol[:k]
        ratio = np.where(dp < 0, -p[sup] / np.where(dp < 0, dp, -1.0), np.inf)
        t = float(min(1.0, ratio.min()))
        ll_old = loglik(p, cover, w)
        while True:
            cand = p.copy()
            cand[sup] = p[sup] + t * dp
            if t < 1.0 and t == ratio.min():  # blocking masses leave the support
                cand[sup[ratio <= t * (1.0 + 1e-9)]] = 0.0
            cand = np.maximum(cand, 0.0)
            cand /= cand.sum()
            if loglik(cand, cover, w) >= ll_old - 1e-12 * abs(ll_old) or t < 1e-12:
                break
            t *= 0.5
        p = cand
        if t == 1.0 and np.max(np.abs(dp)) < 1e-12 * max(1.0, float(np.abs(p).max())):
            d = full.T @ (w / (full @ p)) / wsum
            outside = (p == 0) & (d > 1.0 + tol)
            if not outside.any():
                return p, True
            # every violator whose ratio is a local maximum enters with a small mass
            dd = np.where(outside, d, -np.inf)
            peak = outside & (dd >= np.r_[-np.inf, dd[:-1]]) & (dd >= np.r_[dd[1:], -np.inf])
            p[peak] = 1e-8
            p /= p.sum()
    return p, kkt_gap(p, cover, w) < 1e-6


def support_covariance(p: np.ndarray, cover: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Covariance of ``p`` from the observed information on the NPMLE's support.

    The masses on the support ``{p_j > 0}`` are treated as the parameters (the last one is
    ``1 - sum`` of the others); masses off the support have variance 0.  This is the usual
    "known-support" approximation (it ignores the uncertainty of the support itself).
    """
    m = p.size
    sup = np.flatnonzero(p > 1e-8 * p.max())  # EM leaves vanishing masses: not support
    idx = np.arange(m)
    a = ((idx[None, sup] >= cover[:, :1]) & (idx[None, sup] <= cover[:, 1:])).astype(float)
    ap = a @ p[sup]
    h = -(a.T * (w / ap**2)) @ a
    k = sup.size
    cov = np.zeros((m, m))
    if k < 2:
        return cov
    jac = np.vstack([np.eye(k - 1), -np.ones((1, k - 1))])
    hq = jac.T @ h @ jac
    try:
        cq = np.linalg.inv(-hq)
    except np.linalg.LinAlgError:
        cq = np.linalg.pinv(-hq)
    cov[np.ix_(sup, sup)] = jac @ cq @ jac.T
    return cov
