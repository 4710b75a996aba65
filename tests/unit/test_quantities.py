"""Tests of analysis.etl.quantities.parse_quantity.

Expected values are written by hand from the strings (most are value texts of the
source catalogue, ../shared/reference/takedown_sources.md), never from the parser.
"""

from __future__ import annotations

import math
import random

import pytest

from analysis.errors import ParseError
from analysis.etl.quantities import Quantity, parse_quantity

NBSP, THIN, NARROW = "\u00a0", "\u2009", "\u202f"

# (text, value, low, high, qualifier, unit)
CASES = [
    # exact counts as written in the sources
    ("1987", 1987, 1987, 1987, "exact", None),
    ("26,000", 26_000, 26_000, 26_000, "exact", None),
    ("3,357", 3357, 3357, 3357, "exact", None),
    ("258018", 258_018, 258_018, 258_018, "exact", None),
    ("5.269.078", 5_269_078, 5_269_078, 5_269_078, "exact", None),
    ("15.021.951", 15_021_951, 15_021_951, 15_021_951, "exact", None),
    ("75,388,319", 75_388_319, 75_388_319, 75_388_319, "exact", None),
    ("1 622", 1622, 1622, 1622, "exact", None),
    (f"1{THIN}622", 1622, 1622, 1622, "exact", None),
    (f"1{NARROW}622", 1622, 1622, 1622, "exact", None),
    (f"1{NBSP}622", 1622, 1622, 1622, "exact", None),
    (f"1{THIN}210{THIN}357", 1_210_357, 1_210_357, 1_210_357, "exact", None),
    ("1.9 million", 1_900_000, 1_900_000, 1_900_000, "exact", None),
    ("9.4M", 9_400_000, 9_400_000, 9_400_000, "exact", None),
    ("9.4 million", 9_400_000, 9_400_000, 9_400_000, "exact", None),
    ("10.4 million", 10_400_000, 10_400_000, 10_400_000, "exact", None),
    ("2.1 million", 2_100_000, 2_100_000, 2_100_000, "exact", None),
    ("1.1 million", 1_100_000, 1_100_000, 1_100_000, "exact", None),
    ("2.2M", 2_200_000, 2_200_000, 2_200_000, "exact", None),
    ("7.8 million", 7_800_000, 7_800_000, 7_800_000, "exact", None),
    ("150 thousand", 150_000, 150_000, 150_000, "exact", None),
    ("150k", 150_000, 150_000, 150_000, "exact", None),
    ("150K", 150_000, 150_000, 150_000, "exact", None),
    ("16mln", 16_000_000, 16_000_000, 16_000_000, "exact", None),
    ("half a million", 500_000, 500_000, 500_000, "exact", None),
    ("an average of 70", 70, 70, 70, "exact", None),
    ("an average 61%", 61, 61, 61, "exact", "percent"),
    ("an average of 84%", 84, 84, 84, "exact", "percent"),
    ("almost 129 thousand", 129_000, None, None, "about", None),
    ("750K", 750_000, 750_000, 750_000, "exact", None),
    ("more than 30.8 million", 30_800_000, 30_800_000, None, "more_than", None),
    ("almost 2 days", 2, None, None, "about", "days"),
    ("Roughly 95 percent", 95, None, None, "about", "percent"),
    ("12.82%", 12.82, 12.82, 12.82, "exact", "percent"),
    ("a median of 43 hours", 43, 43, 43, "exact", "hours"),
    # decimal dot (one dot group is a decimal, never thousands)
    ("1.234", 1.234, 1.234, 1.234, "exact", None),
    ("0.4%", 0.4, 0.4, 0.4, "exact", "percent"),
    # percents
    ("91.4%", 91.4, 91.4, 91.4, "exact", "percent"),
    ("91.4 percent", 91.4, 91.4, 91.4, "exact", "percent"),
    ("91.4 per cent", 91.4, 91.4, 91.4, "exact", "percent"),
    ("83.64%", 83.64, 83.64, 83.64, "exact", "percent"),
    ("about 99 percent", 99, None, None, "about", "percent"),
    ("less than 0.2%", 0.2, None, 0.2, "less_than", "percent"),
    ("more than 80%", 80, 80, None, "more_than", "percent"),
    ("-19%", -19, -19, -19, "exact", "percent"),
    ("\u221280%", -80, -80, -80, "exact", "percent"),
    ("\u22128.4%", -8.4, -8.4, -8.4, "exact", "percent"),
    ("+60%", 60, 60, 60, "exact", "percent"),
    # qualifiers
    ("more than 26 000", 26_000, 26_000, None, "more_than", None),
    (f"more than 26{NBSP}000", 26_000, 26_000, None, "more_than", None),
    ("over 26 000 items", 26_000, 26_000, None, "more_than", "count"),
    ("about 26,000", 26_000, None, None, "about", None),
    ("nearly 300,000", 300_000, None, None, "about", None),
    ("nearly 50,000", 50_000, None, None, "about", None),
    ("nearly 1M", 1_000_000, None, None, "about", None),
    ("over 16 million", 16_000_000, 16_000_000, None, "more_than", None),
    ("over 16mln", 16_000_000, 16_000_000, None, "more_than", None),
    ("more than 100 million", 100_000_000, 100_000_000, None, "more_than", None),
    ("at least 3,044", 3044, 3044, None, "at_least", None),
    ("almost 300", 300, None, None, "about", None),
    ("some 636", 636, None, None, "about", None),
    ("approximately 350", 350, None, None, "about", None),
    ("around 1,000", 1000, None, None, "about", None),
    ("roughly 200", 200, None, None, "about", None),
    ("in excess of 310,000", 310_000, 310_000, None, "more_than", None),
    ("upwards of 1,000", 1000, 1000, None, "more_than", None),
    ("fewer than 10", 10, None, 10, "less_than", None),
    ("under 2,000", 2000, None, 2000, "less_than", None),
    ("up to 300", 300, None, 300, "at_most", None),
    ("no more than 5", 5, None, 5, "at_most", None),
    ("no fewer than 5", 5, 5, None, "at_least", None),
    ("more than 150 thousand", 150_000, 150_000, None, "more_than", None),
    ("~370,000", 370_000, None, None, "about", None),
    ("~ 370,000", 370_000, None, None, "about", None),
    (">26,000", 26_000, 26_000, None, "more_than", None),
    ("> 350,000", 350_000, 350_000, None, "more_than", None),
    ("\u226546,000", 46_000, 46_000, None, "at_least", None),
    (">=46,000", 46_000, 46_000, None, "at_least", None),
    ("<2,000", 2000, None, 2000, "less_than", None),
    ("\u2264300", 300, None, 300, "at_most", None),
    ("26,000+", 26_000, 26_000, None, "at_least", None),
    ("1,000 or more", 1000, 1000, None, "at_least", None),
    ("MORE THAN 26,000", 26_000, 26_000, None, "more_than", None),
    ("  about 26,000  ", 26_000, None, None, "about", None),
    # durations
    ("43 hours", 43, 43, 43, "exact", "hours"),
    ("less than 1 minute", 1, None, 1, "less_than", "minutes"),
    ("302 days", 302, 302, 302, "exact", "days"),
    ("14 days", 14, 14, 14, "exact", "days"),
    ("5 min", 5, 5, 5, "exact", "minutes"),
    # ratio
    ("~2\u00d7", 2, None, None, "about", "ratio"),
    # ranges: value is the midpoint
    ("200-300", 250, 200, 300, "range", None),
    ("200\u2013300", 250, 200, 300, "range", None),
    ("200\u2014300", 250, 200, 300, "range", None),
    ("200 \u2013 300", 250, 200, 300, "range", None),
    ("200 to 300", 250, 200, 300, "range", None),
    ("between 200 and 300", 250, 200, 300, "range", None),
    ("1.2-1.5 million", 1_350_000, 1_200_000, 1_500_000, "range", None),
    ("80-90%", 85, 80, 90, "range", "percent"),
    ("80%-90%", 85, 80, 90, "range", "percent"),
    ("1,000-2,000", 1500, 1000, 2000, "range", None),
]


