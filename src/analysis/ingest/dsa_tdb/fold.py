"""Fold a researcher's ``takedowns ingest dsa-tdb`` output into the dataset.

Copy ``daily_series.csv`` and ``manifest.json`` from the output folder into
``data/raw/dsa_tdb/``; ``make data`` then

* adds one row to ``documents`` (``dsa_tdb_download``: the database's download page, with the
  export's identity in ``notes``: scope, dump days, counts, sha256 of both files, synthetic);
* adds one row to ``figures`` per row of ``daily_series.csv`` (family ``dsa_tdb``, metric
  ``statements_of_reasons``, ``period_kind`` day, ``check_status`` computed: derived by code
  from the dumps, never transcribed; the ``quote`` is the raw file's line), so the counts reach
  ``series`` like every other figure;
* writes the table ``dsa_tdb_daily`` (as before), each row labelled with its scope,
  completeness (``share_filed``, ``partial``) and whether it is synthetic.

Platform names are free text in the dumps; :func:`platform_term` maps them to the dataset's
platform vocabulary (see :data:`PLATFORM_RULE`).  The files are checked as strictly as every
raw file: an unexpected column, a bad date, a negative count, a repeated row or a manifest that
does not describe the series stops the build with the file, line and field.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from analysis import schema, vocab
from analysis.errors import RawDataError
from analysis.etl.raw import check_text
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


DOCUMENT_ID = "dsa_tdb_download"
"""The ``documents`` row every folded figure cites."""
FIGURE_ID_PREFIX = "DSA-"
TARGETS = {"keyword": "terrorist_any", "category": "public_security_risk"}
"""Target term of each ingest scope (``category`` is wider than terrorism)."""
METRIC = "statements_of_reasons"
OTHER_PLATFORM = "other_platform"
NOT_PLATFORMS = frozenset({"multiple", "all_platforms", "hash_sharing_database"})
"""Platform terms that name no single service: a filed name never maps to them."""
PLATFORM_RULE = (
    "A filed platform name maps to a platform term when, lower-cased and stripped, it is a "
    "term of the platform vocabulary naming one service or one of its listed spellings "
    "('Facebook' -> facebook, 'X' -> twitter, 'Meta' -> meta); otherwise to other_platform "
    "with 'platform: <name as filed>' in subset. When several filed names map to one term "
    "(e.g. 'X' and 'Twitter'), each keeps 'platform: <name>' in subset, so no two filers share "
    "a series key. Nothing is dropped and no name stops the build."
)


def platform_term(name: str) -> str | None:
    """The platform term a filed name maps to, or None (then ``other_platform``).

    See :data:`PLATFORM_RULE`.
    """
    key = name.strip().lower()
    term = key if key in vocab.PLATFORMS else vocab.SPELLINGS["platform"].get(key)
    return None if term in NOT_PLATFORMS else term


@dataclass(frozen=True)
class DsaTdbExport:
    """A checked ``data/raw/dsa_tdb`` folder, ready for the dataset."""

    daily: pd.DataFrame
    """The ``dsa_tdb_daily`` table."""
    document: dict
    """The ``documents`` row (columns of :data:`analysis.schema.DOCUMENTS`)."""
    figures: pd.DataFrame
    """One ``figures`` row per daily row (columns of :data:`analysis.schema.FIGURES`)."""
    manifest: dict
    sha256: dict[str, str]
    """sha256 of ``daily_series.csv`` and ``manifest.json`` as read."""


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
    export = read_export(folder, texts)
    return None if export is None else export.daily


def _slugs(names: set[str]) -> dict[str, str]:
    """A figure-id part per filed name: lower-case slug, with a hash where slugs collide."""
    slug = {n: re.sub(r"[^a-z0-9]+", "_", n.lower()).strip("_") for n in names}
    taken: dict[str, int] = {}
    for value in slug.values():
        taken[value] = taken.get(value, 0) + 1
    out = {}
    for name, value in slug.items():
        if not value or taken[value] > 1:
            digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:8]
            value = f"{value}_{digest}" if value else digest
        out[name] = value
    return out


def _document(manifest: dict, sha256: dict[str, str]) -> dict:
    synthetic = manifest["synthetic"]
    scope = manifest["scope"]
    first = manifest.get("first_dump_day", "?")
    last = manifest["last_dump_day"]
    listed = manifest.get("dumps")
    dumps = [str(d) for d in listed] if isinstance(listed, list) else []
    prefix = "SYNTHETIC (generated dumps, not the database): " if synthetic else ""
    notes = (
        f"{prefix}Computed by `takedowns ingest dsa-tdb` "
        f"(engine {manifest.get('engine', '?')}, version "
        f"{manifest.get('takedown_dynamics_version', '?')}) from {len(dumps)} daily dumps "
        f"({first} to {last}; {', '.join(dumps[:1] + dumps[-1:]) if dumps else 'names not given'}), "
        "each checked against its published .sha1 when read. "
        f"Scope {scope}: {SCOPES[scope]}. Records {manifest.get('records', '?')}, malformed "
        f"{manifest.get('malformed', '?')}, selected {manifest.get('selected', '?')}. "
        f"Files folded: {SERIES_FILE} sha256 {sha256[SERIES_FILE]}, {MANIFEST_FILE} sha256 "
        f"{sha256[MANIFEST_FILE]}. checked_on is the last dump day read (the manifest does not "
        "record the run date). Figures computed by code, never transcribed."
    )
    return {
        "document_id": DOCUMENT_ID,
        "family": FOLDER,
        "originator": "Online platforms (statements of reasons filed under the EU DSA)",
        "publisher": "European Commission (DSA Transparency Database)",
        "title": f"{prefix}DSA Transparency Database daily dumps, {first} to {last}, scope {scope}",
        "url": SOURCE_URL,
        "published_date": date.fromisoformat(last),
        "published_date_precision": "day",
        "source_kind": "primary",
        "language": "en",
        "checked_on": date.fromisoformat(last),
        "notes": notes,
    }


def _figures(rows: list[dict], manifest: dict, sha256: dict[str, str]) -> pd.DataFrame:
    names = {r["platform"] for r in rows}
    mapped = {n: platform_term(n) for n in names}
    filers: dict[str, set[str]] = {}
    for name, term in mapped.items():
        filers.setdefault(term or OTHER_PLATFORM, set()).add(name)
    slugs = _slugs(names)
    scope, synthetic = manifest["scope"], manifest["synthetic"]
    label = (
        f"scope={scope}; synthetic={str(synthetic).lower()}; "
        f"manifest.json sha256 {sha256[MANIFEST_FILE][:16]}"
    )
    records = []
    for r in rows:
        name, kind, day = r["platform"], r["decision_kind"], r["date"]
        term = mapped[name] or OTHER_PLATFORM
        parts = [f"platform: {name}"] if len(filers[term]) > 1 or term == OTHER_PLATFORM else []
        if kind != "any":
            parts.append(f"decision: {kind}")
        share = r["share_filed"]
        records.append(
            {
                "figure_id": f"{FIGURE_ID_PREFIX}{day.isoformat()}-{slugs[name]}-{kind}",
                "document_id": DOCUMENT_ID,
                "family": FOLDER,
                "platform": term,
                "target": TARGETS[scope],
                "metric": METRIC,
                "subset": "; ".join(parts) or None,
                "unit": "count",
                "value": float(r["statements"]),
                "value_low": None,
                "value_high": None,
                "qualifier": "exact",
                "rate_per": None,
                "period_start": day,
                "period_end": day,
                "period_kind": "day",
                "period_days": 1,
                "is_partial_period": r["partial"],
                "per_day": float(r["statements"]),
                "value_text": str(r["statements"]),
                "period_text": day.isoformat(),
                "quote": r["text"],
                "quote_en": None,
                "check_status": "computed",
                "notes": (
                    f"{'SYNTHETIC. ' if synthetic else ''}Computed from the DSA Transparency "
                    f"Database dumps ({SERIES_FILE} line {r['line']}); platform as filed: "
                    f"{name!r}; decision kind {kind}; share_filed="
                    f"{'unknown' if share != share else f'{share:.4g}'}; "
                    f"partial={str(r['partial']).lower()}; {label}"
                ),
            }
        )
    return pd.DataFrame(records, columns=schema.FIGURES.columns)


def read_export(folder: Path, texts: dict[str, str] | None = None) -> DsaTdbExport | None:
    """Read and check ``folder`` (``data/raw/dsa_tdb``); None when it holds neither file.

    Parameters
    ----------
    folder
        The folder holding ``daily_series.csv`` and ``manifest.json``.
    texts
        The files' text already read (by the ETL's recorder, so they are hashed); read from
        disk when not given.

    Raises
    ------
    RawDataError
        Naming the file, line and field of the first problem.
    """
    series_path = folder / SERIES_FILE
    manifest_path = folder / MANIFEST_FILE
    texts = dict(texts or {})
    present = {n: n in texts or (folder / n).exists() for n in (SERIES_FILE, MANIFEST_FILE)}
    if not any(present.values()):
        return None
    for name, path in ((SERIES_FILE, series_path), (MANIFEST_FILE, manifest_path)):
        if not present[name]:
            raise RawDataError(
                path, None, None, None, "daily_series.csv and manifest.json together"
            )
        if name not in texts:
            texts[name] = path.read_text(encoding="utf-8")
    series_text = texts[SERIES_FILE]
    manifest = _manifest(manifest_path, texts[MANIFEST_FILE])
    sha256 = {  # of the UTF-8 text as read
        n: hashlib.sha256(texts[n].encode("utf-8")).hexdigest()
        for n in (SERIES_FILE, MANIFEST_FILE)
    }
    physical = series_text.splitlines()
    reader = csv.DictReader(io.StringIO(series_text, newline=""))
    if tuple(reader.fieldnames or ()) != SERIES_COLUMNS:
        raise RawDataError(
            series_path, 1, None, reader.fieldnames, f"the columns {', '.join(SERIES_COLUMNS)}"
        )
    try:
        last = date.fromisoformat(str(manifest["last_dump_day"]))
    except ValueError:
        raise RawDataError(
            manifest_path, None, "last_dump_day", manifest["last_dump_day"], "YYYY-MM-DD"
        ) from None
    rows = []
    seen: dict[tuple[date, str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            raise RawDataError(
                series_path, line, None, "a row of another length", "6 cells as in the header"
            )
        for column, cell in row.items():
            check_text(series_path, line, column, cell)
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
        if not (row["statements"].isascii() and row["statements"].isdigit()):
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
        key = (day, row["platform"], row["decision_kind"])
        if key in seen:
            raise RawDataError(
                series_path,
                line,
                "platform",
                row["platform"],
                f"one row per day, platform and decision kind (already on line {seen[key]})",
            )
        seen[key] = line
        rows.append(
            {
                "date": day,
                "platform": row["platform"],
                "decision_kind": row["decision_kind"],
                "statements": int(row["statements"]),
                "share_filed": share,
                "partial": row["partial"] == "True",
                "line": line,
                "text": physical[line - 1] if line - 1 < len(physical) else "",
            }
        )
    frame = pd.DataFrame(
        [
            {
                **{k: r[k] for k in TABLE_COLUMNS if k in r},
                "scope": manifest["scope"],
                "synthetic": manifest["synthetic"],
                "source_url": SOURCE_URL,
            }
            for r in rows
        ],
        columns=list(TABLE_COLUMNS),
    )
    frame["date"] = pd.to_datetime(frame["date"])
    daily = frame.sort_values(["date", "platform", "decision_kind"]).reset_index(drop=True)
    return DsaTdbExport(
        daily=daily,
        document=_document(manifest, sha256),
        figures=_figures(rows, manifest, sha256),
        manifest=manifest,
        sha256=sha256,
    )
