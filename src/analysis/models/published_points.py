"""Lifetime distributions fitted to published grouped survival points.

Studies report survival as points: "over 30 % of the accounts were suspended within two days,
63 % within three months", with the sample size ``n``.  Such points are grouped,
interval-censored data.  Several horizons ``t1 < ... < tk`` of one cohort are nested cumulative
shares of the same accounts, so the counts of the intervals ``(0, t1], (t1, t2], ...,
(tk, inf)`` are one multinomial sample with cell probabilities ``S(t_{j-1}) - S(t_j)``
(``S(inf) = 0``: the last cell also holds the never-suspended).  Points from different cohorts
are independent (one point alone is binomial).  The likelihood is the interval-censored one of
:mod:`analysis.models._interval_lik`, shared with the crawl-data fits of
:mod:`analysis.models.interval_censoring`; the families and parameters are those of
:class:`analysis.models.survival.ParametricSurvival` (exponential, Weibull, log-normal,
log-logistic; optional cure fraction ``pi``: ``S(t) = pi + (1 - pi) S_u(t)``).

Input: one row per point
------------------------
``horizon_days``   float > 0: the "within t days".
``share``          in [0, 1], or ``count`` (number with the event by t); one of the two.
``n``              sample size (required: a share without its n carries no precision).
``cohort``         optional: rows of one cohort are nested shares of the same ``n`` accounts;
                   different cohorts are independent.  Without the column all rows are one
                   cohort (then ``n`` must be equal on every row).
``denominator``    optional, per cohort: ``"all"`` (default) - share of all ``n`` monitored
                   accounts; ``"events"`` - share among the ``n`` accounts that had the event
                   by ``condition_horizon_days`` (required column then).  The second is the
                   Conway pitfall: "30 % of the suspended accounts went within two days" is not
                   "30 % of the accounts"; it is fitted by the conditional likelihood
                   ``(F(t_j) - F(t_{j-1})) / F(H)``, which cannot identify a cure fraction.

Intervals: Wald (delta method, log scale for positive parameters, logit for ``pi``) or profile
likelihood (``ci="profile"``, default).  The pointwise band of :meth:`PublishedPointsFit.ci_cdf`
is a delta-method band on the logit scale.  ``df_`` counts the independent shares; a family
with as many parameters as shares is *saturated* (it reproduces them exactly; no check of fit
is possible: warned), with more it is not identified (error).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError, UnidentifiedWarning
from analysis.models import _interval_lik as il
from analysis.models import _interval_summary as isum
from analysis.models._parametric import FAMILIES
from analysis.models._points_input import (
    PointsInputError,
    UnidentifiedModelError,
    _Prepared,
    points_to_intervals,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "ConstantHazardResult",
    "PointsInputError",
    "PublishedPointsFit",
    "UnidentifiedModelError",
    "constant_hazard_test",
    "fit_published_points",
    "points_to_intervals",
]

SUMMARY_COLUMNS = ["estimate", "se", "ci_lower", "ci_upper", "method"]


class PublishedPointsFit:
    """Result of :func:`fit_published_points` (see the module docstring for the model).

    Attributes
    ----------
    family, cure, ci, alpha
        The configuration of the fit.
    params_ : pandas.Series
        Estimates on the natural scale (``scale``/``shape``, ``mu``/``sigma`` for log-normal,
        ``scale`` for exponential; ``cure_fraction`` with ``cure``).
    summary : pandas.DataFrame
        ``estimate, se, ci_lower, ci_upper, method`` per parameter.
    loglik_, aic_ : float
        Multinomial log-likelihood (without the constant) and AIC.
    df_ : int
        Independent shares in the data (data degrees of freedom).
    n_params_, residual_df_ : int
        Number of estimated parameters and ``df_ - n_params_``.
    deviance_, gof_p_value_ : float
        Deviance against the saturated multinomial model and its chi-square p-value
        (``nan`` when ``residual_df_ == 0``).
    points_ : pandas.DataFrame
        The cleaned points with the fitted share ``fitted_share`` per row.
    """

    def __init__(self, family: str, cure: bool, ci: str, alpha: float) -> None:
        self.family, self.cure, self.ci, self.alpha = family, cure, ci, alpha

    def _fit(self, prep: _Prepared, warn_saturated: bool = True) -> PublishedPointsFit:
        fam = self.family
        free = il.free_index(fam, self.cure)
        self.df_ = int(prep.df)
        self.n_params_ = len(free)
        self.residual_df_ = self.df_ - self.n_params_
        if self.cure and not prep.any_all_denominator:
            raise UnidentifiedModelError(
                "published points: shares among accounts with the event (denominator "
                "'events') carry no information on the share never having it; fit without cure"
            )
        if self.residual_df_ < 0:
            raise UnidentifiedModelError(
                f"published points: the {fam}{' cure' if self.cure else ''} model has "
                f"{self.n_params_} parameters but the data hold only {self.df_} independent "
                f"share(s): not identified; add points or use a smaller family"
            )
        if self.residual_df_ == 0 and warn_saturated:
            warnings.warn(
                f"published points: SATURATED - the {fam} model has as many parameters "
                f"({self.n_params_}) as independent shares: it reproduces them exactly, so the "
                "points cannot check the family; the estimates rest on its shape alone",
                UnidentifiedWarning,
                stacklevel=3,
            )
        data = prep.data
        theta, ll, hess = il.fit(fam, data, self.cure)
        try:
            cov = np.linalg.inv(-hess)
        except np.linalg.LinAlgError:
            cov = np.full_like(hess, np.nan)
        if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
            warnings.warn(
                "published points: the information matrix is singular at the optimum (a "
                "parameter at a boundary or unidentified); Wald intervals are not available",
                UnidentifiedWarning,
                stacklevel=3,
            )
            cov = np.where(np.isfinite(cov), cov, np.nan)
        self._theta, self._cov, self._free, self._data = theta, cov, free, data
        self.loglik_ = float(ll)
        self.aic_ = 2.0 * self.n_params_ - 2.0 * self.loglik_
        self.deviance_ = max(2.0 * (prep.ll_saturated - self.loglik_), 0.0)
        self.gof_p_value_ = (
            float(stats.chi2.sf(self.deviance_, self.residual_df_))
            if self.residual_df_ > 0
            else float("nan")
        )
        z = float(stats.norm.ppf(1.0 - self.alpha / 2.0))
        self._z = z
        bounds = None
        if self.ci == "profile":
            crit = 0.5 * float(stats.chi2.ppf(1.0 - self.alpha, 1))
            bounds = {}
            for a, i in enumerate(free):
                se = np.sqrt(cov[a, a]) if np.isfinite(cov[a, a]) else np.nan
                bounds[i] = il.profile_interval(fam, data, theta, free, i, ll, crit, se)
                if i != 2 and not np.all(np.isfinite(bounds[i])):
                    warnings.warn(
                        f"published points: the profile interval of "
                        f"{isum.PARAM_NAMES[fam][i]} is open (the likelihood never drops by "
                        "the critical value): the data do not bound it",
                        UnidentifiedWarning,
                        stacklevel=3,
                    )
        names, rows = isum.summary_table(fam, theta, cov, free, z, bounds)
        self.summary = pd.DataFrame(
            rows, index=pd.Index(names, name="parameter"), columns=SUMMARY_COLUMNS[:4]
        )
        self.summary["method"] = "profile" if bounds is not None else "wald"
        self.params_ = self.summary["estimate"].copy()
        pts = prep.table.copy()
        pts["fitted_share"] = self.cdf(pts["horizon_days"].to_numpy())
        self.points_ = pts
        return self

    # ------------------------------------------------------------- prediction
    def survival_at(self, t: Any) -> np.ndarray:
        """Share still without the event at ``t`` days (population, cured included)."""
        return isum.survival(self.family, self._theta, np.asarray(t, dtype=float))

    def cdf(self, t: Any) -> np.ndarray:
        """Share with the event by ``t`` days: ``F(t) = 1 - S(t)``."""
        return 1.0 - self.survival_at(t)

    def ci_cdf(self, t: Any) -> pd.DataFrame:
        """Pointwise ``1 - alpha`` band of ``F(t)`` (delta method on the logit scale)."""
        tt = np.atleast_1d(np.asarray(t, dtype=float))
        f, lo, hi = isum.cdf_band(self.family, self._theta, self._cov, self._free, tt, self._z)
        return pd.DataFrame(
            {"cdf": f, "ci_lower": lo, "ci_upper": hi}, index=pd.Index(tt, name="time_days")
        )

    def plot(self, ax: Axes | None = None, t_max: float | None = None, **kwargs: Any) -> Axes:
        """Fitted ``F(t)`` with its band and the published points; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        top = t_max or 1.5 * float(self.points_["horizon_days"].max())
        grid = np.linspace(top / 400, top, 400)
        band = self.ci_cdf(grid)
        (line,) = ax.plot(grid, band["cdf"], **kwargs)
        ax.fill_between(
            grid, band["ci_lower"], band["ci_upper"], alpha=0.25, color=line.get_color()
        )
        pts = self.points_[self.points_["denominator"] == "all"]
        ax.plot(pts["horizon_days"], pts["share"], "o", color=line.get_color())
        ax.set_xlabel("days")
        ax.set_ylabel("share with the event")
        ax.set_ylim(0, 1.02)
        return ax


