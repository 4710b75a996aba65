"""Standing bad-input suite for ``takedowns ingest`` (issue 10 pt 6).  SYNTHETIC inputs.

Cases in ``tests/badinput/ingest/cases.json`` (see its README) plus those needing a file
made at test time.  Each asserts: exit status, one ``error:`` line without traceback, the
located message pieces, nothing written, and no raw handle (``SYNTHHANDLE``) on stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
from pathlib import Path

import pytest

from analysis import cli
from analysis.errors import IngestResourceError, InputFormatError
from analysis.ingest.isiswatch import read_isiswatch_export
from analysis.ingest.messages import message_log_to_channel_events

CORPUS = Path(__file__).resolve().parents[1] / "badinput" / "ingest"
CASES = json.loads((CORPUS / "cases.json").read_text())
MARKER = "SYNTHHANDLE"
KEY = "synthetic-badinput-key-0123456789"


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = cli.main(["ingest", *argv])
    except SystemExit as exit_:  # argparse
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_case(case: dict, tmp_path: Path, capsys, monkeypatch) -> None:
    if case["class"] == "HashKeyError" and "SHORT_KEY" not in case["argv"]:
        monkeypatch.delenv("TAKEDOWNS_HASH_KEY", raising=False)
    else:
        monkeypatch.setenv("TAKEDOWNS_HASH_KEY", KEY)
    monkeypatch.setenv("SHORT_KEY", "short-key")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    source = CORPUS / "inputs" / case["input"]
    target = tmp_path / "in" / case["input"]
    target.parent.mkdir()
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy(source, target)
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / case["output"]
    argv = [a.replace("{input}", str(target)).replace("{out}", str(out)) for a in case["argv"]]
    code, err = _run(argv, capsys)
    assert code == case["exit"], err
    lines = [line for line in err.splitlines() if line.strip()]
    if case["class"] != "argparse":
        assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for piece in case["contains"]:
        assert piece.lower() in err.lower(), (piece, err)
    if case["located"]:
        assert target.name in err or any(p.name in err for p in target.glob("*")), err
    assert MARKER not in err
    assert "Original Line" not in err
    assert list(outdir.iterdir()) == []  # nothing written, no sidecar, no temporary file
    leftovers = [p for p in (tmp_path / "tmp").iterdir()]
    assert leftovers == []  # scratch folder removed


def _good_log(folder: Path) -> Path:
    path = folder / "log_synthetic.csv"
    path.write_text(f"channel_id,timestamp\n{MARKER}_a,2020-01-01\n{MARKER}_b,2020-01-02\n")
    return path


def test_fifo_and_folder_are_not_files(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TAKEDOWNS_HASH_KEY", KEY)
    fifo = tmp_path / "log.csv"
    os.mkfifo(fifo)
    code, err = _run(["messages", str(fifo), "-o", str(tmp_path / "o.parquet")], capsys)
    assert code == 1 and "not a regular file" in err and str(fifo) in err
    folder = tmp_path / "channels.csv"
    folder.mkdir()
    code, err = _run(["channels", str(folder), "-o", str(tmp_path / "o.parquet")], capsys)
    assert code == 1 and "not a regular file" in err
    assert not (tmp_path / "o.parquet").exists()


def test_oversize_csv_field_is_located(tmp_path: Path) -> None:
    path = tmp_path / "log_synthetic.csv"
    path.write_text(
        f"channel_id,timestamp\n{MARKER}_a,2020-01-01\n{MARKER}{'x' * 3_000_000},2020-01-02\n"
    )
    with pytest.raises(InputFormatError) as info:
        message_log_to_channel_events(path, hash_key=KEY, progress=False)
    text = str(info.value)
    assert "CSV line 3" in text and str(path) in text and MARKER not in text


def test_out_of_memory_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "log_synthetic.csv"
    rows = "".join(f"{MARKER}_{i:06d},2020-01-01T00:00:{i % 60:02d}\n" for i in range(200_000))
    path.write_text("channel_id,timestamp\n" + rows)
    with pytest.raises(IngestResourceError, match="--memory-limit") as info:
        message_log_to_channel_events(
            path, hash_key=KEY, progress=False, memory_limit="4MB", threads=1
        )
    assert MARKER not in str(info.value)


def test_isiswatch_export_too_large(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"messages": [{"id": i} for i in range(1000)]}))
    with pytest.raises(InputFormatError, match="above the limit"):
        read_isiswatch_export(path, max_bytes=1000)


def test_ctrl_c_cleans_up_in_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    """SIGINT arriving mid-run: exit 130, one line, nothing written, scratch removed."""
    monkeypatch.setenv("TAKEDOWNS_HASH_KEY", KEY)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    log = _good_log(tmp_path)
    out = tmp_path / "out" / "events.parquet"
    from analysis.ingest import messages

    original = messages._Scan.aggregate

    def slow_aggregate(self, *args, **kwargs):  # the signal lands during the scan
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        threading.Event().wait(0.5)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(messages._Scan, "aggregate", slow_aggregate)
    code, err = _run(["messages", str(log), "-o", str(out)], capsys)
    assert code == 130
    assert err.strip().count("\n") == 0 and "interrupted by SIGINT" in err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    assert list((tmp_path / "tmp").iterdir()) == []
