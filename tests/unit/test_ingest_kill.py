"""Killing ``takedowns ingest messages`` mid-scan leaves no raw handle on disk.  SYNTHETIC.

A SYNTHETIC message log whose channel ids all contain the marker ``SYNTHHANDLE`` (400,000
channels, so the scan runs for seconds) is ingested under a memory limit.  While it runs, the
temporary area is watched: no regular file may appear in it (DuckDB's spill files are
disabled because spilled blocks were found to carry stale raw ids, see
:mod:`analysis.ingest.messages`; the scratch folder holds only links to the inputs).  Then
the process gets SIGTERM or SIGINT (clean-up, exit 128 + signal, one line, nothing left) or
SIGKILL (no clean-up possible: the stale scratch folder, links only, must be swept by the
next run).  Every file under the temporary area and the output folder is grepped for the
marker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.ingest.scratch import PREFIX, make_scratch, remove_scratch

MARKER = b"SYNTHHANDLE"
N_ROWS = 800_000
N_CHANNELS = 400_000


@pytest.fixture(scope="module")
def synthetic_log(tmp_path_factory) -> Path:
    """SYNTHETIC log: 800,000 messages of 400,000 channels named SYNTHHANDLE_<n>_..."""
    folder = tmp_path_factory.mktemp("input")
    rng = np.random.default_rng(7)
    channel = rng.integers(0, N_CHANNELS, N_ROWS)
    names = pa.array([f"SYNTHHANDLE_{i:07d}_synthetic" for i in range(N_CHANNELS)])
    stamps = (1_577_836_800 + rng.integers(0, 300 * 86_400, N_ROWS)) * 1_000_000
    table = pa.table(
        {
            "channel_id": names.take(pa.array(channel)),
            "timestamp": pa.array(stamps.astype("datetime64[us]")),
        }
    )
    path = folder / "log_synthetic.parquet"
    pq.write_table(table, path, row_group_size=50_000)
    return path


def _files_with_marker(*folders: Path) -> list[Path]:
    hits = []
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in files:
                path = Path(root) / name
                if path.is_symlink():  # the scratch folder's alias of the input log
                    continue
                try:
                    if MARKER in path.read_bytes():
                        hits.append(path)
                except OSError:  # removed while we looked
                    pass
    return hits


def _start(log: Path, temp: Path, out: Path, memory: str = "512MB") -> subprocess.Popen:
    env = {**os.environ, "TAKEDOWNS_HASH_KEY": "synthetic-kill-test-key-0123"}
    cmd = [
        sys.executable,
        "-m",
        "analysis.cli",
        "ingest",
        "messages",
        str(log),
        "-o",
        str(out),
        "--memory-limit",
        memory,
        "--threads",
        "2",
        "--temp-dir",
        str(temp),
        "--no-progress",
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _regular_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]


def _wait_mid_scan(proc: subprocess.Popen, temp: Path, timeout: float = 60.0) -> None:
    """Wait until the scratch folder exists and the scan runs; watch for files meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if list(temp.glob(f"{PREFIX}*/inputs/*")):
            break
        time.sleep(0.01)
    settle = time.monotonic() + 0.8  # well inside the scan (several seconds long)
    while time.monotonic() < settle and proc.poll() is None:
        assert _regular_files(temp) == []  # nothing spilled, no temporary table
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.fail("the ingest finished before it could be killed; enlarge the log")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_scan_cleans_up_and_leaves_no_handle(
    synthetic_log: Path, tmp_path: Path, signum: int
) -> None:
    temp, outdir = tmp_path / "tmp", tmp_path / "out"
    outdir.mkdir()
    proc = _start(synthetic_log, temp, outdir / "events.parquet")
    _wait_mid_scan(proc, temp)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    text = err.decode()
    assert "interrupted by" in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1
    assert MARKER.decode() not in text
    assert list(temp.iterdir()) == []  # scratch folder removed
    assert list(outdir.iterdir()) == []  # no partial output
    assert _files_with_marker(temp, outdir) == []


def test_sigkill_leaves_links_only_and_next_run_sweeps(synthetic_log: Path, tmp_path: Path) -> None:
    temp, outdir = tmp_path / "tmp", tmp_path / "out"
    outdir.mkdir()
    proc = _start(synthetic_log, temp, outdir / "events.parquet")
    _wait_mid_scan(proc, temp)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    stale = list(temp.glob(f"{PREFIX}{proc.pid}-*"))
    assert len(stale) == 1  # nothing could clean up after SIGKILL ...
    assert _regular_files(temp) == []  # ... but only links to the inputs were left
    assert _files_with_marker(temp, outdir) == []
    assert list(outdir.iterdir()) == []
    assert (temp.stat().st_mode & 0o777) == 0o700  # --temp-dir created private
    assert (stale[0].stat().st_mode & 0o777) == 0o700
    fresh = make_scratch(temp)  # what the next run does first
    try:
        assert not stale[0].exists()
        assert [p.name for p in temp.iterdir()] == [fresh.name]
    finally:
        remove_scratch(fresh)


def test_tiny_memory_limit_stops_instead_of_spilling(synthetic_log: Path, tmp_path: Path) -> None:
    temp, outdir = tmp_path / "tmp", tmp_path / "out"
    outdir.mkdir()
    proc = _start(synthetic_log, temp, outdir / "events.parquet", memory="40MB")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "--memory-limit" in err.decode()
    assert list(temp.iterdir()) == [] and list(outdir.iterdir()) == []
