"""Stochastic birth-death ("cat-and-mouse") model of channels, bans, crackdowns and re-creation.

The model
---------
Channels of one population (e.g. Islamic State channels on one platform) evolve in
continuous time, measured in days:

* **organic creation**: new families start as a Poisson process of rate ``lambda``
  (``creation_rate_per_day``);
* **bans**: every active channel is banned at hazard
  ``mu(t) = mu_0 + sum_k h_k 1[t in crackdown k]`` (``ban_hazard_per_day`` plus the
  ``extra_hazard_per_day`` of each :class:`Crackdown`, piecewise constant);
* **reactive re-creation**: a banned channel whose family has already been banned ``g``
  times before is re-created with probability ``rho_g = rho * c**g`` (``rho`` =
  ``recreation_probability``, ``c`` = ``recreation_cost_factor``: each further ban of the
  same family makes re-creation less likely, the "time and money" it costs), after a
  Gamma(shape ``m``, mean ``d``) delay (``recreation_delay_shape``,
  ``recreation_delay_mean_days``; ``m = 1`` is exponential, ``d = 0`` is immediate).

Stationary mean (no crackdown)
------------------------------
Without re-creation this is an M/M/infinity queue: channels arrive at rate ``lambda`` and
live ``Exp(mu)``, so by Little's law the stationary mean is ``A* = lambda / mu``.
With re-creation and ``c = 1``: in the stationary state the flow of creations equals the
flow of bans, ``mu A*``; creations are organic plus re-created, ``lambda + rho * mu A*``.
Hence ``mu A* = lambda + rho mu A*`` and

    A* = lambda / (mu (1 - rho)),

independent of the delay (the delay only holds ``rho mu A* d`` re-creations "in the
pipeline").  In general a family has ``N_f = sum_{g>=0} prod_{j<g} rho_j`` channels on
average (``1 / (1 - rho)`` when ``c = 1``), every one living ``1/mu`` on average, so
``A* = lambda N_f / mu`` (:meth:`CatMouseModel.equilibrium_active`).  Each family ends with
all ``N_f`` channels banned and ``N_f - 1`` re-creations, so the expected number of
re-creations per ban is ``(N_f - 1) / N_f`` (``= rho`` when ``c = 1``).

Because channels act independently, the expected state obeys a *linear* ODE; with the
Erlang delay written as ``m`` exponential stages (linear chain trick) the ODE of
:meth:`CatMouseModel.mean_field` is exact for the mean, not an approximation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.errors import ModelError
from analysis.models import _cm_meanfield as mf
from analysis.models._cm_engine import HazardSchedule, RawSimulation, simulate_generations
from analysis.models._cm_naive import simulate_naive

__all__ = [
    "CatMouseFit",
    "CatMouseModel",
    "CatMouseSimulation",
    "Crackdown",
    "daily_series_from_channel_events",
    "daily_series_from_events",
]

SERIES_NAMES = ("active", "bans", "creations")
_GENERATION_TAIL = 1e-12
_MAX_GENERATIONS = 60


@dataclass(frozen=True)
class Crackdown:
    """A window of extra ban hazard.

    Parameters
    ----------
    start_day
        Start of the window, in days since the model origin.
    duration_days
        Length of the window in days (> 0).
    extra_hazard_per_day
        Hazard added to the baseline ban hazard during the window (>= 0, per channel per day).
    """

    start_day: float
    duration_days: float
    extra_hazard_per_day: float

    def __post_init__(self) -> None:
        if not self.duration_days > 0:
            raise ModelError(f"Crackdown.duration_days must be > 0, got {self.duration_days!r}")
        if not self.extra_hazard_per_day >= 0:
            raise ModelError(
                f"Crackdown.extra_hazard_per_day must be >= 0, got {self.extra_hazard_per_day!r}"
            )

    @property
    def end_day(self) -> float:
        """End of the window (exclusive), in days."""
        return self.start_day + self.duration_days

    @classmethod
    def removing_fraction(
        cls, start_day: float, fraction: float, duration_days: float = 1.0
    ) -> Crackdown:
        """Crackdown that, on its own, removes ``fraction`` of the channels active at its start.

        The extra hazard is ``-ln(1 - fraction) / duration_days``.
        """
        if not 0 <= fraction < 1:
            raise ModelError(f"fraction must be in [0, 1), got {fraction!r}")
        return cls(start_day, duration_days, -np.log1p(-fraction) / duration_days)


@dataclass(frozen=True)
class CatMouseModel:
    """Channels created, banned (with crackdown pulses) and re-created.

    Parameters
    ----------
    creation_rate_per_day
        Organic creation rate ``lambda`` (new families per day).
    ban_hazard_per_day
        Baseline ban hazard ``mu_0`` per active channel per day (mean lifetime ``1/mu_0``).
    recreation_probability
        Probability ``rho`` that a banned channel is re-created (first ban of its family).
    recreation_delay_mean_days
        Mean delay ``d`` between a ban and the re-creation (0 = immediate).
    crackdowns
        :class:`Crackdown` windows adding hazard; overlapping windows add up.
    recreation_cost_factor
        ``c`` in ``rho_g = rho * c**g``: the re-creation probability is multiplied by this for
        every further ban of the same family (1 = no cost, 0 = a family is re-created at most
        once).
    recreation_delay_shape
        Integer shape ``m`` of the Gamma (Erlang) delay (1 = exponential).
    initial_active
        ``"equilibrium"`` (default: the stationary state at the baseline hazard, including
        re-creations pending at time 0) or a number of channels active at time 0 (with no
        pending re-creations).
    """

    creation_rate_per_day: float
    ban_hazard_per_day: float
    recreation_probability: float = 0.0
    recreation_delay_mean_days: float = 0.0
    crackdowns: tuple[Crackdown, ...] = field(default_factory=tuple)
    recreation_cost_factor: float = 1.0
    recreation_delay_shape: int = 1
    initial_active: float | Literal["equilibrium"] = "equilibrium"

    def __post_init__(self) -> None:
        object.__setattr__(self, "crackdowns", tuple(self.crackdowns))
        checks = [
            ("creation_rate_per_day", self.creation_rate_per_day >= 0, ">= 0"),
            ("ban_hazard_per_day", self.ban_hazard_per_day >= 0, ">= 0"),
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
                    f"CatMouseModel.{name} must be {expected}, got {getattr(self, name)!r}"
                )
        for cd in self.crackdowns:
            if not isinstance(cd, Crackdown):
                raise ModelError(f"crackdowns must hold Crackdown objects, got {cd!r}")
        if self.initial_active == "equilibrium":
            if self.ban_hazard_per_day <= 0:
                raise ModelError(
                    "initial_active='equilibrium' needs ban_hazard_per_day > 0; "
                    "give a number of initial channels instead"
                )
        elif not (isinstance(self.initial_active, int | float) and self.initial_active >= 0):
            raise ModelError(
                f"initial_active must be 'equilibrium' or a number >= 0, got {self.initial_active!r}"
            )

    # ------------------------------------------------------------------ building blocks
    def hazard_schedule(self) -> HazardSchedule:
        """The piecewise-constant ban hazard (baseline plus crackdowns) from day 0 on."""
        edges = {0.0}
        for cd in self.crackdowns:
            edges.update({max(cd.start_day, 0.0), max(cd.end_day, 0.0)})
        knots = np.array(sorted(edges))
        hazards = np.full(knots.size, float(self.ban_hazard_per_day))
        for cd in self.crackdowns:
            inside = (knots >= cd.start_day) & (knots < cd.end_day)
            hazards[inside] += cd.extra_hazard_per_day
        return HazardSchedule(knots=knots, hazards=hazards)

    def recreation_probabilities(self) -> np.ndarray:
        """Per-generation re-creation probabilities used by the mean field (truncated tail).

        One value (exact) when ``recreation_cost_factor == 1``; otherwise generations up to
        the point where reaching them has probability < 1e-12 (the last one loops onto itself).
        """
        rho, c = self.recreation_probability, self.recreation_cost_factor
        if c == 1.0 or rho == 0.0:
            return np.array([rho])
        probs = [rho]
        reach = 1.0
        while len(probs) < _MAX_GENERATIONS:
            reach *= probs[-1]
            if reach < _GENERATION_TAIL:
                break
            probs.append(rho * c ** len(probs))
        return np.array(probs)

    def _system(self) -> mf.LinearSystem:
        return mf.build_system(
            self.creation_rate_per_day,
            self.recreation_probabilities(),
            self.recreation_delay_mean_days,
            int(self.recreation_delay_shape),
        )

    def initial_state(self) -> np.ndarray:
        """Expected state vector at day 0 (see :mod:`analysis.models._cm_meanfield`)."""
        system = self._system()
        if self.initial_active == "equilibrium":
            return mf.stationary_state(system, self.ban_hazard_per_day)
        x = np.zeros(system.size)
        x[0] = float(self.initial_active)
        return x

    # ------------------------------------------------------------------ closed forms
    def expected_channels_per_family(self) -> float:
        """``N_f = sum_g prod_{j<g} rho_j``: channels in a family, the original included."""
        rho, c = self.recreation_probability, self.recreation_cost_factor
        if c == 1.0:
            return 1.0 / (1.0 - rho)
        total, term, g = 1.0, 1.0, 0
        while term > 1e-15 and g < 10_000:
            term *= rho * c**g
            total += term
            g += 1
        return total

    def equilibrium_active(self, extra_hazard_per_day: float = 0.0) -> float:
        """Stationary mean number of active channels, ``lambda N_f / (mu_0 + extra)``.

        Parameters
        ----------
        extra_hazard_per_day
            A sustained extra hazard (a permanent crackdown); 0 = the baseline regime.
        """
        mu = self.ban_hazard_per_day + extra_hazard_per_day
        if mu <= 0:
            return np.inf
        return self.creation_rate_per_day * self.expected_channels_per_family() / mu

    def expected_recreations_per_ban(self) -> float:
        """Re-creations per ban in the stationary population, ``(N_f - 1) / N_f`` (= rho if c=1)."""
        n_f = self.expected_channels_per_family()
        return (n_f - 1.0) / n_f

    def mean_lifetime_days(self) -> float:
        """Mean lifetime of a channel at the baseline hazard, ``1 / mu_0``."""
        return 1.0 / self.ban_hazard_per_day if self.ban_hazard_per_day > 0 else np.inf

    # ------------------------------------------------------------------ mean field
    def state_at(self, times: Sequence[float] | np.ndarray, method: str = "expm") -> np.ndarray:
        """Expected state vectors at the given times (days >= 0, sorted).

        ``method="ode"`` integrates with :func:`scipy.integrate.solve_ivp`; ``"expm"`` uses
        exact matrix exponentials of the linear system (faster; the two agree to ~1e-8).
        """
        t = np.asarray(times, dtype=float)
        if t.ndim != 1 or np.any(np.diff(t) < 0) or (t.size and t[0] < 0):
            raise ModelError("times must be a sorted 1-D array of days >= 0")
        system = self._system()
        schedule = self.hazard_schedule()
        x0 = self.initial_state()
        if method == "ode":
            return mf.propagate_ode(system, x0, schedule.knots, schedule.hazards, t)
        if method == "expm":
            return mf.propagate_expm(system, x0, schedule.knots, schedule.hazards, t)
        raise ModelError(f"method must be 'ode' or 'expm', got {method!r}")

    def mean_field(self, days: int, method: str = "ode") -> pd.DataFrame:
        """Expected daily series from the (exact) mean-field ODE.

        Parameters
        ----------
        days
            Number of whole days to compute (rows ``day = 0 .. days-1``).
        method
            ``"ode"`` (``solve_ivp``, default) or ``"expm"`` (matrix exponential).

        Returns
        -------
        pandas.DataFrame
            One row per day ``[day, day + 1)``: ``day``, ``active`` (expected channels active at
            the end of the day), ``bans_per_day``, ``creations_per_day`` (organic plus
            re-created), ``organic_creations_per_day``, ``recreations_per_day``,
            ``pending_recreations`` (at the end of the day) and ``hazard_per_day`` (ban hazard
            averaged over the day).
        """
        return pd.DataFrame(self._mean_field_arrays(days, method))

    def _mean_field_arrays(self, days: int, method: str = "expm") -> dict[str, np.ndarray]:
        days = int(days)
        if days < 1:
            raise ModelError(f"days must be >= 1, got {days}")
        system = self._system()
        states = self.state_at(np.arange(days + 1, dtype=float), method=method)
        organic = np.diff(states[:, system.cum_organic])
        recreated = np.diff(states[:, system.cum_recreated])
        grid = np.arange(days + 1, dtype=float)
        return {
            "day": np.arange(days),
            "active": states[1:, system.active_slice].sum(axis=1),
            "bans_per_day": np.diff(states[:, system.cum_bans]),
            "creations_per_day": organic + recreated,
            "organic_creations_per_day": organic,
            "recreations_per_day": recreated,
            "pending_recreations": states[1:, system.pending_slice].sum(axis=1),
            "hazard_per_day": np.diff(self.hazard_schedule().cumulative(grid)),
        }

    def active_at(self, times: Sequence[float] | np.ndarray) -> np.ndarray:
        """Expected number of active channels at the given times (days, sorted)."""
        system = self._system()
        return self.state_at(times)[:, system.active_slice].sum(axis=1)

    # ------------------------------------------------------------------ derived answers
    def time_to_regain(
        self, fraction: float, after_crackdown: int | Crackdown = 0, horizon_days: float = 3650.0
    ) -> float:
        """Days after a crackdown ends until the mean active count is back at ``fraction``.

        The pre-crackdown level is the mean active count at the crackdown's start.

        Parameters
        ----------
        fraction
            Share of the pre-crackdown level to regain, in (0, 1]; values at or above the
            long-run ratio are never reached and give ``inf``.
        after_crackdown
            Index into :attr:`crackdowns` or a :class:`Crackdown` (added to the model).
        horizon_days
            How long after the crackdown to search.

        Returns
        -------
        float
            Days from the end of the crackdown (0 if the level never fell below the target).
        """
        model = self
        if isinstance(after_crackdown, Crackdown):
            cd = after_crackdown
            model = replace(self, crackdowns=(*self.crackdowns, cd))
        else:
            try:
                cd = self.crackdowns[after_crackdown]
            except (IndexError, TypeError) as exc:
                raise ModelError(
                    f"after_crackdown={after_crackdown!r} is not an index into "
                    f"{len(self.crackdowns)} crackdowns nor a Crackdown"
                ) from exc
        if not 0 < fraction:
            raise ModelError(f"fraction must be > 0, got {fraction!r}")
        pre = float(model.active_at([max(cd.start_day, 0.0)])[0])
        target = fraction * pre
        grid = cd.end_day + np.linspace(0.0, horizon_days, int(horizon_days * 4) + 1)
        active = model.active_at(grid)
        above = np.flatnonzero(active >= target)
        if above.size == 0:
            return np.inf
        i = int(above[0])
        if i == 0:
            return 0.0
        lo, hi = grid[i - 1], grid[i]
        root = optimize.brentq(lambda t: float(model.active_at([t])[0]) - target, lo, hi)
        return float(root - cd.end_day)

    def crackdown_needed(
        self, target_active: float, duration_days: float, start_day: float = 0.0
    ) -> float:
        """Extra hazard needed to bring the mean active count down to ``target_active``.

        Starting from the model's state at ``start_day``, a crackdown of ``duration_days``
        with the returned ``extra_hazard_per_day`` leaves ``target_active`` channels (in
        expectation) at its end.  ``duration_days = inf`` gives the sustained intensity that
        *holds* the stationary population at the target: ``lambda N_f / target - mu_0``.
        Returns 0 when the target is not below the level reached without any crackdown and
        ``inf`` when no finite intensity reaches it (the organic and re-created channels
        born during the window alone exceed the target).
        """
        if not target_active > 0:
            raise ModelError(f"target_active must be > 0, got {target_active!r}")
        if np.isinf(duration_days):
            need = (
                self.creation_rate_per_day * self.expected_channels_per_family() / target_active
                - self.ban_hazard_per_day
            )
            return max(float(need), 0.0)

        def end_level(h: float) -> float:
            cd = Crackdown(start_day, duration_days, h)
            model = replace(self, crackdowns=(*self.crackdowns, cd))
            return float(model.active_at([start_day + duration_days])[0])

        if end_level(0.0) <= target_active:
            return 0.0
        hi = max(1.0, 10.0 * self.ban_hazard_per_day)
        while end_level(hi) > target_active:
            hi *= 4.0
            if hi > 1e6:
                return np.inf
        return float(optimize.brentq(lambda h: end_level(h) - target_active, 0.0, hi, xtol=1e-10))

    # ------------------------------------------------------------------ simulation
    def _initial_counts(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        system = self._system()
        if self.initial_active == "equilibrium":
            x = mf.stationary_state(system, self.ban_hazard_per_day)
            active = rng.poisson(np.maximum(x[system.active_slice], 0.0))
            if system.n_stages:
                means = x[system.pending_slice].reshape(system.n_generations, system.n_stages)
                pending = rng.poisson(np.maximum(means, 0.0))
            else:
                pending = np.zeros((system.n_generations, 0), dtype=np.int64)
            return active, pending
        return np.array([round(float(self.initial_active))]), np.zeros((1, 0), dtype=np.int64)

    def simulate(
        self, days: float, seed: int | np.random.Generator | None = None
    ) -> CatMouseSimulation:
        """Exact stochastic simulation over ``[0, days)``.

        Vectorised by generation (see :mod:`analysis.models._cm_engine`): organic creations as
        a Poisson process, lifetimes by inverting the piecewise-linear cumulative hazard, each
        generation's re-creations forming the next.  With ``initial_active="equilibrium"`` the
        initial channels and pending re-creations are drawn from the stationary (Poisson)
        distribution; initial channels get a stationary age, so their ``created_at`` is
        negative and ``observation_start`` is 0 (left truncation).

        Parameters
        ----------
        days
            Observation window length in days.
        seed
            Seed or :class:`numpy.random.Generator`.

        Returns
        -------
        CatMouseSimulation
            Channel event table (``channel_events``) and daily series (``daily``).
        """
        rng = np.random.default_rng(seed)
        active, pending = self._initial_counts(rng)
        raw = simulate_generations(
            rng=rng,
            **self._engine_arguments(days),
            initial_active=active,
            initial_pending=pending,
            baseline_hazard=self.ban_hazard_per_day,
        )
        return CatMouseSimulation(raw=raw, model=self)

    def _engine_arguments(self, days: float) -> dict[str, object]:
        """Keyword arguments shared by the vectorised and the naive simulation engines."""
        return {
            "horizon": float(days),
            "creation_rate": self.creation_rate_per_day,
            "schedule": self.hazard_schedule(),
            "recreation_probability": self.recreation_probability,
            "cost_factor": self.recreation_cost_factor,
            "delay_mean": self.recreation_delay_mean_days,
            "delay_shape": int(self.recreation_delay_shape),
        }

    def simulate_naive(
        self, days: float, seed: int | np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Per-event Python-loop simulation (benchmark baseline); returns daily series.

        Only ``initial_active`` given as a number is supported (``"equilibrium"`` starts from
        the rounded stationary mean, without pending re-creations).
        """
        rng = np.random.default_rng(seed)
        init = (
            round(self.equilibrium_active())
            if self.initial_active == "equilibrium"
            else round(float(self.initial_active))
        )
        created, ended = simulate_naive(
            rng=rng, **self._engine_arguments(days), initial_active=init
        )
        is_initial = np.zeros(created.size, bool)
        is_initial[:init] = True
        return daily_series_from_events(created, ended, float(days), is_initial)

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls,
        data: pd.DataFrame,
        *,
        crackdowns: Sequence[Crackdown] = (),
        fixed: Mapping[str, float] | None = None,
        start: Mapping[str, float] | None = None,
        likelihood: Literal["poisson", "negbin"] = "poisson",
        recreation_cost_factor: float = 1.0,
        recreation_delay_shape: int = 1,
        fit_crackdown_hazards: bool = True,
        ci_method: Literal["profile", "wald", "bootstrap"] | None = None,
        n_bootstrap: int = 100,
        confidence: float = 0.95,
        seed: int | np.random.Generator | None = None,
        initial_active: float | Literal["equilibrium", "observed"] = "equilibrium",
        method: Literal["intensity", "independent_counts"] = "intensity",
        profile_parameters: Sequence[str] | None = None,
        profile_adjustment: Literal["none", "sandwich"] = "none",
    ) -> CatMouseFit:
        """Fit the model by maximum likelihood to observed daily series.

        The default likelihood (``method="intensity"``, issue 12) is written day by day given
        the observed past (Aalen's multiplicative intensity): bans are binomial given the
        channels at risk (active at the start of the day plus those created during it) and
        the day's integrated ban hazard; creations are Poisson with mean ``lambda + rho *
        sum_s bans_s w_{t-s}``, a renewal (Hawkes-like) term through the delay law, plus the
        re-creations pending from before day 0.  See :mod:`analysis.models._cm_intensity`.
        Intervals (default ``ci_method="profile"``): Wald on the log/logit scale with a
        sandwich covariance (each ban is re-created at most once, so re-creation counts are
        less variable than Poisson) for every parameter but the re-creation delay, whose
        interval is the profile likelihood's (its Wald interval covered 92.6 % under a
        sustained crackdown).  Measured on the exact simulator, 1,000 series of 180 days per
        setting (``tests/models/test_catmouse_intensity.py``, seed 2026), 95 % intervals for
        creation rate / ban hazard / re-creation probability / delay / crackdown hazard:
        notebook 05's setting 0.955 / 0.947 / 0.953 / 0.955 / 0.962; sustained crackdown
        0.955 / 0.939 / 0.950 / 0.951 / 0.954.  The plain profile over-covers the creation
        rate and the re-creation probability (0.99), hence Wald for them.

        Parameters
        ----------
        data
            One row per day, ``day`` = 0, 1, ... (days since the model origin; the first row
            need not be day 0) with ``bans`` and ``creations`` (counts during the day) and,
            preferably, ``active`` (channels active at the end of the day); ``*_per_day``
            spellings accepted.  ``method="intensity"`` needs contiguous days without gaps;
            the legacy method accepts any of the three columns and gaps.
        crackdowns
            Known crackdown windows; their ``extra_hazard_per_day`` is a starting value (fitted
            unless ``fit_crackdown_hazards=False``).  A window outside the observed days is
            not identified: its row is NaN, ``identified`` False, with a warning.
        fixed
            Parameters held fixed, by name (``creation_rate_per_day``, ``ban_hazard_per_day``,
            ``recreation_probability``, ``recreation_delay_mean_days``).
        start
            Starting values overriding the data-based defaults.
        likelihood
            Legacy method only: ``"poisson"`` or ``"negbin"`` (NB2, one dispersion per series).
        recreation_cost_factor
            ``c`` (see the class); ``method="intensity"`` needs 1 (the generation of a ban is
            not visible in daily counts).
        ci_method
            ``None`` (default): ``"profile"`` for the default method, ``"wald"`` for the legacy
            one.  ``"profile"``: profile-likelihood intervals for ``profile_parameters`` (see
            :mod:`analysis.models._cm_profile`; about 0.2 s of CPU per parameter on 180 days)
            and Wald for the other rows; ``"wald"``: on the log/logit scale (sandwich covariance for the
            default method, observed information for the legacy one); ``"bootstrap"``:
            parametric bootstrap, refitting ``n_bootstrap`` exact stochastic simulations of
            the fitted model (the check of the Wald intervals; percentile intervals).  The
            summary column ``interval`` says which one each row got.
        initial_active
            State at time 0.  ``"equilibrium"`` (default): re-creations pending at day 0 as
            for a population in its steady state (the legacy method also starts the mean
            field at the stationary state); ``"observed"``: nothing pending at day 0 and the
            channels active at its start, ``active[0] - creations[0] + bans[0]``, from the
            first row (which must be day 0); or a number of channels.  With ``active``
            observed, the default method always uses the observed stock as exposure.
        method
            ``"intensity"`` (default, conditional intensity) or ``"independent_counts"``
            (legacy, before issue 12: every daily count independent Poisson/NB around the
            mean field; the ``active`` stock is autocorrelated, so its Wald intervals are far
            too narrow: 50-88 % coverage measured in notebook 05's setting; kept for
            comparison and for series with gaps or ``active`` only).
        profile_parameters
            Parameters given profile intervals with ``ci_method="profile"``; default
            ``("recreation_delay_mean_days",)``, the one parameter whose Wald interval
            undercovers (see the coverage figures above).  A profile side along which the
            statistic stays below the critical value up to a factor 100 from the estimate is
            *open*: its end is reported as the edge of the parameter's range (0, ``inf``;
            0 or 1 for the probability), never as the search bound, the row is not
            identified, and an :class:`~analysis.errors.UnidentifiedWarning` says so.
        profile_adjustment
            ``"none"`` (default): the interval is ``{W <= chi2_1(confidence)}``, ``W`` the
            plain profile likelihood-ratio statistic; ``"sandwich"``: ``{W / k <= chi2_1}``
            with ``k = V_sandwich / V_naive`` of that parameter (Kent 1982), the adjustment
            for a misspecified likelihood.  The plain one is the default because it is the
            one that covers for the delay (the adjusted one: 0.930 sustained, 0.941
            notebook 05; the sandwich underestimates the delay's variance there).

        Returns
        -------
        CatMouseFit
            ``summary`` (``estimate``, ``se``, ``lower``, ``upper``, ``free``,
            ``identified``) has a bool column ``identified``: False (with an
            :class:`~analysis.errors.UnidentifiedWarning`) for every parameter whose interval
            is NaN or zero-width, touches a search bound, or spans more than a factor
            ``UNIDENTIFIED_CI_RATIO`` (100; odds for the re-creation probability), or whose
            profile interval is open.  With the default method such rows hold NaN instead of
            estimates (never printed as estimates); a profile row keeps its interval (the
            values a likelihood-ratio test does not reject).  ``interval`` names each row's
            interval (``"profile"``, ``"wald"``, ``"bootstrap"``, ``"fixed"``, ``"none"``);
            ``profiles_`` holds the evaluated profiles.  ``likelihood`` is ``"intensity"``
            for the default method.
        """
        from analysis.models._cm_fit import fit_catmouse

        return fit_catmouse(
            cls,
            data,
            crackdowns=tuple(crackdowns),
            fixed=dict(fixed or {}),
            start=dict(start or {}),
            likelihood=likelihood,
            recreation_cost_factor=recreation_cost_factor,
            recreation_delay_shape=recreation_delay_shape,
            fit_crackdown_hazards=fit_crackdown_hazards,
            ci_method=ci_method,
            n_bootstrap=n_bootstrap,
            confidence=confidence,
            seed=seed,
            initial_active=initial_active,
            method=method,
            profile_parameters=None if profile_parameters is None else tuple(profile_parameters),
            profile_adjustment=profile_adjustment,
        )


