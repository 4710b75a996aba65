"""Negative-binomial changepoint cost, penalty calibration, CROPS and break-location sets.

Cost of a segment of ``n`` days with total ``S`` and mean ``m = S / n`` under NB2 counts with a
common dispersion ``alpha`` (``r = 1 / alpha``), on the ``-2 log L`` scale with the terms that
do not depend on the segmentation dropped::

    C = -2 [ n r log(r / (r + m)) + S log(m / (r + m)) ]

(for fixed ``alpha`` the segment mean is the maximum-likelihood rate; ``alpha -> 0`` gives the
Poisson cost).  ``alpha`` is estimated once for the series from day-to-day differences, which a
few level shifts barely move (:func:`estimate_dispersion`).

Penalty calibration (:func:`calibrated_penalty`): simulate ``n_sim`` series of the same length
with no change (NB2 at the series' median level and the estimated ``alpha``; optionally a
latent AR(1) log-rate, see ``ar``), and for each find the smallest penalty at which the
series is not split (the largest gain of one split, or half that of two).  The penalty is the ``1 - level``
quantile: with it a series with no change gets a spurious break with probability about
``level``.  The calibration is what keeps precision high; it is stated with the fit.

:func:`crops` returns the whole path of optimal segmentations between two penalties
(CROPS, Haynes, Eckley & Fearnhead 2017).  :func:`location_sets` gives a confidence set for
each break location: the likelihood-ratio set ``{s: 2 (l(tau_hat) - l(s)) <= c}`` within the
break's neighbouring segments, with ``c`` calibrated by a parametric bootstrap of the two
segments (the LR statistic at the true location is not chi-square).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.errors import ModelError

__all__ = [
    "calibrated_penalty",
    "crops",
    "estimate_dispersion",
    "location_sets",
    "nb_cost",
    "simulate_nb",
]

_CHI2_1_MEDIAN = 0.454936423119572


def nb_cost(alpha: float):
    """The NB2 segment cost ``C(total, length)`` for a fixed dispersion ``alpha``."""
    if alpha <= 0:
        raise ModelError(f"NB dispersion must be > 0, got {alpha!r}")
    r = 1.0 / alpha

    def cost(total: np.ndarray, length: np.ndarray) -> np.ndarray:
        total = np.asarray(total, dtype=float)
        length = np.asarray(length, dtype=float)
        m = total / length
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = length * r * np.log(r / (r + m)) + np.where(
                total > 0, total * np.log(m / (r + m)), 0.0
            )
        return -2.0 * ll

    return cost


def estimate_dispersion(counts: np.ndarray) -> float:
    """NB2 dispersion ``alpha`` from day-to-day differences (robust to a few breaks).

    With ``d_t = y_t - y_{t-1}`` and ``m_t = (y_t + y_{t-1}) / 2``, ``d_t^2 / (2 (m_t + alpha
    m_t^2))`` is about a chi-square(1) draw on days without a break; ``alpha`` solves
    "median = 0.455" (the chi-square(1) median).  Returns a small positive floor (1e-6) when
    the series is not overdispersed.
    """
    y = np.asarray(counts, dtype=float)
    d = np.diff(y)
    m = 0.5 * (y[1:] + y[:-1])
    keep = m > 0
    d, m = d[keep], m[keep]
    if d.size < 5:
        raise ModelError(
            f"need at least 5 non-zero pairs of days to estimate dispersion, got {d.size}"
        )

    def excess(log_alpha: float) -> float:
        a = np.exp(log_alpha)
        return float(np.median(d**2 / (2.0 * (m + a * m**2))) - _CHI2_1_MEDIAN)

    if excess(np.log(1e-6)) <= 0:
        return 1e-6
    return float(np.exp(optimize.brentq(excess, np.log(1e-6), np.log(1e3))))


def simulate_nb(
    mean: np.ndarray,
    alpha: float,
    rng: np.random.Generator,
    size: int = 1,
    ar: tuple[float, float] | None = None,
) -> np.ndarray:
    """NB2 counts ``(size, n)`` around ``mean``; ``ar = (phi, sd)`` adds a latent AR(1) log-rate."""
    mean = np.broadcast_to(np.asarray(mean, dtype=float), (size, np.size(mean)))
    rate = mean.copy()
    if ar is not None:
        phi, sd = ar
        n = mean.shape[1]
        u = np.empty((size, n))
        u[:, 0] = rng.normal(scale=sd / np.sqrt(max(1.0 - phi**2, 1e-6)), size=size)
        e = rng.normal(scale=sd, size=(size, n))
        for i in range(1, n):
            u[:, i] = phi * u[:, i - 1] + e[:, i]
        rate = rate * np.exp(u)
    if alpha > 0:
        rate = rng.gamma(1.0 / alpha, alpha * rate)
    return rng.poisson(rate).astype(float)


def _split_gains(y: np.ndarray, cost, min_size: int) -> np.ndarray:
    """Largest cost reduction of one split, for each row of ``y`` (n_series, n)."""
    n = y.shape[1]
    cs = np.cumsum(y, axis=1)
    total = cs[:, -1:]
    tau = np.arange(min_size, n - min_size + 1)
    if tau.size == 0:
        return np.zeros(y.shape[0])
    left = cost(cs[:, tau - 1], tau[None, :])
    right = cost(total - cs[:, tau - 1], (n - tau)[None, :])
    whole = cost(total[:, 0], np.full(y.shape[0], n))
    return whole - (left + right).min(axis=1)


def _two_split_gains(y: np.ndarray, cost, min_size: int, max_inner: int = 30) -> np.ndarray:
    """Largest cost reduction of two splits around a short segment (<= ``max_inner`` days).

    A spurious pair of breaks isolates a few outlying days; longer inner segments are
    covered by the single-split gain.
    """
    n = y.shape[1]
    out = np.zeros(y.shape[0])
    a, b = np.triu_indices(n + 1, k=min_size)
    ok = (a >= min_size) & (b <= n - min_size) & (b - a <= max(max_inner, min_size))
    a, b = a[ok], b[ok]
    if a.size == 0:
        return out
    for i, row in enumerate(y):
        cs = np.concatenate([[0.0], np.cumsum(row)])
        total = cs[-1]
        parts = cost(cs[a], a) + cost(cs[b] - cs[a], b - a) + cost(total - cs[b], n - b)
        out[i] = float(cost(np.array([total]), np.array([n]))[0] - parts.min())
    return out


def calibrated_penalty(
    n: int,
    level_per_day: float,
    alpha: float,
    min_size: int = 1,
    false_alarm: float = 0.05,
    n_sim: int = 400,
    ar: tuple[float, float] | None = None,
    seed: int | np.random.Generator | None = None,
) -> float:
    """Penalty per changepoint giving a series with no change a break w.p. ``false_alarm``.

    The ``1 - false_alarm`` quantile, over ``n_sim`` simulated series of ``n`` days without a
    change (NB2 mean ``level_per_day``, dispersion ``alpha``, optional latent AR(1)
    ``ar = (phi, sd)``), of the smallest penalty at which PELT leaves the series unsplit,
    approximated by ``max(gain of the best single split, half the gain of the best pair of
    splits)``: one spurious break, or a spurious short segment (an outlying day or two).
    """
    if not 0 < false_alarm < 1:
        raise ModelError(f"false_alarm must be in (0, 1), got {false_alarm!r}")
    rng = np.random.default_rng(seed)
    y = simulate_nb(np.full(n, float(level_per_day)), alpha, rng, size=int(n_sim), ar=ar)
    cost = nb_cost(alpha)
    gains = np.maximum(
        _split_gains(y, cost, int(min_size)), 0.5 * _two_split_gains(y, cost, int(min_size))
    )
    return float(np.quantile(gains, 1.0 - false_alarm))


def crops(
    y: np.ndarray, pen_min: float, pen_max: float, partition, max_runs: int = 60
) -> pd.DataFrame:
    """All optimal segmentations for penalties in ``[pen_min, pen_max]`` (CROPS).

    ``partition(pen)`` returns ``(changepoints, unpenalised_cost)``.  Returns one row per
    distinct segmentation: ``n_changepoints``, ``cost`` (unpenalised) and the interval of
    penalties ``penalty_from``-``penalty_to`` over which it is optimal (as found).
    """
    if not 0 <= pen_min < pen_max:
        raise ModelError(f"need 0 <= pen_min < pen_max, got {pen_min}, {pen_max}")
    seen: dict[float, tuple[np.ndarray, float]] = {}

    def run(pen: float) -> tuple[np.ndarray, float]:
        if pen not in seen:
            seen[pen] = partition(pen)
        return seen[pen]

    stack = [(pen_min, pen_max)]
    runs = 0
    while stack and runs < max_runs:
        lo, hi = stack.pop()
        (c_lo, f_lo), (c_hi, f_hi) = run(lo), run(hi)
        runs += 1
        if c_lo.size > c_hi.size + 1:
            mid = (f_hi - f_lo) / (c_lo.size - c_hi.size)
            if lo < mid < hi:
                c_mid, _ = run(mid)
                if c_mid.size != c_hi.size:
                    stack += [(lo, mid), (mid, hi)]
    rows: dict[int, dict] = {}
    for pen, (cps, cost) in sorted(seen.items()):
        row = rows.setdefault(
            cps.size,
            {"n_changepoints": cps.size, "cost": cost, "penalty_from": pen, "penalty_to": pen},
        )
        row["penalty_from"] = min(row["penalty_from"], pen)
        row["penalty_to"] = max(row["penalty_to"], pen)
    return pd.DataFrame(sorted(rows.values(), key=lambda r: -r["n_changepoints"]))


def location_sets(
    y: np.ndarray,
    changepoints: np.ndarray,
    alpha: float,
    min_size: int = 1,
    confidence: float = 0.95,
    n_boot: int = 400,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Likelihood-ratio confidence sets of break locations, bootstrap-calibrated.

    For break ``j`` at ``tau`` between its neighbours ``l`` and ``r``: the profile cost
    ``C(l, s) + C(s, r)`` over ``s``; the set is ``{s: cost(s) - min cost <= c}`` with ``c``
    the ``confidence`` quantile of the same statistic at the true break over ``n_boot``
    NB2 simulations of the two segments at their fitted means.  Returns ``changepoint``,
    ``lower``, ``upper`` (first and last index in the set), ``set_size`` and ``critical``.
    """
    cps = np.asarray(changepoints, dtype=int)
    cost = nb_cost(alpha)
    rng = np.random.default_rng(seed)
    edges = np.concatenate([[0], cps, [y.size]])
    rows = []
    for j, tau in enumerate(cps):
        lo, hi = int(edges[j]), int(edges[j + 2])
        seg = y[lo:hi]
        k = tau - lo
        s = np.arange(min_size, seg.size - min_size + 1)
        if s.size == 0:
            continue
        cs = np.cumsum(seg)

        def profile(c: np.ndarray, total: np.ndarray, s: np.ndarray = s, n: int = seg.size):
            return cost(c[..., s - 1], s) + cost(total - c[..., s - 1], n - s)

        prof = profile(cs, cs[-1])
        m1, m2 = seg[:k].mean(), seg[k:].mean()
        mean = np.r_[np.full(k, m1), np.full(seg.size - k, m2)]
        sims = simulate_nb(mean, alpha, rng, size=int(n_boot))
        csb = np.cumsum(sims, axis=1)
        pb = profile(csb, csb[:, -1:])
        at_truth = pb[:, np.searchsorted(s, k)] - pb.min(axis=1)
        crit = float(np.quantile(at_truth, confidence))
        inside = s[prof - prof.min() <= crit + 1e-9] + lo
        rows.append(
            {
                "changepoint": int(tau),
                "lower": int(inside.min()),
                "upper": int(inside.max()),
                "set_size": int(inside.size),
                "critical": crit,
            }
        )
    return pd.DataFrame(rows, columns=["changepoint", "lower", "upper", "set_size", "critical"])
