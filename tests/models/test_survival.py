"""Validation of analysis.models.survival against scipy, published values and closed forms.

All simulated data here are synthetic (seeded numpy generators).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from scipy import stats

from analysis.errors import ModelError
from analysis.models.survival import KaplanMeier, ParametricSurvival, logrank_test

# Freireich et al. (1963) 6-MP arm, remission weeks; 0 = censored (Kleinbaum & Klein, table 1.1)
SIX_MP_TIMES = np.array(
    [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35.0]
)
SIX_MP_EVENT = np.array([1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0])
PLACEBO_TIMES = np.array([1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23.0])


def censored_sample(n: int, seed: int, ties: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic Weibull lifetimes with uniform censoring (rounded to create ties)."""
    rng = np.random.default_rng(seed)
    x = 10.0 * rng.weibull(0.8, n)
    c = rng.uniform(0, 25, n)
    t = np.minimum(x, c)
    if ties:
        t = np.round(t, 1) + 0.1
    return t, x <= c


# ------------------------------------------------------------------ Kaplan-Meier
def test_km_equals_scipy_ecdf() -> None:
    t, e = censored_sample(3000, seed=1)
    km = KaplanMeier().fit(t, e)
    ref = stats.ecdf(stats.CensoredData.right_censored(t, ~e))
    sf = km.survival_function_.loc[ref.sf.quantiles]
    np.testing.assert_allclose(sf["survival"], ref.sf.probabilities, rtol=0, atol=1e-12)
    ci = ref.sf.confidence_interval(method="log-log")
    low, high = ci.low.probabilities, ci.high.probabilities
    ok = np.isfinite(low) & np.isfinite(high)
    np.testing.assert_allclose(sf["ci_lower"][ok], low[ok], atol=1e-12)
    np.testing.assert_allclose(sf["ci_upper"][ok], high[ok], atol=1e-12)


def test_km_freireich_published_values() -> None:
    km = KaplanMeier().fit(SIX_MP_TIMES, SIX_MP_EVENT)
    published = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    got = km.survival_at(list(published))
    np.testing.assert_allclose(got, list(published.values()), atol=5e-4)
    assert km.median_ == 23.0
    assert km.median_ci_[0] == 13.0 and np.isinf(km.median_ci_[1])
    # Greenwood SE at week 6 by hand: S * sqrt(3 / (21 * 18))
    se6 = np.sqrt(km.survival_function_.loc[6.0, "variance"])
    assert se6 == pytest.approx(18 / 21 * np.sqrt(3 / (21 * 18)), rel=1e-12)


def test_km_delayed_entry_matches_risk_set_definition() -> None:
    rng = np.random.default_rng(5)
    n = 300
    entry = rng.uniform(0, 5, n) * (rng.random(n) < 0.5)
    t = entry + np.round(rng.exponential(4, n), 1) + 0.1
    e = rng.random(n) < 0.7
    km = KaplanMeier().fit(t, e, entry=entry)
    # definition: at risk at u if entry < u <= t; S = prod over event times (1 - d/n)
    s, expected = 1.0, {}
    for u in np.unique(t[e]):
        at_risk = np.sum((entry < u) & (t >= u))
        s *= 1.0 - np.sum((t == u) & e) / at_risk
        expected[u] = s
    np.testing.assert_allclose(km.survival_at(list(expected)), list(expected.values()), rtol=1e-12)


def test_km_zero_entry_equals_no_entry() -> None:
    t, e = censored_sample(500, seed=2)
    a = KaplanMeier().fit(t, e).survival_function_
    b = KaplanMeier().fit(t, e, entry=np.zeros(t.size)).survival_function_
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())


def test_km_rmst_uncensored_is_mean_of_truncated_times() -> None:
    rng = np.random.default_rng(3)
    t = rng.exponential(5, 400)
    res = KaplanMeier().fit(t).rmst(7.0)
    assert res.estimate == pytest.approx(np.minimum(t, 7.0).mean(), rel=1e-12)
    # no censoring: Greenwood variance of RMST = var(min(T, tau)) / n (biased, ddof=0) * n/(n)
    assert res.se == pytest.approx(np.minimum(t, 7.0).std() / np.sqrt(t.size), rel=1e-2)
    assert res.ci_lower < res.estimate < res.ci_upper


