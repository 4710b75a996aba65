"""Find figures that should agree and do not: the ``conflicts`` table.

Four rules, each documented in the data dictionary:

``same_key``
    Two figures with the same platform, target, metric, unit, rate and period
    but different values (e.g. Instagram Q1 2020: 440,600 against 446,000).
``nested_decrease``
    Two counts with the same start where the longer period has the smaller
    value (a count cannot shrink as its period grows; e.g. Telegram December
    2016: 2,118 "and counting" by 28 December against 2,013 for the month).
``month_to_date_differs``
    Two month-to-date counts of the same month from different documents differ
    (e.g. Telegram December 2016: 2,013 in MEMRI's copy against 2,118 "and
    counting" in Windows Latest's).  ``compatible_within_qualifiers`` is true when
    the later snapshot is the larger one, i.e. the two may be successive readings.
``sum_vs_total``
    Figures of one document whose periods tile another figure's period
    exactly do not add up to it (e.g. the Fars 2017 monthly values against
    the stated nine-month total).

``documented``
    Pairs no rule can pair, written down by a person in ``data/raw/documented_conflicts.csv``
    with a description: different wording of the same event ("referred" against "taken
    down"), overlapping releases, rates that do not fit a total.

Every conflict carries the relative difference and whether the intervals
implied by the qualifiers and the rounding overlap
(``compatible_within_qualifiers``).  Nothing is resolved here.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pandas as pd

from analysis.etl.intervals import figure_interval, intervals_overlap
from analysis.etl.raw import read_rows
from analysis.schema import CONFLICTS, SERIES_KEY

COUNT_GROUP = ("platform", "target", "metric", "subset", "unit")


def _interval(row: pd.Series) -> tuple[float, float]:
    low = None if pd.isna(row["value_low"]) else float(row["value_low"])
    high = None if pd.isna(row["value_high"]) else float(row["value_high"])
    return figure_interval(float(row["value"]), str(row["qualifier"]), low, high)


def _period(row: pd.Series) -> str:
    return f"{row['period_start'].isoformat()}/{row['period_end'].isoformat()}"


def _relative_difference(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def _record(
    kind: str,
    a: pd.Series,
    b_ids: str,
    b_period: str,
    b_value: float,
    compatible: bool,
    description: str,
) -> dict:
    return {
        "conflict_id": f"{kind}:{a['figure_id']}:{b_ids}",
        "kind": kind,
        "platform": a["platform"],
        "target": a["target"],
        "metric": a["metric"],
        "figure_id_a": a["figure_id"],
        "figure_id_b": b_ids,
        "period_a": _period(a),
        "period_b": b_period,
        "value_a": float(a["value"]),
        "value_b": float(b_value),
        "relative_difference": _relative_difference(float(a["value"]), float(b_value)),
        "compatible_within_qualifiers": bool(compatible),
        "description": description,
    }


def _shared(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Rows whose ``key`` another row shares (a key held once cannot conflict): keeps the
    rules fast when thousands of daily figures (a DSA export) have a key each."""
    return frame[frame.duplicated(key, keep=False)]


def _same_key(figures: pd.DataFrame) -> list[dict]:
    out = []
    key = list(SERIES_KEY)
    for _, group in _shared(figures, key).groupby(key, dropna=False, sort=False):
        rows = [r for _, r in group.sort_values("figure_id").iterrows()]
        for a, b in itertools.combinations(rows, 2):
            if a["value"] == b["value"] and a["qualifier"] == b["qualifier"]:
                continue
            out.append(
                _record(
                    "same_key",
                    a,
                    b["figure_id"],
                    _period(b),
                    b["value"],
                    intervals_overlap(_interval(a), _interval(b)),
                    f"{a['figure_id']} says {a['value_text']!r}, {b['figure_id']} says "
                    f"{b['value_text']!r} for the same {a['metric']} and period",
                )
            )
    return out


def _cumulative_counts(figures: pd.DataFrame) -> pd.DataFrame:
    keep = (
        (figures["unit"] == "count")
        & figures["rate_per"].isna()
        & (figures["period_kind"] != "snapshot")
    )
    return figures[keep]


def _nested_decrease(counts: pd.DataFrame) -> list[dict]:
    out = []
    key = list(COUNT_GROUP) + ["period_start"]
    for _, group in _shared(counts, key).groupby(key, dropna=False, sort=False):
        rows = [r for _, r in group.sort_values(["period_end", "figure_id"]).iterrows()]
        for short, long in itertools.combinations(rows, 2):
            if short["period_end"] >= long["period_end"] or short["value"] <= long["value"]:
                continue
            low_short = _interval(short)[0]
            high_long = _interval(long)[1]
            out.append(
                _record(
                    "nested_decrease",
                    long,
                    short["figure_id"],
                    _period(short),
                    short["value"],
                    low_short <= high_long,
                    f"{long['figure_id']} ({long['value_text']!r} to {long['period_end']}) is "
                    f"smaller than {short['figure_id']} ({short['value_text']!r} to "
                    f"{short['period_end']}) over a shorter period with the same start",
                )
            )
    return out


