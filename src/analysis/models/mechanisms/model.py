"""The cat-and-mouse model with the mechanisms the literature says drive resilience.

:class:`MechanismModel` extends :class:`analysis.models.catmouse.CatMouseModel` (same
parameter names and conventions: hazards per channel per day, Erlang re-creation delay,
re-creation cost factor, additive :class:`~analysis.models.catmouse.Crackdown` windows) with
every mechanism that keeps the model *linear*, so its mean field stays exact:

* **two compartments**: the monitored platform and another platform or unmonitored pool.
  A banned channel is re-created on the monitored platform with probability ``rho * c**g``
  or migrates with probability ``sigma`` (after the same delay); on the other platform a
  channel ends at hazard ``nu`` or returns at rate ``r`` (Johnson et al. 2019 "hate
  highways"; CREST 2021 on moves to TamTam, Hoop, Rocket.Chat);
* **channel types** (frailty): organic channels are of type ``k`` with probability
  ``share_k`` and are banned at their own hazard ``mu_k`` (a re-created or migrated channel
  keeps its family's type);
* a **time-varying creation rate** (piecewise constant) and a **free initial state**;
* **audience**: a new channel starts with ``initial_followers`` (mean, exponential), gains
  ``follower_growth_per_day`` while active, and a re-created (migrated) channel starts with a
  share of the followers its predecessor had when banned; the model reports exposure
  (follower-days) next to channel counts.

Saturating enforcement (a moderation capacity) makes the model non-linear: see
:mod:`analysis.models.mechanisms.capacity`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from analysis.errors import ModelError
from analysis.models.catmouse import Crackdown
from analysis.models.mechanisms import _linear as lin
from analysis.models.mechanisms._daily import DAILY_COLUMNS, daily_from_episodes
from analysis.models.mechanisms._episodes import EngineConfig, Episodes, simulate_episodes
from analysis.models.mechanisms._schedule import (
    PiecewiseConstant,
    crackdown_extra,
    creation_schedule,
    merge_knots,
)

__all__ = ["ChannelType", "MechanismModel", "MechanismSimulation"]

_GENERATION_TAIL = 1e-12
_MAX_GENERATIONS = 60


@dataclass(frozen=True)
class ChannelType:
    """A kind of channel: its share of organic creations and its own baseline ban hazard."""

    share: float
    ban_hazard_per_day: float
    name: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ModelError(f"ChannelType.share must be in (0, 1], got {self.share!r}")
        if not self.ban_hazard_per_day >= 0:
            raise ModelError(
                f"ChannelType.ban_hazard_per_day must be >= 0, got {self.ban_hazard_per_day!r}"
            )


@dataclass(frozen=True)
class MechanismModel:
    """Channels on a monitored platform and an other platform, of several types, with followers.

    Parameters
    ----------
    creation_rate_per_day
        Organic creation rate on the monitored platform: a number or piecewise-constant steps
        ``[(start_day, rate_per_day), ...]`` starting at day 0.
    ban_hazard_per_day
        Baseline ban hazard (one type); ignored when ``types`` is given.
    types
        :class:`ChannelType` s (shares sum to 1), e.g. a fast-banned and a slow-banned kind.
    recreation_probability, recreation_delay_mean_days, recreation_delay_shape,
    recreation_cost_factor, crackdowns
        As in :class:`~analysis.models.catmouse.CatMouseModel` (crackdowns act on the monitored
        platform and add the same hazard to every type).
    migration_probability
        ``sigma``: probability that a banned channel reappears on the other platform (after
        the re-creation delay); ``recreation_probability + migration_probability <= 1``.
    other_end_hazard_per_day
        ``nu``: hazard of ending on the other platform (bans there, abandonment).
    return_rate_per_day
        ``r``: rate at which a channel on the other platform moves back (immediately).
    other_creation_rate_per_day
        Organic creations on the other platform.
    initial_followers, follower_growth_per_day, recreation_follower_share,
    migration_follower_share
        Audience: mean followers of a new organic channel, followers gained per active day,
        share of its followers a re-created (migrated) channel regains.
    initial_state
        ``"equilibrium"`` (stationary state at the baseline hazard and the day-0 creation
        rate, pending re-creations included), ``"empty"``, or expected counts
        ``{"active": n0, "other_active": n1}`` (types by their shares, followers at
        ``initial_followers`` each, nothing pending): a free initial state.
    """

    creation_rate_per_day: float | Sequence[tuple[float, float]]
    ban_hazard_per_day: float = 0.1
    types: tuple[ChannelType, ...] = ()
    recreation_probability: float = 0.0
    recreation_delay_mean_days: float = 0.0
    recreation_delay_shape: int = 1
    recreation_cost_factor: float = 1.0
    crackdowns: tuple[Crackdown, ...] = field(default_factory=tuple)
    migration_probability: float = 0.0
    other_end_hazard_per_day: float = 0.0
    return_rate_per_day: float = 0.0
    other_creation_rate_per_day: float = 0.0
    initial_followers: float = 0.0
    follower_growth_per_day: float = 0.0
    recreation_follower_share: float = 1.0
    migration_follower_share: float = 1.0
    initial_state: Literal["equilibrium", "empty"] | Mapping[str, float] = "equilibrium"

    def __post_init__(self) -> None:
        object.__setattr__(self, "crackdowns", tuple(self.crackdowns))
        object.__setattr__(self, "types", tuple(self.types))
        if not isinstance(self.creation_rate_per_day, int | float):
            object.__setattr__(self, "creation_rate_per_day", tuple(self.creation_rate_per_day))
        creation_schedule(self.creation_rate_per_day)  # validates
        checks = [
            ("ban_hazard_per_day", self.ban_hazard_per_day >= 0, ">= 0"),
            ("recreation_probability", 0 <= self.recreation_probability < 1, "in [0, 1)"),
            ("migration_probability", 0 <= self.migration_probability <= 1, "in [0, 1]"),
            ("recreation_delay_mean_days", self.recreation_delay_mean_days >= 0, ">= 0"),
            ("recreation_cost_factor", 0 <= self.recreation_cost_factor <= 1, "in [0, 1]"),
            (
                "recreation_delay_shape",
                int(self.recreation_delay_shape) == self.recreation_delay_shape
                and self.recreation_delay_shape >= 1,
                "an integer >= 1",
            ),
            ("other_end_hazard_per_day", self.other_end_hazard_per_day >= 0, ">= 0"),
            ("return_rate_per_day", self.return_rate_per_day >= 0, ">= 0"),
            ("other_creation_rate_per_day", self.other_creation_rate_per_day >= 0, ">= 0"),
            ("initial_followers", self.initial_followers >= 0, ">= 0"),
            ("follower_growth_per_day", self.follower_growth_per_day >= 0, ">= 0"),
            ("recreation_follower_share", 0 <= self.recreation_follower_share <= 1, "in [0, 1]"),
            ("migration_follower_share", 0 <= self.migration_follower_share <= 1, "in [0, 1]"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ModelError(
                    f"MechanismModel.{name} must be {expected}, got {getattr(self, name)!r}"
                )
        if self.recreation_probability + self.migration_probability > 1 + 1e-12:
            raise ModelError(
                "MechanismModel: recreation_probability + migration_probability must be <= 1, "
                f"got {self.recreation_probability!r} + {self.migration_probability!r}"
            )
        if self.types:
            total = sum(t.share for t in self.types)
            if abs(total - 1.0) > 1e-9:
                raise ModelError(f"MechanismModel.types: shares must sum to 1, got {total!r}")
        crackdown_extra(self.crackdowns)  # validates
        state = self.initial_state
        if isinstance(state, str):
            if state not in ("equilibrium", "empty"):
                raise ModelError(
                    f"initial_state must be 'equilibrium', 'empty' or a mapping, got {state!r}"
                )
        else:
            unknown = set(state) - {"active", "other_active"}
            values_ok = all(float(v) >= 0 for v in state.values())
            if unknown or not values_ok:
                raise ModelError(
                    "initial_state mapping takes 'active' and 'other_active' counts >= 0, "
                    f"got {dict(state)!r}"
                )

    # ------------------------------------------------------------------ building blocks
    @property
    def type_shares(self) -> np.ndarray:
        return np.array([t.share for t in self.types]) if self.types else np.array([1.0])

    @property
    def type_hazards(self) -> np.ndarray:
        if self.types:
            return np.array([t.ban_hazard_per_day for t in self.types])
        return np.array([float(self.ban_hazard_per_day)])

    def creation(self) -> PiecewiseConstant:
        """The organic creation rate on the monitored platform as a schedule."""
        return creation_schedule(self.creation_rate_per_day)

    def recreation_probabilities(self) -> np.ndarray:
        """Per-generation re-creation probabilities of the mean field (tail truncated 1e-12)."""
        rho, c = self.recreation_probability, self.recreation_cost_factor
        if c == 1.0 or rho == 0.0:
            return np.array([rho])
        probs, reach = [rho], 1.0
        while len(probs) < _MAX_GENERATIONS:
            reach *= probs[-1] + self.migration_probability
            if reach < _GENERATION_TAIL:
                break
            probs.append(rho * c ** len(probs))
        return np.array(probs)

    def _rates(self) -> lin.Rates:
        return lin.Rates(
            type_shares=self.type_shares,
            type_hazards=self.type_hazards,
            recreation_probabilities=self.recreation_probabilities(),
            migration_probability=self.migration_probability,
            delay_mean=self.recreation_delay_mean_days,
            delay_shape=int(self.recreation_delay_shape),
            other_end_hazard=self.other_end_hazard_per_day,
            return_rate=self.return_rate_per_day,
            other_creation_rate=self.other_creation_rate_per_day,
            initial_followers=self.initial_followers,
            follower_growth=self.follower_growth_per_day,
            recreation_follower_share=self.recreation_follower_share,
            migration_follower_share=self.migration_follower_share,
        )

    def _cached(self, key: str, make):  # private memo on a frozen object
        cache = self.__dict__.setdefault("_memo", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def system(self) -> lin.LinearSystem:
        """The exact linear mean-field system (see :mod:`._linear`)."""
        return self._cached("system", lambda: lin.build_system(self._rates()))

    def initial_vector(self) -> np.ndarray:
        """Expected state at day 0."""
        return self._cached("initial", self._initial_vector).copy()

    def _initial_vector(self) -> np.ndarray:
        system = self.system()
        lay = system.layout
        if self.initial_state == "equilibrium":
            return lin.stationary_state(system, float(self.creation().values[0]))
        x = np.zeros(lay.size)
        if self.initial_state == "empty":
            return x
        for key, followers in (("active", False), ("other_active", False)):
            n = float(self.initial_state.get(key, 0.0))
            for k, pi in enumerate(self.type_shares):
                c = lay.cls(0, k)
                idx = lay.a0(c) if key == "active" else lay.a1(c)
                fidx = lay.a0(c, True) if key == "active" else lay.a1(c, True)
                x[idx] += n * pi
                x[fidx] += n * pi * self.initial_followers
            del followers
        return x

    # ------------------------------------------------------------------ mean field
    def state_at(self, times: Sequence[float] | np.ndarray) -> np.ndarray:
        """Expected state vectors at ``times`` (days >= 0, sorted), exact."""
        t = np.asarray(times, dtype=float)
        if t.ndim != 1 or np.any(np.diff(t) < 0) or (t.size and t[0] < 0):
            raise ModelError("times must be a sorted 1-D array of days >= 0")
        extra, creation = crackdown_extra(self.crackdowns), self.creation()
        knots = merge_knots(extra, creation)
        return lin.propagate(
            self.system(), self.initial_vector(), knots, extra.at(knots), creation.at(knots), t
        )

    def mean_field(self, days: int) -> pd.DataFrame:
        """Expected daily series (exact), same columns as :attr:`MechanismSimulation.daily`.

        ``active`` / ``other_active`` at the end of each day; event counts and ``exposure``
        (follower-days on the monitored platform) / ``other_exposure`` during the day.
        """
        out = self.mean_field_arrays(days)
        return pd.DataFrame({k: out[k] for k in ("day", *DAILY_COLUMNS)})

    def mean_field_arrays(self, days: int) -> dict[str, np.ndarray]:
        """:meth:`mean_field` as a dict of arrays (faster: used by the fits)."""
        days = int(days)
        if days < 1:
            raise ModelError(f"days must be >= 1, got {days}")
        lay = self.system().layout
        states = self.state_at(np.arange(days + 1, dtype=float))
        out = {"day": np.arange(days)}
        out["active"] = states[1:, lay.indices("A0")].sum(axis=1)
        out["other_active"] = states[1:, lay.indices("A1")].sum(axis=1)
        for name in lin.COUNTERS:
            out[name] = np.diff(states[:, lay.counter(name)])
        out["creations"] = out["organic_creations"] + out["recreations"] + out["returns"]
        return out

    def equilibrium(self) -> pd.Series:
        """Stationary means at the baseline hazard: channels, pending, followers, flows."""
        system = self.system()
        lay = system.layout
        x = lin.stationary_state(system, float(self.creation().values[0]))
        a0, a1 = lay.indices("A0"), lay.indices("A1")
        mu = np.repeat(self.type_hazards[None, :], lay.n_generations, axis=0).ravel()
        return pd.Series(
            {
                "active": x[a0].sum(),
                "other_active": x[a1].sum(),
                "pending": x[lay.indices("P0")].sum() + x[lay.indices("P1")].sum(),
                "followers": x[lay.indices("A0", True)].sum(),
                "other_followers": x[lay.indices("A1", True)].sum(),
                "bans_per_day": float(mu @ x[a0]),
                "exposure_per_day": x[lay.indices("A0", True)].sum(),
            }
        )

    # ------------------------------------------------------------------ simulation
    def _engine_config(self, days: float) -> EngineConfig:
        return EngineConfig(
            horizon=float(days),
            creation=self.creation(),
            other_creation_rate=self.other_creation_rate_per_day,
            extra_hazard=crackdown_extra(self.crackdowns),
            type_shares=self.type_shares,
            type_hazards=self.type_hazards,
            recreation_probability=self.recreation_probability,
            cost_factor=self.recreation_cost_factor,
            migration_probability=self.migration_probability,
            delay_mean=self.recreation_delay_mean_days,
            delay_shape=int(self.recreation_delay_shape),
            other_end_hazard=self.other_end_hazard_per_day,
            return_rate=self.return_rate_per_day,
            initial_followers=self.initial_followers,
            follower_growth=self.follower_growth_per_day,
            recreation_follower_share=self.recreation_follower_share,
            migration_follower_share=self.migration_follower_share,
        )

    def _initial_draw(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        lay = self.system().layout
        x = self.initial_vector()
        n_cls, m = lay.n_classes, max(lay.n_stages, 1)
        active, fol = np.zeros((n_cls, 2)), np.zeros((n_cls, 2))
        pend, pfol = np.zeros((n_cls, 2, m)), np.zeros((n_cls, 2, m))
        for c in range(n_cls):
            for comp, idx in ((0, lay.a0), (1, lay.a1)):
                active[c, comp] = x[idx(c)]
                fol[c, comp] = x[idx(c, True)] / x[idx(c)] if x[idx(c)] > 0 else 0.0
            for j in range(lay.n_stages):
                for comp, idx in ((0, lay.p0), (1, lay.p1)):
                    pend[c, comp, j] = x[idx(c, j)]
                    f = x[idx(c, j, True)]
                    pfol[c, comp, j] = f / x[idx(c, j)] if x[idx(c, j)] > 0 else 0.0
        if self.initial_state == "equilibrium":
            counts = rng.poisson(np.maximum(active, 0.0))
            pending = rng.poisson(np.maximum(pend, 0.0))
        else:  # given counts: split by type shares (multinomial), nothing pending
            counts = np.zeros((n_cls, 2), dtype=np.int64)
            for comp, key in ((0, "active"), (1, "other_active")):
                n = 0 if self.initial_state == "empty" else self.initial_state.get(key, 0)
                counts[: lay.n_types, comp] = rng.multinomial(round(float(n)), self.type_shares)
            pending = np.zeros_like(pend, dtype=np.int64)
        return counts, fol, pending, pfol

    def simulate(
        self, days: float, seed: int | np.random.Generator | None = None
    ) -> MechanismSimulation:
        """Exact stochastic simulation over ``[0, days)`` (synthetic).

        With ``initial_state="equilibrium"`` the initial channels and pending re-creations
        are Poisson draws of the stationary means by class (exact for the mean: channels
        have memoryless lifetimes), their followers exponential with the stationary mean.
        """
        rng = np.random.default_rng(seed)
        counts, fol, pending, pfol = self._initial_draw(rng)
        episodes = simulate_episodes(self._engine_config(days), rng, counts, fol, pending, pfol)
        return MechanismSimulation(episodes=episodes, model=self)

    def simulate_mean(
        self, days: int, n_runs: int, seed: int | np.random.Generator | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Mean and standard error (of the mean) of ``n_runs`` simulated daily series."""
        if n_runs < 2:
            raise ModelError(f"n_runs must be >= 2, got {n_runs}")
        rng = np.random.default_rng(seed)
        runs = np.stack(
            [
                self.simulate(days, rng).daily[list(DAILY_COLUMNS)].to_numpy(float)
                for _ in range(n_runs)
            ]
        )
        cols = list(DAILY_COLUMNS)
        mean = pd.DataFrame(runs.mean(axis=0), columns=cols)
        se = pd.DataFrame(runs.std(axis=0, ddof=1) / np.sqrt(n_runs), columns=cols)
        mean.insert(0, "day", np.arange(mean.shape[0]))
        se.insert(0, "day", np.arange(se.shape[0]))
        return mean, se


@dataclass
class MechanismSimulation:
    """One exact simulation (synthetic): per-episode arrays and the daily series."""

    episodes: Episodes
    model: MechanismModel
    _daily: pd.DataFrame | None = None

    @property
    def daily(self) -> pd.DataFrame:
        """Daily series (synthetic), columns ``day`` and :data:`DAILY_COLUMNS`."""
        if self._daily is None:
            self._daily = daily_from_episodes(self.episodes)
            self._daily.attrs["synthetic"] = True
        return self._daily

    def lifetimes(self, compartment: int = 0) -> pd.DataFrame:
        """Episode durations on one compartment (synthetic): ``duration_days``, ``banned``,
        ``channel_type``, ``organic`` (first channel of its family), ``entry_day``."""
        ep = self.episodes
        sel = ep.compartment == compartment
        end = np.minimum(ep.end[sel], ep.horizon)
        return pd.DataFrame(
            {
                "duration_days": end - ep.start[sel],
                "banned": ep.end[sel] < ep.horizon,
                "channel_type": ep.channel_type[sel],
                "organic": ep.generation[sel] == 0,
                "entry_day": ep.start[sel],
            }
        ).assign(synthetic=True)