@pytest.mark.parametrize(("text", "value", "low", "high", "qualifier", "unit"), CASES)
def test_parse_quantity_reads_source_strings(text, value, low, high, qualifier, unit):
    q = parse_quantity(text)
    assert isinstance(q, Quantity)
    assert q.value == pytest.approx(value, rel=1e-12)
    assert (q.low is None) == (low is None)
    assert (q.high is None) == (high is None)
    if low is not None:
        assert q.low == pytest.approx(low, rel=1e-12)
    if high is not None:
        assert q.high == pytest.approx(high, rel=1e-12)
    assert q.qualifier == qualifier
    assert q.unit == unit
    assert q.text == text


def test_multiplied_values_are_exact_floats():
    # Decimal arithmetic: 1.9 * 10**6 must not come out as 1900000.0000000002
    assert parse_quantity("1.9 million").value == 1_900_000.0
    assert parse_quantity("9.4M").value == 9_400_000.0
    assert parse_quantity("4.6").value == 4.6


def test_dot_rule_needs_two_groups_for_thousands():
    assert parse_quantity("5.269.078").value == 5_269_078
    assert parse_quantity("1.234").value == pytest.approx(1.234)
    assert parse_quantity("1.234 million").value == 1_234_000


def test_quantity_is_frozen():
    q = parse_quantity("26,000")
    with pytest.raises(AttributeError):
        q.value = 1  # type: ignore[misc]


