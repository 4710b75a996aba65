"""Every timestamp flavour researchers have, read exactly (issue 9 pt 6, issue 10 pt 4).

SYNTHETIC channels only.  Expected instants are computed with :mod:`datetime` (independent of
the DuckDB and pandas code under test).
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.errors import FutureTimeError, IngestError, TimeValueError
from analysis.ingest import _times
from analysis.ingest.channels import ingest_channel_table
from analysis.ingest.messages import message_log_to_channel_events

KEY = "synthetic-times-key-0123456789"
INSTANT = datetime(2020, 3, 4, 5, 6, 7, tzinfo=UTC)  # the true time of every first message
LATER = INSTANT + timedelta(days=2, hours=3)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _naive(moment: datetime) -> pd.Timestamp:
    return pd.Timestamp(moment.astimezone(UTC).replace(tzinfo=None))


def _epoch(moment: datetime, unit: str) -> int:
    return int((moment - EPOCH).total_seconds()) * UNIT_PER_SECOND[unit]


def _ingest(path, **options) -> pd.DataFrame:
    return message_log_to_channel_events(path, hash_ids=False, progress=False, **options).set_index(
        "channel_id"
    )


# --------------------------------------------------------------------------- message logs
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("zone", [None, "UTC", "Europe/Berlin", "America/New_York"])
def test_parquet_timestamps_every_unit_naive_and_aware(tmp_path, unit, zone) -> None:
    values = [_epoch(INSTANT, unit), _epoch(LATER, unit)]
    table = pa.table(
        {
            "channel_id": pa.array(["syn-a", "syn-a"]),
            "timestamp": pa.array(values, type=pa.timestamp(unit, tz=zone)),
        }
    )
    path = tmp_path / "log_synthetic.parquet"
    pq.write_table(table, path)
    events = _ingest(path)
    assert events.loc["syn-a", "created_at"] == _naive(INSTANT)
    assert events.loc["syn-a", "last_message_at"] == _naive(LATER)


def test_pandas_default_tz_aware_nanosecond_parquet(tmp_path) -> None:
    stamps = pd.Series(pd.to_datetime([INSTANT, LATER], utc=True)).astype("datetime64[ns, UTC]")
    frame = pd.DataFrame({"channel_id": ["syn-a", "syn-a"], "timestamp": stamps})
    path = tmp_path / "log_synthetic.parquet"
    frame.to_parquet(path)
    assert pq.read_schema(path).field("timestamp").type == pa.timestamp("ns", tz="UTC")
    events = _ingest(path)
    assert events.loc["syn-a", "created_at"] == _naive(INSTANT)


@pytest.mark.parametrize(
    "text",
    [
        "2020-03-04T06:06:07+01:00",
        "2020-03-04 05:06:07Z",
        "2020-03-04T00:06:07-05:00",
        "2020-03-04T05:06:07",
        "2020-03-04T10:36:07+05:30",
    ],
)
def test_iso_strings_with_offsets(tmp_path, text) -> None:
    path = tmp_path / "log_synthetic.csv"
    path.write_text(f"channel_id,timestamp\nsyn-a,{text}\nsyn-a,2020-03-06T08:06:07Z\n")
    assert _ingest(path).loc["syn-a", "created_at"] == _naive(INSTANT)


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_epoch_numbers_with_explicit_unit_csv_and_parquet(tmp_path, unit) -> None:
    first, last = _epoch(INSTANT, unit), _epoch(LATER, unit)
    csv = tmp_path / "log_synthetic.csv"
    csv.write_text(f"channel_id,timestamp\nsyn-a,{first}\nsyn-a,{last}\n")
    parquet = tmp_path / "log_synthetic.parquet"
    pd.DataFrame({"channel_id": ["syn-a", "syn-a"], "timestamp": [first, last]}).to_parquet(parquet)
    for path in (csv, parquet):
        events = _ingest(path, epoch_unit=unit)
        assert events.loc["syn-a", "created_at"] == _naive(INSTANT)
        assert events.loc["syn-a", "last_message_at"] == _naive(LATER)


def test_numbers_without_unit_refused_with_hint(tmp_path) -> None:
    path = tmp_path / "log_synthetic.parquet"
    pd.DataFrame({"channel_id": ["syn-a"], "timestamp": [_epoch(INSTANT, "s")]}).to_parquet(path)
    with pytest.raises(TimeValueError, match="--epoch-unit") as info:
        _ingest(path)
    assert info.value.column == "timestamp"
    csv = tmp_path / "log_synthetic.csv"
    csv.write_text(f"channel_id,timestamp\nsyn-a,2020-03-04\nsyn-a,{_epoch(INSTANT, 'ms')}\n")
    with pytest.raises(TimeValueError, match="epoch ms") as info:
        _ingest(csv)
    assert (info.value.file, info.value.row) == (str(csv), 2)


def test_milliseconds_read_as_seconds_caught_with_hint(tmp_path) -> None:
    path = tmp_path / "log_synthetic.csv"
    ms = _epoch(INSTANT, "ms")
    path.write_text(f"channel_id,timestamp\nsyn-a,{_epoch(INSTANT, 's')}\nsyn-b,{ms}\n")
    with pytest.raises(FutureTimeError, match="--epoch-unit ms") as info:
        _ingest(path, epoch_unit="s")
    assert (info.value.row, info.value.column, info.value.value) == (2, "timestamp", str(ms))


def test_seconds_read_as_milliseconds_caught_with_hint(tmp_path) -> None:
    path = tmp_path / "log_synthetic.parquet"
    pd.DataFrame({"channel_id": ["syn-a"], "timestamp": [_epoch(INSTANT, "s")]}).to_parquet(path)
    with pytest.raises(TimeValueError, match="--epoch-unit s") as info:
        _ingest(path, epoch_unit="ms")
    assert (info.value.file, info.value.row) == (str(path), 1)


def test_nanoseconds_read_as_seconds_out_of_range(tmp_path) -> None:
    path = tmp_path / "log_synthetic.csv"
    path.write_text(f"channel_id,timestamp\nsyn-a,{_epoch(INSTANT, 'ns')}\n")
    with pytest.raises(TimeValueError, match="--epoch-unit ns"):
        _ingest(path, epoch_unit="s")


def test_time_format_day_first(tmp_path) -> None:
    path = tmp_path / "log_synthetic.csv"
    path.write_text("channel_id,timestamp\nsyn-a,1/6/2015 21:07\nsyn-a,13/6/2015 09:30\n")
    events = _ingest(path, time_format="%d/%m/%Y %H:%M")
    assert events.loc["syn-a", "created_at"] == pd.Timestamp("2015-06-01 21:07")
    assert events.loc["syn-a", "last_message_at"] == pd.Timestamp("2015-06-13 09:30")
    with pytest.raises(TimeValueError, match="format") as info:
        _ingest(path, time_format="%m/%d/%Y %H:%M")  # month 13 does not exist
    assert info.value.row == 2


def test_future_times_refused_unless_allowed(tmp_path, capsys) -> None:
    path = tmp_path / "log_synthetic.csv"
    path.write_text(
        "channel_id,timestamp\nsyn-a,2020-03-04\nsyn-b,2020-03-05\nsyn-b,2099-01-01T00:00:00Z\n"
    )
    with pytest.raises(FutureTimeError, match="--allow-future") as info:
        _ingest(path)
    assert (info.value.row, info.value.value) == (3, "2099-01-01T00:00:00Z")
    events = _ingest(path, allow_future=True)
    assert events.attrs["takedowns_ingest"]["observation_end"].startswith("2099-01-01")


# --------------------------------------------------------------------------- channel tables
def test_channel_table_timestamptz_ns_parquet(tmp_path) -> None:
    first = pd.Series(pd.to_datetime([INSTANT], utc=True)).astype("datetime64[ns, UTC]")
    last = pd.Series(pd.to_datetime([LATER], utc=True)).astype("datetime64[ns, UTC]")
    frame = pd.DataFrame(
        {
            "channel_id": ["syn-a"],
            "first_seen": first.dt.tz_convert("Asia/Tokyo"),
            "last_seen": last,
        }
    )
    path = tmp_path / "channels_synthetic.parquet"
    frame.to_parquet(path)
    assert pq.read_schema(path).field("last_seen").type == pa.timestamp("ns", tz="UTC")
    events = ingest_channel_table(path, hash_ids=False)
    assert events["created_at"].iloc[0] == _naive(INSTANT)
    assert events["last_seen"].iloc[0] == _naive(LATER)


def test_channel_table_csv_under_pandas3_and_own_output_read_back(tmp_path) -> None:
    table = tmp_path / "channels_synthetic.csv"
    table.write_text(
        "channel_id,first_seen,last_seen,end_reason\n"
        "syn-a,2020-01-01T00:00:00Z,2020-01-05,banned\n"
        "syn-b,2020-01-02,2020-03-01,\n"
    )
    assert pd.read_csv(table, dtype=str)["channel_id"].dtype == "str"  # pandas 3 text
    out = tmp_path / "events.csv"
    first = ingest_channel_table(table, out, hash_key=KEY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dropped columns of our own output (last_seen ...)
        again = ingest_channel_table(out, hash_key=KEY, inactivity_days=None)
    assert list(again["created_at"]) == list(first["created_at"])
    assert list(again["end_reason"].astype("string")) == ["banned", pd.NA]
    log_out = tmp_path / "from_log.csv"
    log = tmp_path / "log_synthetic.csv"
    log.write_text("channel_id,timestamp\nsyn-a,2020-01-01\nsyn-a,2020-01-02\nsyn-b,2020-02-01\n")
    from analysis.ingest.messages import ingest_message_log

    ingest_message_log(log, log_out, hash_key=KEY, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = ingest_channel_table(log_out, hash_key=KEY, inactivity_days=None)
    assert len(back) == 2


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_channel_table_epoch_units(tmp_path, unit) -> None:
    table = tmp_path / "channels_synthetic.csv"
    table.write_text(
        f"channel_id,first_seen,last_seen\nsyn-a,{_epoch(INSTANT, unit)},{_epoch(LATER, unit)}\n"
    )
    with pytest.raises(TimeValueError, match="--time-unit") as info:
        ingest_channel_table(table, hash_ids=False)
    assert (info.value.row, info.value.column) == (1, "first_seen")
    events = ingest_channel_table(table, hash_ids=False, time_unit=unit)
    assert events["created_at"].iloc[0] == _naive(INSTANT)


def test_channel_table_units_mixed_up_and_days(tmp_path) -> None:
    table = tmp_path / "channels_synthetic.csv"
    table.write_text(
        f"channel_id,first_seen,last_seen\nsyn-a,{_epoch(INSTANT, 's')},{_epoch(LATER, 's')}\n"
    )
    with pytest.raises(TimeValueError, match="--time-unit s"):
        ingest_channel_table(table, hash_ids=False, time_unit="ms")
    millis = tmp_path / "ms_synthetic.csv"
    millis.write_text(
        f"channel_id,first_seen,last_seen\nsyn-a,{_epoch(INSTANT, 'ms')},{_epoch(LATER, 'ms')}\n"
    )
    with pytest.raises(TimeValueError, match="--time-unit ms") as info:
        ingest_channel_table(millis, hash_ids=False, time_unit="s")
    assert (info.value.row, info.value.column) == (1, "first_seen")
    days = tmp_path / "days_synthetic.csv"
    days.write_text("channel_id,first_seen,last_seen\nsyn-a,0.5,3.25\nsyn-b,1,40\n")
    events = ingest_channel_table(days, hash_ids=False, time_unit="days", inactivity_days=30)
    assert events.set_index("channel_id").loc["syn-a", "ended_at"] == 3.25
    assert list(events["detection_horizon"]) == [10.0, 10.0]


def test_channel_table_time_format_and_future(tmp_path) -> None:
    table = tmp_path / "channels_synthetic.csv"
    table.write_text("channel_id,first_seen,last_seen\nsyn-a,1/6/2015 21:07,3/6/2015 08:00\n")
    events = ingest_channel_table(table, hash_ids=False, time_format="%d/%m/%Y %H:%M")
    assert events["created_at"].iloc[0] == pd.Timestamp("2015-06-01 21:07")
    future = tmp_path / "future_synthetic.csv"
    future.write_text(
        "channel_id,first_seen,last_seen\nsyn-a,2020-01-01,2020-01-02\n"
        "syn-b,2020-01-01,2099-01-01\n"
    )
    with pytest.raises(FutureTimeError) as info:
        ingest_channel_table(future, hash_ids=False)
    assert (info.value.row, info.value.column) == (2, "last_seen")
    assert len(ingest_channel_table(future, hash_ids=False, allow_future=True)) == 2


# --------------------------------------------------------------------------- fuzzing
_moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
_offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: timedelta(minutes=15 * q))


def _iso(moment: datetime, offset: timedelta, sep: str) -> str:
    local = moment.replace(tzinfo=UTC).astimezone(timezone(offset))
    text = local.replace(tzinfo=None).isoformat(sep=sep)
    if offset == timedelta(0):
        return text + "Z"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _duck(values: list[str], **options) -> list[object]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = _times.varchar_time_sql("v", **options)
    params: dict[str, object] = {"values": values}
    if options.get("time_format"):
        params["time_format"] = options["time_format"]
    rows = con.execute(
        f"SELECT {sql} FROM (SELECT unnest($values) AS v, generate_subscripts($values, 1) AS i)"
        " ORDER BY i",
        params,
    ).fetchall()
    return [r[0] for r in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_moments, _offsets, st.sampled_from(["T", " "])), min_size=1, max_size=8))
def test_fuzz_iso_offsets_duckdb_and_pandas_agree_with_datetime(items) -> None:
    texts = [_iso(m, o, sep) for m, o, sep in items]
    truth = [pd.Timestamp(m) for m, _, _ in items]  # the UTC instant, naive
    got = _duck(texts, epoch_unit=None, time_format=None)
    assert [pd.Timestamp(g) for g in got] == truth
    parsed = _times.parse_time_column(pd.Series(texts, dtype="str"), "t", None)
    assert list(parsed) == truth


@settings(max_examples=40, deadline=None)
@given(st.lists(_moments, min_size=1, max_size=8), st.sampled_from(["s", "ms", "us", "ns"]))
def test_fuzz_epoch_units(moments, unit) -> None:
    numbers = [_epoch(m.replace(tzinfo=UTC), unit) for m in moments]
    truth = [pd.Timestamp(m) for m in moments]
    got = _duck([str(n) for n in numbers], epoch_unit=unit, time_format=None)
    assert [pd.Timestamp(g) for g in got] == truth
    parsed = _times.parse_time_column(pd.Series(numbers), "t", None, time_unit=unit)
    assert list(parsed) == truth


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=5))
def test_fuzz_arbitrary_text_parses_or_fails_located(texts) -> None:
    marked = [f"SYNTHHANDLE{t}" if i == 0 else t for i, t in enumerate(texts)]
    try:
        out = _times.parse_time_column(pd.Series(marked, dtype="str"), "t", "f.csv", key=b"k" * 16)
    except TimeValueError as error:
        assert error.row is not None and error.column == "t"
        assert "SYNTHHANDLE" not in str(error)
    else:  # pragma: no cover - "SYNTHHANDLE..." is never a time
        assert out.isna().all()
    got = _duck(marked, epoch_unit="s", time_format=None)
    assert got[0] is None


def test_observation_end_bare_date_means_whole_day() -> None:
    end = _times.observation_end_timestamp("2024-12-31")
    assert end == pd.Timestamp("2025-01-01") - pd.Timedelta(microseconds=1)
    with pytest.raises(IngestError):
        _times.observation_end_timestamp("end of 2024")


def test_plausible_units_independent_check() -> None:
    seconds = _epoch(INSTANT, "s")
    assert _times.plausible_units(seconds) == ["s"]
    assert _times.plausible_units(seconds * 1000) == ["ms"]
    assert _times.plausible_units(seconds * 10**9) == ["ns"]
    assert np.isfinite(seconds)
