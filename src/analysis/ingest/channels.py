"""Researchers' channel tables (CSV or Parquet) -> channel event table.

Input columns
-------------
One row per channel.  Times are ISO 8601 dates or date-times (an offset is converted to UTC,
none means UTC); Parquet files may instead hold timestamp columns, or float days since an
origin of the researcher's choice (then every time column, and ``observation_end``, is days).

=================== ======== ==========================================================
column              required meaning
=================== ======== ==========================================================
``channel_id``      yes      the researcher's id of the channel (unique, non-empty)
``first_seen``      yes      first time the channel was seen (alias: ``created_at``)
``last_seen``       yes*     last time it was seen active (alias: ``ended_at``, taken as is)
``end_reason``      no       ``banned``, ``went_dark``, ``deleted``, ``unknown`` or empty
``observation_end`` no       end of observation for the row (default: the argument)
``observation_start`` no     delayed entry: observed only from this time
``family_id``       no       lineage id when the researcher knows it
``predecessor_id``  no       ``channel_id`` of the banned channel this one re-creates
``handle``          no       the channel's handle; used for successor linking, then hashed
``title``           no       the channel's title; used for successor linking, then hashed
=================== ======== ==========================================================

(*) one of ``last_seen`` or ``ended_at``.  Other columns are dropped with a warning (they may
hold identifying text).

Rules
-----
With ``last_seen``: a row with an ``end_reason`` ended at ``last_seen``; a row without one
*went dark* at ``last_seen`` when that is more than ``inactivity_days`` before its
``observation_end``, and is otherwise still active (``ended_at`` null, censored).  With
``ended_at`` the values are taken as they are (contract of :mod:`analysis.channels`).
``observation_end`` defaults to the latest time in the table; a bare date given for it
means the whole day (observation ends at its last microsecond).

Errors name the file, the row (1-based data row; the CSV header is line 1, so data row ``n``
is line ``n + 1``), the column and the value.  Outputs hash ``channel_id``, ``family_id``,
``predecessor_id``, ``handle`` and ``title`` with a key (:mod:`analysis.ingest.privacy`);
``handle`` and ``title`` become ``handle_hash`` and ``title_hash``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from analysis.channels import validate_channel_events
from analysis.errors import ChannelTableError, IngestError
from analysis.ingest._times import observation_end_timestamp
from analysis.ingest.output import ensure_private_destination, write_table_atomic
from analysis.ingest.privacy import HASH_KEY_ENV, hash_columns, resolve_hash_key

DEFAULT_INACTIVITY_DAYS = 30.0
REQUIRED_INPUT_COLUMNS = ("channel_id", "first_seen", "last_seen")
OPTIONAL_INPUT_COLUMNS = (
    "end_reason",
    "observation_end",
    "observation_start",
    "family_id",
    "predecessor_id",
    "handle",
    "title",
)
COLUMN_ALIASES = {"created_at": "first_seen"}
_TIME_INPUTS = ("first_seen", "last_seen", "ended_at", "observation_end", "observation_start")
_ID_INPUTS = ("channel_id", "family_id", "predecessor_id")
HASHED_COLUMNS = ("channel_id", "family_id", "predecessor_id", "handle", "title")
TEXT_COLUMNS = ("handle", "title")


class UndocumentedColumnWarning(UserWarning):
    """Columns outside the documented set were dropped (they may hold identifying text)."""


def read_channel_table(path: str | Path) -> pd.DataFrame:
    """Read a channel table file as it is (strings for CSV), checking its columns.

    Parameters
    ----------
    path
        ``.csv`` or ``.parquet`` file.

    Returns
    -------
    pandas.DataFrame
        The documented columns present (aliases renamed), in file order.  Holds raw handles
        and titles when the file does: keep it in memory, write only hashed outputs.

    Raises
    ------
    IngestError
        Unreadable or corrupt file, missing required column.
    """
    file = Path(path)
    if not file.is_file():
        raise IngestError("no such file; expected a channel table (.csv or .parquet)", file=file)
    suffix = file.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        try:
            frame = pq.read_table(file).to_pandas()
        except (pa.ArrowException, OSError, ValueError) as error:
            raise IngestError(
                f"cannot read Parquet file (corrupt or not Parquet): {error}", file=file
            ) from error
    elif suffix == ".csv":
        try:
            frame = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as error:
            raise IngestError(f"cannot read CSV file: {error}", file=file) from error
        except pd.errors.EmptyDataError as error:
            raise IngestError("empty CSV file; expected a header row", file=file) from error
    else:
        raise IngestError("unknown file type; expected .csv or .parquet", file=file, value=suffix)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.rename(columns={k: v for k, v in COLUMN_ALIASES.items() if k in frame.columns})
    has_end = "last_seen" in frame.columns or "ended_at" in frame.columns
    missing = [c for c in ("channel_id", "first_seen") if c not in frame.columns]
    if not has_end:
        missing.append("last_seen")
    if missing:
        raise IngestError(
            f"missing column(s) {missing}; expected {list(REQUIRED_INPUT_COLUMNS)} "
            f"(or 'created_at'/'ended_at'), found {list(frame.columns)}",
            file=file,
            column=missing[0],
        )
    known = {*REQUIRED_INPUT_COLUMNS, *OPTIONAL_INPUT_COLUMNS, "ended_at"}
    extra = [c for c in frame.columns if c not in known]
    if extra:
        warnings.warn(
            f"{file}: dropped undocumented column(s) {extra} (they may hold identifying text)",
            UndocumentedColumnWarning,
            stacklevel=2,
        )
        frame = frame.drop(columns=extra)
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise IngestError("duplicate column name", file=file, column=duplicated[0])
    return frame.reset_index(drop=True)


def channel_table_to_events(
    table: pd.DataFrame,
    *,
    observation_end: str | float | pd.Timestamp | None = None,
    inactivity_days: float | None = DEFAULT_INACTIVITY_DAYS,
    source: str | Path | None = None,
) -> pd.DataFrame:
    """Turn a channel table (see the module docstring) into a validated channel event table.

    Parameters
    ----------
    table
        Output of :func:`read_channel_table` (or an equivalent DataFrame).
    observation_end
        End of observation for rows without their own; default the latest time in the table.
    inactivity_days
        Rows without ``end_reason`` whose ``last_seen`` is more than this many days before
        ``observation_end`` went dark; ``None`` disables the rule (they are censored).
    source
        File name quoted in errors.

    Returns
    -------
    pandas.DataFrame
        Channel event table (unhashed: hash with :func:`hash_channel_events` before writing).

    Raises
    ------
    IngestError
        Unparseable time, duplicate ``channel_id``, inconsistent row, naming row and column.
    """
    src = str(source) if source is not None else None
    frame = table.reset_index(drop=True)
    times = {c: _parse_times(frame[c], c, src) for c in _TIME_INPUTS if c in frame.columns}
    kinds = {("numeric" if is_numeric_dtype(s.dtype) else "datetime") for s in times.values()}
    if len(kinds) > 1:
        raise IngestError(
            "mixed time types (numbers and dates); expected all dates or all float days",
            file=src,
        )
    numeric = kinds == {"numeric"}
    ids = {c: _ids(frame[c], c, src) for c in _ID_INPUTS if c in frame.columns}
    _check_duplicates(ids["channel_id"], src)

    end = _default_end(observation_end, times, numeric, src)
    obs_end = times.get("observation_end")
    obs_end = end if obs_end is None else obs_end.fillna(end)
    reason = _end_reasons(frame, src)
    if "ended_at" in times:
        ended = times["ended_at"]
        last_seen = times.get("last_seen", ended)
    else:
        last_seen = times["last_seen"]
        ended = last_seen.where(reason.notna())
        if inactivity_days is not None:
            if not inactivity_days >= 0:
                raise IngestError("inactivity_days must be >= 0", value=inactivity_days)
            gap = inactivity_days if numeric else pd.Timedelta(days=float(inactivity_days))
            dark = reason.isna() & last_seen.notna() & (last_seen < obs_end - gap)
            ended = ended.where(~dark, last_seen)
            reason = reason.where(~dark, "went_dark")
    out = pd.DataFrame(
        {
            "channel_id": ids["channel_id"],
            "family_id": ids.get("family_id", pd.Series(pd.NA, index=frame.index, dtype="string")),
            "created_at": times["first_seen"],
            "ended_at": ended,
            "end_reason": reason,
            "observation_end": obs_end,
        }
    )
    if "observation_start" in times:
        out["observation_start"] = times["observation_start"]
    if "predecessor_id" in ids:
        out["predecessor_id"] = ids["predecessor_id"]
    if "last_seen" in times and "ended_at" not in times:
        out["last_seen"] = last_seen
    for column in TEXT_COLUMNS:
        if column in frame.columns:
            out[column] = frame[column].astype("string")
    try:
        return validate_channel_events(out, source=src)
    except ChannelTableError as error:
        raise _as_ingest_error(error, src) from error


def hash_channel_events(events: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Hash ids, handles and titles; ``handle``/``title`` become ``handle_hash``/``title_hash``."""
    out = hash_columns(events, HASHED_COLUMNS, key)
    return out.rename(columns={c: f"{c}_hash" for c in TEXT_COLUMNS if c in out.columns})


