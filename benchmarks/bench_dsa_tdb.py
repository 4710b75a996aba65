"""Benchmark: DSA Transparency Database dumps, DuckDB engine vs pandas chunks vs Spark local.

Run: ``.venv/bin/python benchmarks/bench_dsa_tdb.py [--quick] [--rows N] [--no-spark]``.

A SYNTHETIC day in the published layout (light version by default, ``--version full`` for
the full one; ``--rows`` statements, default 5e7) is read three ways, each in its own process so peak memory (max RSS) is its own:

- ``duckdb``: :func:`analysis.ingest.dsa_tdb.duckdb_engine.process_dump_file` (each CSV
  part inflated into a named pipe read by DuckDB's CSV reader; checks and selection in one
  grouped scan; 2 parts at a time), with its defaults;
- ``pandas`` (baseline, what a researcher would otherwise write): ``pandas.read_csv`` in
  chunks of 1e6 rows straight from the zip members, the same columns, the same selection;
- ``spark``: the Spark engine in local mode (parts streamed to a scratch folder first; the
  extraction is included in its time).

Printed: records per second, seconds, CPU seconds, peak memory (the high-water mark of the
engine's own process; for Spark that is the Python driver only, the JVM is not counted), the
ratio to pandas in wall time and in CPU time, and the projected time for one year of dumps
at 100 million statements a day (the upper end of 2025 volumes). Wall-clock ratios need an
idle machine: the load average at the start is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

YEAR_STATEMENTS = 365 * 100_000_000


def _run_duckdb(path: Path) -> dict:
    from analysis.ingest.dsa_tdb.duckdb_engine import process_dump_file

    t0 = time.perf_counter()
    table, manifest = process_dump_file(path)
    return {
        "seconds": time.perf_counter() - t0,
        "records": manifest["records"],
        "selected": table.num_rows,
    }


def _run_pandas(path: Path) -> dict:
    import zipfile

    import pandas as pd

    from analysis.ingest.dsa_tdb.layout import REQUIRED_COLUMNS

    t0 = time.perf_counter()
    records = selected = 0
    with zipfile.ZipFile(path) as outer:
        for member in sorted(outer.namelist()):
            with zipfile.ZipFile(outer.open(member)) as inner:
                for name in inner.namelist():
                    with inner.open(name) as raw:
                        chunks = pd.read_csv(
                            raw,
                            encoding="utf-8",
                            usecols=list(REQUIRED_COLUMNS),
                            dtype=str,
                            chunksize=1_000_000,
                            on_bad_lines="skip",
                        )
                        for chunk in chunks:
                            records += len(chunk)
                            hit = (
                                chunk["category_specification"]
                                .fillna("")
                                .str.contains('"KEYWORD_TERRORIST_CONTENT"', regex=False)
                            )
                            sel = chunk[hit]
                            sel.groupby([sel["application_date"].str[:10], "platform_name"]).size()
                            selected += int(hit.sum())
    return {"seconds": time.perf_counter() - t0, "records": records, "selected": selected}


def _run_spark(path: Path) -> dict:
    from analysis.ingest.dsa_tdb.spark_engine import spark_aggregate, spark_session

    session = spark_session("local[2]")
    t0 = time.perf_counter()
    aggregates, manifests = spark_aggregate([path], session=session)
    seconds = time.perf_counter() - t0
    session.stop()
    return {
        "seconds": seconds,
        "records": manifests[0]["records"],
        "selected": manifests[0]["selected"],
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory (MB).

    Linux's ``VmHWM`` is the high-water mark of this process's own address space.
    ``getrusage``'s ``ru_maxrss`` is not: it survives ``exec`` and so starts at the RSS of
    the parent that spawned the child (here the benchmark, which has just generated a
    day's dump): it reported about 1 GB for every engine whatever it did.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(engine: str, path: str) -> None:
    result = {"duckdb": _run_duckdb, "pandas": _run_pandas, "spark": _run_spark}[engine](Path(path))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_mb"] = _peak_rss_mb()
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(result))


def _run_child(engine: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2 parts of 200,000 statements")
    parser.add_argument("--rows", type=int, default=50_000_000, help="statements in the day")
    parser.add_argument(
        "--spark-rows",
        type=int,
        default=3_000_000,
        help="statements in Spark's own (smaller) day: Spark local reads about 50,000 a "
        "second, 17 minutes for the default day (default 3e6; 0: the same day)",
    )
    parser.add_argument(
        "--version",
        choices=("light", "full"),
        default="light",
        help="dump version (full: free text and territorial_scope too; default light)",
    )
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark engine")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    from analysis.ingest.dsa_tdb.generate import replicate_day

    per_part = 200_000 if args.quick else 1_000_000
    parts = 2 if args.quick else max(1, args.rows // per_part)
    load_at_start = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-dsa-") as folder:
        t0 = time.perf_counter()
        path = replicate_day(
            folder,
            date(2025, 3, 3),
            statements_per_part=per_part,
            parts=parts,
            version=args.version,
        )
        size_mb = path.stat().st_size / 1e6
        print(
            f"SYNTHETIC {args.version} day: {parts} parts x {per_part:,} statements, "
            f"{size_mb:,.0f} MB zipped (generated in {time.perf_counter() - t0:.0f} s)"
        )
        for engine in ("duckdb", "pandas"):
            results[engine] = _run_child(engine, path)
        if not args.no_spark:
            spark_path = path
            if not args.quick and 0 < args.spark_rows < parts * per_part:
                spark_parts = max(1, args.spark_rows // per_part)
                spark_path = replicate_day(
                    Path(folder) / "spark",
                    date(2025, 3, 3),
                    statements_per_part=per_part,
                    parts=spark_parts,
                    version=args.version,
                )
                print(f"Spark's SYNTHETIC day: {spark_parts} parts x {per_part:,} statements")
            results["spark"] = _run_child("spark", spark_path)
    base = results["pandas"]["records"] / results["pandas"]["seconds"]
    base_cpu = results["pandas"]["records"] / results["pandas"]["cpu_seconds"]
    print(f"load average at start: {load_at_start:.1f} (wall-clock ratios need an idle machine)")
    print(
        f"{'engine':10s} {'records':>12s} {'wall s':>8s} {'cpu s':>8s} {'records/s':>12s} "
        f"{'peak MB':>8s} {'vs pandas':>9s} {'cpu ratio':>9s} {'1 year (h)':>10s}"
    )
    for engine, r in results.items():
        rate = r["records"] / r["seconds"]
        cpu_ratio = f"{r['records'] / r['cpu_seconds'] / base_cpu:8.1f}x"
        if engine == "spark":
            engine, cpu_ratio = "spark*", f"{'-':>9s}"
        print(
            f"{engine:10s} {r['records']:12,d} {r['seconds']:8.1f} {r['cpu_seconds']:8.1f} "
            f"{rate:12,.0f} {r['peak_mb']:8.0f} {rate / base:8.1f}x "
            f"{cpu_ratio} {YEAR_STATEMENTS / rate / 3600:10.1f}"
        )
    if "spark" in results:
        print(
            "* Spark: CPU seconds and peak MB of the Python driver only (the JVM's are not "
            "counted), so no CPU ratio"
        )
        if results["spark"]["records"] != results["duckdb"]["records"]:
            print("* Spark ran on its own smaller day (--spark-rows): compare rates, not times")
    selected = {e: r["selected"] / r["records"] for e, r in results.items()}
    if len(set(selected.values())) != 1:
        raise SystemExit(f"engines disagree on the selected share of statements: {selected}")


if __name__ == "__main__":
    main()
