"""Exception types, one per kind of failure.

Every error carries enough context to find and fix the problem: the file, the
line (1-based, counting the header as line 1), the field, the offending value
and what was expected.  The CLI prints ``str(error)`` without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class TakedownError(Exception):
    """Base class of every error raised on purpose by :mod:`analysis`."""


@dataclass
class _Located:
    file: str | Path | None = None
    line: int | None = None
    field: str | None = None
    value: object = None
    expected: str = ""

    def location(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def render(self, kind: str) -> str:
        where = self.location()
        head = f"{kind}: {where}: " if where else f"{kind}: "
        return f"{head}got {self.value!r}; expected {self.expected}"


class ParseError(TakedownError, ValueError):
    """A quantity or period text could not be parsed."""

    def __init__(self, text: object, expected: str) -> None:
        self.text = text
        self.expected = expected
        super().__init__(f"cannot parse {text!r}; expected {expected}")


class RawDataError(TakedownError, ValueError):
    """A row of ``data/raw`` is malformed (bad value, unknown term, missing field...)."""

    def __init__(
        self,
        file: str | Path | None,
        line: int | None,
        field: str | None,
        value: object,
        expected: str,
    ) -> None:
        self.info = _Located(file, line, field, value, expected)
        self.file, self.line, self.field, self.value, self.expected = (
            file,
            line,
            field,
            value,
            expected,
        )
        super().__init__(self.info.render("invalid raw data"))


class ChannelTableError(TakedownError, ValueError):
    """A channel event table (own data, simulation output) breaks its schema."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.file, self.row, self.column, self.value = file, row, column, value
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        text = f"{prefix}: {message}" if prefix else message
        if value is not None:
            text += f" (got {value!r})"
        super().__init__(text)


class IngestError(ChannelTableError):
    """Researcher-supplied input (CSV, Parquet, JSON export) cannot be ingested."""


class ModelError(TakedownError, ValueError):
    """A model was configured or fitted with inputs it cannot use."""


class NoEventsError(ModelError):
    """A fit was asked for with zero events: says which reasons counted and what the table holds."""


class TakedownWarning(UserWarning):
    """Base class of the warnings :mod:`analysis` issues on purpose (data handled by a rule)."""


class HorizonWarning(TakedownWarning):
    """Rows or endings beyond the detection horizon were excluded (count in the message)."""


class ZeroLengthWarning(TakedownWarning):
    """Zero-length lifetimes were floored at half the table's time resolution."""


class UnidentifiedWarning(TakedownWarning):
    """A fitted parameter is not identified (interval at a bound or too wide)."""


class HashKeyError(IngestError):
    """No hashing key, a key too short to be secret, or the demo key without consent."""


class UnsafeDestinationError(IngestError):
    """An output path that would put data where it must not go (or of an unknown kind)."""


class TimeValueError(IngestError):
    """A time value that cannot be read, has no stated unit, or is implausible for its unit."""


class FutureTimeError(TimeValueError):
    """A time later than now (plus a tolerance), refused unless explicitly allowed."""


class InputFormatError(IngestError):
    """A file that is not what it claims: bad quoting, encoding, schema, size or nesting."""


class IngestResourceError(IngestError):
    """The ingestion ran out of memory or temporary disk space."""


class IngestInterrupted(IngestError):
    """The ingestion was stopped by a signal (SIGINT, SIGTERM); temporary files were removed."""

    def __init__(self, signum: int) -> None:
        import signal as _signal

        self.signum = int(signum)
        name = _signal.Signals(self.signum).name
        super().__init__(
            f"interrupted by {name}; temporary files and partial output removed, nothing written"
        )


class RawFileError(RawDataError):
    """A file of ``data/raw`` is missing, not a regular file, unreadable or not UTF-8 text."""


class RawTextError(RawDataError):
    """A raw cell holds control or bidirectional formatting characters, or is too long."""


class ImplausibleValueError(RawDataError):
    """A raw number is not finite or beyond the plausible bound of its unit (no override)."""


class FutureDateError(RawDataError):
    """A raw date (period, publication, check) lies after today plus the tolerance."""


class ProcessedFolderError(TakedownError):
    """``data/processed`` holds files the ETL does not write, or cannot be swapped safely."""

    def __init__(self, folder: str | Path, message: str) -> None:
        self.folder = folder
        super().__init__(f"{folder}: {message}")


class EtlLockedError(ProcessedFolderError):
    """Another ETL holds the lock of the same ``data/processed`` folder."""


class ProcessedIntegrityError(TakedownError):
    """``data/processed`` does not match its ``datapackage.json`` or the raw files."""

    def __init__(self, file: str | Path, message: str) -> None:
        self.file = file
        super().__init__(f"{file}: {message}")
