"""Private: exact Gillespie simulation of the capacity model, batched over replicate runs.

With a moderation capacity the ban hazard of one channel depends on how many others are
active, so channels are no longer independent and the generation-by-generation engine does
not apply.  The state is counted instead (``A[g]`` active channels of generation ``g``,
``P[g, j]`` pending re-creations in Erlang stage ``j``) and the continuous-time Markov chain
is simulated exactly, event by event, with every replicate run advanced by one event per
loop iteration (vectorised over runs, so the Python loop runs once per event of the longest
run, not once per event of every run).  Piecewise-constant rates are handled exactly by
stopping at each knot (memorylessness) and redrawing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SSAConfig:
    horizon: float
    knots: np.ndarray  # pieces of constant creation rate, hazard and capacity
    creation: np.ndarray
    hazard: np.ndarray  # per-channel demand hazard mu(t) (baseline + crackdowns)
    capacity: np.ndarray
    recreation_probabilities: np.ndarray  # per generation (last loops onto itself)
    delay_mean: float
    delay_shape: int
    ban_rate: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (A, mu, C) -> rate


def simulate_batch(
    cfg: SSAConfig,
    rng: np.random.Generator,
    initial_active: np.ndarray,
    initial_pending: np.ndarray,
) -> dict[str, np.ndarray]:
    """Simulate ``R`` runs; returns daily arrays of shape ``(R, days)``.

    ``initial_active`` is ``(R, G)``, ``initial_pending`` ``(R, G, m)`` (m = 0 if no delay).
    Keys: ``active`` (end of day), ``bans``, ``organic_creations``, ``recreations``.
    """
    A = np.asarray(initial_active, dtype=np.int64).copy()
    n_runs, n_gen = A.shape
    m = int(cfg.delay_shape) if cfg.delay_mean > 0 else 0
    P = np.asarray(initial_pending, dtype=np.int64).reshape(n_runs, n_gen, m).copy()
    stage_rate = m / cfg.delay_mean if m else 0.0
    rho = cfg.recreation_probabilities
    n_days = int(np.ceil(cfg.horizon))
    horizon = float(cfg.horizon)
    counters = np.zeros((n_runs, 3), dtype=np.int64)  # bans, organic, recreations
    out_active = np.zeros((n_runs, n_days), dtype=np.int64)
    out_cum = np.zeros((n_runs, n_days + 1, 3), dtype=np.int64)
    t = np.zeros(n_runs)
    next_day = np.ones(n_runs, dtype=np.int64)  # next boundary to record (day d ends at d+1)
    knots_ext = np.append(cfg.knots, np.inf)
    rows = np.arange(n_runs)
    running = np.ones(n_runs, bool)

    while running.any():
        piece = np.searchsorted(cfg.knots, t, side="right") - 1
        a_tot = A.sum(axis=1)
        r0 = np.where(running, cfg.creation[piece], 0.0)
        r1 = np.where(running, cfg.ban_rate(a_tot, cfg.hazard[piece], cfg.capacity[piece]), 0.0)
        p_tot = P.reshape(n_runs, -1).sum(axis=1)
        r2 = np.where(running, stage_rate * p_tot, 0.0)
        total = r0 + r1 + r2
        with np.errstate(divide="ignore"):
            dt = np.where(
                total > 0, rng.exponential(1.0, n_runs) / np.where(total > 0, total, 1), np.inf
            )
        t_new = t + dt
        knot = knots_ext[piece + 1]
        stop = np.minimum(knot, horizon)
        event = running & (t_new < stop)
        t_new = np.where(event, t_new, np.minimum(t_new, stop))
        # record day boundaries passed before this event (state unchanged until t_new)
        while True:
            rec = running & (next_day <= t_new) & (next_day <= n_days)
            if not rec.any():
                break
            r = rows[rec]
            d = next_day[rec] - 1
            out_active[r, d] = a_tot[rec]
            out_cum[r, d + 1] = counters[rec]
            next_day[rec] += 1
        t = np.where(running, t_new, t)
        running &= t < horizon
        event &= running
        if not event.any():
            continue
        ev = rows[event]
        u = rng.random(ev.size) * total[ev]
        kind = np.where(u < r0[ev], 0, np.where(u < r0[ev] + r1[ev], 1, 2))
        # organic creation
        org = ev[kind == 0]
        A[org, 0] += 1
        counters[org, 1] += 1
        # a ban: generation drawn in proportion to A[g]
        ban = ev[kind == 1]
        if ban.size:
            cum = np.cumsum(A[ban], axis=1)
            pick = rng.random(ban.size) * cum[:, -1]
            g = (cum <= pick[:, None]).sum(axis=1)
            A[ban, g] -= 1
            counters[ban, 0] += 1
            again = rng.random(ban.size) < rho[g]
            rb, gb = ban[again], np.minimum(g[again] + 1, n_gen - 1)
            if m:
                P[rb, gb, 0] += 1
            else:
                A[rb, gb] += 1
                counters[rb, 2] += 1
        # an Erlang stage completes
        stg = ev[kind == 2]
        if stg.size:
            flat = P[stg].reshape(stg.size, -1)
            cum = np.cumsum(flat, axis=1)
            pick = rng.random(stg.size) * cum[:, -1]
            idx = (cum <= pick[:, None]).sum(axis=1)
            g, j = idx // m, idx % m
            P[stg, g, j] -= 1
            last = j + 1 == m
            P[stg[~last], g[~last], j[~last] + 1] += 1
            A[stg[last], g[last]] += 1
            counters[stg[last], 2] += 1
    # runs whose last event came before the end: the remaining boundaries hold the final state
    a_tot = A.sum(axis=1)
    for r in range(n_runs):
        for d in range(next_day[r] - 1, n_days):
            out_active[r, d] = a_tot[r]
            out_cum[r, d + 1] = counters[r]
    daily = np.diff(out_cum, axis=1)
    return {
        "active": out_active,
        "bans": daily[:, :, 0],
        "organic_creations": daily[:, :, 1],
        "recreations": daily[:, :, 2],
    }
