"""Intervals implied by a figure's qualifier and by the rounding of its digits.

Used to tell a real disagreement from rounding: "nearly 300,000" and 299,649 are
compatible, 440,600 and 446,000 are not.
"""

from __future__ import annotations

import math

ABOUT_TOLERANCE = 0.05
"""'about', 'nearly', 'some' ... are read as within 5% of the stated value."""


def significant_digits(value: float) -> int:
    """Number of significant digits of ``value`` as written (trailing zeros do not count).

    >>> significant_digits(299649.0), significant_digits(300000.0), significant_digits(1.9e6)
    (6, 1, 2)
    """
    if value == 0 or not math.isfinite(value):
        return 1
    digits = f"{abs(value):.12g}".replace(".", "").lstrip("0")
    if "e" in digits:
        digits = digits.split("e")[0]
    return max(1, len(digits.rstrip("0")))


def rounding_half_width(value: float) -> float:
    """Half a unit in the last significant place of ``value`` (0.5 for whole numbers like 2,013)."""
    if value == 0 or not math.isfinite(value):
        return 0.5
    exponent = math.floor(math.log10(abs(value))) - significant_digits(value) + 1
    return 0.5 * 10.0**exponent


def figure_interval(
    value: float, qualifier: str, low: float | None = None, high: float | None = None
) -> tuple[float, float]:
    """Closed interval of values consistent with a figure as written.

    Parameters
    ----------
    value
        The point value.
    qualifier
        A term of :data:`analysis.vocab.QUALIFIERS`.
    low, high
        The range ends for ``qualifier == "range"``.
    """
    half = rounding_half_width(value)
    if qualifier == "range" and low is not None and high is not None:
        return (low - rounding_half_width(low), high + rounding_half_width(high))
    if qualifier == "about":
        spread = max(half, ABOUT_TOLERANCE * abs(value))
        return (value - spread, value + spread)
    if qualifier in ("more_than", "at_least"):
        return (value - half, math.inf)
    if qualifier in ("less_than", "at_most"):
        return (-math.inf, value + half)
    return (value - half, value + half)


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """True if the closed intervals ``a`` and ``b`` share a point."""
    return a[0] <= b[1] and b[0] <= a[1]
