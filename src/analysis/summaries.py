"""Small tables and numbers the notebooks plot and quote.

Everything a notebook computes beyond plotting lives here, so the notebooks stay thin and
these summaries can be tested and reused by report authors.  Inputs are the DataFrames of
:mod:`analysis.load`; outputs are DataFrames or plain ``dict`` s ready for
:func:`analysis.reports.write_numbers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis import vocab

if TYPE_CHECKING:
    from analysis.models.catmouse import CatMouseModel

COMPLETE_PERIOD_KINDS = ("day", "week", "month", "quarter", "half_year", "year")
"""Calendar periods; ``to_date`` (partial) counts are added on request."""

LOWER_BOUND_QUALIFIERS = ("more_than", "at_least")
UPPER_BOUND_QUALIFIERS = ("less_than", "at_most")


def _str(series: pd.Series) -> pd.Series:
    return series.astype("string")


def dataset_overview(
    figures: pd.DataFrame, documents: pd.DataFrame, conflicts: pd.DataFrame
) -> dict[str, object]:
    """Headline counts a reader must know before citing a number.

    Returns
    -------
    dict
        ``n_figures``, ``n_documents``, ``n_platforms``, ``n_originators``, first and last
        year covered, share of figures from primary documents, share checked against a
        stored copy, share with a qualifier other than exact, share of partial periods, number
        of figures that are lower bounds, number of conflicts and of conflicts not explained
        by the qualifiers, the largest relative difference among those.
    """
    docs = documents.set_index("document_id")
    kind = _str(figures["document_id"].map(docs["source_kind"].astype("string")))
    qualifier = _str(figures["qualifier"])
    partial = figures["is_partial_period"].astype("boolean").fillna(False)
    years = pd.to_datetime(figures["period_end"]).dt.year
    incompatible = conflicts[~conflicts["compatible_within_qualifiers"].astype(bool)]
    return {
        "n_figures": len(figures),
        "n_documents": len(documents),
        "n_platforms": int(figures["platform"].nunique()),
        "n_originators": int(documents["originator"].nunique()),
        "first_year": int(years.min()),
        "last_year": int(years.max()),
        "share_figures_from_primary_documents": float((kind == "primary").mean()),
        "share_figures_checked": float((_str(figures["check_status"]) == "checked").mean()),
        "share_figures_qualified": float((qualifier != "exact").mean()),
        "n_figures_lower_bound": int(qualifier.isin(LOWER_BOUND_QUALIFIERS).sum()),
        "n_figures_partial_period": int(partial.sum()),
        "share_figures_partial_period": float(partial.mean()),
        "n_conflicts": len(conflicts),
        "n_conflicts_beyond_qualifiers": len(incompatible),
        "max_relative_difference_beyond_qualifiers": (
            float(incompatible["relative_difference"].max()) if len(incompatible) else 0.0
        ),
    }


def coverage_by_platform_year(figures: pd.DataFrame) -> pd.DataFrame:
    """Figures per platform (rows) and year of ``period_end`` (columns, every year shown)."""
    frame = figures.assign(
        year=pd.to_datetime(figures["period_end"]).dt.year,
        platform=_str(figures["platform"]),
    )
    table = frame.pivot_table(
        index="platform", columns="year", values="figure_id", aggfunc="count", fill_value=0
    )
    years = range(int(frame["year"].min()), int(frame["year"].max()) + 1)
    table = table.reindex(columns=list(years), fill_value=0)
    order = table.sum(axis=1).sort_values(ascending=False, kind="mergesort").index
    return table.loc[order].astype("int64")


def counts_in_vocabulary_order(values: pd.Series, vocabulary: str) -> pd.Series:
    """Counts of each term of ``vocabulary`` (declared order; unused terms dropped)."""
    terms = list(vocab.VOCABULARIES[vocabulary])
    counts = _str(values).value_counts()
    return counts.reindex(terms).dropna().astype("int64")


def conflicts_by_platform(conflicts: pd.DataFrame) -> pd.DataFrame:
    """Conflicts with a readable label, sorted by platform then relative difference."""
    frame = conflicts.assign(platform=_str(conflicts["platform"]), metric=_str(conflicts["metric"]))
    return frame.sort_values(["platform", "relative_difference"], kind="mergesort").reset_index(
        drop=True
    )


def per_day_periods(
    series: pd.DataFrame,
    platform: str | Sequence[str],
    metric: str,
    targets: Sequence[str] | None = None,
    *,
    period_kinds: Sequence[str] = ("month", "quarter", "half_year"),
    include_to_date: bool = True,
    min_days: int = 28,
    max_days: int | None = None,
) -> pd.DataFrame:
    """Per-day rates of one metric over time, ready for :func:`analysis.plots.plot_periods`.

    Keeps whole-metric rows (``subset`` null) of ``series`` with a per-day rate, of the
    given ``period_kinds`` and, if ``include_to_date``, to-date counts of at least
    ``min_days`` days (shown as partial periods).  Periods longer than ``max_days`` (e.g.
    cumulative totals since a unit was founded) are dropped when it is given.  Stated rates
    are kept as they are.
    """
    platforms = [platform] if isinstance(platform, str) else list(platform)
    frame = series[
        _str(series["platform"]).isin(platforms)
        & (_str(series["metric"]) == metric)
        & series["subset"].isna()
        & series["per_day"].notna()
    ]
    if targets is not None:
        frame = frame[_str(frame["target"]).isin(list(targets))]
    kinds = _str(frame["period_kind"])
    days = (pd.to_datetime(frame["period_end"]) - pd.to_datetime(frame["period_start"])).dt.days + 1
    keep = kinds.isin(list(period_kinds))
    if include_to_date:
        keep |= (kinds == "to_date") & (days >= min_days)
    if max_days is not None:
        keep &= days <= max_days
    out = frame[keep].copy()
    out["platform"] = _str(out["platform"])
    out["target"] = _str(out["target"])
    out["qualifier"] = _str(out["qualifier"])
    out["per_day"] = out["per_day"].astype("float64")
    return out.sort_values(["platform", "target", "period_start"], kind="mergesort").reset_index(
        drop=True
    )


def rate_extremes(frame: pd.DataFrame, prefix: str) -> dict[str, object]:
    """Highest and latest per-day rate of complete periods in ``frame`` (numbers dict)."""
    complete = frame[~frame["is_partial_period"].astype("boolean").fillna(False)]
    if complete.empty:
        return {f"{prefix}_n_periods": 0}
    top = complete.loc[complete["per_day"].idxmax()]
    last = complete.sort_values("period_end", kind="mergesort").iloc[-1]
    return {
        f"{prefix}_n_periods": len(frame),
        f"{prefix}_n_partial": int(len(frame) - len(complete)),
        f"{prefix}_max_per_day": float(top["per_day"]),
        f"{prefix}_max_period_start": top["period_start"],
        f"{prefix}_max_period_end": top["period_end"],
        f"{prefix}_latest_per_day": float(last["per_day"]),
        f"{prefix}_latest_period_start": last["period_start"],
        f"{prefix}_latest_period_end": last["period_end"],
        f"{prefix}_first_year": int(pd.Timestamp(frame["period_start"].min()).year),
        f"{prefix}_last_year": int(pd.Timestamp(frame["period_end"].max()).year),
    }


def daily_counts_around(
    figures: pd.DataFrame,
    platform: str,
    metric: str,
    start: str,
    end: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Single-day figures of a metric between ``start`` and ``end``, and its stated daily rates.

    Returns
    -------
    days, baseline
        ``days``: one row per day (the preferred figure: a complete count before a partial
        one, then the smallest ``figure_id``), with ``n_alternatives`` and the
        ``other_values`` that disagree.  ``baseline``: figures of the same metric stated as
        a rate per day, or a yearly per-day range (e.g. "200-300 a day"), with
        ``value_low``/``value_high``.
    """
    same = figures[(_str(figures["platform"]) == platform) & (_str(figures["metric"]) == metric)]
    kinds = _str(same["period_kind"])
    starts = pd.to_datetime(same["period_start"])
    window = (starts >= pd.Timestamp(start)) & (starts <= pd.Timestamp(end))
    single = same[(kinds == "day") & window].copy()
    single["partial_rank"] = single["is_partial_period"].astype("boolean").fillna(False).astype(int)
    single = single.sort_values(["period_start", "partial_rank", "figure_id"], kind="mergesort")
    rows = []
    for day, group in single.groupby("period_start", sort=True):
        best = group.iloc[0]
        others = sorted(
            {float(v) for v in group["value"].iloc[1:] if float(v) != float(best["value"])}
        )
        rows.append(
            {
                "date": pd.Timestamp(day),
                "value": float(best["value"]),
                "qualifier": str(best["qualifier"]),
                "figure_id": str(best["figure_id"]),
                "target": str(best["target"]),
                "n_alternatives": len(group) - 1,
                "other_values": others,
            }
        )
    days = pd.DataFrame(
        rows,
        columns=[
            "date",
            "value",
            "qualifier",
            "figure_id",
            "target",
            "n_alternatives",
            "other_values",
        ],
    )
    rate = same[_str(same["rate_per"]).fillna("") == "day"]
    yearly = same[(kinds == "year") & same["value_low"].notna()]
    baseline = pd.concat([rate, yearly]).drop_duplicates("figure_id")
    baseline = baseline.sort_values("figure_id", kind="mergesort").reset_index(drop=True)
    return days.reset_index(drop=True), baseline


