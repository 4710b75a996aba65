"""Researchers' channel tables (CSV or Parquet) -> channel event table.

Input columns
-------------
One row per channel.  Times are ISO 8601 dates or date-times (an offset is converted to UTC,
none means UTC), text in a ``time_format`` (``strptime``, e.g. ``%d/%m/%Y %H:%M``), Parquet
timestamp columns at any resolution (naive = UTC, tz-aware converted to UTC), or numbers with
an explicit ``time_unit``: ``days`` (float days since an origin of the researcher's choice;
then every time column, and ``observation_end``, is days) or ``s``/``ms``/``us``/``ns`` (Unix
epoch).  Numbers without a unit are refused (see :mod:`analysis.ingest._times`).  Column names
can be mapped (``column_map``, CLI ``--channel-column`` ...).

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
``detection_horizon`` no     follow-up stops there (kept as is when ``ended_at`` is given)
=================== ======== ==========================================================

(*) one of ``last_seen`` or ``ended_at``.  Covariates named in ``keep_columns`` are kept as
they are (never handles or titles; they join other tables through the *hashed* channel id).
Other columns are dropped with a warning (they may hold identifying text).

Rules
-----
With ``last_seen``: a row with an ``end_reason`` ended at ``last_seen``; a row without one
*went dark* at ``last_seen`` when that is more than ``inactivity_days`` before its
``observation_end``, and is otherwise still active (``ended_at`` null, censored).  With
``ended_at`` the values are taken as they are (contract of :mod:`analysis.channels`).
``observation_end`` defaults to the latest time in the table; a bare date given for it
means the whole day (observation ends at its last microsecond).  Times after now (plus a
day) are refused unless ``allow_future``.

Detection horizon: when the inactivity rule is applied, an ending inferred from silence can
only be seen ``inactivity_days`` after it happened, so every row gets
``detection_horizon = observation_end - inactivity_days`` (rows with an explicit
``end_reason`` too); the models stop follow-up there so that all channels are censored at
the same horizon (see :mod:`analysis.ingest.messages` for the bias this removes).  A channel
seen once (``first_seen == last_seen``) is kept; the models' zero-length rule applies.

Errors name the file, the row (1-based data row; the CSV header is line 1, so data row ``n``
is line ``n + 1``), the column and the value; an id, handle or title is never shown (its
digest under the key is, when a key is given).  Outputs hash ``channel_id``, ``family_id``,
``predecessor_id``, ``handle`` and ``title`` with a key (:mod:`analysis.ingest.privacy`);
``handle`` and ``title`` become ``handle_hash`` and ``title_hash``.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.types import is_numeric_dtype

from analysis.channels import validate_channel_events
from analysis.errors import ChannelTableError, IngestError, InputFormatError, TimeValueError
from analysis.ingest._text import decode_utf8
from analysis.ingest._times import (
    check_not_future,
    check_time_unit,
    observation_end_timestamp,
    parse_time_column,
)
from analysis.ingest.output import check_destination, write_table_atomic
from analysis.ingest.privacy import (
    HASH_KEY_ENV,
    hash_columns,
    key_metadata,
    resolve_hash_key,
    withheld,
)

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
    "detection_horizon",
)
COLUMN_ALIASES = {"created_at": "first_seen"}
_TIME_INPUTS = (
    "first_seen",
    "last_seen",
    "ended_at",
    "observation_end",
    "observation_start",
    "detection_horizon",
)
#: Canonical input columns that ``column_map`` may rename (CLI ``--<name>-column``).
MAPPABLE_COLUMNS = (*REQUIRED_INPUT_COLUMNS, *OPTIONAL_INPUT_COLUMNS, "ended_at")
_ID_INPUTS = ("channel_id", "family_id", "predecessor_id")
HASHED_COLUMNS = ("channel_id", "family_id", "predecessor_id", "handle", "title")
TEXT_COLUMNS = ("handle", "title")


class UndocumentedColumnWarning(UserWarning):
    """Columns outside the documented set were dropped (they may hold identifying text)."""


def read_channel_table(
    path: str | Path,
    *,
    column_map: dict[str, str] | None = None,
    keep_columns: tuple[str, ...] | list[str] = (),
) -> pd.DataFrame:
    """Read a channel table file as it is (strings for CSV), checking its columns.

    Parameters
    ----------
    path
        ``.csv`` (UTF-8, comma-separated, header row) or ``.parquet`` file.
    column_map
        Canonical name -> name in the file (e.g. ``{"channel_id": "account"}``).
    keep_columns
        Covariates to keep as they are (never handles or titles).

    Returns
    -------
    pandas.DataFrame
        The documented columns present (aliases and mapped names renamed to canonical ones)
        and the kept covariates, in file order.  Holds raw handles and titles when the file
        does: keep it in memory, write only hashed outputs.

    Raises
    ------
    IngestError
        Unreadable or corrupt file, not UTF-8, bad quoting, missing required column.
    """
    file = Path(path)
    if not file.exists():
        raise IngestError("no such file; expected a channel table (.csv or .parquet)", file=file)
    if not file.is_file():
        raise InputFormatError(
            "not a regular file (a folder, FIFO or device); expected a channel table", file=file
        )
    suffix = file.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        try:
            frame = pq.read_table(file).to_pandas()
        except (pa.ArrowException, OSError, ValueError) as error:
            raise InputFormatError(
                f"cannot read Parquet file (corrupt or not Parquet): {error}", file=file
            ) from error
    elif suffix == ".csv":
        frame = _read_csv_strict(file)
    else:
        raise IngestError("unknown file type; expected .csv or .parquet", file=file, value=suffix)
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise InputFormatError("duplicate column name", file=file, column=duplicated[0])
    mapping = _checked_column_map(column_map, frame, file)
    frame = frame.rename(columns=mapping)
    frame = frame.rename(columns={k: v for k, v in COLUMN_ALIASES.items() if k in frame.columns})
    has_end = "last_seen" in frame.columns or "ended_at" in frame.columns
    missing = [c for c in ("channel_id", "first_seen") if c not in frame.columns]
    if not has_end:
        missing.append("last_seen")
    if missing:
        raise IngestError(
            f"missing column(s) {missing}; expected {list(REQUIRED_INPUT_COLUMNS)} "
            f"(or 'created_at'/'ended_at'; map other names with --channel-column, "
            f"--first-seen-column, --last-seen-column ...), found {list(frame.columns)}",
            file=file,
            column=missing[0],
        )
    known = {*REQUIRED_INPUT_COLUMNS, *OPTIONAL_INPUT_COLUMNS, "ended_at"}
    keep = _checked_keep(keep_columns, frame, file, known)
    extra = [c for c in frame.columns if c not in known and c not in keep]
    if extra:
        warnings.warn(
            f"{file}: dropped undocumented column(s) {extra} (they may hold identifying text;"
            " keep covariates with keep_columns / --keep-columns)",
            UndocumentedColumnWarning,
            stacklevel=2,
        )
        frame = frame.drop(columns=extra)
    frame.attrs["keep_columns"] = list(keep)
    return frame.reset_index(drop=True)


def _read_csv_strict(file: Path) -> pd.DataFrame:
    """Read a CSV as strings: UTF-8 checked with the line named, strict quoting."""
    data = file.read_bytes()
    text = decode_utf8(data, file, "a UTF-8 CSV file (re-save it as UTF-8)")
    if not text.strip():
        raise InputFormatError("empty CSV file; expected a header row", file=file)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            engine="c",
            doublequote=True,
        )
    except pd.errors.ParserError as error:
        detail = re.sub(r"\s+", " ", str(error)).strip()
        raise InputFormatError(
            f"malformed CSV ({detail}); expected comma-separated fields with balanced quotes",
            file=file,
        ) from error
    except pd.errors.EmptyDataError as error:
        raise InputFormatError("empty CSV file; expected a header row", file=file) from error
    return frame


def _checked_column_map(
    column_map: dict[str, str] | None, frame: pd.DataFrame, file: Path
) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for canonical, name in (column_map or {}).items():
        if canonical not in MAPPABLE_COLUMNS:
            raise IngestError(
                f"unknown column to map; expected one of {list(MAPPABLE_COLUMNS)}",
                column=canonical,
            )
        if name == canonical:
            continue
        if name not in frame.columns:
            raise IngestError(
                f"mapped column not found; found {list(frame.columns)}", file=file, column=name
            )
        if canonical in frame.columns:
            raise IngestError(
                f"the file has both {canonical!r} and the column mapped to it ({name!r})",
                file=file,
                column=canonical,
            )
        mapping[name] = canonical
    return mapping


def _checked_keep(
    keep_columns: tuple[str, ...] | list[str], frame: pd.DataFrame, file: Path, known: set[str]
) -> list[str]:
    from analysis.ingest.messages import refuse_identifying_covariates

    keep = list(keep_columns)
    refuse_identifying_covariates(keep, known, file)
    for column in keep:
        if column not in frame.columns:
            raise IngestError(
                f"covariate to keep not found; found {list(frame.columns)}",
                file=file,
                column=column,
            )
    return keep


def channel_table_to_events(
    table: pd.DataFrame,
    *,
    observation_end: str | float | pd.Timestamp | None = None,
    inactivity_days: float | None = DEFAULT_INACTIVITY_DAYS,
    source: str | Path | None = None,
    time_unit: str | None = None,
    time_format: str | None = None,
    allow_future: bool = False,
    keep_columns: tuple[str, ...] | list[str] | None = None,
    key: bytes | None = None,
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
        ``observation_end`` went dark, and every row gets ``detection_horizon =
        observation_end - inactivity_days``; ``None`` disables the rule (rows are censored
        at ``observation_end``, no horizon).
    source
        File name quoted in errors.
    time_unit
        Unit of numeric times: ``days`` (float days since any origin) or ``s``/``ms``/``us``/
        ``ns`` (Unix epoch).  Required when the table holds numeric times.
    time_format
        ``strptime`` format of text times (default ISO 8601).
    allow_future
        Accept times after now (plus a day).
    keep_columns
        Covariates kept as they are (default: those recorded by :func:`read_channel_table`).
    key
        Hash key; errors show digests of ids under it instead of nothing.

    Returns
    -------
    pandas.DataFrame
        Channel event table (unhashed: hash with :func:`hash_channel_events` before writing).

    Raises
    ------
    IngestError
        Unparseable time, duplicate ``channel_id``, inconsistent row, naming row and column.
    """
    check_time_unit(time_unit)
    src = str(source) if source is not None else None
    frame = table.reset_index(drop=True)
    keep = list(frame.attrs.get("keep_columns", []) if keep_columns is None else keep_columns)
    times = {
        c: parse_time_column(
            frame[c], c, src, time_unit=time_unit, time_format=time_format, key=key
        )
        for c in _TIME_INPUTS
        if c in frame.columns
    }
    kinds = {("numeric" if is_numeric_dtype(s.dtype) else "datetime") for s in times.values()}
    if len(kinds) > 1:
        raise TimeValueError(
            "mixed time types (numbers and dates); expected all dates or all float days",
            file=src,
        )
    numeric = kinds == {"numeric"}
    if not numeric:
        for column, values in times.items():
            if column != "observation_end":
                check_not_future(
                    values,
                    column,
                    src,
                    allow_future=allow_future,
                    unit=time_unit,
                    raw=frame[column],
                )
    ids = {c: _ids(frame[c], c, src) for c in _ID_INPUTS if c in frame.columns}
    _check_duplicates(ids["channel_id"], src, key)

    end = _default_end(observation_end, times, numeric, src)
    obs_end = times.get("observation_end")
    obs_end = end if obs_end is None else obs_end.fillna(end)
    reason = _end_reasons(frame, src, key)
    horizon = times.get("detection_horizon")
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
            horizon = obs_end - gap
            if not isinstance(horizon, pd.Series):
                horizon = pd.Series(horizon, index=frame.index)
            dark = reason.isna() & last_seen.notna() & (last_seen < horizon)
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
    if horizon is not None:
        out["detection_horizon"] = horizon
    if "last_seen" in times and "ended_at" not in times:
        out["last_seen"] = last_seen
    for column in TEXT_COLUMNS:
        if column in frame.columns:
            out[column] = frame[column].astype("string")
    for column in keep:
        out[column] = frame[column]
    try:
        events = validate_channel_events(out, source=src)
    except ChannelTableError as error:
        raise _as_ingest_error(error, src, key) from error
    events.attrs["takedowns_ingest"] = {
        "observation_end": str(end),
        "detection_horizon": "" if horizon is None else _horizon_text(horizon),
        "inactivity_days": "" if inactivity_days is None else repr(float(inactivity_days)),
        "time_unit": time_unit or "",
        "time_format": time_format or "",
    }
    return events


