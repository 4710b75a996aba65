"""The summaries behind the model sections of notebooks 03 and 05 (closed forms, known truth)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis import summaries
from analysis.models.catmouse import CatMouseModel, Crackdown


def _fake_result(params: dict[str, float], rows: list[dict]) -> SimpleNamespace:
    summary = pd.DataFrame(rows).set_index("parameter")
    anchors = pd.DataFrame(
        {"source": ["https://www.example.org/a", "https://example.org/b", "http://other.net/c"]}
    )
    return SimpleNamespace(params_=pd.Series(params), summary=summary, anchors=anchors)


TELEGRAM = {
    "baseline_bans_per_day": 250.0,
    "mean_lifetime_days": 80.0,
    "extra_hazard_day1_per_day": 0.1,
    "extra_hazard_day2_per_day": 0.2,
    "recreation_probability": 0.0,
    "recreation_delay_mean_days": 1.0,
}


def _telegram_result() -> SimpleNamespace:
    rows = [
        {
            "parameter": "baseline_bans_per_day",
            "estimate": 250.0,
            "lower": 200.0,
            "upper": 300.0,
            "lower_identified": True,
            "upper_identified": True,
            "search_lower": 50.0,
            "search_upper": 2000.0,
        },
        {
            "parameter": "mean_lifetime_days",
            "estimate": 80.0,
            "lower": 16.0,
            "upper": 5000.0,
            "lower_identified": True,
            "upper_identified": False,
            "search_lower": 1.0,
            "search_upper": 5000.0,
        },
    ]
    return _fake_result(TELEGRAM, rows)


def test_calibration_table_marks_unbounded_sides() -> None:
    table = summaries.calibration_table({"telegram_nov2019": _telegram_result()})
    assert list(table["parameter"]) == ["baseline_bans_per_day", "mean_lifetime_days"]
    assert table.loc[0, "interval"] == "200 to 300"
    assert table.loc[1, "interval"] == "16 to ≥ 5,000"
    assert not table.loc[1, "upper_identified"]
    assert table.loc[1, "parameter_label"] == "mean lifetime (days)"


def test_calibrated_models_reproduce_their_scenario_definitions() -> None:
    tg = summaries.calibrated_baseline_model("telegram_nov2019", TELEGRAM)
    # no re-creation: stationary ban flow = creation rate = the baseline bans per day
    assert tg.equilibrium_active() * tg.ban_hazard_per_day == pytest.approx(250.0)
    tw = summaries.calibrated_baseline_model(
        "twitter_april2015",
        {
            "population": 56_000.0,
            "mean_lifetime_days": 100.0,
            "recreation_probability": 0.3,
            "recreation_delay_mean_days": 2.0,
            "purge_extra_hazard_per_day": 0.18,
        },
    )
    assert tw.equilibrium_active() == pytest.approx(56_000.0)  # lambda / (mu (1 - rho))
    crest = {"mean_lifetime_2018_days": 302.0, "mean_lifetime_2019_days": 14.0}
    assert summaries.scenario_sustained_extra_hazard("crest_2018_2019", crest) == pytest.approx(
        1 / 14 - 1 / 302
    )
    assert summaries.scenario_sustained_extra_hazard("telegram_nov2019", TELEGRAM) == pytest.approx(
        0.15
    )


def test_implications_match_closed_forms_without_recreation() -> None:
    out = summaries.calibration_implications(
        {"telegram_nov2019": _telegram_result()}, purge_fraction=0.9
    )
    row = out.iloc[0]
    mu = 1 / 80.0
    lam = 250.0
    # one-day purge with extra hazard h = -ln(0.1): M/M/inf relaxation during and after the day
    h = -np.log(0.1)
    a_star = lam / mu
    after_day = a_star * np.exp(-(mu + h)) + lam / (mu + h) * (1 - np.exp(-(mu + h)))
    for share, column in [(0.5, "days_to_regain_50pct"), (0.9, "days_to_regain_90pct")]:
        # A(t) = A* - (A* - after_day) exp(-mu t) = share * A*
        expected = np.log((a_star - after_day) / ((1 - share) * a_star)) / mu
        assert row[column] == pytest.approx(expected, rel=1e-4)
    assert row["recreations_per_ban"] == 0.0
    assert row["equilibrium_share_under_sustained"] == pytest.approx(mu / (mu + 0.15))


def test_expected_recovery_times_match_exponential_relaxation() -> None:
    mu = 0.1
    model = CatMouseModel(20.0, mu, crackdowns=(Crackdown.removing_fraction(10.0, 0.8),))
    out = summaries.expected_recovery_times(model)
    assert out["pre_level"] == pytest.approx(200.0)
    # after the crackdown the gap to equilibrium decays as exp(-mu t): half-life ln 2 / mu
    assert out["days_to_recover_50pct_of_drop"] == pytest.approx(np.log(2) / mu, rel=1e-4)
    assert out["days_to_recover_90pct_of_drop"] == pytest.approx(np.log(10) / mu, rel=1e-4)


def test_synthetic_daily_bans_carries_pulses_and_baseline_range() -> None:
    pulses = {"2019-11-22": 2096, "2019-11-23": 2959}
    frame = summaries.synthetic_daily_bans("2000-01-01", "2059-12-31", pulses, 200, 300, seed=3)
    assert frame.attrs["synthetic"] and frame["synthetic"].all()
    hit = frame.set_index("date").loc[pd.to_datetime(list(pulses)), "bans"]
    assert hit.tolist() == [2096, 2959]
    base = frame.loc[~frame["is_published_anchor"], "bans"]
    assert base.mean() == pytest.approx(250, rel=0.01)
    inside = ((base >= 200) & (base <= 300)).mean()
    assert 0.93 < inside < 0.97  # the stated range is the central 95 %
    with pytest.raises(Exception, match="outside"):
        summaries.synthetic_daily_bans("2019-01-01", "2019-01-31", pulses, 200, 300, seed=1)


def test_dispersion_index_poisson_and_overdispersed() -> None:
    rng = np.random.default_rng(11)
    assert summaries.dispersion_index(rng.poisson(250, 20_000)) == pytest.approx(1.0, abs=0.05)
    alpha = 0.01  # NB2: Var / mean = 1 + alpha * mean = 3.5
    y = rng.poisson(rng.gamma(1 / alpha, 250 * alpha, 20_000))
    y[::500] = 5000  # pulses barely move the robust estimate
    assert summaries.dispersion_index(y) == pytest.approx(3.5, rel=0.1)


def test_true_changepoints_and_matching() -> None:
    truth = summaries.true_changepoint_dates(["2019-11-23", "2019-11-22", "2018-12-06"])
    assert truth == list(
        pd.to_datetime(["2018-12-06", "2018-12-07", "2019-11-22", "2019-11-23", "2019-11-24"])
    )
    table = summaries.changepoints_against_truth(
        pd.to_datetime(["2018-12-05", "2019-11-22", "2019-06-01"]),
        pd.to_datetime(["2018-12-06", "2019-11-22", "2019-11-26"]),
    )
    assert table["distance_days"].tolist()[:3] == [-1.0, 0.0, -4.0]
    assert table["within_tolerance"].tolist() == [True, True, False, False]
    assert pd.isna(table["true_date"].iloc[3])  # the spurious detection is listed


def test_calibration_source_domains() -> None:
    assert summaries.calibration_source_domains({"x": _telegram_result()}) == [
        "example.org",
        "other.net",
    ]


def test_read_channel_events_csv_under_pandas_3(tmp_path) -> None:
    """Text time columns (pandas 3 `str` dtype, ISO with offsets) are parsed, not refused."""
    from analysis import summaries

    table = pd.DataFrame(
        {
            "channel_id": ["synthetic-1", "synthetic-2"],
            "family_id": [None, None],
            "created_at": ["2015-01-06T21:07:00+01:00", "2015-01-07T10:00:00+01:00"],
            "ended_at": ["2015-01-09T08:00:00+01:00", None],
            "end_reason": ["went_dark", None],
            "observation_end": ["2015-03-01T00:00:00+00:00"] * 2,
            "detection_horizon": ["2015-01-30T00:00:00+00:00"] * 2,
            "link_window_days": [14.0, 14.0],
        }
    )
    path = tmp_path / "own.csv"
    table.to_csv(path, index=False)
    out = summaries.read_channel_events(path)
    assert out["created_at"].iloc[0] == pd.Timestamp("2015-01-06 20:07")  # naive UTC
    assert out["detection_horizon"].iloc[0] == pd.Timestamp("2015-01-30")
    assert out["end_reason"].iloc[0] == "went_dark"


def test_event_label_from_counted_and_present_reasons() -> None:
    from analysis import summaries

    sim = pd.DataFrame({"end_reason": ["banned", None]})
    assert summaries.event_label(sim) == "banned"
    mixed = pd.DataFrame({"end_reason": ["banned", "went_dark", "deleted"]})
    assert summaries.event_label(mixed, "banned,went_dark") == "ended (banned, went dark)"
    assert summaries.event_label(pd.DataFrame({"end_reason": [None]})) == "ended"
