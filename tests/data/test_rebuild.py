"""A rebuild from data/raw changes no byte of data/processed."""

from __future__ import annotations

from pathlib import Path

from analysis import paths
from analysis.etl.write import run_etl


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_rebuild_is_byte_identical_to_committed(tmp_path: Path) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    run_etl(paths.raw_dir(), first)
    run_etl(paths.raw_dir(), second)
    assert _bytes(first) == _bytes(second)
    assert _bytes(first) == _bytes(paths.processed_dir())
