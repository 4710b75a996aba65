"""Profile-likelihood intervals of CatMouseModel.fit (default method).  All data SYNTHETIC.

Fast checks of the mechanics against independent computations: a closed-form profile
(normal mean, unknown variance), a brute-force grid profile re-optimised from scratch, the
likelihood-ratio statistic at the reported ends, open sides.  Coverage is measured by the
slow test in ``tests/models/test_catmouse_intensity.py`` (1,000 series per setting).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import optimize, stats

from analysis.errors import ModelError, UnidentifiedWarning
from analysis.models._cm_fit import normalise_series
from analysis.models._cm_intensity import IntensityProblem, robust_covariance
from analysis.models._cm_profile import profile_interval
from analysis.models._cm_stats import numerical_hessian
from analysis.models.catmouse import CatMouseModel, Crackdown

NB05 = dict(
    creation_rate_per_day=20.0,
    ban_hazard_per_day=0.1,
    recreation_probability=0.6,
    recreation_delay_mean_days=2.0,
)
SERIES = ["day", "active", "bans", "creations"]
DELAY = "recreation_delay_mean_days"
CHI2 = float(stats.chi2.ppf(0.95, 1))
SUSTAINED = Crackdown(60, 60, 0.1)
START = Crackdown(60, 60, 0.05)


def sustained_series(seed: int):
    return CatMouseModel(**NB05, crackdowns=(SUSTAINED,)).simulate(180, seed=seed).daily[SERIES]


class _NormalMean:
    """iid normal, parameters (mu, log sigma): the profile LR of mu has a closed form."""

    names = ("mu", "log_sigma")

    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def loglik(self, theta: np.ndarray) -> float:
        return float(stats.norm.logpdf(self.x, theta[0], np.exp(theta[1])).sum())


def test_plain_profile_matches_the_closed_form_normal_mean() -> None:
    """W(mu) = n log(1 + n (xbar - mu)^2 / S): ends xbar +- sqrt(S/n (exp(chi2/n) - 1))."""
    x = np.random.default_rng(3).normal(5.0, 2.0, 25)
    n, xbar = x.size, x.mean()
    ss = float(((x - xbar) ** 2).sum())
    theta = np.array([xbar, 0.5 * np.log(ss / n)])
    problem = _NormalMean(x)
    hess = numerical_hessian(lambda th: -problem.loglik(th), theta)
    res = profile_interval(
        problem,
        theta,
        problem.loglik(theta),
        0,
        chi2=CHI2,
        hessian=hess,
        covariance=np.linalg.inv(hess),
        max_distance=50.0,
        adjust=False,
    )
    half = np.sqrt(ss / n * np.expm1(CHI2 / n))
    assert res.lower == pytest.approx(xbar - half, abs=2e-3)
    assert res.upper == pytest.approx(xbar + half, abs=2e-3)
    assert not res.open_lower and not res.open_upper
    # adjusted with a sandwich twice the naive variance: the critical value doubles
    res2 = profile_interval(
        problem,
        theta,
        problem.loglik(theta),
        0,
        chi2=CHI2,
        hessian=hess,
        covariance=2 * np.linalg.inv(hess),
        max_distance=50.0,
    )
    assert res2.adjustment == pytest.approx(2.0)
    half2 = np.sqrt(ss / n * np.expm1(2 * CHI2 / n))
    assert res2.upper == pytest.approx(xbar + half2, abs=2e-3)
    # a side beyond the search limit is open, never the limit itself
    res3 = profile_interval(
        problem,
        theta,
        problem.loglik(theta),
        0,
        chi2=CHI2,
        hessian=hess,
        covariance=np.linalg.inv(hess),
        max_distance=0.5 * half,
        adjust=False,
    )
    assert res3.open_lower and res3.open_upper
    assert res3.lower == -np.inf and res3.upper == np.inf


def _problem_and_estimate(data, fit):
    problem = IntensityProblem(CatMouseModel, normalise_series(data), (START,), {}, 1.0, 1, True)
    m = fit.model_
    nat = {
        "creation_rate_per_day": m.creation_rate_per_day,
        "ban_hazard_per_day": m.ban_hazard_per_day,
        "recreation_probability": m.recreation_probability,
        DELAY: m.recreation_delay_mean_days,
        "extra_hazard_per_day[0]": m.crackdowns[0].extra_hazard_per_day,
    }
    theta = np.array([problem.to_internal(n, nat[n]) for n in problem.names])
    return problem, theta


def _brute_profile(problem, theta: np.ndarray, j: int, value: float) -> float:
    """Profile logL re-optimised from the MLE of the others (Powell, then BFGS)."""
    free = [i for i in range(theta.size) if i != j]

    def neg(x: np.ndarray) -> float:
        th = theta.copy()
        th[free] = x
        th[j] = value
        v = problem.loglik(th)
        return -v if np.isfinite(v) else 1e300

    r = optimize.minimize(neg, theta[free], method="Powell", options={"xtol": 1e-4})
    r2 = optimize.minimize(neg, r.x, method="BFGS", options={"gtol": 1e-4})
    return -min(r.fun, r2.fun)


def test_delay_profile_contains_the_mle_and_matches_a_brute_force_grid() -> None:
    """Default: plain LR profile of the delay; ends where W = chi2_1(0.95), checked by a
    profile re-optimised from scratch, on a grid and at the ends."""
    data = sustained_series(21)
    fit = CatMouseModel.fit(data, crackdowns=(START,))
    row = fit.summary.loc[DELAY]
    assert row["interval"] == "profile" and row["identified"]
    assert row["lower"] < row["estimate"] < row["upper"]
    problem, theta = _problem_and_estimate(data, fit)
    j = problem.names.index(DELAY)
    top = problem.loglik(theta)
    assert top == pytest.approx(fit.loglik_, abs=1e-6)
    assert fit.profiles_[DELAY].attrs["adjustment"] == 1.0
    # the statistic at the reported ends equals the chi-square quantile
    for end in (row["lower"], row["upper"]):
        w = 2 * (top - _brute_profile(problem, theta, j, np.log(end)))
        assert w == pytest.approx(CHI2, abs=0.05), end
    # a grid profile crosses the quantile at the same ends (linear interpolation)
    grid = np.linspace(np.log(row["lower"]) - 0.3, np.log(row["upper"]) + 0.3, 9)
    w = np.array([2 * (top - _brute_profile(problem, theta, j, g)) for g in grid])
    inside = grid[w <= CHI2]
    assert inside.min() > np.log(row["lower"]) - 1e-9
    assert inside.max() < np.log(row["upper"]) + 1e-9
    below, above = grid < theta[j], grid > theta[j]
    lo_grid = np.interp(CHI2, w[below][::-1], grid[below][::-1])
    hi_grid = np.interp(CHI2, w[above], grid[above])
    assert np.log(row["lower"]) == pytest.approx(lo_grid, abs=0.03)
    assert np.log(row["upper"]) == pytest.approx(hi_grid, abs=0.03)
    # the stored profile holds the evaluated points, the statistic >= 0 and 0 at the MLE
    prof = fit.profiles_[DELAY]
    assert (prof["lr"] >= 0).all() and prof["lr"].min() == 0.0
    assert prof.loc[prof["lr"].idxmin(), "value"] == pytest.approx(row["estimate"])


def test_sandwich_adjusted_profile_uses_k_from_hessian_and_sandwich() -> None:
    """profile_adjustment='sandwich': W / k = chi2_1(0.95) at the ends, with
    k = V_sandwich / V_naive recomputed here."""
    data = sustained_series(21)
    fit = CatMouseModel.fit(data, crackdowns=(START,), profile_adjustment="sandwich")
    row = fit.summary.loc[DELAY]
    problem, theta = _problem_and_estimate(data, fit)
    j = problem.names.index(DELAY)
    top = problem.loglik(theta)
    hess = numerical_hessian(lambda th: -problem.loglik(th), theta)
    k = robust_covariance(problem, theta, hess)[j, j] / np.linalg.inv(hess)[j, j]
    assert fit.profiles_[DELAY].attrs["adjustment"] == pytest.approx(k, rel=1e-6)
    assert fit.profiles_[DELAY].attrs["critical"] == pytest.approx(k * CHI2, rel=1e-6)
    for end in (row["lower"], row["upper"]):
        w = 2 * (top - _brute_profile(problem, theta, j, np.log(end)))
        assert w / k == pytest.approx(CHI2, abs=0.05), end


def test_wald_kept_by_name_and_other_parameters_profiled_on_request() -> None:
    data = sustained_series(21)
    wald = CatMouseModel.fit(data, crackdowns=(START,), ci_method="wald")
    s = wald.summary
    assert set(s["interval"]) == {"wald"}
    z = stats.norm.ppf(0.975)
    est, se = s.loc[DELAY, "estimate"], s.loc[DELAY, "se"]
    assert s.loc[DELAY, "lower"] == pytest.approx(est * np.exp(-z * se))
    names = ["creation_rate_per_day", "recreation_probability", DELAY]
    prof = CatMouseModel.fit(data, crackdowns=(START,), profile_parameters=names)
    p = prof.summary
    assert list(p.columns) == ["estimate", "se", "lower", "upper", "free", "identified", "interval"]
    assert set(p.loc[p["interval"] == "profile"].index) == set(names)
    for name in names:
        assert p.loc[name, "lower"] < p.loc[name, "estimate"] < p.loc[name, "upper"]
        # same estimate and se as the Wald fit; ends close to Wald (quadratic near the MLE)
        assert p.loc[name, "estimate"] == pytest.approx(s.loc[name, "estimate"])
        assert p.loc[name, "se"] == pytest.approx(s.loc[name, "se"])
    for name in ("ban_hazard_per_day", "extra_hazard_per_day[0]"):
        assert p.loc[name, "interval"] == "wald"
        assert p.loc[name, "lower"] == pytest.approx(s.loc[name, "lower"])
    fixed = CatMouseModel.fit(data, crackdowns=(START,), fixed={DELAY: 2.0})
    assert fixed.summary.loc[DELAY, "interval"] == "fixed"
    assert fixed.profiles_ == {}


def test_open_profile_is_reported_as_the_range_edge_with_a_warning() -> None:
    """No re-creation: the delay's profile is flat, open on both sides: [0, inf), never the
    search bound, with a loud warning; the estimate is NaN."""
    data = CatMouseModel(20.0, 0.1, 0.0).simulate(150, seed=3).daily[SERIES]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnidentifiedWarning)
        fit = CatMouseModel.fit(data)
    messages = [str(w.message) for w in caught if w.category is UnidentifiedWarning]
    assert any("OPEN: recreation_delay_mean_days" in m and "above" in m for m in messages)
    assert any("not identified by these data" in m and DELAY in m for m in messages)
    row = fit.summary.loc[DELAY]
    assert row["upper"] == np.inf
    assert row["lower"] == 0.0 or row["lower"] < 2.0  # open below, or a finite end
    assert not row["identified"] and np.isnan(row["estimate"])
    assert fit.profiles_[DELAY].attrs["open_upper"]


def test_profile_input_errors() -> None:
    data = sustained_series(4).iloc[:60]
    with pytest.raises(ModelError, match="profile_parameters"):
        CatMouseModel.fit(data, profile_parameters=["delay"])
    with pytest.raises(ModelError, match="ci_method='profile' needs"):
        CatMouseModel.fit(data, method="independent_counts", ci_method="profile")
    with pytest.raises(ModelError, match="profile_adjustment must be one of"):
        CatMouseModel.fit(data, profile_adjustment="bartlett")
    with pytest.raises(ModelError, match="ci_method must be one of"):
        CatMouseModel.fit(data, ci_method="likelihood")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnidentifiedWarning)
        legacy = CatMouseModel.fit(
            data, method="independent_counts", fixed={DELAY: 2.0, "recreation_probability": 0.6}
        )
    assert set(legacy.summary["interval"]) <= {"wald", "fixed"}