def fit_published_points(
    points: pd.DataFrame,
    family: str = "weibull",
    cure: bool = False,
    ci: str = "profile",
    alpha: float = 0.05,
) -> PublishedPointsFit:
    """Fit a lifetime family (optionally with a cure fraction) to published survival points.

    Parameters
    ----------
    points
        One row per point (columns in the module docstring).
    family
        ``"exponential"``, ``"weibull"``, ``"lognormal"`` or ``"loglogistic"``.
    cure
        Add a cure fraction (share never having the event).
    ci
        ``"profile"`` (profile-likelihood intervals, default) or ``"wald"``.
    alpha
        1 - confidence level.

    Raises
    ------
    PointsInputError
        Missing column, missing ``n``, share outside [0, 1], shares falling with the horizon,
        cohorts with mixed ``n``...
    UnidentifiedModelError
        More parameters than independent shares (one point and a 2-parameter family).
    NoEventsError
        Every share is 0.
    """
    if family not in FAMILIES:
        raise ModelError(f"family={family!r}; expected one of {list(FAMILIES)}")
    if ci not in ("profile", "wald"):
        raise ModelError(f"ci={ci!r}; expected 'profile' or 'wald'")
    if not 0.0 < alpha < 1.0:
        raise ModelError(f"alpha={alpha!r}; expected 0 < alpha < 1")
    prep = points_to_intervals(points)
    return PublishedPointsFit(family, bool(cure), ci, alpha)._fit(prep)


