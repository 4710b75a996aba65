"""MechanismModel: exact mean field against closed forms, CatMouseModel and simulation.

Every expected value is computed independently of the code under test: closed forms derived
in the docstrings below, :class:`analysis.models.catmouse.CatMouseModel` (separate code) and
the mean of exact stochastic simulations (z-scores against the simulation's own standard
error).  All data are synthetic.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.errors import ModelError
from analysis.models.catmouse import CatMouseModel, Crackdown
from analysis.models.mechanisms.model import ChannelType, MechanismModel

SERIES_MF = ["active", "bans", "creations", "recreations"]


def _z(mean, se, mf, columns):
    z = (mean[columns] - mf[columns]) / se[columns].where(se[columns] > 0)
    return z.to_numpy(dtype=float)


def _assert_matches(model: MechanismModel, days: int, n_runs: int, seed: int, columns) -> None:
    mean, se = model.simulate_mean(days, n_runs, seed)
    z = _z(mean, se, model.mean_field(days), columns)
    z = z[np.isfinite(z)]
    # days are correlated, so mean z^2 fluctuates more than for independent z; the bounds
    # still fail for a bias of a fraction of a standard error per day
    assert np.mean(z**2) < 1.7, np.mean(z**2)
    assert np.max(np.abs(z)) < 4.5
    assert abs(np.mean(z)) < 0.8


def test_reduces_to_catmouse_model() -> None:
    cds = (Crackdown.removing_fraction(10, 0.8), Crackdown(20, 15, 0.05))
    kw = dict(
        recreation_probability=0.55,
        recreation_delay_mean_days=3.0,
        recreation_delay_shape=2,
        recreation_cost_factor=0.6,
        crackdowns=cds,
    )
    mine = MechanismModel(12.0, 0.08, **kw).mean_field(60)
    ref = CatMouseModel(12.0, 0.08, **kw).mean_field(60)
    np.testing.assert_allclose(mine["active"], ref["active"], rtol=1e-7)
    np.testing.assert_allclose(mine["bans"], ref["bans_per_day"], rtol=1e-6)
    np.testing.assert_allclose(mine["creations"], ref["creations_per_day"], rtol=1e-6)
    np.testing.assert_allclose(mine["recreations"], ref["recreations_per_day"], rtol=1e-6)


def test_two_compartment_equilibrium_closed_form() -> None:
    """Flow balance: mu A0 = lam + rho mu A0 + r A1 and (nu + r) A1 = lam1 + sigma mu A0."""
    lam, lam1, mu, rho, sigma, nu, r = 10.0, 2.0, 0.1, 0.5, 0.3, 0.02, 0.05
    model = MechanismModel(
        lam,
        mu,
        recreation_probability=rho,
        recreation_delay_mean_days=2,
        migration_probability=sigma,
        other_end_hazard_per_day=nu,
        return_rate_per_day=r,
        other_creation_rate_per_day=lam1,
    )
    back = r / (nu + r)
    a0 = (lam + back * lam1) / (mu * (1 - rho - sigma * back))
    a1 = (lam1 + sigma * mu * a0) / (nu + r)
    eq = model.equilibrium()
    assert eq["active"] == pytest.approx(a0, rel=1e-10)
    assert eq["other_active"] == pytest.approx(a1, rel=1e-10)
    assert eq["pending"] == pytest.approx((rho + sigma) * mu * a0 * 2.0, rel=1e-10)
    # the stationary state is stationary: the mean field stays there
    path = model.mean_field(30)
    np.testing.assert_allclose(path["active"], a0, rtol=1e-9)
    np.testing.assert_allclose(path["other_active"], a1, rtol=1e-9)


def test_types_closed_forms() -> None:
    """A* = lam / (1 - rho) * sum_k share_k / mu_k; a cohort decays as sum share_k e^{-mu_k t}."""
    types = (ChannelType(0.3, 0.8), ChannelType(0.7, 0.02))
    eq = MechanismModel(
        5.0, types=types, recreation_probability=0.4, recreation_delay_mean_days=1.0
    ).equilibrium()
    assert eq["active"] == pytest.approx(5.0 / 0.6 * (0.3 / 0.8 + 0.7 / 0.02), rel=1e-10)
    cohort = MechanismModel(0.0, types=types, initial_state={"active": 1000.0})
    t = np.arange(1, 41)
    np.testing.assert_allclose(
        cohort.mean_field(40)["active"],
        1000 * (0.3 * np.exp(-0.8 * t) + 0.7 * np.exp(-0.02 * t)),
        rtol=1e-9,
    )


def test_audience_closed_form() -> None:
    """Followers F* = (lam f0 + gamma A*) / (mu (1 - s rho)); exposure per day = F*."""
    lam, mu, rho, f0, gamma, s = 8.0, 0.1, 0.6, 100.0, 5.0, 0.4
    model = MechanismModel(
        lam,
        mu,
        recreation_probability=rho,
        recreation_delay_mean_days=2.0,
        initial_followers=f0,
        follower_growth_per_day=gamma,
        recreation_follower_share=s,
    )
    a_star = lam / (mu * (1 - rho))
    f_star = (lam * f0 + gamma * a_star) / (mu * (1 - s * rho))
    eq = model.equilibrium()
    assert eq["followers"] == pytest.approx(f_star, rel=1e-10)
    np.testing.assert_allclose(model.mean_field(10)["exposure"], f_star, rtol=1e-9)


def test_time_varying_creation_and_free_initial_state_closed_form() -> None:
    """rho = sigma = 0: A0(t) = n0 e^{-mu t} + n1 r (e^{-k t} - e^{-mu t}) / (mu - k)
    + int lam(u) e^{-mu (t - u)} du, with k = nu + r and a creation step at t1."""
    mu, nu, r, n0, n1, l1, l2, t1 = 0.1, 0.03, 0.02, 50.0, 80.0, 4.0, 9.0, 12.0
    model = MechanismModel(
        [(0.0, l1), (t1, l2)],
        mu,
        other_end_hazard_per_day=nu,
        return_rate_per_day=r,
        initial_state={"active": n0, "other_active": n1},
    )
    t = np.arange(1, 41, dtype=float)
    k = nu + r
    created = np.where(
        t < t1,
        l1 / mu * (1 - np.exp(-mu * t)),
        l1 / mu * (np.exp(-mu * (t - t1)) - np.exp(-mu * t))
        + l2 / mu * (1 - np.exp(-mu * (t - t1))),
    )
    a0 = n0 * np.exp(-mu * t) + n1 * r * (np.exp(-k * t) - np.exp(-mu * t)) / (mu - k) + created
    path = model.mean_field(40)
    np.testing.assert_allclose(path["active"], a0, rtol=1e-9)
    np.testing.assert_allclose(path["other_active"], n1 * np.exp(-k * t), rtol=1e-9)


def test_simulation_matches_mean_field_all_mechanisms_fast() -> None:
    model = MechanismModel(
        [(0.0, 4.0), (25.0, 8.0)],
        types=(ChannelType(0.4, 0.6), ChannelType(0.6, 0.05)),
        recreation_probability=0.4,
        recreation_delay_mean_days=2.0,
        recreation_delay_shape=2,
        crackdowns=(Crackdown.removing_fraction(15, 0.8),),
        migration_probability=0.3,
        other_end_hazard_per_day=0.05,
        return_rate_per_day=0.05,
        initial_followers=20.0,
        follower_growth_per_day=2.0,
        recreation_follower_share=0.5,
        migration_follower_share=0.3,
    )
    _assert_matches(
        model,
        40,
        60,
        11,
        ["active", "bans", "creations", "other_active", "migrations", "exposure", "other_exposure"],
    )


def test_simulation_detects_a_wrong_mean_field() -> None:
    """The z-score check has power: a 5 % error in the migration probability fails it."""
    kw = dict(
        recreation_probability=0.4,
        recreation_delay_mean_days=2.0,
        migration_probability=0.3,
        other_end_hazard_per_day=0.05,
        return_rate_per_day=0.05,
    )
    truth = MechanismModel(10.0, 0.1, **kw)
    wrong = MechanismModel(10.0, 0.1, **{**kw, "migration_probability": 0.315})
    mean, se = truth.simulate_mean(60, 60, 5)
    z = _z(mean, se, wrong.mean_field(60), ["other_active", "migrations"])
    assert np.mean(z**2) > 3.0


def test_simulated_lifetimes_follow_the_type_mixture() -> None:
    types = (ChannelType(0.35, 1.0), ChannelType(0.65, 0.02))
    sim = MechanismModel(40.0, types=types, initial_state="empty").simulate(200, seed=3)
    life = sim.lifetimes()
    life = life[life["entry_day"] < 100]  # at least 100 days of follow-up
    for t in (1.0, 5.0, 60.0):
        expected = 0.35 * (1 - np.exp(-t)) + 0.65 * (1 - np.exp(-0.02 * t))
        observed = np.mean(life["banned"] & (life["duration_days"] <= t))
        se = np.sqrt(expected * (1 - expected) / len(life))
        assert abs(observed - expected) < 4 * se


@pytest.mark.parametrize(
    "kwargs",
    [
        {"types": (ChannelType(0.5, 0.1), ChannelType(0.4, 0.2))},
        {"recreation_probability": 0.7, "migration_probability": 0.4},
        {"creation_rate_per_day": [(3.0, 1.0)]},
        {"initial_state": {"active": -1}},
        {"initial_state": "stationary"},
        {"recreation_follower_share": 1.5},
    ],
)
def test_bad_configuration_raises(kwargs) -> None:
    base = {"creation_rate_per_day": 5.0, "ban_hazard_per_day": 0.1}
    with pytest.raises(ModelError):
        MechanismModel(**{**base, **kwargs})


def test_no_equilibrium_when_channels_never_leave() -> None:
    model = MechanismModel(5.0, 0.1, migration_probability=0.5)  # nothing leaves the other side
    with pytest.raises(ModelError, match="stationary"):
        model.equilibrium()


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["two_compartments", "types", "audience", "time_varying_free_initial"],
)
def test_simulation_matches_mean_field_250_runs(name: str) -> None:
    models = {
        "two_compartments": MechanismModel(
            10.0,
            0.1,
            recreation_probability=0.5,
            recreation_delay_mean_days=2.0,
            migration_probability=0.25,
            other_end_hazard_per_day=0.03,
            return_rate_per_day=0.04,
            crackdowns=(Crackdown.removing_fraction(30, 0.9),),
        ),
        "types": MechanismModel(
            10.0,
            types=(ChannelType(0.4, 0.5), ChannelType(0.6, 0.04)),
            recreation_probability=0.5,
            recreation_delay_mean_days=2.0,
            recreation_cost_factor=0.7,
            crackdowns=(Crackdown(30, 30, 0.1),),
        ),
        "audience": MechanismModel(
            10.0,
            0.1,
            recreation_probability=0.6,
            recreation_delay_mean_days=2.0,
            initial_followers=100.0,
            follower_growth_per_day=5.0,
            recreation_follower_share=0.4,
            crackdowns=(Crackdown.removing_fraction(30, 0.9),),
        ),
        "time_varying_free_initial": MechanismModel(
            [(0.0, 5.0), (20.0, 15.0), (60.0, 2.0)],
            0.1,
            recreation_probability=0.5,
            recreation_delay_mean_days=3.0,
            recreation_delay_shape=3,
            migration_probability=0.2,
            other_end_hazard_per_day=0.05,
            return_rate_per_day=0.05,
            initial_state={"active": 200, "other_active": 40},
        ),
    }
    _assert_matches(
        models[name],
        90,
        250,
        2024,
        [
            "active",
            "bans",
            "creations",
            "recreations",
            "other_active",
            "migrations",
            "returns",
            "exposure",
        ],
    )


def test_small_matrix_exponential_matches_scipy() -> None:
    from scipy import linalg

    from analysis.models.mechanisms._linear import expm_small

    model = MechanismModel(
        5.0,
        types=(ChannelType(0.5, 2.0), ChannelType(0.5, 0.01)),
        recreation_probability=0.5,
        recreation_delay_mean_days=0.5,
        recreation_delay_shape=3,
        migration_probability=0.3,
        other_end_hazard_per_day=0.1,
        return_rate_per_day=0.2,
        follower_growth_per_day=3.0,
    )
    for hazard, dt in ((0.0, 1.0), (2.3, 1.0), (0.1, 37.5)):
        a = model.system().matrix(hazard) * dt
        np.testing.assert_allclose(expm_small(a), linalg.expm(a), rtol=1e-10, atol=1e-12)
