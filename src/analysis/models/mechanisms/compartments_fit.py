"""Fit the two-compartment model to both platforms' daily counts (mean-field likelihood).

Data: one row per day with ``day`` (0, 1, ...) and any of ``active``, ``bans``,
``creations`` (the monitored platform) and ``other_active``, ``migrations``,
``other_endings`` (the other platform).  The likelihood treats each count as Poisson with its
exact mean-field mean (as :meth:`analysis.models.catmouse.CatMouseModel.fit` does).  The
estimates are unbiased in simulation, but the ``active`` stocks carry their own past, so the
intervals are far too narrow: measured coverage of nominal 95 % intervals, 100 replications
of 120 days (measured once; numbers and command in the README validation table): creation
rate 62 %, ban hazard 87 %, re-creation 64 %, migration 91 %, other-platform ending 94 %,
return 93 %, initial stocks 50 % and 60 %; a Newey-West sandwich (``cov_type="hac"``) does
not repair it (59-93 % with 5-10 lags, worse with more).  Every fit therefore warns; for
intervals use
:func:`analysis.models.mechanisms.compartments_conditional.fit_two_compartments_conditional`
(the flows given the observed history; coverage 93-97.3 %, the migration probability's
98.8 % (conservative), in the same simulation).  This fit
remains the one for a **free initial state** and for series without the flows.

Free parameters: ``creation_rate_per_day``, ``ban_hazard_per_day``,
``recreation_probability``, ``migration_probability``, ``other_end_hazard_per_day``,
``return_rate_per_day``, and with ``initial_state="free"`` the expected ``initial_active`` and
``initial_other_active``.  The re-creation delay is held fixed (``recreation_delay_mean_days``):
daily counts barely inform it.  Without the other platform's series the migration, ending and
return parameters are **not identified**: the fit says so (``identified`` False and an
:class:`~analysis.errors.UnidentifiedWarning`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from analysis.errors import ModelError, TakedownWarning, UnidentifiedWarning
from analysis.models.catmouse import Crackdown
from analysis.models.mechanisms._numdiff import hessian
from analysis.models.mechanisms.model import MechanismModel

__all__ = ["TwoCompartmentFit", "fit_two_compartments"]

SERIES = ("active", "bans", "creations", "other_active", "migrations", "other_endings")
RATES = (
    "creation_rate_per_day",
    "ban_hazard_per_day",
    "recreation_probability",
    "migration_probability",
    "other_end_hazard_per_day",
    "return_rate_per_day",
)
PROBABILITIES = ("recreation_probability", "migration_probability")
UNIDENTIFIED_CI_RATIO = 100.0


@dataclass
class TwoCompartmentFit:
    """Result of :func:`fit_two_compartments`.

    ``summary``: ``estimate``, ``se`` (on the log / logit scale), ``lower``, ``upper``,
    ``identified`` per parameter; ``model_`` the fitted :class:`MechanismModel`;
    ``fitted_`` its mean-field daily series; ``loglik_``, ``aic_``.
    """

    model_: MechanismModel
    params_: pd.Series
    summary: pd.DataFrame
    loglik_: float
    aic_: float
    fitted_: pd.DataFrame
    data_: pd.DataFrame
    series_: tuple[str, ...]
    _covariance_inputs: tuple | None = None  # (daily_loglik, theta, bread): other HAC lags

    def plot(self, ax=None):
        """Observed counts (points) against the fitted mean field (lines); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        for name in self.series_:
            (line,) = ax.plot(self.fitted_["day"], self.fitted_[name], label=f"{name} (fitted)")
            ax.plot(self.data_["day"], self.data_[name], ".", ms=2, color=line.get_color())
        ax.set_xlabel("day")
        ax.set_ylabel("count")
        ax.legend(fontsize=6)
        return ax


def wald_row(name: str, theta: float, se: float, z: float) -> dict[str, float | bool]:
    """Estimate and Wald interval of one parameter fitted on the log (rates) or logit
    (:data:`PROBABILITIES`) scale, and whether it is identified: a finite standard error and
    an interval spanning less than a factor :data:`UNIDENTIFIED_CI_RATIO` (odds for
    probabilities)."""
    back = special.expit if name in PROBABILITIES else np.exp
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        lo, hi = back(theta - z * se), back(theta + z * se)
        ratio = (hi / (1 - hi)) / (lo / (1 - lo)) if name in PROBABILITIES else hi / lo
    ok = bool(np.isfinite(se) and np.isfinite(ratio) and ratio < UNIDENTIFIED_CI_RATIO)
    return {"estimate": back(theta), "se": se, "lower": lo, "upper": hi, "identified": ok}


