"""Saturating enforcement: a moderation capacity caps the bans per day.

The demand hazard per channel is ``mu(t)`` (baseline plus crackdowns), but moderation can
make at most ``C`` bans per day.  With ``A`` channels active the total ban rate is

* ``"michaelis_menten"`` (default): ``B(A) = mu A / (1 + mu A / C)`` (about ``mu A`` while
  ``mu A << C``, tending to ``C``);
* ``"cap"``: ``B(A) = min(mu A, C)``;

and each active channel is equally likely to be the one banned.  A crackdown raises the
demand ``mu``; with ``capacity_scales_with_crackdowns`` the capacity rises in the same
proportion (moderators added for the operation), otherwise it stays ``C``.

The model is no longer linear: the exact simulation is a Gillespie algorithm on counts
(:mod:`._ssa`), and the mean field replaces ``A`` by its mean in ``B`` (an *approximation*:
``B`` is concave, so by Jensen's inequality ``E[B(A)] <= B(E[A])``; the mean field bans too
fast and under-predicts the population, most when the population is small or the ban demand
sits near the capacity; :func:`stationary_distribution` gives the exact stationary law when
re-creation is immediate and free, against which both are checked).

Stationary mean field: every family is banned ``N_f`` times on average, so the stationary ban
flow is ``L = lambda N_f`` and ``B(A*) = L``: ``A* = L / (mu (1 - L / C))`` for
Michaelis-Menten, ``L / mu`` for the cap, and no stationary state at all when ``L >= C``
(moderation is overwhelmed: the population grows without bound).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import integrate

from analysis.errors import ModelError
from analysis.models.catmouse import Crackdown
from analysis.models.mechanisms._schedule import crackdown_extra, creation_schedule, merge_knots
from analysis.models.mechanisms._ssa import SSAConfig, simulate_batch

__all__ = ["CapacityModel", "stationary_distribution"]

_GENERATION_TAIL = 1e-12
_MAX_GENERATIONS = 60
SERIES = ("active", "bans", "organic_creations", "recreations")


def ban_rate_mm(a: np.ndarray, mu: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Michaelis-Menten total ban rate ``mu A / (1 + mu A / C)``."""
    a = np.asarray(a, dtype=float)
    return mu * a / (1.0 + mu * a / cap)


