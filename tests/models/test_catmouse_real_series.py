"""CatMouseModel.fit on series researchers have (issue 9 point 7).  All data SYNTHETIC.

* daily series from a (datetime) channel event table, stopping at the detection horizon;
* an observed initial state for a population not at equilibrium;
* an ``identified`` flag (and a warning) for parameters the data do not pin down.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ModelError, UnidentifiedWarning
from analysis.models._cm_fit import UNIDENTIFIED_CI_RATIO, flag_identification
from analysis.models.catmouse import CatMouseModel, daily_series_from_channel_events

SERIES = ["day", "active", "bans", "creations"]


def test_daily_series_match_the_simulator_numeric_and_datetime() -> None:
    model = CatMouseModel(
        creation_rate_per_day=5.0,
        ban_hazard_per_day=0.2,
        recreation_probability=0.5,
        recreation_delay_mean_days=1.0,
    )
    sim = model.simulate(60, seed=4)
    expected = sim.daily[SERIES].to_numpy()
    numeric = daily_series_from_channel_events(sim.channel_events)
    np.testing.assert_array_equal(numeric[SERIES].to_numpy(), expected)
    t0 = pd.Timestamp("2016-03-01")
    table = sim.channel_events.copy()
    for col in ("created_at", "ended_at", "observation_end", "observation_start"):
        table[col] = t0 + pd.to_timedelta(table[col], unit="D")
    dated = daily_series_from_channel_events(table)
    np.testing.assert_array_equal(dated[SERIES].to_numpy(), expected)
    assert dated["date"].iloc[0] == t0 and dated["date"].iloc[-1] == t0 + pd.Timedelta(days=59)


def test_daily_series_hand_counts_horizon_and_reasons() -> None:
    t0 = pd.Timestamp("2015-01-01")
    day = pd.Timedelta(days=1)
    table = pd.DataFrame(
        {
            "channel_id": ["a", "b", "c", "d", "e"],
            "family_id": None,
            "created_at": [t0 - 5 * day, t0 + 0.5 * day, t0 + 1.2 * day, t0 + 2.5 * day, t0],
            "ended_at": [t0 + 1.5 * day, t0 + 3.5 * day, pd.NaT, t0 + 4.2 * day, t0 + 2 * day],
            "end_reason": ["went_dark", "banned", None, "went_dark", "deleted"],
            "observation_end": t0 + 10 * day,
            "detection_horizon": t0 + 4.5 * day,  # 4 whole days kept
        }
    )
    out = daily_series_from_channel_events(table, start=t0)
    assert out["day"].tolist() == [0, 1, 2, 3]
    # a is initial (created before start); e is created at start (a creation on day 0)
    assert out["creations"].tolist() == [2, 1, 1, 0]
    assert out["bans"].tolist() == [0, 1, 1, 1]  # a day 1, e day 2 (deleted), b day 3
    assert out["active"].tolist() == [3, 3, 3, 2]
    assert out.attrs["n_initial"] == 1
    only_bans = daily_series_from_channel_events(table, start=t0, event_reasons="banned")
    assert only_bans["bans"].tolist() == [0, 0, 0, 1]
    assert only_bans["active"].tolist() == [3, 3, 3, 2]  # active still falls at every ending
    with pytest.raises(ModelError, match="no whole day"):
        daily_series_from_channel_events(table, start=t0 + 4.2 * day)


def growing_population(seed: int) -> pd.DataFrame:
    """Starts empty (not at equilibrium): 120 days of a population filling up."""
    truth = CatMouseModel(
        creation_rate_per_day=8.0,
        ban_hazard_per_day=0.1,
        recreation_probability=0.4,
        recreation_delay_mean_days=2.0,
        initial_active=0,
    )
    return truth.simulate(120, seed=seed).daily[SERIES]


def test_observed_initial_state_identifies_a_growing_population() -> None:
    """The legacy independent-counts likelihood started at equilibrium cannot pin creation and
    re-creation apart; the conditional-intensity likelihood (default) uses the observed
    stock, so both initial-state settings recover the truth (within the 95 % intervals)."""
    data = growing_population(seed=1)
    with pytest.warns(UnidentifiedWarning, match="creation_rate_per_day"):
        naive = CatMouseModel.fit(data, method="independent_counts")
    assert not naive.summary.loc["creation_rate_per_day", "identified"]
    for initial in ("observed", "equilibrium"):
        fit = CatMouseModel.fit(data, initial_active=initial)
        s = fit.summary
        for name, true in [
            ("creation_rate_per_day", 8.0),
            ("ban_hazard_per_day", 0.1),
            ("recreation_probability", 0.4),
        ]:
            assert s.loc[name, "identified"], (initial, name)
            assert s.loc[name, "lower"] < true < s.loc[name, "upper"], (initial, name)
        if initial == "observed":
            assert fit.model_.initial_active == 0.0


def test_observed_initial_state_needs_day_zero() -> None:
    data = growing_population(seed=2).iloc[5:]
    with pytest.raises(ModelError, match="start at day 0"):
        CatMouseModel.fit(data, initial_active="observed")
    with pytest.raises(ModelError, match="initial_active"):
        CatMouseModel.fit(growing_population(seed=2), initial_active="steady")


def test_dispersion_at_its_bound_is_flagged() -> None:
    """Poisson data under NB2: dispersion -> 0, held at its bound with a zero-width interval."""
    data = growing_population(seed=3)
    with pytest.warns(UnidentifiedWarning) as record:
        fit = CatMouseModel.fit(
            data, likelihood="negbin", initial_active="observed", method="independent_counts"
        )
    s = fit.summary
    at_bound = s.index[s.index.str.startswith("dispersion") & (s["estimate"] < 1e-4)]
    assert len(at_bound) >= 1
    for name in at_bound:
        assert s.loc[name, "lower"] == s.loc[name, "upper"]  # zero width, held at the bound
        assert not s.loc[name, "identified"]
        assert name in str(record[0].message)


def test_flag_rules_on_a_hand_made_summary() -> None:
    summary = pd.DataFrame(
        {
            "estimate": [1.0, 0.5, 2.0, 0.3, 5.0, 7.0],
            "lower": [0.5, 0.1, 0.001, 0.001, 5.0, 1.0],
            "upper": [2.0, 0.9, 2000.0, 0.999, 5.0, 7.0],
            "free": [True, True, True, True, True, False],
        },
        index=[
            "ban_hazard_per_day",
            "recreation_probability",
            "creation_rate_per_day",
            "recreation_probability_wide",
            "zero_width",
            "fixed_one",
        ],
    )
    summary = summary.rename(index={"recreation_probability_wide": "x"})
    flags = flag_identification(summary, {"fixed_one": False})
    assert flags["ban_hazard_per_day"]  # ratio 4
    assert flags["recreation_probability"]  # odds ratio 81 < 100
    assert not flags["creation_rate_per_day"]  # ratio 2e6
    assert not flags["x"]  # ratio 999
    assert not flags["zero_width"]
    assert flags["fixed_one"]
    assert UNIDENTIFIED_CI_RATIO == 100.0
