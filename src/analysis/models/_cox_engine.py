"""Partial likelihood of the Cox model in counting-process form (one stratum, vectorised).

Rows are intervals ``(entry, stop]`` with an event flag at ``stop``; a row is at risk at ``u``
when ``entry < u <= stop`` (the counting-process convention of Andersen & Gill 1982 and R's
``survival``).  Risk-set sums are tail sums by ``stop`` minus tail sums by ``entry``.

Ties: Breslow, or Efron (1977) with ``c_jk = k / m_j`` for the k-th of ``m_j`` tied events:
``log L = sum_j [sum_{i in D_j} eta_i - sum_k log(S0_j - c_jk S0_Dj)]``; Breslow is
``c_jk = 0``.  Score residuals follow Therneau & Grambsch (2000, sec. 7.2.2) with Efron
weights ``1 - c_jk`` for the tied events' own compensator.
"""

from __future__ import annotations

import numpy as np


def _tail(a: np.ndarray, order: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Sum of ``a`` over rows whose sorted position is >= ``pos`` (sorted by ``order``)."""
    a = a[order]
    tail = np.concatenate([np.cumsum(a[::-1], axis=0)[::-1], np.zeros((1, *a.shape[1:]))])
    return tail[pos]


class CoxStratum:
    """Sufficient structure of one stratum; ``compute(beta)`` returns loglik, score, info."""

    def __init__(
        self, entry: np.ndarray, stop: np.ndarray, event: np.ndarray, x: np.ndarray, efron: bool
    ) -> None:
        self.entry, self.stop, self.event, self.x = entry, stop, event, x
        self.u, inv = np.unique(stop[event], return_inverse=True)
        self.m = np.bincount(inv, minlength=self.u.size)
        self.ev_idx = np.flatnonzero(event)
        self.ev_time = inv
        self.o_stop = np.argsort(stop, kind="stable")
        self.o_entry = np.argsort(entry, kind="stable")
        self.p_stop = np.searchsorted(stop[self.o_stop], self.u, side="left")  # stop >= u
        self.p_entry = np.searchsorted(entry[self.o_entry], self.u, side="left")  # entry >= u
        # (j, k) pairs for the tied events: j repeated m_j times, c = k / m_j
        self.jk = np.repeat(np.arange(self.u.size), self.m)
        k = np.arange(self.jk.size) - np.repeat(np.cumsum(self.m) - self.m, self.m)
        self.c = k / self.m[self.jk] if efron else np.zeros(self.jk.size)

    def _risk(self, a: np.ndarray) -> np.ndarray:
        return _tail(a, self.o_stop, self.p_stop) - _tail(a, self.o_entry, self.p_entry)

    def _death(self, a: np.ndarray) -> np.ndarray:
        out = np.zeros((self.u.size, *a.shape[1:]))
        np.add.at(out, self.ev_time, a[self.ev_idx])
        return out

    def sums(self, beta: np.ndarray) -> tuple[np.ndarray, ...]:
        x = self.x
        eta = x @ beta
        r = np.exp(eta)
        rx = r[:, None] * x
        rxx = rx[:, :, None] * x[:, None, :]
        c, jk = self.c, self.jk
        s0 = self._risk(r)[jk] - c * self._death(r)[jk]
        s1 = self._risk(rx)[jk] - c[:, None] * self._death(rx)[jk]
        s2 = self._risk(rxx)[jk] - c[:, None, None] * self._death(rxx)[jk]
        return eta, r, s0, s1, s2

    def compute(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        eta, _, s0, s1, s2 = self.sums(beta)
        ll = float(eta[self.ev_idx].sum() - np.log(s0).sum())
        xbar = s1 / s0[:, None]
        grad = self.x[self.ev_idx].sum(axis=0) - xbar.sum(axis=0)
        info = (s2 / s0[:, None, None]).sum(axis=0) - xbar.T @ xbar
        return ll, grad, info

    def residuals(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score residuals (rows x p) and the baseline hazard increments at ``u``."""
        _, r, s0, s1, _ = self.sums(beta)
        x, jk, c = self.x, self.jk, self.c
        xbar = s1 / s0[:, None]
        nu, p = self.u.size, x.shape[1]

        def per_time(v: np.ndarray) -> np.ndarray:
            out = np.zeros((nu, *v.shape[1:]))
            np.add.at(out, jk, v)
            return out

        a = per_time(1.0 / s0)
        b = per_time(xbar / s0[:, None])
        a_own = per_time((1.0 - c) / s0)
        b_own = per_time((1.0 - c)[:, None] * xbar / s0[:, None])
        mean_xbar = per_time(xbar) / self.m[:, None]
        ca = np.concatenate([[0.0], np.cumsum(a)])
        cb = np.concatenate([np.zeros((1, p)), np.cumsum(b, axis=0)])
        hi = np.searchsorted(self.u, self.stop, side="right")
        lo = np.searchsorted(self.u, self.entry, side="right")
        res = -r[:, None] * (x * (ca[hi] - ca[lo])[:, None] - (cb[hi] - cb[lo]))
        ev, j = self.ev_idx, self.ev_time
        res[ev] += x[ev] - mean_xbar[j]
        # the tied events' own compensator carries weight 1 - c instead of 1
        res[ev] += r[ev, None] * (x[ev] * (a - a_own)[j, None] - (b - b_own)[j])
        return res, a
