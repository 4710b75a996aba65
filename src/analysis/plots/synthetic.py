"""Synthetic data keep their label wherever they are drawn.

A table produced by a simulation (``takedowns simulate`` writes a ``synthetic`` column set to
true; simulators set ``frame.attrs["synthetic"] = True``) stays synthetic when a notebook is
given it as "your own data".  These helpers let a figure say so from the data themselves,
not from the notebook's assumption::

    title = synthetic_title("Channel lifetimes", table)      # "... (synthetic)" if flagged
    mark_synthetic(ax, table)                                 # a "SYNTHETIC DATA" badge
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.axes import Axes

SYNTHETIC_LABEL = "synthetic"
"""Word appended to titles and legend labels of synthetic data."""


def is_synthetic(data: Any) -> bool:
    """True if ``data`` is flagged synthetic.

    A DataFrame is synthetic when ``data.attrs["synthetic"]`` is true or it has a
    ``synthetic`` column with any true value (a table mixing real and synthetic rows is
    labelled synthetic: the label errs on the side of saying so).  A mapping or an object
    may carry a ``synthetic`` key or attribute.
    """
    if isinstance(data, pd.DataFrame):
        if bool(data.attrs.get("synthetic", False)):
            return True
        if "synthetic" in data.columns:
            flags = data["synthetic"]
            if flags.dtype == object or pd.api.types.is_string_dtype(flags):
                flags = flags.astype("string").str.lower().isin(["true", "1", "yes"])
            return bool(flags.fillna(False).astype(bool).any())
        return False
    if isinstance(data, dict):
        return bool(data.get("synthetic", False))
    return bool(getattr(data, "synthetic", False))


def synthetic_title(text: str, data: Any) -> str:
    """``text`` with " (synthetic)" appended when ``data`` is synthetic (and not yet said)."""
    if is_synthetic(data) and SYNTHETIC_LABEL not in text.lower():
        return f"{text} ({SYNTHETIC_LABEL})"
    return text


_CORNERS = {
    "upper right": (0.99, 0.98, "right", "top"),
    "upper left": (0.01, 0.98, "left", "top"),
    "lower right": (0.99, 0.02, "right", "bottom"),
    "lower left": (0.01, 0.02, "left", "bottom"),
}


def mark_synthetic(
    ax: Axes, data: Any, text: str = "SYNTHETIC DATA", loc: str = "upper right"
) -> bool:
    """Draw a badge in a corner of ``ax`` (``loc``, default upper right) when ``data`` is
    synthetic.

    Returns True if the badge was drawn.
    """
    if loc not in _CORNERS:
        raise ValueError(f"loc must be one of {sorted(_CORNERS)}, got {loc!r}")
    if not is_synthetic(data):
        return False
    x, y, ha, va = _CORNERS[loc]
    ax.text(
        x,
        y,
        text,
        transform=ax.transAxes,
        ha=ha,
        va=va,
        fontsize=6,
        fontweight="bold",
        color="#D55E00",
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "#D55E00"},
        zorder=10,
    )
    return True
