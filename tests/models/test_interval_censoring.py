"""Turnbull NPMLE and interval-censored parametric fits (crawl data).

References: lifelines' ``KaplanMeierFitter.fit_interval_censoring`` (Turnbull) and its
parametric ``fit_interval_censoring`` fitters (tests only); closed forms; simulated weekly
crawls with known truth (synthetic data only, fixed seeds).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ChannelTableError, ModelError, NoEventsError
from analysis.models import _interval_lik as il
from analysis.models._interval_coverage import TRUE_MEDIAN, coverage_crawl, weekly_crawl
from analysis.models.interval_censoring import (
    IntervalCensoredParametric,
    TurnbullEstimator,
    crawl_intervals,
)
from analysis.models.survival import KaplanMeier, ParametricSurvival


def _random_intervals(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Case-2 interval censoring with continuous visit times (no tied endpoints)."""
    rng = np.random.default_rng(seed)
    t = 10.0 * rng.weibull(0.8, n)
    a = rng.uniform(0.0, 8.0, n)
    b = a + rng.uniform(1.0, 8.0, n)
    lower = np.where(t <= a, 0.0, np.where(t <= b, a, b))
    upper = np.where(t <= a, a, np.where(t <= b, b, np.inf))
    return lower, upper


def test_turnbull_agrees_with_lifelines() -> None:
    lifelines = pytest.importorskip("lifelines")
    lower, upper = _random_intervals(40, seed=3)
    ours = TurnbullEstimator().fit(lower, upper)
    assert ours.converged_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lifelines.KaplanMeierFitter().fit_interval_censoring(lower, upper, tol=1e-10)
    # lifelines closes the intervals ([L, R]); at an end point of an innermost interval its
    # two curves differ from the half-open convention by one step, so compare in between.
    ends = ref.survival_function_.index.to_numpy()
    ends = ends[np.isfinite(ends)]
    # lifelines' curves between its index points take the next point's value (bfill)
    times = 0.5 * (ends[1:] + ends[:-1])
    sf = ref.survival_function_.iloc[np.searchsorted(ends, times, side="left")]
    b = ours.survival_bounds(times)
    np.testing.assert_allclose(b["survival_upper"], sf["NPMLE_estimate_upper"], atol=1e-5)
    np.testing.assert_allclose(b["survival_lower"], sf["NPMLE_estimate_lower"], atol=1e-5)


def test_turnbull_exact_times_reduce_to_kaplan_meier() -> None:
    rng = np.random.default_rng(4)
    t = np.round(rng.exponential(5.0, 80), 3) + 0.001
    c = rng.uniform(0.0, 12.0, 80)
    obs = np.minimum(t, c)
    event = t <= c
    lower = obs
    upper = np.where(event, obs, np.inf)
    tb = TurnbullEstimator().fit(lower, upper)
    km = KaplanMeier().fit(obs, event)
    grid = np.linspace(0.1, 11.0, 50)
    np.testing.assert_allclose(
        tb.survival_bounds(grid)["survival_upper"], km.survival_at(grid), atol=1e-8
    )


def test_turnbull_grouped_data_is_the_empirical_distribution() -> None:
    # current-status style grouping with common ends: NPMLE = cell shares (closed form)
    lower = np.r_[np.zeros(30), np.full(50, 2.0), np.full(20, 9.0)]
    upper = np.r_[np.full(30, 2.0), np.full(50, 9.0), np.full(20, np.inf)]
    tb = TurnbullEstimator().fit(lower, upper)
    np.testing.assert_allclose(
        tb.survival_bounds([2.0, 9.0])["survival_upper"], [0.7, 0.2], atol=1e-10
    )
    # Greenwood-free closed form: the information variance of S(2) is the binomial p(1-p)/n
    band = tb.survival_ci([2.0]).iloc[0]
    se = np.sqrt(0.7 * 0.3 / 100)
    z = 1.959963984540054
    sd = se / abs(0.7 * np.log(0.7))
    assert band["ci_lower"] == pytest.approx(0.7 ** np.exp(z * sd), rel=1e-6)


