"""Turn the raw transcriptions into validated tables (in memory).

:func:`build_tables` reads every family folder of ``data/raw``, checks every
row (vocabularies, quantities, periods, references, quotes, URLs) and returns
pandas DataFrames for ``documents``, ``figures``, ``action_days``, ``series``
and ``conflicts``.  The first bad row stops the build with a
:class:`~analysis.errors.RawDataError` naming file, line, field, value and what
was expected.  Writing is :mod:`analysis.etl.write`'s job.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import schema, vocab
from analysis.errors import FutureDateError, ImplausibleValueError, ParseError, RawDataError
from analysis.etl.conflicts import find_conflicts
from analysis.etl.periods import parse_period
from analysis.etl.quantities import DOT_THOUSANDS_LANGUAGES, parse_quantity
from analysis.etl.rates import per_day
from analysis.etl.raw import (
    ACTION_COLUMNS,
    ACTION_REQUIRED,
    DOCUMENT_COLUMNS,
    DOCUMENT_ID_PATTERN,
    DOCUMENT_REQUIRED,
    FIGURE_COLUMNS,
    FIGURE_ID_PATTERN,
    FIGURE_OPTIONAL,
    FIGURE_REQUIRED,
    RawLayout,
    RawRow,
    ReadRecorder,
    check_quote,
    check_url,
    discover,
    read_bytes,
    read_rows,
    read_text,
    short,
)
from analysis.etl.series import select_series
from analysis.etl.studies import STUDY_COLUMNS, build_study_results, study_fields

PERCENT_METRICS = frozenset(
    {
        "share_suspended_within",
        "share_suspended",
        "share_suspended_per_day",
        "share_active_after",
        "removal_rate",
        "proactive_rate",
        "share_before_first_post",
        "change_percent",
        "increase_percent",
        "decrease_percent",
        "share_percent",
    }
)
SIGNED_METRICS = frozenset({"change_percent"})
UNBOUNDED_PERCENT_METRICS = frozenset({"change_percent", "increase_percent"})
TIME_METRICS = frozenset({"median_time_to_removal", "mean_lifespan", "median_lifetime"})
TIME_UNITS = frozenset({"hours", "minutes", "days"})
ISO_COUNTRY = re.compile(r"^[A-Z]{2}$")
FUTURE_TOLERANCE_DAYS = 2
"""A date may lie this many days after today (time zones, a page dated tomorrow)."""
PLAUSIBLE_MAX = {
    "count": 1e10,
    "days": 36_600.0,
    "hours": 878_400.0,
    "minutes": 52_704_000.0,
    "percent": 1e6,
}
"""Largest plausible absolute value (and bound) per unit: ten billion items, a century."""
OUTLIER_OVERRIDE = "outlier-ok:"
"""A figure whose ``notes`` contain this marker (followed by the reason) may exceed
:data:`PLAUSIBLE_MAX`; see ``data/raw/README.md``.  Non-finite values are never accepted."""


@dataclass(frozen=True)
class Tables:
    """The validated tables of one build."""

    documents: pd.DataFrame
    figures: pd.DataFrame
    action_days: pd.DataFrame
    series: pd.DataFrame
    conflicts: pd.DataFrame
    study_results: pd.DataFrame

    raw_sha256: str = ""
    """Hash of exactly the raw files read (:func:`analysis.etl.raw.raw_tree_sha256`)."""
    notes: tuple[str, ...] = field(default=())
    """Things a reader should hear about that are not errors (printed by the CLI)."""
    sources: tuple[str, ...] = field(default=())
    """Researcher-supplied inputs folded into the tables whose own vocabulary terms the
    build uses (:data:`analysis.vocab.SOURCE_TERMS`); empty for the repository alone."""
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Optional tables built from the same inputs (``dsa_tdb_daily``)."""

    def as_dict(self) -> dict[str, pd.DataFrame]:
        """Tables by name."""
        return {
            "documents": self.documents,
            "figures": self.figures,
            "series": self.series,
            "conflicts": self.conflicts,
            "action_days": self.action_days,
            "study_results": self.study_results,
        }


def latest_allowed_date(today: dt.date | None = None) -> dt.date:
    """Last date a raw file may name: today plus :data:`FUTURE_TOLERANCE_DAYS`."""
    return (today or dt.date.today()) + dt.timedelta(days=FUTURE_TOLERANCE_DAYS)


def _not_future(row: RawRow, column: str, day: dt.date | None, limit: dt.date) -> None:
    if day is not None and day > limit:
        raise FutureDateError(
            row.file,
            row.line,
            column,
            row.get(column),
            f"a date on or before {limit.isoformat()} (today plus {FUTURE_TOLERANCE_DAYS} days)",
        )