def action_days_table(action_days: pd.DataFrame) -> pd.DataFrame:
    """Action days with known dates, with ``countries`` (listed or stated) and ``providers``.

    ``countries`` is the stated number when given, else the number of codes listed;
    ``countries_is_listed_only`` flags the latter (a lower bound: lists may be partial).
    """
    frame = action_days[action_days["start_date"].notna()].copy()
    stated = frame["countries_stated"].astype("Float64")
    listed = frame["countries_listed"].astype("Float64")
    frame["countries"] = stated.fillna(listed).astype("float64")
    frame["countries_is_listed_only"] = stated.isna().to_numpy()
    frame["providers"] = frame["platforms_stated"].astype("Float64").astype("float64")
    end = frame["end_date"].fillna(frame["start_date"])
    frame["duration_days"] = (pd.to_datetime(end) - pd.to_datetime(frame["start_date"])).dt.days + 1
    return frame.sort_values(["start_date", "action_id"], kind="mergesort").reset_index(drop=True)


def ratio_to_range(value: float, low: float, high: float) -> tuple[float, float]:
    """``value / high`` and ``value / low``: how many times a count exceeds a stated range."""
    return float(value / high), float(value / low) if low > 0 else float(np.inf)


def anchor_bans_per_day(
    series: pd.DataFrame,
    *,
    platform: str = "telegram",
    metric: str = "bots_and_channels_banned",
    target: str = "islamic_state",
    year: int = 2017,
) -> dict[str, object]:
    """Median per-day rate of complete months of a published series: a calibration anchor.

    The default is Telegram's ISIS Watch channel, Islamic State bots and channels banned per
    day, complete months of 2017.  Returns the median, the number of months and their span.
    """
    rates = per_day_periods(
        series, platform, metric, [target], period_kinds=("month",), include_to_date=False
    )
    rates = rates[pd.to_datetime(rates["period_start"]).dt.year == year]
    if rates.empty:
        raise ValueError(f"no complete months of {platform}/{metric}/{target} in {year}")
    return {
        "anchor_bans_per_day": float(rates["per_day"].median()),
        "anchor_n_months": len(rates),
        "anchor_first_month": rates["period_start"].min(),
        "anchor_last_month": rates["period_start"].max(),
        "anchor_figure_ids": ";".join(rates["figure_id"].astype(str)),
    }


