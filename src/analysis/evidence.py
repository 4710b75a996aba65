"""The published evidence on account and channel dynamics, put on one time axis.

Helpers of notebook ``06_published_evidence``: they turn rows of the ``study_results`` table
(:func:`analysis.load.study_results`) into

* :func:`removal_points`: "share removed by day t" points, with the sample size behind each
  (published, or derived by :mod:`analysis.etl.studies`), exact binomial intervals and the
  direction of a one-sided value ("more than 30 %");
* :func:`lifetime_marks`: mean and median lifetimes on the same axis;
* :func:`recreation_pairs`: accounts created against accounts removed in the same period;
* :func:`fit_points`: the input of :func:`analysis.models.published_points.fit_published_points`
  for one cohort.

Every row keeps the figure ids it comes from (``figure_ids``), so every point drawn is
traceable to ``data/raw``.  What a point means is in ``kind``: ``within`` (removed within t
days of creation), ``window`` (removed by the end of a study window of t days: accounts
entered at different times, so this is at most the share removed within t days of creation),
``median`` (a median lifetime below t: more than half gone by t), ``active_after`` (a share
still active after t, drawn as 1 minus it), ``estimate`` (an authors' estimate, not a measured
share).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "ERAS",
    "era_of",
    "fit_points",
    "lifetime_marks",
    "recreation_pairs",
    "removal_points",
]

ERAS = {
    "Twitter 2014-2017": ("twitter", 2014, 2017),
    "Telegram 2018-2020": ("telegram", 2018, 2020),
    "TamTam 2019": ("tamtam", 2019, 2019),
    "Mainstream platforms 2022": ("multiple", 2021, 2023),
}
"""Platform and era labels of the figure legend: (platform, first year, last year)."""


def era_of(platform: str, year: int) -> str:
    """Label of :data:`ERAS` holding ``platform`` in ``year`` (``"<platform> <year>"`` else)."""
    for label, (p, first, last) in ERAS.items():
        if p == platform and first <= year <= last:
            return label
    return f"{platform} {year}"


def _ids(row: pd.Series) -> str:
    if bool(row["derived"]):
        return str(row["derived_from"])
    return str(row["figure_id"])


def _sample_sizes(study: pd.DataFrame) -> pd.DataFrame:
    """Cohort sizes: accounts_studied / channels_studied rows by (document, cohort)."""
    sizes = study[study["metric"].isin(["accounts_studied", "channels_studied"])]
    return sizes.assign(key=sizes["document_id"].astype(str) + "|" + sizes["cohort"].astype(str))


def _n_for(row: pd.Series, sizes: pd.DataFrame) -> tuple[float, str]:
    """The sample size of a share and where it comes from ('' when unknown)."""
    if not pd.isna(row["sample_size"]):
        return float(row["sample_size"]), str(row["figure_id"])
    hit = sizes[sizes["key"] == f"{row['document_id']}|{row['cohort']}"]
    if hit.empty:
        return float("nan"), ""
    best = hit.iloc[0]
    return float(best["value"]), _ids(best)


def clopper_pearson(share: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval of a share of ``n`` (``nan`` bounds when ``n`` is unknown)."""
    if not np.isfinite(n) or n <= 0:
        return float("nan"), float("nan")
    k = int(round(share * n))
    ci = stats.binomtest(k, int(round(n))).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def removal_points(study: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Share removed by day t, one row per study result that says it.

    Returns
    -------
    DataFrame
        ``figure_id, figure_ids, study, platform, era, cohort, kind, horizon_days, share``
        (0-1), ``bound`` (``lower``: the true share is above, ``upper``: below, ``None``),
        ``n``, ``n_from`` (figure ids of the sample size), ``ci_low, ci_high`` (exact
        binomial, ``level``; for a bound, the interval of the bound itself), ``denominator``.
        Shares whose horizon is unknown (no horizon and a one-day period) are left out.
    """
    sizes = _sample_sizes(study)
    rows = []
    for _, r in study.iterrows():
        metric = str(r["metric"])
        value = float(r["value"])
        qualifier = str(r["qualifier"])
        bound = {
            "more_than": "lower",
            "at_least": "lower",
            "less_than": "upper",
            "at_most": "upper",
        }.get(qualifier)
        horizon = r["horizon_days"]
        if metric == "share_suspended_within":
            kind, share = "within", value / 100
        elif metric == "share_suspended":
            kind, share = (
                ("estimate" if str(r["subset"]) == "authors_estimate" else "window"),
                value / 100,
            )
            if pd.isna(horizon):
                days = (r["period_end"] - r["period_start"]).days + 1
                if days <= 1:
                    continue  # horizon unknown: not on the time axis
                horizon = float(days)
        elif metric == "share_active_after":
            kind, share = "active_after", 1 - value / 100
            bound = {"lower": "upper", "upper": "lower"}.get(bound or "")
        elif metric == "median_lifetime":
            kind, share, horizon = "median", 0.5, value
            bound = "lower" if qualifier in ("less_than", "at_most") else None
            if str(r["unit"]) == "hours":
                horizon = value / 24
        else:
            continue
        n, n_from = _n_for(r, sizes)
        low, high = clopper_pearson(share, n, level)
        rows.append(
            {
                "figure_id": r["figure_id"],
                "figure_ids": _ids(r),
                "study": r["study"],
                "platform": str(r["platform"]),
                "era": era_of(str(r["platform"]), r["period_start"].year),
                "cohort": r["cohort"],
                "kind": kind,
                "horizon_days": float(horizon),
                "share": share,
                "bound": bound,
                "n": n,
                "n_from": n_from,
                "ci_low": low,
                "ci_high": high,
                "denominator": None if pd.isna(r["denominator"]) else str(r["denominator"]),
            }
        )
    return pd.DataFrame(rows)


def lifetime_marks(study: pd.DataFrame) -> pd.DataFrame:
    """Mean and median lifetimes in days: ``figure_id, study, era, cohort, metric, days,
    bound, n``."""
    marks = study[study["metric"].isin(["mean_lifespan", "median_lifetime"])]
    rows = []
    for _, r in marks.iterrows():
        factor = {"days": 1.0, "hours": 1 / 24, "minutes": 1 / 1440}[str(r["unit"])]
        rows.append(
            {
                "figure_id": r["figure_id"],
                "study": r["study"],
                "era": era_of(str(r["platform"]), r["period_start"].year),
                "cohort": r["cohort"],
                "metric": str(r["metric"]),
                "days": float(r["value"]) * factor,
                "bound": {"less_than": "upper", "more_than": "lower"}.get(str(r["qualifier"])),
                "n": float(r["sample_size"]) if not pd.isna(r["sample_size"]) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def recreation_pairs(study: pd.DataFrame) -> pd.DataFrame:
    """Accounts (or channels) created against those removed, same document and period.

    ``ratio`` = created / removed is derived here (not a published number); ``ratio_bound``
    says which way the qualifiers push it ("at least 2,000" created: the ratio is a lower
    bound; "over 26,000" removed: an upper bound; both: unknown direction, ``None``).
    """
    created = study[study["metric"].isin(["accounts_created", "channels_created"])]
    removed = study[study["metric"].isin(["accounts_suspended", "channels_closed"])]
    rows = []
    for _, c in created.iterrows():
        same = removed[
            (removed["document_id"] == c["document_id"])
            & (removed["period_start"] == c["period_start"])
            & (removed["period_end"] == c["period_end"])
        ]
        for _, r in same.iterrows():
            up_c = str(c["qualifier"]) in ("more_than", "at_least")
            up_r = str(r["qualifier"]) in ("more_than", "at_least")
            bound = None if up_c and up_r else "lower" if up_c else "upper" if up_r else "exact"
            rows.append(
                {
                    "figure_ids": f"{c['figure_id']};{r['figure_id']}",
                    "study": c["study"],
                    "era": era_of(str(c["platform"]), c["period_start"].year),
                    "period_start": c["period_start"],
                    "created": float(c["value"]),
                    "removed": float(r["value"]),
                    "created_qualifier": str(c["qualifier"]),
                    "removed_qualifier": str(r["qualifier"]),
                    "ratio": float(c["value"]) / float(r["value"]),
                    "ratio_bound": bound,
                }
            )
    return pd.DataFrame(rows)


def fit_points(
    points: pd.DataFrame,
    cohort: str,
    kinds: tuple[str, ...] = ("within", "window"),
    n: float | None = None,
) -> pd.DataFrame:
    """Input of :func:`~analysis.models.published_points.fit_published_points` for a cohort.

    Bounds are used at their value (">30 %" as 30 %: the fit is then conservative in that
    direction); a ``window`` point is used as if it were a point at t (it is at most the
    share removed within t of creation, see the module docstring).  ``n`` overrides the
    sample size (one cohort needs one ``n``).

    Raises
    ------
    ValueError
        If the cohort has no point of ``kinds`` or no sample size.
    """
    rows = points[(points["cohort"] == cohort) & points["kind"].isin(kinds)]
    if rows.empty:
        raise ValueError(f"no points of kinds {kinds} for cohort {cohort!r}")
    size = float(n) if n is not None else float(rows["n"].max())
    if not np.isfinite(size):
        raise ValueError(f"cohort {cohort!r} has no sample size; pass n=")
    return pd.DataFrame(
        {
            "horizon_days": rows["horizon_days"].to_numpy(),
            "share": rows["share"].to_numpy(),
            "n": size,
            "cohort": cohort,
        }
    ).sort_values("horizon_days", ignore_index=True)
