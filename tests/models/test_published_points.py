"""Published grouped survival points: likelihood, reference fits, tests, errors.

References: lifelines' interval-censoring fitters (tests only) on the same intervals with the
cell counts as weights; closed forms (exponential with one point, saturated fits reproduce the
shares); simulation with known truth (synthetic data only, fixed seeds).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.errors import ModelError, NoEventsError, UnidentifiedWarning
from analysis.models._interval_coverage import (
    coverage_cure_points,
    coverage_published_points,
    size_constant_hazard,
)
from analysis.models.published_points import (
    PointsInputError,
    UnidentifiedModelError,
    constant_hazard_test,
    fit_published_points,
)

# Conway-like pattern (synthetic stand-in with the published shape: over 30 % within 2 days,
# 63 % within about 90 days, n about 722).
CONWAY_LIKE = pd.DataFrame({"horizon_days": [2.0, 90.0], "share": [0.30, 0.63], "n": 722})
THREE = pd.DataFrame(
    {"horizon_days": [2.0, 14.0, 90.0], "count": [120, 210, 330], "n": 500}
)  # synthetic


def _lifelines_fit(points: pd.DataFrame, family: str):
    lifelines = pytest.importorskip("lifelines")
    fitter = {
        "weibull": lifelines.WeibullFitter,
        "lognormal": lifelines.LogNormalFitter,
        "loglogistic": lifelines.LogLogisticFitter,
        "exponential": lifelines.ExponentialFitter,
    }[family]()
    h = points["horizon_days"].to_numpy(float)
    cum = points["count"].to_numpy(float)
    n = float(points["n"].iloc[0])
    lower = np.r_[0.0, h]
    upper = np.r_[h, np.inf]
    weights = np.diff(np.r_[0.0, cum, n])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter.fit_interval_censoring(
            lower, upper, weights=weights, fit_options={"ftol": 1e-15, "gtol": 1e-12}
        )
    return fitter


@pytest.mark.parametrize("family", ["weibull", "lognormal", "loglogistic", "exponential"])
def test_agrees_with_lifelines_interval_fitters(family: str) -> None:
    ref = _lifelines_fit(THREE, family)
    fit = fit_published_points(THREE, family, ci="wald")
    # Both drop the multinomial constant.  lifelines' Weibull clips times at 1e-25 inside its
    # cumulative hazard, which moves its log-likelihood by ~7e-6 on these data.
    assert fit.loglik_ == pytest.approx(ref.log_likelihood_, abs=2e-5)
    assert fit.loglik_ >= ref.log_likelihood_ - 1e-9  # never a worse optimum
    p = ref.params_
    names = {
        "weibull": {"scale": "lambda_", "shape": "rho_"},
        "lognormal": {"mu": "mu_", "sigma": "sigma_"},
        "loglogistic": {"scale": "alpha_", "shape": "beta_"},
        "exponential": {"scale": "lambda_"},
    }[family]
    expected = {ours: p[theirs] for ours, theirs in names.items()}
    for name, value in expected.items():
        assert fit.params_[name] == pytest.approx(value, rel=1e-5), name


def test_saturated_fit_reproduces_shares_and_warns() -> None:
    with pytest.warns(UnidentifiedWarning, match="SATURATED"):
        fit = fit_published_points(CONWAY_LIKE, "weibull")
    assert fit.df_ == 2 and fit.residual_df_ == 0
    np.testing.assert_allclose(fit.cdf([2.0, 90.0]), [0.30, 0.63], atol=1e-7)
    # closed form: Weibull through two points of the cdf
    a, b = np.log(-np.log(0.70)), np.log(-np.log(0.37))
    shape = (b - a) / (np.log(90.0) - np.log(2.0))
    assert fit.params_["shape"] == pytest.approx(shape, rel=1e-6)
    assert fit.params_["scale"] == pytest.approx(2.0 / np.exp(a / shape), rel=1e-6)


def test_exponential_single_point_closed_form_and_interval() -> None:
    pts = pd.DataFrame({"horizon_days": [10.0], "count": [80], "n": [200]})
    with pytest.warns(UnidentifiedWarning, match="SATURATED"):
        fit = fit_published_points(pts, "exponential", ci="profile")
    scale = -10.0 / np.log(1 - 0.4)
    assert fit.params_["scale"] == pytest.approx(scale, rel=1e-7)
    # profile interval = binomial likelihood-ratio interval of the share, mapped to the scale
    crit = stats.chi2.ppf(0.95, 1) / 2
    ll = lambda q: 80 * np.log(q) + 120 * np.log(1 - q)  # noqa: E731
    from scipy.optimize import brentq

    q_lo = brentq(lambda q: ll(q) - ll(0.4) + crit, 0.2, 0.4)
    q_hi = brentq(lambda q: ll(q) - ll(0.4) + crit, 0.4, 0.6)
    row = fit.summary.loc["scale"]
    assert row["ci_lower"] == pytest.approx(-10 / np.log(1 - q_hi), rel=1e-5)
    assert row["ci_upper"] == pytest.approx(-10 / np.log(1 - q_lo), rel=1e-5)


def test_cohorts_are_independent_binomials() -> None:
    # two cohorts with one point each = the product of two binomials
    pts = pd.DataFrame(
        {"horizon_days": [5.0, 30.0], "count": [30, 140], "n": [100, 200], "cohort": ["a", "b"]}
    )
    with pytest.warns(UnidentifiedWarning, match="SATURATED"):
        fit = fit_published_points(pts, "weibull", ci="wald")
    sc, sh = fit.params_["scale"], fit.params_["shape"]
    f5, f30 = 1 - np.exp(-((5 / sc) ** sh)), 1 - np.exp(-((30 / sc) ** sh))
    assert f5 == pytest.approx(0.30, abs=1e-6) and f30 == pytest.approx(0.70, abs=1e-6)
    expected = stats.binom.logpmf(30, 100, 0.3) + stats.binom.logpmf(140, 200, 0.7)
    const = np.log(stats.binom.pmf(30, 100, 0.3)) - (30 * np.log(0.3) + 70 * np.log(0.7))
    const += np.log(stats.binom.pmf(140, 200, 0.7)) - (140 * np.log(0.7) + 60 * np.log(0.3))
    assert fit.loglik_ == pytest.approx(expected - const, abs=1e-6)


def test_conditional_denominator_matches_truncated_likelihood() -> None:
    # 40 % of the accounts suspended by day 90 were suspended by day 2 (Conway pitfall)
    pts = pd.DataFrame(
        {
            "horizon_days": [2.0, 30.0],
            "share": [0.4, 0.8],
            "n": 200,
            "denominator": "events",
            "condition_horizon_days": 90.0,
        }
    )
    fit = fit_published_points(pts, "exponential", ci="wald")
    assert fit.df_ == 2
    rate = 1 / fit.params_["scale"]

    def cond_ll(r: float) -> float:
        f = lambda t: 1 - np.exp(-r * t)  # noqa: E731
        cells = np.array([80.0, 80.0, 40.0])
        probs = np.diff([0.0, f(2), f(30), f(90)]) / f(90)
        return float(cells @ np.log(probs))

    from scipy.optimize import minimize_scalar

    best = minimize_scalar(
        lambda r: -cond_ll(r), bounds=(1e-4, 1.0), method="bounded", options={"xatol": 1e-12}
    )
    assert rate == pytest.approx(best.x, rel=1e-5)
    assert fit.loglik_ == pytest.approx(cond_ll(best.x), abs=1e-7)
    with pytest.raises(UnidentifiedModelError, match="cure"):
        fit_published_points(pts, "weibull", cure=True)


def test_constant_hazard_rejected_on_conway_like_points() -> None:
    res = constant_hazard_test(CONWAY_LIKE)
    assert res.p_value < 1e-10 and res.rejected
    assert res.weibull_shape < 0.5  # falling hazard
    # with two points the Weibull is saturated: LR = deviance of the exponential
    assert res.statistic == pytest.approx(res.gof_statistic, rel=1e-6)


def test_constant_hazard_size_fast() -> None:
    rate = size_constant_hazard(n_sim=40, seed=5)
    assert rate <= 0.2  # 5 % nominal; loose band for 40 replications


@pytest.mark.slow
def test_constant_hazard_size_slow() -> None:
    rate = size_constant_hazard(n_sim=1000, seed=12)
    lo, hi = stats.binom.interval(0.99, 1000, 0.05)
    assert lo / 1000 <= rate <= hi / 1000, rate


def test_coverage_fast() -> None:
    table = coverage_published_points(n_sim=12, seed=3)
    assert (table["coverage"] >= 0.75).all(), table


@pytest.mark.slow
def test_coverage_slow() -> None:
    table = coverage_published_points(n_sim=400, n=1000, seed=11)
    for quantity, row in table.iterrows():
        assert 0.93 <= row["coverage"] <= 0.97, (quantity, row["coverage"])


@pytest.mark.slow
def test_cure_coverage_slow() -> None:
    table = coverage_cure_points(n_sim=200, seed=14)
    for quantity, row in table.iterrows():
        assert 0.93 <= row["coverage"] <= 0.97, (quantity, row["coverage"])


def test_recovery_of_weibull_from_large_grouped_sample() -> None:
    rng = np.random.default_rng(7)
    t = 30.0 * rng.weibull(0.5, 200_000)
    h = np.array([1.0, 7.0, 30.0, 180.0])
    pts = pd.DataFrame({"horizon_days": h, "count": (t[:, None] <= h).sum(0), "n": t.size})
    fit = fit_published_points(pts, "weibull", ci="wald")
    assert fit.params_["shape"] == pytest.approx(0.5, rel=0.02)
    assert fit.params_["scale"] == pytest.approx(30.0, rel=0.05)
    assert fit.gof_p_value_ > 0.001  # the right family fits


def test_cure_fraction_recovered_and_band_contains_truth() -> None:
    rng = np.random.default_rng(8)
    n = 50_000
    t = np.where(rng.random(n) < 0.3, np.inf, 20.0 * rng.weibull(0.7, n))
    h = np.array([1.0, 7.0, 30.0, 90.0, 365.0])
    pts = pd.DataFrame({"horizon_days": h, "count": (t[:, None] <= h).sum(0), "n": n})
    fit = fit_published_points(pts, "weibull", cure=True)
    row = fit.summary.loc["cure_fraction"]
    assert row["ci_lower"] <= 0.3 <= row["ci_upper"]
    assert row["estimate"] == pytest.approx(0.3, abs=0.02)
    band = fit.ci_cdf([50.0]).iloc[0]
    truth = 0.7 * (1 - np.exp(-((50 / 20) ** 0.7)))
    assert band["ci_lower"] <= truth <= band["ci_upper"]


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        (pd.DataFrame({"horizon_days": [2.0], "share": [0.3], "n": [np.nan]}), "n"),
        (pd.DataFrame({"horizon_days": [2.0], "share": [0.3]}), "n"),
        (pd.DataFrame({"horizon_days": [2.0], "share": [1.3], "n": [10]}), "share"),
        (pd.DataFrame({"horizon_days": [0.0], "share": [0.3], "n": [10]}), "horizon_days"),
        (pd.DataFrame({"horizon_days": [2.0, 9.0], "share": [0.5, 0.3], "n": 10}), "share"),
        (pd.DataFrame({"horizon_days": [2.0, 9.0], "share": [0.2, 0.3], "n": [10, 20]}), "n"),
        (
            pd.DataFrame({"horizon_days": [2.0], "share": [0.3], "n": 9, "denominator": "x"}),
            "denominator",
        ),
        (
            pd.DataFrame({"horizon_days": [2.0], "share": [0.3], "n": 9, "denominator": "events"}),
            "condition_horizon_days",
        ),
    ],
)
def test_bad_points_raise_with_field(frame: pd.DataFrame, field: str) -> None:
    with pytest.raises(PointsInputError) as err:
        fit_published_points(frame, "exponential")
    assert err.value.field == field
    assert field in str(err.value)


def test_single_point_two_parameter_family_is_an_error() -> None:
    pts = pd.DataFrame({"horizon_days": [2.0], "share": [0.3], "n": [722]})
    with pytest.raises(UnidentifiedModelError, match="not identified"):
        fit_published_points(pts, "weibull")
    with pytest.raises(UnidentifiedModelError, match="at least two"):
        constant_hazard_test(pts)


def test_all_zero_shares_is_no_events_and_share_one_warns() -> None:
    zero = pd.DataFrame({"horizon_days": [2.0, 9.0], "share": [0.0, 0.0], "n": 50})
    with pytest.raises(NoEventsError), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnidentifiedWarning)
        fit_published_points(zero, "exponential")
    one = pd.DataFrame({"horizon_days": [2.0, 9.0], "share": [0.5, 1.0], "n": 50})
    with pytest.warns(UnidentifiedWarning, match="share 1"):
        fit_published_points(one, "exponential")


def test_bad_configuration() -> None:
    with pytest.raises(ModelError, match="family"):
        fit_published_points(THREE, "gamma")
    with pytest.raises(ModelError, match="ci"):
        fit_published_points(THREE, ci="bayes")


def test_plot_draws_the_fitted_curve_and_the_points() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fit = fit_published_points(THREE, "loglogistic", ci="wald")
    ax = fit.plot()
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, fit.cdf(x))
    px, py = ax.lines[1].get_data()
    np.testing.assert_allclose(py, THREE["count"] / 500)
    assert list(fit.points_["fitted_share"]) == pytest.approx(list(fit.cdf(px)))