@dataclass(frozen=True)
class ConstantHazardResult:
    """Likelihood-ratio test of a constant hazard (exponential) against Weibull (1 df).

    ``statistic``/``p_value``: LR test; ``weibull_shape`` < 1 means a falling hazard.
    ``gof_statistic``/``gof_p_value``/``gof_df``: the exponential against the saturated
    multinomial model (``nan`` when the exponential leaves no residual degree of freedom).
    """

    statistic: float
    p_value: float
    df: int
    weibull_shape: float
    loglik_exponential: float
    loglik_weibull: float
    gof_statistic: float
    gof_p_value: float
    gof_df: int

    @property
    def rejected(self) -> bool:
        """Constant hazard rejected at the 5 % level."""
        return self.p_value < 0.05


def constant_hazard_test(points: pd.DataFrame) -> ConstantHazardResult:
    """Is a constant hazard compatible with the points?  LR test exponential vs Weibull.

    Needs at least two independent shares (one share is fitted exactly by any one-parameter
    family).  The chi-square(1) reference is the usual one for the Weibull shape at 1, an
    interior point.
    """
    prep = points_to_intervals(points)
    if prep.df < 2:
        raise UnidentifiedModelError(
            f"constant_hazard_test: the points hold {prep.df} independent share(s); "
            "a constant hazard can only be tested with at least two (e.g. two horizons of one "
            "cohort, or two cohorts)"
        )
    expo = PublishedPointsFit("exponential", False, "wald", 0.05)._fit(prep)
    weib = PublishedPointsFit("weibull", False, "wald", 0.05)._fit(prep, warn_saturated=False)
    lr = max(2.0 * (weib.loglik_ - expo.loglik_), 0.0)
    return ConstantHazardResult(
        statistic=float(lr),
        p_value=float(stats.chi2.sf(lr, 1)),
        df=1,
        weibull_shape=float(weib.params_["shape"]),
        loglik_exponential=expo.loglik_,
        loglik_weibull=weib.loglik_,
        gof_statistic=expo.deviance_,
        gof_p_value=expo.gof_p_value_,
        gof_df=expo.residual_df_,
    )
