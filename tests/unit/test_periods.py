"""Tests of analysis.etl.periods.parse_period.

Expected dates are worked out by hand from the strings (the grammar table of
data/raw/README.md and period texts of the source catalogue), never from the parser.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from analysis.errors import ParseError
from analysis.etl.periods import Period, parse_period

D = dt.date
LATE = D(2026, 3, 1)  # a publication date after every period below

# (text, start, end, kind)
CASES = [
    # day
    ("22 November 2019", D(2019, 11, 22), D(2019, 11, 22), "day"),
    ("22 Nov 2019", D(2019, 11, 22), D(2019, 11, 22), "day"),
    ("22nd November 2019", D(2019, 11, 22), D(2019, 11, 22), "day"),
    ("November 22, 2019", D(2019, 11, 22), D(2019, 11, 22), "day"),
    ("November 22 2019", D(2019, 11, 22), D(2019, 11, 22), "day"),
    ("2019-11-22", D(2019, 11, 22), D(2019, 11, 22), "day"),
    ("2018-12-06", D(2018, 12, 6), D(2018, 12, 6), "day"),
    ("2023-04-18", D(2023, 4, 18), D(2023, 4, 18), "day"),
    ("29 February 2020", D(2020, 2, 29), D(2020, 2, 29), "day"),
    # month
    ("September 2016", D(2016, 9, 1), D(2016, 9, 30), "month"),
    ("Sep 2016", D(2016, 9, 1), D(2016, 9, 30), "month"),
    ("Sept. 2016", D(2016, 9, 1), D(2016, 9, 30), "month"),
    ("SEPTEMBER 2016", D(2016, 9, 1), D(2016, 9, 30), "month"),
    ("2016-09", D(2016, 9, 1), D(2016, 9, 30), "month"),
    ("2016-12", D(2016, 12, 1), D(2016, 12, 31), "month"),
    ("2020-04", D(2020, 4, 1), D(2020, 4, 30), "month"),
    ("February 2016", D(2016, 2, 1), D(2016, 2, 29), "month"),
    ("Feb 2017", D(2017, 2, 1), D(2017, 2, 28), "month"),
    # quarter
    ("Q1 2018", D(2018, 1, 1), D(2018, 3, 31), "quarter"),
    ("q4 2017", D(2017, 10, 1), D(2017, 12, 31), "quarter"),
    ("2023-Q2", D(2023, 4, 1), D(2023, 6, 30), "quarter"),
    ("2018-Q1", D(2018, 1, 1), D(2018, 3, 31), "quarter"),
    ("2024-Q1", D(2024, 1, 1), D(2024, 3, 31), "quarter"),
    ("2018 Q3", D(2018, 7, 1), D(2018, 9, 30), "quarter"),
    ("first quarter of 2018", D(2018, 1, 1), D(2018, 3, 31), "quarter"),
    ("second quarter of 2023", D(2023, 4, 1), D(2023, 6, 30), "quarter"),
    ("the third quarter of 2023", D(2023, 7, 1), D(2023, 9, 30), "quarter"),
    ("4th quarter 2017", D(2017, 10, 1), D(2017, 12, 31), "quarter"),
    # half-year
    ("H2 2017", D(2017, 7, 1), D(2017, 12, 31), "half_year"),
    ("H1 2021", D(2021, 1, 1), D(2021, 6, 30), "half_year"),
    ("2016-H2", D(2016, 7, 1), D(2016, 12, 31), "half_year"),
    ("first half of 2017", D(2017, 1, 1), D(2017, 6, 30), "half_year"),
    ("second half of 2016", D(2016, 7, 1), D(2016, 12, 31), "half_year"),
    ("Second Half of 2018", D(2018, 7, 1), D(2018, 12, 31), "half_year"),
    # year
    ("2019", D(2019, 1, 1), D(2019, 12, 31), "year"),
    ("2012", D(2012, 1, 1), D(2012, 12, 31), "year"),
    # ranges of days
    ("21-24 November 2019", D(2019, 11, 21), D(2019, 11, 24), "range"),
    ("21\u201324 November 2019", D(2019, 11, 21), D(2019, 11, 24), "range"),
    ("21 - 24 November 2019", D(2019, 11, 21), D(2019, 11, 24), "range"),
    ("November 21-24, 2019", D(2019, 11, 21), D(2019, 11, 24), "range"),
    ("27 November - 3 December 2019", D(2019, 11, 27), D(2019, 12, 3), "range"),
    ("27 November \u2013 3 December 2019", D(2019, 11, 27), D(2019, 12, 3), "range"),
    ("November 27 \u2013 December 3, 2019", D(2019, 11, 27), D(2019, 12, 3), "range"),
    ("1 August 2015 \u2013 31 December 2016", D(2015, 8, 1), D(2016, 12, 31), "range"),
    ("August 1, 2015 \u2013 December 31, 2016", D(2015, 8, 1), D(2016, 12, 31), "range"),
    ("2022-07-17 \u2013 2022-09-13", D(2022, 7, 17), D(2022, 9, 13), "range"),
    ("2022-07-17 - 2022-09-13", D(2022, 7, 17), D(2022, 9, 13), "range"),
    ("2017-09-01 \u2013 2017-09-26", D(2017, 9, 1), D(2017, 9, 26), "range"),
    ("2021-12-01 \u2013 2022-11-30", D(2021, 12, 1), D(2022, 11, 30), "range"),
    ("2022-02-21 \u2013 2022-12-31", D(2022, 2, 21), D(2022, 12, 31), "range"),
    ("2019-11-21 \u2014 2019-11-24", D(2019, 11, 21), D(2019, 11, 24), "range"),
    ("22-23 November 2019", D(2019, 11, 22), D(2019, 11, 23), "range"),
    ("27-29 October 2020", D(2020, 10, 27), D(2020, 10, 29), "range"),
    ("1 September 2016 \u2013 28 December 2016", D(2016, 9, 1), D(2016, 12, 28), "range"),
    ("April\u2013September 2018", D(2018, 4, 1), D(2018, 9, 30), "range"),
    ("13 September 2017 to 14 September 2017", D(2017, 9, 13), D(2017, 9, 14), "range"),
    # ranges of months
    ("July\u2013December 2018", D(2018, 7, 1), D(2018, 12, 31), "range"),
    ("July-December 2018", D(2018, 7, 1), D(2018, 12, 31), "range"),
    ("Jan\u2013Sep 2020", D(2020, 1, 1), D(2020, 9, 30), "range"),
    ("January to September 2020", D(2020, 1, 1), D(2020, 9, 30), "range"),
    ("between January and September 2020", D(2020, 1, 1), D(2020, 9, 30), "range"),
    ("from July to December 2018", D(2018, 7, 1), D(2018, 12, 31), "range"),
    ("Sep\u2013Dec 2022", D(2022, 9, 1), D(2022, 12, 31), "range"),
    ("first nine months of 2020", D(2020, 1, 1), D(2020, 9, 30), "range"),
    ("first 9 months of 2020", D(2020, 1, 1), D(2020, 9, 30), "range"),
    ("first six months of 2017", D(2017, 1, 1), D(2017, 6, 30), "range"),
    ("2015-07 \u2013 2016-07", D(2015, 7, 1), D(2016, 7, 31), "range"),
    ("2020-01 \u2013 2020-09", D(2020, 1, 1), D(2020, 9, 30), "range"),
    ("2010-02 \u2013 2017-07", D(2010, 2, 1), D(2017, 7, 31), "range"),
    ("2012-04 \u2013 2013-03", D(2012, 4, 1), D(2013, 3, 31), "range"),
    ("April 2012 \u2013 March 2013", D(2012, 4, 1), D(2013, 3, 31), "range"),
    ("2015-07 \u2013 2018-02-28", D(2015, 7, 1), D(2018, 2, 28), "range"),
    ("2022-02 \u2013 2023-06", D(2022, 2, 1), D(2023, 6, 30), "range"),
    # ranges of larger units
    ("2016\u20132017", D(2016, 1, 1), D(2017, 12, 31), "range"),
    ("Q1\u2013Q3 2018", D(2018, 1, 1), D(2018, 9, 30), "range"),
    ("Q4 2017 \u2013 Q2 2018", D(2017, 10, 1), D(2018, 6, 30), "range"),
    ("H2 2016 \u2013 H1 2017", D(2016, 7, 1), D(2017, 6, 30), "range"),
    # week and to-date
    ("week to 18 November 2015", D(2015, 11, 12), D(2015, 11, 18), "week"),
    ("week to 2015-11-18", D(2015, 11, 12), D(2015, 11, 18), "week"),
    ("week ending 18 November 2015", D(2015, 11, 12), D(2015, 11, 18), "week"),
    ("month to 28 December 2016", D(2016, 12, 1), D(2016, 12, 28), "to_date"),
    ("year to 16 February 2026", D(2026, 1, 1), D(2026, 2, 16), "to_date"),
    ("quarter to 15 May 2020", D(2020, 4, 1), D(2020, 5, 15), "to_date"),
    # snapshots
    ("as of 3 January 2017", D(2017, 1, 3), D(2017, 1, 3), "snapshot"),
    ("as of January 3, 2017", D(2017, 1, 3), D(2017, 1, 3), "snapshot"),
    ("as of 2017-01-03", D(2017, 1, 3), D(2017, 1, 3), "snapshot"),
    ("as of December 2017", D(2017, 12, 31), D(2017, 12, 31), "snapshot"),
    ("as of 2022-12", D(2022, 12, 31), D(2022, 12, 31), "snapshot"),
    ("as at February 2024", D(2024, 2, 29), D(2024, 2, 29), "snapshot"),
]


@pytest.mark.parametrize(("text", "start", "end", "kind"), CASES)
def test_parse_period_reads_source_strings(text, start, end, kind):
    p = parse_period(text, published=LATE)
    assert isinstance(p, Period)
    assert (p.start, p.end, p.kind) == (start, end, kind)
    assert p.text == text
    assert p.start <= p.end
    assert p.is_partial == (kind == "to_date")


def test_parse_period_without_publication_date():
    p = parse_period("Q1 2018")
    assert (p.start, p.end, p.is_partial) == (D(2018, 1, 1), D(2018, 3, 31), False)


# "since ..." ends on the publication date
SINCE = [
    ("since mid-2015", D(2016, 2, 5), D(2015, 7, 1)),
    ("since mid 2015", D(2016, 2, 5), D(2015, 7, 1)),
    ("since June 2022", D(2024, 6, 1), D(2022, 6, 1)),
    ("since 1 August 2015", D(2016, 12, 31), D(2015, 8, 1)),
    ("since February 2010", D(2017, 7, 20), D(2010, 2, 1)),
    ("since 2022", D(2024, 8, 30), D(2022, 1, 1)),
    ("Since August 1, 2015", D(2017, 1, 1), D(2015, 8, 1)),
]


@pytest.mark.parametrize(("text", "published", "start"), SINCE)
def test_since_runs_to_publication(text, published, start):
    p = parse_period(text, published=published)
    assert (p.start, p.end, p.kind, p.is_partial) == (start, published, "to_date", True)


def test_since_without_publication_date_names_the_text():
    with pytest.raises(ParseError, match="since mid-2015") as info:
        parse_period("since mid-2015")
    assert "publication date" in str(info.value)


def test_since_after_publication_is_end_before_start():
    with pytest.raises(ParseError, match="end on or after the start"):
        parse_period("since June 2022", published=D(2022, 1, 15))


def test_publication_date_may_be_a_datetime():
    # pandas.Timestamp is a datetime subclass; a plain datetime stands in for it
    p = parse_period("since mid-2015", published=dt.datetime(2016, 2, 5, 12, 0))
    assert p.end == D(2016, 2, 5)
    assert type(p.end) is dt.date
    assert parse_period("2019", published=float("nan")).is_partial is False


# periods still running at publication are partial
PARTIAL = [
    ("December 2016", D(2016, 12, 28), True),  # Windows Latest page of 28 Dec 2016
    ("December 2016", D(2016, 12, 31), False),
    ("December 2016", D(2017, 1, 4), False),
    ("Q1 2024", D(2024, 3, 15), True),
    ("H2 2017", D(2018, 4, 1), False),
    ("2024", D(2024, 8, 30), True),
    ("July\u2013December 2018", D(2018, 11, 1), True),
    ("week to 18 November 2015", D(2015, 11, 19), False),
    ("22 November 2019", D(2019, 11, 25), False),
    ("as of December 2017", D(2017, 12, 5), False),  # a snapshot is never partial
    ("month to 28 December 2016", D(2016, 12, 28), True),
    ("month to 28 December 2016", None, True),
]


@pytest.mark.parametrize(("text", "published", "partial"), PARTIAL)
def test_is_partial(text, published, partial):
    assert parse_period(text, published=published).is_partial is partial


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("22 November 2019", 1),
        ("21-24 November 2019", 4),
        ("week to 18 November 2015", 7),
        ("February 2016", 29),
        ("February 2017", 28),
        ("Q1 2018", 90),
        ("Q1 2020", 91),
        ("H2 2017", 184),
        ("2016", 366),
        ("2019", 365),
        ("month to 28 December 2016", 28),
        ("2022-07-17 \u2013 2022-09-13", 59),  # 15 + 31 + 13
        ("as of 3 January 2017", 1),
    ],
)
def test_days(text, days):
    assert parse_period(text).days == days


BAD = [
    "",
    "late 2016",
    "early 2017",
    "mid-2015",
    "recent months",
    '"recent months" 2016',
    "last quarter of 2022",
    "as of 2019",
    "as of Q4 2019",
    "31 February 2019",
    "2019-02-30",
    "2016-13",
    "Q5 2018",
    "H3 2018",
    "first 12 months of 2020",
    "first one months of 2020",
    "27 December \u2013 3 January 2020",
    "November\u2013February 2019",
    "2017-09-26 \u2013 2017-09-01",
    "2017 \u2013 2016",
    "week to November 2015",
    "month to 2016",
    "n/s",
    "Sep/Oct/Nov 2016",
    "January",
    "2019-11-22 (partial)",
    "Q1 2018 Q2 2018",
    "21-24",
]


@pytest.mark.parametrize("text", BAD)
def test_parse_period_rejects(text):
    with pytest.raises(ParseError) as info:
        parse_period(text, published=LATE)
    assert repr(text) in str(info.value)


def test_end_before_start_message():
    with pytest.raises(ParseError, match="end on or after the start"):
        parse_period("2017-09-26 \u2013 2017-09-01")


def test_period_constructor_checks_order_and_kind():
    with pytest.raises(ParseError):
        Period(D(2020, 1, 2), D(2020, 1, 1), "range", False, "x")
    with pytest.raises(ParseError):
        Period(D(2020, 1, 1), D(2020, 1, 1), "fortnight", False, "x")


def test_parse_period_rejects_non_string():
    with pytest.raises(ParseError):
        parse_period(2019)  # type: ignore[arg-type]


MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip


def _month_end(year: int, month: int) -> dt.date:
    first_next = D(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def test_generated_periods_property():
    """Property check without hypothesis: random dates written in every style."""
    rng = random.Random(7)
    for _ in range(300):
        a = D(2010, 1, 1) + dt.timedelta(days=rng.randrange(0, 6000))
        b = a + dt.timedelta(days=rng.randrange(0, 900))
        styles = [
            f"{a.day} {MONTHS[a.month - 1]} {a.year} \u2013 {b.day} {MONTHS[b.month - 1]} {b.year}",
            f"{MONTHS[a.month - 1]} {a.day}, {a.year} - {MONTHS[b.month - 1]} {b.day}, {b.year}",
            f"{a.isoformat()} \u2013 {b.isoformat()}",
            f"between {a.isoformat()} and {b.isoformat()}",
        ]
        for text in styles:
            p = parse_period(text)
            assert (p.start, p.end, p.kind) == (a, b, "range")
            assert p.days == (b - a).days + 1
        month = parse_period(f"{MONTHS[a.month - 1][:3]} {a.year}")
        assert (month.start, month.end) == (a.replace(day=1), _month_end(a.year, a.month))
        q = (a.month - 1) // 3 + 1
        quarter = parse_period(f"Q{q} {a.year}")
        assert quarter.start <= a <= quarter.end
        assert quarter.start.day == 1 and quarter.start.month == 3 * q - 2
        week = parse_period(f"week to {a.isoformat()}")
        assert week.days == 7 and week.end == a
        snap = parse_period(f"as of {a.day} {MONTHS[a.month - 1]} {a.year}")
        assert snap.start == snap.end == a and snap.days == 1
