"""The CSV and Stata exports hold exactly the rows of the Parquet tables.

Each export is read back by tools that share no code with the writer (pandas' CSV parser,
DuckDB, polars, ReadStat through pyreadstat, pandas' Stata reader) and compared cell by cell
with the Parquet tables read by pyarrow.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import export, paths, schema
from analysis.errors import ProcessedIntegrityError

frictionless = pytest.importorskip("frictionless")
pyreadstat = pytest.importorskip("pyreadstat")

PROCESSED = paths.processed_dir()
NAMES = [r["name"] for r in json.loads((PROCESSED / "datapackage.json").read_text())["resources"]]

DUCKDB_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
}
POLARS_TYPES = {
    "string": pl.String,
    "date": pl.Date,
    "number": pl.Float64,
    "integer": pl.Int64,
    "boolean": pl.Boolean,
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    export.export_tables(folder)
    return folder


def _truth(name: str) -> dict[str, list[object]]:
    """The Parquet table as plain Python values (terms for vocabulary columns)."""
    table = pq.read_table(PROCESSED / schema.TABLES[name].path)
    return {c: table.column(c).to_pylist() for c in table.column_names}


def _same(got: list[object], want: list[object], where: str) -> None:
    assert len(got) == len(want), where
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if w is None:
            assert g is None, f"{where} row {i}: {g!r} for a missing value"
        elif isinstance(w, float):
            assert isinstance(g, float) and g == w, f"{where} row {i}: {g!r} != {w!r}"
        else:
            assert g == w and type(g) is type(w), f"{where} row {i}: {g!r} != {w!r}"


def test_files_written(out: Path) -> None:
    assert {p.name for p in out.iterdir()} == {"csv", "stata"}
    assert {p.name for p in (out / "csv").iterdir()} == {f"{n}.csv" for n in NAMES} | {
        "datapackage.json"
    }
    assert {p.name for p in (out / "stata").iterdir()} == {f"{n}.dta" for n in NAMES}


def test_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "stata").write_text("not a folder")
    with pytest.raises(export.ExportDestinationError, match="stata.*not a folder"):
        export.export_tables(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stata"]


def test_export_package_is_valid_frictionless(out: Path) -> None:
    report = frictionless.validate(str(out / "csv" / "datapackage.json"))
    errors = [f"{t.name}: {e.type} {e.message}" for t in report.tasks for e in t.errors]
    assert report.valid, "\n".join(errors[:20])
    rows = {task.name: task.stats["rows"] for task in report.tasks}
    for name in NAMES:
        assert rows[name] == pq.read_metadata(PROCESSED / f"{name}.parquet").num_rows
    package = json.loads((out / "csv" / "datapackage.json").read_text(encoding="utf-8"))
    processed = json.loads((PROCESSED / "datapackage.json").read_text(encoding="utf-8"))
    assert package["version"] == processed["version"]
    assert package["custom"]["raw_sha256"] == processed["custom"]["raw_sha256"]


@pytest.mark.parametrize("name", NAMES)
def test_csv_read_by_pandas(out: Path, name: str) -> None:
    table = schema.TABLES[name]
    raw = out / "csv" / f"{name}.csv"
    assert not raw.read_bytes().startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    assert b"\r\n" not in raw.read_bytes()
    text = pd.read_csv(raw, dtype=str, keep_default_na=False, encoding="utf-8")
    assert list(text.columns) == table.columns
    parse = {
        "string": str,
        "integer": int,
        "number": float,
        "date": dt.date.fromisoformat,
        "boolean": {"true": True, "false": False}.__getitem__,
    }
    truth = _truth(name)
    for f in table.fields:
        got = [None if v == "" else parse[f.type](v) for v in text[f.name]]
        _same(got, truth[f.name], f"pandas {name}.{f.name}")


@pytest.mark.parametrize("name", NAMES)
def test_csv_read_by_duckdb(out: Path, name: str) -> None:
    table = schema.TABLES[name]
    columns = {f.name: DUCKDB_TYPES[f.type] for f in table.fields}
    rel = duckdb.read_csv(str(out / "csv" / f"{name}.csv"), header=True, columns=columns)
    rows = rel.fetchall()
    truth = _truth(name)
    for j, f in enumerate(table.fields):
        _same([r[j] for r in rows], truth[f.name], f"duckdb {name}.{f.name}")


@pytest.mark.parametrize("name", NAMES)
def test_csv_read_by_polars(out: Path, name: str) -> None:
    table = schema.TABLES[name]
    frame = pl.read_csv(
        out / "csv" / f"{name}.csv", schema={f.name: POLARS_TYPES[f.type] for f in table.fields}
    )
    truth = _truth(name)
    for f in table.fields:
        _same(frame[f.name].to_list(), truth[f.name], f"polars {name}.{f.name}")


@pytest.mark.parametrize("name", NAMES)
def test_dta_read_by_pyreadstat(out: Path, name: str) -> None:
    table = schema.TABLES[name]
    frame, meta = pyreadstat.read_dta(str(out / "stata" / f"{name}.dta"), apply_value_formats=False)
    assert list(frame.columns) == table.columns
    assert meta.file_label == table.title
    assert meta.creation_time == dt.datetime(2000, 1, 1)
    truth = _truth(name)
    for f in table.fields:
        label = meta.column_names_to_labels[f.name]
        assert len(label) <= 80
        assert label == f.description or (
            label.endswith("...") and f.description.startswith(label[:-3])
        )
        values = frame[f.name].tolist()
        if f.vocabulary is not None or f.type == "boolean":
            labels = meta.value_labels[meta.variable_to_label[f.name]]
            expected = f.terms() if f.vocabulary else ["false", "true"]
            assert sorted(labels.values()) == sorted(expected)  # every term is a label
            got = [None if pd.isna(v) else labels[v] for v in values]
            if f.type == "boolean":
                got = [None if g is None else g == "true" for g in got]
        elif f.type == "string":
            got = [None if v == "" else v for v in values]  # Stata: empty string = missing
        elif f.type == "integer":
            got = [None if pd.isna(v) else int(v) for v in values]
        elif f.type == "number":
            got = [None if pd.isna(v) else float(v) for v in values]
        else:  # date
            got = [None if pd.isna(v) else v for v in values]
        _same(got, truth[f.name], f"pyreadstat {name}.{f.name}")


@pytest.mark.parametrize("name", NAMES)
def test_dta_read_by_pandas(out: Path, name: str) -> None:
    table = schema.TABLES[name]
    frame = pd.read_stata(out / "stata" / f"{name}.dta", convert_categoricals=True)
    truth = _truth(name)
    for f in table.fields:
        column = frame[f.name]
        if f.vocabulary is not None:
            # pandas keeps only the labels in use as categories (pyreadstat test: all terms)
            assert set(column.cat.categories) <= set(f.terms() or [])
            got = [None if pd.isna(v) else str(v) for v in column]
        elif f.type == "date":
            got = [None if pd.isna(v) else v.date() for v in column]
        elif f.type == "boolean":
            got = [None if pd.isna(v) else v == "true" for v in column.astype(object)]
        elif f.type == "string":
            got = [None if v == "" else v for v in column]
        elif f.type == "integer":
            got = [None if pd.isna(v) else int(v) for v in column]
        else:
            got = [None if pd.isna(v) else float(v) for v in column]
        _same(got, truth[f.name], f"pandas.read_stata {name}.{f.name}")


@pytest.mark.parametrize("name", NAMES)
def test_parquet_vocabularies_are_factors(name: str) -> None:
    """R/arrow and polars see the vocabularies as factors with every term as a level."""
    table = schema.TABLES[name]
    vocab_fields = [f for f in table.fields if f.vocabulary is not None]
    arrow = pq.read_table(PROCESSED / table.path)
    frame = pl.read_parquet(PROCESSED / table.path)
    for f in vocab_fields:
        column = arrow.column(f.name)
        assert pa.types.is_dictionary(column.type), f.name
        assert column.chunk(0).dictionary.to_pylist() == f.terms(), f.name
        assert isinstance(frame.schema[f.name], pl.Categorical | pl.Enum), f.name


def test_duckdb_script_of_the_data_dictionary_gives_enums() -> None:
    """The SQL printed in the data dictionary makes every vocabulary column an ENUM."""
    con = duckdb.connect()
    for statement in schema.duckdb_sql(NAMES, str(PROCESSED)).strip().split(";\n"):
        con.execute(statement.rstrip(";"))
    for name in NAMES:
        table = schema.TABLES[name]
        rel = con.sql(f'select * from "{name}"')
        types = dict(zip(rel.columns, [str(t) for t in rel.types], strict=True))
        rows = rel.fetchall()
        truth = _truth(name)
        for j, f in enumerate(table.fields):
            if f.vocabulary is not None:
                terms = ", ".join(f"'{t}'" for t in f.terms() or [])
                assert types[f.name] == f"ENUM({terms})", f.name
            _same([r[j] for r in rows], truth[f.name], f"duckdb view {name}.{f.name}")
    readme = (PROCESSED / "README.md").read_text(encoding="utf-8")
    assert schema.duckdb_sql(NAMES) in readme


def test_export_bytes_do_not_depend_on_the_process(out: Path, tmp_path: Path) -> None:
    """A second export, by the CLI in another process and hash seed, gives the same bytes."""
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    subprocess.run(
        [sys.executable, "-m", "analysis.cli", "export", "--out", str(tmp_path)],
        check=True,
        env=env,
        capture_output=True,
    )
    for path in sorted(out.rglob("*.*")):
        copy = tmp_path / path.relative_to(out)
        assert copy.read_bytes() == path.read_bytes(), path.name


def test_altered_table_is_refused_and_nothing_written(tmp_path: Path) -> None:
    processed = tmp_path / "processed"
    shutil.copytree(PROCESSED, processed)
    with (processed / "figures.parquet").open("ab") as handle:
        handle.write(b"\0")
    target = tmp_path / "out"
    with pytest.raises(ProcessedIntegrityError, match=r"figures\.parquet.*sha256"):
        export.export_tables(target, processed)
    assert not target.exists() or not any(target.iterdir())


def test_cli_error_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.cli",
            "export",
            "--out",
            str(tmp_path / "o"),
            "--processed",
            str(tmp_path / "missing"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "datapackage.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_long_text_goes_to_strl_and_reads_back(tmp_path: Path) -> None:
    """Text longer than Stata's 2045-byte str# is stored as strL, not cut."""
    table = schema.DOCUMENTS
    arrow = pq.read_table(PROCESSED / table.path).slice(0, 2)
    long_note = "synthetic note " + "é" * 3000
    notes = pa.array([long_note, None], type=pa.string())
    arrow = arrow.set_column(arrow.schema.get_field_index("notes"), "notes", notes)
    path = tmp_path / "documents.dta"
    export.write_dta(table, arrow, path)
    frame, _ = pyreadstat.read_dta(str(path))
    assert frame["notes"].tolist() == [long_note, ""]


def test_every_column_is_a_valid_stata_name() -> None:
    for table in schema.TABLES.values():
        export.check_stata_names(table)
        for f in table.fields:
            assert len(f.name) <= 32
    bad = schema.Table("t", "T", "d", (schema.Field("x" * 33, "string", "d"),), ("x" * 33,))
    with pytest.raises(ValueError, match="at most 32"):
        export.check_stata_names(bad)
    assert export.stata_label("a " * 60).endswith("...")
    assert len(export.stata_label("word " * 40)) <= 80
