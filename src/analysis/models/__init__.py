"""Statistical models of channel lifetimes, reappearance, recovery and the cat-and-mouse game.

Each model lives in its own sub-module; the public classes are also reachable from here, loaded
on first use so that importing one model does not import the others::

    from analysis.models import KaplanMeier, CatMouseModel

===========================  ===========================================================
``survival``                 KaplanMeier, ParametricSurvival, logrank_test
``competing``                AalenJohansen, CauseSpecificHazard (competing risks)
``fine_gray``                FineGray (subdistribution hazard regression)
``cox``                      CoxPH (counting process, strata, ties, cluster-robust)
``counting_process``         split_at_windows (crackdown windows as time-varying covariates)
``aft``                      AFTRegression (Weibull, log-normal, log-logistic)
``frailty``                  GammaFrailtyWeibull (shared gamma frailty by lineage)
``interval_censoring``       TurnbullEstimator, IntervalCensoredParametric, crawl_intervals
``published_points``         fit_published_points, constant_hazard_test, PublishedPointsFit
``reappearance``             Reappearance, reappearance_durations, compare_cohorts,
                             CohortComparison, family_clusters
``recovery``                 RecoveryCurve, compare_shapes
``its``                      InterruptedTimeSeries
``changepoint``              NegBinChangepoints, PoissonChangepoints, pelt_poisson
``catmouse``                 CatMouseModel, CatMouseFit, Crackdown,
                             daily_series_from_channel_events
``mechanisms``               MechanismModel, ChannelType, CapacityModel, TypeMixture,
                             fit_two_compartments, fit_two_compartments_conditional
``calibration``              calibrate, calibrate_public_anchors
``calibration_sensitivity``  assumption_grid, crest_importance_sampling
===========================  ===========================================================
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "KaplanMeier": "survival",
    "ParametricSurvival": "survival",
    "logrank_test": "survival",
    "AalenJohansen": "competing",
    "CauseSpecificHazard": "competing",
    "FineGray": "fine_gray",
    "CoxPH": "cox",
    "split_at_windows": "counting_process",
    "AFTRegression": "aft",
    "GammaFrailtyWeibull": "frailty",
    "TurnbullEstimator": "interval_censoring",
    "IntervalCensoredParametric": "interval_censoring",
    "crawl_intervals": "interval_censoring",
    "fit_published_points": "published_points",
    "constant_hazard_test": "published_points",
    "PublishedPointsFit": "published_points",
    "Reappearance": "reappearance",
    "reappearance_durations": "reappearance",
    "compare_cohorts": "reappearance",
    "CohortComparison": "reappearance",
    "family_clusters": "reappearance",
    "RecoveryCurve": "recovery",
    "compare_shapes": "recovery",
    "InterruptedTimeSeries": "its",
    "NegBinChangepoints": "changepoint",
    "PoissonChangepoints": "changepoint",
    "pelt_poisson": "changepoint",
    "CatMouseModel": "catmouse",
    "CatMouseFit": "catmouse",
    "Crackdown": "catmouse",
    "daily_series_from_channel_events": "catmouse",
    "MechanismModel": "mechanisms.model",
    "ChannelType": "mechanisms.model",
    "CapacityModel": "mechanisms.capacity",
    "TypeMixture": "mechanisms.types_fit",
    "fit_two_compartments": "mechanisms.compartments_fit",
    "fit_two_compartments_conditional": "mechanisms.compartments_conditional",
    "calibrate": "calibration",
    "calibrate_public_anchors": "calibration",
    "assumption_grid": "calibration_sensitivity",
    "crest_importance_sampling": "calibration_sensitivity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis.models' has no attribute {name!r}")
    return getattr(import_module(f"analysis.models.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
