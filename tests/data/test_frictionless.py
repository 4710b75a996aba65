"""The committed data/processed is a valid Frictionless tabular data package.

Runs the real ``frictionless`` validator (with its parquet plugin) on
``data/processed/datapackage.json``: every resource is a tabular-data-resource, every cell
matches its declared type and constraints (empty integer cells included), primary and
foreign keys hold.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import paths, schema

frictionless = pytest.importorskip("frictionless")

PROCESSED = paths.processed_dir()


def _flat(report: frictionless.Report) -> list[str]:
    out = []
    for task in report.tasks:
        out += [f"{task.name}: {e.type} {e.message}" for e in task.errors]
    out += [f"package: {e.type} {e.message}" for e in report.errors]
    return out


def test_processed_package_is_valid() -> None:
    report = frictionless.validate(str(PROCESSED / "datapackage.json"))
    assert report.valid, "\n".join(_flat(report)[:20])
    package = json.loads((PROCESSED / "datapackage.json").read_text(encoding="utf-8"))
    assert package["profile"] == "tabular-data-package"
    assert {r["profile"] for r in package["resources"]} == {"tabular-data-resource"}
    # every row of every table was read and checked
    rows = {task.name: task.stats["rows"] for task in report.tasks}
    for resource in package["resources"]:
        assert rows[resource["name"]] == pq.read_metadata(PROCESSED / resource["path"]).num_rows


def test_empty_integer_cells_are_read_as_missing() -> None:
    """action_days has empty integer cells (the 30 errors of issue 13); they read as None."""
    package = frictionless.Package(str(PROCESSED / "datapackage.json"))
    rows = package.get_table_resource("action_days").read_rows()
    stated = [row["countries_stated"] for row in rows]
    expected = pq.read_table(PROCESSED / "action_days.parquet").column("countries_stated")
    assert expected.null_count > 0
    assert stated == expected.to_pylist()


def test_a_wrong_integer_is_still_caught(tmp_path) -> None:
    """The missing values added for the parquet plugin do not let a bad cell through."""
    table = pq.read_table(PROCESSED / "action_days.parquet")
    column = [None if v is None else float(v) for v in table.column("countries_stated").to_pylist()]
    column[next(k for k, v in enumerate(column) if v is not None)] = 2.5
    broken = table.set_column(
        table.schema.get_field_index("countries_stated"),
        pa.field("countries_stated", pa.float64()),
        pa.array(column),
    )
    pq.write_table(broken, tmp_path / "action_days.parquet")
    package = json.loads((PROCESSED / "datapackage.json").read_text(encoding="utf-8"))
    resource = next(r for r in package["resources"] if r["name"] == "action_days")
    del resource["hash"], resource["schema"]["foreignKeys"]
    report = frictionless.Resource(resource, basepath=str(tmp_path)).validate()
    assert not report.valid
    assert any("countries_stated" in e for e in _flat(report))


@pytest.mark.parametrize("name", schema.CORE_TABLES)
def test_no_string_cell_is_a_missing_value_spelling(name: str) -> None:
    """``nan`` is declared missing for the parquet plugin, so no real string may be ``nan``."""
    table = pq.read_table(PROCESSED / schema.TABLES[name].path)
    for f in schema.TABLES[name].fields:
        if f.type != "string":
            continue
        values = table.column(f.name).to_pylist()
        bad = [v for v in values if v is not None and v.strip().lower() in {"", "nan"}]
        assert not bad, f"{name}.{f.name}"
