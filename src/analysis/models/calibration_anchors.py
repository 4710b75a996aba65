"""Published anchors of the calibration, looked up by figure id in ``data/processed``.

No published number is written in the calibration code: each anchor names the figure (or
study result) it reads, and :func:`anchor_figure` returns that row of the processed dataset
with its value, stated range, qualifier, unit, source URL and verbatim quote.  Editing the
figure in ``data/raw`` and rebuilding the dataset (``make data``) changes the calibration.

:data:`ANCHOR_FIGURE_IDS` is the one place that maps an anchor to its figure id (also listed
in /work/coord/figure-ids.md during development and in the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths
from analysis.errors import ModelError

__all__ = [
    "ANCHOR_FIGURE_IDS",
    "AnchorFigure",
    "AnchorNotFoundError",
    "anchor_figure",
    "anchor_figures",
]

ANCHOR_FIGURE_IDS: dict[str, str] = {
    # Telegram ISIS Watch around the Europol action of 21-24 Nov 2019 (BBC Monitoring text)
    "telegram_bans_day1": "TG22",
    "telegram_bans_day2": "TG23",
    "telegram_baseline_bans_per_day": "TG24",
    # CREST 2021 (Amarasingam, Maher & Winter): channels created after the action days
    "crest_new_channels_2018": "EU42-2018",
    "crest_new_channels_2019": "EU42-2019",
    "crest_mean_lifespan_2018": "EU43-2018",
    "crest_mean_lifespan_2019": "EU43-2019",
    # CREST 2021: organic posts 30 days after vs before the action days (removal proxy)
    "crest_posts_change_2018": "ST10-organic-2018",
    "crest_posts_change_2019": "ST10-organic-2019",
    # Twitter, April 2015 purge (Berger), IS Twitter population 2014 (Berger & Morgan)
    "twitter_purge_suspended": "ST05-suspended",
    "twitter_purge_created": "ST05-created",
    "twitter_population_2014_low": "ST01-population",
    "twitter_population_2014_high": "ST02-population-max",
    # Twitter's stated monthly IS suspensions, mid-2015 to early 2016 (a later period)
    "twitter_suspensions_per_month_later": "ST04-monthly-2015",
}
"""Anchor name -> figure id in ``data/processed`` (figures or study results)."""


class AnchorNotFoundError(ModelError):
    """A calibration anchor's figure id is not in the processed dataset."""


@dataclass(frozen=True)
class AnchorFigure:
    """One published number as the dataset holds it.

    Attributes
    ----------
    figure_id
        Stable id of the row in ``data/processed``.
    value, value_low, value_high
        The value and the stated range (NaN when none is stated).
    qualifier
        ``exact``, ``about``, ``range``, ``at_least``, ``more_than`` ...
    unit
        Unit of ``value`` (count, days, percent ...).
    url, quote
        Where the number was read and the verbatim sentence.
    """

    figure_id: str
    value: float
    value_low: float
    value_high: float
    qualifier: str
    unit: str
    url: str
    quote: str

    @property
    def has_range(self) -> bool:
        """True when a low and a high different from each other are stated."""
        return bool(
            np.isfinite(self.value_low)
            and np.isfinite(self.value_high)
            and self.value_high > self.value_low
        )


def _float(value: object) -> float:
    if value is None or value is pd.NA:
        return float("nan")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


@lru_cache(maxsize=256)
def _lookup(figure_id: str, folder: str, stamp: float) -> pd.Series:
    """:func:`analysis.load.figure`, cached per dataset folder and modification time."""
    from analysis import load

    return load.figure(figure_id, processed=Path(folder))


def _stamp(folder: Path) -> float:
    files = list(folder.glob("*.parquet"))
    return max((p.stat().st_mtime_ns for p in files), default=0) / 1e9


def anchor_figure(figure_id: str, processed: str | Path | None = None) -> AnchorFigure:
    """The row of ``data/processed`` with this figure id (figures or study results).

    Reads through :func:`analysis.load.figure` (cached while the folder is unchanged).

    Parameters
    ----------
    figure_id
        Id as in :data:`ANCHOR_FIGURE_IDS`.
    processed
        Dataset folder (default ``data/processed``).

    Raises
    ------
    AnchorNotFoundError
        The id is in neither table (names the folder and the tables searched).
    """
    from analysis.errors import TakedownError

    folder = (Path(processed) if processed is not None else paths.processed_dir()).resolve()
    try:
        row = _lookup(figure_id, str(folder), _stamp(folder))
    except (TakedownError, LookupError, FileNotFoundError) as exc:
        raise AnchorNotFoundError(
            f"calibration anchor figure_id {figure_id!r} not found in {folder} "
            "(figures.parquet, study_results.parquet); expected a row with this figure_id: "
            f"add it to data/raw and run `make data` ({exc})"
        ) from exc
    return AnchorFigure(
        figure_id=figure_id,
        value=_float(row.get("value")),
        value_low=_float(row.get("value_low")),
        value_high=_float(row.get("value_high")),
        qualifier=str(row.get("qualifier", "")),
        unit=str(row.get("unit", "")),
        url=str(row.get("url", "")),
        quote=str(row.get("quote", "")),
    )


def anchor_figures(
    names: list[str], processed: str | Path | None = None
) -> dict[str, AnchorFigure]:
    """:func:`anchor_figure` for several anchor names of :data:`ANCHOR_FIGURE_IDS`."""
    unknown = [n for n in names if n not in ANCHOR_FIGURE_IDS]
    if unknown:
        raise ModelError(f"unknown anchor names {unknown}; expected keys of ANCHOR_FIGURE_IDS")
    return {n: anchor_figure(ANCHOR_FIGURE_IDS[n], processed) for n in names}
