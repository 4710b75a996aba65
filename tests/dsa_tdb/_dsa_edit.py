"""Edits of a generated one-part dump, shared by the DSA bad-input tests."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from pathlib import Path


def rewrite_csv(path: Path, edit: Callable[[str], str]) -> str:
    """Apply ``edit`` to the text of the (only) CSV part of ``path``; return the part's name.

    The inner archive is deflated and the outer one stored, as published (the engines'
    direct-inflate path).
    """
    with zipfile.ZipFile(path) as outer:
        (inner_name,) = outer.namelist()
        inner_bytes = outer.read(inner_name)
    with zipfile.ZipFile(io.BytesIO(inner_bytes)) as inner:
        (csv_name,) = inner.namelist()
        text = inner.read(csv_name).decode()
    new_inner = io.BytesIO()
    with zipfile.ZipFile(new_inner, "w", zipfile.ZIP_DEFLATED) as inner:
        inner.writestr(csv_name, edit(text).encode())
    with zipfile.ZipFile(path, "w") as outer:
        outer.writestr(inner_name, new_inner.getvalue())
    return csv_name


def replace_in_record(text: str, record: int, column: str, value: str) -> str:
    """CSV ``text`` with ``column`` of data record ``record`` (1 = first) set to ``value``."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows[record][rows[0].index(column)] = value
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def first_selected_record(text: str) -> int:
    """Record number of the first statement listing the terrorist-content keyword."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    column = rows[0].index("category_specification")
    return next(
        i for i, row in enumerate(rows[1:], 1) if "KEYWORD_TERRORIST_CONTENT" in row[column]
    )