def _horizon_text(horizon: pd.Series) -> str:
    values = horizon.dropna().unique()
    return str(values[0]) if len(values) == 1 else "per row"


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
    predecessor_reasons: str | tuple[str, ...] | None = None,
    hash_ids: bool = True,
    hash_key: str | bytes | None = None,
    hash_key_env: str = HASH_KEY_ENV,
    allow_demo_key: bool = False,
    time_unit: str | None = None,
    time_format: str | None = None,
    allow_future: bool = False,
    column_map: dict[str, str] | None = None,
    keep_columns: tuple[str, ...] | list[str] = (),
) -> pd.DataFrame:
    """Read, convert, optionally link successors, hash, and write a channel table.

    Parameters
    ----------
    path
        Input ``.csv`` or ``.parquet``.
    output
        Destination ``.parquet``/``.csv`` (checked first, written atomically with its
        metadata), or None to only return.
    observation_end, inactivity_days, time_unit, time_format, allow_future
        See :func:`channel_table_to_events`.
    link
        Run :func:`analysis.ingest.linking.link_successors` on the raw handles/titles
        (before hashing) to fill ``family_id`` and ``predecessor_id``.
    window_days, threshold, predecessor_reasons
        Linking parameters (defaults of :func:`~analysis.ingest.linking.link_successors`;
        ``predecessor_reasons`` is passed only when given).
    hash_ids
        Hash ids, handles and titles (default).  Raw output is refused inside the repository.
    hash_key, hash_key_env, allow_demo_key
        See :func:`analysis.ingest.privacy.resolve_hash_key`.
    column_map, keep_columns
        See :func:`read_channel_table`.

    Returns
    -------
    pandas.DataFrame
        The table as written; ``attrs["takedowns_ingest"]`` holds its metadata.
    """
    if output is not None:
        check_destination(output, raw_identifiers=not hash_ids)
    key = (
        resolve_hash_key(hash_key, env_var=hash_key_env, allow_demo=allow_demo_key)
        if hash_ids
        else None
    )
    events = channel_table_to_events(
        read_channel_table(path, column_map=column_map, keep_columns=keep_columns),
        observation_end=observation_end,
        inactivity_days=inactivity_days,
        source=path,
        time_unit=time_unit,
        time_format=time_format,
        allow_future=allow_future,
        key=key,
    )
    meta = dict(events.attrs.get("takedowns_ingest", {}))
    if link:
        from analysis.ingest.linking import link_successors

        options: dict[str, object] = {}
        if window_days is not None:
            options["window_days"] = window_days
        if threshold is not None:
            options["threshold"] = threshold
        if predecessor_reasons is not None:
            options["predecessor_reasons"] = predecessor_reasons
        events = link_successors(events, **options)
        if "link_window_days" in events.columns and len(events):
            meta["link_window_days"] = str(events["link_window_days"].iloc[0])
        elif window_days is not None:
            meta["link_window_days"] = str(window_days)
    if key is not None:
        events = hash_channel_events(events, key)
    meta.update(key_metadata(key))
    meta["source_kind"] = "channel_table"
    meta["n_channels"] = str(len(events))
    events.attrs["takedowns_ingest"] = meta
    if output is not None:
        write_table_atomic(events, output, meta)
    return events


# --------------------------------------------------------------------------- helpers
def _ids(raw: pd.Series, column: str, source: str | None) -> pd.Series:
    values = raw.astype("string").str.strip()
    values = values.mask(values == "")
    if column == "channel_id" and values.isna().any():
        i = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise IngestError(
            "missing channel id; expected a non-empty id", file=source, row=i + 1, column=column
        )
    return values


def _check_duplicates(ids: pd.Series, source: str | None, key: bytes | None) -> None:
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])
        raise IngestError(
            f"duplicate row: channel_id already on row {first + 1}; expected one row per channel",
            file=source,
            row=i + 1,
            column="channel_id",
            value=withheld(ids.iloc[i], key),
        )


def _end_reasons(frame: pd.DataFrame, source: str | None, key: bytes | None) -> pd.Series:
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
            value=withheld(values.iloc[i], key),
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


def _as_ingest_error(
    error: ChannelTableError, source: str | None, key: bytes | None = None
) -> IngestError:
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
    value = error.value
    if error.column in (*HASHED_COLUMNS, "end_reason") and value is not None:
        value = withheld(value, key)  # never echo an id, handle or title
    return IngestError(
        text,
        file=source,
        row=None if error.row is None else error.row + 1,
        column=error.column,
        value=value,
    )
