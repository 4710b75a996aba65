"""Message logs -> channel event table, out of core with DuckDB.

Input
-----
One or more Parquet or CSV files (a path, a folder of ``*.parquet``/``*.csv`` files or a glob),
one row per message, with columns (names configurable):

``channel_id``
    the channel that posted the message (string or integer; non-null).
``timestamp``
    when it was posted: a Parquet timestamp (naive = UTC; with a zone: converted to UTC), an
    ISO 8601 string (an offset is honoured, none means UTC) or a number of Unix epoch seconds.
``forwarded_from`` (optional)
    id of the channel a message was forwarded from; counted per channel.
``message_id`` (optional)
    when present, ``(channel_id, message_id)`` must be unique (duplicate check).

Output
------
One row per channel in the channel event table of :mod:`analysis.channels`:
``created_at`` = first message, ``ended_at`` = last message when the channel *went dark*
(its last message is more than ``inactivity_days`` before ``observation_end``), otherwise null
(still active, censored at ``observation_end``); ``end_reason`` is ``went_dark`` or null;
``family_id`` is null (a message log does not know lineages).  Extra columns:
``last_message_at``, ``n_messages`` and, when the log has ``forwarded_from``,
``n_forwarded_messages``.  ``channel_id`` is an HMAC-SHA256 digest (see
:mod:`analysis.ingest.privacy`) unless ``hash_ids=False``.

Scale
-----
The log is never loaded into Python: DuckDB scans it (projection pushed down to the needed
columns) and aggregates by channel under ``memory_limit``, spilling to ``temp_directory``
when needed, with ``preserve_insertion_order`` off.  A 10^8-row Parquet log runs in well under
1 GB of resident memory on two cores (see ``benchmarks/bench_ingest.py``).
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis.channels import END_REASONS
from analysis.errors import IngestError
from analysis.ingest._times import observation_end_timestamp
from analysis.ingest.output import ensure_private_destination, write_table_atomic
from analysis.ingest.privacy import (
    HASH_KEY_ENV,
    hmac_sql_expression,
    hmac_sql_parts,
    resolve_hash_key,
)
from analysis.ingest.progress import progress_wanted, run_query

DEFAULT_INACTIVITY_DAYS = 30.0
DEFAULT_MEMORY_LIMIT = "512MB"

_TIMESTAMP_TYPES = {
    "TIMESTAMP",
    "TIMESTAMP_NS",
    "TIMESTAMP_MS",
    "TIMESTAMP_S",
    "TIMESTAMP WITHOUT TIME ZONE",
    "DATETIME",
    "DATE",
}
_TIMESTAMPTZ_TYPES = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}
_NUMBER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
}


@dataclass(frozen=True)
class MessageLogColumns:
    """Names of the message-log columns in the input files."""

    channel_id: str = "channel_id"
    timestamp: str = "timestamp"
    forwarded_from: str = "forwarded_from"
    message_id: str = "message_id"


def resolve_input_files(path: str | Path) -> list[str]:
    """Expand a file, a folder (its ``*.parquet`` or else ``*.csv`` files) or a glob.

    Raises
    ------
    IngestError
        When nothing matches, or Parquet and CSV files are mixed.
    """
    text = str(path)
    if Path(text).is_dir():
        files = sorted(glob.glob(os.path.join(text, "*.parquet")))
        files = files or sorted(glob.glob(os.path.join(text, "*.csv")))
    elif any(ch in text for ch in "*?["):
        files = sorted(glob.glob(text))
    else:
        files = [text] if Path(text).is_file() else []
    if not files:
        raise IngestError("no input file found; expected a Parquet or CSV file", file=path)
    kinds = {_file_kind(f) for f in files}
    if len(kinds) != 1:
        raise IngestError("mixed Parquet and CSV inputs; expected one format", file=path)
    return files


def _file_kind(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    raise IngestError(
        "unknown file type; expected .parquet or .csv", file=name, value=Path(name).suffix
    )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _source_sql(kind: str, varchar_columns: list[str] | None = None) -> str:
    """Table function over the ``$files`` parameter."""
    if kind == "parquet":
        return "read_parquet($files)"
    types = ""
    if varchar_columns:
        types = ", types={" + ", ".join(f"'{c}': 'VARCHAR'" for c in varchar_columns) + "}"
    return f"read_csv($files, header=true{types})"


def _describe(con: duckdb.DuckDBPyConnection, files: list[str], kind: str) -> dict[str, str]:
    """Column name -> DuckDB type of the input (schema only, no scan of the data)."""
    try:
        rows = con.execute(
            f"DESCRIBE SELECT * FROM {_source_sql(kind)}", {"files": files}
        ).fetchall()
    except duckdb.Error as error:
        raise _ingest_error_from_duckdb(error, files) from error
    return {str(r[0]): str(r[1]).upper() for r in rows}


def _ingest_error_from_duckdb(error: duckdb.Error, files: list[str]) -> IngestError:
    """Translate a DuckDB failure (corrupt file, bad CSV line...) into an IngestError."""
    text = str(error).strip()
    culprit = next((f for f in files if f in text), None)
    if culprit is None and len(files) == 1:
        culprit = files[0]
    message = text.splitlines()[0] if text else type(error).__name__
    if "magic bytes" in text or "Parquet" in text or "parquet" in text:
        message = f"cannot read Parquet file (corrupt or not Parquet): {message}"
    return IngestError(message, file=culprit or ", ".join(files))


def _timestamp_sql(column: str, duck_type: str, files: list[str]) -> str:
    col = _quote(column)
    base = duck_type.split("(")[0].strip()
    if base in _TIMESTAMP_TYPES:
        return col if base == "TIMESTAMP" else f"CAST({col} AS TIMESTAMP)"
    if base in _TIMESTAMPTZ_TYPES:
        return f"timezone('UTC', {col})"
    if base == "VARCHAR":  # ISO 8601 text, or Unix epoch seconds written as digits (CSV)
        epoch = (
            f"CASE WHEN regexp_full_match(trim({col}), '[+-]?[0-9]+([.][0-9]+)?') "
            f"THEN to_timestamp(CAST(trim({col}) AS DOUBLE)) END"
        )
        return f"timezone('UTC', coalesce(try_cast({col} AS TIMESTAMPTZ), {epoch}))"
    if base in _NUMBER_TYPES:
        return f"timezone('UTC', to_timestamp(CAST({col} AS DOUBLE)))"
    raise IngestError(
        f"column type {duck_type} cannot hold times; expected a timestamp, an ISO 8601 "
        "string or Unix epoch seconds",
        file=files[0] if len(files) == 1 else ", ".join(files),
        column=column,
    )


def message_log_to_channel_events(
    path: str | Path,
    *,
    observation_end: str | pd.Timestamp | None = None,
    inactivity_days: float = DEFAULT_INACTIVITY_DAYS,
    columns: MessageLogColumns | None = None,
    hash_ids: bool = True,
    hash_key: str | bytes | None = None,
    hash_key_env: str = HASH_KEY_ENV,
    check_duplicates: bool | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
    temp_directory: str | Path | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Aggregate a message log into a channel event table (see the module docstring).

    Parameters
    ----------
    path
        A Parquet/CSV file, a folder of them, or a glob.
    observation_end
        End of observation (UTC).  Messages after it are ignored.  Default: the last
        message in the log.
    inactivity_days
        A channel whose last message is more than this many days before
        ``observation_end`` *went dark* at its last message.
    columns
        Input column names (defaults: ``channel_id``, ``timestamp``, ``forwarded_from``,
        ``message_id``).
    hash_ids
        Replace ``channel_id`` by its keyed HMAC-SHA256 digest (default).
    hash_key, hash_key_env
        Key, or the environment variable holding it (see :mod:`analysis.ingest.privacy`).
    check_duplicates
        Check that ``(channel_id, message_id)`` is unique.  Default: when the log has a
        ``message_id`` column.  Costs a second pass over the log.
    memory_limit
        DuckDB ``memory_limit`` (e.g. ``"512MB"``); DuckDB spills to disk beyond it.
    threads
        DuckDB worker threads (default: the number of CPUs).
    temp_directory
        Spill folder (default: a fresh temporary folder, removed afterwards).
    progress
        Show a progress bar (default: when standard error is a terminal).

    Returns
    -------
    pandas.DataFrame
        Validated channel event table, sorted by ``channel_id``.

    Raises
    ------
    IngestError
        Missing input, wrong or missing columns, unparseable timestamp or null channel id
        (naming file, row and column), duplicate message, corrupt file.
    """
    if not inactivity_days >= 0:
        raise IngestError("inactivity_days must be >= 0", value=inactivity_days)
    names = columns or MessageLogColumns()
    files = resolve_input_files(path)
    kind = _file_kind(files[0])
    end = _parse_observation_end(observation_end)
    key = resolve_hash_key(hash_key, env_var=hash_key_env) if hash_ids else b""
    spill = Path(temp_directory) if temp_directory else Path(tempfile.mkdtemp(prefix="ingest-"))
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{_checked_memory_limit(memory_limit)}'")
        con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # ours is tqdm (progress.run_query)
        schema = _describe(con, files, kind)
        missing = [c for c in (names.channel_id, names.timestamp) if c not in schema]
        if missing:
            raise IngestError(
                f"missing column(s) {missing}; expected columns {names.channel_id!r}, "
                f"{names.timestamp!r} (optional {names.forwarded_from!r}, {names.message_id!r});"
                f" found {sorted(schema)}",
                file=", ".join(files),
                column=missing[0],
            )
        if kind == "csv":  # parse times ourselves so that bad values are located, not guessed
            schema[names.timestamp] = "VARCHAR"
            schema[names.channel_id] = "VARCHAR"
        source = _source_sql(kind, [names.channel_id, names.timestamp])
        ts_sql = _timestamp_sql(names.timestamp, schema[names.timestamp], files)
        has_forward = names.forwarded_from in schema
        count_bad = not (
            kind == "parquet"
            and ts_sql == _quote(names.timestamp)
            and _parquet_nulls_absent(con, files, [names.channel_id, names.timestamp])
        )
        frame = _aggregate(
            con, source, files, names, ts_sql, has_forward, key, end, progress, count_bad
        )
        _check_aggregate(con, frame, source, files, kind, names, ts_sql)
        if check_duplicates is None:
            check_duplicates = names.message_id in schema
        if check_duplicates:
            _check_duplicates(con, source, files, kind, names, schema)
    except duckdb.Error as error:
        raise _ingest_error_from_duckdb(error, files) from error
    finally:
        con.close()
        if temp_directory is None:
            shutil.rmtree(spill, ignore_errors=True)
    return _to_channel_events(frame, end, inactivity_days, has_forward, ", ".join(files))


