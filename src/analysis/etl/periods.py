"""Parse the period a figure covers ("Q1 2018", "21-24 November 2019", "since mid-2015").

:func:`parse_period` turns the ``period_text`` of a raw figure into a
:class:`Period` with inclusive ``start`` and ``end`` dates, a ``kind`` from
:data:`analysis.vocab.PERIOD_KINDS` and an ``is_partial`` flag.  It implements
the period grammar of ``data/raw/README.md`` exactly and raises
:class:`analysis.errors.ParseError` on anything else; it never guesses.

Accepted forms (case-insensitive; hyphen, en dash, em dash, minus sign and the
word ``to`` all separate a range; blanks around them are optional; a leading
``the`` is ignored)
------------------------------------------------------------------------------
Dates (one day)
    ``22 November 2019``, ``22nd November 2019``, ``22 Nov 2019``, ``22 of November
    2019``, ``November 22, 2019`` / ``November 22 2019`` (US order), ``2019-11-22``.
    Month names full or abbreviated (``Sep``, ``Sept``, ``Sep.``).
Periods of one unit (the ``kind`` in brackets)
    a date [day]; ``September 2016``, ``Sep 2016``, ``2016-09`` [month];
    ``Q1 2018``, ``Q1-2018``, ``2018 Q1``, ``2023-Q2``, ``first quarter of 2018``,
    ``1st quarter 2018`` [quarter]; ``H2 2017``, ``2017-H2``, ``second half of 2017``,
    ``2nd half 2017`` [half_year]; ``2019`` [year].
Ranges [range], from the start of the first part to the end of the last
    ``A - B`` where each side is any of the forms above (``2015-07 – 2016-07``,
    ``April 2012 – March 2013``, ``2022-07-17 – 2022-09-13``, ``1 August 2015 –
    31 December 2016``, ``August 1, 2015 – December 31, 2016``, ``2016–2017``,
    ``Q4 2017 – Q2 2018``), and shortened first parts that borrow what they lack
    from the second: ``21-24 November 2019``, ``27 November – 3 December 2019``,
    ``July–December 2018``, ``Jan–Sep 2020``, ``January to September 2020``,
    ``November 21-24, 2019``, ``November 27 – December 3, 2019``, ``Q1–Q3 2018``,
    ``H1–H2 2018``.  ``between A and B`` and ``from A to B`` are the same ranges.
    ``first nine months of 2020`` / ``first 9 months of 2020`` (two to eleven) is a
    range from 1 January to the last day of that month.  A range keeps the kind
    ``range`` even when it equals a calendar unit (``July–December 2018``,
    ``first six months of 2017``): the source stated it so.
Periods ending on a day
    ``week to D`` / ``week ending D`` [week]: the seven days ending on day D.
    ``month to D``, ``quarter to D``, ``year to D`` [to_date, partial]: from the first
    day of D's month / quarter / year to D.
    ``since X`` [to_date, partial]: from the start of X to the publication date
    ``published``; X is ``mid-YYYY`` (1 July), a date, a month, a quarter, a
    half-year or a year.  ``published`` is required.
Snapshots [snapshot]
    ``as of D`` / ``as at D``: that day; ``as of September 2016`` / ``as of 2016-09``:
    the last day of the month, or ``published`` when the document was published earlier
    in that month.  A snapshot is a stock at one moment; ``days`` is 1.

Rejected (``ParseError``)
    ``late 2016``, ``early 2017``, ``mid-2015`` outside ``since``, ``recent months``,
    ``last quarter of 2022``, ``as of 2019``, a day that does not exist, two readings
    of one text that disagree, and any period whose end is before its start
    (``27 December – 3 January 2020``: write the years).

Partial periods
    ``is_partial`` is true for every ``to_date`` period, and for any other period
    except a snapshot whose ``end`` is after ``published`` (the period was still
    running when the document was published, e.g. ``December 2016`` in a page of
    28 December 2016).  A snapshot is never partial.  Without ``published`` only
    the ``to_date`` rule applies.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from analysis.errors import ParseError

__all__ = ["Period", "parse_period"]

_KINDS = ("day", "week", "month", "quarter", "half_year", "year", "range", "to_date", "snapshot")
_EXPECTED = (
    "a period in the grammar of data/raw/README.md, e.g. '22 November 2019', "
    "'21-24 November 2019', 'September 2016', 'Q1 2018', 'H2 2017', '2019', "
    "'Jan–Sep 2020', 'week to 18 November 2015', 'month to 28 December 2016', "
    "'since mid-2015', 'as of 3 January 2017'"
)


@dataclass(frozen=True)
class Period:
    """A period a figure covers, with inclusive dates.

    Attributes
    ----------
    start, end
        First and last day covered (inclusive).  ``start == end`` for a day and a
        snapshot.
    kind
        One of ``day``, ``week``, ``month``, ``quarter``, ``half_year``, ``year``,
        ``range``, ``to_date``, ``snapshot`` (:data:`analysis.vocab.PERIOD_KINDS`).
    is_partial
        True for ``to_date`` periods and for periods still running at publication
        (see the module docstring).
    text
        The text as given to :func:`parse_period`.
    """

    start: dt.date
    end: dt.date
    kind: str
    is_partial: bool
    text: str

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ParseError(self.text, f"a period kind in {_KINDS}, not {self.kind!r}")
        if self.end < self.start:
            raise ParseError(
                self.text, f"an end on or after the start (start {self.start}, end {self.end})"
            )

    @property
    def days(self) -> int:
        """Number of days covered, ``end - start + 1``.

        A day and a snapshot both count 1 (a snapshot has no duration, but it is
        stated on one day; :func:`analysis.etl.rates.per_day` gives no rate for it).
        """
        return (self.end - self.start).days + 1


# --- vocabulary ------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}
for _i in range(1, 13):
    _MONTHS[calendar.month_name[_i].lower()] = _i
    _MONTHS[calendar.month_abbr[_i].lower()] = _i
_MONTHS["sept"] = 9
_MON = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
}
_ORD_WORD = "(?:" + "|".join(_ORDINALS) + ")"
_COUNT_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
}  # fmt: skip

_SPACES = dict.fromkeys(map(ord, "\u00a0\u2009\u202f\u2007\u2008\u200a\t\n"), " ")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")


@dataclass(frozen=True)
class _Span:
    start: dt.date
    end: dt.date
    level: str  # day, month, quarter, half_year, year


class _Bad(Exception):
    """Internal: a form matched but its numbers are impossible (e.g. 31 February)."""


def _month_name(token: str) -> int:
    return _MONTHS[token.rstrip(".")]


def _day(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as err:
        raise _Bad(f"no such date {year:04d}-{month:02d}-{day:02d}") from err


def _month_span(year: int, month: int) -> _Span:
    if not 1 <= month <= 12:
        raise _Bad(f"no month {month} in {year}")
    last = calendar.monthrange(year, month)[1]
    return _Span(dt.date(year, month, 1), dt.date(year, month, last), "month")


def _months_span(year: int, first: int, last: int, level: str) -> _Span:
    return _Span(_month_span(year, first).start, _month_span(year, last).end, level)


# --- single expressions ---------------------------------------------------------------

_SINGLE_FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"), "iso_day"),
    (re.compile(rf"(?P<d>\d{{1,2}}){_ORD} (?:of )?(?P<mn>{_MON}),? (?P<y>\d{{4}})"), "dmy"),
    (re.compile(rf"(?P<mn>{_MON}) (?P<d>\d{{1,2}}){_ORD},? (?P<y>\d{{4}})"), "mdy"),
    (re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})"), "iso_month"),
    (re.compile(rf"(?P<mn>{_MON}),? (?P<y>\d{{4}})"), "month"),
    (re.compile(r"q(?P<q>[1-4])(?: |-)?(?P<y>\d{4})"), "quarter"),
    (re.compile(r"(?P<y>\d{4})(?: |-)?q(?P<q>[1-4])"), "quarter"),
    (re.compile(rf"(?P<qw>{_ORD_WORD}) quarter(?: of)? (?P<y>\d{{4}})"), "quarter"),
    (re.compile(r"h(?P<h>[12])(?: |-)?(?P<y>\d{4})"), "half"),
    (re.compile(r"(?P<y>\d{4})(?: |-)?h(?P<h>[12])"), "half"),
    (re.compile(rf"(?P<hw>{_ORD_WORD}) half(?: of)? (?P<y>\d{{4}})"), "half"),
    (re.compile(r"(?P<y>\d{4})"), "year"),
]


def _single(s: str) -> _Span | None:
    """Parse one complete date, month, quarter, half-year or year."""
    for pattern, form in _SINGLE_FORMS:
        m = pattern.fullmatch(s)
        if not m:
            continue
        g = m.groupdict()
        y = int(g["y"])
        if form == "iso_day":
            d = _day(y, int(g["m"]), int(g["d"]))
            return _Span(d, d, "day")
        if form in ("dmy", "mdy"):
            d = _day(y, _month_name(g["mn"]), int(g["d"]))
            return _Span(d, d, "day")
        if form == "iso_month":
            return _month_span(y, int(g["m"]))
        if form == "month":
            return _month_span(y, _month_name(g["mn"]))
        if form == "quarter":
            q = int(g["q"]) if g.get("q") else _ORDINALS[g["qw"]]
            if q > 4:
                raise _Bad(f"no quarter {q}")
            return _months_span(y, 3 * q - 2, 3 * q, "quarter")
        if form == "half":
            h = int(g["h"]) if g.get("h") else _ORDINALS[g["hw"]]
            if h > 2:
                raise _Bad(f"no half-year {h}")
            return _months_span(y, 6 * h - 5, 6 * h, "half_year")
        return _Span(dt.date(y, 1, 1), dt.date(y, 12, 31), "year")
    return None


# --- ranges ----------------------------------------------------------------------------

_SEP = re.compile(r"\s*-\s*|\s+(?:to|through)\s+")
_LEFT_DAY = re.compile(rf"(?P<d>\d{{1,2}}){_ORD}")
_LEFT_DAY_MONTH = re.compile(rf"(?P<d>\d{{1,2}}){_ORD} (?:of )?(?P<mn>{_MON})")
_LEFT_MONTH = re.compile(rf"(?P<mn>{_MON})")
_LEFT_MONTH_DAY = re.compile(rf"(?P<mn>{_MON}) (?P<d>\d{{1,2}}){_ORD}")
_LEFT_QUARTER = re.compile(r"q(?P<q>[1-4])")
_LEFT_HALF = re.compile(r"h(?P<h>[12])")
_RIGHT_DAY_YEAR = re.compile(rf"(?P<d>\d{{1,2}}){_ORD},? (?P<y>\d{{4}})")
_FIRST_MONTHS = re.compile(
    r"(?:the )?first (?P<n>\d{1,2}|" + "|".join(_COUNT_WORDS) + r") months(?: of)? (?P<y>\d{4})"
)


def _pair(left: str, right: str) -> tuple[dt.date, dt.date] | None:
    """Read ``left - right`` as a range; ``None`` if this split is not a range."""
    # right side in US order with the month on the left: "November 21 - 24, 2019"
    lm = _LEFT_MONTH_DAY.fullmatch(left)
    rdy = _RIGHT_DAY_YEAR.fullmatch(right)
    if lm and rdy:
        y, mo = int(rdy["y"]), _month_name(lm["mn"])
        return _day(y, mo, int(lm["d"])), _day(y, mo, int(rdy["d"]))

    end = _single(right)
    if end is None:
        return None
    full = _single(left)
    if full is not None:
        return full.start, end.end
    y = end.end.year
    if end.level == "day":
        if m := _LEFT_DAY.fullmatch(left):
            return _day(y, end.end.month, int(m["d"])), end.end
        if m := _LEFT_DAY_MONTH.fullmatch(left):
            return _day(y, _month_name(m["mn"]), int(m["d"])), end.end
        if m := _LEFT_MONTH_DAY.fullmatch(left):
            return _day(y, _month_name(m["mn"]), int(m["d"])), end.end
    if end.level == "month" and (m := _LEFT_MONTH.fullmatch(left)):
        return _month_span(y, _month_name(m["mn"])).start, end.end
    if end.level == "quarter" and (m := _LEFT_QUARTER.fullmatch(left)):
        return _months_span(y, 3 * int(m["q"]) - 2, 3 * int(m["q"]), "quarter").start, end.end
    if end.level == "half_year" and (m := _LEFT_HALF.fullmatch(left)):
        return _months_span(y, 6 * int(m["h"]) - 5, 6 * int(m["h"]), "half_year").start, end.end
    return None


def _range(text: str, s: str) -> tuple[dt.date, dt.date] | None:
    """Try every way of splitting ``s`` into two sides of a range.

    Several splits may read (``2015-07 - 2016-07`` has three hyphens); exactly one
    distinct reading must come out, else the text is ambiguous or not a range.
    """
    if s.startswith("between "):
        pairs = _splits(s[len("between ") :], re.compile(r"\s+and\s+"))
    elif s.startswith("from "):
        pairs = _splits(s[len("from ") :], _SEP)
    else:
        pairs = _splits(s, _SEP)
    found: set[tuple[dt.date, dt.date]] = set()
    impossible: _Bad | None = None
    for left, right in pairs:
        try:
            got = _pair(left, right)
        except _Bad as err:
            impossible = err
            continue
        if got is not None:
            found.add(got)
    if len(found) > 1:
        raise ParseError(text, f"one reading, not several: {sorted(found)}")
    if not found and impossible is not None:
        raise impossible
    return found.pop() if found else None


def _splits(s: str, sep: re.Pattern[str]) -> list[tuple[str, str]]:
    return [(s[: m.start()].strip(), s[m.end() :].strip()) for m in sep.finditer(s)]


# --- prefixed forms ----------------------------------------------------------------------


def _day_only(text: str, s: str, what: str) -> dt.date:
    span = _single(s)
    if span is None or span.level != "day":
        raise ParseError(text, f"a date after {what!r}, e.g. '18 November 2015' or '2015-11-18'")
    return span.start


def _as_date(published: object) -> dt.date | None:
    """``published`` as a plain date; ``None``, NaN and NaT become ``None``."""
    if published is None or published != published:  # NaN / NaT are not equal to themselves
        return None
    if isinstance(published, dt.datetime):  # also pandas.Timestamp
        return published.date()
    if isinstance(published, dt.date):
        return published
    raise ParseError(published, "a publication date (datetime.date) or None")


def _normalise(text: str) -> str:
    s = text.translate(_SPACES).translate(_DASHES)
    s = re.sub(r"\s+", " ", s).strip().lower()
    if s.startswith("the "):
        s = s[4:]
    return s


def parse_period(text: str, published: dt.date | None = None) -> Period:
    """Parse a period text into a :class:`Period`.

    Parameters
    ----------
    text
        The period as written (``"Q1 2018"``, ``"21–24 November 2019"``,
        ``"since mid-2015"``, ``"as of 3 January 2017"``, ...); the accepted forms
        are listed in the module docstring and in ``data/raw/README.md``.
    published
        Publication date of the document.  Required for ``since ...`` (it is the
        end of the period); used to flag periods still running at publication.

    Returns
    -------
    Period
        Inclusive ``start`` and ``end``, ``kind``, ``is_partial`` and the input text.

    Raises
    ------
    ParseError
        If the text is not in the grammar, names an impossible date, is ambiguous,
        ends before it starts, or is a ``since`` period without ``published``.
    """
    if not isinstance(text, str):
        raise ParseError(text, "a string")
    published = _as_date(published)
    s = _normalise(text)
    if not s:
        raise ParseError(text, _EXPECTED)
    try:
        start, end, kind = _parse(text, s, published)
    except _Bad as err:
        raise ParseError(text, f"a real calendar period ({err})") from None
    if end < start:
        raise ParseError(text, f"an end on or after the start (start {start}, end {end})")
    partial = kind == "to_date" or (
        kind != "snapshot" and published is not None and end > published
    )
    return Period(start=start, end=end, kind=kind, is_partial=partial, text=text)


def _parse(text: str, s: str, published: dt.date | None) -> tuple[dt.date, dt.date, str]:
    if m := re.fullmatch(r"week (?:to|ending) (.+)", s):
        end = _day_only(text, m[1], "week to")
        return end - dt.timedelta(days=6), end, "week"
    if m := re.fullmatch(r"(month|quarter|year)(?:-to-date)? to (.+)", s):
        end = _day_only(text, m[2], f"{m[1]} to")
        if m[1] == "month":
            first = end.replace(day=1)
        elif m[1] == "quarter":
            first = dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
        else:
            first = dt.date(end.year, 1, 1)
        return first, end, "to_date"
    if m := re.fullmatch(r"since (.+)", s):
        if published is None:
            raise ParseError(text, "a publication date (published=...) to end a 'since' period")
        if mid := re.fullmatch(r"mid ?-?(\d{4})", m[1]):
            first = dt.date(int(mid[1]), 7, 1)
        else:
            span = _single(m[1])
            if span is None:
                raise ParseError(text, "'since' followed by mid-YYYY, a date, a month or a year")
            first = span.start
        return first, published, "to_date"
    if m := re.fullmatch(r"as (?:of|at) (.+)", s):
        span = _single(m[1])
        if span is None or span.level not in ("day", "month"):
            raise ParseError(text, "'as of' followed by a date or a month")
        day = span.end
        if span.level == "month" and published is not None and span.start <= published < day:
            day = published  # a page of 12 June cannot state a stock of 30 June
        return day, day, "snapshot"
    if m := _FIRST_MONTHS.fullmatch(s):
        n = int(m["n"]) if m["n"].isdigit() else _COUNT_WORDS[m["n"]]
        if not 2 <= n <= 11:
            raise ParseError(text, "'first N months' with N from 2 to 11")
        span = _months_span(int(m["y"]), 1, n, "range")
        return span.start, span.end, "range"
    single = _single(s)
    if single is not None:
        return single.start, single.end, single.level
    ranged = _range(text, s)
    if ranged is not None:
        return ranged[0], ranged[1], "range"
    raise ParseError(text, _EXPECTED)