def ban_rate_cap(a: np.ndarray, mu: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Capped total ban rate ``min(mu A, C)``."""
    return np.minimum(mu * np.asarray(a, dtype=float), cap)


_BAN_RATES = {"michaelis_menten": ban_rate_mm, "cap": ban_rate_cap}


@dataclass(frozen=True)
class CapacityModel:
    """The cat-and-mouse model with a moderation capacity (saturating bans).

    Parameters
    ----------
    creation_rate_per_day
        Organic creations per day (a number or ``[(start_day, rate), ...]`` steps).
    ban_hazard_per_day
        Demand hazard ``mu`` per channel per day (the hazard while moderation is not busy).
    capacity_per_day
        ``C``: the most bans per day moderation can make.
    saturation
        ``"michaelis_menten"`` or ``"cap"`` (see the module docstring).
    recreation_probability, recreation_delay_mean_days, recreation_delay_shape,
    recreation_cost_factor, crackdowns
        As in :class:`~analysis.models.catmouse.CatMouseModel`.
    capacity_scales_with_crackdowns
        During a crackdown the capacity is multiplied by ``mu(t) / mu`` (surge capacity).
    initial_state
        ``"equilibrium"`` (Poisson draws around the mean-field stationary state, an
        approximation) or ``{"active": n}`` (n channels of generation 0, nothing pending).
    """

    creation_rate_per_day: float | Sequence[tuple[float, float]]
    ban_hazard_per_day: float
    capacity_per_day: float
    saturation: Literal["michaelis_menten", "cap"] = "michaelis_menten"
    recreation_probability: float = 0.0
    recreation_delay_mean_days: float = 0.0
    recreation_delay_shape: int = 1
    recreation_cost_factor: float = 1.0
    crackdowns: tuple[Crackdown, ...] = field(default_factory=tuple)
    capacity_scales_with_crackdowns: bool = False
    initial_state: Literal["equilibrium"] | Mapping[str, float] = "equilibrium"

    def __post_init__(self) -> None:
        object.__setattr__(self, "crackdowns", tuple(self.crackdowns))
        if not isinstance(self.creation_rate_per_day, int | float):
            object.__setattr__(self, "creation_rate_per_day", tuple(self.creation_rate_per_day))
        creation_schedule(self.creation_rate_per_day)
        crackdown_extra(self.crackdowns)
        checks = [
            ("ban_hazard_per_day", self.ban_hazard_per_day > 0, "> 0"),
            ("capacity_per_day", self.capacity_per_day > 0, "> 0"),
            ("saturation", self.saturation in _BAN_RATES, f"one of {sorted(_BAN_RATES)}"),
            ("recreation_probability", 0 <= self.recreation_probability < 1, "in [0, 1)"),
            ("recreation_delay_mean_days", self.recreation_delay_mean_days >= 0, ">= 0"),
            ("recreation_cost_factor", 0 <= self.recreation_cost_factor <= 1, "in [0, 1]"),
            (
                "recreation_delay_shape",
                int(self.recreation_delay_shape) == self.recreation_delay_shape
                and self.recreation_delay_shape >= 1,
                "an integer >= 1",
            ),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ModelError(
                    f"CapacityModel.{name} must be {expected}, got {getattr(self, name)!r}"
                )
        state = self.initial_state
        if isinstance(state, str):
            if state != "equilibrium":
                raise ModelError(f"initial_state must be 'equilibrium' or a mapping, got {state!r}")
        elif set(state) - {"active"} or float(state.get("active", 0)) < 0:
            raise ModelError(f"initial_state mapping takes 'active' >= 0, got {dict(state)!r}")

    # ------------------------------------------------------------------ closed forms
    def recreation_probabilities(self) -> np.ndarray:
        """Per-generation re-creation probabilities (tail truncated at 1e-12)."""
        rho, c = self.recreation_probability, self.recreation_cost_factor
        if c == 1.0 or rho == 0.0:
            return np.array([rho])
        probs, reach = [rho], 1.0
        while len(probs) < _MAX_GENERATIONS:
            reach *= probs[-1]
            if reach < _GENERATION_TAIL:
                break
            probs.append(rho * c ** len(probs))
        return np.array(probs)

    def expected_channels_per_family(self) -> float:
        """``N_f = sum_g prod_{j<g} rho_j`` (the original included)."""
        rho = self.recreation_probabilities()
        if rho.size == 1:
            return 1.0 / (1.0 - rho[0])
        return float(np.sum(np.concatenate([[1.0], np.cumprod(rho[:-1])])))

    def ban_rate(self, active: np.ndarray | float, extra_hazard: float = 0.0) -> np.ndarray:
        """Total bans per day with ``active`` channels (at baseline plus ``extra_hazard``)."""
        mu = self.ban_hazard_per_day + extra_hazard
        cap = self.capacity_per_day * (
            mu / self.ban_hazard_per_day if self.capacity_scales_with_crackdowns else 1.0
        )
        return _BAN_RATES[self.saturation](active, mu, cap)

    def equilibrium_active(self, extra_hazard_per_day: float = 0.0) -> float:
        """Mean-field stationary active channels (``inf`` when moderation is overwhelmed)."""
        mu = self.ban_hazard_per_day + extra_hazard_per_day
        cap = self.capacity_per_day * (
            mu / self.ban_hazard_per_day if self.capacity_scales_with_crackdowns else 1.0
        )
        flow = float(creation_schedule(self.creation_rate_per_day).values[0])
        flow *= self.expected_channels_per_family()
        if flow >= cap:
            return np.inf
        if self.saturation == "cap":
            return flow / mu
        return flow / (mu * (1.0 - flow / cap))

    # ------------------------------------------------------------------ schedules
    def _pieces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        extra, creation = (
            crackdown_extra(self.crackdowns),
            creation_schedule(self.creation_rate_per_day),
        )
        knots = merge_knots(extra, creation)
        mu = self.ban_hazard_per_day + extra.at(knots)
        cap = self.capacity_per_day * (
            mu / self.ban_hazard_per_day if self.capacity_scales_with_crackdowns else 1.0
        )
        return knots, creation.at(knots), mu, np.broadcast_to(cap, knots.shape).astype(float)

    def _n_stages(self) -> int:
        return int(self.recreation_delay_shape) if self.recreation_delay_mean_days > 0 else 0

    def _stationary_mean_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean-field stationary (A[g], P[g, j]) at the baseline."""
        a_star = self.equilibrium_active()
        if not np.isfinite(a_star):
            raise ModelError(
                "CapacityModel: no stationary state (organic plus re-created ban demand "
                "lambda N_f reaches the capacity); give initial_state={'active': n}"
            )
        rho = self.recreation_probabilities()
        reach = np.concatenate([[1.0], np.cumprod(rho[:-1])])
        if rho.size > 1:
            reach[-1] = reach[-1] / (1.0 - rho[-1])  # last generation loops onto itself
        share = reach / reach.sum()
        active = a_star * share
        flow = float(self.ban_rate(a_star)) * share  # bans per day by generation
        m = self._n_stages()
        pending = np.zeros((rho.size, m))
        if m:
            into = np.zeros(rho.size)
            into[np.minimum(np.arange(rho.size) + 1, rho.size - 1)] += rho * flow
            pending[:] = (into * self.recreation_delay_mean_days / m)[:, None]
        return active, pending

    # ------------------------------------------------------------------ mean field
    def mean_field(self, days: int) -> pd.DataFrame:
        """Mean-field daily series (an approximation, see the module docstring).

        Columns ``day``, ``active`` (end of day), ``bans``, ``organic_creations``,
        ``recreations`` (during the day).
        """
        days = int(days)
        if days < 1:
            raise ModelError(f"days must be >= 1, got {days}")
        rho = self.recreation_probabilities()
        n_gen, m = rho.size, self._n_stages()
        stage_rate = m / self.recreation_delay_mean_days if m else 0.0
        if self.initial_state == "equilibrium":
            a0, p0 = self._stationary_mean_state()
        else:
            a0, p0 = np.zeros(n_gen), np.zeros((n_gen, m))
            a0[0] = float(self.initial_state.get("active", 0.0))
        x0 = np.concatenate([a0, p0.ravel(), np.zeros(3)])
        rate_fn = _BAN_RATES[self.saturation]
        nxt = np.minimum(np.arange(n_gen) + 1, n_gen - 1)

        def rhs(_t: float, x: np.ndarray, lam: float, mu: float, cap: float) -> np.ndarray:
            a = np.maximum(x[:n_gen], 0.0)
            p = x[n_gen : n_gen + n_gen * m].reshape(n_gen, m)
            total = a.sum()
            bans = float(rate_fn(total, mu, cap)) * (a / total if total > 0 else 0.0 * a)
            da = -bans
            da[0] += lam
            dp = np.zeros((n_gen, m))
            recreated = 0.0
            if m:
                np.add.at(dp[:, 0], nxt, rho * bans)
                flow = stage_rate * p
                dp -= flow
                dp[:, 1:] += flow[:, :-1]
                da += flow[:, -1]
                recreated = flow[:, -1].sum()
            else:
                np.add.at(da, nxt, rho * bans)
                recreated = float(rho @ bans)
            return np.concatenate([da, dp.ravel(), [bans.sum(), lam, recreated]])

        knots, lam, mu, cap = self._pieces()
        grid = np.arange(days + 1, dtype=float)
        edges = np.unique(np.concatenate([knots[knots < days], [float(days)]]))
        states = np.empty((grid.size, x0.size))
        states[0] = x0
        x = x0
        for i in range(edges.size - 1):
            ta, tb = float(edges[i]), float(edges[i + 1])
            k = int(np.searchsorted(knots, ta, side="right") - 1)
            inside = grid[(grid > ta) & (grid <= tb)]
            sol = integrate.solve_ivp(
                rhs,
                (ta, tb),
                x,
                method="LSODA",
                t_eval=inside if inside.size and inside[-1] == tb else np.append(inside, tb),
                args=(float(lam[k]), float(mu[k]), float(cap[k])),
                rtol=1e-8,
                atol=1e-8,
            )
            if not sol.success:  # pragma: no cover - defensive
                raise ModelError(f"mean-field ODE failed on [{ta}, {tb}]: {sol.message}")
            if inside.size:
                states[inside.astype(int)] = sol.y[:, : inside.size].T
            x = sol.y[:, -1]
        cum = states[:, -3:]
        return pd.DataFrame(
            {
                "day": np.arange(days),
                "active": states[1:, :n_gen].sum(axis=1),
                "bans": np.diff(cum[:, 0]),
                "organic_creations": np.diff(cum[:, 1]),
                "recreations": np.diff(cum[:, 2]),
            }
        )

    # ------------------------------------------------------------------ simulation
    def simulate_runs(
        self,
        days: float,
        n_runs: int,
        seed: int | np.random.Generator | None = None,
        initial_active: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Exact simulation of ``n_runs`` replicate runs (synthetic): arrays ``(runs, days)``.

        ``initial_active`` (one count per run, generation 0, nothing pending) overrides
        ``initial_state``, e.g. draws from :func:`stationary_distribution`.
        """
        rng = np.random.default_rng(seed)
        rho = self.recreation_probabilities()
        n_gen, m = rho.size, self._n_stages()
        if initial_active is not None:
            given = np.asarray(initial_active, dtype=np.int64)
            if given.shape != (n_runs,) or np.any(given < 0):
                raise ModelError(f"initial_active must hold {n_runs} counts >= 0")
            active = np.zeros((n_runs, n_gen), dtype=np.int64)
            active[:, 0] = given
            pending = np.zeros((n_runs, n_gen, m), dtype=np.int64)
        elif self.initial_state == "equilibrium":
            a_mean, p_mean = self._stationary_mean_state()
            active = rng.poisson(np.broadcast_to(a_mean, (n_runs, n_gen)))
            pending = rng.poisson(np.broadcast_to(p_mean, (n_runs, n_gen, m)))
        else:
            active = np.zeros((n_runs, n_gen), dtype=np.int64)
            active[:, 0] = round(float(self.initial_state.get("active", 0.0)))
            pending = np.zeros((n_runs, n_gen, m), dtype=np.int64)
        knots, lam, mu, cap = self._pieces()
        cfg = SSAConfig(
            horizon=float(days),
            knots=knots,
            creation=lam,
            hazard=mu,
            capacity=cap,
            recreation_probabilities=rho,
            delay_mean=self.recreation_delay_mean_days,
            delay_shape=int(self.recreation_delay_shape),
            ban_rate=_BAN_RATES[self.saturation],
        )
        return simulate_batch(cfg, rng, active, pending)

    def simulate_mean(
        self, days: int, n_runs: int, seed: int | np.random.Generator | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Mean and standard error of ``n_runs`` exact simulations (synthetic)."""
        if n_runs < 2:
            raise ModelError(f"n_runs must be >= 2, got {n_runs}")
        runs = self.simulate_runs(days, n_runs, seed)
        mean = pd.DataFrame({k: runs[k].mean(axis=0) for k in SERIES})
        se = pd.DataFrame({k: runs[k].std(axis=0, ddof=1) / np.sqrt(n_runs) for k in SERIES})
        mean.insert(0, "day", np.arange(mean.shape[0]))
        se.insert(0, "day", np.arange(se.shape[0]))
        return mean, se


def stationary_distribution(model: CapacityModel, max_active: int | None = None) -> pd.Series:
    """Exact stationary law of the active count when re-creation is immediate and free.

    With ``recreation_delay_mean_days == 0`` and ``recreation_cost_factor == 1`` a ban is
    followed at once by a re-creation with probability ``rho``, so the active count is a
    birth-death chain with birth rate ``lambda`` and death rate ``(1 - rho) B(n)``:
    ``pi(n) ∝ prod_{i<=n} lambda / ((1 - rho) B(i))``.  Returns ``pi`` indexed by ``n``.

    Raises
    ------
    ModelError
        Re-creation is delayed or costly (no closed form), the creation rate varies or
        crackdowns are set, or the chain is not positive recurrent (``lambda / (1 - rho) >= C``).
    """
    if model.recreation_delay_mean_days != 0 or model.recreation_cost_factor != 1:
        raise ModelError(
            "stationary_distribution needs immediate (delay 0) and free (c = 1) re-creation"
        )
    if not isinstance(model.creation_rate_per_day, int | float) or model.crackdowns:
        raise ModelError("stationary_distribution needs a constant creation rate and no crackdowns")
    lam = float(model.creation_rate_per_day)
    flow = lam / (1.0 - model.recreation_probability)
    if flow >= model.capacity_per_day:
        raise ModelError(
            f"no stationary law: demand lambda/(1-rho) = {flow:g} >= capacity "
            f"{model.capacity_per_day:g} bans per day"
        )
    adaptive = max_active is None
    size = int(20 * model.equilibrium_active() + 200) if adaptive else int(max_active)
    while True:
        n = np.arange(1, size + 1)
        death = (1.0 - model.recreation_probability) * model.ban_rate(n)
        log_pi = np.concatenate([[0.0], np.cumsum(np.log(lam) - np.log(death))])
        pi = np.exp(log_pi - log_pi.max())
        if pi[-1] / pi.sum() <= 1e-13:
            break
        if not adaptive or size > 10_000_000:
            raise ModelError(f"stationary_distribution: max_active={size} truncates the tail")
        size *= 2
    max_active = size
    return pd.Series(pi / pi.sum(), index=np.arange(max_active + 1), name="probability")