def _checked_memory_limit(limit: str) -> str:
    text = str(limit).strip()
    if not text or not all(ch.isalnum() or ch in ". " for ch in text):
        raise IngestError("bad memory limit; expected e.g. '512MB' or '2GB'", value=limit)
    return text


def _parse_observation_end(value: str | pd.Timestamp | None) -> pd.Timestamp | None:
    return None if value is None else observation_end_timestamp(value)


def _aggregate(
    con: duckdb.DuckDBPyConnection,
    source: str,
    files: list[str],
    names: MessageLogColumns,
    ts_sql: str,
    has_forward: bool,
    key: bytes,
    end: pd.Timestamp | None,
    progress: bool | None,
    count_bad: bool,
) -> pd.DataFrame:
    """One pass: per channel first/last message, counts, and the number of bad times.

    ``count_bad=False`` (native timestamps with no nulls, known from the Parquet footer)
    leaves the null checks out, so the scan is the plain ``GROUP BY``.
    """
    params: dict[str, object] = {"files": files}
    keep = "TRUE"
    if end is not None:
        keep = "ts <= $obs_end"
        params["obs_end"] = end.to_pydatetime()
    forward_select = f", {_quote(names.forwarded_from)} AS fwd" if has_forward else ""
    forward_agg = (
        f", count(fwd) FILTER (WHERE {keep}) AS n_forwarded_messages" if has_forward else ""
    )
    channel = "cid"
    if key:
        inner, outer = hmac_sql_parts(key)
        params["inner"], params["outer"] = inner, outer
        channel = hmac_sql_expression("cid", "$inner", "$outer")
    filt = "" if end is None else f" FILTER (WHERE {keep})"
    sql = f"""
        WITH log AS (
            SELECT CAST({_quote(names.channel_id)} AS VARCHAR) AS cid, {ts_sql} AS ts
                   {forward_select}
            FROM {source}
        ),
        agg AS (
            SELECT cid,
                   min(ts){filt} AS created_at,
                   max(ts){filt} AS last_message_at,
                   {"count(ts)" if count_bad else "count(*)"}{filt} AS n_messages,
                   {"count(*) - count(ts)" if count_bad else "0"} AS n_bad_times
                   {forward_agg}
            FROM log GROUP BY cid
        )
        SELECT {channel} AS channel_id, cid IS NULL AS null_channel, created_at,
               last_message_at, n_messages, n_bad_times
               {", n_forwarded_messages" if has_forward else ""}
        FROM agg ORDER BY channel_id
    """
    return run_query(
        con, sql, params, progress=progress_wanted(progress), description="message log"
    )


