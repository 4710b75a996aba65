"""Figure of the policy verdicts (rows: results of notebook 05, columns: mechanisms)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["VERDICT_COLOURS", "plot_verdicts"]


VERDICT_COLOURS = {
    "holds": "#009E73",
    "holds (size differs)": "#F0E442",
    "does not hold": "#D55E00",
}


def plot_verdicts(table: pd.DataFrame, labels: dict[str, str] | None = None, ax=None):
    """Grid of verdicts (rows: results, columns: mechanisms), each cell with its value."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots()
    results = list(dict.fromkeys(table["result"]))
    mechs = list(dict.fromkeys(table["mechanism"]))
    for _, row in table.iterrows():
        x, y = mechs.index(row["mechanism"]), results.index(row["result"])
        ax.add_patch(
            plt.Rectangle(
                (x - 0.5, y - 0.5),
                1,
                1,
                color=VERDICT_COLOURS[row["verdict"]],
                alpha=0.8,
                lw=0.5,
                ec="white",
            )
        )
        v = row["value"]
        text = "never" if not np.isfinite(v) else (f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}")
        ax.text(x, y, text, ha="center", va="center", fontsize=5.5, color="black")
    ax.set_xlim(-0.5, len(mechs) - 0.5)
    ax.set_ylim(len(results) - 0.5, -0.5)
    labels = labels or {}
    ax.set_xticks(range(len(mechs)), [labels.get(m, m) for m in mechs], rotation=25, ha="right")
    first = table.drop_duplicates("result").set_index("result")["label"]
    ax.set_yticks(range(len(results)), [first[r] for r in results])
    ax.grid(False)
    ax.legend(
        handles=[Patch(color=c, label=k) for k, c in VERDICT_COLOURS.items()],
        loc="lower left",
        bbox_to_anchor=(1.01, 0.0),
        fontsize=5.5,
    )
    return ax
