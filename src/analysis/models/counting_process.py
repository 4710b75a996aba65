"""Split a channel event table at crackdown window edges (counting-process form for Cox).

A crackdown is a calendar window ``[start, end)``; a channel alive across an edge is split
there, so each row ``(start_days, stop_days]`` (days since the channel's creation) lies wholly
inside or outside every window, and the covariate ``crackdown`` (1 inside any window, else 0)
switches on and off along a channel's life.  The event flag sits on the channel's last row.
The lifetimes follow :func:`analysis.channels.channel_lifetimes_table` (event reasons,
detection horizon, delayed entry), so the split table answers the same question.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.channels import channel_lifetimes_table, time_kind, to_days, validate_channel_events
from analysis.errors import ChannelTableError

__all__ = ["split_at_windows"]


def _window_edges(windows: Any, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Window starts and ends from a DataFrame, (start, end) pairs or Crackdown objects."""
    if isinstance(windows, pd.DataFrame):
        cols = [c for c in ("start", "window_start") if c in windows.columns]
        ends = [c for c in ("end", "window_end") if c in windows.columns]
        if not cols or not ends:
            raise ChannelTableError(
                "windows: expected columns 'start' and 'end' (or window_start/window_end)",
                column="windows",
                value=list(windows.columns),
            )
        starts, stops = windows[cols[0]].to_numpy(), windows[ends[0]].to_numpy()
    else:
        pairs = []
        for w in windows:
            if hasattr(w, "start_day") and hasattr(w, "end_day"):
                pairs.append((w.start_day, w.end_day))
            else:
                a, b = w
                pairs.append((a, b))
        if not pairs:
            raise ChannelTableError("windows: empty; expected at least one window")
        starts = np.array([p[0] for p in pairs])
        stops = np.array([p[1] for p in pairs])
    if kind == "datetime":
        # naive times are UTC, as in the table; aware ones are converted to UTC
        starts = pd.DatetimeIndex(pd.to_datetime(starts, utc=True)).tz_convert(None)
        stops = pd.DatetimeIndex(pd.to_datetime(stops, utc=True)).tz_convert(None)
        starts = starts.to_numpy(dtype="datetime64[ns]")
        stops = stops.to_numpy(dtype="datetime64[ns]")
    else:
        try:
            starts, stops = starts.astype(float), stops.astype(float)
        except (TypeError, ValueError) as exc:
            raise ChannelTableError(
                "windows: the table's times are numeric days; expected numeric window edges",
                column="windows",
            ) from exc
    bad = ~(stops > starts)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ChannelTableError(
            "window end not after its start; expected start < end",
            row=i,
            column="windows",
            value=(str(starts[i]), str(stops[i])),
        )
    return starts, stops


def split_at_windows(
    df: pd.DataFrame,
    windows: pd.DataFrame | Iterable[Any],
    *,
    event_reasons: str | Iterable[str] | None = None,
    covariate: str = "crackdown",
    keep_columns: Sequence[str] = (),
    source: str | None = None,
) -> pd.DataFrame:
    """Counting-process table of channel lifetimes split at window edges.

    Parameters
    ----------
    df
        Channel event table (:mod:`analysis.channels`).
    windows
        Calendar windows in the table's time kind: a DataFrame with ``start``/``end``
        columns, ``(start, end)`` pairs, or objects with ``start_day``/``end_day`` (such as
        :class:`analysis.models.catmouse.Crackdown`, numeric tables).
    event_reasons
        End reasons counted as the event (default any; see
        :func:`analysis.channels.resolve_event_reasons`).
    covariate
        Name of the 0/1 in-window column.
    keep_columns
        Other columns of ``df`` (platform, cohort ...) copied onto every row of the channel.

    Returns
    -------
    pandas.DataFrame
        ``channel_id``, ``family_id``, ``start_days``, ``stop_days``, ``event`` (0/1 on the
        last row only), ``covariate``, then ``keep_columns``; for
        :class:`analysis.models.cox.CoxPH` with ``entry_col="start_days"``,
        ``duration_col="stop_days"`` and ``cluster_col="channel_id"`` or ``"family_id"``.
    """
    # positions, not labels: a caller's index may repeat (concatenated tables)
    table = validate_channel_events(df, source=source).reset_index(drop=True)
    missing = [c for c in keep_columns if c not in table.columns]
    if missing:
        raise ChannelTableError(f"keep_columns {missing} not in the table", column=missing[0])
    life = channel_lifetimes_table(table, event_reasons=event_reasons, source=source)
    tab = table.loc[life.index]
    ws, we = _window_edges(windows, time_kind(table))
    created = tab["created_at"].to_numpy()
    rel_s = to_days(ws[None, :] - created[:, None])
    rel_e = to_days(we[None, :] - created[:, None])
    entry = life["entry_days"].to_numpy(dtype=float)
    stop = life["duration_days"].to_numpy(dtype=float)
    edges = np.concatenate([rel_s, rel_e], axis=1)
    inside = (edges > entry[:, None]) & (edges < stop[:, None])
    cuts = np.sort(np.where(inside, edges, np.inf), axis=1)
    cuts = np.where(np.isfinite(cuts), cuts, np.inf)
    # drop duplicated cut points (two windows sharing an edge)
    dup = np.zeros_like(inside)
    dup[:, 1:] = cuts[:, 1:] == cuts[:, :-1]
    cuts = np.sort(np.where(dup, np.inf, cuts), axis=1)
    k = np.isfinite(cuts).sum(axis=1)
    n, width = cuts.shape
    bounds = np.column_stack([entry, cuts, np.full(n, np.inf)])
    bounds[np.arange(n), k + 1] = stop
    starts, stops = bounds[:, :-1], bounds[:, 1:]
    valid = np.arange(width + 1)[None, :] <= k[:, None]
    row = np.repeat(np.arange(n), k + 1)
    s, e = starts[valid], stops[valid]
    mid = 0.5 * (s + e)
    on = ((mid[:, None] >= rel_s[row]) & (mid[:, None] < rel_e[row])).any(axis=1)
    last = np.zeros(row.size, dtype=bool)
    last[np.cumsum(k + 1) - 1] = True
    out = pd.DataFrame(
        {
            "channel_id": tab["channel_id"].to_numpy()[row],
            "family_id": tab["family_id"].to_numpy()[row],
            "start_days": s,
            "stop_days": e,
            "event": (last & life["event"].to_numpy(dtype=bool)[row]).astype(int),
            covariate: on.astype(int),
        }
    )
    for c in keep_columns:
        out[c] = tab[c].to_numpy()[row]
    out.attrs.update(life.attrs)
    out.attrs["n_windows"] = int(ws.size)
    return out
