"""Read the hand-transcribed CSV files of ``data/raw`` with their line numbers.

Only reading and the checks that need nothing but one cell happen here; the
meaning of the rows (quantities, periods, vocabularies) is checked in
:mod:`analysis.etl.build`.
"""

from __future__ import annotations

import contextvars
import csv
import hashlib
import io
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import RawDataError, RawFileError, RawTextError

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
FIGURE_REQUIRED = tuple(c for c in FIGURE_COLUMNS if c not in ("rate_per", "quote_en", "notes"))
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
ACTION_REQUIRED = (
    "action_id",
    "name",
    "coordinator",
    "target",
    "document_id",
    "quote",
    "check_status",
)

MAX_QUOTE_WORDS = 25
MAX_CELL_CHARS = 4000
"""Longest raw cell accepted (the longest note in the data has under 1000 characters)."""
MAX_FILE_BYTES = 32 * 1024 * 1024
"""Largest raw file accepted (the largest is about 100 kB)."""
FAMILY_PATTERN = re.compile(r"^[a-z0-9_]+$")
"""Names of family folders under ``data/raw``."""
FAMILY_FILES = ("documents.csv", "figures.csv")
"""Files every family folder must hold (neither may be empty or header-only)."""
TOP_FILES = ("action_days.csv", "documented_conflicts.csv")
"""Files ``data/raw`` must hold; a header alone means "nothing recorded"."""
EXPORT_FOLDERS = ("telegram_isiswatch_export", "dsa_tdb")
"""Folders of researcher-supplied exports read by :mod:`analysis.ingest`."""
EXPORT_SUFFIXES = {"telegram_isiswatch_export": (".json",), "dsa_tdb": (".csv", ".json")}
"""Files each export folder's reader reads (others, such as notes, are ignored)."""
_BAD_CHARS = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
"""Control characters (C0, C1), bidirectional marks, embeddings, overrides and isolates,
zero-width and invisible formatting characters, line and paragraph separators."""
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
        """Build the error for ``column`` of this row (a long value is shortened)."""
        shown = short(self.get(column)) if value is None else value
        return RawDataError(self.file, self.line, column, shown, expected)


