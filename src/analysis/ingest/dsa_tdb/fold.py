"""Fold a researcher's ``takedowns ingest dsa-tdb`` output into the dataset.

Copy ``daily_series.csv`` and ``manifest.json`` from the output folder into
``data/raw/dsa_tdb/``; ``make data`` then writes the table ``dsa_tdb_daily`` (like the ISIS
Watch export), each row labelled with its source, its selection scope, its completeness
(``share_filed``, ``partial``) and whether it is synthetic. The files are checked as strictly
as every raw file: an unexpected column, a bad date, a negative count or a manifest that does
not describe the series stops the build with the file, line and field.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pandas as pd

from analysis.errors import RawDataError
from analysis.ingest.dsa_tdb.query import DECISION_KINDS, SCOPES

FOLDER = "dsa_tdb"
SERIES_FILE = "daily_series.csv"
MANIFEST_FILE = "manifest.json"
SERIES_COLUMNS = (
    "decision_day",
    "platform",
    "decision_kind",
    "statements",
    "share_filed",
    "partial",
)
SOURCE_URL = "https://transparency.dsa.ec.europa.eu/explore-data/download"
TABLE_COLUMNS = (
    "date",
    "platform",
    "decision_kind",
    "statements",
    "share_filed",
    "partial",
    "scope",
    "synthetic",
    "source_url",
)


def _manifest(path: Path, text: str) -> dict:
    try:
        manifest = json.loads(text)
    except ValueError as error:
        raise RawDataError(path, error.lineno, None, str(error), "a JSON object") from None
    for key, expected in (
        ("scope", f"one of {sorted(SCOPES)}"),
        ("synthetic", "true or false"),
        ("last_dump_day", "YYYY-MM-DD"),
    ):
        if key not in manifest:
            raise RawDataError(path, None, key, None, f"the key {key!r} ({expected})")
    if manifest["scope"] not in SCOPES:
        raise RawDataError(path, None, "scope", manifest["scope"], f"one of {sorted(SCOPES)}")
    if not isinstance(manifest["synthetic"], bool):
        raise RawDataError(path, None, "synthetic", manifest["synthetic"], "true or false")
    return manifest


def read_dsa_tdb_export(folder: Path, texts: dict[str, str] | None = None) -> pd.DataFrame | None:
    """The ``dsa_tdb_daily`` table from ``folder`` (``data/raw/dsa_tdb``), or None if absent.

    Parameters
    ----------
    folder
        The folder holding ``daily_series.csv`` and ``manifest.json``.
    texts
        The files' text already read (by the ETL's recorder, so they are hashed); read from
        disk when not given.
    """
    series_path = folder / SERIES_FILE
    manifest_path = folder / MANIFEST_FILE
    if not series_path.exists() and not manifest_path.exists():
        return None
    for path in (series_path, manifest_path):
        if not path.exists():
            raise RawDataError(
                path, None, None, None, "daily_series.csv and manifest.json together"
            )
    texts = texts or {}
    series_text = texts.get(SERIES_FILE) or series_path.read_text(encoding="utf-8")
    manifest = _manifest(
        manifest_path, texts.get(MANIFEST_FILE) or manifest_path.read_text(encoding="utf-8")
    )
    reader = csv.DictReader(io.StringIO(series_text, newline=""))
    if tuple(reader.fieldnames or ()) != SERIES_COLUMNS:
        raise RawDataError(
            series_path, 1, None, reader.fieldnames, f"the columns {', '.join(SERIES_COLUMNS)}"
        )
    last = date.fromisoformat(manifest["last_dump_day"])
    rows = []
    for line, row in enumerate(reader, start=2):
        try:
            day = date.fromisoformat(row["decision_day"])
        except ValueError:
            raise RawDataError(
                series_path, line, "decision_day", row["decision_day"], "a date YYYY-MM-DD"
            ) from None
        if day > last:
            raise RawDataError(
                series_path,
                line,
                "decision_day",
                row["decision_day"],
                f"a day no later than the last dump ({last})",
            )
        if row["decision_kind"] not in DECISION_KINDS:
            raise RawDataError(
                series_path,
                line,
                "decision_kind",
                row["decision_kind"],
                f"one of {', '.join(DECISION_KINDS)}",
            )
        if not row["statements"].isdigit():
            raise RawDataError(
                series_path, line, "statements", row["statements"], "a count (0, 1, 2...)"
            )
        try:
            share = float(row["share_filed"]) if row["share_filed"] else float("nan")
        except ValueError:
            raise RawDataError(
                series_path, line, "share_filed", row["share_filed"], "a share in [0, 1]"
            ) from None
        if not (share != share or 0.0 <= share <= 1.0):
            raise RawDataError(series_path, line, "share_filed", share, "a share in [0, 1]")
        if row["partial"] not in ("True", "False"):
            raise RawDataError(series_path, line, "partial", row["partial"], "True or False")
        if not row["platform"].strip():
            raise RawDataError(series_path, line, "platform", row["platform"], "a platform name")
        rows.append(
            {
                "date": day,
                "platform": row["platform"],
                "decision_kind": row["decision_kind"],
                "statements": int(row["statements"]),
                "share_filed": share,
                "partial": row["partial"] == "True",
                "scope": manifest["scope"],
                "synthetic": manifest["synthetic"],
                "source_url": SOURCE_URL,
            }
        )
    frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.sort_values(["date", "platform", "decision_kind"]).reset_index(drop=True)