def ingest_channel_table(
    path: str | Path,
    output: str | Path | None = None,
    *,
    observation_end: str | float | pd.Timestamp | None = None,
    inactivity_days: float | None = DEFAULT_INACTIVITY_DAYS,
    link: bool = False,
    window_days: float | None = None,
    threshold: float | None = None,
    hash_ids: bool = True,
    hash_key: str | bytes | None = None,
    hash_key_env: str = HASH_KEY_ENV,
) -> pd.DataFrame:
    """Read, convert, optionally link successors, hash, and write a channel table.

    Parameters
    ----------
    path
        Input ``.csv`` or ``.parquet``.
    output
        Destination ``.parquet``/``.csv`` (written atomically), or None to only return.
    observation_end, inactivity_days
        See :func:`channel_table_to_events`.
    link
        Run :func:`analysis.ingest.linking.link_successors` on the raw handles/titles
        (before hashing) to fill ``family_id`` and ``predecessor_id``.
    window_days, threshold
        Linking parameters (defaults of :func:`~analysis.ingest.linking.link_successors`).
    hash_ids
        Hash ids, handles and titles (default).  Raw output is refused under data/processed.
    hash_key, hash_key_env
        See :func:`analysis.ingest.privacy.resolve_hash_key`.

    Returns
    -------
    pandas.DataFrame
        The table as written.
    """
    if output is not None:
        ensure_private_destination(output, raw_identifiers=not hash_ids)
    events = channel_table_to_events(
        read_channel_table(path),
        observation_end=observation_end,
        inactivity_days=inactivity_days,
        source=path,
    )
    if link:
        from analysis.ingest.linking import link_successors

        options = {}
        if window_days is not None:
            options["window_days"] = window_days
        if threshold is not None:
            options["threshold"] = threshold
        events = link_successors(events, **options)
    if hash_ids:
        events = hash_channel_events(events, resolve_hash_key(hash_key, env_var=hash_key_env))
    if output is not None:
        write_table_atomic(events, output)
    return events


