"""One machine: stream each dump day through DuckDB into a small per-day table of decisions.

For every dump file, :func:`process_dump_file` inflates each CSV part out of the nested
archives into a named pipe (or a scratch file: :mod:`.transport`) read by DuckDB's CSV
reader as it is written (``workers`` parts at a time; the day is never unzipped), with
malformed records rejected and counted with their record numbers. One grouped scan per part
counts the statements, collects the distinct category terms (checked against the era's
vocabulary, :mod:`.checks`) and keeps the selected statements (:func:`.query.
selected_list_sql`, the columns of the shared :func:`.query.selection_sql`); their decision
terms and dates are then checked in Python. Only the selected statements (a tiny share of a
day: terrorist content is a few thousand of ~100 million statements) are kept, so memory
stays bounded whatever the size of the day.

Measured per million statements (one 404 MB part, ``benchmarks/bench_dsa_tdb.py`` and the
numbers in :mod:`.transport`): inflate 0.2 CPU-s, the grouped scan 1.0, the pipe 0.1-0.2;
pyarrow's streaming CSV reader must parse serially when quoted fields may hold line breaks
(they do) and was 3x slower than DuckDB's reader on the same part. The result is written
atomically as ``<out>/days/<dump>.parquet`` with a manifest ``<dump>.json`` (records,
malformed records and their numbers per part, selected statements, unknown keywords, SHA-1),
which is what makes the run resumable: a dump whose manifest exists is skipped.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.errors import IngestResourceError
from analysis.ingest.dsa_tdb import checks
from analysis.ingest.dsa_tdb.layout import era_for, parse_file_name
from analysis.ingest.dsa_tdb.query import (
    DUCKDB,
    RAW_PREFIX,
    Scope,
    selected_list_sql,
    selection_predicate,
    selection_sql,
)
from analysis.ingest.dsa_tdb.reader import (
    READ_COLUMNS,
    CsvPart,
    DsaTdbError,
    DsaTdbVocabularyError,
    PartStats,
    csv_parts,
    parquet_batches,
    read_header,
    sha1_check,
)
from analysis.ingest.dsa_tdb.transport import PartSource, Transport
from analysis.ingest.scratch import make_scratch, remove_scratch

MAX_LINE_BYTES = 2 << 20
"""Longest record DuckDB accepts (DuckDB's default; the database caps free-text fields at a
few thousand characters). DuckDB's read buffer is 16 times this per connection, so a larger
value costs memory."""

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

_SELECTED_CHECKS = checks.SELECTED_TERMS + checks.REQUIRED_DATES + checks.OPTIONAL_DATES
"""Raw columns checked on the selected statements only (they reach the outputs only there)."""


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
    batch: pa.RecordBatch | None,
    *,
    part: str,
    era,
    accepted: frozenset[str],
    offset: int,
    unknown_keywords: set[str],
    seen: dict[str, set[str]],
    columns: set[str] | None = None,
    rejected: list[int] | Callable[[], list[int]] | None = None,
    also: str | None = None,
    selected: str | None = None,
    before_locate: Callable[[], None] | None = None,
    after_scan: Callable[[], None] | None = None,
) -> tuple[int, object]:
    """Check the terms and dates of the statements in the DuckDB relation ``raw``.

    The category vocabulary (:data:`.checks.ALL_ROW_TERMS`) is checked on every statement: a
    renamed category or keyword would silently change the selection. With ``selected`` (the
    selection predicate), the decision and automation terms and the dates are left to
    :func:`_check_selected_rows` on the selected statements, the only ones whose values reach
    the outputs (checking every statement's dates cost a fifth of the engine's CPU); without
    it (Parquet batches), everything is checked on every statement here.

    With ``selected``, the scan groups the statements by their checked terms (``GROUP BY``:
    DuckDB's ``list(DISTINCT ...)`` of three columns next to the selected list cost 2.2
    CPU-s per million statements, the grouped scan 1.0), and ``also`` is a list aggregate
    whose per-group lists are concatenated.

    ``after_scan`` runs once the scan is done (the part's writer is waited for, and its
    archive error raised before any check); ``before_locate`` runs before a record is
    looked up for an error message (a piped part is read once: it is copied to a file).

    Returns the number of statements (valid records) in ``raw`` and the value of the
    aggregate ``also`` (e.g. the selected statements), both computed in the same scan.
    """
    names = columns if columns is not None else set(batch.schema.names)

    def record(valid_index: int) -> int:
        known = rejected() if callable(rejected) else rejected
        return _record_of(valid_index, known or []) + offset

    if selected is None:  # one scan: the distinct terms and the bad dates of each column
        term_columns = [c for c in checks.TERM_COLUMNS if c in names]
        date_conditions = {}
        for column in checks.REQUIRED_DATES + checks.OPTIONAL_DATES:
            empty_bad = "TRUE" if column in checks.REQUIRED_DATES else "FALSE"
            date_conditions[column] = (
                f"CASE WHEN {column} IS NULL OR {column} = '' THEN {empty_bad} "
                f"ELSE length({column}) < 10 OR TRY_CAST({column} AS TIMESTAMP) IS NULL END"
            )
        select = [f"list(DISTINCT {c})" for c in term_columns] + [
            f"count(*) FILTER (WHERE {cond})" for cond in date_conditions.values()
        ]
        select += ["count(*)", also or "NULL"]
        summary = con.execute(f"SELECT {', '.join(select)} FROM raw").fetchall()[0]
        if after_scan is not None:
            after_scan()
        n_rows, extra = int(summary[-2]), summary[-1]
        distinct = dict(zip(term_columns, summary[: len(term_columns)], strict=True))
        bad_dates = dict(zip(date_conditions, summary[len(term_columns) : -2], strict=True))
    else:  # the rest is checked on the selected rows (:func:`_check_selected_rows`)
        term_columns = [c for c in checks.ALL_ROW_TERMS if c in names]
        keys = ", ".join(term_columns)
        groups = con.execute(
            f"SELECT {keys}, count(*), {also or 'NULL'} FROM raw GROUP BY {keys}"
        ).fetchall()
        if after_scan is not None:
            after_scan()
        k = len(term_columns)
        n_rows = sum(int(g[k]) for g in groups)
        extra = [row for g in groups for row in (g[k + 1] or ())]
        distinct = {
            c: [g[i] for g in groups if g[i] is not None] for i, c in enumerate(term_columns)
        }
        date_conditions, bad_dates = {}, {}
    for column in term_columns:
        values = set(distinct[column] or ()) - seen.setdefault(column, set())
        if not values:
            continue
        bad, unknown = checks.check_terms(column, values, era, accepted=accepted)
        unknown_keywords |= unknown
        if bad is not None:
            if before_locate is not None:
                before_locate()
            first = _first_record(con, f"{column} = $${bad}$$", 0)
            raise DsaTdbVocabularyError(
                f"term outside the {era.name} vocabulary of the database (a changed "
                "vocabulary?); if the term is genuine, pass it with --accept-terms after "
                "checking the dsa-tdb documentation",
                file=part,
                row=record(first),
                column=column,
                value=bad,
            )
        seen[column] |= values
    for column, condition in date_conditions.items():
        required = column in checks.REQUIRED_DATES
        if bad_dates[column]:
            first = _first_record(con, condition, 0)
            (value,) = con.execute(
                f"SELECT {column} FROM (SELECT row_number() OVER () AS r, * FROM raw) "
                f"WHERE r = {first}"
            ).fetchall()[0]
            raise DsaTdbError(
                "bad date: expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
                + (" (the field is required)" if required else ""),
                file=part,
                row=record(first),
                column=column,
                value=value,
            )
    return n_rows, extra


def _check_selected_rows(
    con: duckdb.DuckDBPyConnection,
    rows: list[dict],
    *,
    part: str,
    era,
    accepted: frozenset[str],
    unknown_keywords: set[str],
    predicate: str,
    record: Callable[[int], int],
    before_locate: Callable[[], None] | None = None,
) -> None:
    """Decision and automation terms and dates of the selected statements (in Python: a
    few thousand rows per part), raising with the record of the first bad value."""

    def locate(column: str, value: str | None) -> int:
        if before_locate is not None:
            before_locate()
        cell = f"{column} IS NULL" if value is None else f"{column} = $${value}$$"
        return record(_first_record(con, f"({predicate}) AND {cell}", 0))

    for column in _SELECTED_CHECKS:
        key = RAW_PREFIX + column
        values = {row.get(key) for row in rows}
        if column in checks.REQUIRED_DATES + checks.OPTIONAL_DATES:
            required = column in checks.REQUIRED_DATES
            for value in sorted(values, key=lambda v: (v is None, v or "")):
                if checks.bad_date(value, required=required):
                    raise DsaTdbError(
                        "bad date: expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
                        + (" (the field is required)" if required else ""),
                        file=part,
                        row=locate(column, value),
                        column=column,
                        value=value,
                    )
            continue
        bad, unknown = checks.check_terms(
            column, {v for v in values if v is not None}, era, accepted=accepted
        )
        unknown_keywords |= unknown
        if bad is not None:
            raise DsaTdbVocabularyError(
                f"term outside the {era.name} vocabulary of the database (a changed "
                "vocabulary?); if the term is genuine, pass it with --accept-terms after "
                "checking the dsa-tdb documentation",
                file=part,
                row=locate(column, bad),
                column=column,
                value=bad,
            )


def _record_of(valid_index: int, rejected: list[int]) -> int:
    """Record number (1 = first data record) of the ``valid_index``-th valid record."""
    record = valid_index
    for bad in rejected:  # sorted
        if bad <= record:
            record += 1
        else:
            break
    return record


def _raw_view(con: duckdb.DuckDBPyConnection, path: Path, header: tuple[str, ...]) -> None:
    """(Re)define the relation ``raw``: the needed columns of the CSV part at ``path``."""
    types = ", ".join(f"'{c}': 'VARCHAR'" for c in header)
    wanted = [c for c in READ_COLUMNS if c in header]
    # a view, not a table: nothing is materialised, and a scratch copy of the part can be
    # scanned again to locate a bad record; rejects are stored by every scan (hence the
    # DISTINCT of ``rejected_records``)
    con.execute(
        f"CREATE OR REPLACE VIEW raw AS SELECT {', '.join(wanted)} "
        f"FROM read_csv('{_sql_path(path)}', "
        f"columns={{{types}}}, header=true, auto_detect=false, delim=',', quote='\"', "
        "escape='\"', ignore_errors=true, store_rejects=true, "
        "rejects_table='rejects', rejects_scan='rejects_scan', "
        f"max_line_size={MAX_LINE_BYTES})"
    )


def _process_csv_part(
    part: CsvPart,
    scratch: Path,
    index: int,
    *,
    era,
    scope: Scope,
    accepted: frozenset[str],
    memory_limit: str,
    threads: int | None,
    transport: Transport = "auto",
) -> tuple[PartStats, pa.Table | None, set[str]]:
    """Stream one CSV part to DuckDB (:class:`.transport.PartSource`), check it, select."""
    header = read_header(part)
    stats = PartStats(part.name, header=header)
    wanted = [c for c in READ_COLUMNS if c in header]
    con = _connection(memory_limit, threads)
    try:
        with PartSource(part, scratch, index, transport) as source:
            _raw_view(con, source.path, header)

            def rejected_records() -> list[int]:
                lines = con.execute("SELECT DISTINCT line FROM rejects").fetchall()
                return sorted(int(line) - 1 for (line,) in lines)

            def rescan() -> None:  # only on the error path: a pipe is read once
                _raw_view(con, source.rescannable(), header)

            unknown: set[str] = set()
            has_scope = "territorial_scope" in header
            try:
                valid, rows = _check_batch(
                    con,
                    None,
                    part=part.name,
                    era=era,
                    accepted=accepted,
                    offset=0,
                    unknown_keywords=unknown,
                    seen={},
                    columns=set(wanted),
                    rejected=rejected_records,
                    also=selected_list_sql(
                        scope,
                        has_territorial_scope=has_scope,
                        raw_columns=tuple(_SELECTED_CHECKS),
                    ),
                    selected=selection_predicate(scope),
                    before_locate=rescan,
                    after_scan=source.finish,
                )
            finally:
                source.finish()  # an archive error the writer met comes first
            if not source.ends_with_newline:
                raise DsaTdbError(
                    "the part ends inside a record (no final line break): the file is "
                    "truncated; download it again",
                    file=part.name,
                    row=int(valid) + len(rejected_records()),
                )
            rows = rows or []

            def record(valid_index: int) -> int:
                return _record_of(valid_index, rejected_records())

            _check_selected_rows(
                con,
                rows,
                part=part.name,
                era=era,
                accepted=accepted,
                unknown_keywords=unknown,
                predicate=selection_predicate(scope),
                record=record,
                before_locate=rescan,
            )
            rejected = rejected_records()
            kinds = {
                k for (k,) in con.execute("SELECT DISTINCT error_type FROM rejects").fetchall()
            }
            if kinds - {"MISSING COLUMNS", "TOO MANY COLUMNS"}:
                raise DsaTdbError(
                    f"unreadable record ({', '.join(sorted(kinds))}); the file may be "
                    "truncated or damaged",
                    file=part.name,
                    row=rejected[0] if rejected else None,
                )
            stats.records = int(valid) + len(rejected)
            stats.malformed = len(rejected)
            stats.malformed_records = rejected
            result = pa.Table.from_pylist(rows, schema=DECISIONS_SCHEMA)
    finally:
        con.close()
    return stats, (result if result.num_rows else None), unknown


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def process_dump_file(
    path: Path,
    *,
    scope: Scope = "keyword",
    accepted_terms: frozenset[str] = frozenset(),
    memory_limit: str = "512MB",
    threads: int | None = None,
    workers: int = 2,
    temp_dir: str | Path | None = None,
    transport: Transport = "auto",
    on_part: Callable[[PartStats], None] | None = None,
) -> tuple[pa.Table, dict]:
    """Selected decisions of one dump file, and its manifest (counts per part).

    ``on_part`` is called with each part's counts as soon as the part is done (progress).

    CSV parts are inflated one at a time (``workers`` parts in flight) into named pipes
    read by DuckDB as they are written (``transport="pipe"``, the default where the system
    has named pipes), or into scratch files read and deleted at once (``"file"``: peak disk
    use is ``workers`` parts); nothing else is unzipped. See :mod:`.transport`. Peak memory
    stays under ``memory_limit`` (shared by the workers) plus the Python process.

    Raises
    ------
    DsaTdbError
        Damaged archive, unknown/missing column, truncated part, bad date, unknown term.
    """
    path = Path(path)
    day = dump_day(path)
    era = era_for(day)
    sha1 = sha1_check(path) if path.suffix == ".zip" else None
    selected: list[pa.Table] = []  # CRC-32 of inner members is skipped once SHA-1 matched
    parts: list[PartStats] = []
    unknown_keywords: set[str] = set()
    if path.suffix == ".parquet":
        con = _connection(memory_limit, threads)
        try:
            stats = PartStats(path.name)
            seen: dict[str, set[str]] = {}
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
            if on_part is not None:
                on_part(stats)
        finally:
            con.close()
    else:
        workers = max(1, int(workers))
        per_worker = _split_memory(memory_limit, workers)
        scratch = make_scratch(temp_dir)
        try:
            with (
                csv_parts(path, check_crc=sha1 is None) as csv_list,
                ThreadPoolExecutor(workers) as pool,
            ):
                futures = [
                    pool.submit(
                        _process_csv_part,
                        part,
                        scratch,
                        i,
                        era=era,
                        scope=scope,
                        accepted=accepted_terms,
                        memory_limit=per_worker,
                        threads=threads or 1,
                        transport=transport,
                    )
                    for i, part in enumerate(csv_list)
                ]
                try:
                    for future in futures:
                        try:
                            stats, table, unknown = future.result()
                        except duckdb.OutOfMemoryException as error:
                            raise IngestResourceError(
                                f"DuckDB ran out of memory ({error}); raise --memory-limit "
                                "or lower the number of workers",
                                file=path,
                            ) from None
                        parts.append(stats)
                        unknown_keywords |= unknown
                        if table is not None:
                            selected.append(table)
                        if on_part is not None:
                            on_part(stats)
                finally:
                    for future in futures:
                        future.cancel()
        finally:
            remove_scratch(scratch)
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


def _split_memory(limit: str, workers: int) -> str:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?i?B)\s*", limit, flags=re.IGNORECASE)
    if not match:
        raise DsaTdbError(f"memory limit {limit!r}: expected a size such as 1GB or 512MB")
    value, unit = float(match.group(1)), match.group(2).upper().replace("I", "")
    scale = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]
    return f"{max(64, int(value * scale / workers / 1e6))}MB"


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
