"""Input checks shared by the survival fitters: arrays in, clean float/bool arrays out."""

from __future__ import annotations

from typing import Any

import numpy as np

from analysis.errors import ModelError


def _as_1d_float(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{name}: cannot convert to float days ({exc})") from exc
    if arr.ndim != 1:
        raise ModelError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ModelError(f"{name}: row {i} is {arr[i]!r}; expected finite numbers (no NaN/inf)")
    return arr


def check_survival_data(
    durations: Any,
    event_observed: Any = None,
    entry: Any = None,
    *,
    positive: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate survival data and return ``(durations, event_observed, entry)``.

    Parameters
    ----------
    durations
        Time from origin to event or censoring, in days; non-negative (strictly positive when
        ``positive``, as parametric log-time models need).
    event_observed
        1/True for an observed event, 0/False for right censoring; default all events.
    entry
        Delayed-entry (left-truncation) times in days, ``0 <= entry < duration``; ``None`` or all
        zeros means no truncation (returned as ``None``).

    Raises
    ------
    ModelError
        Empty input, NaN/inf, negative durations, lengths differ, event values other than 0/1,
        ``entry >= duration`` (for a positive entry) or negative entry.
    """
    t = _as_1d_float(durations, "durations")
    n = t.size
    if n == 0:
        raise ModelError("durations: empty; expected at least one observation")
    neg = t < 0 if not positive else t <= 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        expected = "durations > 0 (log-time model)" if positive else "durations >= 0"
        raise ModelError(f"durations: row {i} is {t[i]!r}; expected {expected}")
    if event_observed is None:
        e = np.ones(n, dtype=bool)
    else:
        raw = np.asarray(event_observed)
        if raw.shape != (n,):
            raise ModelError(f"event_observed: length {raw.size} differs from durations length {n}")
        if raw.dtype == bool:
            e = raw
        else:
            ef = _as_1d_float(raw, "event_observed")
            bad = (ef != 0) & (ef != 1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ModelError(f"event_observed: row {i} is {ef[i]!r}; expected 0/1 or bool")
            e = ef == 1
    if entry is None:
        return t, e, None
    en = _as_1d_float(entry, "entry")
    if en.shape != (n,):
        raise ModelError(f"entry: length {en.size} differs from durations length {n}")
    if (en < 0).any():
        i = int(np.flatnonzero(en < 0)[0])
        raise ModelError(f"entry: row {i} is {en[i]!r}; expected entry >= 0")
    late = (en > 0) & (en >= t)
    if late.any():
        i = int(np.flatnonzero(late)[0])
        raise ModelError(
            f"entry: row {i} is {en[i]!r} but duration is {t[i]!r}; expected entry < duration"
        )
    if not en.any():
        return t, e, None
    return t, e, en
