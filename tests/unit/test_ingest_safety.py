"""Keys, metadata, destinations, exact inputs, scratch folders, horizon and CLI report.

Issue 10 pts 1, 2, 5 and issue 9 pts 2, 5, 6 (producer side).  SYNTHETIC data only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis import cli
from analysis.channels import validate_channel_events
from analysis.errors import IngestError, UnsafeDestinationError
from analysis.ingest.channels import ingest_channel_table
from analysis.ingest.messages import (
    MessageLogColumns,
    ingest_message_log,
    message_log_to_channel_events,
    resolve_input_files,
)
from analysis.ingest.output import read_output_metadata, sidecar_path
from analysis.ingest.privacy import DEMO_HASH_KEY, DemoHashKeyWarning
from analysis.ingest.scratch import PREFIX, make_scratch, remove_scratch, sweep_stale

KEY = "synthetic-safety-key-0123456789"
MARKER = "SYNTHHANDLE"


def _fingerprint(key: str) -> str:
    return hmac.new(key.encode(), b"takedown-dynamics key fingerprint", hashlib.sha256).hexdigest()[
        :16
    ]


def _digest(value: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _log(folder: Path, name: str = "log_synthetic.csv") -> Path:
    path = folder / name
    path.write_text(
        "channel_id,timestamp,lang\n"
        f"{MARKER}_a,2020-01-01T10:00:00Z,xx\n{MARKER}_a,2020-01-05,yy\n"
        f"{MARKER}_b,2020-01-02,zz\n{MARKER}_b,2020-03-01,zz\n{MARKER}_c,2020-02-20,ww\n"
    )
    return path


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    code = cli.main(["ingest", *argv])
    return code, capsys.readouterr().err


# --------------------------------------------------------------------------- keys
def test_no_key_refused_even_with_warnings_ignored(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("TAKEDOWNS_HASH_KEY", raising=False)
    out = tmp_path / "o.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, err = _cli(["messages", str(_log(tmp_path)), "-o", str(out)], capsys)
    assert code == 1 and "secrets.token_hex(32)" in err and "TAKEDOWNS_HASH_KEY" in err
    assert not out.exists()


def test_cli_without_key_exits_1_in_a_fresh_process(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TAKEDOWNS_HASH_KEY"}
    env["PYTHONWARNINGS"] = "ignore"
    out = tmp_path / "o.parquet"
    cmd = [sys.executable, "-m", "analysis.cli", "ingest", "messages", str(_log(tmp_path))]
    proc = subprocess.run([*cmd, "-o", str(out)], env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and "export TAKEDOWNS_HASH_KEY" in proc.stderr
    assert not out.exists()


def test_fingerprint_and_demo_flag_in_parquet_and_csv_metadata(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAKEDOWNS_HASH_KEY", KEY)
    log = _log(tmp_path)
    out = tmp_path / "o.parquet"
    assert _cli(["messages", str(log), "-o", str(out), "--no-progress"], capsys)[0] == 0
    raw = pq.read_schema(out).metadata
    assert raw[b"hash_key_fingerprint"].decode() == _fingerprint(KEY)
    assert raw[b"hash_key_is_demo"] == b"false"
    assert read_output_metadata(out)["detection_horizon"].startswith("2020-01-31")
    csv = tmp_path / "o.csv"
    monkeypatch.delenv("TAKEDOWNS_HASH_KEY")
    with pytest.warns(DemoHashKeyWarning):
        code, err = _cli(["messages", str(log), "-o", str(csv), "--demo-key"], capsys)
    assert code == 0 and "NOT private" in err
    meta = json.loads(sidecar_path(csv).read_text())
    assert meta["hash_key_is_demo"] == "true"
    assert meta["hash_key_fingerprint"] == _fingerprint(DEMO_HASH_KEY)
    assert set(pd.read_csv(csv)["channel_id"]) == {
        _digest(f"{MARKER}_{c}", DEMO_HASH_KEY) for c in "abc"
    }


def test_channel_table_metadata_and_hashing(tmp_path) -> None:
    table = tmp_path / "channels_synthetic.csv"
    table.write_text(f"channel_id,first_seen,last_seen\n{MARKER}_a,2020-01-01,2020-01-05\n")
    out = tmp_path / "events.csv"
    ingest_channel_table(table, out, hash_key=KEY)
    assert MARKER not in out.read_text()
    meta = read_output_metadata(out)
    assert meta["hash_key_fingerprint"] == _fingerprint(KEY)
    assert meta["hash_key_is_demo"] == "false"


# --------------------------------------------------------------------------- destinations
@pytest.fixture
def fake_repo(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "repo"
    (root / "data" / "processed").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    monkeypatch.setenv("TAKEDOWNS_ROOT", str(root))
    return root


def test_raw_identifiers_refused_anywhere_in_the_repository(tmp_path, fake_repo) -> None:
    log = _log(tmp_path)
    for inside in (fake_repo / "notes" / "raw.parquet", fake_repo / "raw.csv"):
        with pytest.raises(UnsafeDestinationError, match="inside the repository"):
            ingest_message_log(log, inside, hash_ids=False, progress=False)
        assert not inside.exists()
    outside = tmp_path / "elsewhere" / "raw.parquet"
    ingest_message_log(log, outside, hash_ids=False, progress=False)
    assert read_output_metadata(outside)["hashed"] == "false"


def test_data_processed_refused_even_hashed(tmp_path, fake_repo) -> None:
    target = fake_repo / "data" / "processed" / "events.parquet"
    with pytest.raises(UnsafeDestinationError, match="data/processed"):
        ingest_message_log(_log(tmp_path), target, hash_key=KEY, progress=False)
    table = tmp_path / "channels_synthetic.csv"
    table.write_text("channel_id,first_seen,last_seen\nsyn-a,2020-01-01,2020-01-05\n")
    with pytest.raises(UnsafeDestinationError):
        ingest_channel_table(table, target, hash_key=KEY)
    assert list((fake_repo / "data" / "processed").iterdir()) == []


def test_output_suffix_checked_before_the_scan(tmp_path) -> None:
    missing = tmp_path / "nothing_here.parquet"
    with pytest.raises(UnsafeDestinationError, match="must end in"):
        ingest_message_log(missing, tmp_path / "o.xlsx", hash_key=KEY)


# --------------------------------------------------------------------------- exact inputs
def test_literal_paths_before_globs(tmp_path) -> None:
    bracket = tmp_path / "log[1].csv"
    bracket.write_text("channel_id,timestamp\nsyn-bracket,2020-01-01\n")
    (tmp_path / "log1.csv").write_text("channel_id,timestamp\nsyn-plain,2020-01-01\n")
    star = tmp_path / "log*.csv"
    star.write_text("channel_id,timestamp\nsyn-star,2020-01-01\n")
    assert resolve_input_files(bracket) == [str(bracket)]
    events = message_log_to_channel_events(bracket, hash_ids=False, progress=False)
    assert list(events["channel_id"]) == ["syn-bracket"]
    events = message_log_to_channel_events(star, hash_ids=False, progress=False)
    assert list(events["channel_id"]) == ["syn-star"]
    # a folder whose name holds glob characters, holding a file named like a glob
    folder = tmp_path / "logs[2020]"
    folder.mkdir()
    (folder / "part[1].csv").write_text("channel_id,timestamp\nsyn-f,2020-01-01\n")
    (folder / "part1.csv").write_text("channel_id,timestamp\nsyn-g,2020-01-01\n")
    events = message_log_to_channel_events(folder, hash_ids=False, progress=False)
    assert sorted(events["channel_id"]) == ["syn-f", "syn-g"]
    assert list(events["n_messages"]) == [1, 1]  # each file read exactly once
    # a glob that names no existing file is still a glob
    events = message_log_to_channel_events(tmp_path / "log1*.csv", hash_ids=False)
    assert list(events["channel_id"]) == ["syn-plain"]


def test_column_mapping_and_kept_covariates(tmp_path) -> None:
    path = tmp_path / "log_synthetic.csv"
    path.write_text(
        "account,posted,fwd,lang\nsyn-a,2020-01-02,,en\nsyn-a,2020-01-01,syn-x,fr\n"
        "syn-b,2020-01-03,,de\n"
    )
    names = MessageLogColumns(channel_id="account", timestamp="posted", forwarded_from="fwd")
    events = message_log_to_channel_events(
        path, columns=names, hash_key=KEY, keep_columns=["lang"], progress=False
    ).set_index("channel_id")
    assert events.loc[_digest("syn-a"), "lang"] == "fr"  # value at the first message
    assert events.loc[_digest("syn-a"), "n_forwarded_messages"] == 1
    with pytest.raises(IngestError, match="covariate"):
        message_log_to_channel_events(path, columns=names, hash_key=KEY, keep_columns=["account"])
    table = tmp_path / "channels_synthetic.csv"
    table.write_text("acct,start,stop,region,handle\nsyn-a,2020-01-01,2020-01-05,north,zubak\n")
    out = ingest_channel_table(
        table,
        hash_key=KEY,
        column_map={"channel_id": "acct", "first_seen": "start", "last_seen": "stop"},
        keep_columns=["region"],
        observation_end="2020-03-01",
    )
    assert out["region"].tolist() == ["north"] and out["channel_id"].tolist() == [_digest("syn-a")]
    with pytest.raises(IngestError, match="covariate"):
        ingest_channel_table(
            table,
            hash_key=KEY,
            column_map={"channel_id": "acct", "first_seen": "start", "last_seen": "stop"},
            keep_columns=["handle"],
        )


def test_cli_help_lists_required_columns_and_options(capsys) -> None:
    for kind, needed in (
        ("messages", ["channel_id, timestamp", "--channel-column", "--epoch-unit", "--keep"]),
        ("channels", ["channel_id, first_seen", "--first-seen-column", "--time-unit"]),
    ):
        with pytest.raises(SystemExit):
            cli.main(["ingest", kind, "--help"])
        text = capsys.readouterr().out
        for piece in needed:
            assert piece in text, (kind, piece)
        assert "detection_horizon" in text


# --------------------------------------------------------------------------- scratch
def test_scratch_private_and_stale_folders_swept(tmp_path) -> None:
    parent = tmp_path / "user_tmp"
    made = make_scratch(parent)
    try:
        assert (parent.stat().st_mode & 0o777) == 0o700
        assert (made.stat().st_mode & 0o777) == 0o700
        assert made.name.startswith(f"{PREFIX}{os.getpid()}-")
    finally:
        remove_scratch(made)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = parent / f"{PREFIX}{int(dead.stdout)}-abc"
    (stale / "spill").mkdir(parents=True)
    (stale / "spill" / "block.tmp").write_bytes(b"digests")
    alive = parent / f"{PREFIX}{os.getppid()}-def"
    alive.mkdir()
    other = parent / "someone-elses-folder"
    other.mkdir()
    assert sweep_stale(parent) == [stale]
    assert not stale.exists() and alive.exists() and other.exists()


# --------------------------------------------------------------------------- horizon
def test_message_log_writes_detection_horizon_on_every_row(tmp_path) -> None:
    events = message_log_to_channel_events(
        _log(tmp_path), hash_key=KEY, inactivity_days=14, observation_end="2020-03-10T00:00"
    ).set_index("channel_id")
    horizon = pd.Timestamp("2020-03-10") - pd.Timedelta(days=14)
    assert (events["detection_horizon"] == horizon).all()
    # syn-c: a single message (created == last) before the horizon: a zero-length lifetime,
    # kept as it is (the models' documented zero-length rule handles it)
    one = events.loc[_digest(f"{MARKER}_c")]
    assert one["created_at"] == one["last_message_at"] == pd.Timestamp("2020-02-20")
    assert one["ended_at"] == one["created_at"] and one["end_reason"] == "went_dark"
    assert pd.isna(events.loc[_digest(f"{MARKER}_b"), "ended_at"])  # last seen after it
    assert events.loc[_digest(f"{MARKER}_a"), "end_reason"] == "went_dark"
    validate_channel_events(events.reset_index())


def test_channel_table_horizon_on_every_row_including_explicit_reasons(tmp_path) -> None:
    table = tmp_path / "channels_synthetic.csv"
    table.write_text(
        "channel_id,first_seen,last_seen,end_reason\n"
        "syn-a,2020-01-01,2020-01-05,banned\nsyn-b,2020-01-02,2020-01-03,\n"
        "syn-c,2020-02-20,2020-02-20,\n"
    )
    events = ingest_channel_table(table, hash_ids=False, observation_end="2020-03-01T00:00")
    assert (events["detection_horizon"] == pd.Timestamp("2020-01-31")).all()
    assert list(events["end_reason"].astype("string")) == ["banned", "went_dark", pd.NA]
    events = ingest_channel_table(table, hash_ids=False, inactivity_days=None)
    assert "detection_horizon" not in events.columns


def test_cli_reports_counts_observation_end_and_horizon(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TAKEDOWNS_HASH_KEY", KEY)
    code, err = _cli(
        [
            "messages",
            str(_log(tmp_path)),
            "-o",
            str(tmp_path / "o.parquet"),
            "--inactivity-days",
            "14",
            "--observation-end",
            "2020-03-10T00:00",
        ],
        capsys,
    )
    assert code == 0
    assert "wrote 3 channels" in err and "2 went dark, 0 banned" in err
    assert "1 still active" in err
    assert "observation end used: 2020-03-10 00:00:00" in err
    assert "detection horizon: 2020-02-25 00:00:00" in err
    table = tmp_path / "channels_synthetic.csv"
    table.write_text(
        "channel_id,first_seen,last_seen,end_reason,handle\n"
        "syn-a,2020-01-01,2020-01-05,banned,zubakomi\n"
        "syn-b,2020-01-06,2020-02-20,,zubakomi2\n"
    )
    code, err = _cli(
        [
            "channels",
            str(table),
            "-o",
            str(tmp_path / "c.parquet"),
            "--link-successors",
            "--window-days",
            "7",
            "--observation-end",
            "2020-03-01",
        ],
        capsys,
    )
    assert code == 0 and "1 banned" in err and "linked 1 channels" in err
    assert "window 7" in err
    assert MARKER not in err
