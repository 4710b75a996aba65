"""Tables and fields of the processed dataset, declared once.

From this one declaration the package derives

* the pyarrow schemas the Parquet files are written with (:func:`arrow_schema`),
* the pandas dtypes the loaders return (:func:`pandas_dtypes`),
* the Frictionless ``datapackage.json`` (:func:`datapackage`),
* the data dictionary ``data/processed/README.md`` (:func:`data_dictionary`).

Change a field here and all four follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from analysis import vocab

DATASET_NAME = "takedown-dynamics"
DATASET_TITLE = "Public figures on takedowns of Islamic State and terrorist content online"
DATA_LICENCE = "CC-BY-4.0"

_ARROW = {
    "string": pa.string(),
    "date": pa.date32(),
    "number": pa.float64(),
    "integer": pa.int64(),
    "boolean": pa.bool_(),
}
_FRICTIONLESS = {
    "string": "string",
    "date": "date",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Field:
    """One column of a processed table.

    Parameters
    ----------
    name
        Column name.
    type
        ``string``, ``date``, ``number``, ``integer`` or ``boolean``.
    description
        What the column holds, in one or two sentences.
    required
        True if the column never holds a null.
    vocabulary
        Name of the controlled vocabulary in :data:`analysis.vocab.VOCABULARIES`, if any.
    unit
        Physical unit of the values, if any (``days``, ``per day``...).
    """

    name: str
    type: str
    description: str
    required: bool = True
    vocabulary: str | None = None
    unit: str | None = None

    def terms(self, sources: Sequence[str] = ()) -> list[str] | None:
        """Allowed values when the field has a vocabulary, sorted.

        ``sources`` names the researcher-supplied inputs present in the build whose own
        terms join the vocabulary (:data:`analysis.vocab.SOURCE_TERMS`); none by default.
        """
        if self.vocabulary is None:
            return None
        return sorted(vocab.terms(self.vocabulary, tuple(sources)))


@dataclass(frozen=True)
class ForeignKey:
    """``fields`` of this table refer to ``reference_fields`` of ``reference_table``."""

    fields: tuple[str, ...]
    reference_table: str
    reference_fields: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A processed table: its fields, primary key and foreign keys."""

    name: str
    title: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)

    @property
    def path(self) -> str:
        """File name inside ``data/processed``."""
        return f"{self.name}.parquet"

    @property
    def columns(self) -> list[str]:
        """Column names in order."""
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        """Return the field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


F = Field

_PERIOD_FIELDS = (
    F("period_start", "date", "First day covered by the figure (inclusive)."),
    F("period_end", "date", "Last day covered by the figure (inclusive)."),
    F("period_kind", "string", "Kind of period.", vocabulary="period_kind"),
)

DOCUMENTS = Table(
    name="documents",
    title="Source documents",
    description=(
        "One row per public document (press release, transparency report, news copy) "
        "from which figures were transcribed."
    ),
    fields=(
        F("document_id", "string", "Stable identifier of the document."),
        F("family", "string", "Source family (folder under data/raw)."),
        F("originator", "string", "Who produced the numbers (Telegram, Europol, Twitter...)."),
        F("publisher", "string", "Who published the page that was seen."),
        F("title", "string", "Title of the page, in its language."),
        F("url", "string", "URL of the page that was seen."),
        F(
            "published_date",
            "date",
            "Publication date; the first day of the month or year when only those are known.",
            required=False,
        ),
        F(
            "published_date_precision",
            "string",
            "Precision of published_date: day, month, year or unknown.",
        ),
        F("source_kind", "string", "Primary page or copy.", vocabulary="source_kind"),
        F("language", "string", "ISO 639-1 language code of the page."),
        F("checked_on", "date", "Date the figures were checked against a stored copy."),
        F("notes", "string", "Notes on the document.", required=False),
    ),
    primary_key=("document_id",),
)

FIGURES = Table(
    name="figures",
    title="Reported figures",
    description=(
        "One row per number reported in a source document, as written (value_text, "
        "period_text, quote) and normalised (value, qualifier, period, per-day rate)."
    ),
    fields=(
        F("figure_id", "string", "Stable identifier of the figure."),
        F("document_id", "string", "Document the figure was transcribed from."),
        F("family", "string", "Source family (folder under data/raw)."),
        F("platform", "string", "Platform the figure is about.", vocabulary="platform"),
        F("target", "string", "Whose content or accounts are counted.", vocabulary="target"),
        F("metric", "string", "What is counted or measured.", vocabulary="metric"),
        F(
            "subset",
            "string",
            "A part of the metric as the source splits it (e.g. 'videos' of items in a hash "
            "database); null for the whole.",
            required=False,
        ),
        F("unit", "string", "Unit of value.", vocabulary="unit"),
        F("value", "number", "Point value (midpoint for a range; the bound for more/less than)."),
        F("value_low", "number", "Lower end implied by the qualifier.", required=False),
        F("value_high", "number", "Upper end implied by the qualifier.", required=False),
        F("qualifier", "string", "Qualifier of the value as written.", vocabulary="qualifier"),
        F(
            "rate_per",
            "string",
            "Null for a total over the period; day/week/month/year for a stated rate.",
            required=False,
            vocabulary="rate_per",
        ),
        *_PERIOD_FIELDS,
        F(
            "period_days",
            "integer",
            "Days in the period (period_end - period_start + 1).",
            unit="days",
        ),
        F(
            "is_partial_period",
            "boolean",
            "True for to-date counts and periods still running at publication.",
        ),
        F(
            "per_day",
            "number",
            "Derived: value as a rate per day (total / period_days, or the stated rate "
            "converted); null for snapshots, percentages and times.",
            required=False,
            unit="per day",
        ),
        F("value_text", "string", "The number as written in the source."),
        F("period_text", "string", "The period as written or restated (see data/raw/README.md)."),
        F("quote", "string", "Verbatim quote (at most 25 words) showing the number."),
        F("quote_en", "string", "English translation of a non-English quote.", required=False),
        F(
            "check_status",
            "string",
            "Whether the number was seen in a stored copy of the page.",
            vocabulary="check_status",
        ),
        F("notes", "string", "Caveats, conflicts, arithmetic.", required=False),
    ),
    primary_key=("figure_id",),
    foreign_keys=(ForeignKey(("document_id",), "documents", ("document_id",)),),
)

SERIES_KEY = (
    "platform",
    "target",
    "metric",
    "subset",
    "unit",
    "rate_per",
    "period_start",
    "period_end",
)

SERIES = Table(
    name="series",
    title="Preferred figure per key",
    description=(
        "One preferred figure per platform x target x metric x subset x unit x rate x period, chosen "
        "by the rule in analysis.etl.series.PREFERENCE_RULE, with the number of alternatives."
    ),
    fields=(
        F("platform", "string", "Platform.", vocabulary="platform"),
        F("target", "string", "Target.", vocabulary="target"),
        F("metric", "string", "Metric.", vocabulary="metric"),
        F("subset", "string", "Part of the metric, or null for the whole.", required=False),
        F("unit", "string", "Unit.", vocabulary="unit"),
        F("rate_per", "string", "Stated rate, or null.", required=False, vocabulary="rate_per"),
        *_PERIOD_FIELDS,
        F("is_partial_period", "boolean", "As in figures."),
        F("figure_id", "string", "The preferred figure."),
        F("value", "number", "Value of the preferred figure."),
        F("value_low", "number", "Lower end of the preferred figure.", required=False),
        F("value_high", "number", "Upper end of the preferred figure.", required=False),
        F("qualifier", "string", "Qualifier of the preferred figure.", vocabulary="qualifier"),
        F("per_day", "number", "Per-day rate of the preferred figure.", required=False),
        F("n_figures", "integer", "Figures reported for this key (preferred + alternatives)."),
        F("n_alternatives", "integer", "Figures for this key that were not preferred."),
        F(
            "alternative_figure_ids",
            "string",
            "Ids of the other figures for this key, ';'-separated.",
            required=False,
        ),
        F("values_disagree", "boolean", "True if any alternative has a different value."),
        F("chosen_because", "string", "Which step of the preference rule decided."),
    ),
    primary_key=SERIES_KEY,
    foreign_keys=(ForeignKey(("figure_id",), "figures", ("figure_id",)),),
)

CONFLICTS = Table(
    name="conflicts",
    title="Conflicting figures",
    description=(
        "Pairs of figures (or a total and the sum of its parts) that should agree and do not. "
        "Nothing here is resolved; see analysis.etl.conflicts for the rules."
    ),
    fields=(
        F("conflict_id", "string", "Stable identifier: kind and the figure ids involved."),
        F(
            "kind",
            "string",
            "same_key: same platform/target/metric/unit/rate/period, different values; "
            "nested_decrease: a count over a longer period with the same start is smaller; "
            "month_to_date_differs: month-to-date counts of one month from two documents "
            "differ; "
            "sum_vs_total: figures tiling a period do not sum to the stated total; "
            "documented: a pair written down by hand in data/raw/documented_conflicts.csv "
            "(different wording of one event, overlapping releases).",
        ),
        F("platform", "string", "Platform.", vocabulary="platform"),
        F("target", "string", "Target.", vocabulary="target"),
        F("metric", "string", "Metric.", vocabulary="metric"),
        F("figure_id_a", "string", "First figure (or the stated total)."),
        F("figure_id_b", "string", "Second figure, or the ';'-separated parts."),
        F("period_a", "string", "Period of a, ISO start/end."),
        F("period_b", "string", "Period of b, ISO start/end."),
        F("value_a", "number", "Value of a."),
        F("value_b", "number", "Value of b (or the derived sum of the parts)."),
        F(
            "relative_difference",
            "number",
            "Derived: |value_a - value_b| / max(|value_a|, |value_b|).",
        ),
        F(
            "compatible_within_qualifiers",
            "boolean",
            "True if the intervals implied by the qualifiers ('about' = within 5%, "
            "'more than', ranges...) overlap, i.e. the difference may be rounding.",
        ),
        F("description", "string", "Plain-language description of the conflict."),
    ),
    primary_key=("conflict_id",),
    foreign_keys=(ForeignKey(("figure_id_a",), "figures", ("figure_id",)),),
)

ACTION_DAYS = Table(
    name="action_days",
    title="Coordinated actions",
    description=(
        "Referral action days and other coordinated actions against terrorist content online: "
        "dates, coordinator, countries, platforms, and the figures reported for them."
    ),
    fields=(
        F("action_id", "string", "Stable identifier of the action."),
        F("start_date", "date", "First day of the action.", required=False),
        F("end_date", "date", "Last day of the action.", required=False),
        F("name", "string", "Short name."),
        F("coordinator", "string", "Who coordinated it."),
        F("lead_country", "string", "ISO 3166-1 alpha-2 code of the lead country.", required=False),
        F(
            "participating_countries",
            "string",
            "ISO 3166-1 alpha-2 codes as the source lists them, ';'-separated.",
            required=False,
        ),
        F("countries_listed", "integer", "Derived: number of codes listed."),
        F(
            "countries_stated",
            "integer",
            "Number of countries as the source states it (may differ from the list).",
            required=False,
        ),
        F("platforms", "string", "Platform terms, ';'-separated.", required=False),
        F(
            "platforms_stated",
            "integer",
            "Number of online service providers as stated.",
            required=False,
        ),
        F("target", "string", "Target of the action.", vocabulary="target"),
        F("document_id", "string", "Document describing the action."),
        F(
            "figure_ids",
            "string",
            "Figures reported for the action, ';'-separated.",
            required=False,
        ),
        F("quote", "string", "Verbatim quote about the action (at most 25 words)."),
        F("check_status", "string", "Seen in a stored copy or not.", vocabulary="check_status"),
        F("notes", "string", "Notes.", required=False),
    ),
    primary_key=("action_id",),
    foreign_keys=(ForeignKey(("document_id",), "documents", ("document_id",)),),
)

ISISWATCH_DAILY = Table(
    name="isiswatch_daily",
    title="Telegram ISIS Watch daily bans (from a channel export)",
    description=(
        "Daily counts parsed from a Telegram Desktop export of the ISIS Watch channel placed "
        "in data/raw/telegram_isiswatch_export/. Written only when such an export exists."
    ),
    fields=(
        F("date", "date", "Day the bans refer to."),
        F("banned", "integer", "Bots and channels banned that day."),
        F("month_to_date", "integer", "Total this month as stated in the message.", required=False),
        F("message_id", "integer", "Id of the message in the export."),
    ),
    primary_key=("date",),
)

DSA_TDB_DAILY = Table(
    name="dsa_tdb_daily",
    title="EU DSA Transparency Database: terrorist-content decisions per day",
    description=(
        "Statements of reasons per decision day, platform and decision kind, from the "
        "output of `takedowns ingest dsa-tdb` placed in data/raw/dsa_tdb/ (daily_series.csv "
        "and manifest.json). Written only when such an output exists. Recent days are "
        "incomplete (decisions are filed days late): see share_filed and partial. The same "
        "counts are in figures and series (family dsa_tdb, metric statements_of_reasons)."
    ),
    fields=(
        F("date", "date", "Day the decision was taken (application_date)."),
        F("platform", "string", "Platform name as filed in the database."),
        F(
            "decision_kind",
            "string",
            "any (each statement once), visibility, account, provision or monetary (a "
            "statement restricting two things counts under both).",
        ),
        F("statements", "integer", "Statements of reasons selected that day."),
        F(
            "share_filed",
            "number",
            "Expected share of the day's statements already filed by the last dump "
            "(empirical filing-lag distribution of the platform).",
            required=False,
        ),
        F(
            "partial",
            "boolean",
            "True when the day is not yet complete (share_filed < 0.99 "
            "or a dump missing within the filing-lag horizon).",
        ),
        F("scope", "string", "Selection: keyword (KEYWORD_TERRORIST_CONTENT) or category."),
        F("synthetic", "boolean", "True when the dumps were generated (synthetic data)."),
        F("source_url", "string", "Where the dumps are published."),
    ),
    primary_key=("date", "platform", "decision_kind"),
)

STUDY_RESULTS = Table(
    name="study_results",
    title="Published measurements of account and channel dynamics",
    description=(
        "One row per published study result on how long extremist accounts and channels last "
        "and how fast they come back (shares suspended within a horizon, lifespans, "
        "re-creations, population sizes), with horizon, cohort, sample size and denominator "
        "as fields. Rows transcribed from a document are also figures (same figure_id); rows "
        "with derived = true are computed by analysis.etl.studies from other rows and are "
        "not figures."
    ),
    fields=(
        F("figure_id", "string", "Stable identifier (the figure's id, or '<id>-derived')."),
        F("document_id", "string", "Document the result was transcribed from (or derived from)."),
        F("family", "string", "Source family (folder under data/raw)."),
        F("study", "string", "Short citation of the study (authors, year, title)."),
        F("platform", "string", "Platform studied.", vocabulary="platform"),
        F("target", "string", "Whose accounts or channels.", vocabulary="target"),
        F(
            "cohort",
            "string",
            "The group the number describes (e.g. 'pro-IS accounts', 'channels created after "
            "the 2019 action day'), as the study defines it.",
        ),
        F("metric", "string", "What is measured.", vocabulary="metric"),
        F(
            "subset",
            "string",
            "Part of the metric (e.g. organic posts); null for the whole.",
            required=False,
        ),
        F("value", "number", "Point value (midpoint for a range; the bound for more/less than)."),
        F("value_low", "number", "Lower end implied by the qualifier.", required=False),
        F("value_high", "number", "Upper end implied by the qualifier.", required=False),
        F("unit", "string", "Unit of value (percent is 0-100).", vocabulary="unit"),
        F("qualifier", "string", "Qualifier of the value as written.", vocabulary="qualifier"),
        F(
            "rate_per",
            "string",
            "Null, or day/week/month/year for a stated rate.",
            required=False,
            vocabulary="rate_per",
        ),
        F(
            "horizon_text",
            "string",
            "The horizon as written ('two days', 'three months', '30 days'): 'within t' for "
            "survival points, the observation window for window shares.",
            required=False,
        ),
        F(
            "horizon_days",
            "number",
            "Derived from horizon_text: days (a month is 30.4375 days, a year 365.25). "
            "Required for share_suspended_within.",
            required=False,
            unit="days",
        ),
        F(
            "sample_size",
            "integer",
            "Number of accounts or channels in the cohort, as published (null when not "
            "published; a derived row may give it).",
            required=False,
        ),
        F(
            "denominator",
            "string",
            "For shares: of whom the share is taken.",
            required=False,
            vocabulary="denominator",
        ),
        *_PERIOD_FIELDS,
        F("derived", "boolean", "True when computed by code from other rows (never typed in raw)."),
        F(
            "derived_from",
            "string",
            "Figure ids a derived row is computed from, ';'-separated.",
            required=False,
        ),
        F("derivation", "string", "The formula of a derived row, in words.", required=False),
        F(
            "quote",
            "string",
            "Verbatim quote (at most 25 words); null for derived rows.",
            required=False,
        ),
        F("url", "string", "URL of the page the number was seen on."),
        F("source_kind", "string", "Primary page or copy.", vocabulary="source_kind"),
        F("check_status", "string", "Seen in a stored copy or not.", vocabulary="check_status"),
        F(
            "conflict_ids",
            "string",
            "Ids of rows of the conflicts table naming this figure, ';'-separated.",
            required=False,
        ),
        F("notes", "string", "Caveats, definitions, arithmetic.", required=False),
    ),
    primary_key=("figure_id",),
    foreign_keys=(ForeignKey(("document_id",), "documents", ("document_id",)),),
)

TABLES: Mapping[str, Table] = {
    t.name: t
    for t in (
        DOCUMENTS,
        FIGURES,
        SERIES,
        CONFLICTS,
        ACTION_DAYS,
        STUDY_RESULTS,
        ISISWATCH_DAILY,
        DSA_TDB_DAILY,
    )
}
CORE_TABLES = ("documents", "figures", "series", "conflicts", "action_days", "study_results")


VOCABULARY_SOURCES_KEY = "takedown_dynamics.vocabulary_sources"
"""Parquet key-value metadata naming, comma-separated, the researcher-supplied inputs whose
own vocabulary terms the file's dictionaries include; absent when there are none."""