# --------------------------------------------------------------------------- helpers
def _parse_times(raw: pd.Series, column: str, source: str | None) -> pd.Series:
    """Datetime64[ns] (UTC, naive) or float days; errors name the 1-based data row."""
    if is_datetime64_any_dtype(raw.dtype):
        if getattr(raw.dt, "tz", None) is not None:
            raw = raw.dt.tz_convert("UTC").dt.tz_localize(None)
        return raw.astype("datetime64[ns]")
    if is_numeric_dtype(raw.dtype) and not raw.dtype == bool:
        return raw.astype("float64")
    text = raw.astype("string").str.strip()
    text = text.mask(text == "")
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = (parsed.isna() & text.notna()).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IngestError(
            f"unparseable timestamp (CSV line {i + 2} if CSV); expected an ISO 8601 date or "
            "date-time such as 2016-09-05 or 2016-09-05T18:31:12Z",
            file=source,
            row=i + 1,
            column=column,
            value=str(text.iloc[i]),
        )
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def _ids(raw: pd.Series, column: str, source: str | None) -> pd.Series:
    values = raw.astype("string").str.strip()
    values = values.mask(values == "")
    if column == "channel_id" and values.isna().any():
        i = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise IngestError(
            "missing channel id; expected a non-empty id", file=source, row=i + 1, column=column
        )
    return values


def _check_duplicates(ids: pd.Series, source: str | None) -> None:
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])
        raise IngestError(
            f"duplicate row: channel_id already on row {first + 1}; expected one row per channel",
            file=source,
            row=i + 1,
            column="channel_id",
            value=str(ids.iloc[i]),
        )


def _end_reasons(frame: pd.DataFrame, source: str | None) -> pd.Series:
    if "end_reason" not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype="object")
    values = frame["end_reason"].astype("string").str.strip().str.lower()
    values = values.mask(values == "").astype("object").where(lambda s: s.notna(), None)
    allowed = {"banned", "went_dark", "deleted", "unknown"}
    bad = values.notna() & ~values.isin(allowed)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise IngestError(
            f"unknown end_reason; expected one of {sorted(allowed)} or empty",
            file=source,
            row=i + 1,
            column="end_reason",
            value=values.iloc[i],
        )
    return values


def _default_end(
    value: str | float | pd.Timestamp | None,
    times: dict[str, pd.Series],
    numeric: bool,
    source: str | None,
) -> float | pd.Timestamp:
    if value is None:
        latest = [s.max() for s in times.values() if s.notna().any()]
        if not latest:
            raise IngestError("no times in the table; expected first_seen values", file=source)
        return max(latest)
    if numeric:
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as error:
            raise IngestError(
                "observation end must be a number of days for a table in float days",
                file=source,
                column="observation_end",
                value=value,
            ) from error
    return observation_end_timestamp(value, source=source)


def _as_ingest_error(error: ChannelTableError, source: str | None) -> IngestError:
    """Re-raise a schema error with a 1-based data row, like the reader's own errors."""
    text = str(error)
    prefix = ", ".join(
        p
        for p in (
            str(error.file) if error.file is not None else None,
            f"row {error.row}" if error.row is not None else None,
            f"column {error.column!r}" if error.column is not None else None,
        )
        if p
    )
    if prefix and text.startswith(prefix + ": "):
        text = text[len(prefix) + 2 :]
    if error.value is not None and text.endswith(f" (got {error.value!r})"):
        text = text[: -len(f" (got {error.value!r})")]
    return IngestError(
        text,
        file=source,
        row=None if error.row is None else error.row + 1,
        column=error.column,
        value=error.value,
    )
