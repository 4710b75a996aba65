"""Reading times exactly: units, formats, time zones and plausibility.

Every time an ingest reads becomes a tz-naive UTC timestamp (or, for channel tables in
``days``, a float).  The rules, shared by message logs (DuckDB SQL) and channel tables
(pandas):

* Timestamp columns (Parquet ``TIMESTAMP`` at s/ms/us/ns, with or without a time zone) are
  converted to UTC; a naive timestamp is taken as UTC.
* Text is ISO 8601 (an offset is honoured, none means UTC), or follows ``time_format``
  (a ``strptime`` format such as ``%d/%m/%Y %H:%M`` for ``1/6/2015 21:07``; ``%z`` reads an
  offset).
* Numbers (numeric columns, or text made only of digits) need an explicit unit: ``epoch_unit``
  (``s``, ``ms``, ``us``, ``ns`` since 1970-01-01 UTC) for message logs, ``time_unit`` (the
  same, or ``days`` = float days since an origin of the researcher's choice) for channel
  tables.  Without one they are refused, because seconds read as days (or milliseconds read
  as seconds) give plausible-looking nonsense.
* Epoch numbers that land before :data:`EARLIEST_EPOCH_TIME` are refused as a likely unit
  mix-up, with the units that would make the value plausible as a hint.
* Times later than now plus :data:`FUTURE_TOLERANCE` are refused unless ``allow_future``
  (one message dated 2099 would otherwise move the default observation end and turn every
  live channel ``went_dark``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import FutureTimeError, IngestError, TimeValueError

#: Epoch units and their length in microseconds.
EPOCH_UNITS: dict[str, float] = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}
#: Units of numeric times in channel tables: epoch units, or float days since any origin.
TIME_UNITS: tuple[str, ...] = ("days", *EPOCH_UNITS)
#: Epoch numbers converting to earlier times are refused (likely a unit mix-up).
EARLIEST_EPOCH_TIME = pd.Timestamp("1980-01-01")
#: Times up to this much after now are accepted without ``allow_future`` (clock skew).
FUTURE_TOLERANCE = pd.Timedelta(days=1)
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")
_BARE_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
_MAX_MICROS = 9.2e18


def now_utc() -> pd.Timestamp:
    """The current time, tz-naive UTC."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def future_limit() -> pd.Timestamp:
    """Latest time accepted without ``allow_future``: now + :data:`FUTURE_TOLERANCE`."""
    return now_utc() + FUTURE_TOLERANCE


def check_epoch_unit(unit: str | None, *, option: str = "--epoch-unit") -> str | None:
    """Validate an epoch unit (None allowed: numbers are then refused when met)."""
    if unit is None or unit in EPOCH_UNITS:
        return unit
    raise TimeValueError(
        f"unknown {option}; expected one of {', '.join(EPOCH_UNITS)}", column=option, value=unit
    )


def check_time_unit(unit: str | None) -> str | None:
    """Validate a channel-table time unit (``days`` or an epoch unit; None allowed)."""
    if unit is None or unit in TIME_UNITS:
        return unit
    raise TimeValueError(
        f"unknown --time-unit; expected one of {', '.join(TIME_UNITS)}",
        column="--time-unit",
        value=unit,
    )


def is_number_text(value: object) -> bool:
    """True when ``value`` is a number written as text (``"1433192820"``, ``"1.5e9"``)."""
    return isinstance(value, str) and _NUMBER.fullmatch(value) is not None


def plausible_units(value: float) -> list[str]:
    """Epoch units under which ``value`` falls between 1990 and now."""
    low = (pd.Timestamp("1990-01-01") - pd.Timestamp(0)).total_seconds() * 1e6
    high = (now_utc() - pd.Timestamp(0)).total_seconds() * 1e6
    return [u for u, f in EPOCH_UNITS.items() if low <= value * f <= high]