def daily_series_from_events(
    created: np.ndarray,
    ended: np.ndarray,
    days: float,
    is_initial: np.ndarray | None = None,
    organic: np.ndarray | None = None,
) -> pd.DataFrame:
    """Daily counts from channel creation / end times (days; ``ended >= days`` = censored).

    Channels with ``is_initial`` (active at time 0) count as active but not as creations.
    Returns ``day``, ``active`` (at the end of the day), ``bans`` and ``creations`` per day
    (and ``organic_creations`` / ``recreations`` when ``organic`` is given).
    """
    n_days = int(np.ceil(days))
    created = np.asarray(created, dtype=float)
    ended = np.asarray(ended, dtype=float)
    initial = np.zeros(created.size, bool) if is_initial is None else np.asarray(is_initial)
    born = (~initial) & (created < days)
    dead = ended < days
    creations = np.bincount(np.floor(created[born]).astype(np.int64), minlength=n_days)[:n_days]
    bans = np.bincount(np.floor(ended[dead]).astype(np.int64), minlength=n_days)[:n_days]
    active = int(initial.sum()) + np.cumsum(creations) - np.cumsum(bans)
    out = {
        "day": np.arange(n_days),
        "active": active.astype(np.int64),
        "bans": bans.astype(np.int64),
        "creations": creations.astype(np.int64),
    }
    if organic is not None:
        org = np.bincount(np.floor(created[born & organic]).astype(np.int64), minlength=n_days)[
            :n_days
        ]
        out["organic_creations"] = org
        out["recreations"] = creations - org
    return pd.DataFrame(out)


