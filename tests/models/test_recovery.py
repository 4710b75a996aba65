"""Recovery curves: closed-form times, Kalman likelihood against a dense Gaussian, shapes by AIC,
half-life coverage under a latent AR(1) of 0.8 (fast here, 200 series in the slow test).

Coverage setting: 181 days (30 before the shock), pre-level 200, trough 20, full recovery at
rate 0.05 per day (half-life ln 2 / 0.05 = 13.9 days), latent AR(1) 0.8 with innovation sd 0.1
on the log-rate, Poisson counts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _ts_sim import latent_ar1
from scipy import linalg, optimize, stats

from analysis.errors import ModelError, TakedownWarning
from analysis.models._ts_recovery import latent_ar_loglik
from analysis.models.recovery import COVERAGE_TESTED, RecoveryCurve, compare_shapes

DAYS = np.arange(-30, 151)
K = 0.05


def _series(seed: int, k: float = K, eq: float = 200.0, phi: float = 0.0, sd: float = 0.1):
    rng = np.random.default_rng(seed)
    tau = np.clip(DAYS, 0, None)
    mu = np.where(DAYS < 0, 200.0, eq - (eq - 20.0) * np.exp(-k * tau))
    u = latent_ar1(DAYS.size, phi, sd, rng) if phi > 0 else 0.0
    return rng.poisson(mu * np.exp(u))


def test_kalman_loglik_equals_dense_gaussian():
    rng = np.random.default_rng(0)
    n, ar, q = 60, 0.8, 0.02
    h = rng.uniform(0.005, 0.05, n)
    cov = linalg.toeplitz(q / (1 - ar**2) * ar ** np.arange(n)) + np.diag(h)
    z = rng.multivariate_normal(np.zeros(n), cov)
    expected = stats.multivariate_normal(np.zeros(n), cov).logpdf(z)
    assert latent_ar_loglik(z, h, ar, q) == pytest.approx(expected, rel=1e-10)


def test_independent_poisson_recovers_truth_and_closed_form_times():
    days, y = DAYS, _series(0)
    with pytest.warns(TakedownWarning) as caught:
        r = RecoveryCurve(likelihood="poisson", n_bootstrap=40, seed=1).fit(days, y, 0)
    assert any("independent" in str(w.message) for w in caught)
    s = r.summary
    truth = {"pre_level": 200, "trough": 20, "equilibrium": 200, "half_life_days": np.log(2) / K,
             "time_to_90pct_days": np.log(10) / K, "recovery_fraction": 1.0}  # fmt: skip
    for name, value in truth.items():
        assert s.loc[name, "estimate"] == pytest.approx(value, rel=0.15), name
        assert s.loc[name, "lower"] <= s.loc[name, "estimate"] <= s.loc[name, "upper"], name


def test_time_to_recover_is_a_fraction_of_the_drop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)
        r = RecoveryCurve(likelihood="poisson", ci_method="wald").fit(DAYS, _series(2, eq=180), 0)
    pre, trough = r.pre_level_, r.trough_
    for q in (0.25, 0.5, 0.8):
        t = r.time_to_recover(q)
        assert r.predict([t])[0] == pytest.approx(trough + q * (pre - trough), rel=1e-6)
    # closed form for the exponential: -log(1 - q / recovery_fraction) / k
    q = 0.5
    assert r.time_to_recover(q) == pytest.approx(
        -np.log1p(-q / r.recovery_fraction_) / r.rate_per_day_, rel=1e-9
    )
    assert r.half_life_days_ == pytest.approx(r.time_to_recover(0.5))
    # the new equilibrium (about 0.89 of the drop) never reaches 90 %: infinite, and said so
    assert r.recovery_fraction_ < 0.9
    assert np.isinf(r.time_to_90pct_days_)


def test_logistic_times_solve_the_definition():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)
        r = RecoveryCurve(shape="logistic", likelihood="negbin", ci_method="wald").fit(
            DAYS, _series(1), 0
        )
    for q, t in ((0.5, r.half_life_days_), (0.9, r.time_to_90pct_days_)):
        level = r.trough_ + q * (r.pre_level_ - r.trough_)
        assert r.predict([t])[0] == pytest.approx(level, rel=1e-6)


def _two_speed(seed: int):
    """Fast re-creation (half of the drop, rate 0.3/day) then a slow refill (0.02/day)."""
    rng = np.random.default_rng(seed)
    tau = np.clip(DAYS, 0, None)
    frac = 1 - 0.5 * np.exp(-0.3 * tau) - 0.5 * np.exp(-0.02 * tau)
    mu = np.where(DAYS < 0, 300.0, 30.0 + 270.0 * frac)
    return rng.poisson(mu * np.exp(latent_ar1(DAYS.size, 0.8, 0.05, rng)))


def test_biexponential_wins_by_aic_on_a_two_speed_recovery():
    def true_time(q):
        return optimize.brentq(
            lambda t: 1 - 0.5 * np.exp(-0.3 * t) - 0.5 * np.exp(-0.02 * t) - q, 0, 1000
        )

    table = compare_shapes(DAYS, _two_speed(3), 0).set_index("shape")
    assert table["delta_aic"].idxmin() == "biexponential"
    assert table.loc["exponential", "delta_aic"] > 10
    t90 = true_time(0.9)  # about 83 days
    assert table.loc["biexponential", "time_to_90pct_days"] == pytest.approx(t90, rel=0.3)
    # one speed misstates it: a new equilibrium below 90 % of the drop (never) or too fast
    single = table.loc["exponential", "time_to_90pct_days"]
    assert np.isinf(single) or single < 0.75 * t90, single


TRUE_TIMES = {"half_life_days": np.log(2) / K, "time_to_90pct_days": np.log(10) / K}


def _covered(seed: int) -> dict[str, bool]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)  # open bounds are expected here
        r = RecoveryCurve().fit(DAYS, _series(seed, phi=0.8), 0)
    out = {}
    for name, truth in TRUE_TIMES.items():
        lo, hi = r.summary.loc[name, ["lower", "upper"]]
        out[name] = bool(lo < truth < hi)
    return out


def test_time_coverage_under_latent_ar_fast():
    hits = [_covered(seed) for seed in range(500, 503)]
    for name in TRUE_TIMES:  # 3 series (profile intervals, ~1-2 s CPU each); slow test: 200
        assert sum(h[name] for h in hits) >= 2, (name, hits)


@pytest.mark.slow
def test_time_coverage_under_latent_ar_slow():
    """Measured (seeds 2000-2199): half-life 0.935, time to 90 % 0.920 (upper bound open in 80 %
    of the series; ``tests/models/recovery_time_coverage.py`` prints the breakdown; seeds
    3000-3199 gave 0.925 and 0.910).  The time to 90 % is not validated (below 0.92 pooled);
    its band only guards against the earlier NaN intervals of infinite estimates (0.7-0.87)."""
    hits = [_covered(seed) for seed in range(2000, 2200)]
    half = np.mean([h["half_life_days"] for h in hits])
    t90 = np.mean([h["time_to_90pct_days"] for h in hits])
    print(f"\nrecovery coverage, latent AR(1) 0.8, 200 series: half-life {half:.3f}, t90 {t90:.3f}")
    assert 0.93 <= half <= 0.97
    assert 0.89 <= t90 <= 0.97


def test_summary_flags_the_coverage_tested_intervals_and_warns_on_the_rest():
    with pytest.warns(TakedownWarning, match=r"time_to_90pct_days interval .*") as caught:
        r = RecoveryCurve().fit(DAYS, _series(2001, phi=0.8), 0)
    tested = r.summary["coverage_tested"]
    assert tested.dtype == bool and set(tested[tested].index) == set(COVERAGE_TESTED)
    messages = [str(w.message) for w in caught]
    # this series' upper bound of the time to 90 % is open, and said so
    assert np.isposinf(r.summary.loc["time_to_90pct_days", "upper"])
    assert any("time_to_90pct_days" in m and "open (inf)" in m for m in messages), messages
    # the half-life's interval is tested and finite here: no warning about it
    assert np.isfinite(r.summary.loc["half_life_days", ["lower", "upper"]]).all()
    assert not any(m.startswith("half_life_days interval") for m in messages), messages
    with pytest.warns(TakedownWarning) as caught:
        poisson = RecoveryCurve(likelihood="poisson", n_bootstrap=20, seed=1).fit(
            DAYS, _series(0), 0
        )
    assert any("independent" in str(w.message) for w in caught)
    assert any(str(w.message).startswith("half_life_days interval") for w in caught)
    assert not poisson.summary["coverage_tested"].any()


def _exponential_profile(r: RecoveryCurve, q: float, h: float) -> float:
    """Max log-likelihood of the exponential curve whose time to recover ``q`` is ``h`` days."""

    def full(x: np.ndarray) -> np.ndarray | None:
        pre, trough, eq = np.exp(x[:3])
        fraction = (eq - trough) / (pre - trough)
        if not (pre > trough and fraction > q):
            return None
        return np.insert(x, 3, np.log(-np.log1p(-q / fraction) / h))

    def neg(x: np.ndarray) -> float:
        th = full(x)
        return 1e10 if th is None else -r._loglik(th, r.days_, r.counts_, r.shock_day_)

    best = np.inf
    for fraction in (0.92, 1.0, 1.1):
        x0 = np.delete(r.theta_.copy(), 3)
        x0[2] = np.log(r.trough_ + fraction * (r.pre_level_ - r.trough_))
        for method in ("Nelder-Mead", "Powell"):
            res = optimize.minimize(neg, x0, method=method, options={"maxiter": 20000})
            x0 = res.x
        best = min(best, res.fun)
    return -best


def test_an_infinite_estimate_keeps_a_lower_bound():
    """Fitted equilibrium below 90 % of the drop: the time is inf, its interval [lower, inf]."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = RecoveryCurve().fit(DAYS, _series(2002, phi=0.8), 0)
    est, lo, hi = r.summary.loc["time_to_90pct_days", ["estimate", "lower", "upper"]]
    assert r.recovery_fraction_ < 0.9 and np.isinf(est) and np.isposinf(hi)
    assert 0 < lo < np.inf
    # the lower bound solves its definition, checked with an independent profile: the exponential
    # curve with its time to 90 % fixed at h has k = -ln(1 - 0.9 / fraction) / h (no constraint)
    crit = 0.5 * stats.norm.ppf(0.975) ** 2
    assert r.loglik_ - _exponential_profile(r, 0.9, lo) == pytest.approx(crit, abs=0.05)
    assert r.loglik_ - _exponential_profile(r, 0.9, 0.8 * lo) > crit + 0.2
    assert any("never that share" in str(w.message) for w in caught)
    assert any("open (inf)" in str(w.message) for w in caught)


def test_time_to_recover_interval_any_share():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)
        r = RecoveryCurve().fit(DAYS, _series(2003, phi=0.8), 0)
    est, lo, hi = r.time_to_recover_interval(0.5)
    assert (est, lo, hi) == pytest.approx(
        tuple(r.summary.loc["half_life_days", ["estimate", "lower", "upper"]]), rel=1e-6
    )
    with pytest.warns(TakedownWarning, match="not tested"):
        est, lo, hi = r.time_to_recover_interval(0.75)
    assert lo < est < hi and est == pytest.approx(r.time_to_recover(0.75))
    # nested: a larger share takes longer, at the estimate and at both bounds
    half = r.summary.loc["half_life_days"]
    assert half["lower"] < lo and half["upper"] < hi
    with pytest.raises(ModelError):
        r.time_to_recover_interval(1.5)


def test_errors():
    with pytest.raises(ModelError):
        RecoveryCurve(shape="linear")
    with pytest.raises(ModelError):
        RecoveryCurve().fit(np.arange(5), np.ones(5), shock_day=4)
    with pytest.raises(ModelError, match="consecutive"):
        RecoveryCurve().fit(np.r_[0:10, 12:30], np.ones(28), shock_day=5)
