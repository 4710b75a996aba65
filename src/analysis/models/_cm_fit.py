"""Private: maximum-likelihood fitting of :class:`analysis.models.catmouse.CatMouseModel`.

Two likelihoods (``METHODS``).  The default, ``"intensity"``, is the conditional-intensity
likelihood of :mod:`analysis.models._cm_intensity` (sandwich Wald intervals).  The legacy
``"independent_counts"`` observation model: each observed daily count (active at the end
of the day, bans during the day, creations during the day) is Poisson or NB2 around the
exact mean field.  Parameters are
optimised on the log scale (rates, hazards, delay, dispersions) and the logit scale
(re-creation probability); Wald intervals are computed there and transformed back, so they
respect the parameter ranges.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special, stats

from analysis.errors import ModelError, UnidentifiedWarning
from analysis.models._cm_stats import (
    minimise,
    nb2_loglik,
    numerical_gradient,
    numerical_hessian,
    poisson_loglik,
)

if TYPE_CHECKING:
    from analysis.models.catmouse import CatMouseFit, CatMouseModel, Crackdown

BASE_PARAMS = (
    "creation_rate_per_day",
    "ban_hazard_per_day",
    "recreation_probability",
    "recreation_delay_mean_days",
)
_ALIASES = {
    "active": ("active", "active_channels"),
    "bans": ("bans", "bans_per_day"),
    "creations": ("creations", "creations_per_day"),
}
_MEAN_COLUMN = {"active": "active", "bans": "bans_per_day", "creations": "creations_per_day"}


def normalise_series(data: pd.DataFrame) -> pd.DataFrame:
    """Columns ``day`` plus whichever of ``active``, ``bans``, ``creations`` are present."""
    if not isinstance(data, pd.DataFrame):
        raise ModelError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    out = pd.DataFrame()
    out["day"] = data["day"].to_numpy(dtype=np.int64) if "day" in data else np.arange(len(data))
    for name, spellings in _ALIASES.items():
        for s in spellings:
            if s in data:
                vals = pd.to_numeric(data[s], errors="coerce").to_numpy(dtype=float)
                if np.any(vals[~np.isnan(vals)] < 0):
                    raise ModelError(f"column {s!r} has negative counts")
                out[name] = vals
                break
    observed = [c for c in _ALIASES if c in out]
    if not observed:
        raise ModelError(
            f"data needs at least one of the columns {list(_ALIASES)}; got {list(data.columns)}"
        )
    if out["day"].min() < 0 or out["day"].duplicated().any():
        raise ModelError("column 'day' must hold distinct day numbers >= 0")
    return out


class _Problem:
    """Parameter vector <-> model, and the negative log-likelihood."""

    def __init__(
        self,
        model_cls: type[CatMouseModel],
        data: pd.DataFrame,
        crackdowns: tuple[Crackdown, ...],
        fixed: dict[str, float],
        likelihood: str,
        cost_factor: float,
        delay_shape: int,
        fit_crackdown_hazards: bool,
        initial_active: float | str = "equilibrium",
    ) -> None:
        unknown = set(fixed) - set(BASE_PARAMS)
        if unknown:
            raise ModelError(
                f"unknown fixed parameter(s) {sorted(unknown)}; expected {BASE_PARAMS}"
            )
        if likelihood not in ("poisson", "negbin"):
            raise ModelError(f"likelihood must be 'poisson' or 'negbin', got {likelihood!r}")
        self.model_cls = model_cls
        self.initial_active = initial_active
        self.data = data
        self.series = [c for c in _ALIASES if c in data]
        self.crackdowns = crackdowns
        self.fixed = fixed
        self.likelihood = likelihood
        self.cost_factor = cost_factor
        self.delay_shape = delay_shape
        self.days = int(data["day"].max()) + 1
        self.rows = data["day"].to_numpy()
        names = [p for p in BASE_PARAMS if p not in fixed]
        if fit_crackdown_hazards:
            names += [f"extra_hazard_per_day[{k}]" for k in range(len(crackdowns))]
        if likelihood == "negbin":
            names += [f"dispersion[{s}]" for s in self.series]
        self.names = names
        self.arrays = {s: data[s].to_numpy(dtype=float) for s in self.series}

    # transforms -----------------------------------------------------------
    @staticmethod
    def to_internal(name: str, value: float) -> float:
        if name == "recreation_probability":
            return float(special.logit(np.clip(value, 1e-9, 1 - 1e-9)))
        return float(np.log(max(value, 1e-12)))

    @staticmethod
    def to_natural(name: str, value: float) -> float:
        if name == "recreation_probability":
            return float(special.expit(value))
        return float(np.exp(value))

    def natural(self, theta: np.ndarray) -> dict[str, float]:
        out = dict(self.fixed)
        for name, v in zip(self.names, theta, strict=True):
            out[name] = self.to_natural(name, v)
        return out

    def model(self, theta: np.ndarray) -> CatMouseModel:
        p = self.natural(theta)
        cds = tuple(
            replace(
                cd,
                extra_hazard_per_day=p.get(f"extra_hazard_per_day[{k}]", cd.extra_hazard_per_day),
            )
            for k, cd in enumerate(self.crackdowns)
        )
        return self.model_cls(
            creation_rate_per_day=p["creation_rate_per_day"],
            ban_hazard_per_day=p["ban_hazard_per_day"],
            recreation_probability=min(p["recreation_probability"], 1 - 1e-9),
            recreation_delay_mean_days=p["recreation_delay_mean_days"],
            crackdowns=cds,
            recreation_cost_factor=self.cost_factor,
            recreation_delay_shape=self.delay_shape,
            initial_active=self.initial_active,
        )

    def loglik(self, theta: np.ndarray, data: pd.DataFrame | None = None) -> float:
        data = self.data if data is None else data
        try:
            model = self.model(theta)
            mean = model._mean_field_arrays(self.days, method="expm")
        except (ModelError, np.linalg.LinAlgError, ValueError):
            return -np.inf
        p = self.natural(theta)
        total = 0.0
        for s in self.series:
            y = self.arrays[s] if data is self.data else data[s].to_numpy(dtype=float)
            ok = ~np.isnan(y)
            mu = mean[_MEAN_COLUMN[s]][self.rows][ok]
            if self.likelihood == "negbin":
                total += nb2_loglik(y[ok], mu, p[f"dispersion[{s}]"])
            else:
                total += poisson_loglik(y[ok], mu)
        return total if np.isfinite(total) else -np.inf


def _default_start(problem: _Problem, start: dict[str, float]) -> dict[str, float]:
    d = problem.data
    bans = float(np.nanmean(d["bans"])) if "bans" in d else np.nan
    creations = float(np.nanmean(d["creations"])) if "creations" in d else np.nan
    active = float(np.nanmean(d["active"])) if "active" in d else np.nan
    rho = float(problem.fixed.get("recreation_probability", 0.3))
    if np.isfinite(bans) and np.isfinite(active) and active > 0:
        mu = max(bans / active, 1e-4)
    else:
        mu = 0.1
    flow = creations if np.isfinite(creations) else bans if np.isfinite(bans) else mu * active
    guess = {
        "creation_rate_per_day": max(flow * (1 - rho), 1e-3),
        "ban_hazard_per_day": mu,
        "recreation_probability": rho,
        "recreation_delay_mean_days": 2.0,
    }
    for k, cd in enumerate(problem.crackdowns):
        guess[f"extra_hazard_per_day[{k}]"] = cd.extra_hazard_per_day or 5 * mu
    for s in problem.series:
        guess[f"dispersion[{s}]"] = 0.05
    guess.update(start)
    return guess


def _derived(model: CatMouseModel) -> dict[str, float]:
    return {
        "equilibrium_active": model.equilibrium_active(),
        "mean_lifetime_days": model.mean_lifetime_days(),
        "expected_recreations_per_ban": model.expected_recreations_per_ban(),
    }


METHODS = ("intensity", "independent_counts")
"""Likelihoods of :meth:`CatMouseModel.fit`: ``"intensity"`` (default, conditional intensity,
:mod:`analysis.models._cm_intensity`) and ``"independent_counts"`` (legacy: every daily count
independent around the mean field; its intervals are too narrow, issue 12)."""

CI_METHODS = ("profile", "wald", "bootstrap")
"""Interval methods of :meth:`CatMouseModel.fit`.  ``"profile"`` (default of
``method="intensity"``): profile-likelihood intervals (:mod:`analysis.models._cm_profile`) for
``profile_parameters`` and sandwich Wald intervals for the other rows; ``"wald"``: Wald for every row; ``"bootstrap"``: parametric bootstrap."""
PROFILE_DEFAULT = ("recreation_delay_mean_days",)
"""Parameters profiled by default (``ci_method="profile"``)."""
PROFILE_ADJUSTMENTS = ("none", "sandwich")
"""``"none"`` (default): plain likelihood-ratio profile; ``"sandwich"``: the statistic divided
by ``k = V_sandwich / V_naive`` (see :mod:`analysis.models._cm_profile`)."""
_RANGE = {False: (0.0, np.inf), True: (0.0, 1.0)}  # edges reported for an open profile side

_LOG_DISPERSION_BOUNDS = (-10.0, 5.0)
UNIDENTIFIED_CI_RATIO = 100.0
"""A parameter whose interval has ``upper / lower`` above this factor (odds for the
re-creation probability) is flagged as not identified."""
_PROBABILITY_EDGE = 1e-6
_RATE_EDGE = (1e-9, 1e9)


def observed_initial_active(data: pd.DataFrame) -> float:
    """Channels active at the start of day 0 from the observed series.

    ``active`` is counted at the end of the day, so the start of day 0 holds
    ``active[0] - creations[0] + bans[0]`` (the day's own flows removed, when observed).
    """
    if "active" not in data or np.isnan(data["active"].iloc[0]):
        raise ModelError(
            "initial_active='observed' needs an 'active' count on the first row; got none "
            "(give initial_active=<number> instead)"
        )
    if int(data["day"].iloc[0]) != 0:
        raise ModelError(
            f"initial_active='observed' needs the series to start at day 0; it starts at day "
            f"{int(data['day'].iloc[0])} (renumber the days or give initial_active=<number>)"
        )
    first = data.iloc[0]
    value = float(first["active"])
    if "creations" in data and np.isfinite(first["creations"]):
        value -= float(first["creations"])
    if "bans" in data and np.isfinite(first["bans"]):
        value += float(first["bans"])
    return max(value, 0.0)


def flag_identification(
    summary: pd.DataFrame, at_bound: dict[str, bool], factor: float = UNIDENTIFIED_CI_RATIO
) -> pd.Series:
    """``identified`` per summary row: False when the interval is NaN or zero-width, touches
    a search bound (or the estimate sits at one), or ``upper / lower > factor`` (odds for
    ``recreation_probability``).  Fixed parameters are True (nothing estimated)."""
    flags = {}
    for name, row in summary.iterrows():
        if not bool(row.get("free", True)) and name in at_bound:
            flags[name] = True
            continue
        est, lo, hi = float(row["estimate"]), float(row["lower"]), float(row["upper"])
        ok = np.isfinite(lo) and np.isfinite(hi) and hi > lo and not at_bound.get(name, False)
        if ok and name == "recreation_probability":
            edge = _PROBABILITY_EDGE
            ok = edge < est < 1 - edge and lo > 0 and hi < 1
            if ok:
                ok = (hi / (1 - hi)) / (lo / (1 - lo)) <= factor
        elif ok:
            ok = lo > 0 and hi / lo <= factor and _RATE_EDGE[0] < est < _RATE_EDGE[1]
        flags[name] = bool(ok)
    return pd.Series(flags, name="identified")


def _bounds(problem: _Problem) -> list[tuple[float, float]]:
    return [
        _LOG_DISPERSION_BOUNDS if n.startswith("dispersion[") else (-np.inf, np.inf)
        for n in problem.names
    ]


def _optimise(
    problem: _Problem, starts: list[np.ndarray], polish: bool = True
) -> tuple[np.ndarray, float]:
    bounds = _bounds(problem)
    starts = [np.clip(x, [b[0] for b in bounds], [b[1] for b in bounds]) for x in starts]
    res = minimise(lambda th: -problem.loglik(th), starts, bounds=bounds, polish=polish)
    return np.asarray(res.x), -float(res.fun)


def fit_catmouse(
    model_cls: type[CatMouseModel],
    data: pd.DataFrame,
    *,
    crackdowns: tuple[Crackdown, ...],
    fixed: dict[str, float],
    start: dict[str, float],
    likelihood: str,
    recreation_cost_factor: float,
    recreation_delay_shape: int,
    fit_crackdown_hazards: bool,
    ci_method: str,
    n_bootstrap: int,
    confidence: float,
    seed: Any,
    initial_active: float | str = "equilibrium",
    method: str = "intensity",
    profile_parameters: tuple[str, ...] | None = None,
    profile_adjustment: str = "none",
) -> CatMouseFit:
    from analysis.models.catmouse import CatMouseFit

    if method not in METHODS:
        raise ModelError(f"method must be one of {METHODS}, got {method!r}")
    if ci_method is None:
        ci_method = "profile" if method == "intensity" else "wald"
    if ci_method not in CI_METHODS:
        raise ModelError(f"ci_method must be one of {CI_METHODS}, got {ci_method!r}")
    if ci_method == "profile" and method != "intensity":
        raise ModelError(
            "ci_method='profile' needs the default method='intensity' (its profile is adjusted "
            "with the sandwich covariance); use ci_method='wald' or 'bootstrap'"
        )
    if profile_adjustment not in PROFILE_ADJUSTMENTS:
        raise ModelError(
            f"profile_adjustment must be one of {PROFILE_ADJUSTMENTS}, got {profile_adjustment!r}"
        )
    if profile_parameters is None:
        profile_parameters = PROFILE_DEFAULT
    profile_parameters = tuple(profile_parameters)
    series = normalise_series(data)
    if initial_active == "observed":
        initial_active = observed_initial_active(series)
    elif initial_active != "equilibrium" and not (
        isinstance(initial_active, int | float) and initial_active >= 0
    ):
        raise ModelError(
            "initial_active must be 'equilibrium', 'observed' or a number >= 0; got "
            f"{initial_active!r}"
        )
    if method == "intensity":
        if likelihood != "poisson":
            raise ModelError(
                f"likelihood={likelihood!r} applies to method='independent_counts' only; the "
                "conditional-intensity likelihood (default) models bans as binomial given the "
                "channels at risk and creations as Poisson given past bans"
            )
        from analysis.models._cm_intensity import IntensityProblem

        def make_problem(frame: pd.DataFrame) -> Any:
            return IntensityProblem(
                model_cls,
                frame,
                crackdowns,
                fixed,
                recreation_cost_factor,
                recreation_delay_shape,
                fit_crackdown_hazards,
                initial_active,
            )
    else:

        def make_problem(frame: pd.DataFrame) -> Any:
            return _Problem(
                model_cls,
                frame,
                crackdowns,
                fixed,
                likelihood,
                recreation_cost_factor,
                recreation_delay_shape,
                fit_crackdown_hazards,
                initial_active,
            )

    problem = make_problem(series)
    guess = problem.start(start) if method == "intensity" else _default_start(problem, start)
    x0 = np.array([problem.to_internal(n, guess[n]) for n in problem.names])
    starts = [x0]
    if "recreation_probability" in problem.names and "recreation_probability" not in start:
        i = problem.names.index("recreation_probability")
        for rho in (0.1, 0.6):
            alt = x0.copy()
            alt[i] = problem.to_internal("recreation_probability", rho)
            j = (
                problem.names.index("creation_rate_per_day")
                if "creation_rate_per_day" in problem.names
                else None
            )
            if j is not None:
                alt[j] = x0[j] + np.log((1 - rho) / (1 - guess["recreation_probability"]))
            starts.append(alt)
    polish = True
    if method == "intensity":  # smooth and cheap: optimise from the best start only
        starts = [max(starts, key=problem.loglik)]
        # without an observed stock the channels at risk depend on the parameters and hit
        # zero in places: the simplex polish backs away from there
        polish = problem.intensity.active_prev is None
    theta, loglik = _optimise(problem, starts, polish=polish)
    model = problem.model(theta)
    z = stats.norm.ppf(0.5 + confidence / 2)
    est = problem.natural(theta)
    derived = _derived(model)

    rows: dict[str, dict[str, Any]] = {}
    flat: set[str] = set()  # flat likelihood directions (default method, Wald)
    profiles: dict[str, pd.DataFrame] = {}
    open_sides: dict[str, list[str]] = {}
    if ci_method in ("wald", "profile"):
        # parameters on a bound (Poisson-like data: dispersion -> 0) are held at the bound
        at_bound = np.array(
            [
                b[0] > -np.inf and abs(t - b[0]) < 1e-2
                for t, b in zip(theta, _bounds(problem), strict=True)
            ]
        )
        inner = np.flatnonzero(~at_bound)

        def sub(th_inner: np.ndarray) -> float:
            th = theta.copy()
            th[inner] = th_inner
            return -problem.loglik(th)

        cov = np.zeros((theta.size, theta.size))
        hessian = None
        try:
            hessian = numerical_hessian(sub, theta[inner])
            if method == "intensity" and inner.size == theta.size:
                from analysis.models._cm_intensity import robust_covariance

                cov_inner = robust_covariance(problem, theta, hessian)
                # the sandwich shrinks with the information in flat directions (a delay
                # when nothing is re-created); identification is judged on the likelihood's
                # own curvature as well
                naive = np.sqrt(np.clip(np.diag(np.linalg.inv(hessian)), 0.0, None))
                flat = {
                    n
                    for n, s_n in zip(problem.names, naive, strict=True)
                    if not np.isfinite(s_n) or 2 * z * s_n > np.log(UNIDENTIFIED_CI_RATIO)
                }
            else:
                cov_inner = np.linalg.inv(hessian)
            if np.any(np.diag(cov_inner) <= 0):
                raise np.linalg.LinAlgError
            cov[np.ix_(inner, inner)] = cov_inner
        except np.linalg.LinAlgError:
            cov[:] = np.nan
        se = np.sqrt(np.diag(cov))
        for i, name in enumerate(problem.names):
            lo, hi = theta[i] - z * se[i], theta[i] + z * se[i]
            rows[name] = {
                "estimate": est[name],
                "se": se[i],
                "lower": problem.to_natural(name, lo),
                "upper": problem.to_natural(name, hi),
                "interval": "wald",
            }
        if ci_method == "profile" and hessian is not None and np.all(np.isfinite(cov)):
            from analysis.models._cm_profile import profile_interval

            unknown = set(profile_parameters) - set(problem.names) - set(fixed)
            if unknown:
                raise ModelError(
                    f"profile_parameters: {sorted(unknown)} are not free parameters of this "
                    f"fit ({problem.names})"
                )
            chi2 = float(stats.chi2.ppf(confidence, 1))
            for name in profile_parameters:
                if name not in problem.names:
                    continue  # fixed
                i = problem.names.index(name)
                res = profile_interval(
                    problem,
                    theta,
                    loglik,
                    i,
                    chi2=chi2,
                    hessian=hessian,
                    covariance=cov,
                    max_distance=float(np.log(UNIDENTIFIED_CI_RATIO)),
                    # along a flat direction the sandwich variance shrinks with the
                    # information (a delay when nothing is re-created): no adjustment there
                    adjust=profile_adjustment == "sandwich" and name not in flat,
                )
                edge_lo, edge_hi = _RANGE[name == "recreation_probability"]
                rows[name]["lower"] = (
                    edge_lo if res.open_lower else problem.to_natural(name, res.lower)
                )
                rows[name]["upper"] = (
                    edge_hi if res.open_upper else problem.to_natural(name, res.upper)
                )
                rows[name]["interval"] = "profile"
                profiles[name] = res.table(loglik, problem.to_natural)
                profiles[name].attrs.update(
                    adjustment=res.adjustment,
                    critical=res.critical,
                    open_lower=res.open_lower,
                    open_upper=res.open_upper,
                )
                sides = ["below"] * res.open_lower + ["above"] * res.open_upper
                if sides:
                    open_sides[name] = sides
        for dname, value in derived.items():

            def g(th: np.ndarray, dname: str = dname) -> float:
                return float(np.log(max(_derived(problem.model(th))[dname], 1e-300)))

            grad = numerical_gradient(g, theta)
            se_d = (
                float(np.sqrt(max(grad @ cov @ grad, 0.0))) if np.all(np.isfinite(cov)) else np.nan
            )
            rows[dname] = {
                "estimate": value,
                "se": se_d,
                "lower": value * np.exp(-z * se_d),
                "upper": value * np.exp(z * se_d),
                "interval": "wald",
            }
    elif ci_method == "bootstrap":
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(int(n_bootstrap)):
            sim = model.simulate(problem.days, seed=rng).daily.iloc[problem.rows]
            boot = pd.DataFrame({"day": problem.rows})
            for s in problem.series:
                boot[s] = sim[s].to_numpy(dtype=float)
            th_b, _ = _optimise(make_problem(boot), [theta], polish=False)
            m_b = problem.model(th_b)
            nat = problem.natural(th_b)
            draws.append([nat[n] for n in problem.names] + list(_derived(m_b).values()))
        arr = np.asarray(draws)
        alpha = (1 - confidence) / 2
        all_names = list(problem.names) + list(derived)
        for i, name in enumerate(all_names):
            value = est[name] if name in est else derived[name]
            rows[name] = {
                "estimate": value,
                "se": float(np.std(arr[:, i], ddof=1)),
                "lower": float(np.quantile(arr[:, i], alpha)),
                "upper": float(np.quantile(arr[:, i], 1 - alpha)),
                "interval": "bootstrap",
            }
    for name, value in fixed.items():
        rows[name] = {
            "estimate": value,
            "se": 0.0,
            "lower": value,
            "upper": value,
            "interval": "fixed",
        }
    summary = pd.DataFrame.from_dict(rows, orient="index")
    interval_kind = summary.pop("interval")
    summary["free"] = [n in problem.names for n in summary.index]
    bounds = _bounds(problem)
    at_bound = {name: False for name in fixed}
    for i, name in enumerate(problem.names):
        b_lo, b_hi = bounds[i]
        se_i = float(summary.loc[name, "se"])
        half = stats.norm.ppf(0.5 + confidence / 2) * (se_i if np.isfinite(se_i) else 0.0)
        at_bound[name] = bool(
            (np.isfinite(b_lo) and theta[i] - half <= b_lo + 1e-2)
            or (np.isfinite(b_hi) and theta[i] + half >= b_hi - 1e-2)
        )
    summary["identified"] = flag_identification(summary, at_bound)
    for name in flat:
        summary.loc[name, "identified"] = False
    unobserved = [f"extra_hazard_per_day[{k}]" for k in getattr(problem, "unobserved", [])]
    for name in unobserved:
        summary.loc[name] = [np.nan, np.nan, np.nan, np.nan, True, False]
        summary["free"] = summary["free"].astype(bool)
        summary["identified"] = summary["identified"].astype(bool)
        interval_kind[name] = "none"
    summary["interval"] = interval_kind.reindex(summary.index).astype(str)
    weak = [n for n in summary.index if not summary.loc[n, "identified"]]
    if method == "intensity" and weak:
        # never printed as estimates: an unidentified row holds no numbers; a profile
        # interval is kept (the values a likelihood-ratio test does not reject, open
        # sides at the edge of the parameter's range)
        summary.loc[weak, ["estimate", "se"]] = np.nan
        not_profile = [n for n in weak if summary.loc[n, "interval"] != "profile"]
        summary.loc[not_profile, ["lower", "upper"]] = np.nan
    if open_sides:
        warnings.warn(
            "CatMouseModel.fit: profile-likelihood interval OPEN: "
            + "; ".join(
                f"{name} {' and '.join(sides)} (the likelihood-ratio statistic stays below the "
                f"critical value up to a factor {UNIDENTIFIED_CI_RATIO:g} from the estimate; "
                "reported as the edge of the range: "
                f"[{summary.loc[name, 'lower']:g}, {summary.loc[name, 'upper']:g}])"
                for name, sides in open_sides.items()
            ),
            UnidentifiedWarning,
            stacklevel=3,
        )
    if weak:
        why = f" (crackdown window(s) {unobserved} outside the observed days)" if unobserved else ""
        warnings.warn(
            f"CatMouseModel.fit: not identified by these data: {weak}{why} (interval NaN or "
            f"zero-width, open, at a search bound, or upper/lower > {UNIDENTIFIED_CI_RATIO:g}); "
            + (
                "their estimates are reported as NaN; "
                if method == "intensity"
                else "do not report these estimates, "
            )
            + "fix them (fixed=) or add data",
            UnidentifiedWarning,
            stacklevel=3,
        )
    summary.index.name = "parameter"
    params = summary["estimate"].copy()
    dispersion = {s: est[f"dispersion[{s}]"] for s in problem.series if likelihood == "negbin"}
    return CatMouseFit(
        model_=model,
        params_=params,
        summary=summary,
        loglik_=loglik,
        aic_=2 * len(problem.names) - 2 * loglik,
        data_=series,
        fitted_=model.mean_field(problem.days, method="expm"),
        likelihood="intensity" if method == "intensity" else likelihood,
        confidence=confidence,
        dispersion_=dispersion,
        profiles_=profiles,
    )
