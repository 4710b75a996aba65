"""Private: daily series (counts and follower-days) from simulated episodes.

Same conventions as :func:`analysis.models.catmouse.daily_series_from_events`: an event at
time ``t`` falls on day ``floor(t)``; ``active`` is the number active at the end of the day;
channels active at time 0 count as active but not as creations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.models.mechanisms._episodes import (
    BANNED,
    INITIAL,
    MIGRATED,
    ORGANIC,
    OTHER_ENDED,
    RECREATED,
    RETURNED,
    Episodes,
)

DAILY_COLUMNS = (
    "active",
    "bans",
    "creations",
    "organic_creations",
    "recreations",
    "returns",
    "exposure",
    "other_active",
    "migrations",
    "other_organic_creations",
    "other_endings",
    "other_exposure",
)


def _count(times: np.ndarray, n_days: int) -> np.ndarray:
    times = times[times < n_days]
    return np.bincount(np.floor(times).astype(np.int64), minlength=n_days)[:n_days]


def _exposure(ep: Episodes, sel: np.ndarray, n_days: int) -> np.ndarray:
    """Follower-days per day: integral of ``f_start + gamma (t - start)`` over active time."""
    s = ep.start[sel]
    e = np.minimum(ep.end[sel], float(n_days))
    f0 = ep.followers_start[sel]
    ok = e > s
    s, e, f0 = s[ok], e[ok], f0[ok]
    first = np.floor(s).astype(np.int64)
    n_span = np.ceil(e).astype(np.int64) - first
    idx = np.repeat(np.arange(s.size), n_span)
    day = np.repeat(first, n_span) + (
        np.arange(idx.size) - np.repeat(np.cumsum(n_span) - n_span, n_span)
    )
    a = np.maximum(s[idx], day)
    b = np.minimum(e[idx], day + 1.0)
    gamma = ep.follower_growth
    val = f0[idx] * (b - a) + 0.5 * gamma * ((b - s[idx]) ** 2 - (a - s[idx]) ** 2)
    return np.bincount(day, weights=val, minlength=n_days)[:n_days]


def daily_from_episodes(ep: Episodes) -> pd.DataFrame:
    """One row per day ``[day, day + 1)`` with the columns of :data:`DAILY_COLUMNS`."""
    n_days = int(np.ceil(ep.horizon))
    out: dict[str, np.ndarray] = {"day": np.arange(n_days)}
    for comp, prefix in ((0, ""), (1, "other_")):
        here = ep.compartment == comp
        initial = here & (ep.start_kind == INITIAL)
        born = here & (ep.start_kind != INITIAL)
        ends = _count(ep.end[here & (ep.end_kind != 0)], n_days)
        active = int(initial.sum()) + np.cumsum(_count(ep.start[born], n_days)) - np.cumsum(ends)
        out[f"{prefix}active"] = active
        out[f"{prefix}exposure"] = _exposure(ep, here, n_days)
    mon, oth = ep.compartment == 0, ep.compartment == 1
    out["bans"] = _count(ep.end[mon & (ep.end_kind == BANNED)], n_days)
    out["organic_creations"] = _count(ep.start[mon & (ep.start_kind == ORGANIC)], n_days)
    out["recreations"] = _count(ep.start[mon & (ep.start_kind == RECREATED)], n_days)
    out["returns"] = _count(ep.start[mon & (ep.start_kind == RETURNED)], n_days)
    out["creations"] = out["organic_creations"] + out["recreations"] + out["returns"]
    out["migrations"] = _count(ep.start[oth & (ep.start_kind == MIGRATED)], n_days)
    out["other_organic_creations"] = _count(ep.start[oth & (ep.start_kind == ORGANIC)], n_days)
    out["other_endings"] = _count(ep.end[oth & (ep.end_kind == OTHER_ENDED)], n_days)
    return pd.DataFrame({k: out[k] for k in ("day", *DAILY_COLUMNS)})
