"""Vocabulary and date checks on raw statements, shared by the DuckDB and Spark engines.

The engines compute the *distinct* values of each checked column (a handful per batch), and
:func:`check_terms` compares them with the vocabulary of the dump's era in Python; only when a
value fails is the first record holding it looked up (for the error message). Dates must be
timestamps both engines read (``TRY_CAST(x AS TIMESTAMP)``: ``YYYY-MM-DD`` or ``YYYY-MM-DD
HH:MM:SS``, real calendar dates; this cast is 3x cheaper than a regular expression);
``application_date`` and ``created_at`` are required, ``content_date`` may be empty
(counted: such statements have no delay).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from analysis.ingest.dsa_tdb.layout import ARRAY_COLUMNS, KEYWORD_PATTERN, VocabularyEra

ALL_ROW_TERMS = ("category", "category_addition", "category_specification")
"""Checked on every statement: a renamed category or keyword would change the selection."""
SELECTED_TERMS = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
    "automated_detection",
    "automated_decision",
)
"""Checked on the selected statements (their values reach the outputs only there)."""
TERM_COLUMNS = ALL_ROW_TERMS + SELECTED_TERMS
REQUIRED_DATES = ("application_date", "created_at")
OPTIONAL_DATES = ("content_date",)


def terms_of(column: str, value: str) -> list[str] | None:
    """The terms a cell holds (JSON array columns: the elements); None if not readable."""
    if column not in ARRAY_COLUMNS:
        return [value]
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    if not isinstance(parsed, list) or not all(isinstance(t, str) for t in parsed):
        return None
    return parsed


def check_terms(
    column: str,
    values: Iterable[str],
    era: VocabularyEra,
    *,
    accepted: frozenset[str] = frozenset(),
) -> tuple[str | None, set[str]]:
    """Return (first unacceptable value, well-formed unknown keywords) among ``values``.

    Categories, decisions and automation values must be in the era's vocabulary (or in
    ``accepted``); keywords outside the known lists are tolerated when they look like
    keywords (returned so the manifest can list them), since they cannot change which
    statements are selected.
    """
    allowed = era.vocabulary()[column] | accepted
    unknown_keywords: set[str] = set()
    for value in values:
        if value is None or value in ("", "[]"):
            continue
        terms = terms_of(column, value)
        if terms is None:
            return value, unknown_keywords
        for term in terms:
            if term in allowed:
                continue
            if column == "category_specification" and KEYWORD_PATTERN.match(term):
                unknown_keywords.add(term)
                continue
            return value, unknown_keywords
    return None, unknown_keywords


def bad_date(value: str | None, *, required: bool) -> bool:
    """True when ``value`` is not a date or timestamp text (empty: bad only if required).

    The Python twin of the engines' ``TRY_CAST(x AS TIMESTAMP)`` check, for the few
    thousand selected statements of a part.
    """
    if value is None or value == "":
        return required
    if len(value) < 10:
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return True
    return False