def read_channel_events(path: str | Path) -> pd.DataFrame:
    """Read a channel event table (``.csv`` or ``.parquet``) and validate it.

    CSV time columns are parsed as numbers (days) when every value is numeric, else as
    dates (ISO strings with or without a UTC offset; converted to naive UTC).  Text columns
    are read as pandas' ``str`` dtype under pandas 3 and ``object`` before; both are
    handled.  See :mod:`analysis.channels` for the columns.
    """
    from pandas.api.types import is_object_dtype, is_string_dtype

    from analysis.channels import TIME_COLUMNS, validate_channel_events

    file = Path(path)
    if file.suffix == ".parquet":
        frame = pd.read_parquet(file)
    else:
        ids = ("channel_id", "family_id", "predecessor_id", "successor_id", "end_reason")
        frame = pd.read_csv(file, dtype=dict.fromkeys(ids, "string"))
        for column in TIME_COLUMNS:
            if column not in frame.columns:
                continue
            col = frame[column]
            if is_object_dtype(col.dtype) or is_string_dtype(col.dtype):
                numeric = pd.to_numeric(col, errors="coerce")
                if numeric.notna().sum() == col.notna().sum():
                    frame[column] = numeric
                else:
                    frame[column] = pd.to_datetime(col, utc=True, format="ISO8601")
    return validate_channel_events(frame, source=str(file))


