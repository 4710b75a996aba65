"""Suite-wide guard: no test may leave a file in the repository root.

A test that writes to a relative path writes into the working folder, which is the repository
root when the suite runs from there (stray ``channels.parquet`` / ``log_synthetic.parquet`` were
found there after test runs).  After every test the top level of the repository is listed (a
directory listing, microseconds); a new entry that git would show as untracked (not ignored)
fails that test, naming the files.  Files present before the run are not blamed, nor are
ignored ones (``.hypothesis/``, caches).  Nothing is checked outside a git checkout or without
git.  Another process writing into the root at the same moment would be blamed on the test
that was running: the message lists the files so that can be judged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _untracked(names: set[str]) -> list[str]:
    """Those of ``names`` (top-level entries of the repository) that git shows as untracked."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=normal", "-z", "--", *sorted(names)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if done.returncode != 0:
        return []
    entries = [e for e in done.stdout.split("\0") if e.startswith("?? ")]
    return sorted({e[3:].rstrip("/").split("/")[0] for e in entries})


@pytest.fixture(scope="session")
def _repo_root_guarded() -> bool:
    """True when the repository root is a git checkout the guard can check."""
    return (REPO_ROOT / ".git").exists() and shutil.which("git") is not None


@pytest.fixture(autouse=True)
def _no_stray_files_in_repo_root(_repo_root_guarded: bool, request: pytest.FixtureRequest):
    if not _repo_root_guarded:
        yield
        return
    before = set(os.listdir(REPO_ROOT))
    yield
    new = set(os.listdir(REPO_ROOT)) - before
    stray = _untracked(new) if new else []
    if stray:
        pytest.fail(
            f"{request.node.nodeid} left {stray} in the repository root {REPO_ROOT} (a write to "
            "a relative path, i.e. the working folder); write into tmp_path instead",
            pytrace=False,
        )
