"""Calibration of the cat-and-mouse model to published aggregate anchors, with profiles.

Each anchor is one published number, read from ``data/processed`` by figure id (see
:mod:`analysis.models.calibration_anchors`), with an observation model: a count or number
with a stated log-scale dispersion, a stated range (read as the central 95 % of a log-normal),
a one-sided "at least", or the mean lifespan of ``n`` channels (the mean of ``n`` exponential
lifetimes).  :func:`calibrate` maximises the summed log-likelihood over the free parameters
(log or logit scale, within search bounds) and profiles them: the 95 % profile interval is
where ``2 (max logL - profile logL) <= 3.84``.

The output is a sensitivity analysis, not a point estimate to quote:

* an interval that reaches the edge of the search range is **not identified** on that side
  (``lower_identified`` / ``upper_identified`` False);
* a profile whose *nuisance* parameters sit at their own search bounds inside the interval is
  flagged (``nuisance_at_bound``): its ends may be artefacts of that bound;
* the degrees of freedom (anchors minus free parameters) are reported; zero means the anchors
  are reproduced exactly whatever the fixed assumptions, so only the assumption grid
  (:mod:`analysis.models.calibration_sensitivity`) says how much a parameter is pinned down;
* an unidentified parameter raises :class:`~analysis.errors.UnidentifiedWarning`.

The published scenarios live in :mod:`analysis.models.calibration_scenarios`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from analysis.errors import ModelError, UnidentifiedWarning
from analysis.models._calibration_profile import BOUND_TOL, Transform, minimise, profile_parameter

if TYPE_CHECKING:
    from analysis.models.calibration_anchors import AnchorFigure

__all__ = [
    "Anchor",
    "CalibrationProblem",
    "CalibrationResult",
    "calibrate",
    "calibrate_public_anchors",
]

Z95 = float(stats.norm.ppf(0.975))
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Anchor:
    """One published number and its observation model.

    Parameters
    ----------
    name
        Label.
    key
        Key of the prediction (see :class:`CalibrationProblem`) compared with ``observed``.
    observed
        The published value (for ranges: the geometric mean, see :meth:`from_range`).
    kind
        ``"poisson"`` (a count), ``"lognormal"`` (log(observed) ~ N(log predicted, sd_log)),
        ``"at_least"`` (one-sided: P(log observed <= log predicted + noise)), or
        ``"mean_lifetime"`` (mean of ``n`` exponential lifetimes with predicted mean).
    sd_log
        Log-scale sd for ``lognormal`` / ``at_least``.
    n
        Number of channels behind a ``mean_lifetime`` anchor.
    source
        URL where the number was seen.
    figure_ids
        Rows of ``data/processed`` the number was read from.
    dispersion_note
        Where ``sd_log`` comes from (a stated range, an assumption).
    """

    name: str
    key: str
    observed: float
    kind: Literal["poisson", "lognormal", "at_least", "mean_lifetime"]
    sd_log: float = 0.1
    n: int = 1
    source: str = ""
    figure_ids: tuple[str, ...] = ()
    dispersion_note: str = ""

    @classmethod
    def from_range(
        cls,
        name: str,
        key: str,
        low: float,
        high: float,
        source: str = "",
        figure_ids: tuple[str, ...] = (),
    ) -> Anchor:
        """Log-normal anchor whose central 95 % interval is ``[low, high]``."""
        if not 0 < low < high:
            raise ModelError(f"anchor {name!r}: need 0 < low < high, got {low!r}, {high!r}")
        return cls(
            name,
            key,
            float(np.sqrt(low * high)),
            "lognormal",
            sd_log=float(np.log(high / low) / (2 * Z95)),
            source=source,
            figure_ids=figure_ids,
            dispersion_note=f"stated range {low:g}-{high:g} read as a central 95 % interval",
        )

    @classmethod
    def from_figure(
        cls,
        name: str,
        key: str,
        figure: AnchorFigure,
        kind: Literal["poisson", "lognormal", "at_least", "mean_lifetime"],
        *,
        sd_log: float = 0.1,
        n: int = 1,
        dispersion_note: str = "",
        scale: float = 1.0,
    ) -> Anchor:
        """Anchor on one dataset row; a stated range becomes :meth:`from_range`.

        ``scale`` converts the figure's unit (e.g. 0.01 for percent to a share).
        """
        if not np.isfinite(figure.value):
            raise ModelError(f"anchor {name!r}: figure {figure.figure_id} has no value")
        if kind == "lognormal" and figure.has_range and figure.qualifier == "range":
            return cls.from_range(
                name,
                key,
                scale * figure.value_low,
                scale * figure.value_high,
                source=figure.url,
                figure_ids=(figure.figure_id,),
            )
        return cls(
            name,
            key,
            scale * figure.value,
            kind,
            sd_log=sd_log,
            n=n,
            source=figure.url,
            figure_ids=(figure.figure_id,),
            dispersion_note=dispersion_note,
        )

    def loglik(self, predicted: float) -> float:
        """Log-likelihood of the observed value given the model prediction."""
        predicted = float(predicted)
        if not math.isfinite(predicted) or predicted <= 0:
            return -1e12
        if self.kind == "poisson":  # closed forms: scipy.stats costs ~0.1 ms a call
            k = round(self.observed)
            return k * math.log(predicted) - predicted - math.lgamma(k + 1)
        if self.kind == "lognormal":
            z = (math.log(self.observed) - math.log(predicted)) / self.sd_log
            return -0.5 * z * z - math.log(self.sd_log) - _HALF_LOG_2PI
        if self.kind == "at_least":
            return float(
                special.log_ndtr((math.log(predicted) - math.log(self.observed)) / self.sd_log)
            )
        if self.kind == "mean_lifetime":
            return self.n * (-math.log(predicted) - self.observed / predicted)
        raise ModelError(f"unknown anchor kind {self.kind!r}")


@dataclass
class CalibrationProblem:
    """Anchors, a prediction function and the free parameters with search ranges.

    ``predict(params) -> {key: value}`` maps a full parameter dict (free and fixed, natural
    units) to the predicted anchor values.  ``free[name] = (start, lower, upper)`` (positive;
    searched on the log scale, or the logit scale when ``upper < 1``).  ``fixed`` holds the
    assumptions (inputs, never estimates).
    """

    name: str
    anchors: list[Anchor]
    predict: Callable[[dict[str, float]], dict[str, float]]
    free: dict[str, tuple[float, float, float]]
    fixed: dict[str, float] = field(default_factory=dict)
    notes: str = ""
    input_figure_ids: list[str] = field(default_factory=list)

    @property
    def dof(self) -> int:
        """Anchors minus free parameters (0: saturated, the anchors are matched exactly)."""
        return len(self.anchors) - len(self.free)

    @property
    def figure_ids(self) -> list[str]:
        """Every figure id behind the anchors, in anchor order."""
        return [f for a in self.anchors for f in a.figure_ids]

    @property
    def all_figure_ids(self) -> list[str]:
        """Figure ids of the anchors, then of the published inputs."""
        return [*self.figure_ids, *(f for f in self.input_figure_ids if f not in self.figure_ids)]


@dataclass
class CalibrationResult:
    """Output of :func:`calibrate`.

    Attributes
    ----------
    params_
        Free parameters at the maximum and the fixed assumptions.
    summary
        One row per free parameter: ``estimate``, ``lower``, ``upper``, ``lower_identified``,
        ``upper_identified``, ``nuisance_at_bound`` (names of other parameters at their
        search bound somewhere inside the interval, ``""`` if none), ``estimate_at_bound``,
        ``identified`` (both sides bounded, no nuisance at a bound), ``search_lower``,
        ``search_upper``.
    anchors
        One row per anchor: observed, predicted, log-likelihood, figure ids, source.
    profiles
        Per parameter: the profile grid, log-likelihood, deviance and the nuisance values.
    dof_
        Anchors minus free parameters.
    """

    problem: CalibrationProblem
    params_: pd.Series
    summary: pd.DataFrame
    anchors: pd.DataFrame
    profiles: dict[str, pd.DataFrame]
    loglik_: float
    dof_: int = 0

    @property
    def identified(self) -> list[str]:
        """Free parameters whose profile interval is bounded on both sides, no flags."""
        return [str(p) for p in self.summary.index[self.summary["identified"]]]


def _total_loglik(problem: CalibrationProblem, params: dict[str, float]) -> float:
    try:
        pred = problem.predict(params)
    except (ModelError, ValueError, FloatingPointError, np.linalg.LinAlgError):
        return -1e12
    return float(sum(a.loglik(pred[a.key]) for a in problem.anchors))


def calibrate(
    problem: CalibrationProblem,
    profile_points: int = 17,
    confidence: float = 0.95,
    profile: Sequence[str] | None = None,
    warn: bool = True,
    multistart: bool = True,
) -> CalibrationResult:
    """Maximum-likelihood calibration with profile-likelihood intervals.

    Each profile is walked outward from the estimate, every grid point starting its search
    of the nuisance parameters from the neighbouring point's solution (warm starts), until
    two consecutive points lie outside the interval (points farther out cannot change it);
    the interval ends are then refined by Brent's method from the bracketing points'
    solutions, to 0.01 on the search scale whatever the grid spacing.

    Parameters
    ----------
    problem
        The anchors and parameters.
    profile_points
        Grid points per profile (evenly spaced on the search scale, plus the estimate).
    confidence
        Profile interval level (threshold ``chi2_1`` quantile).
    profile
        Free parameters to profile (default: all); the others get NaN intervals.
    warn
        Emit :class:`~analysis.errors.UnidentifiedWarning` for unidentified parameters and
        nuisance parameters at a bound.
    multistart
        Search the maximum from four starts and polish it (default); False: from the
        problem's start values only (a warm start, e.g. the neighbouring assumption's
        estimate in :func:`~analysis.models.calibration_sensitivity.assumption_grid`).

    Returns
    -------
    CalibrationResult
    """
    names = list(problem.free)
    tr = Transform(problem, names)
    lo = tr.fwd([problem.free[n][1] for n in names])
    hi = tr.fwd([problem.free[n][2] for n in names])
    x0 = tr.fwd([problem.free[n][0] for n in names])
    bounds = list(zip(lo, hi, strict=True))

    def params_of(x: np.ndarray) -> dict[str, float]:
        p = dict(problem.fixed)
        p.update({n: float(v) for n, v in zip(names, tr.back(np.asarray(x)), strict=True)})
        return p

    def neg(x: np.ndarray) -> float:
        return -_total_loglik(problem, params_of(x))

    starts = [x0, (lo + hi) / 2, 0.75 * x0 + 0.25 * lo, 0.75 * x0 + 0.25 * hi]
    best = minimise(neg, starts if multistart else [x0], bounds, polish=multistart)
    x_hat, ll_hat = np.asarray(best.x), -float(best.fun)
    threshold = stats.chi2.ppf(confidence, 1) / 2.0
    width = hi - lo
    at_bound = (np.abs(x_hat - lo) < BOUND_TOL * width) | (np.abs(hi - x_hat) < BOUND_TOL * width)
    wanted = names if profile is None else list(profile)
    profiles: dict[str, pd.DataFrame] = {}
    rows = []
    for i, name in enumerate(names):
        row = {
            "parameter": name,
            "estimate": tr.one(i, x_hat[i]),
            "lower": np.nan,
            "upper": np.nan,
            "lower_identified": False,
            "upper_identified": False,
            "nuisance_at_bound": "",
            "estimate_at_bound": bool(at_bound[i]),
            "search_lower": tr.one(i, lo[i]),
            "search_upper": tr.one(i, hi[i]),
        }
        if name in wanted:
            prof, result = profile_parameter(
                i, names, neg, x_hat, ll_hat, lo, hi, bounds, threshold, profile_points, tr
            )
            profiles[name] = prof
            row.update(result)
        rows.append(row)
    summary = pd.DataFrame(rows).set_index("parameter")
    summary["identified"] = (
        summary["lower_identified"]
        & summary["upper_identified"]
        & (summary["nuisance_at_bound"] == "")
        & ~summary["estimate_at_bound"]
    )
    p_hat = params_of(x_hat)
    pred = problem.predict(p_hat)
    anchors = pd.DataFrame(
        [
            {
                "anchor": a.name,
                "kind": a.kind,
                "observed": a.observed,
                "predicted": pred[a.key],
                "loglik": a.loglik(pred[a.key]),
                "sd_log": a.sd_log if a.kind in ("lognormal", "at_least") else np.nan,
                "figure_ids": ";".join(a.figure_ids),
                "source": a.source,
                "dispersion_note": a.dispersion_note,
            }
            for a in problem.anchors
        ]
    ).set_index("anchor")
    result = CalibrationResult(
        problem=problem,
        params_=pd.Series({**problem.fixed, **{n: p_hat[n] for n in names}}),
        summary=summary,
        anchors=anchors,
        profiles=profiles,
        loglik_=ll_hat,
        dof_=problem.dof,
    )
    if warn:
        _warn(result, wanted)
    return result


def _warn(result: CalibrationResult, wanted: Sequence[str]) -> None:
    s = result.summary.loc[list(wanted)]
    open_sides = s.index[~(s["lower_identified"] & s["upper_identified"])].tolist()
    flagged = s.index[s["nuisance_at_bound"] != ""].tolist()
    msgs = []
    if open_sides:
        msgs.append(f"not identified (interval reaches the search bound): {open_sides}")
    if flagged:
        msgs.append(f"nuisance parameters at a search bound inside the interval of {flagged}")
    if result.dof_ <= 0:
        msgs.append(
            f"saturated: {len(result.problem.anchors)} anchors for "
            f"{len(result.problem.free)} free parameters (dof {result.dof_})"
        )
    if msgs:
        warnings.warn(
            f"{result.problem.name}: " + "; ".join(msgs), UnidentifiedWarning, stacklevel=3
        )


def calibrate_public_anchors(
    profile_points: int = 17, processed: str | None = None
) -> dict[str, CalibrationResult]:
    """Run the public-anchor scenarios at their default assumptions (see
    :func:`analysis.models.calibration_scenarios.public_problems`)."""
    from analysis.models.calibration_scenarios import public_problems

    return {
        key: calibrate(p, profile_points=profile_points)
        for key, p in public_problems(processed).items()
    }


def __getattr__(name: str) -> object:
    """Scenario builders moved to :mod:`analysis.models.calibration_scenarios`."""
    if name in ("telegram_nov2019_problem", "crest_2018_2019_problem", "twitter_april2015_problem"):
        from analysis.models import calibration_scenarios

        return getattr(calibration_scenarios, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
