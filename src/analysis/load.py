"""Typed DataFrames of the processed dataset, ready for Jupyter.

>>> from analysis import load
>>> figs = load.figures()                      # doctest: +SKIP
>>> load.series(platform="telegram", metric="bots_and_channels_banned")  # doctest: +SKIP
>>> load.study_results(metric="share_suspended_within")  # doctest: +SKIP
>>> load.figure("EU43-2019")["value"]                     # doctest: +SKIP

Vocabulary columns are pandas categoricals (with every term as a category, so
empty groups show), numbers are nullable ``Float64``/``Int64``, flags are
``boolean`` and dates are ``datetime64[s]``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analysis import paths, schema
from analysis.errors import TakedownError


class UnknownFigureError(TakedownError, KeyError):
    """A figure id that no processed table holds."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


def _read(name: str, processed: Path | None = None) -> pd.DataFrame:
    table = schema.TABLES[name]
    path = (processed or paths.processed_dir()) / table.path
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; run `make data` (or `takedowns etl`) to build the dataset"
        )
    arrow = pq.read_table(path)
    # a build holding a researcher's input (data/raw/dsa_tdb) has that input's terms too
    sources = schema.vocabulary_sources(arrow.schema.metadata)
    frame = arrow.to_pandas()
    dtypes = schema.pandas_dtypes(table, sources)
    for column, dtype in dtypes.items():
        if dtype == "datetime64[s]":
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[s]")
        else:
            frame[column] = frame[column].astype(dtype)
    return frame


def _filter(frame: pd.DataFrame, **equals: str | list[str] | None) -> pd.DataFrame:
    for column, wanted in equals.items():
        if wanted is None:
            continue
        values = [wanted] if isinstance(wanted, str) else list(wanted)
        dtype = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            unknown = [v for v in values if v not in dtype.categories]
            if unknown:
                terms = ", ".join(map(str, dtype.categories))
                raise ValueError(f"unknown {column} {unknown[0]!r}; expected one of: {terms}")
        frame = frame[frame[column].isin(values)]
    return frame.reset_index(drop=True)


def documents(processed: Path | None = None) -> pd.DataFrame:
    """Source documents: originator, publisher, URL, publication date, kind."""
    return _read("documents", processed)


def figures(
    platform: str | list[str] | None = None,
    target: str | list[str] | None = None,
    metric: str | list[str] | None = None,
    *,
    with_documents: bool = False,
    processed: Path | None = None,
) -> pd.DataFrame:
    """Every reported figure, optionally filtered and joined to its document.

    Parameters
    ----------
    platform, target, metric
        Keep only these terms (a term or a list of terms).
    with_documents
        Add the document's originator, publisher, url, published_date and source_kind.
    processed
        Folder to read from (default ``data/processed``).
    """
    frame = _filter(_read("figures", processed), platform=platform, target=target, metric=metric)
    if with_documents:
        docs = documents(processed)[
            ["document_id", "originator", "publisher", "url", "published_date", "source_kind"]
        ]
        frame = frame.merge(docs, on="document_id", how="left", validate="many_to_one")
    return frame


def series(
    platform: str | list[str] | None = None,
    target: str | list[str] | None = None,
    metric: str | list[str] | None = None,
    *,
    period_kind: str | list[str] | None = None,
    with_sources: bool = False,
    processed: Path | None = None,
) -> pd.DataFrame:
    """One preferred figure per platform x target x metric x period (see ``analysis.etl.series``).

    Parameters
    ----------
    platform, target, metric, period_kind
        Keep only these terms (a term or a list of terms).
    with_sources
        Add, for the preferred figure, its ``family``, ``check_status`` (``computed`` for
        counts computed by code from a DSA Transparency Database export), ``notes`` (for
        those: scope, share_filed, partial, synthetic, manifest hash) and its document's
        ``document_id``, ``title`` and ``url``.
    processed
        Folder to read from (default ``data/processed``).
    """
    frame = _read("series", processed)
    frame = _filter(frame, platform=platform, target=target, metric=metric, period_kind=period_kind)
    if with_sources:
        figs = _read("figures", processed)[
            ["figure_id", "document_id", "family", "check_status", "notes"]
        ]
        docs = documents(processed)[["document_id", "title", "url"]]
        frame = frame.merge(figs, on="figure_id", how="left", validate="one_to_one").merge(
            docs, on="document_id", how="left", validate="many_to_one"
        )
    return frame


def conflicts(processed: Path | None = None) -> pd.DataFrame:
    """Figures that disagree, with the relative difference; nothing resolved."""
    return _read("conflicts", processed)


def action_days(processed: Path | None = None) -> pd.DataFrame:
    """Coordinated actions: dates, coordinator, countries, platforms, linked figures."""
    return _read("action_days", processed)


