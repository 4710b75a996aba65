"""Reading the observation end given by a researcher."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.errors import IngestError

_BARE_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def observation_end_timestamp(
    value: str | pd.Timestamp, *, source: str | Path | None = None
) -> pd.Timestamp:
    """Parse an observation end as a tz-naive UTC timestamp.

    A bare date (``"2024-12-31"``) means the *whole* day: observation ends at its last
    microsecond, so messages and bans later that day are inside the window.  A date with a
    time of day is taken as written; time zones are converted to UTC.

    Raises
    ------
    IngestError
        If the value is not an ISO 8601 date or time.
    """
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise IngestError(
            "cannot parse observation end; expected an ISO 8601 date or time",
            file=source,
            column="observation_end",
            value=value,
        ) from error
    if stamp is pd.NaT:
        raise IngestError(
            "observation end is missing", file=source, column="observation_end", value=value
        )
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    if isinstance(value, str) and _BARE_DATE.match(value):
        stamp = stamp + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return stamp
