"""Study results: the published measurements of account and channel dynamics.

A figure is a *study result* when its ``figures.csv`` row fills the optional ``study`` column
(the family ``studies`` must fill it on every row).  Four more optional columns hold what a
survival point needs as fields rather than prose:

``cohort``
    the group the number describes, as the study defines it (required with ``study``);
``horizon_text``
    the horizon as written ("two days", "three months", "30 days"); :func:`parse_horizon`
    turns it into ``horizon_days``.  Required for ``share_suspended_within``;
``sample_size``
    the number of accounts or channels in the cohort, as published (digits only);
``denominator``
    for shares: ``cohort``, ``removed_only`` or ``unclear`` (:data:`analysis.vocab.DENOMINATORS`).

:func:`build_study_results` joins these fields to the parsed figure and its document, adds the
rows :data:`DERIVED` computes from other rows (marked ``derived``; their numbers are never typed
into ``data/raw``) and the ids of the conflicts naming each figure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from analysis import schema, vocab
from analysis.errors import RawDataError
from analysis.etl.quantities import NUMBER_WORDS
from analysis.etl.raw import RawRow

STUDY_COLUMNS = ("study", "cohort", "horizon_text", "sample_size", "denominator")
"""Optional ``figures.csv`` columns of study results (see ``data/raw/README.md``)."""
STUDY_FAMILIES = frozenset({"studies"})
"""Families every row of which must be a study result."""
SHARE_METRICS = frozenset(
    {"share_suspended_within", "share_suspended", "share_suspended_per_day", "share_active_after"}
)
"""Shares: they need a ``denominator``."""
HORIZON_METRICS = frozenset({"share_suspended_within", "share_active_after"})
"""Survival points: they need a horizon."""
DAYS_PER_UNIT = {
    "minute": 1 / 1440,
    "hour": 1 / 24,
    "day": 1.0,
    "week": 7.0,
    "month": 365.25 / 12,
    "year": 365.25,
}
"""Days per horizon unit: a month is 30.4375 days and a year 365.25 (calendar averages)."""
_HORIZON = re.compile(
    r"^(?:within\s+)?(?:(?:just|about|around)\s+)?(?P<n>\d+(?:\.\d+)?|an?|one|"
    + "|".join(NUMBER_WORDS)
    + r")\s+(?P<unit>minute|hour|day|week|month|year)s?$"
)


def parse_horizon(text: str) -> float:
    """Return the horizon ``text`` ("two days", "within 3 months", "30 days") in days.

    Raises
    ------
    ValueError
        If the text is not a number (digits or a number word up to twenty) and a unit
        (minutes, hours, days, weeks, months, years).
    """
    match = _HORIZON.match(re.sub(r"\s+", " ", text.strip().lower()))
    if match is None:
        raise ValueError(text)
    n_text = match.group("n")
    n = 1.0 if n_text in ("a", "an", "one") else float(NUMBER_WORDS.get(n_text, n_text))
    if n <= 0:
        raise ValueError(text)
    return n * DAYS_PER_UNIT[match.group("unit")]


def study_fields(row: RawRow, family: str, metric: str, unit: str) -> dict | None:
    """Check and return the study columns of a figure row (None when it is no study result).

    Raises
    ------
    RawDataError
        Naming the file, line and column: a study-only column without ``study``, a row of a
        study family without ``study``, a missing cohort, horizon or denominator, an
        unreadable horizon or sample size.
    """
    study = row.get("study")
    if not study:
        if family in STUDY_FAMILIES:
            raise row.fail("study", f"the study's short citation (every row of {family!r})")
        for column in STUDY_COLUMNS[1:]:
            if row.get(column):
                raise row.fail("study", f"the study's short citation (needed with {column})")
        return None
    if not row.get("cohort"):
        raise row.fail("cohort", "the cohort the number describes (with study)")
    horizon_text = row.get("horizon_text") or None
    horizon_days = None
    if horizon_text is not None:
        try:
            horizon_days = parse_horizon(horizon_text)
        except ValueError:
            raise row.fail(
                "horizon_text", "a horizon such as 'two days', 'within 3 months', '30 days'"
            ) from None
    elif metric in HORIZON_METRICS:
        raise row.fail("horizon_text", f"the horizon ('two days') of a {metric} point")
    size_text = row.get("sample_size")
    sample_size = None
    if size_text:
        digits = size_text.replace(",", "")
        if not re.fullmatch(r"[1-9]\d*", digits):
            raise row.fail("sample_size", "a whole number of accounts or channels (e.g. 451)")
        sample_size = int(digits)
    denominator = row.get("denominator") or None
    if denominator is not None:
        if denominator not in vocab.DENOMINATORS:
            raise row.fail("denominator", f"one of: {', '.join(sorted(vocab.DENOMINATORS))}")
        if unit != "percent":
            raise row.fail("denominator", "empty for a value that is not a share (percent)")
    elif metric in SHARE_METRICS:
        raise row.fail(
            "denominator", f"of whom the share is taken: {', '.join(vocab.DENOMINATORS)}"
        )
    return {
        "study": study,
        "cohort": row.get("cohort"),
        "horizon_text": horizon_text,
        "horizon_days": horizon_days,
        "sample_size": sample_size,
        "denominator": denominator,
    }


@dataclass(frozen=True)
class Derived:
    """A study result computed from other figures (never typed into ``data/raw``).

    ``compute(values)`` gets ``{figure_id: (value, value_low, value_high)}`` of ``sources``
    and returns ``(value, low, high)``; ``template`` is the source row whose study, cohort,
    platform, target, document and period the derived row keeps, with ``changes`` applied.
    """

    figure_id: str
    sources: tuple[str, ...]
    template: str
    compute: Callable[[dict[str, tuple[float, float, float]]], tuple[float, float, float]]
    derivation: str
    changes: tuple[tuple[str, object], ...] = ()


def _ratio_of_count_to_share(count_id: str, share_id: str):
    def compute(v: dict[str, tuple[float, float, float]]) -> tuple[float, float, float]:
        count, share = v[count_id][0], v[share_id]
        # a share printed as a whole percent is within half a point (rounding)
        return (
            count / (share[0] / 100),
            count / ((share[0] + 0.5) / 100),
            count / ((share[0] - 0.5) / 100),
        )

    return compute


def _share_of(part_id: str, whole_id: str):
    def compute(v: dict[str, tuple[float, float, float]]) -> tuple[float, float, float]:
        share = 100 * v[part_id][0] / v[whole_id][0]
        return share, share, share

    return compute


DERIVED: tuple[Derived, ...] = (
    Derived(
        "ST03-is-sample-derived",
        ("ST03-is-suspended", "ST03-is-share"),
        "ST03-is-suspended",
        _ratio_of_count_to_share("ST03-is-suspended", "ST03-is-share"),
        "accounts monitored = 455 suspended / 63 percent; bounds from 62.5-63.5 percent "
        "(a whole percent is rounded)",
        (
            ("metric", "accounts_studied"),
            ("qualifier", "about"),
            ("horizon_text", None),
            ("horizon_days", None),
        ),
    ),
    Derived(
        "ST03-other-share-derived",
        ("ST03-other-suspended", "ST03-other-sample"),
        "ST03-other-suspended",
        _share_of("ST03-other-suspended", "ST03-other-sample"),
        "share suspended = 100 x 163 eventually suspended / 451 other jihadist accounts",
        (
            ("metric", "share_suspended"),
            ("unit", "percent"),
            ("denominator", "cohort"),
            ("sample_size", 451),
        ),
    ),
    Derived(
        "ST12-share-derived",
        ("ST12-blocked", "ST12-found"),
        "ST12-blocked",
        _share_of("ST12-blocked", "ST12-found"),
        "share blocked = 100 x 128 blocked by 3 December / 165 channels found",
        (
            ("metric", "share_suspended"),
            ("unit", "percent"),
            ("denominator", "cohort"),
            ("sample_size", 165),
        ),
    ),
)
"""Derived study results (all arithmetic on published numbers lives here)."""


def _derived_rows(base: pd.DataFrame) -> list[dict]:
    by_id = base.set_index("figure_id", drop=False)
    rows = []
    for spec in DERIVED:
        wanted = (*spec.sources, spec.template)
        missing = sorted(set(wanted) - set(by_id.index))
        if len(missing) == len(set(wanted)):
            continue  # none of its sources in this tree (a partial raw tree, e.g. in tests)
        if missing:
            raise RawDataError(
                None,
                None,
                "figure_id",
                missing[0],
                f"the figures {spec.figure_id} is derived from (analysis.etl.studies.DERIVED)",
            )
        values = {
            s: tuple(
                float(by_id.at[s, c]) if not pd.isna(by_id.at[s, c]) else math.nan
                for c in ("value", "value_low", "value_high")
            )
            for s in spec.sources
        }
        value, low, high = spec.compute(values)
        row = by_id.loc[spec.template].to_dict()
        row.update(dict(spec.changes))
        row.update(
            figure_id=spec.figure_id,
            value=float(value),
            value_low=float(low),
            value_high=float(high),
            rate_per=None,
            subset=None,
            derived=True,
            derived_from=";".join(spec.sources),
            derivation=spec.derivation,
            quote=None,
            check_status="checked",
            notes="Derived by analysis.etl.studies from the figures in derived_from; "
            "not a published number.",
        )
        rows.append(row)
    return rows


def build_study_results(
    figures: pd.DataFrame,
    fields: dict[str, dict],
    documents: pd.DataFrame,
    conflicts: pd.DataFrame,
) -> pd.DataFrame:
    """Return the ``study_results`` table.

    Parameters
    ----------
    figures
        The parsed figures table.
    fields
        ``{figure_id: study fields}`` from :func:`study_fields` (study results only).
    documents
        The documents table (url, source kind).
    conflicts
        The conflicts table (ids naming each figure are listed in ``conflict_ids``).
    """
    columns = schema.STUDY_RESULTS.columns
    if not fields:
        return pd.DataFrame(columns=columns)
    base = figures[figures["figure_id"].isin(list(fields))].copy()
    extra = pd.DataFrame.from_dict(fields, orient="index")
    extra.index.name = "figure_id"
    base = base.merge(extra.reset_index(), on="figure_id", how="left", validate="one_to_one")
    docs = documents.set_index("document_id")
    base["url"] = base["document_id"].map(docs["url"])
    base["source_kind"] = base["document_id"].map(docs["source_kind"])
    base["derived"] = False
    base["derived_from"] = None
    base["derivation"] = None
    frame = pd.concat([base, pd.DataFrame(_derived_rows(base))], ignore_index=True)
    named: dict[str, list[str]] = {}
    for _, c in conflicts.iterrows():
        ids = {c["figure_id_a"], *str(c["figure_id_b"]).split(";")}
        for figure_id in ids:
            named.setdefault(figure_id, []).append(c["conflict_id"])
    frame["conflict_ids"] = [
        ";".join(sorted(named[f])) if f in named else None for f in frame["figure_id"]
    ]
    return frame.reindex(columns=columns)
