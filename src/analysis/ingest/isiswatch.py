"""Telegram "ISIS Watch" channel: Telegram Desktop JSON export -> daily series of bans.

Telegram's ISIS Watch channel posted one message a day such as
``"143 terrorist bots and channels banned on September 4. Total this month: 571"`` (2016-2017
messages say ``"bots and channels banned"`` without ``terrorist``).  A researcher exports the
channel with Telegram Desktop (*Export chat history*, format JSON) and places the
``result.json`` as ``data/raw/telegram_isiswatch_export/<name>.json``; ``make data`` then adds
the daily series to the dataset (:func:`daily_series_from_raw`).

Export format (Telegram Desktop): a JSON object with ``name``, ``type``, ``id`` and
``messages``, a list of objects with ``id``, ``type`` (``message`` or ``service``), ``date``
(local time of the exporting computer, ``YYYY-MM-DDTHH:MM:SS``), ``date_unixtime`` (seconds,
UTC, newer exports), ``text`` (a string, or a list of strings and entity objects
``{"type": "bold", "text": "143"}``) and ``text_entities`` (a list of entity objects, plain
text included as ``{"type": "plain", ...}``).

Output columns: ``date`` (the day the bans refer to, datetime64), ``banned`` (int, that day),
``month_to_date`` (nullable int, "Total this month"), ``message_id`` (int).  The year of the
day comes from the message date (a message posted on 1 January about "December 31" refers to
the previous year).  Only aggregate counts are read; message text is not kept.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import IngestError, InputFormatError
from analysis.ingest._text import decode_utf8

EXPORT_FOLDER = "telegram_isiswatch_export"
SERIES_COLUMNS = ("date", "banned", "month_to_date", "message_id")
#: Largest export read (bytes); one channel's export is a few megabytes.
MAX_EXPORT_BYTES = 512 * 1024 * 1024
#: Deepest JSON nesting accepted (an export has about five levels).
MAX_JSON_DEPTH = 64
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_NUMBER = r"(?<![\d,])(?:\d{1,3}(?:[,\u00a0\u202f]\d{3})+|\d+)"
_PATTERN = re.compile(
    rf"(?P<banned>{_NUMBER})\s+(?:terrorist\s+)?bots?\s+and\s+channels?\s+(?:were\s+)?banned\s+"
    r"on\s+(?P<month>[A-Za-z]+)\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{4}))?"
    rf"(?:[^\d]{{0,40}}?total\s+this\s+month\s*:?\s*(?P<mtd>{_NUMBER}))?",
    re.IGNORECASE,
)


def message_text(message: dict) -> str:
    """Plain text of an exported message (``text_entities`` or ``text``, entities joined)."""
    parts = message.get("text_entities")
    if not isinstance(parts, list):
        parts = message.get("text", "")
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list):
        return ""
    return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in parts)


def parse_ban_message(text: str, posted: date) -> tuple[date, int, int | None] | None:
    """Parse one message; None when it is not a daily ban count.

    Parameters
    ----------
    text
        Message text.
    posted
        Date the message was posted (gives the year).

    Returns
    -------
    tuple or None
        ``(day, banned, month_to_date)``.

    Raises
    ------
    ValueError
        The message matches but names an impossible date or month.
    """
    match = _PATTERN.search(text)
    if match is None:
        return None
    month = _MONTHS.get(match["month"].lower())
    if month is None:
        raise ValueError(f"unknown month {match['month']!r}")
    day_number = int(match["day"])
    if match["year"]:
        day = date(int(match["year"]), month, day_number)
    else:
        day = date(posted.year, month, day_number)
        if day > posted + timedelta(days=1):  # posted in January about December
            day = date(posted.year - 1, month, day_number)
    mtd = _to_int(match["mtd"]) if match["mtd"] else None
    return day, _to_int(match["banned"]), mtd


def _to_int(text: str) -> int:
    digits = re.sub(r"[^\d]", "", text)
    return int(digits)


def _posted_date(message: dict) -> date | None:
    stamp = message.get("date_unixtime")
    if stamp not in (None, ""):
        try:
            return datetime.fromtimestamp(int(stamp), tz=UTC).date()
        except (TypeError, ValueError, OverflowError):
            pass
    text = message.get("date")
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            return None
    return None


def _max_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside strings (a cheap scan before parsing)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return text.count("[") + text.count("{")
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def read_isiswatch_export(path: str | Path, *, max_bytes: int | None = None) -> pd.DataFrame:
    """Read a Telegram Desktop JSON export of ISIS Watch into a daily series.

    Parameters
    ----------
    path
        The export's ``result.json`` (or any file in that format).
    max_bytes
        Largest file accepted (default :data:`MAX_EXPORT_BYTES`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SERIES_COLUMNS`, one row per ban message, sorted by date then
        message id (duplicate days are kept; see :func:`check_isiswatch_series`).

    Raises
    ------
    IngestError
        Not JSON, not UTF-8, too large or too deeply nested, no ``messages`` list, or a ban
        message with a bad id, date or day; errors name the file, the row (1-based position
        in ``messages``; for JSON syntax, the line) and the field.
    """
    file = Path(path)
    limit = MAX_EXPORT_BYTES if max_bytes is None else max_bytes
    if not file.is_file():
        raise InputFormatError(
            "not a regular file (missing, a folder, FIFO or device); expected result.json",
            file=file,
        )
    size = file.stat().st_size
    if size > limit:
        raise InputFormatError(
            f"export is {size:,} bytes, above the limit of {limit:,} bytes; expected a "
            "Telegram Desktop export of one channel (raise max_bytes if it really is one)",
            file=file,
        )
    try:
        data = file.read_bytes()
    except OSError as error:
        raise IngestError(f"cannot read file: {error.strerror or error}", file=file) from error
    text = decode_utf8(data, file, "the UTF-8 JSON that Telegram Desktop writes")
    depth = _max_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InputFormatError(
            f"JSON nested {depth} levels deep, more than {MAX_JSON_DEPTH}; expected a Telegram "
            "Desktop export (a few levels)",
            file=file,
        )
    try:
        export = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputFormatError(
            f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "expected a Telegram Desktop JSON export",
            file=file,
            row=error.lineno - 1,
        ) from error
    except RecursionError as error:  # pragma: no cover - guarded by _max_depth
        raise InputFormatError("JSON nested too deeply", file=file) from error
    messages = export.get("messages") if isinstance(export, dict) else None
    if not isinstance(messages, list):
        raise IngestError(
            "no 'messages' list; expected a Telegram Desktop JSON export (result.json)",
            file=file,
            column="messages",
        )
    rows = []
    for position, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or message.get("type", "message") != "message":
            continue
        text = message_text(message)
        if "banned" not in text.lower():
            continue
        posted = _posted_date(message)
        if posted is None:
            raise IngestError(
                "message without a readable date; expected 'date' as YYYY-MM-DDTHH:MM:SS",
                file=file,
                row=position,
                column="date",
                value=message.get("date"),
            )
        try:
            parsed = parse_ban_message(text, posted)
        except ValueError as error:
            raise IngestError(
                f"ban message with an impossible day ({error}); expected '<Month> <day>'",
                file=file,
                row=position,
                column="text",
            ) from error
        if parsed is None:
            continue
        message_id = message.get("id")
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise IngestError(
                "message id missing or not an integer",
                file=file,
                row=position,
                column="id",
                value=message_id,
            )
        day, banned, mtd = parsed
        rows.append((pd.Timestamp(day), banned, mtd, message_id))
    return _series_frame(rows)


def _series_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(SERIES_COLUMNS))
    frame = frame.astype(
        {
            "date": "datetime64[ns]",
            "banned": "int64",
            "month_to_date": "Int64",
            "message_id": "int64",
        }
    )
    return frame.sort_values(["date", "message_id"], kind="stable").reset_index(drop=True)


@dataclass
class IsisWatchCheck:
    """Checks of a daily ISIS Watch series.

    Attributes
    ----------
    n_days
        Distinct days in the series.
    first_date, last_date
        Range covered (None when empty).
    missing_dates
        Days in the range with no message.
    duplicate_dates
        Days reported by more than one message.
    inconsistent
        Rows whose ``month_to_date`` disagrees with the daily sums: ``check`` is ``exact``
        (previous day of the same month known, or the 1st: ``month_to_date`` must equal
        ``expected``) or ``lower_bound`` (after a gap: it must be at least ``expected``).
    """

    n_days: int
    first_date: pd.Timestamp | None
    last_date: pd.Timestamp | None
    missing_dates: list[pd.Timestamp] = field(default_factory=list)
    duplicate_dates: list[pd.Timestamp] = field(default_factory=list)
    inconsistent: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def ok(self) -> bool:
        """True when there are no gaps, duplicates or inconsistent totals."""
        return not (self.missing_dates or self.duplicate_dates or len(self.inconsistent))

    def summary(self) -> str:
        """One-paragraph human-readable report."""
        if self.first_date is None:
            return "ISIS Watch series: empty"
        return (
            f"ISIS Watch series: {self.n_days} days from {self.first_date.date()} to "
            f"{self.last_date.date()}; {len(self.missing_dates)} missing days, "
            f"{len(self.duplicate_dates)} duplicate days, {len(self.inconsistent)} month-to-date "
            "totals inconsistent with the daily sums"
        )


def check_isiswatch_series(df: pd.DataFrame) -> IsisWatchCheck:
    """Check month-to-date totals against daily sums, and report gaps and duplicate days.

    Duplicate days are checked using the message with the highest id (the latest post).

    Parameters
    ----------
    df
        Output of :func:`read_isiswatch_export` or :func:`daily_series_from_raw`.
    """
    if len(df) == 0:
        return IsisWatchCheck(0, None, None)
    frame = df.sort_values(["date", "message_id"], kind="stable")
    counts = frame["date"].value_counts()
    duplicates = sorted(pd.Timestamp(d) for d in counts[counts > 1].index)
    daily = frame.drop_duplicates("date", keep="last").reset_index(drop=True)
    first, last = daily["date"].iloc[0], daily["date"].iloc[-1]
    present = set(daily["date"])
    missing = [d for d in pd.date_range(first, last, freq="D") if d not in present]

    problems = []
    prev_date: pd.Timestamp | None = None
    prev_mtd: int | None = None
    for row in daily.itertuples(index=False):
        day, banned, mtd = row.date, int(row.banned), row.month_to_date
        same_month = prev_date is not None and (prev_date.year, prev_date.month) == (
            day.year,
            day.month,
        )
        if not same_month:
            prev_date, prev_mtd = None, None
        if pd.isna(mtd):
            prev_date, prev_mtd = day, None
            continue
        mtd = int(mtd)
        if day.day == 1:
            kind, expected = "exact", banned
        elif (
            prev_date is not None
            and prev_mtd is not None
            and day - prev_date == pd.Timedelta(days=1)
        ):
            kind, expected = "exact", prev_mtd + banned
        else:
            kind, expected = "lower_bound", banned + (prev_mtd or 0)
        bad = mtd != expected if kind == "exact" else mtd < expected
        if bad:
            problems.append(
                {
                    "date": day,
                    "banned": banned,
                    "month_to_date": mtd,
                    "expected": expected,
                    "check": kind,
                    "message_id": int(row.message_id),
                }
            )
        prev_date, prev_mtd = day, mtd
    inconsistent = pd.DataFrame(
        problems, columns=["date", "banned", "month_to_date", "expected", "check", "message_id"]
    )
    return IsisWatchCheck(
        n_days=len(daily),
        first_date=first,
        last_date=last,
        missing_dates=missing,
        duplicate_dates=duplicates,
        inconsistent=inconsistent,
    )


def daily_series_from_raw(raw_dir: str | Path | None = None) -> pd.DataFrame | None:
    """Daily series from every export in ``<raw_dir>/telegram_isiswatch_export/*.json``.

    Files are read in name order; a message id seen in several (overlapping) exports is kept
    once, and a day reported by several messages keeps the one with the highest id (the
    latest post).  Deterministic: the same files give the same table.

    Parameters
    ----------
    raw_dir
        The raw data folder (default :func:`analysis.paths.raw_dir`).

    Returns
    -------
    pandas.DataFrame or None
        Columns :data:`SERIES_COLUMNS`, one row per day, sorted by date; None when no export
        is present.
    """
    folder = Path(raw_dir if raw_dir is not None else paths.raw_dir()) / EXPORT_FOLDER
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        return None
    frames = [read_isiswatch_export(f) for f in files]
    combined = pd.concat(frames, ignore_index=True) if frames else _series_frame([])
    combined = combined.drop_duplicates("message_id", keep="first")
    combined = combined.sort_values(["date", "message_id"], kind="stable")
    combined = combined.drop_duplicates("date", keep="last")
    return _series_frame(list(combined.itertuples(index=False, name=None)))