def _prepare(data: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    if not isinstance(data, pd.DataFrame) or "day" not in data.columns:
        raise ModelError("data must be a DataFrame with a 'day' column (0, 1, ...)")
    series = tuple(s for s in SERIES if s in data.columns)
    if not series:
        raise ModelError(f"data hold none of the series {SERIES}")
    days = data["day"].to_numpy()
    if not np.array_equal(days, np.arange(days.size)):
        raise ModelError("data['day'] must be 0, 1, 2, ... without gaps (one row per day)")
    for s in series:
        values = data[s].to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelError(f"data row {i}, column {s!r}: {values[i]!r}; expected a count >= 0")
    return data.reset_index(drop=True), series


def _default_lags(n_days: int) -> int:
    return max(1, round(2 * np.sqrt(n_days)))


def _hac_covariance(daily_loglik, theta: np.ndarray, bread: np.ndarray, lags: int) -> np.ndarray:
    """``bread @ meat @ bread`` with a Bartlett-weighted sum of lagged daily score products."""
    n = theta.size
    h = np.finfo(float).eps ** (1 / 3) * np.maximum(np.abs(theta), 0.1)
    columns = []
    for i in range(n):
        step = np.zeros(n)
        step[i] = h[i]
        up, down = daily_loglik(theta + step), daily_loglik(theta - step)
        if up is None or down is None:
            return np.full_like(bread, np.nan)
        columns.append((up - down) / (2 * h[i]))
    scores = np.column_stack(columns)  # days x parameters
    meat = scores.T @ scores
    for lag in range(1, min(lags, scores.shape[0] - 1) + 1):
        gamma = scores[lag:].T @ scores[:-lag]
        meat += (1 - lag / (lags + 1)) * (gamma + gamma.T)
    return bread @ meat @ bread


def fit_two_compartments(
    data: pd.DataFrame,
    *,
    crackdowns: Sequence[Crackdown] = (),
    recreation_delay_mean_days: float = 2.0,
    initial_state: str = "free",
    fixed: Mapping[str, float] | None = None,
    start: Mapping[str, float] | None = None,
    confidence: float = 0.95,
    cov_type: str = "poisson",
    hac_lags: int | None = None,
) -> TwoCompartmentFit:
    """Maximum-likelihood fit of :class:`MechanismModel` (one type, two compartments).

    Parameters
    ----------
    data
        Daily counts (see the module docstring).
    crackdowns
        Known crackdown windows with their extra hazard (held fixed).
    recreation_delay_mean_days
        The (fixed) mean re-creation / migration delay.
    initial_state
        ``"free"`` (estimate the initial active counts) or ``"equilibrium"``.
    fixed
        Parameters held at given values, by name.
    start
        Starting values, by name (default: from the data).
    confidence
        Level of the Wald intervals (log scale for rates and counts, logit for
        probabilities).
    cov_type
        ``"poisson"`` (default): the inverse information of the independent-Poisson likelihood;
        ``"hac"``: sandwich covariance with a Newey-West (Bartlett) estimate of the
        autocorrelated daily scores, ``hac_lags`` lags (default ``round(2 * sqrt(days))``).
        Both are too narrow (measured coverage in the module docstring): the fit warns.
    """
    frame, series = _prepare(data)
    if cov_type not in ("hac", "poisson"):
        raise ModelError(f"cov_type must be 'hac' or 'poisson', got {cov_type!r}")
    if initial_state not in ("free", "equilibrium"):
        raise ModelError(f"initial_state must be 'free' or 'equilibrium', got {initial_state!r}")
    names = list(RATES) + (
        ["initial_active", "initial_other_active"] if initial_state == "free" else []
    )
    fixed = dict(fixed or {})
    unknown = set(fixed) - set(names)
    if unknown:
        raise ModelError(f"fixed: unknown parameters {sorted(unknown)}; expected some of {names}")
    free = [n for n in names if n not in fixed]
    n_days = len(frame)
    obs = {s: frame[s].to_numpy(dtype=float) for s in series}

    def guess() -> dict[str, float]:
        a = float(frame["active"].iloc[:7].mean()) if "active" in series else 100.0
        b = float(frame["bans"].mean()) if "bans" in series else 0.1 * a
        o = float(frame["other_active"].iloc[:7].mean()) if "other_active" in series else 0.2 * a
        g = {
            "ban_hazard_per_day": max(b / max(a, 1.0), 1e-3),
            "recreation_probability": 0.4,
            "migration_probability": 0.2,
            "other_end_hazard_per_day": 0.03,
            "return_rate_per_day": 0.03,
            "initial_active": max(a, 1.0),
            "initial_other_active": max(o, 1.0),
        }
        g["creation_rate_per_day"] = max(b * 0.4, 0.1)
        return {**g, **dict(start or {})}

    def to_theta(values: Mapping[str, float]) -> np.ndarray:
        return np.array(
            [special.logit(values[n]) if n in PROBABILITIES else np.log(values[n]) for n in free]
        )

    def to_values(theta: np.ndarray) -> dict[str, float]:
        out = dict(fixed)
        for n, v in zip(free, theta, strict=True):
            out[n] = float(special.expit(v)) if n in PROBABILITIES else float(np.exp(v))
        return out

    def build(values: Mapping[str, float]) -> MechanismModel:
        init = (
            {"active": values["initial_active"], "other_active": values["initial_other_active"]}
            if initial_state == "free"
            else "equilibrium"
        )
        return MechanismModel(
            values["creation_rate_per_day"],
            values["ban_hazard_per_day"],
            recreation_probability=values["recreation_probability"],
            recreation_delay_mean_days=recreation_delay_mean_days,
            migration_probability=values["migration_probability"],
            other_end_hazard_per_day=values["other_end_hazard_per_day"],
            return_rate_per_day=values["return_rate_per_day"],
            crackdowns=tuple(crackdowns),
            initial_state=init,
        )

    def daily_loglik(theta: np.ndarray) -> np.ndarray | None:
        values = to_values(theta)
        if values["recreation_probability"] + values["migration_probability"] >= 1:
            return None
        try:
            mf = build(values).mean_field_arrays(n_days)
        except ModelError:
            return None
        total = np.zeros(n_days)
        for s in series:
            mean = np.maximum(mf[s], 1e-10)
            total += obs[s] * np.log(mean) - mean - special.gammaln(obs[s] + 1)
        return total

    def loglik(theta: np.ndarray) -> float:
        per_day = daily_loglik(theta)
        return -1e12 if per_day is None else float(per_day.sum())

    theta0 = to_theta(guess())
    res = optimize.minimize(lambda th: -loglik(th), theta0, method="BFGS", options={"gtol": 1e-4})
    theta = res.x
    hess = hessian(loglik, theta)
    try:
        bread = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        bread = np.full_like(hess, np.nan)
    cov = bread
    if cov_type == "hac":
        cov = _hac_covariance(daily_loglik, theta, bread, hac_lags or _default_lags(n_days))
    var = np.diag(cov)
    se = np.sqrt(np.where(var > 0, var, np.nan))
    z = stats.norm.ppf(0.5 + confidence / 2)
    rows = {}
    for i, n in enumerate(free):
        rows[n] = wald_row(n, theta[i], se[i], z) | {"free": True}
    for n, v in fixed.items():
        rows[n] = {
            "estimate": v,
            "se": np.nan,
            "lower": np.nan,
            "upper": np.nan,
            "identified": True,
            "free": False,
        }
    summary = pd.DataFrame.from_dict(rows, orient="index").loc[names]
    summary.index.name = "parameter"
    bad = summary.index[~summary["identified"].astype(bool)].tolist()
    if bad:
        warnings.warn(
            f"fit_two_compartments: {bad} not identified by the series {list(series)} "
            f"(singular information or a {confidence:.0%} interval wider than a factor "
            f"{UNIDENTIFIED_CI_RATIO:g}); do not report them as estimates",
            UnidentifiedWarning,
            stacklevel=2,
        )
    warnings.warn(
        "fit_two_compartments: the intervals of the mean-field likelihood are too narrow "
        "(measured coverage 50-94 % for nominal 95 %); use "
        "fit_two_compartments_conditional for intervals",
        TakedownWarning,
        stacklevel=2,
    )
    values = to_values(theta)
    model = build(values)
    ll = float(-res.fun)
    return TwoCompartmentFit(
        model_=model,
        params_=summary["estimate"].astype(float),
        summary=summary,
        loglik_=ll,
        aic_=2 * len(free) - 2 * ll,
        fitted_=model.mean_field(n_days),
        data_=frame,
        series_=series,
        _covariance_inputs=(daily_loglik, theta, bread, free),
    )