def vocabulary_sources(metadata: Mapping[bytes, bytes] | None) -> tuple[str, ...]:
    """The inputs named by a Parquet file's :data:`VOCABULARY_SOURCES_KEY` (empty if absent).

    Raises
    ------
    ValueError
        If the metadata names an input this version does not know.
    """
    text = (metadata or {}).get(VOCABULARY_SOURCES_KEY.encode(), b"").decode()
    names = tuple(n for n in text.split(",") if n)
    unknown = [n for n in names if n not in vocab.SOURCE_TERMS]
    if unknown:
        raise ValueError(
            f"the file's vocabulary includes the terms of {unknown[0]!r}, unknown to this "
            f"version (known: {', '.join(vocab.SOURCES)}); rebuild with `takedowns etl`"
        )
    return names


VOCABULARY_ARROW_TYPE = pa.dictionary(pa.int32(), pa.string())
"""Arrow type of vocabulary columns: dictionary-encoded, so R (arrow) reads a factor and
polars a categorical.  The dictionary is the whole sorted vocabulary, so unused terms stay
levels (see :func:`vocabulary_array`)."""


def arrow_type(f: Field) -> pa.DataType:
    """Arrow type of one field: a string dictionary for vocabularies, else by ``Field.type``."""
    return VOCABULARY_ARROW_TYPE if f.vocabulary is not None else _ARROW[f.type]