def unit_hint(value: object, unit: str | None, *, option: str = "--epoch-unit") -> str:
    """A sentence suggesting the unit(s) that make a numeric time plausible ('' if none)."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(number):
        return ""
    units = [u for u in plausible_units(number) if u != unit]
    if not units:
        return ""
    as_text = " or ".join(f"{option} {u}" for u in units)
    if unit is None:
        return f"; this number looks like epoch {'/'.join(units)}: pass {as_text}"
    return f"; read as epoch {unit} it is implausible, but as {'/'.join(units)} it fits: pass {as_text}"


def observation_end_timestamp(
    value: str | pd.Timestamp, *, source: str | Path | None = None
) -> pd.Timestamp:
    """Parse an observation end as a tz-naive UTC timestamp.

    A bare date (``"2024-12-31"``) means the *whole* day: observation ends at its last
    microsecond, so messages and bans later that day are inside the window.  A date with a
    time of day is taken as written; time zones are converted to UTC.

    Raises
    ------
    TimeValueError
        If the value is not an ISO 8601 date or time.
    """
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as error:
        raise TimeValueError(
            "cannot parse observation end; expected an ISO 8601 date or time",
            file=source,
            column="observation_end",
            value=value,
        ) from error
    if stamp is pd.NaT:
        raise TimeValueError(
            "observation end is missing", file=source, column="observation_end", value=value
        )
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    if isinstance(value, str) and _BARE_DATE.match(value):
        stamp = stamp + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return stamp


# --------------------------------------------------------------------------- DuckDB side
def epoch_sql(number_sql: str, unit: str) -> str:
    """DuckDB SQL turning a DOUBLE expression of epoch ``unit`` into TIMESTAMP (NULL if out of range)."""
    factor = EPOCH_UNITS[unit]
    micros = f"({number_sql}) * {factor!r}"
    return (
        f"CASE WHEN abs({micros}) < {_MAX_MICROS!r} "
        f"THEN make_timestamp(CAST(round({micros}) AS BIGINT)) END"
    )


def varchar_time_sql(column_sql: str, *, epoch_unit: str | None, time_format: str | None) -> str:
    """DuckDB SQL reading a VARCHAR time (tz-naive UTC TIMESTAMP; NULL when unreadable).

    ``$time_format`` must be bound to ``time_format`` when it is given.
    """
    text = f"trim({column_sql})"
    if time_format is not None:
        parsed = f"CAST(try_strptime({text}, $time_format) AS TIMESTAMPTZ)"
    else:
        parsed = f"try_cast({text} AS TIMESTAMPTZ)"
    iso = f"CAST(timezone('UTC', {parsed}) AS TIMESTAMP)"
    if epoch_unit is None:
        number = "NULL"
    else:
        number = epoch_sql(f"try_cast({text} AS DOUBLE)", epoch_unit)
    return f"CASE WHEN regexp_full_match({text}, '{_NUMBER.pattern}') THEN {number} ELSE {iso} END"


# --------------------------------------------------------------------------- pandas side
def parse_time_column(
    raw: pd.Series,
    column: str,
    source: str | None,
    *,
    time_unit: str | None = None,
    time_format: str | None = None,
    key: bytes | None = None,
) -> pd.Series:
    """Parse one time column of a channel table: datetime64[ns] (naive UTC) or float days.

    Parameters
    ----------
    raw
        The column as read (strings from CSV; any dtype from Parquet).
    column, source
        Named in errors.
    time_unit
        Unit of numeric times (:data:`TIME_UNITS`); required when the column holds numbers.
    time_format
        ``strptime`` format of text times (default ISO 8601).
    key
        Hash key, to show a digest instead of a value that does not look like a time.

    Raises
    ------
    TimeValueError
        Unreadable value, numbers without a unit, or epoch numbers implausible for the unit;
        naming the 1-based data row (CSV line = row + 1).
    """
    from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

    from analysis.ingest.privacy import safe_time_text

    if is_datetime64_any_dtype(raw.dtype):
        if getattr(raw.dt, "tz", None) is not None:
            raw = raw.dt.tz_convert("UTC").dt.tz_localize(None)
        return raw.astype("datetime64[ns]")
    numbers: pd.Series | None = None
    if is_numeric_dtype(raw.dtype) and not is_bool_dtype(raw.dtype):
        numbers = raw.astype("float64")
    else:
        text = raw.astype("string").str.strip()
        text = text.mask(text == "")
        present = text.dropna()
        if time_format is None and len(present) and present.map(is_number_text).all():
            numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    if numbers is not None:
        return _numeric_times(numbers, raw, column, source, time_unit)
    if time_format is not None:
        parsed = pd.to_datetime(text, format=time_format, utc=True, errors="coerce")
        expected = f"a time in the format {time_format!r}"
    else:
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        expected = "an ISO 8601 date or date-time such as 2016-09-05 or 2016-09-05T18:31:12Z"
    bad = (parsed.isna() & text.notna()).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = str(text.iloc[i])
        hint = ""
        if is_number_text(value):
            hint = " (a number: give --time-unit, and use one kind of time per column)"
        raise TimeValueError(
            f"unparseable time (CSV line {i + 2} if CSV); expected {expected}{hint}",
            file=source,
            row=i + 1,
            column=column,
            value=safe_time_text(value, key),
        )
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def _numeric_times(
    numbers: pd.Series,
    raw: pd.Series,
    column: str,
    source: str | None,
    time_unit: str | None,
) -> pd.Series:
    present = numbers.notna().to_numpy()
    if time_unit is None:
        i = int(np.flatnonzero(present)[0]) if present.any() else 0
        value = raw.iloc[i] if len(raw) else None
        raise TimeValueError(
            "numeric times need an explicit unit; pass --time-unit days (float days since "
            "an origin of your choice) or s|ms|us|ns (Unix epoch)"
            + unit_hint(value, None, option="--time-unit"),
            file=source,
            row=i + 1 if len(raw) else None,
            column=column,
            value=None if value is None else str(value),
        )
    finite = np.isfinite(numbers.to_numpy(dtype="float64", na_value=np.nan)) | ~present
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise TimeValueError(
            "non-finite time; expected a finite number",
            file=source,
            row=i + 1,
            column=column,
            value=str(raw.iloc[i]),
        )
    if time_unit == "days":
        return numbers
    micros = numbers.to_numpy(dtype="float64", na_value=np.nan) * EPOCH_UNITS[time_unit]
    earliest = (EARLIEST_EPOCH_TIME - pd.Timestamp(0)).total_seconds() * 1e6
    latest = (pd.Timestamp.max - pd.Timestamp(0)).total_seconds() * 1e6  # datetime64[ns]
    wrong = present & ((micros > latest) | (micros < earliest))
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise TimeValueError(
            f"epoch time implausible for --time-unit {time_unit} (before "
            f"{EARLIEST_EPOCH_TIME.date()} or after {pd.Timestamp.max.year})"
            + unit_hint(raw.iloc[i], time_unit, option="--time-unit"),
            file=source,
            row=i + 1,
            column=column,
            value=str(raw.iloc[i]),
        )
    whole = np.where(present, np.round(micros), 0).astype("int64")
    stamps = pd.Series(whole.astype("datetime64[us]"), index=numbers.index)
    return stamps.where(present).astype("datetime64[ns]")


def check_not_future(
    times: pd.Series,
    column: str,
    source: str | None,
    *,
    allow_future: bool,
    unit: str | None = None,
    raw: pd.Series | None = None,
) -> None:
    """Refuse times after :func:`future_limit` unless ``allow_future`` (channel tables).

    Raises
    ------
    FutureTimeError
        Naming the first such row.
    """
    if allow_future or not len(times):
        return
    limit = future_limit()
    late = (times > limit).to_numpy()
    if late.any():
        i = int(np.flatnonzero(late)[0])
        shown = raw.iloc[i] if raw is not None else times.iloc[i]
        hint = unit_hint(shown, unit, option="--time-unit") if unit else ""
        raise FutureTimeError(
            f"time {times.iloc[i]} is after now ({limit.floor('s')} with tolerance); "
            f"expected past times (pass --allow-future if this is genuine){hint}",
            file=source,
            row=i + 1,
            column=column,
        )


def ensure_ingest_error(error: Exception) -> IngestError:
    """Identity helper for typing: the error is already an IngestError."""
    assert isinstance(error, IngestError)
    return error
