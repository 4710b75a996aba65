"""Private: exact simulation of the linear mechanisms, vectorised by batches of episodes.

An *episode* is one stint of one channel in one compartment (0 = the monitored platform,
1 = the other platform or unmonitored pool).  Channels are independent given the
(deterministic) schedules, so the process is simulated batch by batch, as in
:mod:`analysis.models._cm_engine`:

1. organic creations: an inhomogeneous Poisson process on each compartment (count
   ``~ Poisson(Lambda(T))``, times ``Lambda^{-1}(U Lambda(T))``), type drawn by its share;
2. the end of every episode of a batch at once: on the monitored platform by inverting the
   type's piecewise-linear cumulative ban hazard ``H_k^{-1}(H_k(t0) + E)``, on the other
   platform after ``Exp(nu + r)``;
3. a ban re-creates on the monitored platform with probability ``rho * c**g`` or migrates
   with probability ``sigma`` (after the same Gamma(m, mean d) delay); an episode on the
   other platform ends with a return (probability ``r / (nu + r)``, immediate);
   the follow-up episodes form the next batch.

Followers: ``f(t) = f_start + gamma (t - start)`` while active; a re-creation starts with
``s_rec * f(end)``, a migration with ``s_mig * f(end)``, a return with ``f(end)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.models.mechanisms._schedule import PiecewiseConstant

# start kinds
INITIAL, ORGANIC, RECREATED, MIGRATED, RETURNED = range(5)
# end kinds
CENSORED, BANNED, OTHER_ENDED, DEPARTED = range(4)


@dataclass(frozen=True)
class EngineConfig:
    horizon: float
    creation: PiecewiseConstant  # organic creation rate on the monitored platform
    other_creation_rate: float
    extra_hazard: PiecewiseConstant  # crackdowns (monitored platform)
    type_shares: np.ndarray
    type_hazards: np.ndarray
    recreation_probability: float
    cost_factor: float
    migration_probability: float
    delay_mean: float
    delay_shape: int
    other_end_hazard: float
    return_rate: float
    initial_followers: float
    follower_growth: float
    recreation_follower_share: float
    migration_follower_share: float


@dataclass
class Episodes:
    """One array entry per episode (synthetic)."""

    start: np.ndarray
    end: np.ndarray  # >= horizon or inf: censored
    compartment: np.ndarray
    channel_type: np.ndarray
    generation: np.ndarray
    family: np.ndarray
    followers_start: np.ndarray
    start_kind: np.ndarray
    end_kind: np.ndarray
    horizon: float
    follower_growth: float


def _followers(rng: np.random.Generator, mean: np.ndarray | float, n: int) -> np.ndarray:
    mean = np.broadcast_to(np.asarray(mean, dtype=float), (n,))
    return np.where(mean > 0, rng.exponential(np.where(mean > 0, mean, 1.0)), 0.0)


def simulate_episodes(
    cfg: EngineConfig,
    rng: np.random.Generator,
    initial_active: np.ndarray,
    initial_followers: np.ndarray,
    initial_pending: np.ndarray,
    pending_followers: np.ndarray,
) -> Episodes:
    """Simulate ``[0, horizon)``.

    ``initial_active[c, comp]`` channels of class ``c = g * K + k`` are active at time 0 with
    followers drawn as exponential with mean ``initial_followers[c, comp]``;
    ``initial_pending[c, comp, j]`` re-creations (comp 0) or migrations (comp 1) wait in
    Erlang stage ``j`` with mean followers ``pending_followers[c, comp, j]``.
    """
    T = cfg.horizon
    n_types = cfg.type_shares.size
    m = max(int(cfg.delay_shape), 1)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in Episodes.__dataclass_fields__}
    for drop in ("horizon", "follower_growth"):
        parts.pop(drop)

    # ---- first batch: initial channels, pending arrivals, organic creations
    counts = np.asarray(initial_active, dtype=np.int64)
    cls_idx, comp_idx = np.nonzero(counts)
    reps = counts[cls_idx, comp_idx]
    b_cls = np.repeat(cls_idx, reps)
    b_comp = np.repeat(comp_idx, reps)
    b_start = np.zeros(b_cls.size)
    b_fol = _followers(rng, np.repeat(initial_followers[cls_idx, comp_idx], reps), b_cls.size)
    b_kind = np.full(b_cls.size, INITIAL)
    pend = np.asarray(initial_pending, dtype=np.int64)
    if pend.size:
        pc, pcomp, pj = np.nonzero(pend)
        preps = pend[pc, pcomp, pj]
        p_cls = np.repeat(pc, preps)
        p_comp = np.repeat(pcomp, preps)
        p_time = rng.gamma(np.repeat(m - pj, preps), cfg.delay_mean / m) if preps.size else []
        p_fol = _followers(rng, np.repeat(pending_followers[pc, pcomp, pj], preps), p_cls.size)
        keep = np.asarray(p_time) < T
        b_cls = np.concatenate([b_cls, p_cls[keep]])
        b_comp = np.concatenate([b_comp, p_comp[keep]])
        b_start = np.concatenate([b_start, np.asarray(p_time)[keep]])
        b_fol = np.concatenate([b_fol, p_fol[keep]])
        b_kind = np.concatenate([b_kind, np.where(p_comp[keep] == 0, RECREATED, MIGRATED)])
    b_gen, b_type = b_cls // n_types, b_cls % n_types
    for comp, schedule in (
        (0, cfg.creation),
        (1, PiecewiseConstant.constant(cfg.other_creation_rate)),
    ):
        total = float(schedule.cumulative(T))
        n_org = rng.poisson(total) if total > 0 else 0
        times = np.sort(schedule.inverse_cumulative(rng.uniform(0.0, total, n_org)))
        types = rng.choice(n_types, size=n_org, p=cfg.type_shares)
        b_start = np.concatenate([b_start, times])
        b_comp = np.concatenate([b_comp, np.full(n_org, comp)])
        b_gen = np.concatenate([b_gen, np.zeros(n_org, dtype=np.int64)])
        b_type = np.concatenate([b_type, types])
        b_fol = np.concatenate([b_fol, _followers(rng, cfg.initial_followers, n_org)])
        b_kind = np.concatenate([b_kind, np.full(n_org, ORGANIC)])
    b_family = np.arange(b_start.size)

    ban_schedules = [cfg.extra_hazard.shifted(mu) for mu in cfg.type_hazards]
    exit_other = cfg.other_end_hazard + cfg.return_rate
    p_return = cfg.return_rate / exit_other if exit_other > 0 else 0.0
    while b_start.size:
        end = np.full(b_start.size, np.inf)
        mon = b_comp == 0
        for k, sched in enumerate(ban_schedules):
            sel = mon & (b_type == k)
            if sel.any():
                draws = rng.exponential(1.0, int(sel.sum()))
                end[sel] = sched.inverse_cumulative(sched.cumulative(b_start[sel]) + draws)
        oth = ~mon
        if exit_other > 0 and oth.any():
            end[oth] = b_start[oth] + rng.exponential(1.0 / exit_other, int(oth.sum()))
        ended = end < T
        end_kind = np.full(b_start.size, CENSORED)
        end_kind[mon & ended] = BANNED
        departs = oth & ended & (rng.random(b_start.size) < p_return)
        end_kind[oth & ended] = OTHER_ENDED
        end_kind[departs] = DEPARTED
        for name, arr in (
            ("start", b_start),
            ("end", end),
            ("compartment", b_comp),
            ("channel_type", b_type),
            ("generation", b_gen),
            ("family", b_family),
            ("followers_start", b_fol),
            ("start_kind", b_kind),
            ("end_kind", end_kind),
        ):
            parts[name].append(arr)
        fol_end = b_fol + cfg.follower_growth * np.where(ended, end - b_start, 0.0)
        # follow-ups of bans: re-creation or migration after the delay
        banned = np.flatnonzero(mon & ended)
        u = rng.random(banned.size)
        p_rec = cfg.recreation_probability * cfg.cost_factor ** b_gen[banned].astype(float)
        rec = u < p_rec
        mig = (~rec) & (u < p_rec + cfg.migration_probability)
        go = banned[rec | mig]
        to_comp = np.where(mig[rec | mig], 1, 0)
        delay = (
            rng.gamma(cfg.delay_shape, cfg.delay_mean / cfg.delay_shape, go.size)
            if cfg.delay_mean > 0
            else np.zeros(go.size)
        )
        share = np.where(to_comp == 0, cfg.recreation_follower_share, cfg.migration_follower_share)
        back = np.flatnonzero(departs)
        n_start = np.concatenate([end[go] + delay, end[back]])
        keep = n_start < T
        b_start = n_start[keep]
        b_comp = np.concatenate([to_comp, np.zeros(back.size, dtype=np.int64)])[keep]
        b_type = np.concatenate([b_type[go], b_type[back]])[keep]
        b_gen = np.concatenate([b_gen[go] + 1, b_gen[back]])[keep]
        b_family = np.concatenate([b_family[go], b_family[back]])[keep]
        b_fol = np.concatenate([share * fol_end[go], fol_end[back]])[keep]
        b_kind = np.concatenate(
            [np.where(to_comp == 0, RECREATED, MIGRATED), np.full(back.size, RETURNED)]
        )[keep]

    arrays = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in parts.items()}
    return Episodes(**arrays, horizon=T, follower_growth=cfg.follower_growth)
