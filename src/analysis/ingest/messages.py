"""Message logs -> channel event table, out of core with DuckDB.

Input
-----
One or more Parquet or CSV files (a path, a folder of ``*.parquet``/``*.csv`` files or a glob;
a path that exists is always that file, even when its name holds ``*``, ``?`` or ``[``), one
row per message.  Required and optional columns (names configurable with
:class:`MessageLogColumns`, CLI ``--channel-column`` ...):

``channel_id`` (required)
    the channel that posted the message (string or integer; non-null).
``timestamp`` (required)
    when it was posted: a Parquet timestamp at any resolution (naive = UTC; with a zone:
    converted to UTC), an ISO 8601 string (an offset is honoured, none means UTC), text in a
    ``time_format`` (``strptime``, e.g. ``%d/%m/%Y %H:%M``), or a number of Unix epoch
    seconds/milliseconds/... with an explicit ``epoch_unit`` (numbers without a unit are
    refused).  See :mod:`analysis.ingest._times`.
``forwarded_from`` (optional)
    id of the channel a message was forwarded from; counted per channel.
``message_id`` (optional)
    when present, ``(channel_id, message_id)`` must be unique (duplicate check).

CSV files are comma-separated (``.tsv``: tab) with a header row and strict RFC 4180 quoting:
an unbalanced quote, or a quote inside an unquoted channel id, is an error naming the line.
All files of one log must have the same columns.

Output
------
One row per channel in the channel event table of :mod:`analysis.channels`:
``created_at`` = first message, ``ended_at`` = last message when the channel *went dark*
(its last message is more than ``inactivity_days`` before ``observation_end``), otherwise null
(still active); ``end_reason`` is ``went_dark`` or null; ``family_id`` is null (a message log
does not know lineages).  Extra columns: ``detection_horizon``, ``last_message_at``,
``n_messages``, ``n_forwarded_messages`` (when the log has ``forwarded_from``) and the
covariates named in ``keep_columns`` (value at the channel's first message).
``channel_id`` is an HMAC-SHA256 digest (see :mod:`analysis.ingest.privacy`) unless
``hash_ids=False``; covariates join other tables through that hashed id.

Detection horizon
-----------------
An ending inferred from silence can only be seen ``inactivity_days`` after it happened: a
channel whose last message falls in the final ``inactivity_days`` before ``observation_end``
may already have gone dark, but the log cannot tell yet.  Censoring such channels at
``observation_end`` would give them full follow-up while their ending could never count, and
biases lifetimes upward (by +31 % on the median for a 30-day window, on simulated truth).
Every row therefore carries ``detection_horizon = observation_end - inactivity_days``: the
models stop follow-up there, and count an ending only when ``ended_at <= detection_horizon``.
A channel seen once has ``created_at == last_message_at``; the models' zero-length rule
applies to it (:func:`analysis.channels.channel_lifetimes`).

Privacy and scale
-----------------
The log is never loaded into Python: DuckDB streams it (projection pushed down to the needed
columns) and aggregates by channel under ``memory_limit``.  Channel ids are hashed **in the
scan projection** (the inner HMAC digest, keyed; the HMAC is finished once per channel), so
grouping and the duplicate check only ever see digests.

Nothing is spilled to disk.  A test that greps DuckDB's spill files showed that hashing in the
projection is not enough to keep raw ids off disk once DuckDB spills: it writes whole buffer
blocks, and a block reused after holding raw strings of the scan still carried some of them
(memory is not cleared between uses).  DuckDB's temporary files are therefore disabled (and
its external file cache, which kept raw Parquet pages in evictable buffers): only the
per-channel state must fit in ``memory_limit``, about 300 bytes per channel (10^6 channels
fit in the default 512 MB; 10^8 messages stream through in well under 1 GB of resident
memory); beyond it the run stops with a hint to raise ``--memory-limit``.

A private (0700) scratch folder (``takedowns-ingest-<pid>-*`` in the system temporary
folder or in ``temp_directory``) holds plain-named links to the inputs; it is removed on
success, failure, SIGTERM or SIGINT, and folders left by killed runs are swept at the next
start (:mod:`analysis.ingest.scratch`).  Error messages show the row, the column and a digest,
never a channel id.  Hashing every row costs time: 2.4x to 9x the same scan without hashing
(10^7 rows: 16.6 s against 3.8 s on two busy shared cores; ``benchmarks/bench_ingest.py``).
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis.channels import END_REASONS
from analysis.errors import (
    FutureTimeError,
    IngestError,
    IngestResourceError,
    InputFormatError,
    TimeValueError,
)
from analysis.ingest import _times
from analysis.ingest.output import check_destination, write_table_atomic
from analysis.ingest.privacy import (
    HASH_KEY_ENV,
    hmac_inner_sql,
    hmac_outer_sql,
    hmac_sql_parts,
    key_metadata,
    resolve_hash_key,
    safe_time_text,
    withheld,
)
from analysis.ingest.progress import progress_wanted, run_query
from analysis.ingest.scratch import make_scratch, remove_scratch

DEFAULT_INACTIVITY_DAYS = 30.0
DEFAULT_MEMORY_LIMIT = "512MB"
#: Covariate names refused by ``keep_columns``: they would carry identifying text.
IDENTIFYING_NAME = re.compile(r"handle|title|user|name|invite|link|url|phone|email", re.I)

_TIMESTAMP_TYPES = {
    "TIMESTAMP",
    "TIMESTAMP_NS",
    "TIMESTAMP_MS",
    "TIMESTAMP_S",
    "TIMESTAMP WITHOUT TIME ZONE",
    "DATETIME",
    "DATE",
}
_TIMESTAMPTZ_TYPES = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMPTZ_NS"}
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
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class MessageLogColumns:
    """Names of the message-log columns in the input files."""

    channel_id: str = "channel_id"
    timestamp: str = "timestamp"
    forwarded_from: str = "forwarded_from"
    message_id: str = "message_id"


# --------------------------------------------------------------------------- inputs
def resolve_input_files(path: str | Path) -> list[str]:
    """Expand a file, a folder (its ``*.parquet`` or else ``*.csv`` files) or a glob.

    A path that exists is taken literally (a file named ``log[1].csv`` is that file); only
    a path that does not exist is expanded as a glob.

    Raises
    ------
    IngestError
        When nothing matches, a match is not a regular file, or Parquet and CSV are mixed.
    """
    text = str(path)
    candidate = Path(text)
    if candidate.is_dir():
        folder = glob.escape(text)
        files = sorted(glob.glob(os.path.join(folder, "*.parquet")))
        files = files or sorted(glob.glob(os.path.join(folder, "*.csv")))
    elif candidate.exists():
        files = [text]
    elif any(ch in text for ch in _GLOB_CHARS):
        files = sorted(glob.glob(text))
    else:
        files = []
    if not files:
        raise IngestError("no input file found; expected a Parquet or CSV file", file=path)
    for name in files:
        if not Path(name).is_file():
            raise InputFormatError(
                "not a regular file (a folder, FIFO or device); expected a Parquet or CSV file",
                file=name,
            )
    kinds = {_file_kind(f) for f in files}
    if len(kinds) != 1:
        raise IngestError("mixed Parquet and CSV inputs; expected one format", file=path)
    return files


def _file_kind(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    if lower.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return "csv"
    raise IngestError(
        "unknown file type; expected .parquet or .csv", file=name, value=Path(name).suffix
    )


def _suffix(name: str) -> str:
    lower = name.lower()
    for ending in (".csv.gz", ".tsv.gz", ".parquet", ".pq", ".csv", ".tsv"):
        if lower.endswith(ending):
            return ending
    return Path(name).suffix


def _alias_inputs(files: list[str], scratch: Path) -> dict[str, str]:
    """Symlink every input under a plain name in the scratch folder: alias -> original.

    DuckDB expands glob characters in every path it is given, even in a list; the aliases
    hold none, so each file is read exactly once, as itself.
    """
    folder = scratch / "inputs"
    folder.mkdir(mode=0o700)
    aliases: dict[str, str] = {}
    for i, name in enumerate(files):
        alias = folder / f"in-{i:06d}{_suffix(name)}"
        os.symlink(os.path.abspath(name), alias)
        aliases[str(alias)] = name
    return aliases


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _csv_delimiter(name: str) -> str:
    return "\t" if ".tsv" in name.lower() else ","


def _csv_header(name: str, shown: str) -> list[str]:
    """Column names of a CSV file's header row (read with Python's csv module)."""
    opener = gzip.open if name.lower().endswith(".gz") else open
    try:
        with opener(name, "rb") as handle:
            first = handle.readline(1 << 20)
    except OSError as error:
        raise InputFormatError(f"cannot read file ({error})", file=shown) from error
    try:
        text = codecs.decode(first, "utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputFormatError(
            "line 1 is not UTF-8 text; expected a UTF-8 CSV file (re-save it as UTF-8)",
            file=shown,
            row=0,
        ) from error
    if not text.strip():
        raise InputFormatError("empty CSV file; expected a header row", file=shown)
    try:
        names = next(csv.reader([text.rstrip("\r\n")], delimiter=_csv_delimiter(name), strict=True))
    except csv.Error as error:
        raise InputFormatError(f"line 1 (header) is not valid CSV ({error})", file=shown) from error
    names = [n.strip() for n in names]
    seen = {n for n in names if names.count(n) > 1}
    if seen:
        raise InputFormatError(
            "duplicate column name in the header; expected unique names",
            file=shown,
            column=sorted(seen)[0],
        )
    return names


def _source_sql(kind: str, header: list[str] | None = None, delimiter: str = ",") -> str:
    """Table function over the ``$files`` parameter."""
    if kind == "parquet":
        return "read_parquet($files, union_by_name=true)"
    assert header is not None
    columns = ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in header)
    return (
        f"read_csv($files, header=true, auto_detect=false, delim={_literal(delimiter)}, "
        f"quote='\"', escape='\"', strict_mode=true, columns={{{columns}}})"
    )


def _schemas(
    con: duckdb.DuckDBPyConnection, aliases: dict[str, str], kind: str
) -> tuple[dict[str, str], list[str] | None]:
    """Column -> DuckDB type, identical in every file (else the first differing file is named).

    Returns the schema and, for CSV, the header (every column read as VARCHAR).
    """
    first_schema: dict[str, str] | None = None
    first_name = ""
    header: list[str] | None = None
    for alias, original in aliases.items():
        if kind == "csv":
            names = _csv_header(alias, original)
            schema = dict.fromkeys(names, "VARCHAR")
            if header is None:
                header = names
        else:
            try:
                rows = con.execute(
                    "DESCRIBE SELECT * FROM read_parquet($f)", {"f": [alias]}
                ).fetchall()
            except duckdb.Error as error:
                raise _ingest_error_from_duckdb(error, aliases) from error
            schema = {str(r[0]): _type_class(str(r[1]).upper()) for r in rows}
        if first_schema is None:
            first_schema, first_name = schema, original
            continue
        if kind == "csv" and list(schema) != list(first_schema):
            raise InputFormatError(
                f"header differs from the first file's ({first_name}); expected the same "
                f"columns in every file, got {list(schema)} instead of {list(first_schema)}",
                file=original,
            )
        for column, kind_of in first_schema.items():
            if column in schema and schema[column] != kind_of:
                raise InputFormatError(
                    f"column type differs from the first file's ({first_name}): "
                    f"{schema[column]} instead of {kind_of}; expected one schema for all files",
                    file=original,
                    column=column,
                )
    assert first_schema is not None
    if kind == "parquet":  # full DuckDB types of the first file
        first = next(iter(aliases))
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet($f)", {"f": [first]}).fetchall()
        return {str(r[0]): str(r[1]).upper() for r in rows}, None
    return first_schema, header


def _type_class(duck_type: str) -> str:
    base = duck_type.split("(")[0].strip()
    if base in _TIMESTAMP_TYPES or base in _TIMESTAMPTZ_TYPES:
        return "timestamp"
    if base in _NUMBER_TYPES or base.startswith("DECIMAL"):
        return "number"
    return duck_type


# --------------------------------------------------------------------------- errors
_DUCK_NOISE = (
    "original line",
    "possible fix",
    "possible solution",
    "* ",
    "line 1:",
    "^",
    "file =",
)


# DuckDB's CSV cause sentences (kept even when they follow the dropped "Original Line")
_DUCK_CAUSE = re.compile(
    r"(Value with unterminated quote found\.|Invalid unicode \(byte sequence mismatch\) "
    r"detected\..*|Maximum line size of \d+ bytes exceeded\..*|Expected Number of Columns: "
    r"\d+ Found: \d+|Too many columns.*|Found incomplete.*)"
)


def _ingest_error_from_duckdb(error: duckdb.Error, aliases: dict[str, str]) -> IngestError:
    """Translate a DuckDB failure into a located IngestError, without raw values.

    The cause lines are kept; DuckDB's ``Original Line`` block (which can hold raw handles),
    its list of possible fixes and its option dump are dropped.
    """
    text = str(error).strip()
    for alias, original in aliases.items():
        text = text.replace(alias, original)
    culprit = None
    match = re.search(r"^\s*file = (.*)$", text, re.M)
    if match:
        culprit = match.group(1).strip()
    else:
        culprit = next((f for f in aliases.values() if f in text), None)
    if culprit is None and len(aliases) == 1:
        culprit = next(iter(aliases.values()))
    if isinstance(error, duckdb.OutOfMemoryException) or "out of memory" in text.lower():
        return IngestResourceError(
            "out of memory: the per-channel state did not fit in the memory limit (about "
            "300 bytes per channel; nothing is spilled to disk, so that no raw id can reach "
            "it); raise --memory-limit (memory_limit=) or lower --threads",
            file=culprit or ", ".join(aliases.values()),
        )
    if "no space left" in text.lower():
        return IngestResourceError(
            "no space left on the temporary disk; give --temp-dir a folder with free space",
            file=culprit or ", ".join(aliases.values()),
        )
    kept: list[str] = []
    skipping = False
    csv_line = None
    for line in text.splitlines():
        stripped = line.strip()
        low = stripped.lower()
        if not stripped:
            skipping = False
            continue
        if low.startswith("original line"):
            skipping = True  # the block runs to the next blank line
            continue
        if _DUCK_CAUSE.fullmatch(stripped):
            kept.append(stripped)  # a known cause sentence, even inside the skipped block
            continue
        if skipping or low.startswith(_DUCK_NOISE) or line.startswith("  "):
            continue
        hit = re.search(r"CSV Error on Line: (\d+)", stripped)
        if hit:
            csv_line = int(hit.group(1))
            continue
        kept.append(stripped)
    message = "; ".join(dict.fromkeys(kept)) or type(error).__name__
    message = re.sub(r"\s+", " ", message)
    # values DuckDB quotes in a message ("Could not convert string '...'") may be raw ids
    message = re.sub(r"'[^']{1,500}'", "'<withheld>'", message)
    if "magic bytes" in text or "parquet" in text.lower():
        message = f"cannot read Parquet file (corrupt or not Parquet): {message}"
        return InputFormatError(message, file=culprit or ", ".join(aliases.values()))
    if csv_line is not None:
        return InputFormatError(
            f"CSV line {csv_line}: {message}",
            file=culprit or ", ".join(aliases.values()),
            row=csv_line - 1,
        )
    return IngestError(message, file=culprit or ", ".join(aliases.values()))


# --------------------------------------------------------------------------- SQL pieces
def _timestamp_sql(
    column: str,
    duck_type: str,
    files: str,
    *,
    epoch_unit: str | None,
    time_format: str | None,
) -> tuple[str, str]:
    """SQL of the time as naive UTC TIMESTAMP, and SQL of "this row is an epoch number"."""
    col = _quote(column)
    base = duck_type.split("(")[0].strip()
    if base in _TIMESTAMP_TYPES:
        return (col if base == "TIMESTAMP" else f"CAST({col} AS TIMESTAMP)"), "FALSE"
    if base in _TIMESTAMPTZ_TYPES:
        return f"CAST(timezone('UTC', CAST({col} AS TIMESTAMPTZ)) AS TIMESTAMP)", "FALSE"
    if base == "VARCHAR":
        sql = _times.varchar_time_sql(col, epoch_unit=epoch_unit, time_format=time_format)
        pattern = _times._NUMBER.pattern
        return sql, f"coalesce(regexp_full_match(trim({col}), '{pattern}'), FALSE)"
    if base in _NUMBER_TYPES or base.startswith("DECIMAL"):
        if epoch_unit is None:
            raise TimeValueError(
                f"column holds numbers ({duck_type}); numeric times need an explicit unit: "
                "pass --epoch-unit s|ms|us|ns (epoch_unit=)",
                file=files,
                column=column,
            )
        return _times.epoch_sql(f"CAST({col} AS DOUBLE)", epoch_unit), "TRUE"
    raise TimeValueError(
        f"column type {duck_type} cannot hold times; expected a timestamp, an ISO 8601 "
        "string or epoch numbers",
        file=files,
        column=column,
    )


def _bind(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The parameters ``sql`` refers to (DuckDB refuses unused named parameters)."""
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    return {k: v for k, v in params.items() if k in used}