@pytest.mark.parametrize("family", ["weibull", "lognormal", "loglogistic", "exponential"])
def test_parametric_agrees_with_lifelines(family: str) -> None:
    lifelines = pytest.importorskip("lifelines")
    lower, upper = _random_intervals(100, seed=5)
    fitter = {
        "weibull": lifelines.WeibullFitter,
        "lognormal": lifelines.LogNormalFitter,
        "loglogistic": lifelines.LogLogisticFitter,
        "exponential": lifelines.ExponentialFitter,
    }[family]()
    ours = IntervalCensoredParametric(family).fit(lower, upper)
    names = {
        "weibull": {"scale": "lambda_", "shape": "rho_"},
        "lognormal": {"mu": "mu_", "sigma": "sigma_"},
        "loglogistic": {"scale": "alpha_", "shape": "beta_"},
        "exponential": {"scale": "lambda_"},
    }[family]
    opts = {"ftol": 1e-15, "gtol": 1e-12}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter.fit_interval_censoring(lower, upper, fit_options=opts)
        # lifelines started at our estimate: its optimiser must find nothing better
        again = type(fitter)().fit_interval_censoring(
            lower, upper, fit_options=opts, initial_point=ours.params_.to_numpy()
        )
    for name, theirs in names.items():
        # from lifelines' own start (its L-BFGS-B stops ~1e-5 early on the log-normal)
        assert ours.params_[name] == pytest.approx(fitter.params_[theirs], rel=5e-5), name
        assert ours.params_[name] == pytest.approx(again.params_[theirs], rel=1e-5), name
    # lifelines clips times at 1e-25 in its Weibull hazard (left-censored rows start at 0)
    assert ours.log_likelihood_ == pytest.approx(fitter.log_likelihood_, abs=2e-5)
    assert ours.log_likelihood_ >= fitter.log_likelihood_ - 1e-9


def test_exact_and_right_censored_rows_match_parametric_survival() -> None:
    rng = np.random.default_rng(6)
    t = 8.0 * rng.weibull(1.3, 200)
    c = rng.uniform(0.0, 15.0, 200)
    obs, event = np.minimum(t, c), t <= c
    for cure in (False, True):
        ref = ParametricSurvival("weibull", cure=cure).fit(obs, event)
        ours = IntervalCensoredParametric("weibull", cure=cure).fit(
            obs, np.where(event, obs, np.inf)
        )
        assert ours.log_likelihood_ == pytest.approx(ref.log_likelihood_, abs=1e-6)
        for name in ref.params_.index:
            assert ours.params_[name] == pytest.approx(ref.params_[name], rel=1e-4, abs=1e-6)


def test_weekly_crawl_naive_bias_and_turnbull_fix() -> None:
    d = weekly_crawl(1000, np.random.default_rng(1))
    naive = KaplanMeier().fit(d["naive_time"], d["naive_event"]).median_
    tb = TurnbullEstimator().fit(d["lower"], d["upper"])
    assert naive / TRUE_MEDIAN - 1 > 0.4  # exact-time reading: about +50 %
    assert abs(tb.median_ / TRUE_MEDIAN - 1) < 0.1
    lo, hi = tb.median_ci_
    assert lo <= TRUE_MEDIAN <= hi
    ex = IntervalCensoredParametric("exponential").fit(d["lower"], d["upper"])
    assert ex.median_ == pytest.approx(TRUE_MEDIAN, rel=0.08)


def test_crawl_coverage_fast() -> None:
    table = coverage_crawl(n_sim=6, n=200, seed=2)
    cov = table.loc[~table.index.str.endswith("_relative_bias"), "coverage"]
    assert (cov >= 0.66).all(), table
    assert table.loc["naive_median_relative_bias", "coverage"] > 0.3


@pytest.mark.slow
def test_crawl_coverage_slow() -> None:
    table = coverage_crawl(n_sim=300, seed=13)
    bias = table.index.str.endswith("_relative_bias")
    for quantity, row in table[~bias].iterrows():
        assert 0.93 <= row["coverage"] <= 0.97, (quantity, row["coverage"])
    assert abs(table.loc["turnbull_median_relative_bias", "coverage"]) < 0.05
    assert table.loc["naive_median_relative_bias", "coverage"] > 0.4


def test_crawl_intervals_from_a_channel_table() -> None:
    t0 = pd.Timestamp("2024-01-01")
    day = pd.Timedelta(days=1)
    table = pd.DataFrame(
        {
            "channel_id": ["c1", "c2", "c3"],
            "created_at": [t0, t0 + 2 * day, t0 + 3 * day],
            "last_seen_alive": [t0 + 7 * day, t0 + 2 * day, t0 + 14 * day],
            "first_seen_gone": [t0 + 14 * day, t0 + 7 * day, pd.NaT],
        }
    )
    out = crawl_intervals(table)
    np.testing.assert_allclose(out["lower_days"], [7.0, 0.0, 11.0])
    np.testing.assert_allclose(out["upper_days"], [14.0, 5.0, np.inf])
    assert list(out["channel_id"]) == ["c1", "c2", "c3"]
    bad = table.assign(first_seen_gone=[t0 + 5 * day, t0 + 7 * day, pd.NaT])
    with pytest.raises(ChannelTableError, match="first_seen_gone") as err:
        crawl_intervals(bad)
    assert err.value.row == 0
    with pytest.raises(ChannelTableError, match="last_seen_alive"):
        crawl_intervals(table.drop(columns="last_seen_alive"))


