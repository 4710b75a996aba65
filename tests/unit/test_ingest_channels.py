"""Channel tables -> channel event table (analysis.ingest.channels).  All data SYNTHETIC."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from analysis.channels import validate_channel_events
from analysis.errors import IngestError
from analysis.ingest.channels import (
    UndocumentedColumnWarning,
    channel_table_to_events,
    ingest_channel_table,
    read_channel_table,
)

KEY = "test-key-synthetic"

# SYNTHETIC channel table: observation ends 2020-03-01, inactivity threshold 30 days.
CSV = """channel_id,first_seen,last_seen,end_reason,handle,title
syn-a,2020-01-01,2020-01-20,banned,synthkamulo,Synth Kamulo
syn-b,2020-01-02,2020-01-10,,synthpetiro,Synth Petiro
syn-c,2020-01-03,2020-02-20,,synthdovaku,Synth Dovaku
syn-d,2020-01-21T06:00:00+02:00,2020-02-10,deleted,synthkamulo2,Synth Kamulo
"""


def _hmac(value: str) -> str:
    return hmac.new(KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def table_csv(tmp_path):
    path = tmp_path / "channels_synthetic.csv"
    path.write_text(CSV)
    return path


def test_rules_end_reason_went_dark_and_censoring(table_csv) -> None:
    events = channel_table_to_events(
        read_channel_table(table_csv), observation_end="2020-03-01", inactivity_days=30
    )
    by_id = events.set_index("channel_id")
    # banned: ends at last_seen
    assert by_id.loc["syn-a", "ended_at"] == pd.Timestamp("2020-01-20")
    assert by_id.loc["syn-a", "end_reason"] == "banned"
    # silent since 2020-01-10, 51 days before 2020-03-01 > 30: went dark at last_seen
    assert by_id.loc["syn-b", "end_reason"] == "went_dark"
    assert by_id.loc["syn-b", "ended_at"] == pd.Timestamp("2020-01-10")
    # last seen 2020-02-20, 10 days before the end: still active, censored
    assert pd.isna(by_id.loc["syn-c", "ended_at"]) and pd.isna(by_id.loc["syn-c", "end_reason"])
    # offset +02:00 converted to UTC
    assert by_id.loc["syn-d", "created_at"] == pd.Timestamp("2020-01-21T04:00:00")
    # a bare date means the whole day: observation ends at its last microsecond
    assert (events["observation_end"] == pd.Timestamp("2020-03-01 23:59:59.999999")).all()
    validate_channel_events(events)  # the contract holds


def test_observation_end_with_a_time_of_day_is_taken_as_written(table_csv) -> None:
    events = channel_table_to_events(
        read_channel_table(table_csv), observation_end="2020-03-01T12:00:00", inactivity_days=30
    )
    assert (events["observation_end"] == pd.Timestamp("2020-03-01 12:00")).all()


def test_default_observation_end_is_latest_time(table_csv) -> None:
    events = channel_table_to_events(read_channel_table(table_csv), inactivity_days=5)
    assert (events["observation_end"] == pd.Timestamp("2020-02-20")).all()
    # syn-c last seen on the observation end: not dark
    assert pd.isna(events.set_index("channel_id").loc["syn-c", "end_reason"])


def test_output_is_hashed_and_raw_handles_never_written(table_csv, tmp_path) -> None:
    out = tmp_path / "out" / "events.parquet"
    ingest_channel_table(table_csv, out, observation_end="2020-03-01", hash_key=KEY)
    written = pd.read_parquet(out)
    assert sorted(written["channel_id"]) == sorted(
        _hmac(c) for c in ["syn-a", "syn-b", "syn-c", "syn-d"]
    )
    assert "handle" not in written.columns and "title" not in written.columns
    assert set(written["handle_hash"]) == {
        _hmac(h) for h in ["synthkamulo", "synthpetiro", "synthdovaku", "synthkamulo2"]
    }
    payload = out.read_bytes()
    for raw in (b"synthkamulo", b"Synth Kamulo", b"syn-a"):
        assert raw not in payload


def test_linking_before_hashing_keeps_links_consistent(table_csv) -> None:
    events = ingest_channel_table(
        table_csv, observation_end="2020-03-01", link=True, window_days=7, hash_key=KEY
    )
    by_id = events.set_index("channel_id")
    # syn-d (handle synthkamulo2, same title) created 1 day after syn-a was banned
    assert by_id.loc[_hmac("syn-d"), "predecessor_id"] == _hmac("syn-a")
    assert by_id.loc[_hmac("syn-d"), "family_id"] == _hmac("syn-a")
    assert pd.isna(by_id.loc[_hmac("syn-c"), "predecessor_id"])


def test_raw_identifiers_refused_under_processed(table_csv, tmp_path, monkeypatch) -> None:
    root = tmp_path / "repo"
    (root / "data" / "processed").mkdir(parents=True)
    monkeypatch.setenv("TAKEDOWNS_ROOT", str(root))
    target = root / "data" / "processed" / "events.parquet"
    with pytest.raises(IngestError, match="data/processed"):
        ingest_channel_table(table_csv, target, hash_ids=False)
    assert not target.exists()


def test_undocumented_columns_dropped_with_warning(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("channel_id,first_seen,last_seen,invite_text\nsyn-a,2020-01-01,2020-01-02,x\n")
    with pytest.warns(UndocumentedColumnWarning, match="invite_text"):
        table = read_channel_table(path)
    assert "invite_text" not in table.columns


# ----------------------------------------------------------------------------- bad input
def _write(tmp_path, text: str, name: str = "bad_synthetic.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_column_names_file_and_column(tmp_path) -> None:
    path = _write(tmp_path, "channel_id,last_seen\nsyn-a,2020-01-01\n")
    with pytest.raises(IngestError) as info:
        read_channel_table(path)
    assert info.value.column == "first_seen" and str(path) in str(info.value)


def test_unparseable_timestamp_names_row_and_column(tmp_path) -> None:
    path = _write(
        tmp_path,
        "channel_id,first_seen,last_seen\nsyn-a,2020-01-01,2020-01-02\nsyn-b,2020-01-01,2020-02-30\n",
    )
    with pytest.raises(IngestError) as info:
        ingest_channel_table(path, tmp_path / "o.parquet", hash_key=KEY)
    err = info.value
    assert (err.row, err.column, err.value) == (2, "last_seen", "2020-02-30")
    assert str(path) in str(err) and "line 3" in str(err)
    assert not (tmp_path / "o.parquet").exists()


def test_duplicate_rows_name_both_rows(tmp_path) -> None:
    path = _write(
        tmp_path,
        "channel_id,first_seen,last_seen\nsyn-a,2020-01-01,2020-01-02\n"
        "syn-b,2020-01-01,2020-01-02\nsyn-a,2020-01-01,2020-01-02\n",
    )
    with pytest.raises(IngestError, match="row 1") as info:
        ingest_channel_table(path, hash_key=KEY)
    assert (info.value.row, info.value.column) == (3, "channel_id")


def test_end_before_start_is_reported_with_one_based_row(tmp_path) -> None:
    path = _write(
        tmp_path,
        "channel_id,first_seen,last_seen,end_reason\nsyn-a,2020-01-05,2020-01-02,banned\n",
    )
    with pytest.raises(IngestError) as info:
        ingest_channel_table(path, hash_key=KEY)
    assert (info.value.row, info.value.column) == (1, "ended_at")


def test_corrupt_parquet_names_file_and_keeps_previous_output(tmp_path) -> None:
    bad = tmp_path / "corrupt_synthetic.parquet"
    bad.write_bytes(b"PAR1 this is not a parquet file")
    out = tmp_path / "events.parquet"
    out.write_bytes(b"previous output")
    with pytest.raises(IngestError, match="corrupt") as info:
        ingest_channel_table(bad, out, hash_key=KEY)
    assert str(bad) in str(info.value)
    assert out.read_bytes() == b"previous output"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "corrupt_synthetic.parquet",
        "events.parquet",
    ]


def test_parquet_with_timestamps_and_float_days(tmp_path) -> None:
    frame = pd.DataFrame(
        {"channel_id": ["syn-a", "syn-b"], "first_seen": [0.0, 1.0], "last_seen": [2.0, 9.5]}
    )
    path = tmp_path / "days_synthetic.parquet"
    frame.to_parquet(path)
    with pytest.raises(IngestError, match="--time-unit"):
        channel_table_to_events(read_channel_table(path), inactivity_days=3.0)
    events = channel_table_to_events(
        read_channel_table(path), inactivity_days=3.0, time_unit="days"
    )
    by_id = events.set_index("channel_id")
    assert by_id.loc["syn-a", "end_reason"] == "went_dark"  # 2.0 < 9.5 - 3
    assert by_id.loc["syn-a", "ended_at"] == 2.0
    assert pd.isna(by_id.loc["syn-b", "ended_at"])
