"""Read the hand-transcribed CSV files of ``data/raw`` with their line numbers.

Only reading and the checks that need nothing but one cell happen here; the
meaning of the rows (quantities, periods, vocabularies) is checked in
:mod:`analysis.etl.build`.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import RawDataError

DOCUMENT_COLUMNS = (
    "document_id",
    "originator",
    "publisher",
    "title",
    "url",
    "published_date",
    "source_kind",
    "language",
    "checked_on",
    "notes",
)
DOCUMENT_REQUIRED = tuple(c for c in DOCUMENT_COLUMNS if c not in ("published_date", "notes"))
FIGURE_COLUMNS = (
    "figure_id",
    "document_id",
    "platform",
    "target",
    "metric",
    "value_text",
    "rate_per",
    "period_text",
    "quote",
    "quote_en",
    "check_status",
    "notes",
)
FIGURE_OPTIONAL = ("subset",)
"""Columns a figures.csv may leave out of its header."""
FIGURE_REQUIRED = tuple(
    c for c in FIGURE_COLUMNS if c not in ("rate_per", "quote_en", "notes")
)
ACTION_COLUMNS = (
    "action_id",
    "start_date",
    "end_date",
    "name",
    "coordinator",
    "lead_country",
    "participating_countries",
    "countries_stated",
    "platforms",
    "platforms_stated",
    "target",
    "document_id",
    "figure_ids",
    "quote",
    "check_status",
    "notes",
)
ACTION_REQUIRED = ("action_id", "name", "coordinator", "target", "document_id", "quote", "check_status")

MAX_QUOTE_WORDS = 25
DOCUMENT_ID_PATTERN = re.compile(r"^[a-z0-9_]+$")
FIGURE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class RawRow:
    """One data row of a raw CSV file, with where it came from."""

    file: Path
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        """Return the stripped cell (empty string when absent)."""
        return (self.values.get(column) or "").strip()

    def fail(self, column: str, expected: str, value: object = None) -> RawDataError:
        """Build the error for ``column`` of this row."""
        shown = self.get(column) if value is None else value
        return RawDataError(self.file, self.line, column, shown, expected)


def read_rows(
    path: Path,
    columns: tuple[str, ...],
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> Iterator[RawRow]:
    """Yield the rows of a raw CSV file, checking the header and the required cells.

    Line numbers count the header as line 1 and follow the physical line on which a
    row ends (a quoted cell may span lines).

    Raises
    ------
    RawDataError
        On a missing or unknown column, a row with too many cells, or an empty
        required cell.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise RawDataError(path, 1, None, "", "a header row") from None
        missing = [c for c in columns if c not in header]
        if missing:
            raise RawDataError(path, 1, missing[0], header, f"a header with columns {columns}")
        unknown = [h for h in header if h not in columns and h not in optional]
        if unknown:
            raise RawDataError(
                path, 1, unknown[0], header, f"only the columns {columns + optional}"
            )
        for cells in reader:
            line = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise RawDataError(
                    path, line, None, cells, f"{len(header)} cells as in the header"
                )
            row = RawRow(path, line, dict(zip(header, cells, strict=True)))
            for column in required:
                if not row.get(column):
                    raise row.fail(column, "a non-empty value")
            yield row


def check_quote(row: RawRow, column: str = "quote") -> str:
    """Return the quote of ``row`` after checking its length (at most 25 words)."""
    quote = row.get(column)
    words = len(quote.split())
    if words > MAX_QUOTE_WORDS:
        raise row.fail(column, f"a verbatim quote of at most {MAX_QUOTE_WORDS} words", quote[:80] + f"... ({words} words)")
    return quote


def check_url(row: RawRow, column: str = "url") -> str:
    """Return the URL of ``row`` after checking it is an http(s) URL."""
    url = row.get(column)
    if not re.match(r"^https?://\S+$", url):
        raise row.fail(column, "an http:// or https:// URL without spaces")
    return url


def raw_tree_sha256(raw: Path) -> str:
    """SHA-256 over the relative paths and bytes of every data file under ``raw``.

    This is written into the Parquet metadata so a reader can tell which raw
    transcription a processed file was built from.  Documentation (``*.md``) is
    left out: editing it changes no number.
    """
    digest = hashlib.sha256()
    files = (p for p in raw.rglob("*") if p.is_file() and p.suffix != ".md")
    for path in sorted(files):
        rel = path.relative_to(raw).as_posix()
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def family_dirs(raw: Path) -> list[Path]:
    """Family folders under ``raw``: those holding a ``figures.csv``, sorted by name."""
    return sorted(p.parent for p in raw.glob("*/figures.csv"))