def event_label(events: pd.DataFrame, event_reasons: str | Iterable[str] | None = None) -> str:
    """Words for the event of a lifetime figure, from the reasons counted *and present*.

    ``"banned"`` for a simulated table (only bans) under the default (any ending),
    ``"went dark"`` for a message log, ``"ended (banned, went dark)"`` for a mix.
    """
    from analysis.channels import resolve_event_reasons

    counted = resolve_event_reasons(event_reasons)
    present = set(events["end_reason"].dropna().astype(str))
    words = [r.replace("_", " ") for r in counted if r in present] or ["ended"]
    return words[0] if len(words) == 1 else "ended (" + ", ".join(words) + ")"


def period_kind_counts(figures: pd.DataFrame) -> pd.DataFrame:
    """Figures per period kind (vocabulary order), split into ``complete`` and ``partial``."""
    partial = figures["is_partial_period"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    kinds = _str(figures["period_kind"])
    complete_counts = counts_in_vocabulary_order(kinds[~partial], "period_kind")
    partial_counts = counts_in_vocabulary_order(kinds[partial], "period_kind")
    order = [
        k for k in vocab.PERIOD_KINDS if k in complete_counts.index or k in partial_counts.index
    ]
    return pd.DataFrame(
        {
            "complete": complete_counts.reindex(order, fill_value=0),
            "partial": partial_counts.reindex(order, fill_value=0),
        }
    ).astype("int64")


# --------------------------------------------------------------------------- models in notebooks
# Tables behind notebook 05 (calibration, recovery) and notebook 03 (changepoints).  The model
# modules are imported inside the functions, so that importing this module stays light.

CALIBRATION_SCENARIO_LABELS = {
    "telegram_nov2019": "Telegram ISIS Watch, Nov 2019 (TG22-TG24)",
    "crest_2018_2019": "CREST 2018 vs 2019 action days (EU42, EU43, ST10)",
    "twitter_april2015": "Twitter purge, April 2015 (ST05, ST01, ST02)",
}
"""Short labels of the scenarios of :mod:`analysis.models.calibration_scenarios`."""

CALIBRATION_PARAMETER_LABELS = {
    "baseline_bans_per_day": "baseline bans (per day)",
    "mean_lifetime_days": "mean lifetime (days)",
    "hazard_ratio_day1": "ban hazard 22 Nov (x baseline)",
    "hazard_ratio_day2": "ban hazard 23 Nov (x baseline)",
    "extra_hazard_day1_per_day": "extra ban hazard 22 Nov (per channel-day)",
    "extra_hazard_day2_per_day": "extra ban hazard 23 Nov (per channel-day)",
    "creation_rate_per_day": "new channels (per day)",
    "mean_lifetime_2018_days": "mean lifetime 2018 (days)",
    "mean_lifetime_2019_days": "mean lifetime 2019 (days)",
    "recreation_probability": "re-creation probability",
    "population": "population (accounts)",
    "purge_share_removed": "share removed in the purge",
    "purge_extra_hazard_per_day": "purge extra hazard (per account-day)",
    "recreation_delay_mean_days": "re-creation delay (days)",
}
"""Readable labels, with units, of the calibrated parameters."""


def _rounding_step(value: float, lower: float, upper: float) -> float:
    """Rounding step: two significant digits of the interval's narrower finite half-width,
    and never finer than two significant digits of ``value`` itself."""
    halves = [abs(value - b) for b in (lower, upper) if np.isfinite(b) and b != value]
    own = 10.0 ** (np.floor(np.log10(abs(value))) - 1) if value != 0 else 1.0
    if not halves or min(halves) <= 0:
        return own
    return max(10.0 ** (np.floor(np.log10(min(halves))) - 1), own)


def _with_step(value: float, step: float) -> str:
    step = min(step, 10.0 ** (np.floor(np.log10(abs(value))) - 1)) if value != 0 else step
    decimals = max(0, -int(np.floor(np.log10(step))))
    return f"{round(value / step) * step:,.{decimals}f}"


def round_to_interval(value: float, lower: float, upper: float) -> str:
    """``value`` with the digits its interval supports: two significant digits of the
    interval's narrower half-width, at most two significant digits of the value.

    >>> round_to_interval(0.934567, 0.8264, 0.9965)
    '0.93'
    >>> round_to_interval(244.949, 199.94, 300.06)
    '240'
    """
    value = float(value)
    if not np.isfinite(value):
        return "n/a"
    return _with_step(value, _rounding_step(value, lower, upper))


def rounded_interval(
    value: float, lower: float, upper: float, lower_identified: bool, upper_identified: bool
) -> tuple[float, float, float]:
    """Estimate and interval ends rounded with the step :func:`round_to_interval` uses
    (unbounded ends, which are search limits, to two significant digits)."""
    step = _rounding_step(
        float(value),
        float(lower) if lower_identified else np.nan,
        float(upper) if upper_identified else np.nan,
    )

    def rounded(v: float, ok: bool) -> float:
        text = _with_step(float(v), step) if ok else round_to_interval(float(v), np.nan, np.nan)
        return float(text.replace(",", ""))

    return rounded(value, True), rounded(lower, lower_identified), rounded(upper, upper_identified)


def calibration_table(results: Mapping[str, object]) -> pd.DataFrame:
    """One row per scenario and free parameter: identification, estimate and interval.

    Parameters
    ----------
    results
        Scenario key to :class:`~analysis.models.calibration.CalibrationResult`.

    Returns
    -------
    pandas.DataFrame
        ``scenario``, ``scenario_label``, ``parameter``, ``parameter_label``, ``estimate``,
        ``lower``, ``upper``, ``lower_identified``, ``upper_identified`` (False: the
        interval reaches the search bound), ``nuisance_at_bound`` (other parameters at their
        search bound inside the interval), ``identified``, ``search_lower``,
        ``search_upper``, ``dof`` (anchors minus free parameters), ``figure_ids``,
        ``estimate_text`` (rounded to what the interval supports; "not identified" when the
        parameter is not) and ``interval`` (text: ``"≤ x"`` / ``"≥ x"`` marks an unbounded
        side).
    """
    rows = []
    for key, result in results.items():
        summary = result.summary  # type: ignore[attr-defined]
        problem = getattr(result, "problem", None)
        ids = getattr(problem, "all_figure_ids", getattr(problem, "figure_ids", []))
        figure_ids = ";".join(ids)
        dof = getattr(result, "dof_", np.nan)
        for parameter, row in summary.iterrows():
            low, up = float(row["lower"]), float(row["upper"])
            lo_ok, up_ok = bool(row["lower_identified"]), bool(row["upper_identified"])
            nuisance = str(row.get("nuisance_at_bound", ""))
            identified = bool(row.get("identified", lo_ok and up_ok))
            est = float(row["estimate"])
            step = _rounding_step(est, low if lo_ok else np.nan, up if up_ok else np.nan)
            low_text = _with_step(low, step) if lo_ok else f"≤ {_fmt(low)}"
            up_text = _with_step(up, step) if up_ok else f"≥ {_fmt(up)}"
            rows.append(
                {
                    "scenario": key,
                    "scenario_label": CALIBRATION_SCENARIO_LABELS.get(key, key),
                    "parameter": str(parameter),
                    "parameter_label": CALIBRATION_PARAMETER_LABELS.get(
                        str(parameter), str(parameter)
                    ),
                    "estimate": est,
                    "lower": low,
                    "upper": up,
                    "lower_identified": lo_ok,
                    "upper_identified": up_ok,
                    "nuisance_at_bound": nuisance,
                    "identified": identified,
                    "search_lower": float(row["search_lower"]),
                    "search_upper": float(row["search_upper"]),
                    "dof": dof,
                    "figure_ids": figure_ids,
                    "estimate_text": round_to_interval(est, low, up)
                    if identified
                    else "not identified",
                    "interval": (
                        f"{low_text} to {up_text}"
                        if (lo_ok or up_ok)
                        else "not bounded by the anchors"
                    ),
                }
            )
    return pd.DataFrame(rows)


def crest_grid_recovery(
    grid: pd.DataFrame, purge_fraction: float, shares: Sequence[float] = (0.5, 0.9)
) -> pd.DataFrame:
    """Expected recovery after a one-day purge at each CREST assumption-grid point.

    ``grid`` is the output of
    :func:`~analysis.models.calibration_sensitivity.assumption_grid` for
    ``recreation_probability``; points where it is not identified get NaN (nothing is
    computed at an unidentified point).  Recovery is a share *of the drop* (see
    :func:`~analysis.models.calibration_sensitivity.days_to_recover`).
    """
    from analysis.models.calibration_sensitivity import days_to_recover

    rows = grid[grid["parameter"] == "recreation_probability"].copy()
    for q in shares:
        rows[f"days_to_recover_{round(100 * q)}pct_of_drop"] = [
            days_to_recover(
                r["est_mean_lifetime_2018_days"],
                r["est_recreation_probability"],
                r["est_recreation_delay_mean_days"],
                purge_fraction,
                q,
            )
            if r["identified"]
            else np.nan
            for _, r in rows.iterrows()
        ]
    return rows.reset_index(drop=True)


def anchor_figure_ids(results: Mapping[str, object]) -> dict[str, str]:
    """``{scenario: "id;id;..."}``: the figure ids behind each calibrated scenario (anchors,
    then published inputs such as a population range)."""
    return {
        k: ";".join(r.problem.all_figure_ids)  # type: ignore[attr-defined]
        for k, r in results.items()
    }


def _fmt(value: float) -> str:
    """Three significant digits, plain notation for everyday magnitudes."""
    value = float(value)
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.2e}"


