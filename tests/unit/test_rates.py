"""Tests of analysis.etl.rates.per_day (expected values by hand arithmetic)."""

from __future__ import annotations

import datetime as dt

import pytest

from analysis.errors import ParseError
from analysis.etl.periods import Period, parse_period
from analysis.etl.quantities import parse_quantity
from analysis.etl.rates import DAYS_PER, per_day


def test_total_over_a_month():
    # ISIS Watch September 2016: 1987 bots and channels over 30 days
    assert per_day(1987, parse_period("September 2016")) == pytest.approx(1987 / 30)


def test_total_over_a_range_of_days():
    # Etidal 17 July - 13 September 2022: 5,269,078 pieces over 59 days
    period = parse_period("2022-07-17 \u2013 2022-09-13")
    assert per_day(5_269_078, period) == pytest.approx(5_269_078 / 59)


def test_total_over_a_week_and_a_day():
    assert per_day(78, parse_period("week to 18 November 2015")) == pytest.approx(78 / 7)
    assert per_day(2096, parse_period("22 November 2019")) == 2096


def test_month_to_date_uses_the_days_covered():
    # 2118 in the 28 days to 28 December 2016, not in 31 days
    assert per_day(2118, parse_period("month to 28 December 2016")) == pytest.approx(2118 / 28)


def test_leap_year_total():
    assert per_day(366, parse_period("2016")) == 1.0
    assert per_day(365, parse_period("2019")) == 1.0


def test_since_uses_the_publication_date():
    # 1 July 2015 to 5 February 2016: 184 + 31 + 5 = 220 days
    period = parse_period("since mid-2015", published=dt.date(2016, 2, 5))
    assert period.days == 220
    assert per_day(125_000, period) == pytest.approx(125_000 / 220)


@pytest.mark.parametrize(
    ("rate_per", "value", "expected"),
    [
        ("day", 300, 300.0),
        ("week", 1000, 1000 / 7),
        ("month", 2000, 2000 / 30.4375),
        ("year", 365.25, 1.0),
    ],
)
def test_stated_rates_are_converted(rate_per, value, expected):
    period = parse_period("2016")
    assert per_day(value, period, rate_per) == pytest.approx(expected)


def test_day_counts_of_rate_units():
    assert DAYS_PER == {"day": 1.0, "week": 7.0, "month": 30.4375, "year": 365.25}


def test_a_rate_needs_no_period():
    assert per_day(8000, None, "month") == pytest.approx(8000 / 30.4375)


def test_snapshot_total_has_no_rate():
    # ISIS Watch channel had 3,357 members as of 3 January 2017: a stock, not a flow
    assert per_day(3357, parse_period("as of 3 January 2017")) is None


def test_total_without_period_has_no_rate():
    assert per_day(3357, None) is None


@pytest.mark.parametrize(
    "text", ["91.4%", "43 hours", "less than 1 minute", "302 days", "~2\u00d7"]
)
def test_non_count_quantities_have_no_rate(text):
    q = parse_quantity(text)
    assert per_day(q, parse_period("Q1 2018")) is None
    assert per_day(q.value, parse_period("Q1 2018"), unit=q.unit) is None


def test_quantity_range_uses_midpoint():
    # "200-300" a day -> 250 a day
    assert per_day(parse_quantity("200-300"), None, "day") == 250.0
    assert per_day(parse_quantity("over 26 000 items"), parse_period("21-24 November 2019")) == (
        pytest.approx(26_000 / 4)
    )


def test_unknown_rate_unit_is_an_error():
    with pytest.raises(ParseError, match="fortnight"):
        per_day(10, parse_period("2019"), "fortnight")


def test_constructed_period():
    period = Period(dt.date(2018, 1, 1), dt.date(2018, 3, 31), "quarter", False, "Q1 2018")
    assert per_day(1_900_000, period) == pytest.approx(1_900_000 / 90)
