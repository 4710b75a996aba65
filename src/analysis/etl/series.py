"""One preferred figure per key: the ``series`` table.

The key is platform x target x metric x unit x rate x period (start and end).
Where several figures share a key, the preferred one is chosen by
:data:`PREFERENCE_RULE`, applied step by step; ``chosen_because`` records the
first step that separated the winner from the runner-up.  Alternatives are
counted and listed, never dropped from ``figures``.
"""

from __future__ import annotations

import pandas as pd

from analysis.etl.intervals import significant_digits
from analysis.schema import SERIES, SERIES_KEY

SOURCE_KIND_RANK = {"primary": 0, "secondary_copy": 1, "compilation": 2, "translation": 3}
CHECK_RANK = {"checked": 0, "computed": 0, "unverified": 1}
"""A figure computed by code from hash-checked machine-readable files (``computed``) ranks
with one seen in a stored copy; both beat an unverified one."""
QUALIFIER_RANK = {
    "exact": 0,
    "range": 1,
    "about": 2,
    "at_least": 3,
    "at_most": 3,
    "more_than": 4,
    "less_than": 4,
}

PREFERENCE_RULE: tuple[tuple[str, str], ...] = (
    ("checked", "a figure seen in a stored copy beats an unverified one"),
    ("source_kind", "primary > secondary copy > compilation > translation"),
    ("qualifier", "exact > range > about > at least/at most > more/less than"),
    ("precision", "more significant digits beat fewer (299,649 beats 'nearly 300,000')"),
    ("latest", "a later publication (a revision) beats an earlier one; unknown dates last"),
    ("figure_id", "smallest figure_id, so the choice is deterministic"),
)
"""The written rule, in order.  Each step is a sort key; lower wins."""


def _rank_columns(figures: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    joined = figures.join(sources, on="document_id")
    published = pd.to_datetime(joined["published_date"])
    ranks = pd.DataFrame(index=figures.index)
    ranks["checked"] = joined["check_status"].map(CHECK_RANK)
    ranks["source_kind"] = joined["source_kind"].map(SOURCE_KIND_RANK)
    ranks["qualifier"] = joined["qualifier"].map(QUALIFIER_RANK)
    ranks["precision"] = -joined["value"].map(significant_digits)
    # later first; unknown dates last
    days = (published - pd.Timestamp("1970-01-01")).dt.days
    ranks["latest"] = (-days).fillna(10**9)
    ranks["figure_id"] = joined["figure_id"]
    return ranks.add_prefix("rank_")


def select_series(figures: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """Return the ``series`` table.

    Parameters
    ----------
    figures
        The figures table (as built by :mod:`analysis.etl.build`).
    sources
        ``source_kind`` and ``published_date`` indexed by ``document_id``.
    """
    if figures.empty:
        return pd.DataFrame(columns=SERIES.columns)
    steps = [name for name, _ in PREFERENCE_RULE]
    ranks = _rank_columns(figures, sources)
    rank_columns = [f"rank_{s}" for s in steps]
    ordered = figures.join(ranks).sort_values(rank_columns, kind="mergesort")
    key = list(SERIES_KEY)
    shared = ordered.duplicated(key, keep=False)
    single = ordered[~shared]  # the only figure for its key: no rule to apply
    lone = pd.DataFrame(
        {
            **{c: single[c] for c in key},
            "period_kind": single["period_kind"],
            "is_partial_period": single["is_partial_period"].astype(bool),
            "figure_id": single["figure_id"],
            "value": single["value"],
            "value_low": single["value_low"],
            "value_high": single["value_high"],
            "qualifier": single["qualifier"],
            "per_day": single["per_day"],
            "n_figures": 1,
            "n_alternatives": 0,
            "alternative_figure_ids": None,
            "values_disagree": False,
            "chosen_because": "only figure for this key",
        },
        columns=SERIES.columns,
    )
    records = []
    for _, group in ordered[shared].groupby(key, dropna=False, sort=True):
        best = group.iloc[0]
        others = group.iloc[1:]
        because = "only figure for this key"
        if len(others):
            runner = group.iloc[1]
            for step in steps:
                if best[f"rank_{step}"] != runner[f"rank_{step}"]:
                    because = f"{step}: {dict(PREFERENCE_RULE)[step]}"
                    break
        record = {k: best[k] for k in key}
        record.update(
            {
                "period_kind": best["period_kind"],
                "is_partial_period": bool(best["is_partial_period"]),
                "figure_id": best["figure_id"],
                "value": best["value"],
                "value_low": best["value_low"],
                "value_high": best["value_high"],
                "qualifier": best["qualifier"],
                "per_day": best["per_day"],
                "n_figures": len(group),
                "n_alternatives": len(others),
                "alternative_figure_ids": ";".join(sorted(others["figure_id"])) or None,
                "values_disagree": bool((others["value"] != best["value"]).any()),
                "chosen_because": because,
            }
        )
        records.append(record)
    chosen = pd.DataFrame(records, columns=SERIES.columns)
    if chosen.empty:
        return lone.reset_index(drop=True)
    if lone.empty:
        return chosen
    return pd.concat([lone, chosen], ignore_index=True)
