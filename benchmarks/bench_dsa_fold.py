"""How long `takedowns etl` takes with a large DSA export folded in (SYNTHETIC rows).

Writes a SYNTHETIC ``daily_series.csv`` of DAYS x PLATFORMS x 5 decision kinds (made-up
counts, platform names 'SYN platform N') with a manifest marked synthetic, next to a copy of
``data/raw``, then times ``build_tables`` (against the repository alone, the baseline) and a full ``run_etl``
into a temporary folder.
Nothing in the repository is written.

    .venv/bin/python benchmarks/bench_dsa_fold.py [DAYS] [PLATFORMS]   # default 730 60
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from analysis import paths
from analysis.etl.build import build_tables
from analysis.etl.write import run_etl

KINDS = ("any", "visibility", "account", "provision", "monetary")


def main(days: int = 730, platforms: int = 60) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        shutil.copytree(paths.raw_dir(), raw)
        folder = raw / "dsa_tdb"
        folder.mkdir()
        start = date(2024, 1, 1)
        lines = ["decision_day,platform,decision_kind,statements,share_filed,partial"]
        for d in range(days):
            day = start + timedelta(days=d)
            for p in range(platforms):
                for kind in KINDS:
                    lines.append(f"{day},SYN platform {p},{kind},{(d * 7 + p * 3) % 50},1.0,False")
        (folder / "daily_series.csv").write_text("\n".join(lines) + "\n")
        manifest = {
            "scope": "keyword",
            "synthetic": True,
            "first_dump_day": start.isoformat(),
            "last_dump_day": (start + timedelta(days=days)).isoformat(),
        }
        (folder / "manifest.json").write_text(json.dumps(manifest))
        b0 = time.perf_counter()
        build_tables(paths.raw_dir())  # baseline: the repository alone
        base = time.perf_counter() - b0
        t0 = time.perf_counter()
        tables = build_tables(raw)
        t1 = time.perf_counter()
        counts = run_etl(raw, Path(tmp) / "processed")
        t2 = time.perf_counter()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{len(lines) - 1} daily rows: figures {len(tables.figures)}, series "
            f"{counts['series']}; build_tables {t1 - t0:.1f} s ({(t1 - t0) / base:.1f}x the "
            f"repository alone, {base:.1f} s), run_etl {t2 - t1:.1f} s, peak RSS {rss:.0f} MB"
        )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
