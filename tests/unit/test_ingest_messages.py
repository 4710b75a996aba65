"""Message logs -> channel event table with DuckDB (analysis.ingest.messages).  SYNTHETIC data."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.channels import validate_channel_events
from analysis.errors import IngestError
from analysis.ingest.messages import ingest_message_log, message_log_to_channel_events

KEY = "test-key-synthetic"


def _hmac(value: str) -> str:
    return hmac.new(KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _log() -> pd.DataFrame:
    """SYNTHETIC log: syn-a posts on 1 and 5 January, syn-b from 2 January to 28 February."""
    stamps = [
        "2020-01-01T10:00",
        "2020-01-05T12:00",
        "2020-01-02T00:00",
        "2020-02-01T00:00",
        "2020-02-28T23:00",
    ]
    return pd.DataFrame(
        {
            "channel_id": ["syn-a", "syn-a", "syn-b", "syn-b", "syn-b"],
            "timestamp": pd.to_datetime(stamps),
            "forwarded_from": [None, "syn-x", None, "syn-x", "syn-y"],
        }
    )


@pytest.fixture
def log_parquet(tmp_path):
    path = tmp_path / "log_synthetic.parquet"
    _log().to_parquet(path)
    return path


def test_first_last_seen_and_went_dark(log_parquet) -> None:
    events = message_log_to_channel_events(
        log_parquet, inactivity_days=30, hash_ids=False, progress=False
    )
    by_id = events.set_index("channel_id")
    assert by_id.loc["syn-a", "created_at"] == pd.Timestamp("2020-01-01T10:00")
    assert by_id.loc["syn-a", "last_message_at"] == pd.Timestamp("2020-01-05T12:00")
    # observation end = last message of the log (2020-02-28T23:00); syn-a silent > 30 days
    assert by_id.loc["syn-a", "end_reason"] == "went_dark"
    assert by_id.loc["syn-a", "ended_at"] == pd.Timestamp("2020-01-05T12:00")
    assert pd.isna(by_id.loc["syn-b", "ended_at"])
    assert (events["observation_end"] == pd.Timestamp("2020-02-28T23:00")).all()
    assert by_id["n_messages"].to_dict() == {"syn-a": 2, "syn-b": 3}
    assert by_id["n_forwarded_messages"].to_dict() == {"syn-a": 1, "syn-b": 2}
    pd.testing.assert_frame_equal(validate_channel_events(events), events)


def test_threshold_is_strict_and_observation_end_filters(log_parquet) -> None:
    # syn-a's last message is exactly 10 days before this end: not "more than" 10 days
    events = message_log_to_channel_events(
        log_parquet,
        observation_end="2020-01-15T12:00",
        inactivity_days=10,
        hash_ids=False,
        progress=False,
    )
    by_id = events.set_index("channel_id")
    assert pd.isna(by_id.loc["syn-a", "end_reason"])
    # messages after the observation end are ignored
    assert by_id.loc["syn-b", "n_messages"] == 1
    assert by_id.loc["syn-b", "last_message_at"] == pd.Timestamp("2020-01-02")


def test_ids_hashed_by_default(log_parquet) -> None:
    events = message_log_to_channel_events(log_parquet, hash_key=KEY, progress=False)
    assert list(events["channel_id"]) == sorted([_hmac("syn-a"), _hmac("syn-b")])


def test_csv_strings_with_offsets_epoch_numbers_and_globs(tmp_path) -> None:
    (tmp_path / "part1.csv").write_text(
        "channel_id,timestamp\nsyn-a,2020-01-01T02:00:00+02:00\nsyn-a,2020-01-03 00:00:00\n"
    )
    (tmp_path / "part2.csv").write_text("channel_id,timestamp\nsyn-b,2020-01-02\n")
    events = message_log_to_channel_events(
        tmp_path / "part*.csv", hash_ids=False, inactivity_days=0.5, progress=False
    )
    by_id = events.set_index("channel_id")
    assert by_id.loc["syn-a", "created_at"] == pd.Timestamp("2020-01-01T00:00")
    assert by_id.loc["syn-b", "end_reason"] == "went_dark"  # 1 day before 2020-01-03
    epoch = tmp_path / "epoch.parquet"
    start = 1_577_836_800  # 2020-01-01T00:00:00Z, computed independently below
    assert pd.Timestamp("2020-01-01").timestamp() == start
    pd.DataFrame({"channel_id": [7, 7], "timestamp": [start, start + 86_400]}).to_parquet(epoch)
    events = message_log_to_channel_events(epoch, hash_ids=False, progress=False, epoch_unit="s")
    assert events["created_at"].iloc[0] == pd.Timestamp("2020-01-01")
    assert events["last_message_at"].iloc[0] == pd.Timestamp("2020-01-02")
    assert events["channel_id"].iloc[0] == "7"


def test_progress_bar_path(log_parquet, capsys) -> None:
    events = message_log_to_channel_events(log_parquet, hash_ids=False, progress=True)
    assert len(events) == 2
    assert "message log" in capsys.readouterr().err


def test_ingest_writes_atomically(log_parquet, tmp_path) -> None:
    out = tmp_path / "events.parquet"
    ingest_message_log(log_parquet, out, hash_key=KEY, progress=False)
    assert set(pd.read_parquet(out)["channel_id"]) == {_hmac("syn-a"), _hmac("syn-b")}
    assert b"syn-a" not in out.read_bytes()


# ----------------------------------------------------------------------------- bad input
def test_missing_column(tmp_path) -> None:
    path = tmp_path / "wrong_synthetic.parquet"
    pd.DataFrame({"chan": ["syn-a"], "timestamp": pd.to_datetime(["2020-01-01"])}).to_parquet(path)
    with pytest.raises(IngestError, match="missing column") as info:
        message_log_to_channel_events(path, hash_ids=False, progress=False)
    assert info.value.column == "channel_id" and str(path) in str(info.value)


def test_unparseable_timestamp_in_csv_names_row(tmp_path) -> None:
    path = tmp_path / "bad_synthetic.csv"
    path.write_text(
        "channel_id,timestamp\nsyn-a,2020-01-01\nsyn-a,2020-01-02\nsyn-b,2020-13-45\nsyn-b,2020-01-04\n"
    )
    out = tmp_path / "out.parquet"
    with pytest.raises(IngestError, match="unparseable timestamp") as info:
        ingest_message_log(path, out, hash_ids=False, progress=False)
    err = info.value
    assert (err.file, err.row, err.column, err.value) == (str(path), 3, "timestamp", "2020-13-45")
    assert not out.exists()


def test_unparseable_timestamp_in_parquet_names_file_and_row(tmp_path) -> None:
    good = tmp_path / "a_synthetic.parquet"
    bad = tmp_path / "b_synthetic.parquet"
    pd.DataFrame({"channel_id": ["syn-a"], "timestamp": ["2020-01-01"]}).to_parquet(good)
    pd.DataFrame(
        {"channel_id": ["syn-b"] * 3, "timestamp": ["2020-01-01", "2020-01-02", "31/31/2020"]}
    ).to_parquet(bad)
    with pytest.raises(IngestError) as info:
        message_log_to_channel_events(tmp_path, hash_ids=False, progress=False)
    assert (info.value.file, info.value.row, info.value.value) == (str(bad), 3, "31/31/2020")


def test_null_channel_id(tmp_path) -> None:
    path = tmp_path / "null_synthetic.parquet"
    table = pa.table(
        {
            "channel_id": pa.array(["syn-a", None], pa.string()),
            "timestamp": pa.array(pd.to_datetime(["2020-01-01", "2020-01-02"])),
        }
    )
    pq.write_table(table, path)
    with pytest.raises(IngestError, match="missing channel id") as info:
        message_log_to_channel_events(path, hash_ids=False, progress=False)
    assert (info.value.row, info.value.column) == (2, "channel_id")


def test_duplicate_messages(tmp_path) -> None:
    path = tmp_path / "dup_synthetic.parquet"
    frame = _log().assign(message_id=[1, 2, 1, 2, 2])  # syn-b's message 2 twice (rows 4, 5)
    frame.to_parquet(path)
    with pytest.raises(IngestError, match="duplicate row") as info:
        message_log_to_channel_events(path, hash_key=KEY, progress=False)
    assert (info.value.row, info.value.column) == (5, "message_id")
    assert _hmac("syn-b") in str(info.value) and "syn-b" not in str(info.value)
    events = message_log_to_channel_events(
        path, hash_ids=False, progress=False, check_duplicates=False
    )
    assert len(events) == 2


def test_corrupt_parquet(tmp_path) -> None:
    path = tmp_path / "corrupt_synthetic.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    out = tmp_path / "out.parquet"
    with pytest.raises(IngestError, match="corrupt") as info:
        ingest_message_log(path, out, hash_ids=False, progress=False)
    assert str(path) in str(info.value)
    assert not out.exists()


def test_no_input(tmp_path) -> None:
    with pytest.raises(IngestError, match="no input file"):
        message_log_to_channel_events(tmp_path / "missing.parquet", hash_ids=False)
