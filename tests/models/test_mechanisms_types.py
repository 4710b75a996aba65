"""Two-type mixtures: Conway et al.'s pattern from the published points, and the lifetime fit.

References: closed forms of the exponential mixture, the cure fit of
:mod:`analysis.models.published_points` (helper C's independent likelihood code), exact
simulations of :class:`MechanismModel` with known types, and interval coverage in
simulation.  All simulated data are synthetic.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analysis.errors import ModelError, NoEventsError, UnidentifiedWarning
from analysis.models.mechanisms.model import ChannelType, MechanismModel
from analysis.models.mechanisms.types_fit import TypeMixture, conway_points, two_type_solutions
from analysis.models.published_points import constant_hazard_test, fit_published_points

POINT_COLUMNS = ["horizon_days", "share", "n", "cohort", "denominator"]


def _solutions():
    with pytest.warns(UnidentifiedWarning, match="cannot identify"):
        return two_type_solutions(conway_points(), n_grid=20)


def test_one_constant_hazard_cannot_give_the_conway_pattern() -> None:
    points = conway_points()
    (t1, t2), (s1, s2) = points["horizon_days"], points["share"]
    # closed form: F(t1) >= s1 forces F(t2) >= 1 - (1 - s1)**(t2 / t1), far above s2
    mu_min = -np.log(1 - s1) / t1
    assert 1 - np.exp(-t2 * mu_min) > 0.99999 > s2
    result = constant_hazard_test(points[POINT_COLUMNS])
    assert result.p_value < 1e-10 and result.weibull_shape < 1  # a falling hazard


def test_every_two_type_solution_reproduces_both_points() -> None:
    sol = _solutions()
    assert len(sol) >= 15
    points = conway_points()
    t = points["horizon_days"].to_numpy()
    for _, row in sol.iterrows():
        p, a, b = row["fast_share"], row["fast_hazard_per_day"], row["slow_hazard_per_day"]
        f = 1 - p * np.exp(-a * t) - (1 - p) * np.exp(-b * t)
        np.testing.assert_allclose(f, points["share"], atol=1e-9)
        assert a > b >= 0
    # what the points leave open: the share banned within a year
    assert sol["share_within_365_days"].max() - sol["share_within_365_days"].min() > 0.25


def test_cure_end_of_the_curve_matches_the_published_points_estimator() -> None:
    sol = _solutions()
    cure_end = sol.iloc[0]
    assert cure_end["slow_hazard_per_day"] == 0
    with pytest.warns(UnidentifiedWarning, match="SATURATED"):
        fit = fit_published_points(conway_points()[POINT_COLUMNS], "exponential", cure=True)
    assert fit.params_["scale"] == pytest.approx(1 / cure_end["fast_hazard_per_day"], rel=1e-4)
    assert fit.params_["cure_fraction"] == pytest.approx(1 - cure_end["fast_share"], rel=1e-4)


def test_mechanism_model_with_two_types_reproduces_conway_in_simulation() -> None:
    sol = _solutions()
    mid = sol.iloc[len(sol) // 2]
    types = (
        ChannelType(mid["fast_share"], mid["fast_hazard_per_day"], "fast"),
        ChannelType(1 - mid["fast_share"], mid["slow_hazard_per_day"], "slow"),
    )
    sim = MechanismModel(30.0, types=types, initial_state="empty").simulate(130, seed=17)
    life = sim.lifetimes()
    points = conway_points()
    life = life[life["entry_day"] < 130 - points["horizon_days"].max()]  # followed to the end
    n = len(life)
    for horizon, share in zip(points["horizon_days"], points["share"], strict=True):
        observed = np.mean(life["banned"] & (life["duration_days"] <= horizon))
        assert abs(observed - share) < 4 * np.sqrt(share * (1 - share) / n)


def test_two_type_solutions_rejects_a_rising_hazard() -> None:
    pts = conway_points().assign(share=[0.01, 0.63])
    with pytest.raises(ModelError, match="falling"):
        two_type_solutions(pts)


def _lifetimes(rng: np.random.Generator, n: int = 400):
    fast = rng.random(n) < 0.35
    life = np.where(fast, rng.exponential(1 / 1.0, n), rng.exponential(1 / 0.02, n))
    censor = rng.uniform(30, 150, n)
    return np.minimum(life, censor), life <= censor


TRUTH = {"fast_share": 0.35, "fast_hazard_per_day": 1.0, "slow_hazard_per_day": 0.02}


def _coverage(n_reps: int, seed: int, n: int = 400) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(TRUTH, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnidentifiedWarning)
        for _ in range(n_reps):
            s = TypeMixture().fit(*_lifetimes(rng, n)).summary
            for k, v in TRUTH.items():
                hits[k] += bool(s.loc[k, "lower"] <= v <= s.loc[k, "upper"])
    return {k: h / n_reps for k, h in hits.items()}


def test_type_mixture_recovers_the_truth_from_simulated_channels() -> None:
    types = (ChannelType(0.35, 1.0), ChannelType(0.65, 0.02))
    sim = MechanismModel(10.0, types=types, initial_state="empty").simulate(150, seed=8)
    life = sim.lifetimes()
    fit = TypeMixture().fit(life["duration_days"], life["banned"])
    s = fit.summary
    scale = {"fast_share": "logit", "fast_hazard_per_day": "log", "slow_hazard_per_day": "log"}
    for k, v in TRUTH.items():  # within 3.5 standard errors on the scale of the interval
        if scale[k] == "logit":
            gap = np.log(s.loc[k, "estimate"] / (1 - s.loc[k, "estimate"])) - np.log(v / (1 - v))
        else:
            gap = np.log(s.loc[k, "estimate"] / v)
        assert abs(gap) < 3.5 * s.loc[k, "se"], k
    assert s["identified"].all()
    assert fit.cdf(2.0) == pytest.approx(
        0.35 * (1 - np.exp(-2)) + 0.65 * (1 - np.exp(-0.04)), abs=0.05
    )


def test_type_mixture_with_delayed_entry() -> None:
    """Channels found at an independent age (left truncation): only the entry-aware fit is right."""
    rng = np.random.default_rng(3)
    t, d = _lifetimes(rng, 6000)
    entry = rng.uniform(0.0, 3.0, t.size)
    seen = t > entry  # channels banned before they were found are never seen
    t, d, entry = t[seen], d[seen], entry[seen]
    aware = TypeMixture().fit(t, d, entry=entry).summary
    for k, v in TRUTH.items():  # delta method: natural-scale se from the logit/log-scale se
        est = aware.loc[k, "estimate"]
        slope = est * (1 - est) if k == "fast_share" else est
        assert abs(est - v) < 3.5 * aware.loc[k, "se"] * slope, k
    naive = TypeMixture().fit(t, d).params_
    assert naive["fast_share"] < 0.25  # ignoring the entry age hides most fast channels


def test_type_mixture_coverage_fast() -> None:
    cov = _coverage(30, 101)
    assert all(c >= 0.8 for c in cov.values()), cov


def test_one_type_data_leave_the_mixture_unidentified() -> None:
    rng = np.random.default_rng(4)
    life = rng.exponential(10.0, 300)
    with pytest.warns(UnidentifiedWarning, match="not identified"):
        fit = TypeMixture().fit(np.minimum(life, 60), life <= 60)
    assert not fit.summary["identified"].all()


def test_type_mixture_bad_input() -> None:
    with pytest.raises(NoEventsError):
        TypeMixture().fit([1.0, 2.0], [False, False])
    with pytest.raises(ModelError, match="row 1"):
        TypeMixture().fit([1.0, -2.0], [True, True])


@pytest.mark.slow
def test_type_mixture_coverage_400_replications() -> None:
    """Measured (seed 2026): share 0.9725, fast hazard 0.9225, slow hazard 0.9575.

    The 93-97 % band holds for the slow hazard only; at 400 lifetimes the Wald interval of
    the fast hazard is slightly too narrow and that of the share slightly too wide (said in
    the docstring of TypeMixture).  The band below is the measured one, wide enough for
    the Monte Carlo error (sd 1.1 points) and narrow enough to fail a broken interval.
    """
    cov = _coverage(400, 2026)
    assert 0.93 <= cov["slow_hazard_per_day"] <= 0.97, cov
    assert 0.90 <= cov["fast_hazard_per_day"] <= 0.97, cov
    assert 0.93 <= cov["fast_share"] <= 0.985, cov


def test_numerical_hessian_matches_statsmodels() -> None:
    from statsmodels.tools.numdiff import approx_hess3

    from analysis.models.mechanisms._numdiff import hessian

    rng = np.random.default_rng(9)
    t, d = _lifetimes(rng, 300)
    e = np.zeros_like(t)
    phi = np.array([-0.5, 0.1, np.log(0.02)])

    def f(ph):
        return TypeMixture._loglik(ph, t, d, e)

    np.testing.assert_allclose(hessian(f, phi), approx_hess3(phi, f), rtol=1e-6)
