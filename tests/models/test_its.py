"""Interrupted time series: statsmodels cross-checks, GLS by hand, size under autocorrelation.

The false-positive rate of the default (ARMA errors on log counts) is measured on the series of
issue 12 (180 days, mean 500, latent AR(1) 0.9 on the log-rate, no effect): a fast version here,
300 replications in the slow test (``make test-slow``; README validation table).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _ts_sim import counts, its_null_series, latent_ar1
from scipy import linalg, optimize, special

from analysis.errors import ModelError, TakedownWarning
from analysis.models._ts_bootstrap import (
    moving_block_indices,
    placebo_p_value,
    sieve_ar_bootstrap,
)
from analysis.models.its import InterruptedTimeSeries, fit_glm

T = np.arange(180)


def test_level_only_poisson_is_ratio_of_means():
    rng = np.random.default_rng(0)
    t = np.arange(100)
    y = rng.poisson(np.where(t >= 60, 30.0, 50.0))
    m = InterruptedTimeSeries(slope_change=False).fit(t, y, [60])
    x = np.column_stack([np.ones(100), (t >= 60).astype(float)])
    beta = fit_glm(x, y)
    assert np.exp(beta[1]) == pytest.approx(y[t >= 60].mean() / y[t < 60].mean(), rel=1e-8)
    assert np.exp(beta[0]) == pytest.approx(y[t < 60].mean(), rel=1e-8)
    assert m.summary.loc["level_change[0]", "rate_ratio"] == pytest.approx(0.6, rel=0.15)


def test_glm_matches_scipy_optimize_poisson_and_negbin():
    rng = np.random.default_rng(1)
    n = 200
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.uniform(size=n)])
    y = rng.poisson(np.exp(x @ [1.0, 0.3, -0.5]))

    def nll(b, alpha=0.0):
        mu = np.exp(x @ b)
        if alpha == 0:
            return -np.sum(y * np.log(mu) - mu)
        r = 1 / alpha
        return -np.sum(
            special.gammaln(y + r) - special.gammaln(r) + r * np.log(r / (r + mu))
            + y * np.log(mu / (r + mu))
        )  # fmt: skip

    ref = optimize.minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(fit_glm(x, y), ref, atol=1e-5)
    ref_nb = optimize.minimize(
        nll, np.zeros(3), args=(0.3,), method="BFGS", options={"gtol": 1e-10}
    ).x
    np.testing.assert_allclose(fit_glm(x, y, dispersion=0.3), ref_nb, atol=1e-5)


def _arma11_corr(n: int, ar: float, ma: float) -> np.ndarray:
    # autocovariance of an ARMA(1,1) with unit innovation variance (closed form)
    g0 = (1 + 2 * ar * ma + ma**2) / (1 - ar**2)
    g1 = (1 + ar * ma) * (ar + ma) / (1 - ar**2)
    acov = np.r_[g0, g1 * ar ** np.arange(n - 1)]
    return linalg.toeplitz(acov)


def test_arma_coefficients_are_gls_at_the_fitted_error_process():
    y = its_null_series(11)
    m = InterruptedTimeSeries().fit(T, y, [90])
    ar, ma = m.error_params_["ar.L1"], m.error_params_["ma.L1"]
    # GLS by hand with the closed-form ARMA(1,1) covariance at the fitted AR/MA values
    sigma = _arma11_corr(T.size, ar, ma)
    x = m._x
    z = np.log(y + 0.5)
    w = np.linalg.solve(sigma, x)
    beta = np.linalg.solve(x.T @ w, w.T @ z)
    # equal up to the optimiser's tolerance: a small fraction of a standard error
    assert np.all(np.abs(m.params_.to_numpy() - beta) < 0.05 * m.summary["se"].to_numpy())
    assert 0.5 < ar < 1.0  # the latent AR(1) 0.9 shows through count noise


def test_arma_recovers_a_real_level_change_and_contrast():
    rng = np.random.default_rng(5)
    mean = 500.0 * np.where(T >= 90, 0.5, 1.0)
    y = counts(mean, latent_ar1(T.size, 0.9, 0.08, rng), rng)
    m = InterruptedTimeSeries(slope_change=False).fit(T, y, [90])
    s = m.summary.loc["level_change[0]"]
    assert s["lower"] < np.log(0.5) < s["upper"]
    assert s["upper"] < 0  # detected
    c = m.contrasts(30)
    assert c.loc[0, "lower"] < c.loc[0, "model_pct_change"] < c.loc[0, "upper"]
    assert c.loc[0, "observed_pct_change"] == pytest.approx(-50, abs=12)


def _rejects(errors: str, seeds, **kw) -> list[bool]:
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)
        for seed in seeds:
            m = InterruptedTimeSeries(errors=errors, **kw).fit(T, its_null_series(seed), [90])
            out.append(bool(m.summary.loc["level_change[0]", "p"] < 0.05))
    return out


def test_false_positive_rate_fast():
    seeds = range(1000, 1016)
    arma = _rejects("arma", seeds)
    newey_west = _rejects("independent", seeds, family="negbin", cov_type="hac")
    # 16 null series at AR 0.9: the 5 % test of the default rejects at most 2 (binomial
    # P(X >= 3 | 0.05) = 4 %); Newey-West (38.7 % in issue 12) rejects many more
    assert sum(arma) <= 2, arma
    assert sum(newey_west) >= 4, newey_west


@pytest.mark.slow
def test_false_positive_rate_slow():
    seeds = range(300)
    rates = {
        "arma": np.mean(_rejects("arma", seeds)),
        "nb_ar": np.mean(_rejects("nb_ar", seeds)),
        "newey_west": np.mean(_rejects("independent", seeds, family="negbin", cov_type="hac")),
    }
    print("\nITS false-positive rate, 300 null series, latent AR(1) 0.9:", rates)
    assert rates["arma"] <= 0.07
    assert rates["nb_ar"] <= 0.16  # documented: above nominal (measured 0.13)
    assert rates["newey_west"] >= 0.2


def test_controlled_its_absorbs_a_common_shock():
    rng = np.random.default_rng(21)
    common = latent_ar1(T.size, 0.95, 0.08, rng)
    common[100:] -= 0.4  # a shock that hits both series (e.g. an outage), not the action
    effect = np.where(T >= 100, np.log(0.8), 0.0)
    treated = counts(400.0 * np.exp(effect), common + rng.normal(0, 0.02, T.size), rng)
    control = counts(300.0 * np.ones(T.size), common + rng.normal(0, 0.02, T.size), rng)
    plain = InterruptedTimeSeries(slope_change=False).fit(T, treated, [100])
    ctrl = InterruptedTimeSeries(slope_change=False).fit(T, treated, [100], control=control)
    lo, hi = ctrl.summary.loc["level_change[0]", ["lower", "upper"]]
    assert lo < np.log(0.8) < hi
    assert (
        ctrl.summary.loc["level_change[0]", "se"] < 0.5 * plain.summary.loc["level_change[0]", "se"]
    )
    # without the control the common shock is read as the effect of the action
    assert plain.params_["level_change[0]"] < np.log(0.8) - 0.2


def test_placebo_p_value_is_calibrated_rank():
    assert placebo_p_value(2.0, [0.5, -2.5, 1.0, 3.0]) == pytest.approx(3 / 5)
    assert placebo_p_value(5.0, [0.5, 1.0]) == pytest.approx(1 / 3)
    rng = np.random.default_rng(8)
    t = np.arange(120)
    y = counts(500.0 * np.where(t >= 70, 0.5, 1.0), latent_ar1(t.size, 0.9, 0.08, rng), rng)
    m = InterruptedTimeSeries(slope_change=False).fit(t, y, [70])
    pl = m.placebo()
    assert len(pl) == len(np.arange(14, 70 - 14 + 1e-9, 7))
    assert m.placebo_p_value_ == pytest.approx(1 / (1 + len(pl)))  # beats every placebo


def test_dates_seasonality_and_independent_option_warns():
    y = its_null_series(3, n=200)
    days = pd.Series(pd.date_range("2019-01-01", periods=200))
    m = InterruptedTimeSeries(weekly_seasonality=True).fit(days, y, [days[150]])
    assert "weekday[6]" in m.params_.index and m.errors_ == "arma"
    with pytest.warns(TakedownWarning, match="38.7"):
        nw = InterruptedTimeSeries(family="negbin", cov_type="hac").fit(days, y, [days[150]])
    assert nw.errors_ == "independent" and nw.hac_lags_ == 4
    with pytest.raises(ModelError, match="errors='independent' only"):
        InterruptedTimeSeries(errors="arma", cov_type="hac")
    with pytest.raises(ModelError, match="consecutive days"):
        InterruptedTimeSeries().fit(np.r_[0:50, 60:100], np.ones(90), [70])


def test_hac_wider_than_model_se_under_autocorrelation():
    rng = np.random.default_rng(4)
    t = np.arange(300)
    y = rng.poisson(np.exp(4 + latent_ar1(300, 0.8, 0.2, rng)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)
        hac = InterruptedTimeSeries(cov_type="hac", hac_lags=10).fit(t, y, [150])
        model = InterruptedTimeSeries(cov_type="model").fit(t, y, [150])
    assert hac.summary.loc["level_change[0]", "se"] > 2 * model.summary.loc["level_change[0]", "se"]


def test_block_and_sieve_bootstrap():
    idx = moving_block_indices(100, block_length=10, n_boot=50, seed=1)
    assert idx.shape == (50, 100) and idx.min() >= 0 and idx.max() < 100
    # within a block the indices are consecutive
    assert np.all(np.diff(idx[:, :10], axis=1) == 1)
    rng = np.random.default_rng(2)
    r = latent_ar1(400, 0.7, 1.0, rng)
    draws, coef = sieve_ar_bootstrap(r, n_boot=200, seed=3)
    assert coef[0] == pytest.approx(0.7, abs=0.1)
    lag1 = np.mean([np.corrcoef(d[1:], d[:-1])[0, 1] for d in draws])
    assert lag1 == pytest.approx(0.7, abs=0.08)
    assert np.std(draws) == pytest.approx(np.std(r), rel=0.15)
