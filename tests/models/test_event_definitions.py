"""Event definitions, detection horizon, zero-length lifetimes and reappearance windows.

Issue 9 points 1, 2 (consumer side) and 4.  Every table here is SYNTHETIC.  Expected values
come from closed forms (exponential and Weibull survival) or hand computation, never from
the code under test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.channels import (
    END_REASONS,
    channel_lifetimes,
    channel_lifetimes_table,
    resolve_event_reasons,
    time_resolution_days,
    validate_channel_events,
)
from analysis.errors import (
    ChannelTableError,
    HorizonWarning,
    ModelError,
    NoEventsError,
    ZeroLengthWarning,
)
from analysis.models.reappearance import Reappearance, compare_cohorts, reappearance_durations
from analysis.models.survival import KaplanMeier, ParametricSurvival

MEAN_LIFETIME = 10.0
TRUE_MEDIAN = MEAN_LIFETIME * np.log(2.0)


# --------------------------------------------------------------------------- reasons
def test_resolve_event_reasons_forms() -> None:
    assert resolve_event_reasons(None) == END_REASONS
    assert resolve_event_reasons("any") == END_REASONS
    assert resolve_event_reasons("went_dark, banned") == ("banned", "went_dark")
    assert resolve_event_reasons(["deleted"]) == ("deleted",)
    with pytest.raises(ChannelTableError, match="suspended"):
        resolve_event_reasons("banned,suspended")
    with pytest.raises(ChannelTableError, match="no event reasons"):
        resolve_event_reasons(" , ")


def message_log_table(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """What `takedowns ingest messages` writes: only went_dark endings (synthetic)."""
    rng = np.random.default_rng(seed)
    created = rng.uniform(0, 50, n)
    end = created + rng.exponential(MEAN_LIFETIME, n)
    dark = end < 100.0
    return pd.DataFrame(
        {
            "channel_id": [f"synthetic-{i}" for i in range(n)],
            "family_id": None,
            "created_at": created,
            "ended_at": np.where(dark, end, np.nan),
            "end_reason": np.where(dark, "went_dark", None),
            "observation_end": 100.0,
        }
    )


def test_default_counts_went_dark_endings() -> None:
    """Today the default counts only bans: 0 events and an infinite median, silently."""
    table = message_log_table()
    durations, events, _ = channel_lifetimes(table)
    assert events.sum() == table["ended_at"].notna().sum() > 0
    km = KaplanMeier().fit(durations, events)
    assert np.isfinite(km.median_)


def test_zero_events_is_an_error_naming_reasons_and_counts() -> None:
    table = message_log_table()
    n_dark = int(table["ended_at"].notna().sum())
    with pytest.raises(NoEventsError) as info:
        channel_lifetimes(table, event_reasons="banned", source="own.parquet")
    text = str(info.value)
    assert "own.parquet" in text and "['banned']" in text
    assert f"'went_dark': {n_dark}" in text and "still_active" in text
    assert isinstance(info.value, ModelError)
    # explicitly allowed: all censored
    _, e, _ = channel_lifetimes(table, event_reasons="banned", allow_no_events=True)
    assert not e.any()


def test_reappearance_zero_endings_error_names_table_contents() -> None:
    table = message_log_table()
    with pytest.raises(NoEventsError, match="went_dark"):
        Reappearance().fit_channel_events(table, event_reasons="banned")
    # any ending counts, but the table has no lineages: a clear error, not a crash
    with pytest.raises(NoEventsError, match="no lineages"):
        Reappearance().fit_channel_events(table)


# --------------------------------------------------------------------------- KM summary
def test_km_summary_exists_and_matches_hand_computation() -> None:
    # uncensored 1..5: S drops to 0.4 at t = 3, so the median is 3
    km = KaplanMeier().fit([1.0, 2.0, 3.0, 4.0, 5.0])
    summary = km.summary
    assert summary.loc["n", "estimate"] == 5 and summary.loc["events", "estimate"] == 5
    assert summary.loc["median_days", "estimate"] == 3.0
    # RMST up to 5 = area under the steps 1, .8, .6, .4, .2 = 3.0
    assert summary.loc["rmst_days", "estimate"] == pytest.approx(3.0)
    assert summary.loc["median_days", "note"] == ""


def test_km_summary_says_median_not_reached() -> None:
    km = KaplanMeier().fit([1.0, 2.0, 3.0, 4.0, 5.0], [1, 0, 0, 0, 0])
    assert np.isinf(km.median_)
    assert "not reached" in km.summary.loc["median_days", "note"]
    with pytest.warns(UserWarning, match="zero events"):
        KaplanMeier().fit([1.0, 2.0], [0, 0])


# --------------------------------------------------------------------------- horizon
def horizon_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "channel_id": ["a", "b", "c", "d", "e"],
            "family_id": None,
            "created_at": [0.0, 10.0, 20.0, 75.0, 85.0],
            "ended_at": [30.0, 75.0, np.nan, 90.0, np.nan],
            "end_reason": ["went_dark", "banned", None, "banned", None],
            "observation_end": 100.0,
            "detection_horizon": 70.0,
        }
    )


def test_horizon_censors_every_row_and_excludes_late_rows() -> None:
    with pytest.warns(HorizonWarning, match="2 of 5 rows"):
        out = channel_lifetimes_table(horizon_table())
    assert list(out["channel_id"]) == ["a", "b", "c"]
    # a ends before the horizon; b's ban after the horizon is censored there; c at the horizon
    np.testing.assert_allclose(out["duration_days"], [30.0, 60.0, 50.0])
    np.testing.assert_array_equal(out["event"], [True, False, False])
    assert out.attrs["n_excluded_after_horizon"] == 2


def test_horizon_validated() -> None:
    bad = horizon_table().assign(detection_horizon=[70.0, 70.0, 101.0, 70.0, 70.0])
    with pytest.raises(ChannelTableError, match="detection_horizon after observation_end") as e:
        validate_channel_events(bad)
    assert e.value.row == 2
    mixed = horizon_table().assign(detection_horizon=pd.Timestamp("2020-01-01"))
    with pytest.raises(ChannelTableError, match="mixed time types"):
        validate_channel_events(mixed)


def went_dark_table(
    n: int, observation_days: float, window: float, rng: np.random.Generator, horizon: bool
) -> pd.DataFrame:
    """Went-dark rule on last-seen times: ended iff last seen before end - window."""
    created = rng.uniform(0.0, observation_days, n)
    last_seen = created + rng.exponential(MEAN_LIFETIME, n)
    dark = last_seen < observation_days - window
    table = pd.DataFrame(
        {
            "channel_id": np.char.add("synthetic-", np.arange(n).astype(str)).astype(object),
            "family_id": None,
            "created_at": created,
            "ended_at": np.where(dark, last_seen, np.nan),
            "end_reason": np.where(dark, "went_dark", None),
            "observation_end": observation_days,
        }
    )
    if horizon:
        table["detection_horizon"] = observation_days - window
    return table


def km_median_bias(window: float, horizon: bool, reps: int = 12, n: int = 4000) -> float:
    rng = np.random.default_rng(int(window) * 101 + horizon)
    medians = []
    for _ in range(reps):
        table = went_dark_table(n, 180.0, window, rng, horizon)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HorizonWarning)
            d, e, entry = channel_lifetimes(table)
        medians.append(KaplanMeier().fit(d, e, entry).median_)
    return float(np.mean(medians) / TRUE_MEDIAN - 1.0)


@pytest.mark.parametrize("window", [7.0, 14.0, 30.0, 60.0])
def test_km_median_bias_under_three_percent_with_horizon(window: float) -> None:
    """Exponential lifetimes (mean 10 days), 180 days observed, went-dark rule.

    Without the horizon the median is biased up (+5, +13, +32, +104 % in this setting over 20
    replications; the issue measured +6/+13/+31 %); censoring everyone at the horizon removes
    the bias (+1.1, +1.0, +0.3, -0.5 %).
    """
    assert abs(km_median_bias(window, horizon=True)) < 0.03
    assert km_median_bias(window, horizon=False) > 0.03


# --------------------------------------------------------------------------- zero length
def test_resolution_and_zero_length_floor_date_only() -> None:
    t0 = pd.Timestamp("2016-01-01")
    table = pd.DataFrame(
        {
            "channel_id": ["a", "b", "c"],
            "family_id": None,
            "created_at": [t0, t0, t0 + pd.Timedelta(days=3)],
            "ended_at": [t0, t0 + pd.Timedelta(days=2), t0 + pd.Timedelta(days=3)],
            "end_reason": "went_dark",
            "observation_end": t0 + pd.Timedelta(days=10),
        }
    )
    assert time_resolution_days(validate_channel_events(table)) == 1.0
    with pytest.warns(ZeroLengthWarning, match="2 zero-length"):
        d, _, _ = channel_lifetimes(table)
    np.testing.assert_allclose(d, [0.5, 2.0, 0.5])


def test_zero_length_floor_seconds_and_parametric_fit_runs() -> None:
    """A channel seen once gave lifetime 0 and stopped every parametric fit."""
    rng = np.random.default_rng(3)
    n = 300
    t0 = pd.Timestamp("2015-06-01 08:00:01")
    created = t0 + pd.to_timedelta(rng.uniform(0, 100, n), unit="D").round("s")
    life = pd.to_timedelta(rng.exponential(MEAN_LIFETIME, n), unit="D").round("s")
    life = life.where(rng.random(n) > 0.1, pd.Timedelta(0))  # 10 % seen once
    table = pd.DataFrame(
        {
            "channel_id": [f"synthetic-{i}" for i in range(n)],
            "family_id": None,
            "created_at": created,
            "ended_at": created + life,
            "end_reason": "went_dark",
            "observation_end": t0 + pd.Timedelta(days=400),
        }
    )
    assert time_resolution_days(validate_channel_events(table)) == pytest.approx(1 / 86400)
    with pytest.warns(ZeroLengthWarning):
        d, e, entry = channel_lifetimes(table)
    assert d.min() == pytest.approx(0.5 / 86400)
    fit = ParametricSurvival("weibull").fit(d, e, entry)
    assert np.isfinite(fit.median_)


# --------------------------------------------------------------------------- windows
def lineage_table(
    n: int, share_back: float, seed: int, window: float | None = None
) -> pd.DataFrame:
    """n banned channels; a share re-created after a Weibull(0.8, scale 3) delay."""
    rng = np.random.default_rng(seed)
    banned_at = rng.uniform(0, 100, n)
    created = banned_at - rng.uniform(1, 30, n)
    back = rng.random(n) < share_back
    delay = 3.0 * rng.weibull(0.8, n)
    seen = back & (banned_at + delay <= 200.0)
    first = pd.DataFrame(
        {
            "channel_id": [f"x{i}" for i in range(n)],
            "family_id": [f"f{i}" for i in range(n)],
            "created_at": created,
            "ended_at": banned_at,
            "end_reason": "banned",
            "observation_end": 200.0,
        }
    )
    second = pd.DataFrame(
        {
            "channel_id": [f"x{i}s" for i in np.flatnonzero(seen)],
            "family_id": [f"f{i}" for i in np.flatnonzero(seen)],
            "created_at": banned_at[seen] + delay[seen],
            "ended_at": np.nan,
            "end_reason": None,
            "observation_end": 200.0,
        }
    )
    out = pd.concat([first, second], ignore_index=True)
    if window is not None:
        out["link_window_days"] = window
    return out


def test_unlinked_bans_censored_at_the_window() -> None:
    table = pd.DataFrame(
        {
            "channel_id": ["a1", "a2", "b1", "c1", "c2"],
            "family_id": ["A", "A", "B", "C", "C"],
            "created_at": [0.0, 12.0, 0.0, 0.0, 80.0],
            "ended_at": [10.0, np.nan, 95.0, 50.0, np.nan],
            "end_reason": ["banned", None, "went_dark", "banned", None],
            "observation_end": 100.0,
            "link_window_days": 14.0,
        }
    )
    out = reappearance_durations(table).set_index("channel_id")
    assert out.attrs["window_days"] == 14.0
    assert out.loc["a1", "reappeared"] and out.loc["a1", "delay_days"] == 2.0
    # no successor; censored at min(14, 100 - 95) = 5 (went_dark counts by default)
    assert not out.loc["b1", "reappeared"] and out.loc["b1", "delay_days"] == 5.0
    # successor after 30 days: not back within 14 days, censored at the window
    assert not out.loc["c1", "reappeared"] and out.loc["c1", "delay_days"] == 14.0
    assert pd.isna(out.loc["c1", "successor_id"])
    # explicit window overrides the column; no column and no argument: whole follow-up
    wide = reappearance_durations(table, window_days=60).set_index("channel_id")
    assert wide.loc["c1", "reappeared"] and wide.loc["c1", "delay_days"] == 30.0
    free = reappearance_durations(table.drop(columns="link_window_days"))
    assert free.attrs["window_days"] == np.inf
    assert free.set_index("channel_id").loc["b1", "delay_days"] == 5.0


def test_share_within_window_recovers_truth() -> None:
    """Truth: 0.6 * P(Weibull(0.8, scale 3) <= window)."""
    window = 5.0
    table = lineage_table(3000, share_back=0.6, seed=11, window=window)
    fit = Reappearance("weibull").fit_channel_events(table)
    truth = 0.6 * (1.0 - np.exp(-((window / 3.0) ** 0.8)))
    lo, hi = fit.reappearance_share_ci_
    assert lo < truth < hi
    assert fit.reappearance_share_ == pytest.approx(truth, abs=0.03)
    assert fit.km_share_within_window_ == pytest.approx(truth, abs=0.03)
    assert fit.window_days_ == window
    assert fit.summary.loc["window_days", "estimate"] == window
    assert fit.never_return_share_ == pytest.approx(1.0 - fit.reappearance_share_)
    ax = fit.plot()
    assert "within 5 days" in ax.get_ylabel()


def test_compare_cohorts_passes_window() -> None:
    table = lineage_table(2000, share_back=0.6, seed=12)
    res = compare_cohorts(table, split_at=50.0, window_days=5.0)
    truth = 0.6 * (1.0 - np.exp(-((5.0 / 3.0) ** 0.8)))
    assert res.before.window_days_ == 5.0
    assert res.before.reappearance_share_ == pytest.approx(truth, abs=0.05)
    assert res.after.reappearance_share_ == pytest.approx(truth, abs=0.05)


def test_endings_after_the_horizon_are_not_predecessors() -> None:
    table = pd.DataFrame(
        {
            "channel_id": ["a1", "a2", "b1", "b2"],
            "family_id": ["A", "A", "B", "B"],
            "created_at": [0.0, 12.0, 0.0, 95.0],
            "ended_at": [10.0, np.nan, 92.0, np.nan],
            "end_reason": ["went_dark", None, "banned", None],
            "observation_end": 100.0,
            "detection_horizon": 90.0,
        }
    )
    with pytest.warns(HorizonWarning, match="1 endings after"):
        out = reappearance_durations(table)
    assert list(out["channel_id"]) == ["a1"]
    assert out.attrs["n_excluded_after_horizon"] == 1


def test_zero_length_floor_is_half_the_posting_gap_for_message_logs() -> None:
    """A channel seen once lived less than about one posting gap, not less than a second."""
    t0 = pd.Timestamp("2015-06-01 08:00:01")
    day = pd.Timedelta(days=1)
    table = pd.DataFrame(
        {
            "channel_id": ["a", "b", "c", "d"],
            "family_id": None,
            "created_at": [t0, t0, t0, t0 + day],
            "ended_at": [t0, t0 + 2 * day, pd.NaT, t0 + 3 * day],
            "end_reason": ["went_dark", "went_dark", None, "went_dark"],
            "observation_end": t0 + 30 * day,
            "last_message_at": [t0, t0 + 2 * day, t0 + 10 * day, t0 + 3 * day],
            "n_messages": [1, 5, 11, 3],
        }
    )
    # gaps: b 2/4 = 0.5, c 10/10 = 1.0, d 2/2 = 1.0 -> median 1.0, floor 0.5 day
    with pytest.warns(ZeroLengthWarning, match="posting gap"):
        d, _, _ = channel_lifetimes(table)
    assert d[0] == pytest.approx(0.5)
    with pytest.warns(ZeroLengthWarning, match="as given"):
        d2, _, _ = channel_lifetimes(table, zero_length_days=0.1)
    assert d2[0] == pytest.approx(0.1)
    with pytest.raises(ChannelTableError, match="zero_length_days"):
        channel_lifetimes(table, zero_length_days=0.0)


@pytest.mark.slow
def test_share_within_window_interval_coverage() -> None:
    """95 % interval of the share back within 5 days covers the truth in 93-97 % of 600 runs.

    Measured: 0.955 (bias of the estimate -0.002).
    """
    truth = 0.6 * (1.0 - np.exp(-((5.0 / 3.0) ** 0.8)))
    hits = []
    for seed in range(1000, 1600):
        fit = Reappearance("weibull").fit_channel_events(
            lineage_table(300, share_back=0.6, seed=seed, window=5.0)
        )
        lo, hi = fit.reappearance_share_ci_
        hits.append(lo <= truth <= hi)
    assert 0.93 <= np.mean(hits) <= 0.97
