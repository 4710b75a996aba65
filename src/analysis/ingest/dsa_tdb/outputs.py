"""From the three aggregates to the published outputs: completeness, delay quantiles, files.

Both engines hand over the same three aggregates (``daily``, ``delay``, ``filing``; see
:mod:`.query`); everything here is shared, so the outputs cannot drift between engines.

Completeness of recent days
---------------------------
A day's dump holds the statements *filed* (``created_at``) that day, and a decision can be
filed days after it was taken (``filing_lag_days``). The count for decision day ``d`` is
therefore final only once every dump up to ``d + L`` is in, where ``L`` is the longest
filing lag. For each platform the empirical distribution of filing lags (from decision days
at least ``LAG_WINDOW_DAYS`` before the last dump, where lags up to that window are fully
observable) gives ``share_filed``: the expected share of day ``d``'s statements already in
the data; a day with ``share_filed < 0.99`` or a missing dump inside ``[d, d + L99]`` is
flagged ``partial``.

Delays: what the survival table means
-------------------------------------
Every statement is a decision, so each delay (content posted -> decision) is an observed
event time: nothing is censored. The data are *right-truncated* instead: content posted on day
``c`` can only appear with a delay of at most ``last_dump_day - c`` (``truncation_days``), and
content that was never actioned never appears. Read the quantiles as "among terrorist
content actioned by the last dump"; use ``truncation_days`` with a truncation-aware
estimator to go beyond that.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

PARTIAL_THRESHOLD = 0.99
LAG_WINDOW_DAYS = 30
MIN_LAG_STATEMENTS = 200
"""Platforms with fewer statements than this use the filing lags of all platforms pooled."""


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _cdf(rows: pd.DataFrame, cutoff: str) -> pd.Series | None:
    old = rows[rows["decision_day"] <= cutoff]
    use = old if old["statements"].sum() > 0 else rows
    counts = use.groupby("filing_lag_days")["statements"].sum().sort_index()
    counts = counts[counts.index >= 0]
    if counts.sum() == 0:
        return None
    return counts.cumsum() / counts.sum()


def filing_lag_cdf(filing: pd.DataFrame, last_dump: date) -> dict[str, pd.Series]:
    """Per platform: cumulative share of statements filed within k days of the decision.

    Estimated from decision days at least ``LAG_WINDOW_DAYS`` before the last dump when there
    are any (else from all days: then long lags are under-represented); platforms with fewer
    than ``MIN_LAG_STATEMENTS`` statements get the pooled distribution of all platforms.
    """
    cutoff = (last_dump - timedelta(days=LAG_WINDOW_DAYS)).isoformat()
    pooled = _cdf(filing, cutoff)
    out: dict[str, pd.Series] = {}
    for platform, rows in filing.groupby("platform", sort=True):
        own = _cdf(rows, cutoff) if rows["statements"].sum() >= MIN_LAG_STATEMENTS else None
        chosen = own if own is not None else pooled
        if chosen is not None:
            out[str(platform)] = chosen
    return out


def completeness(
    daily: pd.DataFrame,
    filing: pd.DataFrame,
    dump_days: list[date],
) -> pd.DataFrame:
    """``share_filed`` and ``partial`` per (decision_day, platform)."""
    if daily.empty:
        return pd.DataFrame(
            columns=["decision_day", "platform", "share_filed", "partial", "missing_dumps"]
        )
    last = max(dump_days)
    have = {d.isoformat() for d in dump_days}
    cdfs = filing_lag_cdf(filing, last)
    keys = (
        daily[["decision_day", "platform"]]
        .drop_duplicates()
        .sort_values(["decision_day", "platform"])
    )
    shares, partial, missing = [], [], []
    for decision_day, platform in keys.itertuples(index=False):
        cdf = cdfs.get(str(platform))
        elapsed = (last - _day(decision_day)).days
        if cdf is None or cdf.empty:
            share, horizon = np.nan, 0
        else:
            below = cdf[cdf.index <= elapsed]
            share = float(below.iloc[-1]) if len(below) else 0.0
            reach = cdf[cdf >= PARTIAL_THRESHOLD]
            horizon = int(reach.index[0]) if len(reach) else int(cdf.index[-1])
        gaps = [
            (_day(decision_day) + timedelta(days=k)).isoformat()
            for k in range(min(horizon, elapsed) + 1)
        ]
        n_missing = sum(1 for g in gaps if g not in have)
        shares.append(share)
        missing.append(n_missing)
        partial.append(bool(n_missing > 0 or not (share >= PARTIAL_THRESHOLD)))
    keys = keys.assign(share_filed=shares, partial=partial, missing_dumps=missing)
    return keys.reset_index(drop=True)


def delay_quantiles(delay: pd.DataFrame) -> pd.DataFrame:
    """Per platform and decision month: n, median, 90th and 99th percentile of the delay.

    Quantiles of whole-day delays are exact order statistics (``inverted_cdf``: the smallest
    delay whose cumulative share reaches q). Negative delays (decision dated before the
    content: an error in the filing) are counted in ``negative_delays`` and left out.
    """
    rows = delay.dropna(subset=["delay_days"]).copy()
    columns = [
        "platform",
        "decision_month",
        "statements",
        "negative_delays",
        "share_same_day",
        "median_days",
        "p90_days",
        "p99_days",
    ]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows["delay_days"] = rows["delay_days"].astype("int64")
    decision = pd.to_datetime(rows["content_day"]) + pd.to_timedelta(rows["delay_days"], "D")
    rows["decision_month"] = decision.dt.strftime("%Y-%m")
    out = []
    for (platform, month), group in rows.groupby(["platform", "decision_month"], sort=True):
        negative = int(group.loc[group["delay_days"] < 0, "statements"].sum())
        ok = group[group["delay_days"] >= 0]
        counts = ok.groupby("delay_days")["statements"].sum().sort_index()
        n = int(counts.sum())
        record = {
            "platform": platform,
            "decision_month": month,
            "statements": n,
            "negative_delays": negative,
        }
        if n:
            share = counts.cumsum() / n
            for label, q in (("median_days", 0.5), ("p90_days", 0.9), ("p99_days", 0.99)):
                record[label] = int(share.index[np.argmax(share.to_numpy() >= q - 1e-12)])
            record["share_same_day"] = float(counts.get(0, 0) / n)
        else:
            record |= {"median_days": None, "p90_days": None, "p99_days": None}
            record["share_same_day"] = None
        out.append(record)
    return pd.DataFrame(out, columns=columns)


def survival_table(delay: pd.DataFrame, last_dump: date) -> pd.DataFrame:
    """Grouped event times for the survival models: one row per (platform, content_day,
    delay_days) with its count, ``event`` = 1 (every row is an observed removal) and
    ``truncation_days`` (the largest delay that could have been observed)."""
    rows = delay.dropna(subset=["delay_days", "content_day"]).copy()
    rows = rows[rows["delay_days"] >= 0]
    rows["delay_days"] = rows["delay_days"].astype("int64")
    rows["event"] = 1
    rows["truncation_days"] = [(last_dump - _day(c)).days for c in rows["content_day"]]
    return rows.sort_values(["platform", "content_day", "delay_days"]).reset_index(drop=True)