def vocabulary_array(
    f: Field, values: list[str | None], sources: Sequence[str] = ()
) -> pa.DictionaryArray:
    """Dictionary array of ``values`` whose dictionary is every term of ``f``'s vocabulary
    (with the terms of the inputs ``sources``, see :meth:`Field.terms`).

    Raises
    ------
    KeyError
        If a value is not a term (the ETL has checked the vocabularies before).
    """
    terms = f.terms(sources)
    if terms is None:
        raise ValueError(f"{f.name} has no vocabulary")
    code = {t: i for i, t in enumerate(terms)}
    indices = pa.array([None if v is None else code[v] for v in values], type=pa.int32())
    return pa.DictionaryArray.from_arrays(indices, pa.array(terms, type=pa.string()))


def arrow_schema(table: Table, metadata: Mapping[str, str] | None = None) -> pa.Schema:
    """Return the pyarrow schema of ``table`` (nullability from ``Field.required``)."""
    fields = [
        pa.field(
            f.name,
            arrow_type(f),
            nullable=not f.required,
            metadata={"description": f.description},
        )
        for f in table.fields
    ]
    meta = {k.encode(): v.encode() for k, v in (metadata or {}).items()}
    return pa.schema(fields, metadata=meta or None)


def pandas_dtypes(table: Table, sources: Sequence[str] = ()) -> dict[str, object]:
    """Return pandas dtypes for the loaders: categoricals for vocabularies, nullable numbers.

    ``sources``: the inputs whose own terms the categories include (see :meth:`Field.terms`).
    """
    out: dict[str, object] = {}
    for f in table.fields:
        if f.vocabulary is not None:
            out[f.name] = pd.CategoricalDtype(categories=f.terms(sources), ordered=False)
        elif f.type == "string":
            out[f.name] = pd.StringDtype()
        elif f.type == "number":
            out[f.name] = pd.Float64Dtype()
        elif f.type == "integer":
            out[f.name] = pd.Int64Dtype()
        elif f.type == "boolean":
            out[f.name] = pd.BooleanDtype()
        elif f.type == "date":
            out[f.name] = "datetime64[s]"
    return out


