"""`takedowns validate` checks every resource against datapackage.json, and the raw hash covers
exactly the files the ETL reads."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.etl.build import build_tables
from analysis.etl.raw import raw_tree_sha256
from analysis.etl.write import run_etl

BASE = Path(__file__).resolve().parents[1] / "badinput" / "etl" / "base"
READ = [
    "action_days.csv",
    "documented_conflicts.csv",
    "synthetic_a/documents.csv",
    "synthetic_a/figures.csv",
]


def independent_hash(root: Path, files: list[str]) -> str:
    """The documented recipe: sha256 over (relative path, NUL, sha256 of bytes), path order."""
    digest = hashlib.sha256()
    for rel in sorted(files, key=lambda r: r.split("/")):
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256((root / rel).read_bytes()).digest())
    return digest.hexdigest()


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    raw = tmp_path / "raw"
    shutil.copytree(BASE, raw)
    processed = tmp_path / "processed"
    run_etl(raw, processed)
    return raw, processed


def validate(raw: Path, processed: Path, capsys) -> tuple[int, str]:
    status = main(["validate", "--raw", str(raw), "--processed", str(processed)])
    return status, capsys.readouterr().err


def test_fresh_build_validates(tree, capsys) -> None:
    assert validate(*tree, capsys)[0] == 0


def test_missing_series_fails(tree, capsys) -> None:
    raw, processed = tree
    (processed / "series.parquet").unlink()
    status, err = validate(raw, processed, capsys)
    assert status == 1 and "series.parquet" in err and "missing" in err


def test_corrupt_conflicts_fails(tree, capsys) -> None:
    raw, processed = tree
    path = processed / "conflicts.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte; the file still has its Parquet footer
    path.write_bytes(bytes(data))
    status, err = validate(raw, processed, capsys)
    assert status == 1 and "conflicts.parquet" in err and "sha256" in err


@pytest.mark.parametrize("name", ["documents.parquet", "figures.parquet", "action_days.parquet"])
def test_any_altered_table_fails(tree, capsys, name) -> None:
    raw, processed = tree
    with (processed / name).open("ab") as handle:
        handle.write(b"\0")
    status, err = validate(raw, processed, capsys)
    assert status == 1 and name in err


def test_foreign_file_and_edited_dictionary_fail(tree, capsys) -> None:
    raw, processed = tree
    (processed / "notes.txt").write_text("x")
    status, err = validate(raw, processed, capsys)
    assert status == 1 and "notes.txt" in err
    (processed / "notes.txt").unlink()
    readme = processed / "README.md"
    readme.write_text(readme.read_text() + "edited\n")
    status, err = validate(raw, processed, capsys)
    assert status == 1 and "README.md" in err


def test_stale_build_fails(tree, capsys) -> None:
    raw, processed = tree
    figures = raw / "synthetic_a" / "figures.csv"
    figures.write_text(
        figures.read_text().replace(
            "(synthetic),,checked,\nSA02", "(synthetic),,checked,edited\nSA02"
        )
    )
    status, err = validate(raw, processed, capsys)
    assert status == 1 and "stale" in err


def test_raw_hash_covers_exactly_the_files_read(tree) -> None:
    raw, _ = tree
    assert raw_tree_sha256(raw) == independent_hash(raw, READ)
    assert build_tables(raw).raw_sha256 == independent_hash(raw, READ)
    # files the ETL does not read change nothing
    (raw / "NOTES.md").write_text("documentation")
    (raw / ".cache").write_text("editor state")
    assert raw_tree_sha256(raw) == independent_hash(raw, READ)


def test_symlinked_family_is_hashed(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(BASE, raw)
    (raw / ".store").mkdir()
    (raw / "synthetic_a").rename(raw / ".store" / "synthetic_a")
    (raw / "synthetic_a").symlink_to(".store/synthetic_a")
    first = raw_tree_sha256(raw)
    assert first == independent_hash(raw, READ)
    figures = raw / ".store" / "synthetic_a" / "figures.csv"
    figures.write_text(figures.read_text().replace("over 26 000", "over 27 000"))
    assert raw_tree_sha256(raw) != first
    assert build_tables(raw).raw_sha256 == raw_tree_sha256(raw)


def test_committed_datapackage_hashes_match_the_files() -> None:
    from analysis import paths

    processed = paths.processed_dir()
    package = json.loads((processed / "datapackage.json").read_text())
    for resource in package["resources"]:
        digest = hashlib.sha256((processed / resource["path"]).read_bytes()).hexdigest()
        assert resource["hash"] == f"sha256:{digest}"
    assert package["custom"]["raw_sha256"] == raw_tree_sha256(paths.raw_dir())