def _month_to_date(counts: pd.DataFrame) -> list[dict]:
    out = []
    mtd = counts[counts["period_kind"] == "to_date"]
    for _, group in mtd.groupby(list(COUNT_GROUP) + ["period_start"], dropna=False, sort=False):
        rows = [r for _, r in group.sort_values(["period_end", "figure_id"]).iterrows()]
        for a, b in itertools.combinations(rows, 2):
            same_month = (
                a["period_start"].day == 1
                and a["period_end"].replace(day=1) == a["period_start"]
                and b["period_end"].replace(day=1) == a["period_start"]
            )
            if not same_month or a["document_id"] == b["document_id"] or a["value"] == b["value"]:
                continue
            out.append(
                _record(
                    "month_to_date_differs",
                    b,
                    a["figure_id"],
                    _period(a),
                    a["value"],
                    b["value"] >= a["value"],
                    f"month-to-date counts of the same month differ: {b['figure_id']} "
                    f"({b['value_text']!r} to {b['period_end']}) and {a['figure_id']} "
                    f"({a['value_text']!r} to {a['period_end']})",
                )
            )
    return out


def _tilings(total: pd.Series, parts: pd.DataFrame) -> list[pd.DataFrame]:
    """All chains of ``parts`` that cover the period of ``total`` exactly, without overlap."""
    start, end = total["period_start"], total["period_end"]
    inside = parts[(parts["period_start"] >= start) & (parts["period_end"] <= end)]
    inside = inside[~((inside["period_start"] == start) & (inside["period_end"] == end))]
    by_start: dict[dt.date, list[pd.Series]] = {}
    for _, row in inside.sort_values("figure_id").iterrows():
        by_start.setdefault(row["period_start"], []).append(row)
    chains: list[pd.DataFrame] = []

    def extend(cursor: dt.date, chain: list[pd.Series]) -> None:
        if len(chains) >= 10:
            return
        for row in by_start.get(cursor, []):
            new = chain + [row]
            if row["period_end"] == end:
                if len(new) >= 2:
                    chains.append(pd.DataFrame(new))
            else:
                extend(row["period_end"] + dt.timedelta(days=1), new)

    extend(start, [])
    return chains


def _sum_vs_total(counts: pd.DataFrame) -> list[dict]:
    out = []
    for _, group in counts.groupby(list(COUNT_GROUP) + ["document_id"], dropna=False, sort=False):
        if len(group) < 3:
            continue
        # a one-day total cannot be tiled by two or more parts: skip it (fast for daily rows)
        totals = group[group["period_end"] > group["period_start"]]
        for _, total in totals.sort_values("figure_id").iterrows():
            for chain in _tilings(total, group):
                ids = ";".join(chain["figure_id"])
                intervals = [_interval(r) for _, r in chain.iterrows()]
                parts_low = sum(i[0] for i in intervals)
                parts_high = sum(i[1] for i in intervals)
                parts_sum = float(chain["value"].sum())
                if parts_sum == float(total["value"]):
                    continue
                out.append(
                    _record(
                        "sum_vs_total",
                        total,
                        ids,
                        f"{chain['period_start'].min().isoformat()}/"
                        f"{chain['period_end'].max().isoformat()}",
                        parts_sum,
                        intervals_overlap(_interval(total), (parts_low, parts_high)),
                        f"{len(chain)} figures tiling the period of {total['figure_id']} sum to "
                        f"{parts_sum:,.0f} (derived), against a stated {total['value_text']!r}",
                    )
                )
    return out


DOCUMENTED_COLUMNS = ("figure_id_a", "figure_id_b", "description")


def documented_conflicts(path: Path, figures: pd.DataFrame) -> list[dict]:
    """Conflicts listed by hand in ``documented_conflicts.csv`` (none when the file is absent).

    Raises
    ------
    RawDataError
        If a row names an unknown figure, the same figure twice, or has no description.
    """
    if not path.is_file():
        return []
    by_id = figures.set_index("figure_id", drop=False)
    out = []
    for row in read_rows(path, DOCUMENTED_COLUMNS, DOCUMENTED_COLUMNS):
        a_id, b_id = row.get("figure_id_a"), row.get("figure_id_b")
        for column, figure_id in (("figure_id_a", a_id), ("figure_id_b", b_id)):
            if figure_id not in by_id.index:
                raise row.fail(column, "the figure_id of a row in a figures.csv")
        if a_id == b_id:
            raise row.fail("figure_id_b", "a different figure from figure_id_a")
        a, b = by_id.loc[a_id], by_id.loc[b_id]
        same_scale = a["unit"] == b["unit"] and (
            (pd.isna(a["rate_per"]) and pd.isna(b["rate_per"])) or a["rate_per"] == b["rate_per"]
        )
        # values on different scales (a monthly rate against a yearly total) are not compared
        compatible = same_scale and intervals_overlap(_interval(a), _interval(b))
        out.append(
            _record(
                "documented", a, b_id, _period(b), b["value"], compatible, row.get("description")
            )
        )
    return out


def find_conflicts(figures: pd.DataFrame, documented: Path | None = None) -> pd.DataFrame:
    """Return the ``conflicts`` table for ``figures`` (see the module docstring).

    ``documented`` is the path of ``documented_conflicts.csv``, if any.
    """
    if figures.empty:
        return pd.DataFrame(columns=CONFLICTS.columns)
    counts = _cumulative_counts(figures)
    records = (
        _same_key(figures)
        + _nested_decrease(counts)
        + _month_to_date(counts)
        + _sum_vs_total(counts)
        + (documented_conflicts(documented, figures) if documented is not None else [])
    )
    frame = pd.DataFrame(records, columns=CONFLICTS.columns)
    return frame.drop_duplicates("conflict_id").reset_index(drop=True)
