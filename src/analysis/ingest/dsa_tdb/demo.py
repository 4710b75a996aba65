"""What notebook 08 reads: a researcher's ``dsa-tdb`` output, the folded table, or SYNTHETIC.

:func:`load_daily` picks, in this order: an output folder of ``takedowns ingest dsa-tdb``
given by the researcher; the ``dsa_tdb_daily`` table of the dataset (folded by ``make data``
from ``data/raw/dsa_tdb``); otherwise SYNTHETIC dumps generated around a known action day
and run through the same ingest (every output then says ``synthetic``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from analysis import load
from analysis.ingest.dsa_tdb.generate import generate_dumps
from analysis.ingest.dsa_tdb.run import ingest_dsa_tdb


@dataclass
class DsaDaily:
    """Daily terrorist-content statements and what they came from."""

    daily: pd.DataFrame
    """decision_day (datetime), platform, decision_kind, statements, share_filed, partial."""
    delays: pd.DataFrame | None
    """Delay quantiles per platform and month (None for the folded table)."""
    synthetic: bool
    source: str
    """``output``, ``dataset`` or ``synthetic``."""
    truth_level_change_pct: float | None = None
    """For synthetic data: the level change built into the dumps at the action day."""


def synthetic_output(
    folder: str | Path,
    *,
    action_day: date = date(2023, 12, 18),
    days_before: int = 35,
    days_after: int = 35,
    statements_per_day: int = 300,
    base_share: float = 0.03,
    level_change_pct: float = 100.0,
    seed: int = 0,
) -> Path:
    """SYNTHETIC dumps around ``action_day`` (terrorist-content share raised by
    ``level_change_pct`` from that day on), ingested into ``folder/out``; returns it."""
    folder = Path(folder)
    days = [action_day + timedelta(days=k) for k in range(-days_before, days_after)]
    shares = {
        d: base_share * (1 + level_change_pct / 100 if d >= action_day else 1.0) for d in days
    }
    dumps = generate_dumps(
        folder / "dumps",
        days,
        statements_per_day=statements_per_day,
        parts_per_day=1,
        chunks_per_part=1,
        terrorist_share=shares,
        malformed_per_chunk=0,
        seed=seed,
        sha1=False,
    )
    out = folder / "out"
    ingest_dsa_tdb(dumps.files, out, synthetic=True, progress=False, workers=1)
    return out


def read_output(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """``daily_series.csv``, ``delay_quantiles.parquet`` and the manifest of an output."""
    import json

    folder = Path(folder)
    daily = pd.read_csv(folder / "daily_series.csv", parse_dates=["decision_day"])
    delays = pd.read_parquet(folder / "delay_quantiles.parquet")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return daily, delays, manifest


def load_daily(
    output: str | Path | None = None,
    *,
    processed: str | Path | None = None,
    scratch: str | Path | None = None,
    seed: int = 0,
    level_change_pct: float = 100.0,
    days_each_side: int = 35,
) -> DsaDaily:
    """The daily series notebook 08 draws (see the module docstring for the order)."""
    if output:
        daily, delays, manifest = read_output(output)
        return DsaDaily(daily, delays, bool(manifest.get("synthetic")), "output")
    folded = load.dsa_tdb_daily(Path(processed) if processed else None)
    if folded is not None:
        daily = folded.rename(columns={"date": "decision_day"})
        return DsaDaily(daily, None, bool(daily["synthetic"].any()), "dataset")
    if scratch is None:
        raise ValueError("no DSA output and no folded table: give a scratch folder")
    out = synthetic_output(
        scratch,
        seed=seed,
        level_change_pct=level_change_pct,
        days_before=days_each_side,
        days_after=days_each_side,
    )
    daily, delays, _ = read_output(out)
    return DsaDaily(daily, delays, True, "synthetic", level_change_pct)


def total_per_day(daily: pd.DataFrame, kind: str = "any") -> pd.DataFrame:
    """Statements of ``kind`` summed over platforms, one row per day (missing days = 0),
    with ``partial`` true when any platform's day is incomplete."""
    rows = daily[daily["decision_kind"] == kind]
    grouped = rows.groupby("decision_day").agg(
        statements=("statements", "sum"), partial=("partial", "any")
    )
    full = pd.date_range(grouped.index.min(), grouped.index.max(), freq="D")
    grouped = grouped.reindex(full)
    grouped["statements"] = grouped["statements"].fillna(0).astype("int64")
    grouped["partial"] = grouped["partial"].fillna(False).astype(bool)
    return grouped.rename_axis("decision_day").reset_index()
