"""One machine: stream each dump day through DuckDB into a small per-day table of decisions.

For every dump file, :func:`process_dump_file` reads the CSV parts as Arrow batches
(:mod:`.reader`), checks vocabulary and dates (:mod:`.checks`), and runs the shared selection
(:func:`.query.selection_sql`) on each batch with DuckDB. Only the selected statements (a
tiny share of a day: terrorist content is a few thousand of ~100 million statements) are
kept, so memory stays bounded by a few CSV blocks whatever the size of the day. The result is
written atomically as ``<out>/days/<dump>.parquet`` with a manifest ``<dump>.json`` (records,
malformed records and their numbers per part, selected statements, unknown keywords, SHA-1),
which is what makes the run resumable: a dump whose manifest exists is skipped.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.ingest.dsa_tdb import checks
from analysis.ingest.dsa_tdb.layout import era_for, parse_file_name
from analysis.ingest.dsa_tdb.query import DUCKDB, Scope, selection_sql
from analysis.ingest.dsa_tdb.reader import (
    DsaTdbError,
    DsaTdbVocabularyError,
    PartStats,
    arrow_batches,
    csv_parts,
    exact_malformed_records,
    parquet_batches,
    read_header,
    sha1_check,
)

DECISIONS_SCHEMA = pa.schema(
    [
        ("decision_day", pa.string()),
        ("filed_day", pa.string()),
        ("content_day", pa.string()),
        ("platform", pa.string()),
        ("visibility", pa.int32()),
        ("account", pa.int32()),
        ("provision", pa.int32()),
        ("monetary", pa.int32()),
        ("automated_detection", pa.string()),
        ("automated_decision", pa.string()),
        ("territorial_scope", pa.string()),
        ("delay_days", pa.int64()),
        ("filing_lag_days", pa.int64()),
    ]
)
"""Columns of the per-day decisions table (the ``decisions`` relation of :mod:`.query`)."""

_CHECKED_COLUMNS = (
    "category",
    "category_addition",
    "category_specification",
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
    "automated_detection",
    "automated_decision",
)


def dump_day(path: Path) -> date:
    """The day a dump file covers, from its published name."""
    parsed = parse_file_name(path.name)
    if parsed is None:
        raise DsaTdbError(
            "file name does not follow the published pattern "
            "sor-<platform>-<YYYY-MM-DD>-<full|light>[...].zip|.csv|.parquet",
            file=path,
        )
    try:
        return date.fromisoformat(parsed["date"])
    except ValueError:
        raise DsaTdbError("file name holds an impossible date", file=path) from None


def _connection(memory_limit: str, threads: int | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": memory_limit})
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _first_record(con: duckdb.DuckDBPyConnection, condition: str, offset: int) -> int:
    row = con.execute(
        f"SELECT min(r) FROM (SELECT row_number() OVER () AS r, * FROM raw) WHERE {condition}"
    ).fetchall()[0]
    return int(row[0]) + offset


def _check_batch(
    con: duckdb.DuckDBPyConnection,
    batch: pa.RecordBatch,
    *,
    part: str,
    era,
    accepted: frozenset[str],
    offset: int,
    unknown_keywords: set[str],
    seen: dict[str, set[str]],
) -> None:
    names = set(batch.schema.names)
    for column in _CHECKED_COLUMNS:
        if column not in names:
            continue
        values = {
            v for (v,) in con.execute(f"SELECT DISTINCT {column} FROM raw").fetchall()
        } - seen.setdefault(column, set())
        if not values:
            continue
        bad, unknown = checks.check_terms(column, values, era, accepted=accepted)
        unknown_keywords |= unknown
        if bad is not None:
            record = _first_record(con, f"{column} = $${bad}$$", offset)
            raise DsaTdbVocabularyError(
                f"term outside the {era.name} vocabulary of the database (a changed "
                "vocabulary?); if the term is genuine, pass it with --accept-terms after "
                "checking the dsa-tdb documentation",
                file=part,
                row=record,
                column=column,
                value=bad,
            )
        seen[column] |= values
    for column in checks.REQUIRED_DATES + checks.OPTIONAL_DATES:
        required = column in checks.REQUIRED_DATES
        empty_bad = "TRUE" if required else "FALSE"
        condition = (
            f"CASE WHEN {column} IS NULL OR {column} = '' THEN {empty_bad} "
            f"ELSE NOT regexp_full_match({column}, '{checks.DATE_PATTERN}') "
            f"OR TRY_CAST(substr({column}, 1, 10) AS DATE) IS NULL END"
        )
        (count,) = con.execute(f"SELECT count(*) FROM raw WHERE {condition}").fetchall()[0]
        if count:
            record = _first_record(con, condition, offset)
            (value,) = con.execute(
                f"SELECT {column} FROM (SELECT row_number() OVER () AS r, * FROM raw) "
                f"WHERE r = {record - offset}"
            ).fetchall()[0]
            raise DsaTdbError(
                "bad date: expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
                + (" (the field is required)" if required else ""),
                file=part,
                row=record,
                column=column,
                value=value,
            )


def process_dump_file(
    path: Path,
    *,
    scope: Scope = "keyword",
    accepted_terms: frozenset[str] = frozenset(),
    memory_limit: str = "1GB",
    threads: int | None = None,
) -> tuple[pa.Table, dict]:
    """Selected decisions of one dump file, and its manifest (counts per part).

    Raises
    ------
    DsaTdbError
        Damaged archive, unknown/missing column, truncated part, bad date, unknown term.
    """
    path = Path(path)
    day = dump_day(path)
    era = era_for(day)
    sha1 = sha1_check(path) if path.suffix == ".zip" else None
    con = _connection(memory_limit, threads)
    selected: list[pa.Table] = []
    parts: list[PartStats] = []
    unknown_keywords: set[str] = set()
    seen: dict[str, set[str]] = {}
    try:
        if path.suffix == ".parquet":
            sources = [(path.name, None)]
        else:
            sources = None
        if sources is not None:
            stats = PartStats(path.name)
            for batch in parquet_batches(path, stats):
                batch = _normalise_parquet_batch(con, batch)
                _process_batch(
                    con,
                    batch,
                    stats,
                    path.name,
                    era,
                    accepted_terms,
                    unknown_keywords,
                    seen,
                    scope,
                    selected,
                )
            parts.append(stats)
        else:
            with csv_parts(path) as csv_list:
                for part in csv_list:
                    header = read_header(part)
                    stats = PartStats(part.name, header=header)
                    for batch in arrow_batches(part, header, stats):
                        _process_batch(
                            con,
                            batch,
                            stats,
                            part.name,
                            era,
                            accepted_terms,
                            unknown_keywords,
                            seen,
                            scope,
                            selected,
                        )
                    if stats.malformed:
                        records, truncated = exact_malformed_records(part, len(header))
                        if truncated:
                            raise DsaTdbError(
                                "the part ends inside a record: the file is truncated; "
                                "download it again",
                                file=part.name,
                                row=stats.records,
                            )
                        stats.malformed_records = records
                    parts.append(stats)
    finally:
        con.close()
    table = (
        pa.concat_tables(selected).cast(DECISIONS_SCHEMA)
        if selected
        else DECISIONS_SCHEMA.empty_table()
    )
    manifest = {
        "dump": path.name,
        "dump_day": day.isoformat(),
        "vocabulary_era": era.name,
        "scope": scope,
        "sha1": sha1,
        "records": sum(p.records for p in parts),
        "malformed": sum(p.malformed for p in parts),
        "selected": table.num_rows,
        "unknown_keywords": sorted(unknown_keywords),
        "parts": [
            {k: v for k, v in asdict(p).items() if k != "header"} | {"valid": p.valid}
            for p in parts
        ],
    }
    return table, manifest


def _process_batch(
    con, batch, stats, part_name, era, accepted, unknown_keywords, seen, scope, selected
) -> None:
    offset = stats.records - batch.num_rows
    con.register("raw", batch)
    try:
        _check_batch(
            con,
            batch,
            part=part_name,
            era=era,
            accepted=accepted,
            offset=offset,
            unknown_keywords=unknown_keywords,
            seen=seen,
        )
        has_scope = "territorial_scope" in batch.schema.names
        result = con.sql(
            selection_sql(DUCKDB, scope=scope, has_territorial_scope=has_scope)
        ).to_arrow_table()
    finally:
        con.unregister("raw")
    if result.num_rows:
        selected.append(result)


def _normalise_parquet_batch(con: duckdb.DuckDBPyConnection, batch: pa.RecordBatch):
    """Parquet from dsa-tdb may hold lists and timestamps: turn them into the dump's text."""
    con.register("pq_batch", batch)
    try:
        columns = []
        for name, kind in zip(batch.schema.names, batch.schema.types, strict=True):
            if pa.types.is_list(kind) or pa.types.is_large_list(kind):
                columns.append(f"CAST(to_json({name}) AS VARCHAR) AS {name}")
            elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
                columns.append(f"strftime({name}, '%Y-%m-%d %H:%M:%S') AS {name}")
            else:
                columns.append(f"CAST({name} AS VARCHAR) AS {name}")
        table = con.sql(f"SELECT {', '.join(columns)} FROM pq_batch").to_arrow_table()
    finally:
        con.unregister("pq_batch")
    return table.combine_chunks().to_batches()[0] if table.num_rows else batch


def write_day(folder: Path, table: pa.Table, manifest: dict) -> Path:
    """Write a day's decisions and manifest atomically; the manifest is written last."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = manifest["dump"]
    target = folder / f"{stem}.parquet"
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as handle:
        tmp_table = Path(handle.name)
    try:
        pq.write_table(table, tmp_table)
        os.replace(tmp_table, target)
    finally:
        tmp_table.unlink(missing_ok=True)
    manifest_path = folder / f"{stem}.json"
    with tempfile.NamedTemporaryFile(
        "w", dir=folder, suffix=".tmp", delete=False, encoding="utf-8"
    ) as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        tmp_manifest = Path(handle.name)
    os.replace(tmp_manifest, manifest_path)
    return target
