"""Parse a number as written in a source ("more than 26 000", "1.9 million", "91.4%").

:func:`parse_quantity` turns the ``value_text`` of a raw figure into a
:class:`Quantity`: a value, optional bounds, a qualifier from
:data:`analysis.vocab.QUALIFIERS` and, when the text says it, a unit from
:data:`analysis.vocab.UNITS`.  Anything it does not understand raises
:class:`analysis.errors.ParseError`; it never guesses.

Accepted forms (case-insensitive, surrounding blanks ignored)
-------------------------------------------------------------
Numbers
    ``26000``, ``26,000``, ``1,234.5``, ``26 000`` and ``1 622`` (a blank, a no-break
    space U+00A0, a thin space U+2009, a narrow no-break space U+202F or a figure
    space U+2007 between groups of three digits), ``5.269.078`` (dot thousands
    separators), ``1.9``, ``0.2``.  A leading ``-``, ``+`` or unicode minus ``−``
    (U+2212) gives the sign (``-19%``, ``−80%``, ``+60%``); an en or em dash in front
    of a number is read as a minus sign too, as typesetters use it so.
Dots
    A number with **two or more** dot groups of exactly three digits (``5.269.078``)
    uses dots as thousands separators.  A number with a single dot (``1.9``, ``91.4``,
    and also ``1.234``) is a decimal: one dot group is never read as thousands,
    because the sources in English use the dot as decimal mark.  Write ``1,234``
    or ``1 234`` for one thousand two hundred and thirty-four.
Commas
    Only as thousands separators in groups of three (``26,000``).  A decimal comma
    (``1,5``) is rejected: it cannot be told apart from a typo.
Multipliers
    ``thousand``/``k``, ``million``/``m``/``mn``/``mln``, ``billion``/``bn``, with or
    without a blank (``9.4M``, ``16mln``, ``150 thousand``, ``150k``); ``half a
    million``, ``a million``, ``one million`` (and thousand / billion alike).
    ``m`` is always *million*; minutes must be written ``min``, ``mins`` or ``minute(s)``.
Units (set only when the text says so, else ``None``)
    ``%``, ``percent``, ``per cent`` -> ``percent``; ``hour(s)``, ``hr(s)``, ``h`` ->
    ``hours``; ``minute(s)``, ``min(s)`` -> ``minutes``; ``day(s)`` -> ``days``;
    ``x``, ``×``, ``times`` -> ``ratio``; a plain count noun after the number
    (``items``, ``pieces (of content)``, ``accounts``, ``channels``, ``bots (and
    channels)``, ``videos``, ``posts``, ``urls``, ``links``, ``hashes``, ``messages``,
    ``cases``, ``orders``, ``alerts``, ``referrals``, ``groups``, ``communities``,
    ``companies``) -> ``count``.  ``percentage points`` is rejected (not a percent).
Qualifiers (one at most, before the number)
    about: ``about``, ``around``, ``approximately``, ``approx.``, ``nearly``,
    ``almost``, ``some``, ``roughly``, ``circa``, ``ca.``, ``c.``, ``close to``,
    ``an estimated``, ``estimated``, ``~``, ``≈``;
    more_than: ``more than``, ``over``, ``just over``, ``well over``, ``in excess of``,
    ``upwards of``, ``above``, ``greater than`` (also ``probably greater than``), ``>``;
    at_least: ``at least``, ``no fewer than``, ``no less than``, ``a minimum of``, ``at a minimum``,
    ``≥``, ``>=``; a trailing ``+`` or ``or more`` (``26,000+``);
    less_than: ``less than``, ``fewer than``, ``under``, ``just under``, ``below``, ``<``;
    at_most: ``at most``, ``up to``, ``no more than``, ``a maximum of``, ``≤``, ``<=``;
    a trailing ``or less`` / ``or fewer``;
    exact: no qualifier, or ``an average of``, ``an average``, ``average of``, ``a median of``,
    ``median of``, ``a total of``, ``total of`` (a stated average or median is the
    number itself; the metric says it is an average).
Ranges
    ``200-300``, ``200–300``, ``200—300``, ``200 to 300``, ``between 200 and 300``,
    ``1.2-1.5 million``, ``80-90%``: qualifier ``range``, value the midpoint,
    low/high the ends.  A multiplier or unit written only after the second number
    applies to both.  A qualifier word before a range (``about 200-300``) is
    rejected, as is a range whose low end exceeds its high end.

Rejected (``ParseError``)
    Text without a digit (``several hundreds``, ``hundreds``, ``more than half``,
    ``n/s``), several numbers (``10.4 million vs 8 million``, ``1987 / 1800``),
    trailing words other than the units and count nouns above, decimal commas,
    malformed digit groups (``26,00``, ``1.23.456``).

Bounds
    exact: ``low = high = value``; range: ends; more_than / at_least: ``low = value``,
    ``high = None``; less_than / at_most: ``high = value``, ``low = None``;
    about: ``low = high = None``.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from analysis.errors import ParseError

__all__ = ["Quantity", "parse_quantity"]

_EXPECTED = (
    "a number as written, e.g. '26,000', 'more than 26 000', '1.9 million', '91.4%', "
    "'200-300', '43 hours', with at most one qualifier word"
)


@dataclass(frozen=True)
class Quantity:
    """A parsed number as stated by a source.

    Attributes
    ----------
    value
        The number (the midpoint for a range), multipliers applied, in ``unit``.
    low, high
        Bounds implied by the qualifier (``None`` where the text gives none).
    qualifier
        One of ``exact``, ``about``, ``more_than``, ``at_least``, ``less_than``,
        ``at_most``, ``range`` (see :data:`analysis.vocab.QUALIFIERS`).
    unit
        ``count``, ``percent``, ``hours``, ``minutes``, ``days`` or ``ratio`` when the
        text says it; ``None`` when the text gives a bare number.
    text
        The text as given to :func:`parse_quantity`.
    """

    value: float
    low: float | None
    high: float | None
    qualifier: str
    unit: str | None
    text: str


# --- normalisation ----------------------------------------------------------------

_SPACES = dict.fromkeys(map(ord, "\u00a0\u2009\u202f\u2007\u2008\u200a\t"), " ")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")

# --- qualifier words ----------------------------------------------------------------

_PREFIXES: dict[str, str] = {
    # about
    "about": "about",
    "around": "about",
    "approximately": "about",
    "approx.": "about",
    "approx": "about",
    "nearly": "about",
    "almost": "about",
    "some": "about",
    "roughly": "about",
    "circa": "about",
    "ca.": "about",
    "c.": "about",
    "close to": "about",
    "an estimated": "about",
    "estimated": "about",
    "~": "about",
    "≈": "about",
    # more_than
    "more than": "more_than",
    "over": "more_than",
    "just over": "more_than",
    "well over": "more_than",
    "in excess of": "more_than",
    "upwards of": "more_than",
    "above": "more_than",
    "greater than": "more_than",
    "probably greater than": "more_than",
    ">": "more_than",
    # at_least
    "at least": "at_least",
    "no fewer than": "at_least",
    "no less than": "at_least",
    "a minimum of": "at_least",
    "at a minimum,": "at_least",
    "at a minimum": "at_least",
    "≥": "at_least",
    ">=": "at_least",
    # less_than
    "less than": "less_than",
    "fewer than": "less_than",
    "under": "less_than",
    "just under": "less_than",
    "below": "less_than",
    "<": "less_than",
    # at_most
    "at most": "at_most",
    "up to": "at_most",
    "no more than": "at_most",
    "a maximum of": "at_most",
    "≤": "at_most",
    "<=": "at_most",
    # exact (a stated average / median / total is the number itself)
    "an average of": "exact",
    "an average": "exact",
    "average of": "exact",
    "a median of": "exact",
    "median of": "exact",
    "a total of": "exact",
    "total of": "exact",
    # German sources (BKA, dpa): the text is kept as written
    "mehr als": "more_than",
    "über": "more_than",
    "rund": "about",
    "etwa": "about",
    "knapp": "about",
    "fast": "about",
    "mindestens": "at_least",
    "weniger als": "less_than",
}
_PREFIX_ORDER = sorted(_PREFIXES, key=len, reverse=True)

_SUFFIXES: dict[str, str] = {
    "or more": "at_least",
    "+": "at_least",
    "or less": "at_most",
    "or fewer": "at_most",
}
_SUFFIX_ORDER = sorted(_SUFFIXES, key=len, reverse=True)

# --- number grammar -----------------------------------------------------------------

_UNSIGNED = (
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 26,000 / 1,234.5
    r"|\d{1,3}(?:\.\d{3}){2,}"  # 5.269.078 (two or more dot groups: thousands)
    r"|\d{1,3}(?: \d{3})+"  # 26 000 / 1 622 (any blank normalised to ' ')
    r"|\d+(?:\.\d+)?"  # 26000 / 1.9 / 91.4 / 1.234 (decimal)
)
_MULTIPLIERS: dict[str, int] = {
    "thousand": 10**3,
    "k": 10**3,
    "million": 10**6,
    "mln": 10**6,
    "mn": 10**6,
    "m": 10**6,
    "billion": 10**9,
    "bn": 10**9,
}
_UNITS: dict[str, str] = {
    "%": "percent",
    "prozent": "percent",
    "percent": "percent",
    "per cent": "percent",
    "hours": "hours",
    "hour": "hours",
    "hrs": "hours",
    "hr": "hours",
    "h": "hours",
    "minutes": "minutes",
    "minute": "minutes",
    "mins": "minutes",
    "min": "minutes",
    "days": "days",
    "day": "days",
    "times": "ratio",
    "x": "ratio",
    "×": "ratio",
}
_COUNT_NOUNS = (
    "pieces of content",
    "bots and channels",
    "items",
    "pieces",
    "accounts",
    "channels",
    "bots",
    "videos",
    "posts",
    "urls",
    "links",
    "hashes",
    "messages",
    "cases",
    "orders",
    "alerts",
    "referrals",
    "groups",
    "communities",
    "companies",
)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MULT_ALT = _alternation(_MULTIPLIERS)
_UNIT_ALT = _alternation(list(_UNITS) + list(_COUNT_NOUNS))


def _number_pattern(tag: str) -> str:
    """Regex of one signed number with optional multiplier and unit, groups suffixed ``tag``."""
    return (
        rf"(?P<sign{tag}>[-+])?\s*(?P<num{tag}>{_UNSIGNED})"
        rf"(?:\s*(?P<mult{tag}>{_MULT_ALT})(?![a-z]))?"
        rf"(?:\s*(?P<unit{tag}>{_UNIT_ALT})(?![a-z]))?"
    )


_SINGLE_RE = re.compile(_number_pattern("a"))
_RANGE_RE = re.compile(_number_pattern("a") + r"\s*(?:-|\bto\b)\s*" + _number_pattern("b"))
_BETWEEN_RE = re.compile(r"between\s+" + _number_pattern("a") + r"\s+and\s+" + _number_pattern("b"))
_WORD_NUMBER_RE = re.compile(
    rf"(?P<lead>half an?|an?|one)\s+(?P<mult>thousand|million|billion)"
    rf"(?:\s*(?P<unit>{_UNIT_ALT}))?"
)


def _fail(text: str, why: str) -> ParseError:
    return ParseError(text, f"{_EXPECTED} ({why})")


def _digits(raw: str) -> Decimal:
    """Decimal value of a digit string matched by ``_UNSIGNED``."""
    if raw.count(".") >= 2:
        raw = raw.replace(".", "")
    return Decimal(raw.replace(",", "").replace(" ", ""))


def _unit_of(word: str | None) -> str | None:
    if word is None:
        return None
    return _UNITS.get(word, "count")


def _split_qualifier(text: str, body: str) -> tuple[str | None, str]:
    """Remove one qualifier word (prefix or suffix) from ``body``."""
    qualifier = None
    for word in _PREFIX_ORDER:
        if body.startswith(word):
            rest = body[len(word) :]
            # a word must end at a word boundary ("over" is not "overall")
            if word[-1].isalpha() and rest[:1].isalpha():
                continue
            qualifier, body = _PREFIXES[word], rest.strip()
            break
    for word in _SUFFIX_ORDER:
        if body.endswith(word):
            if qualifier is not None:
                raise _fail(text, "two qualifiers")
            qualifier, body = _SUFFIXES[word], body[: -len(word)].strip()
            break
    return qualifier, body


NUMBER_WORDS: dict[str, int] = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
"""Whole numbers written as words ("seven Referral Action Days"); read as digits."""

DOT_THOUSANDS_LANGUAGES = frozenset({"nl", "de", "da", "es", "it", "pt", "id", "tr", "el", "pl"})
"""Languages whose sources write ``10.400`` for ten thousand four hundred."""


def parse_quantity(text: str, *, dot_thousands: bool = False) -> Quantity:
    """Parse a number as written in a source into a :class:`Quantity`.

    Parameters
    ----------
    text
        The value text, e.g. ``"more than 26 000"``, ``"5.269.078"``, ``"9.4M"``,
        ``"200–300"``, ``"less than 0.2%"``, ``"43 hours"``.  The accepted forms and
        the dot / comma rules are listed in the module docstring.
    dot_thousands
        Read a single dot followed by exactly three digits as a thousands separator
        (``"10.400"`` -> 10400), as in Dutch or German sources (see
        :data:`DOT_THOUSANDS_LANGUAGES`).  Off by default: in English ``1.234`` is a decimal.

    Returns
    -------
    Quantity
        Value, bounds, qualifier, unit (``None`` when not said) and the input text.

    Raises
    ------
    ParseError
        If the text is not a single number in one of the accepted forms (no digit,
        several numbers, unknown words, decimal comma, reversed range, ...).
    """
    if not isinstance(text, str):
        raise ParseError(text, "a string")
    body = text.translate(_SPACES).translate(_DASHES)
    body = re.sub(r"\s+", " ", body).strip().lower()
    body = re.sub(
        r"\b(" + "|".join(NUMBER_WORDS) + r")\b",
        lambda m: str(NUMBER_WORDS[m.group(1)]),
        body,
    )
    if dot_thousands:
        body = re.sub(r"(?<![\d.])(\d{1,3})\.(\d{3})(?![\d.])", r"\1\2", body)
    if not body:
        raise _fail(text, "empty text")
    if not re.search(r"\d", body) and not re.search(
        r"\b(?:an?|one)\s+(?:thousand|million|billion)\b", body
    ):
        raise _fail(text, "no number in the text")
    if "percentage point" in body:
        raise _fail(text, "percentage points are not a percent")

    between = _BETWEEN_RE.fullmatch(body)
    if between:
        return _range_quantity(text, between)

    qualifier, core = _split_qualifier(text, body)

    ranged = _RANGE_RE.fullmatch(core)
    if ranged:
        if qualifier is not None:
            raise _fail(text, "a qualifier word before a range; write the range alone")
        return _range_quantity(text, ranged)

    single = _SINGLE_RE.fullmatch(core)
    if single:
        value = _number_value(single, "a")
        unit = _unit_of(single.group("unita"))
    else:
        worded = _WORD_NUMBER_RE.fullmatch(core)
        if not worded:
            if re.search(r",\d{1,2}(?!\d)|,\d{4,}", core):
                raise _fail(text, "a comma must separate groups of three digits")
            raise _fail(text, "not a single number with known words")
        lead = worded.group("lead")
        factor = Decimal("0.5") if lead.startswith("half") else Decimal(1)
        value = factor * _MULTIPLIERS[worded.group("mult")]
        unit = _unit_of(worded.group("unit"))
    return _bounded(text, value, qualifier or "exact", unit)


def _number_value(match: re.Match[str], tag: str) -> Decimal:
    value = _digits(match.group(f"num{tag}"))
    mult = match.group(f"mult{tag}")
    if mult is not None:
        value *= _MULTIPLIERS[mult]
    if match.group(f"sign{tag}") == "-":
        value = -value
    return value


def _finite(text: str, *values: Decimal) -> None:
    for value in values:
        if not math.isfinite(float(value)):
            raise _fail(text, f"a finite number (at most about {sys.float_info.max:.1e})")


def _bounded(text: str, value: Decimal, qualifier: str, unit: str | None) -> Quantity:
    _finite(text, value)
    v = float(value)
    low: float | None
    high: float | None
    if qualifier == "exact":
        low = high = v
    elif qualifier in ("more_than", "at_least"):
        low, high = v, None
    elif qualifier in ("less_than", "at_most"):
        low, high = None, v
    else:  # about
        low = high = None
    return Quantity(value=v, low=low, high=high, qualifier=qualifier, unit=unit, text=text)


def _range_quantity(text: str, match: re.Match[str]) -> Quantity:
    lo_mult, hi_mult = match.group("multa"), match.group("multb")
    lo_unit, hi_unit = _unit_of(match.group("unita")), _unit_of(match.group("unitb"))
    low = _number_value(match, "a")
    high = _number_value(match, "b")
    if lo_mult is None and hi_mult is not None:
        low *= _MULTIPLIERS[hi_mult]  # "1.2-1.5 million": the multiplier applies to both
    if lo_unit is not None and hi_unit is not None and lo_unit != hi_unit:
        raise _fail(text, f"a range with two units ({lo_unit}, {hi_unit})")
    if lo_unit is not None and hi_unit is None:
        raise _fail(text, "a unit after the first number only; write it after the second")
    if low > high:
        raise _fail(text, "a range whose low end exceeds its high end")
    _finite(text, low, high)
    mid = (low + high) / 2
    return Quantity(
        value=float(mid),
        low=float(low),
        high=float(high),
        qualifier="range",
        unit=hi_unit,
        text=text,
    )
