"""Tests of analysis.models.reappearance on small hand-built and simulated (synthetic) tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ChannelTableError, ModelError
from analysis.models.reappearance import (
    Reappearance,
    compare_cohorts,
    reappearance_durations,
)


@pytest.fixture
def table() -> pd.DataFrame:
    """Synthetic lineages: A (two bans, re-created each time), B, a family-less channel, D."""
    return pd.DataFrame(
        {
            "channel_id": ["a1", "a2", "a3", "b1", "b2", "c1", "d1", "d2"],
            "family_id": ["A", "A", "A", "B", "B", None, "D", "D"],
            "created_at": [0.0, 5.5, 9.0, 1.0, 2.0, 0.0, 3.0, 3.0],
            "ended_at": [5.0, 8.0, np.nan, 2.0, np.nan, 4.0, 3.0, np.nan],
            "end_reason": ["banned", "banned", None, "banned", None, "banned", "banned", None],
            "observation_end": [20.0] * 8,
        }
    )


def test_durations_by_family(table: pd.DataFrame) -> None:
    out = reappearance_durations(table).set_index("channel_id")
    assert out.loc["a1", "successor_id"] == "a2"
    assert out.loc["a1", "delay_days"] == pytest.approx(0.5)
    assert out.loc["a2", "successor_id"] == "a3" and out.loc["a2", "delay_days"] == 1.0
    assert out.loc["b1", "delay_days"] == 0.0
    assert out.loc["d1", "successor_id"] == "d2"  # never its own successor
    assert not out.loc["c1", "reappeared"] and out.loc["c1", "delay_days"] == 16.0
    assert out["reappeared"].sum() == 4


def test_durations_prefer_named_predecessor(table: pd.DataFrame) -> None:
    named = table.assign(predecessor_id=[None, None, "a1", None, None, None, None, None])
    out = reappearance_durations(named).set_index("channel_id")
    assert out.loc["a1", "successor_id"] == "a3" and out.loc["a1", "delay_days"] == 4.0
    # a3 is reserved for a1, so a2 has no successor: censored at observation_end
    assert not out.loc["a2", "reappeared"] and out.loc["a2", "delay_days"] == 12.0


def test_durations_datetime_in_days(table: pd.DataFrame) -> None:
    t0 = pd.Timestamp("2019-11-21")
    dt = table.assign(
        created_at=t0 + pd.to_timedelta(table["created_at"], unit="D"),
        ended_at=t0 + pd.to_timedelta(table["ended_at"], unit="D"),
        observation_end=t0 + pd.Timedelta(days=20),
    )
    a = reappearance_durations(dt)["delay_days"].to_numpy()
    b = reappearance_durations(table)["delay_days"].to_numpy()
    np.testing.assert_allclose(a, b)


def test_durations_validate_table(table: pd.DataFrame) -> None:
    with pytest.raises(ChannelTableError, match="duplicate"):
        reappearance_durations(table.assign(channel_id=["a1"] * 8))


def synthetic_events(
    n: int, share_back: float, seed: int, start: float = 0.0, prefix: str = "x"
) -> pd.DataFrame:
    """Synthetic table: n banned channels; a share re-created after a Weibull delay."""
    rng = np.random.default_rng(seed)
    banned_at = start + rng.uniform(0, 100, n)
    created = banned_at - rng.uniform(1, 30, n)
    back = rng.random(n) < share_back
    delay = 3.0 * rng.weibull(0.8, n)
    obs_end = 200.0
    seen = back & (banned_at + delay <= obs_end)
    ids = np.array([f"{prefix}{i}" for i in range(n)], dtype=object)
    fams = np.array([f"{prefix}f{i}" for i in range(n)], dtype=object)
    first = pd.DataFrame(
        {
            "channel_id": ids,
            "family_id": fams,
            "created_at": created,
            "ended_at": banned_at,
            "end_reason": "banned",
            "observation_end": obs_end,
        }
    )
    second = pd.DataFrame(
        {
            "channel_id": np.char.add(ids[seen].astype(str), "s").astype(object),
            "family_id": fams[seen],
            "created_at": banned_at[seen] + delay[seen],
            "ended_at": np.nan,
            "end_reason": None,
            "observation_end": obs_end,
        }
    )
    return pd.concat([first, second], ignore_index=True)


def test_reappearance_recovers_share_and_delay() -> None:
    events = synthetic_events(3000, share_back=0.6, seed=1)
    fit = Reappearance("weibull").fit_channel_events(events)
    lo, hi = fit.reappearance_share_ci_
    assert lo < 0.6 < hi
    assert fit.reappearance_share_ == pytest.approx(0.6, abs=0.03)
    true_median = 3.0 * np.log(2) ** (1 / 0.8)
    assert fit.median_delay_days_ == pytest.approx(true_median, rel=0.1)
    assert {"scale", "shape", "reappearance_share"} <= set(fit.summary.index)
    assert fit.plot() is not None


def test_compare_cohorts_before_after_action_day() -> None:
    before = synthetic_events(1500, share_back=0.9, seed=2, start=0.0, prefix="b")
    after = synthetic_events(1500, share_back=0.4, seed=3, start=100.0, prefix="a")
    events = pd.concat([before, after], ignore_index=True)
    res = compare_cohorts(events, split_at=100.0)
    assert res.before.reappearance_share_ == pytest.approx(0.9, abs=0.04)
    assert res.after.reappearance_share_ == pytest.approx(0.4, abs=0.04)
    lo, hi = res.share_difference_ci
    assert lo < -0.5 < hi
    assert res.logrank.p_value < 1e-10
    assert list(res.summary.index) == ["before", "after", "after_minus_before"]


def test_compare_cohorts_needs_both_sides() -> None:
    events = synthetic_events(100, share_back=0.5, seed=4)
    with pytest.raises(ModelError, match="cohort is empty"):
        compare_cohorts(events, split_at=1e9)