def test_km_survival_at_and_plot() -> None:
    km = KaplanMeier().fit([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(km.survival_at([0.5, 1.0, 2.5, 10.0]), [1.0, 0.75, 0.5, 0.0])
    assert km.median_ == 2.0
    ax = km.plot()
    assert ax.get_xlabel() == "days"


# ----------------------------------------------------------------------- log-rank
def test_logrank_freireich_published_chi_square() -> None:
    # Kleinbaum & Klein, Survival Analysis (3rd ed.), ch. 2: log-rank chi-square 16.79 (1 df)
    res = logrank_test(SIX_MP_TIMES, PLACEBO_TIMES, SIX_MP_EVENT, None)
    assert res.statistic == pytest.approx(16.79, abs=0.005)
    assert res.observed_a == 9 and res.observed_b == 21
    assert res.expected_a == pytest.approx(19.25, abs=0.005)  # published E1 = 19.25


def test_logrank_matches_scipy() -> None:
    ta, ea = censored_sample(400, seed=7)
    tb, eb = censored_sample(300, seed=8)
    tb = tb * 1.2
    res = logrank_test(ta, tb, ea, eb)
    ref = stats.logrank(
        stats.CensoredData.right_censored(ta, ~ea), stats.CensoredData.right_censored(tb, ~eb)
    )
    assert res.statistic == pytest.approx(ref.statistic**2, rel=1e-10)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-8)


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("durations", "kwargs", "match"),
    [
        ([1.0, -2.0], {}, "expected durations >= 0"),
        ([1.0, np.nan], {}, "NaN"),
        ([1.0, 2.0], {"event_observed": [1, 0, 1]}, "length"),
        ([1.0, 2.0], {"entry": [0.5]}, "length"),
        ([1.0, 2.0], {"entry": [0.5, 2.0]}, "entry < duration"),
        ([1.0, 2.0], {"event_observed": [1, 2]}, "0/1"),
        ([], {}, "empty"),
    ],
)
def test_bad_input_raises_model_error(durations: list, kwargs: dict, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        KaplanMeier().fit(durations, **kwargs)
    with pytest.raises(ModelError):
        ParametricSurvival().fit(durations, **kwargs)


def test_parametric_needs_positive_durations_and_config() -> None:
    with pytest.raises(ModelError, match="> 0"):
        ParametricSurvival().fit([0.0, 1.0])
    with pytest.raises(ModelError, match="distribution"):
        ParametricSurvival("gamma")
    with pytest.raises(ModelError, match="alpha"):
        KaplanMeier(alpha=1.5).fit([1.0])
    with pytest.raises(ModelError, match="not fitted"):
        KaplanMeier().survival_at([1.0])
    with pytest.raises(ModelError, match="no observed events"):
        ParametricSurvival().fit([1.0, 2.0], [0, 0])


# ------------------------------------------------------------ parametric fits
def simulate(distribution: str, n: int, rng: np.random.Generator, cure: float = 0.0):
    """Synthetic lifetimes with known parameters, uniform censoring on [5, 60] days."""
    if distribution == "weibull":
        x = 8.0 * rng.weibull(0.7, n)
    elif distribution == "exponential":
        x = rng.exponential(8.0, n)
    elif distribution == "lognormal":
        x = np.exp(1.5 + 0.8 * rng.standard_normal(n))
    else:
        x = 6.0 * np.exp(rng.logistic(size=n) / 1.8)
    x[rng.random(n) < cure] = np.inf
    c = rng.uniform(5, 60, n)
    return np.minimum(x, c), x <= c


TRUTH = {
    "weibull": {"scale": 8.0, "shape": 0.7},
    "exponential": {"scale": 8.0},
    "lognormal": {"mu": 1.5, "sigma": 0.8},
    "loglogistic": {"scale": 6.0, "shape": 1.8},
}


@pytest.mark.parametrize("distribution", list(TRUTH))
@pytest.mark.parametrize("cure", [0.0, 0.35])
def test_parameter_recovery(distribution: str, cure: float) -> None:
    rng = np.random.default_rng(11)
    t, e = simulate(distribution, 20_000, rng, cure=cure)
    m = ParametricSurvival(distribution, cure=cure > 0).fit(t, e)
    truth = dict(TRUTH[distribution])
    if cure > 0:
        truth["cure_fraction"] = cure
    for name, value in truth.items():
        row = m.summary.loc[name]
        assert abs(row["estimate"] - value) < 4 * row["se"] + 1e-9, (name, row.to_dict())
        assert abs(row["estimate"] / value - 1) < 0.05
    assert list(m.summary.columns) == ["estimate", "se", "ci_lower", "ci_upper"]
    assert m.aic_ == pytest.approx(2 * len(truth) - 2 * m.log_likelihood_)


@pytest.mark.parametrize("distribution", ["weibull", "lognormal", "loglogistic", "exponential"])
def test_parametric_matches_scipy_likelihood(distribution: str) -> None:
    """Our maximum is at least scipy's generic censored fit, and the estimates agree."""
    rng = np.random.default_rng(4)
    t, e = simulate(distribution, 1500, rng)
    data = stats.CensoredData.right_censored(t, ~e)
    scipy_dist = {
        "weibull": stats.weibull_min,
        "lognormal": stats.lognorm,
        "loglogistic": stats.fisk,
        "exponential": stats.expon,
    }[distribution]
    params = scipy_dist.fit(data, floc=0)
    ref_ll = scipy_dist.logpdf(t[e], *params).sum() + scipy_dist.logsf(t[~e], *params).sum()
    m = ParametricSurvival(distribution).fit(t, e)
    assert m.log_likelihood_ >= ref_ll - 1e-8
    assert m.log_likelihood_ == pytest.approx(ref_ll, abs=1e-3)
    np.testing.assert_allclose(
        m.survival_at([1.0, 5.0, 20.0]), scipy_dist.sf([1.0, 5.0, 20.0], *params), rtol=2e-3
    )


def test_parametric_with_delayed_entry_recovers_weibull() -> None:
    rng = np.random.default_rng(21)
    n = 40_000
    x = 8.0 * rng.weibull(0.7, n)
    entry = rng.uniform(0, 10, n)
    keep = x > entry  # left truncation: only channels alive at entry are seen
    x, entry = x[keep], entry[keep]
    c = entry + rng.uniform(5, 60, x.size)
    t, e = np.minimum(x, c), x <= c
    m = ParametricSurvival("weibull").fit(t, e, entry=entry)
    assert m.params_["shape"] == pytest.approx(0.7, rel=0.03)
    assert m.params_["scale"] == pytest.approx(8.0, rel=0.05)
    naive = ParametricSurvival("weibull").fit(t, e)
    assert abs(naive.params_["scale"] / 8.0 - 1) > 0.1  # ignoring truncation is biased


def test_exponential_closed_forms() -> None:
    rng = np.random.default_rng(2)
    t, e = simulate("exponential", 2000, rng)
    m = ParametricSurvival("exponential").fit(t, e)
    assert m.params_["scale"] == pytest.approx(t.sum() / e.sum(), rel=1e-12)
    assert m.summary.loc["scale", "se"] == pytest.approx(
        t.sum() / e.sum() / np.sqrt(e.sum()), rel=1e-6
    )
    lam = m.params_["scale"]
    assert m.median_ == pytest.approx(lam * np.log(2), rel=1e-12)
    assert m.rmst(10.0).estimate == pytest.approx(lam * (1 - np.exp(-10 / lam)), rel=1e-8)


def test_parametric_outputs_and_plot() -> None:
    rng = np.random.default_rng(9)
    t, e = simulate("weibull", 3000, rng, cure=0.3)
    m = ParametricSurvival("weibull", cure=True).fit(t, e)
    sf = m.survival_function_
    assert sf.index.name == "time_days" and sf["survival"].iloc[0] == 1.0
    assert (sf["ci_lower"] <= sf["survival"] + 1e-12).all()
    assert (sf["survival"] <= sf["ci_upper"] + 1e-12).all()
    lo, hi = m.cure_fraction_ci_
    assert lo < m.cure_fraction_ < hi
    assert m.median_ci_[0] < m.median_ < m.median_ci_[1]
    assert np.isfinite(m.bic_) and m.plot() is not None


def test_cure_fraction_profile_interval_reaches_zero() -> None:
    """No cured share in the data: the profile interval should include (nearly) 0."""
    rng = np.random.default_rng(13)
    t, e = simulate("weibull", 2000, rng, cure=0.0)
    t = np.minimum(t, 500.0)
    e = np.ones_like(e)
    m = ParametricSurvival("weibull", cure=True).fit(t * 1.0, e)
    assert m.cure_fraction_ci_[0] < 1e-3


# ------------------------------------------------ worked check: falling hazard
def test_falling_hazard_worked_check() -> None:
    """Conway et al. (2019): >30 % suspended within 2 days, 63 % within ~3 months.

    Under a constant hazard, S(2) <= 0.7 forces S(90) <= 0.7**45 < 1e-6, i.e. essentially
    every account suspended within 3 months, not 63 %.  Synthetic data built to match both
    shares (Weibull, shape 0.25, scale 92 days; 722 accounts as in Conway et al., followed
    for 90 days) are fitted far better by a Weibull with shape < 1 or a cure model.
    """
    hazard = -np.log(0.7) / 2.0  # smallest constant hazard giving 30 % within 2 days
    assert 1 - np.exp(-90 * hazard) > 0.9999  # vs. the published 63 %
    k = (np.log(-np.log(0.37)) - np.log(-np.log(0.68))) / np.log(45.0)
    scale = 2.0 / (-np.log(0.68)) ** (1 / k)
    rng = np.random.default_rng(2019)
    x = scale * rng.weibull(k, 722)
    t, e = np.minimum(x, 90.0), x <= 90.0
    km = KaplanMeier().fit(t, e)
    assert 1 - km.survival_at(2.0) > 0.25 and 0.55 < 1 - km.survival_at(89.9) < 0.7
    expo = ParametricSurvival("exponential").fit(t, e)
    weib = ParametricSurvival("weibull").fit(t, e)
    cure = ParametricSurvival("weibull", cure=True).fit(t, e)
    assert weib.summary.loc["shape", "ci_upper"] < 1.0
    assert weib.aic_ < expo.aic_ - 100
    assert cure.aic_ < expo.aic_ - 100
    # the exponential cannot reproduce both shares at once
    s_exp = expo.survival_at([2.0, 90.0])
    assert abs((1 - s_exp[0]) - (1 - km.survival_at(2.0))) > 0.15