BAD = [
    "",
    "   ",
    "several hundreds",
    "hundreds",
    "more than half",
    "n/s",
    "\u2014",
    "10.4 million vs 8 million",
    "1987 / 1800",
    "7,364 / 6,399",
    "1,5 million",
    "26,00",
    "1.23.456",
    "5.269.078,5",
    "about 200-300",
    "300-200",
    "more than about 300",
    "over 300+",
    "5 percentage points",
    "overall 5",
    "26,000 ISIS",
    "200 hundred",
    "80%-90 hours",
]


@pytest.mark.parametrize("text", BAD)
def test_parse_quantity_rejects(text):
    with pytest.raises(ParseError) as info:
        parse_quantity(text)
    assert repr(text) in str(info.value)


def test_parse_quantity_rejects_non_string():
    with pytest.raises(ParseError):
        parse_quantity(26000)  # type: ignore[arg-type]


def test_parse_error_is_a_value_error_naming_the_reason():
    with pytest.raises(ValueError, match="no number"):
        parse_quantity("several hundreds")
    with pytest.raises(ParseError, match="low end exceeds"):
        parse_quantity("300-200")


def _check_bounds(q: Quantity) -> None:
    if q.low is not None:
        assert q.low <= q.value
    if q.high is not None:
        assert q.value <= q.high
    if q.qualifier == "exact":
        assert q.low == q.high == q.value
    if q.qualifier == "range":
        assert q.value == pytest.approx((q.low + q.high) / 2)
    if q.qualifier in ("more_than", "at_least"):
        assert q.low == q.value and q.high is None
    if q.qualifier in ("less_than", "at_most"):
        assert q.high == q.value and q.low is None
    if q.qualifier == "about":
        assert q.low is None and q.high is None


@pytest.mark.parametrize("text", [c[0] for c in CASES])
def test_bounds_are_consistent_on_every_case(text):
    _check_bounds(parse_quantity(text))


def test_bounds_property_on_generated_strings():
    """Property check without hypothesis: random numbers written in several styles."""
    rng = random.Random(20240611)
    qualifiers = {
        "": "exact",
        "about ": "about",
        "more than ": "more_than",
        "at least ": "at_least",
        "less than ": "less_than",
        "up to ": "at_most",
    }
    for _ in range(400):
        n = rng.randrange(1000, 100_000_000)
        style = rng.choice(["plain", "comma", "space", "thin", "dots"])
        digits = str(n)
        groups = []
        while digits:
            groups.insert(0, digits[-3:])
            digits = digits[:-3]
        sep = {"plain": "", "comma": ",", "space": " ", "thin": THIN, "dots": "."}[style]
        if style == "dots" and len(groups) < 3:
            sep = ","  # one dot group would be a decimal by the documented rule
        written = sep.join(groups)
        prefix = rng.choice(list(qualifiers))
        q = parse_quantity(prefix + written)
        assert q.value == n
        assert q.qualifier == qualifiers[prefix]
        _check_bounds(q)
        hi = n + rng.randrange(1, 1000)
        r = parse_quantity(f"{n}\u2013{hi}")
        assert (r.low, r.high) == (n, hi)
        assert math.isclose(r.value, (n + hi) / 2)
        _check_bounds(r)


def test_dot_thousands_for_dutch_and_german_sources() -> None:
    # Data News (nl) writes "10.400 video's" for ten thousand four hundred videos.
    from analysis.etl.quantities import parse_quantity as parse

    assert parse("10.400", dot_thousands=True).value == 10400.0
    assert parse("10.400").value == 10.4  # English reading: a decimal
    assert parse("1.9 million", dot_thousands=True).value == 1_900_000.0
    assert parse("more than 1.000", dot_thousands=True).low == 1000.0
