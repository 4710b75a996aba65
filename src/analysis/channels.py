"""The channel event table: one documented schema for channel-level data.

One row per channel (a Telegram channel, a Twitter account, a group ...).  The same table
is produced by the cat-and-mouse simulator, read by the ingestion of researchers' own
exports, and consumed by the survival and reappearance models, so it is declared once,
here.

Columns
-------
Required (:data:`CHANNEL_EVENT_COLUMNS`):

``channel_id``
    string, unique, non-null.
``family_id``
    string, nullable.  One lineage: an original channel and its re-creations.
``created_at``
    time the channel was created (non-null).
``ended_at``
    time the channel ended; null means still active at ``observation_end``.
``end_reason``
    one of :data:`END_REASONS` (``banned``, ``went_dark``, ``deleted``, ``unknown``);
    null exactly when ``ended_at`` is null.
``observation_end``
    end of observation for that row (non-null); ``ended_at <= observation_end``.

Optional (:data:`OPTIONAL_CHANNEL_EVENT_COLUMNS`):

``observation_start``
    entry time for delayed entry (left truncation): a channel created before it is only
    observed from then on.  Nullable (null: observed from creation).
``predecessor_id``
    string, nullable: the banned channel this one re-creates, when known.

Time columns are either all numeric (float days since an arbitrary origin) or all
``datetime64`` (tz-naive, UTC; tz-aware columns are converted to UTC and made naive).
Mixing the two is an error.  Durations derived from the table are always float days.

Errors are :class:`analysis.errors.ChannelTableError`, naming the source, the row (0-based
position in the DataFrame), the column, the offending value and what was expected.

The table holds identifiers only; it must never carry channel handles, usernames or invite
links (ethics rule of the project).  Simulated tables say so in their own metadata.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
    is_string_dtype,
)

from analysis.errors import ChannelTableError

__all__ = [
    "CHANNEL_EVENT_COLUMNS",
    "END_REASONS",
    "OPTIONAL_CHANNEL_EVENT_COLUMNS",
    "TIME_COLUMNS",
    "channel_lifetimes",
    "time_kind",
    "to_days",
    "validate_channel_events",
]

CHANNEL_EVENT_COLUMNS: tuple[str, ...] = (
    "channel_id",
    "family_id",
    "created_at",
    "ended_at",
    "end_reason",
    "observation_end",
)
"""Required columns of a channel event table, in their canonical order."""

OPTIONAL_CHANNEL_EVENT_COLUMNS: tuple[str, ...] = ("observation_start", "predecessor_id")
"""Optional columns: delayed entry time and the known predecessor of a re-creation."""

END_REASONS: tuple[str, ...] = ("banned", "went_dark", "deleted", "unknown")
"""Allowed values of ``end_reason``."""

TIME_COLUMNS: tuple[str, ...] = ("created_at", "ended_at", "observation_end", "observation_start")
"""Columns holding times (all numeric days or all datetime64)."""

_ID_COLUMNS = ("channel_id", "family_id", "predecessor_id")
_NULLABLE = {"family_id", "ended_at", "end_reason", "observation_start", "predecessor_id"}
_DAY = np.timedelta64(1, "D")

TimeKind = Literal["numeric", "datetime"]


def _fail(
    message: str,
    source: str | None,
    row: int | None = None,
    column: str | None = None,
    value: object = None,
) -> ChannelTableError:
    return ChannelTableError(message, file=source, row=row, column=column, value=_plain(value))


def _plain(value: object) -> object:
    """Numpy scalars as plain Python values (readable in messages)."""
    if isinstance(value, np.datetime64):
        return str(pd.Timestamp(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _normalise_ids(col: pd.Series, name: str, source: str | None) -> pd.Series:
    nulls = col.isna().to_numpy()
    if name not in _NULLABLE and nulls.any():
        raise _fail(
            "missing value; expected a non-empty string id", source, _first(nulls), name, None
        )
    if isinstance(col.dtype, pd.StringDtype):
        # pandas string dtypes (including the default ``str``) hold only strings and nulls
        return col.astype("string")
    if is_string_dtype(col.dtype) and not isinstance(col.dtype, pd.CategoricalDtype):
        values = col.to_numpy(dtype=object)
        is_str = np.fromiter((isinstance(v, str) for v in values), bool, len(values))
        bad = ~is_str & ~nulls
        if bad.any():
            i = _first(bad)
            raise _fail("wrong type; expected a string id", source, i, name, values[i])
        return col.astype("string")
    if nulls.all():
        return col.astype("string")
    i = _first(~nulls)
    raise _fail(
        f"wrong type (dtype {col.dtype}); expected string ids (convert with .astype(str))",
        source,
        i,
        name,
        col.iloc[i],
    )


def _normalise_time(col: pd.Series, name: str, source: str | None) -> tuple[pd.Series, str | None]:
    """Return the column as float64 or datetime64[ns] and its kind (None when all-null)."""
    if is_bool_dtype(col.dtype):
        raise _fail(
            "wrong type (bool); expected float days or datetime64", source, 0, name, col.iloc[0]
        )
    if is_datetime64_any_dtype(col.dtype):
        if getattr(col.dtype, "tz", None) is not None:
            col = col.dt.tz_convert("UTC").dt.tz_localize(None)
        return col.astype("datetime64[ns]"), "datetime"
    if is_numeric_dtype(col.dtype):
        return col.astype("float64"), "numeric"
    nulls = col.isna().to_numpy()
    if nulls.all():
        return col, None
    i = _first(~nulls)
    raise _fail(
        f"wrong type (dtype {col.dtype}); expected float days or datetime64 "
        "(parse text with pandas.to_datetime first)",
        source,
        i,
        name,
        col.iloc[i],
    )


def validate_channel_events(df: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """Check a channel event table against the schema and return a normalised copy.

    Parameters
    ----------
    df
        The table, one row per channel (see the module docstring for the columns).
    source
        Name of the file or generator the table came from, quoted in error messages.

    Returns
    -------
    pandas.DataFrame
        A copy with the required columns first (canonical order), then the optional columns
        present, then any other columns unchanged.  Ids are pandas ``string`` dtype, times are
        ``float64`` days or ``datetime64[ns]``, ``end_reason`` is categorical over
        :data:`END_REASONS`.  The index is kept.

    Raises
    ------
    ChannelTableError
        Missing column, wrong type, mixed numeric/datetime time columns, missing required value,
        ``ended_at < created_at``, ``ended_at > observation_end``, ``created_at >
        observation_end``, end before ``observation_start``, duplicate ``channel_id``,
        ``end_reason`` set without ``ended_at`` or vice versa, unknown ``end_reason``.
    """
    if not isinstance(df, pd.DataFrame):
        raise _fail("expected a pandas.DataFrame", source, value=type(df).__name__)
    missing = [c for c in CHANNEL_EVENT_COLUMNS if c not in df.columns]
    if missing:
        raise _fail(
            f"missing column(s) {missing}; expected columns {list(CHANNEL_EVENT_COLUMNS)}",
            source,
            column=missing[0],
        )
    optional = [c for c in OPTIONAL_CHANNEL_EVENT_COLUMNS if c in df.columns]
    extra = [c for c in df.columns if c not in CHANNEL_EVENT_COLUMNS and c not in optional]
    out = df.loc[:, [*CHANNEL_EVENT_COLUMNS, *optional, *extra]].copy()

    for name in _ID_COLUMNS:
        if name in out.columns:
            out[name] = _normalise_ids(out[name], name, source)

    kinds: dict[str, str] = {}
    for name in TIME_COLUMNS:
        if name in out.columns:
            series, kind = _normalise_time(out[name], name, source)
            out[name] = series
            if kind is not None:
                kinds[name] = kind
    if len(set(kinds.values())) > 1:
        num = [c for c, k in kinds.items() if k == "numeric"]
        dt = [c for c, k in kinds.items() if k == "datetime"]
        raise _fail(
            f"mixed time types: {num} numeric but {dt} datetime64; expected all numeric days "
            "or all datetime64",
            source,
            column=num[0],
        )
    kind = next(iter(kinds.values()), "numeric")
    for name in TIME_COLUMNS:  # all-null columns take the table's kind
        if name in out.columns and name not in kinds:
            out[name] = out[name].astype("datetime64[ns]" if kind == "datetime" else "float64")

    for name in ("created_at", "observation_end"):
        nulls = out[name].isna().to_numpy()
        if nulls.any():
            raise _fail("missing value; expected a time", source, _first(nulls), name, None)
    if kind == "numeric":
        for name in TIME_COLUMNS:
            if name in out.columns:
                vals = out[name].to_numpy()
                bad = np.isinf(vals)
                if bad.any():
                    i = _first(bad)
                    raise _fail(
                        "infinite time; expected a finite number of days", source, i, name, vals[i]
                    )

    reason = out["end_reason"]
    reason_null = reason.isna().to_numpy()
    if not reason_null.all():
        if isinstance(reason.dtype, pd.CategoricalDtype):
            reason = reason.astype(object)
        values = reason.to_numpy(dtype=object, na_value=None)
        known = pd.Series(values).isin(END_REASONS).to_numpy() | reason_null
        if not known.all():
            i = _first(~known)
            raise _fail(
                f"unknown end_reason; expected one of {list(END_REASONS)}",
                source,
                i,
                "end_reason",
                values[i],
            )
    out["end_reason"] = pd.Categorical(
        reason.astype(object).where(~reason_null, None), categories=list(END_REASONS)
    )
    ended_null = out["ended_at"].isna().to_numpy()
    mismatch = ended_null != reason_null
    if mismatch.any():
        i = _first(mismatch)
        if ended_null[i]:
            raise _fail(
                "end_reason set but ended_at is null; expected both null or both set",
                source,
                i,
                "end_reason",
                str(out["end_reason"].iloc[i]),
            )
        raise _fail(
            f"ended_at set but end_reason is null; expected one of {list(END_REASONS)}",
            source,
            i,
            "end_reason",
            None,
        )

    created = out["created_at"].to_numpy()
    ended = out["ended_at"].to_numpy()
    obs_end = out["observation_end"].to_numpy()
    has_end = ~ended_null
    checks = [
        (
            has_end & (ended < created),
            "ended_at",
            ended,
            "end before start: ended_at < created_at; expected ended_at >= created_at",
        ),
        (
            has_end & (ended > obs_end),
            "ended_at",
            ended,
            "ended_at after observation_end; expected ended_at <= observation_end",
        ),
        (
            created > obs_end,
            "created_at",
            created,
            "created_at after observation_end; expected created_at <= observation_end",
        ),
    ]
    if "observation_start" in out.columns:
        start = out["observation_start"].to_numpy()
        has_start = ~out["observation_start"].isna().to_numpy()
        last_seen = np.where(has_end, ended, obs_end)
        checks.append(
            (
                has_start & (start > obs_end),
                "observation_start",
                start,
                "observation_start after observation_end; expected it <= observation_end",
            )
        )
        checks.append(
            (
                has_start & has_end & (last_seen <= start) & (created < start),
                "ended_at",
                ended,
                "channel ended at or before observation_start (it could not have "
                "been observed); expected ended_at > observation_start",
            )
        )
    for bad, column, values, message in checks:
        if bad.any():
            i = _first(bad)
            raise _fail(message, source, i, column, values[i])

    dup = out["channel_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        i = _first(dup)
        raise _fail(
            "duplicate channel_id; expected unique ids",
            source,
            i,
            "channel_id",
            out["channel_id"].iloc[i],
        )
    return out


def time_kind(df: pd.DataFrame) -> TimeKind:
    """Return ``"datetime"`` or ``"numeric"`` for a *validated* table."""
    return "datetime" if is_datetime64_any_dtype(df["created_at"].dtype) else "numeric"


def to_days(delta: np.ndarray | pd.Series) -> np.ndarray:
    """Convert a difference of two time columns (float days or timedelta64) to float days."""
    arr = np.asarray(delta)
    if np.issubdtype(arr.dtype, np.timedelta64):
        out = arr / _DAY
        out[np.isnat(arr)] = np.nan
        return out.astype(float)
    return arr.astype(float)


def channel_lifetimes(
    df: pd.DataFrame,
    *,
    event_reasons: Iterable[str] = ("banned",),
    source: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn a channel event table into survival data.

    Parameters
    ----------
    df
        Channel event table (validated here).
    event_reasons
        End reasons that count as the event (default: bans).  Channels ending for another
        reason are censored at their end; channels still active are censored at
        ``observation_end``.
    source
        Name quoted in error messages.

    Returns
    -------
    duration_days, event_observed, entry_days
        Float days from creation to end (or censoring), a bool event indicator, and the
        delayed-entry time in days since creation (``observation_start - created_at``,
        floored at 0; all zeros when the column is absent or null).
    """
    reasons = tuple(event_reasons)
    unknown = [r for r in reasons if r not in END_REASONS]
    if unknown:
        raise _fail(
            f"unknown event_reasons {unknown}; expected a subset of {list(END_REASONS)}",
            source,
            column="end_reason",
            value=unknown[0],
        )
    table = validate_channel_events(df, source=source)
    ended = table["ended_at"]
    end = ended.where(ended.notna(), table["observation_end"])
    duration = to_days((end - table["created_at"]).to_numpy())
    event = (ended.notna() & table["end_reason"].isin(reasons)).to_numpy(dtype=bool)
    if "observation_start" in table.columns:
        entry = to_days((table["observation_start"] - table["created_at"]).to_numpy())
        entry = np.where(np.isnan(entry), 0.0, np.maximum(entry, 0.0))
    else:
        entry = np.zeros(len(table))
    return duration, event, entry