def test_interval_errors() -> None:
    with pytest.raises(ModelError, match="upper"):
        TurnbullEstimator().fit([1.0, 2.0], [0.5, 3.0])
    with pytest.raises(ModelError, match="lower"):
        IntervalCensoredParametric().fit([np.nan], [1.0])
    with pytest.raises(NoEventsError):
        IntervalCensoredParametric().fit([1.0, 2.0], [np.inf, np.inf])
    with pytest.raises(ModelError, match="distribution"):
        IntervalCensoredParametric("gamma")
    with pytest.raises(ModelError, match="variance"):
        TurnbullEstimator(variance="jackknife")


def test_bootstrap_interval_brackets_the_estimate() -> None:
    d = weekly_crawl(200, np.random.default_rng(9))
    tb = TurnbullEstimator(variance="bootstrap", n_boot=20, seed=1).fit(d["lower"], d["upper"])
    band = tb.survival_ci([7.0, 14.0])
    assert (band["ci_lower"] <= band["survival"] + 1e-9).all()
    assert (band["survival"] <= band["ci_upper"] + 1e-9).all()
    lo, hi = tb.median_ci_
    assert lo <= tb.median_ <= hi


def test_likelihood_is_shared_with_published_points() -> None:
    from analysis.models.published_points import fit_published_points

    pts = pd.DataFrame({"horizon_days": [3.0, 20.0], "count": [40, 90], "n": 150})
    pp = fit_published_points(pts, "exponential", ci="wald")
    lower, upper = np.array([0.0, 3.0, 20.0]), np.array([3.0, 20.0, np.inf])
    ic = IntervalCensoredParametric("exponential").fit(lower, upper, weights=[40, 50, 60])
    assert pp.loglik_ == pytest.approx(ic.log_likelihood_, abs=1e-9)
    assert pp.params_["scale"] == pytest.approx(ic.params_["scale"], rel=1e-8)
    data = il.IntervalData(lower, upper, np.array([40.0, 50.0, 60.0]))
    theta = np.array([np.log(ic.params_["scale"]), 0.0, -np.inf])
    assert il.loglik("exponential", theta, data)[0] == pytest.approx(ic.log_likelihood_)


def test_profile_intervals_close_to_wald_for_large_samples_and_plots() -> None:
    import matplotlib

    matplotlib.use("Agg")
    d = weekly_crawl(300, np.random.default_rng(10))
    wald = IntervalCensoredParametric("weibull", ci="wald").fit(d["lower"], d["upper"])
    prof = IntervalCensoredParametric("weibull", ci="profile").fit(d["lower"], d["upper"])
    for name in ("scale", "shape"):
        w, p = wald.summary.loc[name], prof.summary.loc[name]
        assert p["ci_lower"] < p["estimate"] < p["ci_upper"]
        assert p["ci_lower"] == pytest.approx(w["ci_lower"], rel=0.03)
        assert p["ci_upper"] == pytest.approx(w["ci_upper"], rel=0.03)
    ax = prof.plot(t_max=30.0)
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, prof.survival_at(x))
    tb = TurnbullEstimator().fit(d["lower"], d["upper"])
    ax = tb.plot()
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, tb.survival_at(x))


def test_cure_model_on_weekly_crawl_recovers_truth() -> None:
    rng = np.random.default_rng(5)
    n = 800
    created = rng.uniform(0, 180, n)
    banned = created + np.where(rng.random(n) < 0.3, np.inf, 8.0 * rng.weibull(0.8, n))
    first_gone = np.ceil(banned / 7) * 7
    last = np.floor(210 / 7) * 7
    cens = first_gone > last
    lower = np.where(cens, last, np.maximum(created, first_gone - 7)) - created
    upper = np.where(cens, np.inf, first_gone - created)
    fit = IntervalCensoredParametric("weibull", cure=True).fit(lower, upper)
    for name, truth in (("cure_fraction", 0.3), ("shape", 0.8), ("scale", 8.0)):
        row = fit.summary.loc[name]
        assert row["ci_lower"] <= truth <= row["ci_upper"], name
    no_cure = IntervalCensoredParametric("weibull").fit(lower, upper)
    assert fit.aic_ < no_cure.aic_ - 10  # the cure fraction is needed
