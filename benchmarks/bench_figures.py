"""Benchmark: ``make figures`` (every notebook, 2 workers) against the 6.5-minute baseline.

Run ``.venv/bin/python benchmarks/bench_figures.py`` (``make bench`` runs it).  Executes
``takedowns figures --jobs 2`` into a temporary reports folder (the canonical ``reports/`` is
left alone), prints the runner's progress line per notebook, then the wall-clock time, the
ratio to the baseline of issue 14 (390 s: ``make figures`` before the runner was reworked,
on 2 cores) and whether the 120 s target is met.  ``--jobs 1`` measures a serial run;
``--notebook 01 --notebook 02`` a subset (the target then means nothing and is not judged).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE_SECONDS = 390.0
"""``make figures`` before issue 14: 6.5 minutes on 2 cores (notebook 05 alone 5.5)."""

TARGET_SECONDS = 120.0
"""Issue 14's target for ``make figures`` on 2 cores."""


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 (the numbers are the result, not a pass/fail)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--notebook", action="append", help="only this notebook (repeatable)")
    args = parser.parse_args(argv)
    takedowns = Path(sys.executable).with_name("takedowns")
    with tempfile.TemporaryDirectory(prefix="bench-figures-") as tmp:
        command = [str(takedowns), "figures", "--jobs", str(args.jobs), "--reports", tmp]
        for name in args.notebook or []:
            command += ["--notebook", name]
        print(f"cpus: {os.cpu_count()}  python {platform.python_version()}  jobs: {args.jobs}")
        start = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - start
    ratio = seconds / BASELINE_SECONDS
    print(
        f"takedowns figures --jobs {args.jobs}: {seconds:.1f} s; baseline {BASELINE_SECONDS:.0f} s "
        f"(6.5 min): ratio {ratio:.2f} ({1 / ratio:.1f}x faster)"
    )
    if not args.notebook:
        verdict = "met" if seconds <= TARGET_SECONDS else "NOT met"
        print(f"target <= {TARGET_SECONDS:.0f} s on 2 cores: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
