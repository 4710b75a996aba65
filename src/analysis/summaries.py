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

from analysis import summaries_calibration as _calibration
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
    terms = list(vocab.terms(vocabulary, vocab.SOURCES))  # core terms first, then sources
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
    events = validate_channel_events(frame, source=str(file))
    if _labelled_synthetic(file):
        events.attrs["synthetic"] = True
    return events


def _labelled_synthetic(file: Path) -> bool:
    """Whether a table file says it is SYNTHETIC in its metadata: Parquet key-value
    ``synthetic=true`` (written by :func:`analysis.observation.write_synthetic_table` and by
    ``takedowns ingest messages`` from a synthetic log), or the same key in a CSV's
    ``<file>.meta.json`` sidecar."""
    import json

    try:
        if file.suffix == ".parquet":
            import pyarrow.parquet as pq

            metadata = pq.read_schema(file).metadata or {}
            return metadata.get(b"synthetic", b"").lower() == b"true"
        sidecar = file.with_name(file.name + ".meta.json")
        if sidecar.is_file():
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            return str(meta.get("synthetic", "")).lower() == "true"
    except (OSError, ValueError):
        return False
    return False


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
# Calibration tables live in analysis.summaries_calibration (re-exported at the end).
# Tables behind notebook 05 (calibration, recovery) and notebook 03 (changepoints).  The model
# modules are imported inside the functions, so that importing this module stays light.


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


# Calibration tables of notebook 05 (defined in analysis.summaries_calibration).
CALIBRATION_PARAMETER_LABELS = _calibration.CALIBRATION_PARAMETER_LABELS
CALIBRATION_SCENARIO_LABELS = _calibration.CALIBRATION_SCENARIO_LABELS
anchor_figure_ids = _calibration.anchor_figure_ids
calibrated_baseline_model = _calibration.calibrated_baseline_model
calibration_implications = _calibration.calibration_implications
calibration_source_domains = _calibration.calibration_source_domains
calibration_table = _calibration.calibration_table
crest_grid_recovery = _calibration.crest_grid_recovery
round_to_interval = _calibration.round_to_interval
rounded_interval = _calibration.rounded_interval
scenario_sustained_extra_hazard = _calibration.scenario_sustained_extra_hazard