def short(text: str, limit: int = 80) -> str:
    """``text``, or its start and its length when longer than ``limit`` characters."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def read_text(path: Path) -> str:
    """Return the text of a raw file, refusing anything but a readable UTF-8 regular file.

    The file is opened without blocking and checked with ``fstat`` before a byte is read, so
    a FIFO, a device or a folder where a CSV should be gives an error instead of a hang.  A
    UTF-8 byte-order mark is dropped.

    Raises
    ------
    RawFileError
        Missing, not a regular file, unreadable, larger than :data:`MAX_FILE_BYTES`, or not
        UTF-8 (with the line and the offending bytes).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise RawFileError(path, None, None, None, "an existing file") from None
    except OSError as err:
        raise RawFileError(path, None, None, err.strerror, "a readable regular file") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RawFileError(path, None, None, _kind(info.st_mode), "a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise RawFileError(
                path, None, None, f"{info.st_size} bytes", f"at most {MAX_FILE_BYTES} bytes"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise RawFileError(path, None, None, err.strerror, "a readable regular file") from None
    finally:
        os.close(fd)
    _record_read(path, data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        bad = data[err.start : err.end]
        raise RawFileError(
            path,
            line,
            _column_at(data, err.start),
            bad,
            f"UTF-8 text (byte offset {err.start}: {err.reason})",
        ) from None


def _column_at(data: bytes, offset: int) -> str | None:
    """Header name of the CSV cell holding byte ``offset`` (None if it cannot be told)."""
    marker = "\ufffd"
    text = data[:offset].decode("utf-8", "replace").replace(marker, "?") + marker
    text += data[offset:].decode("utf-8", "replace").replace(marker, "?")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return None
    header = rows[0] if rows else []
    for row in rows:
        for index, cell in enumerate(row):
            if marker in cell:
                return header[index] if row is not header and index < len(header) else None
    return None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_text(path: Path, line: int, column: str | None, cell: str) -> None:
    """Refuse a cell with control or bidirectional formatting characters, or too long.

    Tabs and line breaks are control characters too: no raw cell needs them.  Zero-width
    (non-)joiners (U+200C, U+200D) are allowed: Persian and Arabic text uses them.

    Raises
    ------
    RawTextError
        Naming the code point and its position (the cell itself is not echoed).
    """
    if len(cell) > MAX_CELL_CHARS:
        raise RawTextError(
            path, line, column, f"{len(cell)} characters", f"at most {MAX_CELL_CHARS} characters"
        )
    if cell.isprintable() or not _BAD_CHARS.search(cell):
        return
    match = _BAD_CHARS.search(cell)
    assert match is not None
    char = match.group()
    raise RawTextError(
        path,
        line,
        column,
        f"U+{ord(char):04X} ({unicodedata.name(char, 'control character')}) "
        f"at character {match.start() + 1}",
        "text without control or bidirectional formatting characters",
    )


def read_rows(
    path: Path,
    columns: tuple[str, ...],
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> Iterator[RawRow]:
    """Yield the rows of a raw CSV file, checking the header and the required cells.

    Line numbers count the header as line 1 and follow the physical line on which a
    row ends.  Quoting is strict (a stray quote is an error, not part of a value).

    Raises
    ------
    RawFileError
        If ``path`` is not a readable UTF-8 regular file (see :func:`read_text`).
    RawTextError
        On a control or bidirectional formatting character, or an oversize cell.
    RawDataError
        On a missing, unknown or repeated column, a row with too many cells, malformed
        quoting, or an empty required cell.
    """
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise RawDataError(path, 1, None, "", "a header row") from None
    except csv.Error as err:
        raise RawDataError(path, 1, None, str(err), "a well-formed CSV header") from None
    for name in header:
        check_text(path, 1, name, name)
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise RawDataError(path, 1, repeated[0], header, "each column name once in the header")
    missing = [c for c in columns if c not in header]
    if missing:
        raise RawDataError(path, 1, missing[0], header, f"a header with columns {columns}")
    unknown = [h for h in header if h not in columns and h not in optional]
    if unknown:
        raise RawDataError(path, 1, unknown[0], header, f"only the columns {columns + optional}")
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            if "field larger" in str(err):
                expected = f"a cell of at most {MAX_CELL_CHARS} characters"
            else:
                expected = (
                    "well-formed CSV: quotes balanced, a quoted cell followed by ',' or a line end"
                )
            where = f"{err} (row starting on line {start})"
            raise RawDataError(path, start, None, where, expected) from None
        line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise RawDataError(
                path, line, None, f"{len(cells)} cells", f"{len(header)} cells as in the header"
            )
        for name, cell in zip(header, cells, strict=True):
            check_text(path, line, name, cell)
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
        raise row.fail(
            column,
            f"a verbatim quote of at most {MAX_QUOTE_WORDS} words",
            quote[:80] + f"... ({words} words)",
        )
    return quote


def check_url(row: RawRow, column: str = "url") -> str:
    """Return the URL of ``row`` after checking it is an http(s) URL."""
    url = row.get(column)
    if not re.match(r"^https?://\S+$", url):
        raise row.fail(column, "an http:// or https:// URL without spaces")
    return url


@dataclass(frozen=True)
class RawLayout:
    """The files of ``data/raw`` the ETL reads, found and checked before any is read."""

    root: Path
    families: tuple[Path, ...]
    action_days: Path
    documented_conflicts: Path
    exports: tuple[Path, ...]

    def files(self) -> list[Path]:
        """Every file the ETL reads, in hash order."""
        found = [self.action_days, self.documented_conflicts, *self.exports]
        for family in self.families:
            found += [family / name for name in FAMILY_FILES]
        return sorted(found, key=lambda p: p.relative_to(self.root).parts)


def _check_entry(root: Path, path: Path, *, folder: bool) -> None:
    """Refuse a path that is not what it should be (or a link leaving ``root``)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        what = (
            "a folder"
            if folder
            else "a file (write the header alone when there is nothing to record)"
        )
        raise RawFileError(path, None, None, "no such file or folder", what) from None
    if stat.S_ISLNK(info.st_mode):
        target = path.resolve()
        if not target.is_relative_to(root.resolve()):
            raise RawFileError(
                path,
                None,
                None,
                "a symbolic link out of data/raw",
                "a file or a link to a file inside data/raw",
            )
        info = os.stat(path)
    wanted = stat.S_ISDIR if folder else stat.S_ISREG
    if not wanted(info.st_mode):
        raise RawFileError(
            path, None, None, _kind(info.st_mode), "a folder" if folder else "a regular file"
        )


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def discover(raw: Path) -> RawLayout:
    """Find the family folders and the files the ETL reads, refusing anything unexpected.

    Every entry of ``raw`` not starting with ``.`` must be a family folder (named like
    :data:`FAMILY_PATTERN`, holding ``documents.csv`` and ``figures.csv``), one of
    :data:`TOP_FILES`, a documentation file (``*.md``) or an export folder of
    :data:`EXPORT_FOLDERS`.  A family folder may hold only those two CSV files and
    documentation.  Symbolic links are followed only when they stay inside ``raw``.

    Raises
    ------
    RawFileError
        For a missing required file, a path that is not a regular file or folder, a
        family folder with a bad name, or an unexpected file.
    """
    _check_entry(raw, raw, folder=True)
    families = []
    exports: list[Path] = []
    for entry in _visible(raw):
        if entry.name in TOP_FILES or (entry.suffix == ".md" and not entry.is_dir()):
            _check_entry(raw, entry, folder=False)
            continue
        if entry.name in EXPORT_FOLDERS:
            _check_entry(raw, entry, folder=True)
            for export in _visible(entry):
                if export.suffix not in EXPORT_SUFFIXES[entry.name]:
                    continue  # the export readers read only these
                _check_entry(raw, export, folder=False)
                exports.append(export)
            continue
        if not FAMILY_PATTERN.match(entry.name):
            raise RawFileError(
                entry,
                None,
                None,
                entry.name,
                "a family folder named with lower-case letters, digits and '_' "
                f"({FAMILY_PATTERN.pattern}), or one of the files "
                f"{', '.join(TOP_FILES)}",
            )
        _check_entry(raw, entry, folder=True)
        for name in FAMILY_FILES:
            _check_entry(raw, entry / name, folder=False)
        for inner in _visible(entry):
            if inner.name not in FAMILY_FILES and inner.suffix != ".md":
                raise RawFileError(
                    inner,
                    None,
                    None,
                    inner.name,
                    f"only {' and '.join(FAMILY_FILES)} (and *.md notes) in a family folder",
                )
        families.append(entry)
    if not families:
        raise RawFileError(raw, None, None, "no family folder", "at least one <family>/figures.csv")
    for name in TOP_FILES:
        _check_entry(raw, raw / name, folder=False)
    return RawLayout(
        raw,
        tuple(families),
        raw / "action_days.csv",
        raw / "documented_conflicts.csv",
        tuple(exports),
    )


def _hash_files(root: Path, files: dict[str, bytes] | list[Path]) -> str:
    digest = hashlib.sha256()
    items = (
        sorted(files.items(), key=lambda kv: tuple(kv[0].split("/")))
        if isinstance(files, dict)
        else [(p.relative_to(root).as_posix(), read_bytes(p)) for p in files]
    )
    for rel, data in items:
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def read_bytes(path: Path) -> bytes:
    """Bytes of a regular file (the checks of :func:`read_text`, without decoding)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise RawFileError(path, None, None, err.strerror, "a readable regular file") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RawFileError(path, None, None, _kind(os.fstat(fd).st_mode), "a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def raw_tree_sha256(raw: Path) -> str:
    """SHA-256 over the relative paths and bytes of exactly the files the ETL reads.

    This is written into the Parquet metadata and ``datapackage.json`` so a reader can
    tell which raw transcription a processed file was built from.  The files are those of
    :func:`discover` (documentation and hidden files are not read, so not hashed; a family
    reached through a symbolic link inside ``raw`` is hashed under its link name).
    """
    layout = discover(raw)
    return _hash_files(layout.root, layout.files())


def family_dirs(raw: Path) -> list[Path]:
    """Family folders under ``raw`` (see :func:`discover`), sorted by name."""
    return list(discover(raw).families)


class ReadRecorder:
    """Collect the bytes of every raw file read inside ``with ReadRecorder(root):``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.read: dict[str, bytes] = {}
        self._token: contextvars.Token | None = None

    def __enter__(self) -> ReadRecorder:
        self._token = _RECORDER.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _RECORDER.reset(self._token)

    def add(self, path: Path, data: bytes) -> None:
        """Record ``path`` (relative to the root) and its bytes."""
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(self.root)).as_posix()
        self.read[rel] = data

    def sha256(self) -> str:
        """The :func:`raw_tree_sha256` of the files read."""
        return _hash_files(self.root, self.read)


_RECORDER: contextvars.ContextVar[ReadRecorder | None] = contextvars.ContextVar(
    "raw_read_recorder", default=None
)


def _record_read(path: Path, data: bytes) -> None:
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder.add(path, data)
