"""Print the end-to-end bias/coverage tables of docs-e2e.md (SYNTHETIC data).

Run from the repository root::

    .venv/bin/python tests/e2e/bias_table.py                 # 400 replications, ~15 min
    .venv/bin/python tests/e2e/bias_table.py --replications 50 --rate-replications 20

Table 1: by inactivity window, the mean relative bias of the Kaplan-Meier and Weibull medians,
the coverage of their 95 % intervals (with a 95 % Wilson interval for the coverage), and the
Kaplan-Meier bias of the behaviour before issue 9 (no detection horizon).  Table 2: the
Kaplan-Meier bias at a 30-day window as the median posting rate falls, with and without a
creation message.  Design and assumptions: ``_e2e_chain`` module docstring.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _e2e_chain import DESIGN, replicate, summarise, true_median_days

RATES = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)


def window_table(replications: int, work: Path) -> pd.DataFrame:
    """Table 1 (the slow test's replications: seeds 0 .. replications - 1)."""
    rows = [row for seed in range(replications) for row in replicate(DESIGN, seed, work)]
    return summarise(pd.DataFrame(rows), true_median_days())


def rate_table(replications: int, work: Path, window: float = 30.0) -> pd.DataFrame:
    """Table 2: Kaplan-Meier bias and coverage against the median posting rate."""
    out = []
    for creation in (True, False):
        for rate in RATES:
            design = DESIGN.with_rate(rate, creation_message=creation)
            rows = [
                row
                for seed in range(replications)
                for row in replicate(design, 10_000 + seed, work, (window,), old_behaviour=False)
            ]
            s = summarise(pd.DataFrame(rows), true_median_days()).iloc[0]
            out.append(
                {
                    "creation_message": creation,
                    "rate_median_per_day": rate,
                    "km_bias_pct": s["km_bias_pct"],
                    "km_coverage": s["km_coverage"],
                    "weibull_bias_pct": s["weibull_bias_pct"],
                    "mean_seen_once": s["mean_seen_once"],
                }
            )
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame, *, index: bool = True) -> str:
    """A pipe table (no tabulate dependency)."""
    frame = table.reset_index() if index else table
    head = [str(c) for c in frame.columns]
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=400, help="0: skip table 1")
    parser.add_argument("--rate-replications", type=int, default=100, help="0: skip table 2")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="e2e-bias-") as tmp:
        work = Path(tmp)
        if args.replications:
            start = time.monotonic()
            table = window_table(args.replications, work)
            print(f"## by inactivity window ({args.replications} replications)\n")
            print(markdown(table))
            print(f"\n({time.monotonic() - start:.0f} s)\n", flush=True)
        if args.rate_replications:
            start = time.monotonic()
            rates = rate_table(args.rate_replications, work)
            print(f"## by posting rate, window 30 days ({args.rate_replications} replications)\n")
            print(markdown(rates, index=False))
            print(f"\n({time.monotonic() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