def calibrated_baseline_model(key: str, params: Mapping[str, float]) -> CatMouseModel:
    """Legacy (parameter names before the sensitivity calibration; computes at point
    estimates): notebook 05 uses :func:`calibration_table` and :func:`crest_grid_recovery`.

    The cat-and-mouse model a calibrated scenario implies, at its baseline (no crackdown).

    Mirrors the scenario builders of :mod:`analysis.models.calibration`:

    * ``telegram_nov2019``: creation ``baseline_bans_per_day * (1 - rho)``, hazard
      ``1 / mean_lifetime_days``, re-creation ``rho`` and delay as fixed there;
    * ``crest_2018_2019``: ``creation_rate_per_day``, hazard ``1 / mean_lifetime_2018_days``
      (the 2018 regime), ``recreation_probability`` and the fixed delay;
    * ``twitter_april2015``: creation ``population * mu_0 * (1 - rho)`` (equilibrium =
      ``population``), ``mu_0 = 1 / mean_lifetime_days``, ``rho`` and the fitted delay.
    """
    from analysis.errors import ModelError
    from analysis.models.catmouse import CatMouseModel

    p = dict(params)
    if key == "telegram_nov2019":
        rho = p["recreation_probability"]
        return CatMouseModel(
            p["baseline_bans_per_day"] * (1 - rho),
            1.0 / p["mean_lifetime_days"],
            rho,
            p["recreation_delay_mean_days"],
        )
    if key == "crest_2018_2019":
        return CatMouseModel(
            p["creation_rate_per_day"],
            1.0 / p["mean_lifetime_2018_days"],
            p["recreation_probability"],
            p["recreation_delay_mean_days"],
        )
    if key == "twitter_april2015":
        mu0 = 1.0 / p["mean_lifetime_days"]
        rho = p["recreation_probability"]
        return CatMouseModel(
            p["population"] * mu0 * (1 - rho), mu0, rho, p["recreation_delay_mean_days"]
        )
    raise ModelError(
        f"unknown calibration scenario {key!r}; expected one of "
        f"{sorted(CALIBRATION_SCENARIO_LABELS)}"
    )


