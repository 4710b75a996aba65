"""Tests of the channel event table contract (analysis.channels); small synthetic tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.channels import (
    CHANNEL_EVENT_COLUMNS,
    END_REASONS,
    OPTIONAL_CHANNEL_EVENT_COLUMNS,
    channel_lifetimes,
    validate_channel_events,
)
from analysis.errors import ChannelTableError


@pytest.fixture
def table() -> pd.DataFrame:
    """Synthetic three-channel table in float days."""
    return pd.DataFrame(
        {
            "channel_id": ["c1", "c2", "c3"],
            "family_id": ["f1", "f1", None],
            "created_at": [0.0, 1.0, 2.0],
            "ended_at": [1.5, np.nan, 5.0],
            "end_reason": ["banned", None, "deleted"],
            "observation_end": [10.0, 10.0, 10.0],
        }
    )


def test_constants() -> None:
    assert CHANNEL_EVENT_COLUMNS[0] == "channel_id"
    assert set(OPTIONAL_CHANNEL_EVENT_COLUMNS) == {
        "observation_start",
        "predecessor_id",
        "detection_horizon",
    }
    assert END_REASONS == ("banned", "went_dark", "deleted", "unknown")


def test_valid_table_is_normalised(table: pd.DataFrame) -> None:
    out = validate_channel_events(table.assign(extra=1))
    assert list(out.columns[:6]) == list(CHANNEL_EVENT_COLUMNS)
    assert "extra" in out.columns
    assert isinstance(out["end_reason"].dtype, pd.CategoricalDtype)
    assert list(out["end_reason"].cat.categories) == list(END_REASONS)
    assert out["created_at"].dtype == np.float64
    assert out["channel_id"].dtype == "string"
    assert table["end_reason"].dtype != out["end_reason"].dtype  # copy, input untouched


def test_lifetimes_numeric(table: pd.DataFrame) -> None:
    d, e, entry = channel_lifetimes(table.assign(observation_start=[0.5, np.nan, 0.0]))
    np.testing.assert_allclose(d, [1.5, 9.0, 3.0])
    np.testing.assert_array_equal(e, [True, False, True])  # default: any ending counts
    np.testing.assert_allclose(entry, [0.5, 0.0, 0.0])
    _, e2, _ = channel_lifetimes(table, event_reasons=("banned",))
    np.testing.assert_array_equal(e2, [True, False, False])  # deleted = censored at its end
    _, e3, _ = channel_lifetimes(table, event_reasons="banned,deleted")
    np.testing.assert_array_equal(e3, [True, False, True])


def test_lifetimes_datetime_in_days(table: pd.DataFrame) -> None:
    t0 = pd.Timestamp("2019-11-21")
    dt = table.assign(
        created_at=t0 + pd.to_timedelta(table["created_at"], unit="D"),
        ended_at=t0 + pd.to_timedelta(table["ended_at"], unit="D"),
        observation_end=t0 + pd.Timedelta(days=10),
    )
    d, e, entry = channel_lifetimes(dt)
    np.testing.assert_allclose(d, [1.5, 9.0, 3.0])
    np.testing.assert_array_equal(entry, 0.0)


def test_tz_aware_converted_to_naive_utc(table: pd.DataFrame) -> None:
    t0 = pd.Timestamp("2019-11-21 12:00", tz="Europe/Amsterdam")
    dt = table.assign(
        created_at=t0,
        ended_at=pd.Series([t0, pd.NaT, t0]),
        observation_end=t0 + pd.Timedelta(days=1),
    )
    out = validate_channel_events(dt)
    assert out["created_at"].dt.tz is None
    assert out["created_at"].iloc[0] == pd.Timestamp("2019-11-21 11:00")


def _raises(df: pd.DataFrame, match: str, column: str | None, row: int | None = None) -> None:
    with pytest.raises(ChannelTableError, match=match) as info:
        validate_channel_events(df, source="synthetic.csv")
    assert info.value.file == "synthetic.csv"
    assert info.value.column == column
    if row is not None:
        assert info.value.row == row


def test_missing_column(table: pd.DataFrame) -> None:
    _raises(table.drop(columns="observation_end"), "missing column", "observation_end")


def test_not_a_dataframe() -> None:
    with pytest.raises(ChannelTableError, match="DataFrame"):
        validate_channel_events({"channel_id": ["x"]})  # type: ignore[arg-type]


def test_wrong_type_id(table: pd.DataFrame) -> None:
    _raises(table.assign(channel_id=[1, 2, 3]), "wrong type", "channel_id", 0)


def test_wrong_type_time(table: pd.DataFrame) -> None:
    _raises(table.assign(created_at=["a", "b", "c"]), "wrong type", "created_at", 0)


def test_mixed_time_types(table: pd.DataFrame) -> None:
    _raises(
        table.assign(observation_end=pd.Timestamp("2020-01-01")), "mixed time types", "created_at"
    )


def test_missing_required_value(table: pd.DataFrame) -> None:
    _raises(table.assign(channel_id=["c1", None, "c3"]), "missing value", "channel_id", 1)
    _raises(table.assign(created_at=[0.0, np.nan, 2.0]), "missing value", "created_at", 1)


def test_end_before_start(table: pd.DataFrame) -> None:
    _raises(table.assign(ended_at=[1.5, np.nan, 1.0]), "end before start", "ended_at", 2)


def test_ended_after_observation_end(table: pd.DataFrame) -> None:
    _raises(table.assign(ended_at=[11.0, np.nan, 5.0]), "after observation_end", "ended_at", 0)


def test_created_after_observation_end(table: pd.DataFrame) -> None:
    _raises(
        table.assign(created_at=[0.0, 12.0, 2.0], ended_at=[1.5, np.nan, 5.0]),
        "created_at after observation_end",
        "created_at",
        1,
    )


def test_ended_before_observation_start(table: pd.DataFrame) -> None:
    _raises(table.assign(observation_start=[2.0, 0.0, 0.0]), "observation_start", "ended_at", 0)


def test_duplicate_id(table: pd.DataFrame) -> None:
    _raises(table.assign(channel_id=["c1", "c3", "c3"]), "duplicate channel_id", "channel_id", 2)


def test_reason_without_end(table: pd.DataFrame) -> None:
    _raises(
        table.assign(end_reason=["banned", "banned", "deleted"]),
        "ended_at is null",
        "end_reason",
        1,
    )


def test_end_without_reason(table: pd.DataFrame) -> None:
    _raises(table.assign(end_reason=["banned", None, None]), "end_reason is null", "end_reason", 2)


def test_unknown_reason(table: pd.DataFrame) -> None:
    _raises(
        table.assign(end_reason=["suspended", None, "deleted"]),
        "unknown end_reason",
        "end_reason",
        0,
    )


def test_unknown_event_reason(table: pd.DataFrame) -> None:
    with pytest.raises(ChannelTableError, match="event_reasons"):
        channel_lifetimes(table, event_reasons=("suspended",))


def test_nullable_string_end_reason_is_accepted() -> None:
    # a table read with pandas' nullable "string" dtype holds pd.NA for censored channels
    import pandas as pd

    from analysis.channels import validate_channel_events

    table = pd.DataFrame(
        {
            "channel_id": pd.array(["c1", "c2"], dtype="string"),
            "family_id": pd.array(["f1", None], dtype="string"),
            "created_at": [0.0, 1.0],
            "ended_at": [2.0, None],
            "end_reason": pd.array(["banned", None], dtype="string"),
            "observation_end": [10.0, 10.0],
        }
    )
    out = validate_channel_events(table, source="synthetic")
    assert out["end_reason"].isna().tolist() == [False, True]


def test_competing_lifetimes_names_the_ending(table: pd.DataFrame) -> None:
    from analysis.channels import competing_lifetimes

    out = competing_lifetimes(table.assign(observation_start=[0.5, np.nan, 0.0]))
    assert list(out.columns) == [
        "channel_id",
        "family_id",
        "duration_days",
        "cause",
        "entry_days",
    ]
    assert list(out["cause"]) == ["banned", "censored", "deleted"]
    np.testing.assert_allclose(out["duration_days"], [1.5, 9.0, 3.0])
    np.testing.assert_allclose(out["entry_days"], [0.5, 0.0, 0.0])
    assert out.attrs["causes"] == ("banned", "deleted")
    # the one-cause view censors the deletion, and says how many it censored that way
    from analysis.channels import channel_lifetimes_table

    one = channel_lifetimes_table(table, event_reasons="banned")
    assert one.attrs["n_censored_other_reasons"] == 1


def test_competing_lifetimes_horizon_and_no_events() -> None:
    from analysis.channels import competing_lifetimes
    from analysis.errors import HorizonWarning, NoEventsError

    df = pd.DataFrame(
        {
            "channel_id": ["a", "b", "c"],
            "family_id": None,
            "created_at": [0.0, 10.0, 80.0],
            "ended_at": [30.0, 75.0, np.nan],
            "end_reason": ["went_dark", "banned", None],
            "observation_end": 100.0,
            "detection_horizon": 70.0,
        }
    )
    with pytest.warns(HorizonWarning):
        out = competing_lifetimes(df)
    # b's ban after the horizon cannot be seen: censored at the horizon; c excluded
    assert list(out["cause"]) == ["went_dark", "censored"]
    np.testing.assert_allclose(out["duration_days"], [30.0, 60.0])
    with pytest.raises(NoEventsError, match="competing_lifetimes"), pytest.warns(HorizonWarning):
        competing_lifetimes(df.assign(ended_at=np.nan, end_reason=None))


def test_competing_lifetimes_feed_aalen_johansen() -> None:
    """Synthetic table: ban share by day 30 from Aalen-Johansen vs closed form 0.475."""
    from analysis.channels import competing_lifetimes
    from analysis.models.competing import AalenJohansen

    rng = np.random.default_rng(30)
    n, lam = 6000, np.log(20.0) / 60.0
    t_ban, t_del = rng.exponential(1 / lam, n), rng.exponential(1 / lam, n)
    created = rng.uniform(0.0, 100.0, n)
    life = np.minimum(t_ban, t_del)
    ended = created + life
    obs_end = 250.0
    done = ended <= obs_end
    df = pd.DataFrame(
        {
            "channel_id": [f"s{i}" for i in range(n)],
            "family_id": None,
            "created_at": created,
            "ended_at": np.where(done, ended, np.nan),
            "end_reason": np.where(done, np.where(t_ban < t_del, "banned", "deleted"), None),
            "observation_end": obs_end,
        }
    )
    cr = competing_lifetimes(df)
    aj = AalenJohansen().fit(cr["duration_days"], cr["cause"], entry=cr["entry_days"])
    truth = 0.5 * (1 - np.exp(-2 * lam * 30.0))
    assert float(aj.incidence_at(30.0, "banned")) == pytest.approx(truth, abs=0.02)


def test_competing_lifetimes_with_a_repeated_index(table: pd.DataFrame) -> None:
    from analysis.channels import competing_lifetimes

    doubled = pd.concat([table, table.assign(channel_id=["d1", "d2", "d3"])])
    assert doubled.index.duplicated().any()
    out = competing_lifetimes(doubled)
    assert list(out["cause"]) == ["banned", "censored", "deleted"] * 2
    assert list(out.index) == list(doubled.index)
