"""Statistical models of channel lifetimes, reappearance, recovery and the cat-and-mouse game.

Each model lives in its own sub-module; the public classes are also reachable from here, loaded
on first use so that importing one model does not import the others::

    from analysis.models import KaplanMeier, CatMouseModel

=========================  ===============================================
``survival``               KaplanMeier, ParametricSurvival, logrank_test
``reappearance``           Reappearance, reappearance_durations, compare_cohorts
``recovery``               RecoveryCurve
``its``                    InterruptedTimeSeries
``changepoint``            PoissonChangepoints, pelt_poisson
``catmouse``               CatMouseModel, Crackdown, daily_series_from_channel_events
``calibration``            calibrate, calibrate_public_anchors
=========================  ===============================================
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "KaplanMeier": "survival",
    "ParametricSurvival": "survival",
    "logrank_test": "survival",
    "Reappearance": "reappearance",
    "reappearance_durations": "reappearance",
    "compare_cohorts": "reappearance",
    "RecoveryCurve": "recovery",
    "InterruptedTimeSeries": "its",
    "PoissonChangepoints": "changepoint",
    "pelt_poisson": "changepoint",
    "CatMouseModel": "catmouse",
    "Crackdown": "catmouse",
    "daily_series_from_channel_events": "catmouse",
    "calibrate": "calibration",
    "calibrate_public_anchors": "calibration",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis.models' has no attribute {name!r}")
    return getattr(import_module(f"analysis.models.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
