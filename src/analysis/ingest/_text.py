"""Decoding researchers' text files with a located error."""

from __future__ import annotations

from pathlib import Path

from analysis.errors import InputFormatError


def decode_utf8(data: bytes, file: str | Path | None, expected: str) -> str:
    """Decode UTF-8 (an optional BOM dropped); a bad byte names its line.

    Parameters
    ----------
    data
        The file's bytes.
    file
        File name quoted in the error.
    expected
        What the file should be, for the message (e.g. ``"a UTF-8 CSV file"``).

    Raises
    ------
    InputFormatError
        Naming the line (``row`` is the 0-based line index) and the offending byte.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputFormatError(
            f"line {line} is not UTF-8 text (byte {data[error.start]:#04x}); expected {expected}",
            file=file,
            row=line - 1,
        ) from error