def scenario_sustained_extra_hazard(key: str, params: Mapping[str, float]) -> float:
    """Legacy (parameter names before the sensitivity calibration; computes at point
    estimates): notebook 05 uses :func:`calibration_table` and :func:`crest_grid_recovery`.

    The crackdown intensity a scenario observed, as an extra ban hazard per channel-day.

    Telegram: the mean of the two action days' extra hazards; CREST: the sustained 2019
    hazard ``1/lifetime_2019 - 1/lifetime_2018``; Twitter: the purge-day extra hazard.
    """
    p = dict(params)
    if key == "telegram_nov2019":
        return 0.5 * (p["extra_hazard_day1_per_day"] + p["extra_hazard_day2_per_day"])
    if key == "crest_2018_2019":
        return max(1.0 / p["mean_lifetime_2019_days"] - 1.0 / p["mean_lifetime_2018_days"], 0.0)
    if key == "twitter_april2015":
        return p["purge_extra_hazard_per_day"]
    from analysis.errors import ModelError

    raise ModelError(f"unknown calibration scenario {key!r}")


def calibration_implications(
    results: Mapping[str, object], purge_fraction: float = 0.9
) -> pd.DataFrame:
    """Legacy (parameter names before the sensitivity calibration; computes at point
    estimates): notebook 05 uses :func:`calibration_table` and :func:`crest_grid_recovery`.

    What each calibrated scenario implies, at its point estimate.

    Returns one row per scenario: ``equilibrium_active`` (channels or accounts),
    ``mean_lifetime_days``, ``recreations_per_ban``, ``days_to_regain_50pct`` and
    ``days_to_regain_90pct`` of the pre-purge level after a one-day purge removing
    ``purge_fraction`` of the active channels, ``sustained_extra_hazard_per_day`` (the
    scenario's own crackdown intensity, see :func:`scenario_sustained_extra_hazard`) and
    ``equilibrium_share_under_sustained`` (the stationary level if that intensity were kept
    up, as a share of the baseline equilibrium: ``mu_0 / (mu_0 + h)``).

    These inherit the identification of the parameters: where a parameter's profile
    interval is unbounded (see :func:`calibration_table`), so is what it implies.
    """
    from analysis.models.catmouse import Crackdown

    rows = []
    for key, result in results.items():
        params = result.params_  # type: ignore[attr-defined]
        model = calibrated_baseline_model(key, params)
        purge = Crackdown.removing_fraction(0.0, purge_fraction)
        horizon = max(3650.0, 20.0 * model.mean_lifetime_days())
        extra = scenario_sustained_extra_hazard(key, params)
        rows.append(
            {
                "scenario": key,
                "scenario_label": CALIBRATION_SCENARIO_LABELS.get(key, key),
                "equilibrium_active": model.equilibrium_active(),
                "mean_lifetime_days": model.mean_lifetime_days(),
                "recreations_per_ban": model.expected_recreations_per_ban(),
                "days_to_regain_50pct": model.time_to_regain(0.5, purge, horizon_days=horizon),
                "days_to_regain_90pct": model.time_to_regain(0.9, purge, horizon_days=horizon),
                "sustained_extra_hazard_per_day": extra,
                "equilibrium_share_under_sustained": (
                    model.equilibrium_active(extra_hazard_per_day=extra)
                    / model.equilibrium_active()
                ),
            }
        )
    return pd.DataFrame(rows)


