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
    """Regular files (not links) under ``folder``; parts removed while walking are skipped."""
    found = []
    for root, _dirs, files in os.walk(folder):  # os.walk ignores folders that vanish
        for name in files:
            path = Path(root) / name
            try:
                if path.is_file() and not path.is_symlink():
                    found.append(path)
            except OSError:
                pass
    return found


def _wait_mid_run(proc: subprocess.Popen, temp: Path, timeout: float = 60.0) -> bool:
    """Wait until the scratch folder holds the input links; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if list(temp.glob(f"{PREFIX}*/inputs/*")):
            time.sleep(0.05)  # inside the run: schema checks, then the scan
            break
        time.sleep(0.005)
    return proc.poll() is None


def _start_and_catch_mid_run(
    log: Path, tmp_path: Path, label: str, attempts: int = 4
) -> tuple[subprocess.Popen, Path, Path]:
    """Start ingests until one is caught running (a fast machine can finish before the watch)."""
    for attempt in range(attempts):
        temp, outdir = tmp_path / f"tmp-{label}-{attempt}", tmp_path / f"out-{label}-{attempt}"
        outdir.mkdir()
        proc = _start(log, temp, outdir / "events.parquet")
        if _wait_mid_run(proc, temp):
            return proc, temp, outdir
        proc.communicate(timeout=60)
    pytest.fail(f"{attempts} ingests all finished before they could be signalled")


def test_no_regular_file_in_the_temporary_area_during_a_whole_run(
    synthetic_log: Path, tmp_path: Path
) -> None:
    temp, outdir = tmp_path / "tmp", tmp_path / "out"
    outdir.mkdir()
    proc = _start(synthetic_log, temp, outdir / "events.parquet")
    watched = 0
    while proc.poll() is None:
        if temp.exists():
            assert _regular_files(temp) == []  # nothing spilled, no temporary table
            watched += 1
        time.sleep(0.005)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert watched > 0
    assert list(temp.iterdir()) == []
    assert _files_with_marker(temp, outdir) == []
    assert MARKER.decode() not in err.decode()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_scan_cleans_up_and_leaves_no_handle(
    synthetic_log: Path, tmp_path: Path, signum: int
) -> None:
    for _attempt in range(4):
        proc, temp, outdir = _start_and_catch_mid_run(synthetic_log, tmp_path, f"s{_attempt}")
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 0:  # 0: the run completed between the check and the signal
            break
    text = err.decode()
    assert proc.returncode == 128 + signum, text
    assert "interrupted by" in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1
    assert MARKER.decode() not in text
    assert list(temp.iterdir()) == []  # scratch folder removed
    assert list(outdir.iterdir()) == []  # no partial output
    assert _files_with_marker(temp, outdir) == []


def test_sigkill_leaves_links_only_and_next_run_sweeps(synthetic_log: Path, tmp_path: Path) -> None:
    for attempt in range(4):
        proc, temp, outdir = _start_and_catch_mid_run(synthetic_log, tmp_path, f"k{attempt}")
        # the scratch folder exists now; SIGKILL lands before the process can remove it
        # unless the run completes in between (then it is repeated)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert _regular_files(temp) == []  # only links to the inputs, whatever the timing
        assert _files_with_marker(temp, outdir) == []
        stale = list(temp.glob(f"{PREFIX}{proc.pid}-*"))
        if proc.returncode == -signal.SIGKILL and stale:
            break
    else:
        pytest.fail("four SIGKILLs all landed after the run; enlarge the log")
    assert len(stale) == 1  # nothing could clean up after SIGKILL ...
    assert list(outdir.iterdir()) == []  # killed mid-run: no output begun
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
