"""Per-day rates of counts, where a rate means something.

A total over a period becomes ``value / period.days``; a stated rate ("200-300 a
day", "about 1,000 a week") is converted to a daily rate with fixed day counts:

=========  ============================================
rate_per   days
=========  ============================================
``day``    1
``week``   7
``month``  365.25 / 12 = 30.4375 (the mean Gregorian-Julian month)
``year``   365.25 (the mean Julian year)
=========  ============================================

A stated rate is converted whatever the period (the period only says when the
rate held).  There is no per-day rate (``None``) for

* a total over a ``snapshot`` period (a stock at one moment, such as channel
  members "as of 3 January 2017", is not a flow), or over no period at all;
* a value whose unit is not a count (``percent``, ``hours``, ``minutes``,
  ``days``, ``ratio``).

A bound ("more than 26,000") gives a bound on the rate; the caller keeps the
qualifier next to the rate.  For a range the midpoint (``Quantity.value``) is used.
"""

from __future__ import annotations

from analysis.errors import ParseError
from analysis.etl.periods import Period
from analysis.etl.quantities import Quantity

__all__ = ["DAYS_PER", "per_day"]

DAYS_PER: dict[str, float] = {
    "day": 1.0,
    "week": 7.0,
    "month": 365.25 / 12,
    "year": 365.25,
}
"""Days in one ``rate_per`` unit (see the module docstring)."""

_COUNT_UNITS = (None, "count")


def per_day(
    value: float | Quantity,
    period: Period | None,
    rate_per: str | None = None,
    *,
    unit: str | None = None,
) -> float | None:
    """Return the per-day rate of a count, or ``None`` where a rate means nothing.

    Parameters
    ----------
    value
        The count: a number, or a :class:`~analysis.etl.quantities.Quantity` (its
        ``value`` is used, and its ``unit`` unless ``unit`` is given).
    period
        The period the value covers.  Ignored when ``rate_per`` is given.
    rate_per
        ``None`` for a total over ``period``; ``"day"``, ``"week"``, ``"month"`` or
        ``"year"`` when the value is already a rate per that unit.
    unit
        Unit of a plain-number ``value``: ``None`` or ``"count"`` for a count; any
        other unit (``percent``, ``hours``, ...) gives ``None``.

    Returns
    -------
    float or None
        Count per day; ``None`` for a total over a snapshot or no period, and for
        non-count units.

    Raises
    ------
    ParseError
        If ``rate_per`` is not one of ``day``, ``week``, ``month``, ``year`` or None.
    """
    if isinstance(value, Quantity):
        if unit is None:
            unit = value.unit
        number = value.value
    else:
        number = float(value)
    if rate_per is not None and rate_per not in DAYS_PER:
        raise ParseError(rate_per, f"a rate unit in {sorted(DAYS_PER)} or None")
    if unit not in _COUNT_UNITS:
        return None
    if rate_per is not None:
        return number / DAYS_PER[rate_per]
    if period is None or period.kind == "snapshot":
        return None
    return number / period.days
