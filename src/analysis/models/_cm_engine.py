"""Private: exact simulation of the cat-and-mouse model, vectorised by generation.

Every channel is independent given the (deterministic) hazard schedule, so the whole process
is simulated generation by generation:

1. organic creations: a homogeneous Poisson process (count ~ Poisson(lambda T), times uniform);
2. lifetimes of all channels of a generation at once, by inverting the piecewise-linear
   cumulative hazard: ``t_end = H^{-1}(H(t_created) + E)``, ``E ~ Exp(1)`` (exact for any
   piecewise-constant hazard);
3. each ban re-creates with probability ``rho * c**g`` (``g`` = bans so far in the family)
   after a Gamma(shape m, mean d) delay; the re-created channels form the next generation.

The loop runs over generations (a few dozen at most), never over channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HazardSchedule:
    """Piecewise-constant hazard: ``hazards[k]`` on ``[knots[k], knots[k+1])``, last unbounded."""

    knots: np.ndarray
    hazards: np.ndarray

    @property
    def cumulative_at_knots(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(np.diff(self.knots) * self.hazards[:-1])])

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """H(t) for t >= knots[0] (times before the first knot use the first hazard)."""
        t = np.asarray(t, dtype=float)
        idx = np.clip(np.searchsorted(self.knots, t, side="right") - 1, 0, None)
        return self.cumulative_at_knots[idx] + self.hazards[idx] * (t - self.knots[idx])

    def inverse_cumulative(self, h: np.ndarray) -> np.ndarray:
        """Smallest t with H(t) = h (``inf`` if the hazard is 0 from some point on)."""
        h = np.asarray(h, dtype=float)
        hk = self.cumulative_at_knots
        idx = np.clip(np.searchsorted(hk, h, side="right") - 1, 0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.knots[idx] + (h - hk[idx]) / self.hazards[idx]
        return np.where(self.hazards[idx] > 0, t, np.inf)


@dataclass
class RawSimulation:
    """Arrays of one simulation (one entry per channel, in creation-batch order)."""

    created: np.ndarray
    ended: np.ndarray  # inf or >= horizon: censored
    generation: np.ndarray
    family: np.ndarray
    predecessor: np.ndarray  # -1: none known
    organic: np.ndarray  # bool: organic creation (not a re-creation)
    observed_from: np.ndarray  # entry time (0 for the initial population, nan otherwise)
    horizon: float


def simulate_generations(
    *,
    rng: np.random.Generator,
    horizon: float,
    creation_rate: float,
    schedule: HazardSchedule,
    recreation_probability: float,
    cost_factor: float,
    delay_mean: float,
    delay_shape: int,
    initial_active: np.ndarray,
    initial_pending: np.ndarray,
    baseline_hazard: float,
) -> RawSimulation:
    """Simulate channels created in ``[0, horizon)`` plus the initial population.

    ``initial_active[g]`` channels of generation g are alive at time 0 (ages drawn from the
    stationary Exp(baseline_hazard) age distribution when that hazard is positive, else 0);
    ``initial_pending[g, j]`` re-creations of generation g wait in Erlang stage j.
    """
    created_parts: list[np.ndarray] = []
    ended_parts: list[np.ndarray] = []
    gen_parts: list[np.ndarray] = []
    fam_parts: list[np.ndarray] = []
    pred_parts: list[np.ndarray] = []
    org_parts: list[np.ndarray] = []
    obs_parts: list[np.ndarray] = []

    # --- generation "zero batch": initial population, pending re-creations, organic births
    init_counts = np.asarray(initial_active, dtype=np.int64)
    init_gen = np.repeat(np.arange(init_counts.size), init_counts)
    n_init = init_gen.size
    if baseline_hazard > 0 and n_init:
        ages = rng.exponential(1.0 / baseline_hazard, n_init)
    else:
        ages = np.zeros(n_init)
    pend = np.asarray(initial_pending, dtype=np.int64)
    m = max(int(delay_shape), 1)
    if pend.size:
        g_idx, j_idx = np.nonzero(pend)
        reps = pend[g_idx, j_idx]
        pend_gen = np.repeat(g_idx, reps)
        remaining_stages = np.repeat(m - j_idx, reps)
        pend_time = rng.gamma(remaining_stages, delay_mean / m) if pend_gen.size else np.zeros(0)
        keep = pend_time < horizon
        pend_gen, pend_time = pend_gen[keep], pend_time[keep]
    else:
        pend_gen = np.zeros(0, dtype=np.int64)
        pend_time = np.zeros(0)
    n_org = rng.poisson(creation_rate * horizon) if creation_rate > 0 else 0
    org_time = np.sort(rng.uniform(0.0, horizon, n_org))

    created = np.concatenate([-ages, pend_time, org_time])
    generation = np.concatenate([init_gen, pend_gen, np.zeros(n_org, dtype=np.int64)])
    organic = np.concatenate(
        [np.ones(n_init, bool), np.zeros(pend_gen.size, bool), np.ones(n_org, bool)]
    )
    observed_from = np.concatenate([np.zeros(n_init), np.full(pend_gen.size + n_org, np.nan)])
    n0 = created.size
    ids = np.arange(n0)
    family = ids.copy()
    predecessor = np.full(n0, -1, dtype=np.int64)
    hazard_start = np.maximum(created, 0.0)  # initial channels: exposure starts at 0
    next_id = n0
    next_family = n0

    while created.size:
        exp_draws = rng.exponential(1.0, created.size)
        ended = schedule.inverse_cumulative(schedule.cumulative(hazard_start) + exp_draws)
        created_parts.append(created)
        ended_parts.append(ended)
        gen_parts.append(generation)
        fam_parts.append(family)
        pred_parts.append(predecessor)
        org_parts.append(organic)
        obs_parts.append(observed_from)

        banned = np.flatnonzero(ended < horizon)
        if banned.size == 0 or recreation_probability <= 0:
            break
        p = recreation_probability * cost_factor ** generation[banned].astype(float)
        rec = banned[rng.random(banned.size) < p]
        if delay_mean > 0:
            new_created = ended[rec] + rng.gamma(delay_shape, delay_mean / delay_shape, rec.size)
        else:
            new_created = ended[rec].copy()
        keep = new_created < horizon
        rec = rec[keep]
        parent_ids = ids[rec]
        created = new_created[keep]
        generation = generation[rec] + 1
        family = family[rec]
        predecessor = parent_ids
        organic = np.zeros(created.size, bool)
        observed_from = np.full(created.size, np.nan)
        hazard_start = created
        ids = np.arange(next_id, next_id + created.size)
        next_id += created.size
    del next_family

    if not created_parts:
        empty_f = np.zeros(0)
        empty_i = np.zeros(0, dtype=np.int64)
        return RawSimulation(
            empty_f, empty_f, empty_i, empty_i, empty_i, np.zeros(0, bool), empty_f, horizon
        )
    return RawSimulation(
        created=np.concatenate(created_parts),
        ended=np.concatenate(ended_parts),
        generation=np.concatenate(gen_parts),
        family=np.concatenate(fam_parts),
        predecessor=np.concatenate(pred_parts),
        organic=np.concatenate(org_parts),
        observed_from=np.concatenate(obs_parts),
        horizon=horizon,
    )