def isiswatch_daily(processed: Path | None = None) -> pd.DataFrame | None:
    """Daily ISIS Watch bans from a channel export, or None when no export was built."""
    path = (processed or paths.processed_dir()) / schema.ISISWATCH_DAILY.path
    return _read("isiswatch_daily", processed) if path.is_file() else None


def dsa_tdb_daily(processed: Path | None = None) -> pd.DataFrame | None:
    """Terrorist-content statements per day from the EU DSA Transparency Database (folded
    from ``data/raw/dsa_tdb``), or None when no such output was built."""
    path = (processed or paths.processed_dir()) / schema.DSA_TDB_DAILY.path
    return _read("dsa_tdb_daily", processed) if path.is_file() else None


def study_results(
    platform: str | list[str] | None = None,
    target: str | list[str] | None = None,
    metric: str | list[str] | None = None,
    *,
    include_derived: bool = True,
    processed: Path | None = None,
) -> pd.DataFrame:
    """Published measurements of account and channel dynamics, with provenance.

    One row per study result (share suspended within ``horizon_days``, lifespans,
    re-creations, population sizes...) with ``cohort``, ``sample_size``, ``denominator``,
    ``url``, ``quote`` and ``check_status``; rows with ``derived`` true are computed by
    :mod:`analysis.etl.studies` from the figures listed in ``derived_from``.

    Parameters
    ----------
    platform, target, metric
        Keep only these terms (a term or a list of terms).
    include_derived
        Keep the derived rows (default) or only the transcribed ones.
    processed
        Folder to read from (default ``data/processed``).
    """
    frame = _filter(
        _read("study_results", processed), platform=platform, target=target, metric=metric
    )
    if not include_derived:
        frame = frame[~frame["derived"].astype(bool)].reset_index(drop=True)
    return frame


FIGURE_FIELDS = (
    "figure_id",
    "document_id",
    "platform",
    "target",
    "metric",
    "subset",
    "value",
    "value_low",
    "value_high",
    "unit",
    "qualifier",
    "rate_per",
    "period_start",
    "period_end",
    "period_kind",
    "url",
    "quote",
    "check_status",
    "source_kind",
    "cohort",
    "horizon_days",
    "sample_size",
    "denominator",
    "derived",
    "study",
)
"""Fields of :func:`figure`'s answer (missing ones are ``<NA>``)."""


def figure(figure_id: str, processed: Path | None = None) -> pd.Series:
    """One figure by id, from ``figures`` (with its document) or ``study_results``.

    The answer has :data:`FIGURE_FIELDS`: the value with its bounds, unit, qualifier and
    rate, the period, the URL and quote it was seen with, and for study results the cohort,
    horizon, sample size and denominator.  Values are plain Python: numbers are ``float``
    (``nan`` when missing: a one-sided value has one bound), ``sample_size`` an ``int``, text
    ``str``, dates ``Timestamp``, anything missing ``None``.  Derived study results (``derived`` true, no
    quote) are found too.  This is how a model reads a published number: by id, so the
    number in ``data/raw`` is the only copy.

    Raises
    ------
    UnknownFigureError
        If no figure or study result has this id.
    """
    figs = figures(with_documents=True, processed=processed)
    hit = figs[figs["figure_id"] == figure_id]
    studies = study_results(processed=processed)
    study_hit = studies[studies["figure_id"] == figure_id]
    if hit.empty and study_hit.empty:
        raise UnknownFigureError(
            f"no figure or study result with id {figure_id!r} in "
            f"{processed or paths.processed_dir()} (figures.parquet, study_results.parquet)"
        )
    row: dict[str, object] = {name: pd.NA for name in FIGURE_FIELDS}
    row["derived"] = False
    if not hit.empty:
        row.update({k: v for k, v in hit.iloc[0].items() if k in FIGURE_FIELDS})
    if not study_hit.empty:
        extra = study_hit.iloc[0]
        for name in FIGURE_FIELDS:
            if name in extra.index and (hit.empty or pd.isna(row[name])):
                row[name] = extra[name]
    return pd.Series({k: _plain(k, v) for k, v in row.items()}, name=figure_id, dtype=object)


_NUMBER_FIELDS = frozenset({"value", "value_low", "value_high", "horizon_days"})


def _plain(name: str, value: object) -> object:
    """Plain Python value of a :func:`figure` field: None when missing, float numbers."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return float("nan") if name in _NUMBER_FIELDS else None
    if name in _NUMBER_FIELDS:
        return float(value)  # type: ignore[arg-type]
    if name == "sample_size":
        return int(value)  # type: ignore[call-overload]
    if name == "derived":
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value
    return str(value)