def _parse_date(
    row: RawRow, column: str, *, required: bool, limit: dt.date | None = None
) -> dt.date | None:
    text = row.get(column)
    if not text:
        if required:
            raise row.fail(column, "a date YYYY-MM-DD")
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise row.fail(column, "a date YYYY-MM-DD") from None
    _not_future(row, column, day, limit or latest_allowed_date())
    return day


def parse_published(row: RawRow) -> tuple[dt.date | None, str]:
    """Return (earliest possible publication date, precision) of a documents.csv row."""
    text = row.get("published_date")
    if not text:
        return None, "unknown"
    for pattern, precision, fmt in (
        (r"^\d{4}-\d{2}-\d{2}$", "day", "%Y-%m-%d"),
        (r"^\d{4}-\d{2}$", "month", "%Y-%m"),
        (r"^\d{4}$", "year", "%Y"),
    ):
        if re.match(pattern, text):
            try:
                return dt.datetime.strptime(text, fmt).date(), precision
            except ValueError:
                break
    raise row.fail("published_date", "YYYY-MM-DD, YYYY-MM or YYYY, or empty")


def latest_publication_day(published: dt.date | None, precision: str) -> dt.date | None:
    """Last day the document can have been published on, given the date's precision.

    Periods are read against this day: "since mid-2015" ends there, and a period is
    partial only if it runs past it (a document dated "2019-11" may report 22 November).
    """
    if published is None:
        return None
    if precision == "year":
        return dt.date(published.year, 12, 31)
    if precision == "month":
        following = dt.date(published.year + published.month // 12, published.month % 12 + 1, 1)
        return following - dt.timedelta(days=1)
    return published


def _term(row: RawRow, vocabulary: str, column: str | None = None) -> str:
    column = column or vocabulary
    try:
        return vocab.normalise_term(vocabulary, row.get(column), file=str(row.file), line=row.line)
    except RawDataError as err:
        raise row.fail(column, err.expected) from None


def _no_rows(path: Path, what: str) -> RawDataError:
    return RawDataError(path, 2, None, "a header and no rows", what)


def read_documents(
    families: list[Path] | tuple[Path, ...], today: dt.date | None = None
) -> pd.DataFrame:
    """Read and check every ``documents.csv`` (each must list at least one document)."""
    limit = latest_allowed_date(today)
    records = []
    seen: dict[str, RawRow] = {}
    for family in families:
        path = family / "documents.csv"
        before = len(records)
        for row in read_rows(path, DOCUMENT_COLUMNS, DOCUMENT_REQUIRED):
            doc_id = row.get("document_id")
            if not DOCUMENT_ID_PATTERN.match(doc_id):
                raise row.fail("document_id", "lower-case letters, digits and '_'")
            if doc_id in seen:
                first = seen[doc_id]
                raise row.fail(
                    "document_id", f"a unique id (already used at {first.file}, line {first.line})"
                )
            seen[doc_id] = row
            published, precision = parse_published(row)
            _not_future(row, "published_date", published, limit)
            language = row.get("language")
            if not re.match(r"^[a-z]{2}$", language):
                raise row.fail("language", "an ISO 639-1 code such as 'en'")
            records.append(
                {
                    "document_id": doc_id,
                    "family": family.name,
                    "originator": row.get("originator"),
                    "publisher": row.get("publisher"),
                    "title": row.get("title"),
                    "url": check_url(row),
                    "published_date": published,
                    "published_date_precision": precision,
                    "source_kind": _term(row, "source_kind"),
                    "language": language,
                    "checked_on": _parse_date(row, "checked_on", required=True, limit=limit),
                    "notes": row.get("notes") or None,
                }
            )
        if len(records) == before:
            raise _no_rows(path, "at least one document row (a family folder lists its documents)")
    return pd.DataFrame(records, columns=schema.DOCUMENTS.columns)


def _unit_for(row: RawRow, metric: str, quantity_unit: str | None) -> str:
    if metric in PERCENT_METRICS:
        if quantity_unit != "percent":
            raise row.fail("value_text", f"a percentage such as '91.4%' for metric {metric!r}")
        return "percent"
    if metric in TIME_METRICS:
        if quantity_unit not in TIME_UNITS:
            raise row.fail("value_text", f"a duration such as '43 hours' for metric {metric!r}")
        return str(quantity_unit)
    if quantity_unit in (None, "count"):
        return "count"
    raise row.fail("value_text", f"a count (no unit) for metric {metric!r}")


def _check_plausible(row: RawRow, unit: str, numbers: tuple[float | None, ...]) -> None:
    """Refuse non-finite numbers, and numbers past :data:`PLAUSIBLE_MAX` without override."""
    for number in numbers:
        if number is None:
            continue
        if not math.isfinite(number):
            raise ImplausibleValueError(
                row.file, row.line, "value_text", short(row.get("value_text")), "a finite number"
            )
        bound = PLAUSIBLE_MAX.get(unit, PLAUSIBLE_MAX["count"])
        if abs(number) > bound and OUTLIER_OVERRIDE not in row.get("notes"):
            raise ImplausibleValueError(
                row.file,
                row.line,
                "value_text",
                row.get("value_text"),
                f"a {unit} of at most {bound:g}; if the source really says so, write "
                f"'{OUTLIER_OVERRIDE} <why>' in notes",
            )


def _figure_record(
    row: RawRow,
    family: str,
    documents: dict[str, dict],
    limit: dt.date | None = None,
    study: dict[str, dict] | None = None,
) -> dict:
    figure_id = row.get("figure_id")
    if not FIGURE_ID_PATTERN.match(figure_id):
        raise row.fail("figure_id", "letters, digits, '_' and '-'")
    document_id = row.get("document_id")
    document = documents.get(document_id)
    if document is None:
        raise row.fail("document_id", "the document_id of a row in a documents.csv")
    platform = _term(row, "platform")
    target = _term(row, "target")
    metric = _term(row, "metric")
    check_status = _term(row, "check_status")
    rate_text = row.get("rate_per")
    rate = _term(row, "rate_per") if rate_text else None
    try:
        quantity = parse_quantity(
            row.get("value_text"), dot_thousands=document["language"] in DOT_THOUSANDS_LANGUAGES
        )
    except ParseError as err:
        raise row.fail("value_text", err.expected) from None
    try:
        published = latest_publication_day(
            document["published_date"], document["published_date_precision"]
        )
        period = parse_period(row.get("period_text"), published=published)
    except ParseError as err:
        raise row.fail("period_text", err.expected) from None
    limit = limit or latest_allowed_date()
    if period.end > limit:
        raise FutureDateError(
            row.file,
            row.line,
            "period_text",
            row.get("period_text"),
            f"a period ending on or before {limit.isoformat()} (today plus "
            f"{FUTURE_TOLERANCE_DAYS} days); it ends {period.end.isoformat()}",
        )
    unit = _unit_for(row, metric, quantity.unit)
    _check_plausible(row, unit, (quantity.value, quantity.low, quantity.high))
    if unit == "percent":
        if quantity.value > 100 and metric not in UNBOUNDED_PERCENT_METRICS:
            raise row.fail("value_text", "a percentage between 0 and 100")
        if quantity.value < 0 and metric not in SIGNED_METRICS:
            raise row.fail("value_text", "a non-negative percentage")
    elif quantity.value < 0:
        raise row.fail("value_text", "a non-negative count")
    per_day_value = per_day(quantity.value, period, rate) if unit == "count" else None
    if per_day_value is not None:
        _check_plausible(row, unit, (per_day_value,))
    fields = study_fields(row, family, metric, unit)
    if fields is not None and study is not None:
        study[figure_id] = fields
    return {
        "figure_id": figure_id,
        "document_id": document_id,
        "family": family,
        "platform": platform,
        "target": target,
        "metric": metric,
        "subset": row.get("subset") or None,
        "unit": unit,
        "value": float(quantity.value),
        "value_low": quantity.low,
        "value_high": quantity.high,
        "qualifier": quantity.qualifier,
        "rate_per": rate,
        "period_start": period.start,
        "period_end": period.end,
        "period_kind": period.kind,
        "period_days": int(period.days),
        "is_partial_period": bool(period.is_partial),
        "per_day": per_day_value,
        "value_text": row.get("value_text"),
        "period_text": row.get("period_text"),
        "quote": check_quote(row),
        "quote_en": row.get("quote_en") or None,
        "check_status": check_status,
        "notes": row.get("notes") or None,
    }


def read_figures(
    families: list[Path] | tuple[Path, ...],
    documents: pd.DataFrame,
    today: dt.date | None = None,
    study: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Read and check every ``figures.csv`` (each must hold at least one figure).

    ``study``, when given, receives the study fields of every study result by figure id
    (see :mod:`analysis.etl.studies`).
    """
    limit = latest_allowed_date(today)
    docs = {r["document_id"]: r for r in documents.to_dict("records")}
    records = []
    seen: dict[str, RawRow] = {}
    for family in families:
        path = family / "figures.csv"
        before = len(records)
        optional = FIGURE_OPTIONAL + STUDY_COLUMNS
        for row in read_rows(path, FIGURE_COLUMNS, FIGURE_REQUIRED, optional):
            figure_id = row.get("figure_id")
            if figure_id in seen:
                first = seen[figure_id]
                raise row.fail(
                    "figure_id", f"a unique id (already used at {first.file}, line {first.line})"
                )
            seen[figure_id] = row
            records.append(_figure_record(row, family.name, docs, limit, study))
        if len(records) == before:
            raise _no_rows(
                path,
                "at least one figure row (a family whose documents hold no figure is "
                "incomplete; remove the folder if it is meant to be empty)",
            )
    return pd.DataFrame(records, columns=schema.FIGURES.columns)


def _optional_int(row: RawRow, column: str) -> int | None:
    text = row.get(column)
    if not text:
        return None
    if not re.match(r"^\d+$", text):
        raise row.fail(column, "a whole number or empty")
    return int(text)


def read_action_days(
    path: Path, documents: pd.DataFrame, figures: pd.DataFrame, today: dt.date | None = None
) -> pd.DataFrame:
    """Read and check ``action_days.csv`` (required; a header alone means no action recorded)."""
    limit = latest_allowed_date(today)
    known_docs = set(documents["document_id"])
    known_figs = set(figures["figure_id"]) if len(figures) else set()
    records = []
    seen: set[str] = set()
    for row in read_rows(path, ACTION_COLUMNS, ACTION_REQUIRED):
        action_id = row.get("action_id")
        if not DOCUMENT_ID_PATTERN.match(action_id):
            raise row.fail("action_id", "lower-case letters, digits and '_'")
        if action_id in seen:
            raise row.fail("action_id", "a unique id")
        seen.add(action_id)
        start = _parse_date(row, "start_date", required=False, limit=limit)
        end = _parse_date(row, "end_date", required=False, limit=limit)
        if start and end and end < start:
            raise row.fail("end_date", f"a date on or after start_date {start.isoformat()}")
        countries = [c.strip() for c in row.get("participating_countries").split(";") if c.strip()]
        for code in countries + ([row.get("lead_country")] if row.get("lead_country") else []):
            if not ISO_COUNTRY.match(code):
                raise row.fail(
                    "participating_countries" if code in countries else "lead_country",
                    "ISO 3166-1 alpha-2 codes (upper case) separated by ';'",
                    code,
                )
        platforms = [p.strip() for p in row.get("platforms").split(";") if p.strip()]
        for platform in platforms:
            if platform not in vocab.PLATFORMS:
                raise row.fail(
                    "platforms", f"platform terms: {', '.join(sorted(vocab.PLATFORMS))}", platform
                )
        if row.get("document_id") not in known_docs:
            raise row.fail("document_id", "the document_id of a row in a documents.csv")
        figure_ids = [f.strip() for f in row.get("figure_ids").split(";") if f.strip()]
        for figure_id in figure_ids:
            if figure_id not in known_figs:
                raise row.fail("figure_ids", "ids of rows in a figures.csv", figure_id)
        records.append(
            {
                "action_id": action_id,
                "start_date": start,
                "end_date": end,
                "name": row.get("name"),
                "coordinator": row.get("coordinator"),
                "lead_country": row.get("lead_country") or None,
                "participating_countries": ";".join(countries) or None,
                "countries_listed": len(countries),
                "countries_stated": _optional_int(row, "countries_stated"),
                "platforms": ";".join(platforms) or None,
                "platforms_stated": _optional_int(row, "platforms_stated"),
                "target": _term(row, "target"),
                "document_id": row.get("document_id"),
                "figure_ids": ";".join(figure_ids) or None,
                "quote": check_quote(row),
                "check_status": _term(row, "check_status"),
                "notes": row.get("notes") or None,
            }
        )
    return pd.DataFrame(records, columns=schema.ACTION_DAYS.columns)


def orphan_documents(
    documents: pd.DataFrame, figures: pd.DataFrame, action_days: pd.DataFrame
) -> list[str]:
    """Ids of documents that no figure and no action day cites (reported, not refused)."""
    cited = set(figures["document_id"]) | set(action_days["document_id"])
    return sorted(set(documents["document_id"]) - cited)


def fold_dsa_tdb(
    layout: RawLayout, documents: pd.DataFrame, figures: pd.DataFrame, limit: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Add a ``takedowns ingest dsa-tdb`` output in ``data/raw/dsa_tdb/`` to the tables.

    Returns ``documents`` and ``figures`` with the export's document and daily figures
    appended (see :mod:`analysis.ingest.dsa_tdb.fold`), and the ``dsa_tdb_daily`` table; the
    inputs and None when the folder holds no output.  The files are read through
    :func:`~analysis.etl.raw.read_text`, so they are checked and hashed like every raw file.

    Raises
    ------
    RawDataError
        A malformed file, a day after the last dump, a last dump in the future, or an id
        already used by a transcribed document or figure.
    """
    folder = layout.root / "dsa_tdb"
    present = {p.name: p for p in layout.exports if p.parent == folder}
    if not {"daily_series.csv", "manifest.json"} & set(present):
        return documents, figures, None
    # imported only when needed: the repository alone builds without the ingest package
    from analysis.ingest.dsa_tdb.fold import MANIFEST_FILE, SERIES_FILE, read_export

    texts = {n: read_text(present[n]) for n in (SERIES_FILE, MANIFEST_FILE) if n in present}
    export = read_export(folder, texts)
    assert export is not None
    last = export.document["published_date"]
    if last > limit:
        raise FutureDateError(
            folder / MANIFEST_FILE,
            None,
            "last_dump_day",
            last.isoformat(),
            f"a date on or before {limit.isoformat()} (today plus {FUTURE_TOLERANCE_DAYS} days)",
        )
    if export.document["document_id"] in set(documents["document_id"]):
        raise RawDataError(
            folder / MANIFEST_FILE,
            None,
            "document_id",
            export.document["document_id"],
            "a document id no documents.csv uses (it is the DSA export's)",
        )
    taken = set(figures["figure_id"]) & set(export.figures["figure_id"])
    if taken:
        raise RawDataError(
            folder / SERIES_FILE,
            None,
            "figure_id",
            sorted(taken)[0],
            "figure ids no figures.csv uses (the DSA export's start with 'DSA-')",
        )
    documents = pd.concat(
        [documents, pd.DataFrame([export.document], columns=documents.columns)],
        ignore_index=True,
    )
    if len(export.figures):
        figures = pd.concat([figures, export.figures], ignore_index=True)
    return documents, figures, export.daily


def build_tables(raw: Path, *, today: dt.date | None = None) -> Tables:
    """Read, check and normalise everything under ``raw``.

    Parameters
    ----------
    raw
        The ``data/raw`` folder (layout checked by :func:`analysis.etl.raw.discover`).
    today
        The date future dates are judged against (default: today).

    Returns
    -------
    Tables
        Unsorted, untyped tables; :mod:`analysis.etl.write` sorts and types them.  Their
        ``raw_sha256`` covers exactly the files read.

    Raises
    ------
    RawDataError
        At the first malformed row (or a subclass: :class:`~analysis.errors.RawFileError`,
        :class:`~analysis.errors.RawTextError`, :class:`~analysis.errors.FutureDateError`,
        :class:`~analysis.errors.ImplausibleValueError`).
    """
    layout = discover(raw)
    with ReadRecorder(raw) as recorder:
        documents = read_documents(layout.families, today)
        study: dict[str, dict] = {}
        figures = read_figures(layout.families, documents, today, study)
        action_days = read_action_days(layout.action_days, documents, figures, today)
        documents, figures, dsa_daily = fold_dsa_tdb(
            layout, documents, figures, latest_allowed_date(today)
        )
        sources = documents.set_index("document_id")[["source_kind", "published_date"]]
        series = select_series(figures, sources)
        conflicts = find_conflicts(figures, layout.documented_conflicts)
        study_results = build_study_results(figures, study, documents, conflicts)
    read = dict(recorder.read)
    for export in layout.exports:  # read by analysis.ingest.isiswatch in extra_tables
        read.setdefault(export.relative_to(raw).as_posix(), read_bytes(export))
    expected = {p.relative_to(raw).as_posix() for p in layout.files()}
    if set(read) != expected:  # pragma: no cover - a reader bypassed read_text
        raise RawDataError(
            raw,
            None,
            None,
            sorted(set(read) ^ expected),
            "the files read to be exactly the files hashed",
        )
    recorder.read = read
    orphans = orphan_documents(documents, figures, action_days)
    notes = tuple(f"document {doc!r} is cited by no figure and no action day" for doc in orphans)
    folded = ("dsa_tdb",) if dsa_daily is not None else ()
    return Tables(
        documents,
        figures,
        action_days,
        series,
        conflicts,
        study_results,
        recorder.sha256(),
        notes,
        folded,
        {"dsa_tdb_daily": dsa_daily} if dsa_daily is not None else {},
    )
