"""Private: piecewise-constant functions of time (ban hazards, creation rates, capacity).

One small class shared by the engines and the mean field: ``values[k]`` holds on
``[knots[k], knots[k+1])`` and the last value holds for ever.  Its cumulative integral is
piecewise linear, so both the integral and its inverse are exact, which is what the exact
simulation of a time-varying rate needs (lifetimes by ``H^{-1}(H(t0) + E)``, inhomogeneous
Poisson creations by ``Lambda^{-1}(U Lambda(T))``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.errors import ModelError
from analysis.models.catmouse import Crackdown


@dataclass(frozen=True)
class PiecewiseConstant:
    """``values[k]`` on ``[knots[k], knots[k+1])`` (knots sorted, ``knots[0] == 0``)."""

    knots: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        knots = np.asarray(self.knots, dtype=float)
        values = np.asarray(self.values, dtype=float)
        if knots.ndim != 1 or knots.size != values.size or knots.size == 0:
            raise ModelError("PiecewiseConstant needs as many knots as values (>= 1)")
        if knots[0] != 0.0 or np.any(np.diff(knots) <= 0):
            raise ModelError(f"knots must start at 0 and increase strictly, got {knots!r}")
        if np.any(values < 0) or not np.all(np.isfinite(values)):
            raise ModelError(f"values must be finite and >= 0, got {values!r}")
        object.__setattr__(self, "knots", knots)
        object.__setattr__(self, "values", values)

    @classmethod
    def constant(cls, value: float) -> PiecewiseConstant:
        return cls(np.array([0.0]), np.array([float(value)]))

    def at(self, t: np.ndarray | float) -> np.ndarray:
        """Value at time(s) ``t`` (right-continuous)."""
        idx = np.clip(np.searchsorted(self.knots, t, side="right") - 1, 0, None)
        return self.values[idx]

    @property
    def _cum_knots(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(np.diff(self.knots) * self.values[:-1])])

    def cumulative(self, t: np.ndarray | float) -> np.ndarray:
        """Integral from 0 to ``t`` (``t >= 0``)."""
        t = np.asarray(t, dtype=float)
        idx = np.clip(np.searchsorted(self.knots, t, side="right") - 1, 0, None)
        return self._cum_knots[idx] + self.values[idx] * (t - self.knots[idx])

    def inverse_cumulative(self, h: np.ndarray | float) -> np.ndarray:
        """Smallest ``t`` with ``cumulative(t) = h`` (``inf`` when never reached)."""
        h = np.asarray(h, dtype=float)
        ck = self._cum_knots
        idx = np.clip(np.searchsorted(ck, h, side="right") - 1, 0, None)
        # a zero-valued piece has the same cumulative at both ends: step past it
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.knots[idx] + (h - ck[idx]) / self.values[idx]
        return np.where(self.values[idx] > 0, t, np.inf)

    def shifted(self, offset: float) -> PiecewiseConstant:
        """``values + offset`` (offset >= -min(values))."""
        return PiecewiseConstant(self.knots, self.values + float(offset))

    def scaled(self, factor: float) -> PiecewiseConstant:
        return PiecewiseConstant(self.knots, self.values * float(factor))


def crackdown_extra(crackdowns: Iterable[Crackdown]) -> PiecewiseConstant:
    """Extra ban hazard of overlapping :class:`~analysis.models.catmouse.Crackdown` windows.

    Same convention as :meth:`analysis.models.catmouse.CatMouseModel.hazard_schedule`:
    windows add up; a window starting before day 0 counts from day 0.
    """
    crackdowns = tuple(crackdowns)
    edges = {0.0}
    for cd in crackdowns:
        if not isinstance(cd, Crackdown):
            raise ModelError(f"crackdowns must hold Crackdown objects, got {cd!r}")
        edges.update({max(cd.start_day, 0.0), max(cd.end_day, 0.0)})
    knots = np.array(sorted(edges))
    extra = np.zeros(knots.size)
    for cd in crackdowns:
        inside = (knots >= cd.start_day) & (knots < cd.end_day)
        extra[inside] += cd.extra_hazard_per_day
    return PiecewiseConstant(knots, extra)


def creation_schedule(rate: float | Sequence[tuple[float, float]]) -> PiecewiseConstant:
    """A creation rate: a number, or ``[(start_day, rate_per_day), ...]`` steps from day 0."""
    if isinstance(rate, int | float | np.floating | np.integer):
        if not rate >= 0:
            raise ModelError(f"creation rate must be >= 0, got {rate!r}")
        return PiecewiseConstant.constant(float(rate))
    try:
        steps = sorted((float(s), float(r)) for s, r in rate)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"creation rate must be a number or [(start_day, rate_per_day), ...], got {rate!r}"
        ) from exc
    if not steps or steps[0][0] != 0.0:
        raise ModelError(f"creation-rate steps must start at day 0, got {rate!r}")
    return PiecewiseConstant(np.array([s for s, _ in steps]), np.array([r for _, r in steps]))


def merge_knots(*schedules: PiecewiseConstant) -> np.ndarray:
    """Sorted union of the knots of several schedules."""
    return np.unique(np.concatenate([s.knots for s in schedules]))