def daily_series_from_channel_events(
    events: pd.DataFrame,
    *,
    event_reasons: str | Sequence[str] | None = None,
    start: object = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Daily series for :meth:`CatMouseModel.fit` from a channel event table.

    Parameters
    ----------
    events
        Channel event table (:mod:`analysis.channels`), numeric days or datetimes.
    event_reasons
        Endings counted in ``bans`` (default any ending,
        :func:`analysis.channels.resolve_event_reasons`).  ``active`` falls at *every*
        ending, so with a subset the model's "ban" is that subset and the other endings are
        unmodelled removals (say so when reporting).
    start
        Day 0 (same time kind as the table).  Default: the earliest ``observation_start``
        if the column has values, else the earliest ``created_at``; datetimes are floored to
        midnight.  Channels created before ``start`` and not ended by then are the initial
        channels (counted in ``active``, not in ``creations``).
    source
        Name quoted in error messages.

    Returns
    -------
    pandas.DataFrame
        ``day`` (0, 1, ...), ``date`` (datetime tables only), ``active`` (at the end of the
        day), ``bans`` and ``creations`` (during the day).  The series stops at the last
        whole day before the earliest ``detection_horizon`` (after it, endings inferred from
        silence cannot be seen yet), else at ``observation_end``.  ``attrs`` hold ``start``,
        ``event_reasons`` and ``n_initial``.

    Raises
    ------
    ModelError
        No whole day between ``start`` and the end of the series.
    """
    from analysis.channels import (
        resolve_event_reasons,
        time_kind,
        to_days,
        validate_channel_events,
    )

    reasons = resolve_event_reasons(event_reasons)
    table = validate_channel_events(events, source=source)
    datetime = time_kind(table) == "datetime"
    if start is None:
        if "observation_start" in table.columns and table["observation_start"].notna().any():
            start = table["observation_start"].min()
        else:
            start = table["created_at"].min()
        if datetime:
            start = pd.Timestamp(start).floor("D")
    if datetime:
        start = pd.Timestamp(start)
        if start.tzinfo is not None:
            start = start.tz_convert("UTC").tz_localize(None)
    end = table["observation_end"].min()
    if "detection_horizon" in table.columns and table["detection_horizon"].notna().any():
        end = min(end, table["detection_horizon"].min())

    def days(values: pd.Series) -> np.ndarray:
        return to_days((values - start).to_numpy())

    if datetime:
        length = (pd.Timestamp(end) - start) / pd.Timedelta(days=1)
    else:
        length = float(end) - float(start)
    n_days = int(np.floor(length))
    if n_days < 1:
        raise ModelError(
            f"{source or 'channel event table'}: no whole day between start {start} and the "
            f"end of the series {end} (detection horizon or observation end)"
        )
    created = days(table["created_at"])
    ended = days(table["ended_at"])
    counted = table["end_reason"].isin(reasons).to_numpy(dtype=bool)
    initial = (created < 0) & ~(ended < 0)  # NaN ended: still active
    keep = initial | (created >= 0)
    ended_all = np.where(np.isnan(ended), np.inf, ended)
    frame = daily_series_from_events(created[keep], ended_all[keep], float(n_days), initial[keep])
    # ``daily_series_from_events`` counts every ending as a ban; keep only counted reasons
    ended_counted = np.where(counted[keep], ended_all[keep], np.inf)
    bans = np.bincount(
        np.floor(ended_counted[ended_counted < n_days]).astype(np.int64), minlength=n_days
    )[:n_days]
    frame["bans"] = bans.astype(np.int64)
    if datetime:
        frame.insert(1, "date", start + pd.to_timedelta(frame["day"], unit="D"))
    frame.attrs.update(
        {"start": start, "event_reasons": reasons, "n_initial": int(initial[keep].sum())}
    )
    return frame


@dataclass
class CatMouseSimulation:
    """One exact simulation: raw per-channel arrays plus derived tables.

    The data are **synthetic** (``channel_events.attrs["synthetic"] is True``; ids start with
    ``"synthetic-"``).
    """

    raw: RawSimulation
    model: CatMouseModel
    _events: pd.DataFrame | None = None
    _daily: pd.DataFrame | None = None

    @property
    def n_channels(self) -> int:
        """Number of channels (initial ones included)."""
        return int(self.raw.created.size)

    @property
    def daily(self) -> pd.DataFrame:
        """Daily series (synthetic): ``day``, ``active``, ``bans``, ``creations``, ``organic_creations``, ``recreations``."""
        if self._daily is None:
            raw = self.raw
            initial = ~np.isnan(raw.observed_from)
            self._daily = daily_series_from_events(
                raw.created, raw.ended, raw.horizon, initial, raw.organic
            )
        return self._daily

    @property
    def channel_events(self) -> pd.DataFrame:
        """The channel event table (contract of :mod:`analysis.channels`), numeric days.

        Extra columns: ``generation`` (bans so far in the family) and ``organic``.
        """
        if self._events is None:
            from analysis.channels import validate_channel_events

            raw = self.raw
            n = raw.created.size
            ids = pd.Series(np.arange(n)).astype(str)
            channel_id = "synthetic-" + ids
            family_id = "synthetic-family-" + pd.Series(raw.family).astype(str)
            pred = pd.Series(raw.predecessor)
            predecessor_id = ("synthetic-" + pred.astype(str)).where(pred >= 0, None)
            banned = raw.ended < raw.horizon
            df = pd.DataFrame(
                {
                    "channel_id": channel_id,
                    "family_id": family_id,
                    "created_at": raw.created,
                    "ended_at": np.where(banned, raw.ended, np.nan),
                    "end_reason": pd.Series(np.where(banned, "banned", None), dtype=object),
                    "observation_end": np.full(n, raw.horizon),
                    "observation_start": raw.observed_from,
                    "predecessor_id": predecessor_id,
                    "generation": raw.generation,
                    "organic": raw.organic,
                }
            )
            out = validate_channel_events(df, source="CatMouseModel.simulate (synthetic)")
            out.attrs["synthetic"] = True
            self._events = out
        return self._events


@dataclass
class CatMouseFit:
    """Result of :meth:`CatMouseModel.fit`.

    Attributes
    ----------
    model_
        The fitted :class:`CatMouseModel`.
    params_
        Point estimates by name (``pandas.Series``).
    summary
        DataFrame indexed by parameter: ``estimate``, ``se`` (on the log / logit scale for
        Wald), ``lower``, ``upper`` (CI at ``confidence``), ``free``; derived rows
        ``equilibrium_active``, ``mean_lifetime_days``, ``expected_recreations_per_ban``;
        ``identified`` (bool, see :meth:`CatMouseModel.fit`); ``interval``: the kind of each
        row's interval (``"profile"``, ``"wald"``, ``"bootstrap"``, ``"fixed"``, ``"none"``).
        For a ``"profile"`` row ``se`` is still the Wald (sandwich) standard error.
    loglik_, aic_
        Maximised log-likelihood and AIC.
    fitted_
        Mean-field daily series at the estimate.
    profiles_
        Per profiled parameter: the evaluated profile (``value``, ``internal`` scale value,
        ``loglik``, ``lr`` = 2 (max logL - profile logL), ``lr_adjusted`` = ``lr / k``);
        ``attrs`` hold ``adjustment`` (``k``), ``critical`` (``k * chi2_1``), ``open_lower``,
        ``open_upper``.
    """

    model_: CatMouseModel
    params_: pd.Series
    summary: pd.DataFrame
    loglik_: float
    aic_: float
    data_: pd.DataFrame
    fitted_: pd.DataFrame
    likelihood: str
    confidence: float
    dispersion_: dict[str, float]
    profiles_: dict[str, pd.DataFrame] = field(default_factory=dict)

    def plot(self, ax=None):
        """Observed series (points) against the fitted mean field (lines); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        for name in SERIES_NAMES:
            if name in self.data_:
                col = (
                    "bans_per_day"
                    if name == "bans"
                    else ("creations_per_day" if name == "creations" else "active")
                )
                line = ax.plot(self.fitted_["day"], self.fitted_[col], label=f"{name} (fitted)")
                ax.plot(
                    self.data_["day"],
                    self.data_[name],
                    ".",
                    ms=3,
                    color=line[0].get_color(),
                    alpha=0.6,
                    label=f"{name} (observed)",
                )
        for cd in self.model_.crackdowns:
            ax.axvspan(cd.start_day, cd.end_day, color="0.85", zorder=0)
        ax.set_xlabel("day")
        ax.set_ylabel("channels")
        ax.legend(fontsize=8)
        return ax