PARQUET_MISSING_VALUES = ("", "nan")
"""Missing values of the Parquet resources.  frictionless' parquet plugin reads through
pandas, where a null number comes back as NaN (printed ``nan``); without ``"nan"`` here an
empty integer cell fails as a type error.  No string cell of the dataset is ``nan``
(tested)."""
CSV_MISSING_VALUES = ("",)
"""Missing values of the CSV exports: an empty cell, nothing else."""
CSV_TRUE_VALUES = ("true",)
CSV_FALSE_VALUES = ("false",)


def frictionless_schema(
    table: Table,
    missing_values: tuple[str, ...] = PARQUET_MISSING_VALUES,
    *,
    csv: bool = False,
    sources: Sequence[str] = (),
) -> dict[str, object]:
    """Return the Frictionless Table Schema of ``table``.

    Parameters
    ----------
    table
        The table.
    missing_values
        The schema's ``missingValues``.
    csv
        Declare the CSV spellings of booleans (``true``/``false`` only).
    sources
        Inputs present in the build whose own terms the enums include (:meth:`Field.terms`).
    """
    fields = []
    for f in table.fields:
        spec: dict[str, object] = {
            "name": f.name,
            "type": _FRICTIONLESS[f.type],
            "description": f.description,
        }
        constraints: dict[str, object] = {}
        if f.required:
            constraints["required"] = True
        if f.terms() is not None:
            constraints["enum"] = f.terms(sources)
        if constraints:
            spec["constraints"] = constraints
        if f.unit:
            spec["unit"] = f.unit
        if csv and f.type == "boolean":
            spec["trueValues"] = list(CSV_TRUE_VALUES)
            spec["falseValues"] = list(CSV_FALSE_VALUES)
        fields.append(spec)
    out: dict[str, object] = {
        "fields": fields,
        "primaryKey": list(table.primary_key),
        "missingValues": list(missing_values),
    }
    if table.foreign_keys:
        out["foreignKeys"] = [
            {
                "fields": list(fk.fields),
                "reference": {"resource": fk.reference_table, "fields": list(fk.reference_fields)},
            }
            for fk in table.foreign_keys
        ]
    return out