def _checked_memory_limit(limit: str) -> str:
    text = str(limit).strip()
    if not text or not all(ch.isalnum() or ch in ". " for ch in text):
        raise IngestError("bad memory limit; expected e.g. '512MB' or '2GB'", value=limit)
    return text


def refuse_identifying_covariates(
    keep: Iterable[str], reserved: set[str], file: str | Path | None = None
) -> None:
    """Refuse covariates that are input columns of the table or look identifying.

    Raises
    ------
    IngestError
        Naming the column: it is an id, a time or another input column (``reserved``), or
        its name suggests handles, titles or names (:data:`IDENTIFYING_NAME`).
    """
    for column in keep:
        if column in reserved or IDENTIFYING_NAME.search(column):
            raise IngestError(
                "this column cannot be kept as a covariate (it is an identifier, a time, or "
                "may hold handles, titles or names); keep only non-identifying covariates",
                file=file,
                column=column,
            )


def _check_keep_columns(keep: tuple[str, ...], names: MessageLogColumns) -> tuple[str, ...]:
    reserved = {names.channel_id, names.timestamp, names.forwarded_from, names.message_id}
    refuse_identifying_covariates(keep, reserved)
    return keep


# --------------------------------------------------------------------------- main
def message_log_to_channel_events(
    path: str | Path,
    *,
    observation_end: str | pd.Timestamp | None = None,
    inactivity_days: float = DEFAULT_INACTIVITY_DAYS,
    columns: MessageLogColumns | None = None,
    hash_ids: bool = True,
    hash_key: str | bytes | None = None,
    hash_key_env: str = HASH_KEY_ENV,
    allow_demo_key: bool = False,
    epoch_unit: str | None = None,
    time_format: str | None = None,
    allow_future: bool = False,
    keep_columns: tuple[str, ...] | list[str] = (),
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
        ``observation_end`` *went dark* at its last message; the detection horizon is
        ``observation_end - inactivity_days``.
    columns
        Input column names (defaults: ``channel_id``, ``timestamp``, ``forwarded_from``,
        ``message_id``).
    hash_ids
        Replace ``channel_id`` by its keyed HMAC-SHA256 digest (default).
    hash_key, hash_key_env, allow_demo_key
        Key, or the environment variable holding it; the public demo key only with
        ``allow_demo_key=True`` (see :func:`analysis.ingest.privacy.resolve_hash_key`).
    epoch_unit
        Unit of numeric times (``s``, ``ms``, ``us``, ``ns``); numbers are refused without.
    time_format
        ``strptime`` format of text times (default: ISO 8601).
    allow_future
        Accept times after now (plus a day of tolerance).
    keep_columns
        Covariates to keep (value at each channel's first message); identifiers, handles
        and titles are refused.
    check_duplicates
        Check that ``(channel_id, message_id)`` is unique.  Default: when the log has a
        ``message_id`` column.  Costs a second pass over the log.
    memory_limit
        DuckDB ``memory_limit`` (e.g. ``"512MB"``); nothing is spilled to disk, so the
        per-channel state (about 300 bytes per channel) must fit in it.
    threads
        DuckDB worker threads (default: the number of CPUs).
    temp_directory
        Parent of the private scratch folder (default: the system temporary folder).
    progress
        Show a progress bar (default: when standard error is a terminal).

    Returns
    -------
    pandas.DataFrame
        Validated channel event table, sorted by ``channel_id``; ``attrs["takedowns_ingest"]``
        holds the metadata written with it (key fingerprint, observation end, horizon...).

    Raises
    ------
    IngestError
        Missing input, wrong or missing columns, unreadable or implausible times, null channel
        id, duplicate message, corrupt file, out of memory; naming file, row and column.
    """
    if not inactivity_days >= 0:
        raise IngestError("inactivity_days must be >= 0", value=inactivity_days)
    names = columns or MessageLogColumns()
    keep = _check_keep_columns(tuple(keep_columns), names)
    _times.check_epoch_unit(epoch_unit)
    mem = _checked_memory_limit(memory_limit)
    files = resolve_input_files(path)
    kind = _file_kind(files[0])
    end = None if observation_end is None else _times.observation_end_timestamp(observation_end)
    key = (
        resolve_hash_key(hash_key, env_var=hash_key_env, allow_demo=allow_demo_key)
        if hash_ids
        else b""
    )
    scratch = make_scratch(temp_directory)
    con: duckdb.DuckDBPyConnection | None = None
    aliases: dict[str, str] = {}
    try:
        aliases = _alias_inputs(files, scratch)
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{mem}'")
        con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        con.execute("SET preserve_insertion_order = false")
        # No spilling, on purpose: DuckDB writes whole buffer blocks to its temporary files,
        # and a block can still hold bytes of raw ids read earlier (memory is reused without
        # being cleared), even though every operator only sees digests.  The per-channel
        # state must therefore fit in memory_limit (about 300 bytes per channel).
        con.execute("SET temp_directory = ''")
        con.execute("SET enable_external_file_cache = false")  # no cached raw file blocks
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # ours is tqdm (progress.run_query)
        scan = _Scan(con, aliases, kind, names, key, epoch_unit, time_format)
        frame = scan.aggregate(end, keep, progress)
        scan.check(frame, allow_future)
        if not (frame["n_messages"] > 0).any():
            raise IngestError(
                "no messages in the log"
                + ("" if end is None else f" up to the observation end {end}")
                + "; expected at least one message row",
                file=scan.shown,
            )
        if check_duplicates is None:
            check_duplicates = names.message_id in scan.schema
        if check_duplicates:
            scan.check_duplicates()
        synthetic = scan.is_synthetic()
    except duckdb.Error as error:
        raise _ingest_error_from_duckdb(error, aliases) from error
    finally:
        if con is not None:
            con.close()
        remove_scratch(scratch)
    events, meta = _to_channel_events(
        frame, end, inactivity_days, scan.has_forward, keep, key, hash_ids
    )
    meta.update(
        {
            "source_kind": "message_log",
            "epoch_unit": epoch_unit or "",
            "time_format": time_format or "",
        }
    )
    if synthetic:  # the label travels with the table (see analysis.plots.is_synthetic)
        meta["synthetic"] = "true"
        events.attrs["synthetic"] = True
    events.attrs["takedowns_ingest"] = meta
    return events


class _Scan:
    """The SQL over one message log: aggregate, checks and error location."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        aliases: dict[str, str],
        kind: str,
        names: MessageLogColumns,
        key: bytes,
        epoch_unit: str | None,
        time_format: str | None,
    ) -> None:
        self.con, self.aliases, self.kind, self.names, self.key = con, aliases, kind, names, key
        self.epoch_unit, self.time_format = epoch_unit, time_format
        self.files = list(aliases)
        self.shown = ", ".join(aliases.values())
        schema, header = _schemas(con, aliases, kind)
        self.schema = schema
        missing = [c for c in (names.channel_id, names.timestamp) if c not in schema]
        if missing:
            raise IngestError(
                f"missing column(s) {missing}; expected columns {names.channel_id!r}, "
                f"{names.timestamp!r} (optional {names.forwarded_from!r}, {names.message_id!r});"
                f" found {sorted(schema)}",
                file=self.shown,
                column=missing[0],
            )
        self.delimiter = _csv_delimiter(self.files[0])
        self.source = _source_sql(kind, header, self.delimiter)
        self.ts_sql, self.is_num_sql = _timestamp_sql(
            names.timestamp,
            schema[names.timestamp],
            self.shown,
            epoch_unit=epoch_unit,
            time_format=time_format,
        )
        self.has_forward = names.forwarded_from in schema
        self.params: dict[str, object] = {"files": self.files}
        if time_format is not None:
            self.params["time_format"] = time_format
        raw_cid = f"CAST({_quote(names.channel_id)} AS VARCHAR)"
        self.raw_cid = raw_cid
        # The scan groups on the inner HMAC digest (keyed: useless without the key); the HMAC
        # is finished once per channel, after grouping (half the per-row hashing).
        if key:
            inner, outer = hmac_sql_parts(key)
            self.params["inner"], self.params["outer"] = inner, outer
            self.cid_sql = hmac_inner_sql(raw_cid, "$inner")
            self.finish_sql = hmac_outer_sql("cid", "$outer")
        else:
            self.cid_sql = raw_cid
            self.finish_sql = "cid"

    # ---------------------------------------------------------------- aggregate
    def is_synthetic(self) -> bool:
        """Whether the log is labelled SYNTHETIC (:func:`analysis.observation.
        write_synthetic_table`): Parquet key-value metadata ``synthetic=true`` in any file,
        or a ``synthetic`` column with a true value (CSV)."""
        if self.kind == "parquet":
            for alias in self.files:
                metadata = pq.read_schema(alias).metadata or {}
                if metadata.get(b"synthetic", b"").lower() == b"true":
                    return True
        if "synthetic" not in self.schema:
            return False
        sql = (
            "SELECT bool_or(lower(CAST(synthetic AS VARCHAR)) IN ('true', '1', 'yes')) "
            f"FROM {self.source}"
        )
        (flag,) = self.con.execute(sql, _bind(sql, self.params)).fetchone()
        return bool(flag)

    def aggregate(
        self, end: pd.Timestamp | None, keep: tuple[str, ...], progress: bool | None
    ) -> pd.DataFrame:
        """One pass: per (hashed) channel first/last message, counts and check counters."""
        names = self.names
        for column in keep:
            if column not in self.schema:
                raise IngestError(
                    f"covariate to keep not found; found {sorted(self.schema)}",
                    file=self.shown,
                    column=column,
                )
        params = dict(self.params)
        keep_rows = "TRUE"
        if end is not None:
            keep_rows = "ts <= $obs_end"
            params["obs_end"] = end.to_pydatetime()
        filt = "" if end is None else f" FILTER (WHERE {keep_rows})"
        quote_flag = (
            f"coalesce(strpos({self.raw_cid}, '\"') > 0, FALSE)" if self.kind == "csv" else "FALSE"
        )
        extra_select = ""
        extra_agg = ""
        if self.has_forward:
            extra_select += f", {_quote(names.forwarded_from)} IS NOT NULL AS fwd"
            extra_agg += f", count(*) FILTER (WHERE fwd AND {keep_rows}) AS n_forwarded_messages"
        for i, column in enumerate(keep):
            extra_select += f", {_quote(column)} AS keep_{i}"
            extra_agg += f", arg_min(keep_{i}, ts){filt} AS keep_{i}"
        # The channel id is hashed HERE, in the scan projection: the aggregation only ever
        # sees digests.
        sql = f"""
            WITH log AS (
                SELECT {self.cid_sql} AS cid, {self.ts_sql} AS ts,
                       {self.is_num_sql} AS is_num, {quote_flag} AS has_quote
                       {extra_select}
                FROM {self.source}
            )
            SELECT {self.finish_sql} AS channel_id, cid IS NULL AS null_channel,
                   min(ts){filt} AS created_at,
                   max(ts){filt} AS last_message_at,
                   count(ts){filt} AS n_messages,
                   count(*) - count(ts) AS n_bad_times,
                   min(ts) AS min_all, max(ts) AS max_all,
                   min(ts) FILTER (WHERE is_num) AS min_num,
                   count(*) FILTER (WHERE has_quote) AS n_quotes
                   {extra_agg}
            FROM log GROUP BY cid ORDER BY channel_id
        """
        return run_query(
            self.con,
            sql,
            _bind(sql, params),
            progress=progress_wanted(progress),
            description="message log",
        )

    # ---------------------------------------------------------------- checks
    def check(self, frame: pd.DataFrame, allow_future: bool) -> None:
        """Locate and raise the first problem found by the aggregate."""
        names = self.names
        col_ts = _quote(names.timestamp)
        if frame["null_channel"].any():
            file, row, _ = self.locate(f"{self.raw_cid} IS NULL", None)
            raise IngestError(
                "missing channel id; expected a non-empty channel id",
                file=file,
                row=row,
                column=names.channel_id,
            )
        if frame["n_quotes"].sum() > 0:
            file, row, value = self.locate(f"strpos({self.raw_cid}, '\"') > 0", self.raw_cid)
            raise InputFormatError(
                "stray quote character inside an unquoted channel id (unbalanced CSV "
                'quoting); expected a quoted field, "like ""this""", or no quotes',
                file=file,
                row=row,
                column=names.channel_id,
                value=withheld(value, self.key),
            )
        if frame["n_bad_times"].sum() > 0:
            file, row, value = self.locate(f"({self.ts_sql}) IS NULL", f"CAST({col_ts} AS VARCHAR)")
            raise self._bad_time(file, row, value)
        mins = frame["min_num"].dropna()
        if len(mins) and pd.Timestamp(mins.min()) < _times.EARLIEST_EPOCH_TIME:
            early = _times.EARLIEST_EPOCH_TIME.to_pydatetime()
            file, row, value = self.locate(
                f"({self.is_num_sql}) AND ({self.ts_sql}) < $early",
                f"CAST({col_ts} AS VARCHAR)",
                {"early": early},
            )
            raise TimeValueError(
                f"epoch time before {_times.EARLIEST_EPOCH_TIME.date()} when read as "
                f"--epoch-unit {self.epoch_unit}; expected a plausible time"
                + _times.unit_hint(value, self.epoch_unit),
                file=file,
                row=row,
                column=names.timestamp,
                value=value,
            )
        latest = frame["max_all"].dropna()
        limit = _times.future_limit()
        if not allow_future and len(latest) and pd.Timestamp(latest.max()) > limit:
            file, row, value = self.locate(
                f"({self.ts_sql}) > $limit",
                f"CAST({col_ts} AS VARCHAR)",
                {"limit": limit.to_pydatetime()},
            )
            hint = _times.unit_hint(value, self.epoch_unit) if self.epoch_unit else ""
            raise FutureTimeError(
                f"time after now ({limit.floor('s')} with tolerance); expected past times "
                f"(pass --allow-future if this is genuine){hint}",
                file=file,
                row=row,
                column=names.timestamp,
                value=safe_time_text(value, self.key),
            )

    def _bad_time(self, file: str, row: int | None, value: object) -> TimeValueError:
        column = self.names.timestamp
        if value is None:
            return TimeValueError(
                "missing timestamp; expected a time on every message",
                file=file,
                row=row,
                column=column,
            )
        text = str(value)
        if _times.is_number_text(text):
            if self.epoch_unit is None:
                return TimeValueError(
                    "numeric time without a unit; pass --epoch-unit s|ms|us|ns (epoch_unit=)"
                    + _times.unit_hint(text, None),
                    file=file,
                    row=row,
                    column=column,
                    value=text,
                )
            return TimeValueError(
                f"epoch time out of range for --epoch-unit {self.epoch_unit}"
                + _times.unit_hint(text, self.epoch_unit),
                file=file,
                row=row,
                column=column,
                value=text,
            )
        expected = (
            f"a time in the format {self.time_format!r}"
            if self.time_format
            else "an ISO 8601 time, a timestamp or epoch numbers with --epoch-unit"
        )
        return TimeValueError(
            f"unparseable timestamp; expected {expected}",
            file=file,
            row=row,
            column=column,
            value=safe_time_text(text, self.key),
        )

    def check_duplicates(self) -> None:
        """``(channel_id, message_id)`` unique; grouping on the digest, never the raw id."""
        names = self.names
        if names.message_id not in self.schema:
            raise IngestError(
                f"duplicate check needs a {names.message_id!r} column; found {sorted(self.schema)}",
                file=self.shown,
                column=names.message_id,
            )
        mid = f"CAST({_quote(names.message_id)} AS VARCHAR)"
        sql = (
            f"SELECT c, m FROM (SELECT {self.cid_sql} AS c, {mid} AS m FROM {self.source}) "
            "GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
        )
        hit = self.con.execute(sql, _bind(sql, self.params)).fetchone()
        if hit is None:
            return
        condition = f"{self.cid_sql} = $c AND {mid} = $m"
        found = self.locate_all(condition, {"c": hit[0], "m": hit[1]}, limit=2)
        file, row = found[1] if len(found) > 1 else (self.shown, None)
        if self.key:
            finish = self.finish_sql.replace("cid", "$c")
            digest = self.con.execute(
                f"SELECT {finish}", {"c": hit[0], "outer": self.params["outer"]}
            ).fetchone()[0]
        else:
            digest = withheld(hit[0])
        raise IngestError(
            f"duplicate row: message {hit[1]!r} of channel {digest} seen twice; expected "
            "each (channel_id, message_id) once",
            file=file,
            row=row,
            column=names.message_id,
        )

    # ---------------------------------------------------------------- location
    def locate(
        self, condition: str, value_sql: str | None, extra: dict[str, object] | None = None
    ) -> tuple[str, int | None, object]:
        """First (file, 1-based data row, value) where ``condition`` holds (error path only)."""
        value = "NULL" if value_sql is None else value_sql
        params = {**self.params, **(extra or {})}
        if self.kind == "parquet":
            sql = (
                f"SELECT filename, file_row_number, {value} FROM "
                f"read_parquet($files, union_by_name=true, filename=true, "
                f"file_row_number=true) WHERE {condition} "
                "ORDER BY filename, file_row_number LIMIT 1"
            )
            hit = self.con.execute(sql, _bind(sql, params)).fetchone()
            if hit is not None:
                return self.aliases.get(str(hit[0]), str(hit[0])), int(hit[1]) + 1, hit[2]
            return self.shown, None, None
        self.con.execute("SET preserve_insertion_order = true")
        one = self.source.replace("$files", "$file")
        for alias in self.files:
            # The window numbers rows over the condition and the value only (raw columns are
            # reduced in the inner projection), so nothing identifying is buffered.
            sql = (
                "SELECT n, v FROM (SELECT row_number() OVER () AS n, bad, v FROM ("
                f"SELECT coalesce({condition}, FALSE) AS bad, "
                f"CASE WHEN {condition} THEN {value} END AS v FROM {one})) "
                "WHERE bad ORDER BY n LIMIT 1"
            )
            params["file"] = [alias]
            hit = self.con.execute(sql, _bind(sql, params)).fetchone()
            if hit is not None:
                return self.aliases[alias], int(hit[0]), hit[1]
        return self.shown, None, None

    def locate_all(
        self, condition: str, extra: dict[str, object], limit: int
    ) -> list[tuple[str, int]]:
        """Up to ``limit`` (file, 1-based data row) where ``condition`` holds."""
        params = {**self.params, **extra}
        if self.kind == "parquet":
            rows = self.con.execute(
                "SELECT filename, file_row_number FROM read_parquet($files, union_by_name=true, "
                f"filename=true, file_row_number=true) WHERE {condition} "
                f"ORDER BY filename, file_row_number LIMIT {int(limit)}",
                _bind(condition + " $files", params),
            ).fetchall()
            return [(self.aliases.get(str(r[0]), str(r[0])), int(r[1]) + 1) for r in rows]
        self.con.execute("SET preserve_insertion_order = true")
        one = self.source.replace("$files", "$file")
        found: list[tuple[str, int]] = []
        for alias in self.files:
            params["file"] = [alias]
            sql = (
                "SELECT n FROM (SELECT row_number() OVER () AS n, hit FROM ("
                f"SELECT coalesce({condition}, FALSE) AS hit FROM {one})) WHERE hit "
                f"ORDER BY n LIMIT {int(limit)}"
            )
            rows = self.con.execute(sql, _bind(sql, params)).fetchall()
            found.extend((self.aliases[alias], int(r[0])) for r in rows)
            if len(found) >= limit:
                break
        return found[:limit]


def _to_channel_events(
    frame: pd.DataFrame,
    end: pd.Timestamp | None,
    inactivity_days: float,
    has_forward: bool,
    keep: tuple[str, ...],
    key: bytes,
    hashed: bool,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Apply the went-dark rule and shape the aggregate as a channel event table."""
    frame = frame.loc[frame["n_messages"] > 0].reset_index(drop=True)
    last = frame["last_message_at"].astype("datetime64[ns]")
    if end is None:
        end = last.max() if len(frame) else pd.Timestamp("1970-01-01")
    horizon = end - pd.Timedelta(days=float(inactivity_days))
    dark = (last < horizon).to_numpy()
    codes = np.where(dark, END_REASONS.index("went_dark"), -1)

    def constant(stamp: pd.Timestamp) -> pd.Series:
        return pd.Series(
            np.full(len(frame), np.datetime64(stamp.to_datetime64(), "ns")), index=frame.index
        )

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
            "observation_end": constant(end),
            "detection_horizon": constant(horizon),
            "last_message_at": last,
            "n_messages": frame["n_messages"].astype("int64"),
        }
    )
    if has_forward:
        out["n_forwarded_messages"] = frame["n_forwarded_messages"].astype("int64")
    for i, column in enumerate(keep):
        if column in out.columns:
            raise IngestError("covariate name clashes with an output column", column=column)
        out[column] = frame[f"keep_{i}"]
    meta = {
        **key_metadata(key if hashed else None),
        "observation_end": str(end),
        "detection_horizon": str(horizon),
        "inactivity_days": repr(float(inactivity_days)),
        "n_channels": str(len(out)),
        "n_went_dark": str(int(dark.sum())),
    }
    return out, meta


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
        ``.parquet`` or ``.csv`` destination, checked before the scan; nothing is written if
        anything fails.  Metadata (key fingerprint, demo-key flag, observation end, detection
        horizon) goes into the Parquet metadata or ``<output>.meta.json``.
    **options
        Passed to :func:`message_log_to_channel_events`.

    Returns
    -------
    pandas.DataFrame
        The table written.
    """
    check_destination(output, raw_identifiers=not options.get("hash_ids", True))
    events = message_log_to_channel_events(path, **options)  # type: ignore[arg-type]
    write_table_atomic(events, output, events.attrs.get("takedowns_ingest"))
    return events