def expected_recovery_times(
    model: CatMouseModel, crackdown: int = 0, shares: Sequence[float] = (0.5, 0.9)
) -> dict[str, float]:
    """Exact expected recovery of a model after one of its crackdowns (the mean field).

    The pre-level is the expected active count when the crackdown starts, the trough the
    expected count when it ends; the time to recover a share ``q`` *of the drop* is the time
    from the end of the crackdown until the expected count is back at
    ``trough + q (pre - trough)``: the quantity :class:`analysis.models.recovery.RecoveryCurve`
    estimates as ``half_life_days`` (``q = 0.5``) and ``time_to_90pct_days`` (``q = 0.9``)
    when the series returns to its pre-level.

    Returns
    -------
    dict
        ``pre_level``, ``trough`` and ``days_to_recover_<pct>pct_of_drop`` per share.
    """
    cd = model.crackdowns[crackdown]
    pre, trough = model.active_at([max(cd.start_day, 0.0), cd.end_day])
    out = {"pre_level": float(pre), "trough": float(trough)}
    for q in shares:
        fraction = (trough + q * (pre - trough)) / pre
        out[f"days_to_recover_{round(100 * q)}pct_of_drop"] = float(
            model.time_to_regain(fraction, crackdown)
        )
    return out


def synthetic_daily_bans(
    start: str,
    end: str,
    pulses: Mapping[object, float],
    baseline_low: float,
    baseline_high: float,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """A SYNTHETIC daily ban series: a noisy baseline with published single-day counts.

    Every day from ``start`` to ``end`` gets a negative-binomial count whose mean is the
    midpoint of ``[baseline_low, baseline_high]`` and whose central 95 % range is about that
    interval (e.g. Telegram's "200-300 a day"); the days in ``pulses`` (date -> count) carry
    the given counts exactly (e.g. the published bans of 22-23 Nov 2019).

    Returns
    -------
    pandas.DataFrame
        ``date``, ``day`` (0, 1, ...), ``bans``, ``is_published_anchor`` and
        ``synthetic`` (always True); ``attrs["synthetic"]`` is True.
    """
    from analysis.errors import ModelError

    if not 0 < baseline_low < baseline_high:
        raise ModelError(
            f"need 0 < baseline_low < baseline_high, got {baseline_low}, {baseline_high}"
        )
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, end, freq="D")
    mean = 0.5 * (baseline_low + baseline_high)
    sd = (baseline_high - baseline_low) / (2 * 1.959964)
    dispersion = max(sd**2 - mean, 1e-9) / mean**2  # NB2: Var = mean + dispersion * mean^2
    shape = 1.0 / dispersion
    counts = rng.poisson(rng.gamma(shape, mean / shape, size=dates.size)).astype("int64")
    anchor = np.zeros(dates.size, dtype=bool)
    for day, value in pulses.items():
        hit = dates == pd.Timestamp(day)
        if not hit.any():
            raise ModelError(f"pulse day {day} is outside {start}..{end}")
        counts[hit] = int(round(float(value)))
        anchor |= hit
    frame = pd.DataFrame(
        {
            "date": dates,
            "day": np.arange(dates.size),
            "bans": counts,
            "is_published_anchor": anchor,
            "synthetic": True,
        }
    )
    frame.attrs["synthetic"] = True
    return frame


