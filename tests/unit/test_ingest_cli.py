"""``takedowns ingest`` front end (analysis.ingest.cli).  SYNTHETIC inputs."""

from __future__ import annotations

import argparse
import json

import pandas as pd

from analysis.ingest.cli import add_ingest_arguments, run_ingest


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_ingest_arguments(parser)
    return run_ingest(parser.parse_args(argv))


def test_channels_and_messages(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SYN_KEY", "synthetic-test-key-0123")
    table = tmp_path / "channels_synthetic.csv"
    table.write_text(
        "channel_id,first_seen,last_seen,handle\nsyn-a,2020-01-01,2020-01-05,zubakomi\n"
    )
    out = tmp_path / "channels.parquet"
    code = _run(
        [
            "channels",
            str(table),
            "-o",
            str(out),
            "--hash-key-env",
            "SYN_KEY",
            "--observation-end",
            "2020-03-01",
            "--link-successors",
        ]
    )
    assert code == 0 and pd.read_parquet(out)["end_reason"].tolist() == ["went_dark"]
    log = tmp_path / "log_synthetic.parquet"
    pd.DataFrame({"channel_id": ["syn-a"], "timestamp": pd.to_datetime(["2020-01-01"])}).to_parquet(
        log
    )
    out2 = tmp_path / "messages.csv"
    code = _run(
        [
            "messages",
            str(log),
            "-o",
            str(out2),
            "--hash-key-env",
            "SYN_KEY",
            "--inactivity-days",
            "10",
            "--no-progress",
        ]
    )
    assert code == 0 and len(pd.read_csv(out2)) == 1
    assert "wrote 1 channels" in capsys.readouterr().err


def test_isiswatch_and_errors(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TAKEDOWNS_HASH_KEY", "synthetic-test-key-0123")
    export = {
        "messages": [
            {
                "id": 3,
                "type": "message",
                "date": "2017-01-02T08:00:00",
                "text": "40 terrorist bots and channels banned on January 1. Total this month: 40",
            }
        ]
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export))
    out = tmp_path / "series.csv"
    assert _run(["isiswatch", str(path), "-o", str(out)]) == 0
    assert pd.read_csv(out)["banned"].tolist() == [40]
    bad = tmp_path / "bad.csv"
    bad.write_text("channel_id,last_seen\nsyn-a,2020-01-01\n")
    assert _run(["channels", str(bad), "-o", str(tmp_path / "x.parquet")]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "first_seen" in err and "Traceback" not in err
    assert not (tmp_path / "x.parquet").exists()