def _parquet_nulls_absent(
    con: duckdb.DuckDBPyConnection, files: list[str], columns: list[str]
) -> bool:
    """True when every row group's footer statistics say these columns hold no nulls."""
    rows = con.execute(
        "SELECT path_in_schema, count(*), count(stats_null_count), sum(stats_null_count) "
        "FROM parquet_metadata($files) GROUP BY path_in_schema",
        {"files": files},
    ).fetchall()
    stats = {str(r[0]): (int(r[1]), int(r[2]), int(r[3] or 0)) for r in rows}
    for column in columns:
        if column not in stats:
            return False
        n_groups, n_with_stats, n_nulls = stats[column]
        if n_with_stats < n_groups or n_nulls > 0:
            return False
    return True


def _check_aggregate(
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame,
    source: str,
    files: list[str],
    kind: str,
    names: MessageLogColumns,
    ts_sql: str,
) -> None:
    """Locate (file, row, column, value) of a null channel id or an unparseable time."""
    if not (frame["null_channel"].any() or frame["n_bad_times"].sum() > 0):
        return
    if frame["null_channel"].any():
        column, condition = names.channel_id, f"{_quote(names.channel_id)} IS NULL"
        expected = "a non-empty channel id"
    else:
        column, condition = names.timestamp, f"({ts_sql}) IS NULL"
        expected = "an ISO 8601 time, a timestamp or Unix epoch seconds"
    file, row, value = _locate(con, source, files, kind, condition, column)
    raise IngestError(
        f"{'missing channel id' if column == names.channel_id else 'unparseable timestamp'}; "
        f"expected {expected}",
        file=file,
        row=row,
        column=column,
        value=value,
    )


