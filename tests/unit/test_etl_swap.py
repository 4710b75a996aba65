"""The ETL owns data/processed: lock, one-step swap, recovery of leftovers, folder mode."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import stat
from pathlib import Path

import pytest

from analysis.errors import EtlLockedError, ProcessedFolderError
from analysis.etl import write
from analysis.etl.write import processed_lock, recover, run_etl, swap_in

BASE = Path(__file__).resolve().parents[1] / "badinput" / "etl" / "base"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def built(tmp_path: Path) -> Path:
    processed = tmp_path / "data" / "processed"
    run_etl(BASE, processed)
    return processed


def test_foreign_file_is_refused_and_kept(built: Path) -> None:
    (built / "my_analysis.csv").write_text("kept\n")
    before = snapshot(built)
    with pytest.raises(ProcessedFolderError, match="my_analysis.csv"):
        run_etl(BASE, built)
    assert snapshot(built) == before


def test_processed_as_a_symlink_is_refused(tmp_path: Path, built: Path) -> None:
    link = tmp_path / "data" / "linked"
    link.symlink_to(built)
    with pytest.raises(ProcessedFolderError, match="not a plain folder"):
        run_etl(BASE, link)


def _hold_lock(processed: str, ready, release) -> None:
    with processed_lock(Path(processed)):
        ready.set()
        release.wait(30)


def test_second_etl_is_refused_while_the_first_holds_the_lock(built: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(built), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        before = snapshot(built)
        with pytest.raises(EtlLockedError, match="another ETL"):
            run_etl(BASE, built)
        assert snapshot(built) == before
    finally:
        release.set()
        holder.join(30)
    run_etl(BASE, built)  # the lock is free again


def test_swap_keeps_the_folder_mode(built: Path) -> None:
    os.chmod(built, 0o755)
    run_etl(BASE, built)
    assert stat.S_IMODE(os.stat(built).st_mode) == 0o755
    os.chmod(built, 0o750)
    run_etl(BASE, built)
    assert stat.S_IMODE(os.stat(built).st_mode) == 0o750


def test_first_build_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        run_etl(BASE, tmp_path / "processed")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "processed").st_mode) == 0o755  # not mkdtemp's 0700


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not write.exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) not available here")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


@pytest.mark.parametrize("has_exchange", [True, False])
def test_swap_in_replaces_completely(tmp_path: Path, monkeypatch, has_exchange) -> None:
    if not has_exchange:
        monkeypatch.setattr(write, "exchange", lambda a, b: False)
    target, new = tmp_path / "processed", tmp_path / ".processed.build-1"
    target.mkdir()
    new.mkdir()
    (target / "old.parquet").write_text("old")
    (new / "new.parquet").write_text("new")
    swap_in(new, target)
    assert sorted(p.name for p in target.iterdir()) == ["new.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processed"]


def test_crash_between_the_fallback_renames_is_repaired(built: Path) -> None:
    """The fallback's two renames: killed after the first, data/processed is missing; the
    next run restores the previous build before anything else."""
    before = snapshot(built)
    old = built.parent / ".processed.old"
    os.rename(built, old)  # the state a kill between the two renames leaves
    assert not built.exists()
    with processed_lock(built):
        done = recover(built)
    assert any("restored" in line for line in done)
    assert snapshot(built) == before and not old.exists()


def test_leftover_build_and_old_folders_are_removed(built: Path) -> None:
    before = snapshot(built)
    stale = built.parent / ".processed.build-999-dead"
    stale.mkdir()
    (stale / "figures.parquet").write_text("half written")
    shutil.copytree(built, built.parent / ".processed.old")
    notes: list[str] = []
    run_etl(BASE, built, notes=notes)
    assert snapshot(built) == before
    assert sorted(p.name for p in built.parent.iterdir()) == [".processed.lock", "processed"]
    assert len(notes) == 2


def test_failed_write_leaves_processed_byte_identical(built: Path, monkeypatch) -> None:
    before = snapshot(built)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write.pq, "write_table", broken)
    with pytest.raises(OSError, match="No space"):
        run_etl(BASE, built)
    assert snapshot(built) == before
    assert sorted(p.name for p in built.parent.iterdir()) == [".processed.lock", "processed"]


def test_sigterm_while_writing_cleans_up_and_keeps_the_old_set(built: Path, monkeypatch) -> None:
    before = snapshot(built)
    real = write.write_tables

    def write_then_terminated(*args, **kwargs):
        real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # what `timeout` or a scheduler sends

    monkeypatch.setattr(write, "write_tables", write_then_terminated)
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(write.EtlInterrupted) as info:
        run_etl(BASE, built)
    assert info.value.signum == signal.SIGTERM and not info.value.swapped
    assert snapshot(built) == before
    assert sorted(p.name for p in built.parent.iterdir()) == [".processed.lock", "processed"]
    assert signal.getsignal(signal.SIGTERM) is handler  # the ETL's handler is removed


def test_sigterm_during_the_swap_waits_for_it(tmp_path: Path, built: Path, monkeypatch) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(BASE, raw)
    figures = raw / "synthetic_a" / "figures.csv"
    figures.write_text(figures.read_text().replace("over 26 000", "over 27 000"))
    expected = tmp_path / "expected"
    run_etl(raw, expected)
    real = write.swap_in

    def terminated_then_swap(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        real(*args, **kwargs)

    monkeypatch.setattr(write, "swap_in", terminated_then_swap)
    with pytest.raises(write.EtlInterrupted) as info:
        run_etl(raw, built)
    assert info.value.swapped
    assert snapshot(built) == snapshot(expected)
    assert sorted(p.name for p in built.parent.iterdir()) == [".processed.lock", "processed"]
