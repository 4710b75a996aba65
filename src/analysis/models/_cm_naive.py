"""Private: a naive per-event (Gillespie-style) simulator, the benchmark baseline.

One Python loop iteration per event (organic birth, ban, scheduled re-creation).  Hazard
changes are handled by stopping at every knot of the piecewise-constant schedule and
redrawing (exact, by memorylessness).  It is deliberately straightforward; it exists to time
the vectorised simulator against and to cross-check it.
"""

from __future__ import annotations

import heapq

import numpy as np

from analysis.models._cm_engine import HazardSchedule


def simulate_naive(
    *,
    rng: np.random.Generator,
    horizon: float,
    creation_rate: float,
    schedule: HazardSchedule,
    recreation_probability: float,
    cost_factor: float,
    delay_mean: float,
    delay_shape: int,
    initial_active: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (created, ended) per channel; ended = inf when still active at ``horizon``."""
    created: list[float] = []
    ended: list[float] = []
    generation: list[int] = []
    active: list[int] = []  # channel indices, swap-remove on ban
    pending: list[tuple[float, int]] = []  # (time, generation) of scheduled re-creations
    for _ in range(int(initial_active)):
        created.append(0.0)
        ended.append(np.inf)
        generation.append(0)
        active.append(len(created) - 1)
    knots = list(schedule.knots[1:]) + [np.inf]
    hazards = list(schedule.hazards)
    piece = 0
    t = 0.0
    while t < horizon:
        while knots[piece] <= t:
            piece += 1
        mu = hazards[piece]
        total = creation_rate + mu * len(active)
        dt = rng.exponential(1.0 / total) if total > 0 else np.inf
        t_next = t + dt
        t_pending = pending[0][0] if pending else np.inf
        t_stop = min(knots[piece], horizon)
        if t_pending <= min(t_next, t_stop):
            t, g = heapq.heappop(pending)
            created.append(t)
            ended.append(np.inf)
            generation.append(g)
            active.append(len(created) - 1)
            continue
        if t_next >= t_stop:
            t = t_stop
            continue
        t = t_next
        if rng.random() * total < creation_rate:
            created.append(t)
            ended.append(np.inf)
            generation.append(0)
            active.append(len(created) - 1)
        else:
            k = int(rng.integers(len(active)))
            ch = active[k]
            active[k] = active[-1]
            active.pop()
            ended[ch] = t
            g = generation[ch]
            if rng.random() < recreation_probability * cost_factor**g:
                delay = rng.gamma(delay_shape, delay_mean / delay_shape) if delay_mean > 0 else 0.0
                heapq.heappush(pending, (t + delay, g + 1))
    return np.asarray(created), np.asarray(ended)
