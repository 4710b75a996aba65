"""AFT regression: agreement with lifelines (tests only) and ParametricSurvival, coverage in
seeded simulation (synthetic data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ModelError, NoEventsError
from analysis.models.aft import AFTRegression
from analysis.models.survival import ParametricSurvival

BETA = (2.0, 0.5, -0.3)
SIGMA = 0.8


def aft_data(rng: np.random.Generator, n: int, family: str = "weibull") -> pd.DataFrame:
    """log T = 2 + 0.5 x1 - 0.3 x2 + 0.8 W, uniform censoring and delayed entry."""
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 2, n).astype(float)
    w = {
        "weibull": np.log(rng.exponential(1.0, n)),  # minimum extreme value
        "lognormal": rng.normal(size=n),
        "loglogistic": rng.logistic(size=n),
    }[family]
    t = np.exp(BETA[0] + BETA[1] * x1 + BETA[2] * x2 + SIGMA * w)
    c = rng.uniform(0.0, 40.0, n)
    y = np.minimum(t, c)
    e = rng.uniform(0.0, 3.0, n)  # independent delayed entry: rows ended before it are unseen
    keep = y > e
    return pd.DataFrame({"y": y, "d": (t <= c).astype(int), "x1": x1, "x2": x2, "e": e})[
        keep
    ].reset_index(drop=True)


LIFELINES = {
    # family: (fitter, location name, shape name, shape = sign * log sigma, fit options)
    "weibull": ("WeibullAFTFitter", "lambda_", "rho_", -1.0),
    "lognormal": ("LogNormalAFTFitter", "mu_", "sigma_", 1.0),
    "loglogistic": ("LogLogisticAFTFitter", "alpha_", "beta_", -1.0),
}


@pytest.mark.parametrize("family", ["weibull", "lognormal", "loglogistic"])
def test_matches_lifelines_with_delayed_entry(family: str) -> None:
    import lifelines

    name, loc, shape, sign = LIFELINES[family]
    df = aft_data(np.random.default_rng(0), 250, family)
    m = AFTRegression(family).fit(df, "y", "d", ["x1", "x2"], entry_col="e")
    # lifelines' optimiser stops early or reports precision loss for some options: take the
    # first fit that reaches our maximum (a lower maximum would be lifelines not converging)
    for opts in ({"gtol": 1e-12, "ftol": 1e-15}, {"gtol": 1e-9}, {"gtol": 1e-7}):
        try:
            ref = getattr(lifelines, name)().fit(df, "y", "d", entry_col="e", fit_options=opts)
        except lifelines.exceptions.ConvergenceError:
            continue
        if ref.log_likelihood_ >= m.log_likelihood_ - 1e-7:
            break
    for cov in ("Intercept", "x1", "x2"):
        assert m.params_[("mu", cov)] == pytest.approx(ref.params_[(loc, cov)], abs=1e-5)
        assert m.summary.loc[("mu", cov), "se"] == pytest.approx(
            ref.standard_errors_[(loc, cov)], abs=1e-5
        )
    log_sigma = m.params_[("log_sigma", "Intercept")]
    assert sign * log_sigma == pytest.approx(ref.params_[(shape, "Intercept")], abs=1e-5)
    assert m.summary.loc[("log_sigma", "Intercept"), "se"] == pytest.approx(
        ref.standard_errors_[(shape, "Intercept")], abs=1e-5
    )
    assert m.log_likelihood_ == pytest.approx(ref.log_likelihood_, abs=1e-6)


@pytest.mark.parametrize("family", ["weibull", "lognormal", "loglogistic"])
def test_intercept_only_equals_parametric_survival(family: str) -> None:
    df = aft_data(np.random.default_rng(1), 300, family)
    m = AFTRegression(family).fit(df, "y", "d", covariates=[], entry_col="e")
    ref = ParametricSurvival(family).fit(df["y"], df["d"], entry=df["e"])
    assert m.log_likelihood_ == pytest.approx(ref.log_likelihood_, abs=1e-6)
    assert float(m.predict_median(np.zeros((1, 0)))[0]) == pytest.approx(ref.median_, rel=1e-5)


def test_weibull_aft_is_proportional_hazards() -> None:
    """Weibull: log hazard ratio = -beta / sigma, as a Cox model estimates."""
    from analysis.models.cox import CoxPH

    df = aft_data(np.random.default_rng(2), 3000)
    m = AFTRegression().fit(df, "y", "d", ["x1", "x2"], entry_col="e")
    cox = CoxPH().fit(df, "y", "d", ["x1", "x2"], entry_col="e")
    sigma = np.exp(m.params_[("log_sigma", "Intercept")])
    ph = -np.array([m.params_[("mu", "x1")], m.params_[("mu", "x2")]]) / sigma
    np.testing.assert_allclose(ph, cox.params_.to_numpy(), atol=0.05)
    np.testing.assert_allclose(ph, [-0.5 / 0.8, 0.3 / 0.8], atol=0.08)
    s = m.predict_survival([[0.0, 0.0]], [5.0]).iloc[0, 0]
    assert s == pytest.approx(np.exp(-((5.0 / np.exp(2.0)) ** (1 / 0.8))), abs=0.02)


def test_cluster_robust_close_to_model_based_for_independent_rows() -> None:
    df = aft_data(np.random.default_rng(3), 1000)
    df["fam"] = np.arange(len(df)) // 2
    a = AFTRegression().fit(df, "y", "d", ["x1", "x2"])
    b = AFTRegression().fit(df, "y", "d", ["x1", "x2"], cluster_col="fam")
    np.testing.assert_allclose(a.params_, b.params_)
    ratio = b.summary["se"] / a.summary["se"]
    assert ((ratio > 0.85) & (ratio < 1.15)).all() and not np.allclose(ratio, 1.0)


def aft_coverage(n_sim: int, n_obs: int = 300, seed: int = 164, family: str = "weibull"):
    rng = np.random.default_rng(seed)
    truth = {("mu", "x1"): BETA[1], ("mu", "x2"): BETA[2], ("log_sigma", "Intercept"): 0.0}
    truth[("log_sigma", "Intercept")] = np.log(SIGMA)
    hits = {k: [] for k in truth}
    for _ in range(n_sim):
        s = (
            AFTRegression(family)
            .fit(aft_data(rng, n_obs, family), "y", "d", ["x1", "x2"], entry_col="e")
            .summary
        )
        for k, v in truth.items():
            hits[k].append(s.loc[k, "ci_lower"] <= v <= s.loc[k, "ci_upper"])
    return {k: float(np.mean(v)) for k, v in hits.items()}


def test_aft_coverage_fast() -> None:
    for k, v in aft_coverage(30, n_obs=1000).items():
        assert 0.85 <= v <= 1.0, (k, v)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["weibull", "lognormal"])
def test_aft_coverage_400(family: str) -> None:
    # n = 1000 before truncation (~800 seen).  At n = 300 (~240 seen) the Weibull log sigma
    # interval covers only ~0.90 (sd of the estimate 0.089 vs mean s.e. 0.079): small-sample
    # behaviour of the truncated Weibull likelihood, documented in the validation table.
    for k, v in aft_coverage(400, n_obs=1000, family=family).items():
        assert 0.93 <= v <= 0.97, (k, v)


def test_errors() -> None:
    df = aft_data(np.random.default_rng(4), 50)
    with pytest.raises(ModelError, match="unknown distribution"):
        AFTRegression("gamma").fit(df, "y", "d", ["x1"])
    with pytest.raises(ModelError, match="expected > 0 days"):
        AFTRegression().fit(df.assign(y=0.0), "y", "d", ["x1"])
    with pytest.raises(NoEventsError):
        AFTRegression().fit(df.assign(d=0), "y", "d", ["x1"])
    with pytest.raises(ModelError, match="expected 0 <= e < y"):
        AFTRegression().fit(df.assign(e=df["y"] + 1), "y", "d", ["x1"], entry_col="e")
