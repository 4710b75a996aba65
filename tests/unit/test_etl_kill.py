"""SIGTERM and SIGKILL during `takedowns etl` never leave data/processed mixed or missing.

A temporary copy of the repository's data (paths overridden with TAKEDOWNS_ROOT) holds an
old complete build; the raw files are then edited so a new build differs in every table.
`takedowns etl` is started and killed at delays spread over its run time; after each kill
data/processed must be byte-identical to the old set or to the new set, and the next run
must tidy any leftover and produce the new set.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import paths
from analysis.etl.write import run_etl

# (wait for the build folder to appear?, then seconds): one kill while importing or reading,
# the others in the short write-and-swap window (found by watching for the build folder)
SCHEDULE = ((False, 0.3), (True, 0.0), (True, 0.05))


def snapshot(folder: Path) -> dict[str, bytes] | None:
    if not folder.is_dir():
        return None
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("killroot")
    shutil.copytree(paths.raw_dir(), root / "data" / "raw")
    processed = root / "data" / "processed"
    shutil.copytree(paths.processed_dir(), processed)
    old = snapshot(processed)
    # an edit that changes the raw hash, hence every table's metadata and bytes
    conflicts = root / "data" / "raw" / "documented_conflicts.csv"
    conflicts.write_text(
        conflicts.read_text(encoding="utf-8").replace(
            "Referral is not removal.", "Referral is not removal (edited copy).", 1
        ),
        encoding="utf-8",
    )
    new_folder = tmp_path_factory.mktemp("newbuild") / "processed"
    run_etl(root / "data" / "raw", new_folder)
    new = snapshot(new_folder)
    assert old != new and old is not None and new is not None
    assert set(old) == set(new)
    assert all(old[name] != new[name] for name in old if name != "README.md")
    return {"root": root, "processed": processed, "old": old, "new": new}


def etl(root: Path) -> subprocess.Popen:
    env = {**os.environ, "TAKEDOWNS_ROOT": str(root)}
    return subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", "etl"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_kill_during_etl_leaves_old_or_new_set(sandbox: dict, signum: int) -> None:
    root, processed = sandbox["root"], sandbox["processed"]
    for at_write, delay in SCHEDULE:
        proc = etl(root)
        deadline = time.monotonic() + 60
        while at_write and proc.poll() is None and time.monotonic() < deadline:
            if any(processed.parent.glob(".processed.build-*")):
                break
            time.sleep(0.001)
        time.sleep(delay)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        state = snapshot(processed)
        assert state in (sandbox["old"], sandbox["new"]), (
            f"mixed or missing data/processed after signal {signum} at {delay}s"
        )
        if signum == signal.SIGTERM and proc.returncode == 128 + signum:
            # the handler ran: the clean-up too, so nothing is left next to the folder
            assert b"Traceback" not in err
            said_new = b"holds the new complete build" in err
            assert (b"left unchanged" in err and state == sandbox["old"]) or (
                said_new and state == sandbox["new"]
            ), err
            assert not list(processed.parent.glob(".processed.build-*"))
    # whatever was left, the next run tidies it and gives the new set
    finished = etl(root)
    assert finished.wait(timeout=120) == 0, finished.stderr.read().decode()
    finished.stderr.close()
    assert snapshot(processed) == sandbox["new"]
    assert sorted(p.name for p in processed.parent.iterdir()) == [
        ".processed.lock",
        "processed",
        "raw",
    ]
