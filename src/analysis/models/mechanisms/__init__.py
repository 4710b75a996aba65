"""Mechanisms of resilience for the cat-and-mouse model (issue 16, item 4).

The one-platform model of :mod:`analysis.models.catmouse` is the null model.  This subpackage
adds what the literature says drives resilience, each with an exact stochastic engine and a
mean field checked against it:

* ``model``: :class:`MechanismModel`, two compartments (migration and return), channel
  types (frailty), time-varying creation, free initial state, audience (followers,
  exposure); exact linear mean field and exact episode engine;
* ``capacity``: :class:`CapacityModel`, saturating enforcement (moderation capacity);
  Gillespie engine, mean-field *approximation*, exact stationary law where one exists;
* ``types_fit``: two-type mixtures, fitted from lifetimes (:class:`TypeMixture`) and from
  Conway et al.'s published points (:func:`conway_points`, :func:`two_type_solutions`);
* ``compartments_conditional``: two-compartment fit from both platforms' daily flows given
  their history (intervals with tested coverage);
* ``compartments_fit``: two-compartment fit by the mean-field likelihood (free initial
  state; its intervals are too narrow and it says so);
* ``policy`` (and ``policy_plot``): the policy experiments of notebook 05 rerun under each
  mechanism, and their verdict figure.

Import from the submodules (``from analysis.models.mechanisms.model import MechanismModel``);
the names below are re-exported for convenience.  Everything simulated is synthetic.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "MechanismModel": "model",
    "ChannelType": "model",
    "MechanismSimulation": "model",
    "CapacityModel": "capacity",
    "stationary_distribution": "capacity",
    "TypeMixture": "types_fit",
    "conway_points": "types_fit",
    "two_type_solutions": "types_fit",
    "fit_two_compartments": "compartments_fit",
    "fit_two_compartments_conditional": "compartments_conditional",
    "policy_table": "policy",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis.models.mechanisms' has no attribute {name!r}")
    return getattr(import_module(f"analysis.models.mechanisms.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