def dispersion_index(counts: Sequence[float] | np.ndarray) -> float:
    """Robust ``Var / mean`` of a count series with a few outlying days (pulses).

    Variance from the median absolute first difference (``sd = 1.4826 MAD / sqrt 2``), mean
    from the median: pulses of a day or two barely move either.  1 for Poisson counts; use it
    to scale a Poisson changepoint penalty for overdispersed series.
    """
    y = np.asarray(counts, dtype=float)
    diffs = np.diff(y)
    mad = np.median(np.abs(diffs - np.median(diffs)))
    sd = 1.4826 * mad / np.sqrt(2.0)
    centre = float(np.median(y))
    return float(sd**2 / centre) if centre > 0 else float("nan")


def changepoints_against_truth(
    detected: Sequence[object], truth: Sequence[object], tolerance_days: float = 2.0
) -> pd.DataFrame:
    """Pair every true changepoint date with the nearest detected one (and list extra ones).

    Returns
    -------
    pandas.DataFrame
        ``true_date``, ``detected_date`` (nearest; NaT if none), ``distance_days`` (signed,
        detected minus true), ``within_tolerance``; detected dates farther than the
        tolerance from every true one appear as rows with ``true_date`` NaT.
    """
    found = pd.to_datetime(pd.Series(list(detected), dtype="object"))
    true = pd.to_datetime(pd.Series(list(truth), dtype="object"))
    rows = []
    for t in true:
        if found.empty:
            rows.append(
                {
                    "true_date": t,
                    "detected_date": pd.NaT,
                    "distance_days": np.nan,
                    "within_tolerance": False,
                }
            )
            continue
        gaps = (found - t).dt.days
        k = int(np.argmin(np.abs(gaps.to_numpy())))
        rows.append(
            {
                "true_date": t,
                "detected_date": found.iloc[k],
                "distance_days": float(gaps.iloc[k]),
                "within_tolerance": bool(abs(gaps.iloc[k]) <= tolerance_days),
            }
        )
    for f in found:
        if true.empty or (np.abs((true - f).dt.days) > tolerance_days).all():
            rows.append(
                {
                    "true_date": pd.NaT,
                    "detected_date": f,
                    "distance_days": np.nan,
                    "within_tolerance": False,
                }
            )
    return pd.DataFrame(
        rows, columns=["true_date", "detected_date", "distance_days", "within_tolerance"]
    )


def true_changepoint_dates(pulse_dates: Sequence[object]) -> list[pd.Timestamp]:
    """Dates where the mean of a baseline-plus-pulses series changes.

    Each pulse day starts a new segment (its count differs from its neighbours') and so
    does the first day after a run of pulse days.
    """
    pulses = sorted({pd.Timestamp(d).normalize() for d in pulse_dates})
    one_day = pd.Timedelta(days=1)
    after = {d + one_day for d in pulses} - set(pulses)
    return sorted(set(pulses) | after)


def calibration_source_domains(results: Mapping[str, object]) -> list[str]:
    """Web domains of the anchors' sources, in first-seen order (for figure footnotes)."""
    from urllib.parse import urlparse

    seen: list[str] = []
    for result in results.values():
        for url in result.anchors["source"]:  # type: ignore[attr-defined]
            host = urlparse(str(url)).netloc.lower().removeprefix("www.")
            if host and host not in seen:
                seen.append(host)
    return seen
