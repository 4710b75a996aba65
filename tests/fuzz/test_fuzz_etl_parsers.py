"""Property-based fuzzing of parse_quantity and parse_period (Hypothesis).

Contract: any text gives either a value or the documented ParseError, never another
exception; values are finite and consistent (low <= value <= high, start <= end); texts
written from a known number or date read back to it.  Bounded (derandomized, a few hundred
examples each, no example database) so the suite stays fast and repeatable.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from analysis.errors import ParseError
from analysis.etl.periods import Period, parse_period
from analysis.etl.quantities import Quantity, parse_quantity

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ROUND = settings(max_examples=150, deadline=None, derandomize=True, database=None)

WORDS = [
    "more than",
    "over",
    "about",
    "nearly",
    "at least",
    "less than",
    "up to",
    "between",
    "and",
    "to",
    "million",
    "thousand",
    "billion",
    "k",
    "M",
    "%",
    "percent",
    "hours",
    "days",
    "items",
    "-",
    "–",
    ",",
    ".",
    " ",
    "+",
    "~",
    "≥",
    "0",
    "1",
    "26",
    "000",
    "5.269",
    ".078",
    "1e400",
    "9" * 40,
    "mehr als",
    "rund",
    "Q1",
    "H2",
    "2019",
    "November",
    "since",
    "mid-",
    "as of",
    "week to",
    "month to",
    "year to",
    "first half of",
    "2015-07",
    "31",
    "\u00a0",
    "\u202f",
    "−",
    "of",
    "the",
]
TEXTS = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
    st.lists(st.sampled_from(WORDS), max_size=8).map("".join),
)
PUBLISHED = st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)))


def _consistent_quantity(q: Quantity) -> None:
    assert isinstance(q, Quantity)
    for number in (q.value, q.low, q.high):
        assert number is None or math.isfinite(number)
    if q.low is not None:
        assert q.low <= q.value
    if q.high is not None:
        assert q.value <= q.high


@FUZZ
@given(TEXTS, st.booleans())
@example("1" + "0" * 400, False)  # 10^400: not finite as a float
@example("1" + "0" * 300 + " million", False)
@example("9" * 200 + "-" + "9" * 400, False)
def test_parse_quantity_gives_a_value_or_parse_error(text: str, dot_thousands: bool) -> None:
    try:
        quantity = parse_quantity(text, dot_thousands=dot_thousands)
    except ParseError:
        return
    _consistent_quantity(quantity)


@FUZZ
@given(TEXTS, PUBLISHED)
def test_parse_period_gives_a_period_or_parse_error(text: str, published) -> None:
    try:
        period = parse_period(text, published=published)
    except ParseError:
        return
    assert isinstance(period, Period)
    assert period.start <= period.end
    assert period.days == (period.end - period.start).days + 1


@ROUND
@given(st.integers(0, 10**12), st.sampled_from(["{:d}", "{:,}", "{:,}|space", "{:,}|nbsp"]))
def test_counts_round_trip(n: int, style: str) -> None:
    fmt, _, sep = style.partition("|")
    text = fmt.format(n)
    if sep:
        text = text.replace(",", {"space": " ", "nbsp": "\u00a0"}[sep])
    q = parse_quantity(text)
    assert (q.value, q.low, q.high, q.qualifier) == (n, n, n, "exact")


@ROUND
@given(st.integers(1000, 10**12))
def test_dot_thousands_round_trip(n: int) -> None:
    q = parse_quantity(f"{n:,}".replace(",", "."), dot_thousands=True)
    assert q.value == n


@ROUND
@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.sampled_from(["{a:,}-{b:,}", "{a:,} to {b:,}", "between {a:,} and {b:,}"]),
)
def test_ranges_round_trip(a: int, b: int, fmt: str) -> None:
    low, high = min(a, b), max(a, b)
    q = parse_quantity(fmt.format(a=low, b=high))
    assert (q.low, q.high, q.qualifier) == (low, high, "range")
    assert q.value == (low + high) / 2


@ROUND
@given(
    st.integers(0, 10**9),
    st.sampled_from(
        [
            ("more than", "more_than", "low"),
            ("at least", "at_least", "low"),
            ("less than", "less_than", "high"),
            ("up to", "at_most", "high"),
        ]
    ),
)
def test_qualifiers_round_trip(n: int, spec: tuple[str, str, str]) -> None:
    words, qualifier, bound = spec
    q = parse_quantity(f"{words} {n:,}")
    assert q.qualifier == qualifier and q.value == n and getattr(q, bound) == n


@ROUND
@given(st.integers(0, 1000))
def test_percent_round_trip(tenths: int) -> None:
    q = parse_quantity(f"{tenths / 10:.1f}%")
    assert q.unit == "percent" and math.isclose(q.value, tenths / 10)


@ROUND
@given(st.dates(dt.date(1970, 1, 1), dt.date(2099, 12, 31)))
def test_days_round_trip(day: dt.date) -> None:
    for text in (f"{day.day} {calendar.month_name[day.month]} {day.year}", day.isoformat()):
        period = parse_period(text)
        assert (period.start, period.end, period.kind) == (day, day, "day"), text


@ROUND
@given(st.integers(1970, 2099), st.integers(1, 12))
def test_months_round_trip(year: int, month: int) -> None:
    last = calendar.monthrange(year, month)[1]
    for text in (f"{calendar.month_name[month]} {year}", f"{year}-{month:02d}"):
        period = parse_period(text)
        assert (period.start, period.end, period.kind) == (
            dt.date(year, month, 1),
            dt.date(year, month, last),
            "month",
        ), text


@ROUND
@given(st.integers(1970, 2099), st.integers(1, 4))
def test_quarters_and_years_round_trip(year: int, quarter: int) -> None:
    first = 3 * quarter - 2
    period = parse_period(f"Q{quarter} {year}")
    assert (period.start, period.end, period.kind) == (
        dt.date(year, first, 1),
        dt.date(year, first + 2, calendar.monthrange(year, first + 2)[1]),
        "quarter",
    )
    whole = parse_period(str(year))
    assert (whole.start, whole.end, whole.kind) == (
        dt.date(year, 1, 1),
        dt.date(year, 12, 31),
        "year",
    )


@ROUND
@given(
    st.dates(dt.date(1970, 1, 1), dt.date(2099, 12, 31)),
    st.dates(dt.date(1970, 1, 1), dt.date(2099, 12, 31)),
)
def test_iso_ranges_round_trip(a: dt.date, b: dt.date) -> None:
    start, end = min(a, b), max(a, b)
    if start == end:
        return
    period = parse_period(f"{start.isoformat()} – {end.isoformat()}")
    assert (period.start, period.end) == (start, end)