def _locate(
    con: duckdb.DuckDBPyConnection,
    source: str,
    files: list[str],
    kind: str,
    condition: str,
    column: str,
) -> tuple[str, int | None, object]:
    """First (file, 1-based data row, value) where ``condition`` holds (error path only)."""
    if kind == "parquet":
        sql = (
            f"SELECT filename, file_row_number, CAST({_quote(column)} AS VARCHAR) "
            f"FROM read_parquet($files, filename=true, file_row_number=true) "
            f"WHERE {condition} ORDER BY filename, file_row_number LIMIT 1"
        )
        hit = con.execute(sql, {"files": files}).fetchone()
        if hit is not None:
            return str(hit[0]), int(hit[1]) + 1, hit[2]
        return ", ".join(files), None, None
    for file in files:  # CSV: no row numbers in DuckDB's reader; scan file by file, in order
        con.execute("SET preserve_insertion_order = true")
        one = source.replace("$files", "$file")
        sql = (
            f"SELECT n, v FROM (SELECT row_number() OVER () AS n, {condition} AS bad, "
            f"CAST({_quote(column)} AS VARCHAR) AS v FROM {one}) WHERE bad ORDER BY n LIMIT 1"
        )
        hit = con.execute(sql, {"file": file}).fetchone()
        if hit is not None:
            return file, int(hit[0]), hit[1]
    return ", ".join(files), None, None


