"""CapacityModel: Gillespie engine against exact laws; where the mean field holds and fails.

References are independent of the code under test: the negative-binomial stationary law of
the Michaelis-Menten birth-death chain (scipy.stats.nbinom), the exact linear mean field of
:class:`analysis.models.catmouse.CatMouseModel` when the capacity never binds, and
simulation means with their standard errors.  All data are synthetic.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.errors import ModelError
from analysis.models.catmouse import CatMouseModel, Crackdown
from analysis.models.mechanisms.capacity import CapacityModel, stationary_distribution


def test_stationary_law_is_negative_binomial() -> None:
    """pi(n) ∝ prod (a/i + q) with a = lam/((1-rho) mu), q = lam/((1-rho) C): NB(1 + a/q, 1 - q)."""
    lam, mu, cap, rho = 2.0, 0.3, 6.0, 0.5
    model = CapacityModel(lam, mu, cap, recreation_probability=rho)
    pi = stationary_distribution(model)
    flow = lam / (1 - rho)
    a, q = flow / mu, flow / cap
    ref = stats.nbinom(1 + a / q, 1 - q).pmf(pi.index.to_numpy())
    np.testing.assert_allclose(pi.to_numpy(), ref, atol=1e-12)
    exact_mean = (a + q) / (1 - q)
    assert float(pi.index.to_numpy() @ pi.to_numpy()) == pytest.approx(exact_mean, rel=1e-9)
    # the mean field misses exactly q / (1 - q) channels (Jensen: it bans too fast)
    assert model.equilibrium_active() == pytest.approx(exact_mean - q / (1 - q), rel=1e-9)


def test_gillespie_keeps_the_exact_stationary_law_fast() -> None:
    model = CapacityModel(1.0, 0.5, 1.25, saturation="michaelis_menten")
    pi = stationary_distribution(model)
    rng = np.random.default_rng(7)
    start = rng.choice(pi.index.to_numpy(), size=400, p=pi.to_numpy())
    runs = model.simulate_runs(20, 400, seed=rng, initial_active=start)
    end = runs["active"][:, -1]
    exact_mean = float(pi.index.to_numpy() @ pi.to_numpy())
    exact_var = float(pi.index.to_numpy() ** 2 @ pi.to_numpy()) - exact_mean**2
    assert abs(end.mean() - exact_mean) < 4 * np.sqrt(exact_var / end.size)
    # here the mean field is far off: 10 channels against the exact 14
    assert model.equilibrium_active() == pytest.approx(10.0)
    assert exact_mean == pytest.approx(14.0)


def test_mean_field_fails_badly_for_a_hard_cap_near_the_limit() -> None:
    model = CapacityModel(1.0, 0.5, 1.1, saturation="cap")
    pi = stationary_distribution(model)
    exact_mean = float(pi.index.to_numpy() @ pi.to_numpy())
    assert model.equilibrium_active() / exact_mean - 1 < -0.5


def test_unsaturated_gillespie_matches_the_linear_model() -> None:
    """With a capacity that never binds the model is the linear cat-and-mouse model."""
    cds = (Crackdown.removing_fraction(8, 0.7),)
    kw = dict(recreation_probability=0.5, recreation_delay_mean_days=2.0, crackdowns=cds)
    model = CapacityModel(4.0, 0.1, 1e9, **kw)
    mean, se = model.simulate_mean(30, 150, seed=3)
    ref = CatMouseModel(4.0, 0.1, **kw).mean_field(30)
    for col, ref_col in (
        ("active", "active"),
        ("bans", "bans_per_day"),
        ("recreations", "recreations_per_day"),
    ):
        z = (mean[col] - ref[ref_col]) / se[col]
        assert np.mean(z**2) < 1.8 and np.max(np.abs(z)) < 4.5, col
    # and the capacity mean field equals the exact linear mean field there
    np.testing.assert_allclose(model.mean_field(30)["active"], ref["active"], rtol=1e-6)


def _check_mean_field(model: CapacityModel, days: int, n_runs: int, seed: int) -> np.ndarray:
    mean, se = model.simulate_mean(days, n_runs, seed)
    mf = model.mean_field(days)
    z = ((mean[["active", "bans"]] - mf[["active", "bans"]]) / se[["active", "bans"]]).to_numpy()
    return z


def test_mean_field_holds_for_a_large_population_fast() -> None:
    model = CapacityModel(
        10.0,
        0.2,
        50.0,
        recreation_probability=0.5,
        recreation_delay_mean_days=2.0,
        crackdowns=(Crackdown.removing_fraction(10, 0.9),),
    )
    z = _check_mean_field(model, 25, 60, 1)
    assert np.mean(z**2) < 1.8 and np.max(np.abs(z)) < 4.5


def test_overwhelmed_moderation_has_no_equilibrium() -> None:
    model = CapacityModel(10.0, 0.2, 24.0, recreation_probability=0.6)
    assert model.equilibrium_active() == np.inf
    with pytest.raises(ModelError, match="capacity"):
        model.mean_field(10)
    with pytest.raises(ModelError):
        stationary_distribution(model)
    grows = CapacityModel(
        10.0, 0.2, 24.0, recreation_probability=0.6, initial_state={"active": 0}
    ).mean_field(200)["active"]
    assert grows.iloc[-1] > grows.iloc[99] > 0  # the population keeps growing


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capacity_per_day": 0.0},
        {"saturation": "logistic"},
        {"initial_state": "empty"},
        {"recreation_probability": 1.0},
    ],
)
def test_bad_configuration_raises(kwargs) -> None:
    base = {"creation_rate_per_day": 5.0, "ban_hazard_per_day": 0.1, "capacity_per_day": 20.0}
    with pytest.raises(ModelError):
        CapacityModel(**{**base, **kwargs})


@pytest.mark.slow
def test_gillespie_keeps_the_exact_stationary_law_250_runs() -> None:
    for sat, cap in (("michaelis_menten", 2.0), ("cap", 1.5)):
        model = CapacityModel(1.0, 0.4, cap, saturation=sat, recreation_probability=0.2)
        pi = stationary_distribution(model)
        rng = np.random.default_rng(11)
        start = rng.choice(pi.index.to_numpy(), size=1000, p=pi.to_numpy())
        runs = model.simulate_runs(50, 1000, seed=rng, initial_active=start)
        exact_mean = float(pi.index.to_numpy() @ pi.to_numpy())
        exact_var = float(pi.index.to_numpy() ** 2 @ pi.to_numpy()) - exact_mean**2
        for day in (9, 29, 49):
            a = runs["active"][:, day]
            assert abs(a.mean() - exact_mean) < 4 * np.sqrt(exact_var / a.size), (sat, day)


@pytest.mark.slow
def test_mean_field_against_250_runs_where_it_holds_and_fails() -> None:
    big = CapacityModel(
        20.0,
        0.2,
        100.0,
        recreation_probability=0.6,
        recreation_delay_mean_days=2.0,
        crackdowns=(Crackdown.removing_fraction(30, 0.9),),
    )
    z = _check_mean_field(big, 60, 250, 5)
    assert np.mean(z**2) < 1.8 and np.max(np.abs(z)) < 4.5
    small = CapacityModel(
        1.0, 0.5, 1.25, recreation_probability=0.0, crackdowns=(Crackdown(20, 20, 0.5),)
    )
    z = _check_mean_field(small, 60, 250, 6)
    assert np.mean(z[:, 0]) > 3  # the mean field under-predicts the small population
