"""Private: nonparametric share reappearing within a window, with a family-clustered bootstrap.

The share of bans followed by a successor within ``t`` days is ``1 - S(t)``, ``S`` the
Kaplan-Meier curve of the ban-to-successor delays (right-censored at the window or the end of
follow-up).  With a single event type and censoring independent of the delay this is the
Aalen-Johansen cumulative incidence of "reappeared", and it needs no assumption on the delay
distribution (unlike the parametric cure fraction, which extrapolates beyond the window).

Bans of one lineage (``family_id``) are not independent: a family that comes back once tends
to come back again.  Intervals therefore resample whole families (cluster bootstrap, Davison &
Hinkley 1997, section 3.8; Field & Welsh 2007), vectorised: each replicate is a vector of
family multiplicities and the Kaplan-Meier product is evaluated for all replicates at once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ClusteredShares", "clustered_km_shares", "km_share"]

_CHUNK_CELLS = 4_000_000


def _groups(time: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(time, kind="stable")
    t_sorted = time[order]
    starts = np.flatnonzero(np.r_[True, np.diff(t_sorted) > 0])
    return order, starts, t_sorted[starts]


def _share_from_weights(
    weights: np.ndarray,
    event: np.ndarray,
    order: np.ndarray,
    starts: np.ndarray,
    unique_times: np.ndarray,
    horizon: float,
) -> np.ndarray:
    """``1 - KM(horizon)`` for every row of ``weights`` (replicates x observations)."""
    w = weights[:, order]
    ev = event[order]
    total = np.add.reduceat(w, starts, axis=1)
    deaths = np.add.reduceat(w * ev, starts, axis=1)
    at_risk = np.cumsum(total[:, ::-1], axis=1)[:, ::-1]
    use = unique_times <= horizon
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(at_risk[:, use] > 0, deaths[:, use] / at_risk[:, use], 0.0)
    surv = np.prod(1.0 - frac, axis=1)
    return 1.0 - surv


def km_share(
    delay: np.ndarray, event: np.ndarray, horizon: float, weights: np.ndarray | None = None
) -> float:
    """``1 - S(horizon)`` of the (weighted) Kaplan-Meier estimator."""
    delay = np.asarray(delay, dtype=float)
    event = np.asarray(event, dtype=float)
    order, starts, times = _groups(delay)
    w = np.ones((1, delay.size)) if weights is None else np.asarray(weights, float)[None, :]
    return float(_share_from_weights(w, event, order, starts, times, horizon)[0])


class ClusteredShares:
    """Bootstrap replicates of shares computed on cluster-resampled data."""

    def __init__(self, replicates: np.ndarray, alpha: float) -> None:
        self.replicates = replicates
        self.alpha = alpha

    def interval(self, column: int = 0) -> tuple[float, float]:
        """Percentile interval of one column of the replicates."""
        r = self.replicates[:, column]
        r = r[np.isfinite(r)]
        return (
            float(np.quantile(r, self.alpha / 2)),
            float(np.quantile(r, 1 - self.alpha / 2)),
        )

    def se(self, column: int = 0) -> float:
        r = self.replicates[:, column]
        return float(np.std(r[np.isfinite(r)], ddof=1))


def clustered_km_shares(
    delay: np.ndarray,
    event: np.ndarray,
    clusters: np.ndarray,
    horizon: float,
    groups: list[np.ndarray] | None = None,
    *,
    n_bootstrap: int,
    rng: np.random.Generator,
    alpha: float = 0.05,
) -> ClusteredShares:
    """``1 - KM(horizon)`` on family-resampled data, for each group mask (default: all).

    Parameters
    ----------
    clusters
        Cluster label per ban (families; bans without a family are their own cluster).
    groups
        Boolean masks (e.g. the cohorts before/after a date); one column of replicates each.
        Resampling is of whole clusters across all groups jointly, so a family with bans in
        two cohorts carries its correlation into their difference.
    """
    delay = np.asarray(delay, dtype=float)
    event = np.asarray(event, dtype=float)
    _, cluster_index = np.unique(np.asarray(clusters).astype(str), return_inverse=True)
    n_clusters = int(cluster_index.max()) + 1
    masks = [np.ones(delay.size, bool)] if groups is None else groups
    prepared = []
    for mask in masks:
        idx = np.flatnonzero(mask)
        order, starts, times = _groups(delay[idx])
        prepared.append((idx, order, starts, times))
    out = np.empty((int(n_bootstrap), len(masks)))
    chunk = max(1, _CHUNK_CELLS // max(delay.size, 1))
    done = 0
    while done < n_bootstrap:
        b = min(chunk, n_bootstrap - done)
        counts = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=b)
        weights = counts[:, cluster_index].astype(float)
        for j, (idx, order, starts, times) in enumerate(prepared):
            w = weights[:, idx]
            share = _share_from_weights(w, event[idx], order, starts, times, horizon)
            share[w.sum(axis=1) == 0] = np.nan  # a replicate without bans in this group
            out[done : done + b, j] = share
        done += b
    return ClusteredShares(out, alpha)