def _check_duplicates(
    con: duckdb.DuckDBPyConnection,
    source: str,
    files: list[str],
    kind: str,
    names: MessageLogColumns,
    schema: dict[str, str],
) -> None:
    if names.message_id not in schema:
        raise IngestError(
            f"duplicate check needs a {names.message_id!r} column; found {sorted(schema)}",
            file=", ".join(files),
            column=names.message_id,
        )
    cid, mid = _quote(names.channel_id), _quote(names.message_id)
    sql = (
        f"SELECT CAST({cid} AS VARCHAR) AS c, CAST({mid} AS VARCHAR) AS m FROM {source} "
        f"GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    )
    hit = con.execute(sql, {"files": files}).fetchone()
    if hit is None:
        return
    condition = f"CAST({cid} AS VARCHAR) = $c AND CAST({mid} AS VARCHAR) = $m"
    located = _locate_with_params(con, source, files, kind, condition, names.message_id, hit)
    raise IngestError(
        "duplicate row: (channel_id, message_id) seen twice; expected each message once",
        file=located[0],
        row=located[1],
        column=names.message_id,
        value=hit[1],
    )


def _locate_with_params(
    con: duckdb.DuckDBPyConnection,
    source: str,
    files: list[str],
    kind: str,
    condition: str,
    column: str,
    hit: tuple,
) -> tuple[str, int | None]:
    """Second occurrence (file, 1-based row) of a duplicated message."""
    params = {"c": hit[0], "m": hit[1]}
    if kind == "parquet":
        rows = con.execute(
            "SELECT filename, file_row_number FROM read_parquet($files, filename=true, "
            f"file_row_number=true) WHERE {condition} ORDER BY filename, file_row_number "
            "LIMIT 2",
            {"files": files, **params},
        ).fetchall()
    else:
        con.execute("SET preserve_insertion_order = true")
        rows = []
        for file in files:
            one = source.replace("$files", "$file")
            found = con.execute(
                f"SELECT n FROM (SELECT row_number() OVER () AS n, {condition} AS hit "
                f"FROM {one}) WHERE hit ORDER BY n LIMIT 2",
                {"file": file, **params},
            ).fetchall()
            rows.extend((file, int(r[0]) - 1) for r in found)
    if len(rows) < 2:
        return ", ".join(files), None
    return str(rows[1][0]), int(rows[1][1]) + 1


def _to_channel_events(
    frame: pd.DataFrame,
    end: pd.Timestamp | None,
    inactivity_days: float,
    has_forward: bool,
    source: str,
) -> pd.DataFrame:
    """Apply the went-dark rule and shape the aggregate as a channel event table."""
    frame = frame.loc[frame["n_messages"] > 0].drop(columns=["null_channel", "n_bad_times"])
    frame = frame.reset_index(drop=True)  # already ordered by channel_id in SQL
    last = frame["last_message_at"].astype("datetime64[ns]")
    if end is None:
        end = last.max() if len(frame) else pd.Timestamp("1970-01-01")
    threshold = end - pd.Timedelta(days=float(inactivity_days))
    dark = (last < threshold).to_numpy()
    codes = np.where(dark, END_REASONS.index("went_dark"), -1)
    # Built directly in the normalised form of analysis.channels.validate_channel_events (the
    # aggregation guarantees its invariants: unique ids, created <= last <= end); the unit
    # tests check that the output passes the validator.
    out = pd.DataFrame(
        {
            "channel_id": frame["channel_id"].astype("string"),
            "family_id": pd.Series(pd.NA, index=frame.index, dtype="string"),
            "created_at": frame["created_at"].astype("datetime64[ns]"),
            "ended_at": last.where(dark),
            "end_reason": pd.Categorical.from_codes(codes, categories=list(END_REASONS)),
            "observation_end": pd.Series(
                np.full(len(frame), np.datetime64(end.to_datetime64(), "ns")),
                index=frame.index,
            ),
            "last_message_at": last,
            "n_messages": frame["n_messages"].astype("int64"),
        }
    )
    if has_forward:
        out["n_forwarded_messages"] = frame["n_forwarded_messages"].astype("int64")
    return out


def ingest_message_log(
    path: str | Path,
    output: str | Path,
    **options: object,
) -> pd.DataFrame:
    """Aggregate a message log and write the channel event table atomically.

    Parameters
    ----------
    path
        Input (see :func:`message_log_to_channel_events`).
    output
        ``.parquet`` or ``.csv`` destination; nothing is written if anything fails.
    **options
        Passed to :func:`message_log_to_channel_events`.

    Returns
    -------
    pandas.DataFrame
        The table written.
    """
    ensure_private_destination(output, raw_identifiers=not options.get("hash_ids", True))
    events = message_log_to_channel_events(path, **options)  # type: ignore[arg-type]
    write_table_atomic(events, output)
    return events
