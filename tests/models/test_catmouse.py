"""Tests of the cat-and-mouse model: closed forms, ODE vs simulation, event table, fitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import linalg

from analysis.channels import validate_channel_events
from analysis.errors import ModelError
from analysis.models._cm_meanfield import expm_taylor
from analysis.models.catmouse import CatMouseModel, Crackdown


def test_stationary_mean_without_recreation_is_lambda_over_mu():
    model = CatMouseModel(creation_rate_per_day=30.0, ban_hazard_per_day=0.2, initial_active=0)
    assert model.equilibrium_active() == pytest.approx(30.0 / 0.2)
    # the ODE started empty converges to it: A(t) = (lambda/mu)(1 - exp(-mu t)) (M/M/inf)
    mf = model.mean_field(100)
    t = mf["day"].to_numpy() + 1.0
    np.testing.assert_allclose(mf["active"], 150.0 * -np.expm1(-0.2 * t), rtol=1e-6)


@pytest.mark.parametrize("delay_shape", [1, 3])
def test_stationary_mean_with_recreation(delay_shape):
    model = CatMouseModel(10.0, 0.1, 0.6, 5.0, recreation_delay_shape=delay_shape, initial_active=0)
    expected = 10.0 / (0.1 * (1 - 0.6))
    assert model.equilibrium_active() == pytest.approx(expected)
    assert model.mean_field(800)["active"].iloc[-1] == pytest.approx(expected, rel=1e-4)
    assert model.expected_recreations_per_ban() == pytest.approx(0.6)
    # stationary simulation average (time average over a long run)
    sim = CatMouseModel(10.0, 0.1, 0.6, 5.0, recreation_delay_shape=delay_shape).simulate(
        4000, seed=5
    )
    assert sim.daily["active"].mean() == pytest.approx(expected, rel=0.03)


def test_cost_factor_closed_form():
    rho, c = 0.8, 0.5
    model = CatMouseModel(5.0, 0.2, rho, 2.0, recreation_cost_factor=c)
    n_family = 1 + rho + rho**2 * c + rho**3 * c**3 + rho**4 * c**6 + rho**5 * c**10
    assert model.expected_channels_per_family() == pytest.approx(n_family, rel=1e-4)
    assert model.equilibrium_active() == pytest.approx(5.0 * n_family / 0.2, rel=1e-4)
    assert model.mean_field(10)["active"].iloc[-1] == pytest.approx(model.equilibrium_active())


def test_ode_matches_expm_and_taylor_matches_scipy():
    model = CatMouseModel(
        20, 0.1, 0.5, 3.0, crackdowns=[Crackdown(10, 2.5, 2.0)], recreation_delay_shape=2
    )
    a = model.mean_field(60, method="ode").drop(columns="day").to_numpy()
    b = model.mean_field(60, method="expm").drop(columns="day").to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    rng = np.random.default_rng(0)
    m = rng.normal(size=(7, 7)) * 3
    np.testing.assert_allclose(expm_taylor(m), linalg.expm(m), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "model",
    [
        CatMouseModel(20, 0.2, 0.4, 2.0, crackdowns=[Crackdown(20, 3, 1.0)]),
        CatMouseModel(
            20,
            0.2,
            0.8,
            3.0,
            crackdowns=[Crackdown(10, 2, 2.0)],
            recreation_cost_factor=0.5,
            recreation_delay_shape=3,
        ),
        CatMouseModel(15, 0.1, 0.5, 0.0, crackdowns=[Crackdown(5, 10, 0.5)], initial_active=40),
    ],
)
def test_ode_matches_mean_of_stochastic_runs(model):
    runs, days = 250, 40
    sims = np.array(
        [
            model.simulate(days, seed=s).daily[["active", "bans", "creations"]].to_numpy()
            for s in range(runs)
        ]
    )
    ode = model.mean_field(days)[["active", "bans_per_day", "creations_per_day"]].to_numpy()
    se = sims.std(axis=0, ddof=1) / np.sqrt(runs)
    z = np.abs(sims.mean(axis=0) - ode) / np.maximum(se, 1e-9)
    assert z.max() < 4.5  # 120 comparisons; P(max |z| > 4.5) ~ 1e-3 under the null


def test_naive_loop_agrees_with_vectorised_simulator():
    model = CatMouseModel(10, 0.2, 0.5, 1.0, crackdowns=[Crackdown(10, 2, 2.0)], initial_active=50)
    ode = model.mean_field(20)
    naive = np.mean(
        [model.simulate_naive(20, seed=s)["bans"].to_numpy() for s in range(150)], axis=0
    )
    assert np.abs(naive[9:14] - ode["bans_per_day"].to_numpy()[9:14]).max() < 4.5 * np.sqrt(
        ode["bans_per_day"].max() / 150
    )


def test_time_to_regain_closed_form_without_recreation():
    # no re-creation: after the crackdown A(t) = A* - (A* - A_end) exp(-mu t)
    lam, mu, h, dur = 10.0, 0.05, 1.0, 2.0
    model = CatMouseModel(lam, mu, crackdowns=[Crackdown(50, dur, h)])
    a_star = lam / mu
    a_end_inf = lam / (mu + h)
    a_end = a_end_inf + (a_star - a_end_inf) * np.exp(-(mu + h) * dur)
    t90 = np.log((a_star - a_end) / (0.1 * a_star)) / mu
    assert model.time_to_regain(0.9) == pytest.approx(t90, rel=1e-5)
    assert model.time_to_regain(1.0) == np.inf


def test_crackdown_needed():
    model = CatMouseModel(10.0, 0.05, 0.5, 2.0)
    assert model.crackdown_needed(100.0, np.inf) == pytest.approx(10.0 * 2 / 100 - 0.05)
    h = model.crackdown_needed(100.0, 10.0)
    after = CatMouseModel(10.0, 0.05, 0.5, 2.0, crackdowns=[Crackdown(0.0, 10.0, h)])
    assert after.active_at([10.0])[0] == pytest.approx(100.0, rel=1e-6)
    assert model.crackdown_needed(1e6, 10.0) == 0.0


def test_event_table_contract_and_lineage():
    model = CatMouseModel(5, 0.3, 0.6, 1.0, crackdowns=[Crackdown(10, 2, 1.0)])
    sim = model.simulate(50, seed=2)
    ev = validate_channel_events(sim.channel_events)
    assert ev.attrs.get("synthetic", True)
    assert set(ev["end_reason"].dropna().unique()) <= {"banned"}
    assert ev["ended_at"].isna().equals(ev["end_reason"].isna())
    rec = ev[ev["predecessor_id"].notna()]
    assert len(rec) > 0
    parent = ev.set_index("channel_id").loc[rec["predecessor_id"]]
    np.testing.assert_array_equal(parent["family_id"].to_numpy(), rec["family_id"].to_numpy())
    assert np.all(rec["created_at"].to_numpy() >= parent["ended_at"].to_numpy())
    np.testing.assert_array_equal(rec["generation"].to_numpy(), parent["generation"].to_numpy() + 1)
    # daily series agree with the table
    daily = sim.daily
    bans = np.bincount(np.floor(ev["ended_at"].dropna()).astype(int), minlength=50)
    np.testing.assert_array_equal(daily["bans"].to_numpy(), bans)


def test_exact_lifetimes_under_piecewise_hazard():
    # lifetimes of channels born at 0 follow S(t) = exp(-H(t)); check P(alive at 12)
    model = CatMouseModel(0.0, 0.1, crackdowns=[Crackdown(5, 5, 0.4)], initial_active=20000)
    sim = model.simulate(30, seed=4)
    alive_12 = sim.daily["active"].iloc[11]
    expected = 20000 * np.exp(-(0.1 * 12 + 0.4 * 5))
    assert abs(alive_12 - expected) < 4 * np.sqrt(expected)


def test_fit_recovers_known_parameters():
    truth = CatMouseModel(30, 0.1, 0.5, 3.0, crackdowns=[Crackdown(60, 3, 1.5)])
    daily = truth.simulate(150, seed=3).daily
    fit = CatMouseModel.fit(daily[["day", "bans", "creations"]], crackdowns=[Crackdown(60, 3, 1.0)])
    s = fit.summary
    for name, value in [
        ("creation_rate_per_day", 30),
        ("ban_hazard_per_day", 0.1),
        ("recreation_probability", 0.5),
        ("extra_hazard_per_day[0]", 1.5),
    ]:
        assert s.loc[name, "lower"] < value < s.loc[name, "upper"], name
    assert set(fit.params_.index) >= {"equilibrium_active", "mean_lifetime_days"}


def test_fit_and_model_errors():
    with pytest.raises(ModelError):
        CatMouseModel(1.0, 0.1, recreation_probability=1.0)
    with pytest.raises(ModelError):
        CatMouseModel.fit(pd.DataFrame({"x": [1, 2]}))
    with pytest.raises(ModelError):
        Crackdown(0, 0, 1.0)
