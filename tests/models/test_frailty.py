"""Shared gamma frailty Weibull: closed form vs quadrature, no-frailty limit vs the AFT fit,
recovery and coverage in seeded simulation (synthetic lineages)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _frailty_sim import TRUTH, frailty_data
from scipy import integrate, stats

from analysis.errors import ModelError
from analysis.models.aft import AFTRegression
from analysis.models.frailty import GammaFrailtyWeibull, frailty_loglik


def test_closed_form_equals_numerical_integration_over_the_frailty() -> None:
    t = np.array([3.0, 5.0, 8.0, 2.0, 9.0])
    d = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    x = np.array([[0.5], [-1.0], [0.2], [0.0], [1.0]])
    e = np.array([1.0, 0.0, 2.0, 0.5, 0.0])
    cl = np.array([0, 0, 0, 1, 1])
    g0, rho, beta, theta = -2.0, 1.3, 0.4, 0.7
    p = np.array([g0, np.log(rho), beta, np.log(theta)])
    got = frailty_loglik(p, t, d, x, cl, e)
    gamma = stats.gamma(a=1 / theta, scale=theta)
    want = 0.0
    for c in (0, 1):
        m = cl == c
        lin = g0 + beta * x[m, 0]
        h = np.exp(lin) * rho * t[m] ** (rho - 1)
        big_h = np.exp(lin) * t[m] ** rho
        big_he = np.exp(lin) * e[m] ** rho

        def num(z: float, h=h, big_h=big_h, dm=d[m]) -> float:
            return np.prod((z * h) ** dm) * np.exp(-z * big_h.sum()) * gamma.pdf(z)

        def den(z: float, big_he=big_he) -> float:
            return np.exp(-z * big_he.sum()) * gamma.pdf(z)

        want += np.log(integrate.quad(num, 0, np.inf, epsabs=1e-14)[0])
        want -= np.log(integrate.quad(den, 0, np.inf, epsabs=1e-14)[0])
    assert got == pytest.approx(want, abs=1e-8)


def test_no_frailty_limit_is_the_weibull_aft_likelihood() -> None:
    df = frailty_data(np.random.default_rng(0), 150, theta=0.0)
    aft = AFTRegression("weibull").fit(df, "t", "d", ["x"])
    mu0, bx, ls = aft.params_.to_numpy()
    sigma = np.exp(ls)
    ph = np.array([-mu0 / sigma, -ls, -bx / sigma])  # g0, log rho, beta
    x = df[["x"]].to_numpy()
    cl = df["family"].to_numpy()
    t, d = df["t"].to_numpy(), df["d"].to_numpy(float)
    ll0 = frailty_loglik(np.r_[ph, -np.inf], t, d, x, cl)
    assert ll0 == pytest.approx(aft.log_likelihood_, abs=1e-6)  # both densities of T
    tiny = frailty_loglik(np.r_[ph, np.log(1e-9)], t, d, x, cl)
    assert tiny == pytest.approx(ll0, abs=1e-5)


def test_recovers_frailty_variance_and_coefficient() -> None:
    df = frailty_data(np.random.default_rng(1), 600)
    m = GammaFrailtyWeibull().fit(df, "t", "d", "family", ["x"])
    s = m.summary
    for name, truth in (("x", TRUTH["beta"]), ("theta", TRUTH["theta"]), ("rho", TRUTH["rho"])):
        assert s.loc[name, "ci_lower"] < truth < s.loc[name, "ci_upper"], name
    assert m.frailty_test_.p_value < 1e-6
    # ignoring the frailty attenuates the hazard ratio (Weibull PH without it)
    aft = AFTRegression("weibull").fit(df, "t", "d", ["x"])
    naive = -aft.params_[("mu", "x")] / np.exp(aft.params_[("log_sigma", "Intercept")])
    assert naive < m.params_["x"] - 0.05
    pop = m.predict_survival([[0.0]], [10.0]).iloc[0, 0]
    cond = m.predict_survival([[0.0]], [10.0], conditional=True).iloc[0, 0]
    assert pop > cond  # the population curve flattens: frail lineages leave first


def test_lineage_truncation_with_delayed_entry() -> None:
    df = frailty_data(np.random.default_rng(2), 500, entry_max=5.0)
    m = GammaFrailtyWeibull().fit(df, "t", "d", "family", ["x"], entry_col="e")
    s = m.summary
    assert s.loc["theta", "ci_lower"] < TRUTH["theta"] < s.loc["theta", "ci_upper"]
    assert s.loc["x", "ci_lower"] < TRUTH["beta"] < s.loc["x", "ci_upper"]


def test_no_shared_frailty_is_not_reported_as_evidence() -> None:
    df = frailty_data(np.random.default_rng(3), 300, theta=0.0)
    m = GammaFrailtyWeibull().fit(df, "t", "d", "family", ["x"])
    assert m.frailty_test_.p_value > 0.05
    assert m.summary.loc["theta", "ci_lower"] < 0.05


def test_errors() -> None:
    df = frailty_data(np.random.default_rng(4), 20)
    with pytest.raises(ModelError, match="one row"):
        GammaFrailtyWeibull().fit(df.assign(family=np.arange(len(df))), "t", "d", "family", ["x"])
    # a missing lineage label is a lineage of its own, not one cluster of all the missing
    fam = pd.Series(df["family"], dtype=object)
    labelled = df.assign(family=fam.where(df.index % 4 != 0, "own" + df.index.astype(str)))
    missing = df.assign(family=fam.where(df.index % 4 != 0))
    a = GammaFrailtyWeibull().fit(labelled, "t", "d", "family", ["x"])
    b = GammaFrailtyWeibull().fit(missing, "t", "d", "family", ["x"])
    assert b.n_clusters_ == a.n_clusters_ > df["family"].nunique()
    assert b.log_likelihood_ == pytest.approx(a.log_likelihood_, abs=1e-9)
    with pytest.raises(ModelError, match="expected > 0 days"):
        GammaFrailtyWeibull().fit(df.assign(t=0.0), "t", "d", "family", ["x"])


def frailty_coverage(n_sim: int, n_clusters: int = 300, seed: int = 165) -> dict[str, float]:
    """Share of 95 % intervals covering the truth (log scales for rho and theta)."""
    rng = np.random.default_rng(seed)
    truth = {
        "g0": TRUTH["g0"],
        "log_rho": np.log(TRUTH["rho"]),
        "x": TRUTH["beta"],
        "log_theta": np.log(TRUTH["theta"]),
    }
    hits: dict[str, list[bool]] = {k: [] for k in truth}
    for _ in range(n_sim):
        s = GammaFrailtyWeibull().fit(frailty_data(rng, n_clusters), "t", "d", "family", ["x"])
        for k, v in truth.items():
            hits[k].append(s.summary.loc[k, "ci_lower"] <= v <= s.summary.loc[k, "ci_upper"])
    return {k: float(np.mean(v)) for k, v in hits.items()}


def test_frailty_coverage_fast() -> None:
    for k, v in frailty_coverage(12).items():
        assert v >= 0.75, (k, v)


@pytest.mark.slow
def test_frailty_coverage_200() -> None:
    # 600 lineages of 4.  Measured: this run 0.955/0.96/0.95/0.94 (g0, log rho, beta,
    # log theta); with 300 lineages seed 2: 0.965/0.955/0.95/0.96, seed 165: 0.975/0.965/
    # 0.96/0.98 (Wald on log theta slightly conservative at 300 lineages).
    for k, v in frailty_coverage(200, n_clusters=600, seed=7).items():
        assert 0.93 <= v <= 0.97, (k, v)