def datapackage(
    tables: list[str],
    version: str,
    raw_sha256: str,
    file_sha256: Mapping[str, str],
    sources: Sequence[str] = (),
) -> dict[str, object]:
    """Return the Frictionless data package descriptor for the written ``tables``.

    ``sources``: researcher-supplied inputs present in the build (their terms join the enums
    and are listed under ``custom.vocabulary_sources``; nothing is added without them).
    """
    resources = []
    for name in tables:
        table = TABLES[name]
        resources.append(
            {
                "name": table.name,
                "title": table.title,
                "description": table.description,
                "profile": "tabular-data-resource",
                "path": table.path,
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "hash": f"sha256:{file_sha256[table.path]}",
                "schema": frictionless_schema(table, sources=sources),
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": DATASET_NAME,
        "title": DATASET_TITLE,
        "version": version,
        "licenses": [
            {
                "name": DATA_LICENCE,
                "path": "https://creativecommons.org/licenses/by/4.0/",
                "title": "Creative Commons Attribution 4.0",
            }
        ],
        "sources": [{"title": "Public documents listed in documents.parquet (url column)"}],
        "custom": {"raw_sha256": raw_sha256}
        | ({"vocabulary_sources": sorted(sources)} if sources else {}),
        "resources": resources,
    }


def duckdb_sql(
    tables: list[str], folder: str = "data/processed", sources: Sequence[str] = ()
) -> str:
    """SQL that gives DuckDB the vocabularies as ENUM types and one view per table.

    DuckDB reads Parquet dictionary columns as ``VARCHAR``; this script declares one
    ``ENUM`` per vocabulary (every term, sorted) and views that cast the columns, so
    ``GROUP BY platform`` lists empty levels and a misspelt term is an error.  ``sources``:
    inputs present in the build whose own terms the types include (:meth:`Field.terms`).
    """
    used = sorted({f.vocabulary for n in tables for f in TABLES[n].fields if f.vocabulary})
    lines = []
    for vname in used:
        terms = ", ".join(
            "'" + t.replace("'", "''") + "'" for t in sorted(vocab.terms(vname, tuple(sources)))
        )
        lines.append(f'CREATE TYPE "{vname}" AS ENUM ({terms});')
    for name in tables:
        t = TABLES[name]
        casts = ", ".join(
            f'"{f.name}"::"{f.vocabulary}" AS "{f.name}"' for f in t.fields if f.vocabulary
        )
        replace = f" REPLACE ({casts})" if casts else ""
        lines.append(
            f"CREATE VIEW \"{t.name}\" AS SELECT *{replace} FROM read_parquet('{folder}/{t.path}');"
        )
    return "\n".join(lines) + "\n"


QUICK_START = """\
## Using the tables

The tables are Parquet files here; `takedowns export --out DIR` (and every release archive,
in `data/`) adds a CSV copy of each in `csv/`, with a `csv/datapackage.json` describing them,
and a Stata `.dta` copy in `stata/`.

**CSV conventions.** UTF-8 without byte-order mark, comma-separated, one header row, `\\n`
line ends, fields quoted only when needed (`"` doubled inside). Dates are ISO `YYYY-MM-DD`;
booleans are `true`/`false`; numbers are written in the shortest form that reads back to
the same double. **An empty cell is a missing value**, nothing else (no `NA`, `nan` or `.`).
Vocabulary columns hold the term (see Vocabularies below).

**Stata `.dta`** (format 118, Stata 14 or later, UTF-8). Vocabulary columns are integers with
value labels, one label per term of the vocabulary (`label list platform`); booleans are 0/1
labelled `false`/`true`; dates are `%td`; variable labels are the descriptions below, cut to
Stata's 80 characters; a missing text is the empty string. The header's "saved on" stamp
is fixed at 1 Jan 2000 so that rebuilt files are identical.

### R

```r
library(arrow)                                  # Parquet: vocabularies arrive as factors
figures <- read_parquet("figures.parquet")
levels(figures$platform)                        # every term, used or not

library(readr)                                  # CSV: declare empty = missing
figures <- read_csv("figures.csv", na = "")

library(haven)                                  # Stata: labelled integers -> factors
figures <- as_factor(read_dta("figures.dta"))
```

### Stata

```stata
use figures.dta, clear
describe
label list platform
tabulate platform if metric == "bots_and_channels_banned":metric
```

To read the CSV instead: `import delimited figures.csv, varnames(1) encoding("utf-8")
bindquote(strict) stringcols(_all)`, then `destring` the numbers and
`generate d = date(period_start, "YMD")`; the `.dta` is simpler.

### Excel

Do not double-click the CSV: Excel then guesses the encoding and, in many locales, the
separator. Use *Data > From Text/CSV*, choose *File origin: 65001: Unicode (UTF-8)* and
*Delimiter: Comma*, then *Transform Data* and set identifier columns (`figure_id`,
`document_id`) to *Text*. Empty cells are missing values; do not replace them by 0.

### DuckDB

`read_parquet` gives vocabulary columns as `VARCHAR`. Run this (from the folder above
`data/processed`, or change the paths) to get them as `ENUM`s with every term:

```sql
{duckdb}```

### Python

`from analysis import load; load.figures()` returns typed frames (categoricals for the
vocabularies); without the package, `pandas.read_parquet("figures.parquet")`.
"""


SOURCE_NOTES = {
    "dsa_tdb": (
        "* **This build holds a `takedowns ingest dsa-tdb` output** (`data/raw/dsa_tdb/`). Its "
        "daily counts are figures of family `dsa_tdb` (metric `statements_of_reasons`, "
        "`period_kind = day`, `check_status = computed`: computed by code from the DSA "
        "Transparency Database dumps, never transcribed; the quote is the raw file's line). "
        "Statements are decisions, not items removed. Recent days are incomplete "
        "(`is_partial_period`; `share_filed` in the notes and in `dsa_tdb_daily`); the document "
        "`dsa_tdb_download` says whether the dumps were SYNTHETIC. Platform names the "
        "vocabulary lacks are `other_platform` with the name as filed in `subset`. "
        "They are not reconciled with the platforms' own transparency reports."
    ),
}
"""A line of the data dictionary's reading notes per researcher-supplied input present."""


def data_dictionary(
    tables: list[str],
    version: str,
    row_counts: Mapping[str, int],
    family_counts: Mapping[str, Mapping[str, int]] | None = None,
    sources: Sequence[str] = (),
) -> str:
    """Return the Markdown data dictionary for the written ``tables``.

    ``family_counts`` maps each source family to its number of documents, figures, and
    figures checked against a stored copy (and, for families read by code, figures
    computed).  ``sources``: researcher-supplied inputs present in the build; their own
    vocabulary terms are listed, marked with the input (none without them).
    """
    lines = [
        f"# {DATASET_TITLE}: data dictionary",
        "",
        f"Dataset version {version}. Generated by `make data` from `analysis.schema`; "
        "do not edit by hand.",
        "",
        f"Licence: {DATA_LICENCE} (SPDX) for the dataset; the code is MIT. Quotes and documents "
        "stay under their publishers' terms: upstream terms per source family are listed in "
        "`LICENSE-DATA`.",
        "",
        "Read before citing a number:",
        "",
        "* **Referred is not removed.** Europol's referral action days report items *referred* "
        "or *assessed*; removal is the platform's voluntary decision (`items_referred` vs "
        "`items_removed`).",
        "* **Accounts are not bots and channels.** Telegram's ISIS Watch counts *bots and "
        "channels* (`bots_and_channels_banned`); 2018-2019 press copies say *accounts and bots*; "
        "Etidal counts *pieces of content* and *channels*; Telegram's 2024+ page counts "
        "*communities*. They are different metrics.",
        "* **A month-to-date count is not a month.** `period_kind = to_date` and "
        "`is_partial_period = true` mark counts that stop before their period ends.",
        "* **Qualifiers matter.** `more_than 26000` is a lower bound; `value_low`/`value_high` "
        "carry the interval.",
        "* **Conflicts are kept.** `series` picks one figure per key by a written rule and counts "
        "the alternatives; `conflicts` lists every disagreement. Nothing is silently resolved.",
        "* `per_day` and every `countries_listed`, `relative_difference` value are derived by code.",
        "* **Study results are measurements of dynamics, not takedown counts.** "
        "`share_suspended_within` is one point of a cumulative-removal curve (removed within "
        "`horizon_days` of creation); `share_suspended` is the share removed by the end of a "
        "study's window; `denominator` says whether a share is of the whole cohort or of the "
        "removed ones only (or that the source does not say). Rows with `derived = true` are "
        "arithmetic on published numbers (`derivation`), never published numbers themselves.",
        *[SOURCE_NOTES[s] for s in sorted(sources)],
        "",
        "## Tables",
        "",
        "| table | rows | primary key | description |",
        "|---|---|---|---|",
    ]
    for name in tables:
        t = TABLES[name]
        lines.append(
            f"| `{t.path}` | {row_counts.get(name, 0)} | {', '.join(t.primary_key)} "
            f"| {t.description} |"
        )
    if family_counts:
        computed = any(c.get("computed", 0) for c in family_counts.values())
        lines += [
            "",
            "## Figures by source family",
            "",
            "| family | documents | figures | checked | unverified |"
            + (" computed by code |" if computed else ""),
            "|---|---|---|---|---|" + ("---|" if computed else ""),
        ]
        for family in sorted(family_counts):
            c = family_counts[family]
            done = c.get("computed", 0)
            lines.append(
                f"| `{family}` | {c['documents']} | {c['figures']} | {c['checked']} "
                f"| {c['figures'] - c['checked'] - done} |" + (f" {done} |" if computed else "")
            )
    for name in tables:
        t = TABLES[name]
        lines += ["", f"## `{t.name}`: {t.title}", "", t.description, ""]
        lines += ["| column | type | required | unit | description |", "|---|---|---|---|---|"]
        for f in t.fields:
            desc = f.description
            if f.vocabulary:
                desc += f" Vocabulary: [{f.vocabulary}](#vocabulary-{f.vocabulary})."
            lines.append(
                f"| `{f.name}` | {f.type} | {'yes' if f.required else 'no'} "
                f"| {f.unit or ''} | {desc} |"
            )
    lines += ["", QUICK_START.format(duckdb=duckdb_sql(tables, sources=sources)).rstrip("\n")]
    lines += ["", "## Vocabularies"]
    for vname in vocab.VOCABULARIES:
        terms = vocab.terms(vname, tuple(sources))
        lines += ["", f"### Vocabulary: {vname}", "", "| term | definition |", "|---|---|"]
        for term in sorted(terms):
            origin = next(
                (s for s in sources if term in vocab.SOURCE_TERMS[s].get(vname, {})), None
            )
            mark = f" (only with `data/raw/{origin}/`)" if origin else ""
            lines.append(f"| `{term}` | {terms[term]}{mark} |")
    lines.append("")
    return "\n".join(lines)
