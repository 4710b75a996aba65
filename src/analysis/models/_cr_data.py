"""Input checks and risk tables shared by the competing-risks estimators.

Causes arrive as labels (``"banned"``, ``"deleted"``, 1, 2, ...).  A row is *censored* when its
label is null (None/NaN/NA), the number 0, or the string ``"censored"`` (what
:func:`analysis.channels.competing_lifetimes` writes).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import ModelError
from analysis.models._validate import check_survival_data

CENSORED_LABEL = "censored"


def cause_codes(causes: Any, n: int) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (0 = censored, 1..K) and the sorted list of the K cause labels."""
    raw = pd.Series(
        np.asarray(causes, dtype=object) if not isinstance(causes, pd.Series) else causes
    )
    if len(raw) != n:
        raise ModelError(f"causes: length {len(raw)} differs from durations length {n}")
    values = raw.astype(object).to_numpy()
    null = raw.isna().to_numpy()
    censored = null.copy()
    for i, v in enumerate(values):
        if null[i]:
            continue
        if isinstance(v, str):
            censored[i] = v == CENSORED_LABEL
        elif isinstance(v, (bool, np.bool_)):
            raise ModelError(
                f"causes: row {i} is {v!r}; expected cause labels (str or int), 0/None/"
                f"'{CENSORED_LABEL}' for censored"
            )
        elif isinstance(v, (int, float, np.integer, np.floating)):
            censored[i] = v == 0
        else:
            raise ModelError(f"causes: row {i} is {v!r}; expected str or int cause labels")
    labels = values[~censored]
    kinds = {isinstance(v, str) for v in labels}
    if len(kinds) > 1:
        raise ModelError("causes: mixes text and numeric labels; expected one kind")
    uniq = sorted(set(labels.tolist()))
    lookup = {lab: k + 1 for k, lab in enumerate(uniq)}
    codes = np.zeros(n, dtype=np.int64)
    codes[~censored] = [lookup[v] for v in labels]
    return codes, uniq


def check_competing_data(
    durations: Any, causes: Any, entry: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[Any]]:
    """Validated ``(durations, codes, entry, labels)``; see :func:`cause_codes`."""
    t, _, en = check_survival_data(durations, None, entry)
    codes, labels = cause_codes(causes, t.size)
    return t, codes, en, labels


def risk_table(
    t: np.ndarray, codes: np.ndarray, entry: np.ndarray | None, n_causes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times, number at risk (``entry < t_j <= T``) and events per cause (m x K)."""
    times, inv = np.unique(t, return_inverse=True)
    d = np.zeros((times.size, n_causes))
    ev = codes > 0
    np.add.at(d, (inv[ev], codes[ev] - 1), 1.0)
    removed_before = np.searchsorted(np.sort(t), times, side="left")
    if entry is None:
        entered = np.full(times.size, t.size)
    else:
        entered = np.searchsorted(np.sort(entry), times, side="left")
    return times, (entered - removed_before).astype(float), d
