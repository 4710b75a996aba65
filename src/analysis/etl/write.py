"""Write the processed dataset atomically and byte-identically.

Everything is built into a temporary folder next to ``data/processed`` and swapped
in only when every table, ``datapackage.json`` and the data dictionary have been
written.  A failure at any point leaves ``data/processed`` exactly as it was.

Determinism: rows are sorted by primary key, tables are built from plain Python
values (no pandas metadata), Parquet is written by the pinned pyarrow with fixed
options, and JSON is written with sorted keys.  The same raw files therefore give
the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import __version__, schema
from analysis.etl.build import Tables, build_tables
from analysis.etl.raw import raw_tree_sha256

PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": False,
    "write_statistics": True,
    "data_page_version": "2.0",
}
METADATA_PREFIX = "takedown_dynamics"


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def to_arrow(frame: pd.DataFrame, table: schema.Table, metadata: Mapping[str, str]) -> pa.Table:
    """Sort ``frame`` by the primary key and convert it to a typed Arrow table."""
    ordered = frame.sort_values(list(table.primary_key), kind="mergesort", na_position="first")
    arrow_schema = schema.arrow_schema(table, metadata)
    arrays = []
    for f in table.fields:
        values = [_cell(v) for v in ordered[f.name].tolist()] if f.name in ordered else [None] * len(ordered)
        if f.type == "integer":
            values = [None if v is None else int(v) for v in values]
        elif f.type == "number":
            values = [None if v is None else float(v) for v in values]
        elif f.type == "boolean":
            values = [None if v is None else bool(v) for v in values]
        elif f.type == "string":
            values = [None if v is None else str(v) for v in values]
        arrays.append(pa.array(values, type=arrow_schema.field(f.name).type))
    return pa.Table.from_arrays(arrays, schema=arrow_schema)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_tables(frames: Mapping[str, pd.DataFrame], folder: Path, raw_sha256: str) -> None:
    """Write ``frames`` as Parquet plus ``datapackage.json`` and ``README.md`` into ``folder``."""
    metadata = {
        f"{METADATA_PREFIX}.dataset": schema.DATASET_NAME,
        f"{METADATA_PREFIX}.version": __version__,
        f"{METADATA_PREFIX}.raw_sha256": raw_sha256,
    }
    names = [n for n in schema.TABLES if n in frames]
    hashes: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in names:
        table = schema.TABLES[name]
        arrow = to_arrow(frames[name], table, {**metadata, f"{METADATA_PREFIX}.table": name})
        path = folder / table.path
        pq.write_table(arrow, path, **PARQUET_OPTIONS)
        hashes[table.path] = _sha256(path)
        counts[name] = arrow.num_rows
    package = schema.datapackage(names, __version__, raw_sha256, hashes)
    (folder / "datapackage.json").write_text(
        json.dumps(package, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (folder / "README.md").write_text(
        schema.data_dictionary(names, __version__, counts, family_counts(frames)),
        encoding="utf-8",
    )


def family_counts(frames: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, int]]:
    """Documents, figures and checked figures per source family."""
    figures, documents = frames["figures"], frames["documents"]
    out: dict[str, dict[str, int]] = {}
    for family in sorted(set(figures["family"]) | set(documents["family"])):
        mine = figures[figures["family"] == family]
        out[family] = {
            "documents": int((documents["family"] == family).sum()),
            "figures": len(mine),
            "checked": int((mine["check_status"] == "checked").sum()),
        }
    return out


def swap_in(built: Path, target: Path) -> None:
    """Replace ``target`` by ``built`` with two renames; restore ``target`` on failure."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=".processed.old-", dir=target.parent))
        old.rmdir()
        os.replace(target, old)
    try:
        os.replace(built, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old)


def extra_tables(raw: Path) -> dict[str, pd.DataFrame]:
    """Optional tables built from researcher-supplied raw inputs (an ISIS Watch export)."""
    try:
        from analysis.ingest.isiswatch import daily_series_from_raw
    except ImportError:  # pragma: no cover - ingestion not installed
        return {}
    daily = daily_series_from_raw(raw)
    return {} if daily is None else {"isiswatch_daily": daily}


def build_tables_all(raw: Path) -> tuple[dict[str, pd.DataFrame], Tables]:
    """Build the core tables and any optional ones from ``raw``."""
    tables = build_tables(raw)
    frames = tables.as_dict()
    frames.update(extra_tables(raw))
    return frames, tables


def run_etl(raw: Path, processed: Path) -> dict[str, int]:
    """Build ``processed`` from ``raw`` atomically.  Returns the row count of each table.

    Raises
    ------
    RawDataError
        If a raw row is malformed; ``processed`` is then left untouched.
    """
    frames, _ = build_tables_all(raw)
    processed.parent.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(prefix=".processed.build-", dir=processed.parent))
    try:
        write_tables(frames, built, raw_tree_sha256(raw))
        swap_in(built, processed)
    finally:
        if built.exists():
            shutil.rmtree(built)
    return {name: len(frame) for name, frame in frames.items()}
