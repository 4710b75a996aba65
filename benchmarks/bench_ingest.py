"""Benchmark: message log (Parquet) -> channel lifetimes.

Compares three ways of turning a SYNTHETIC message log (``channel_id``, ``timestamp``)
into one row per channel (first seen, last seen, number of messages):

``ingest``  :func:`analysis.ingest.messages.message_log_to_channel_events` (DuckDB, out of
            core, memory limit, keyed hashing of ids **in the scan projection**, checks,
            "went dark" rule);
``ingest_nohash`` the same without hashing (``hash_ids=False``): the cost of hashing every
            row before grouping is ``ingest / ingest_nohash``;
``duckdb``  a hand-written raw DuckDB SQL ``GROUP BY`` with default settings (baseline);
``duckdb_hmac`` the same ``GROUP BY`` on the HMAC-SHA256 of every row's id (the SQL the
            ingest uses), isolating the hashing cost from the rest: ``duckdb_hmac / duckdb``;
``pandas``  ``pandas.read_parquet`` + ``groupby().agg`` (baseline).

Each runs in its own child process so that its peak resident memory (``ru_maxrss`` of that
child, from :func:`os.wait4`) is measured apart.  Times are for the work only (imports and
interpreter start excluded), best of ``--repeat`` runs inside the child and of ``--rounds``
alternating children (DuckDB and ingest), so that load from other processes hurts both alike.

The synthetic logs are generated once into ``benchmarks/.cache/`` (git-ignored) and reused.
Every channel id is a synthetic label (``synthetic_0000042``); nothing here is real data.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py --quick        # 10^6 rows
    .venv/bin/python benchmarks/bench_ingest.py                # 10^7 and 10^8 rows
    .venv/bin/python benchmarks/bench_ingest.py --sizes 20000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
MESSAGES_PER_CHANNEL = 100
ORIGIN = np.datetime64("2020-01-01T00:00:00", "us")
OBSERVATION_DAYS = 365.0
ROWS_PER_CHUNK = 5_000_000
ROW_GROUP_ROWS = 1_000_000
US_PER_DAY = 86_400 * 1_000_000


def synthetic_log_path(n_rows: int, cache_dir: Path = CACHE_DIR) -> Path:
    """Path of the cached synthetic log with ``n_rows`` rows."""
    return cache_dir / f"synthetic_messages_{n_rows}.parquet"


def generate_synthetic_log(path: Path, n_rows: int, seed: int = 20240601) -> None:
    """Write a SYNTHETIC message log of ``n_rows`` rows to ``path`` (Parquet).

    ``n_rows // 100`` channels, created uniformly over a 365-day window, with exponential
    lifetimes (mean 60 days, cut at the window end); each message picks a channel uniformly
    and a time uniformly within that channel's life.  Rows are in random order.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_channels = max(n_rows // MESSAGES_PER_CHANNEL, 1)
    created_days = rng.uniform(0.0, OBSERVATION_DAYS, n_channels)
    life_days = np.minimum(rng.exponential(60.0, n_channels), OBSERVATION_DAYS - created_days)
    names = pa.array([f"synthetic_{i:07d}" for i in range(n_channels)], type=pa.string())
    schema = pa.schema([("channel_id", pa.string()), ("timestamp", pa.timestamp("us"))])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        done = 0
        while done < n_rows:
            size = min(ROWS_PER_CHUNK, n_rows - done)
            channel = rng.integers(0, n_channels, size)
            offset_days = created_days[channel] + rng.uniform(0.0, 1.0, size) * life_days[channel]
            stamps = ORIGIN + (offset_days * US_PER_DAY).astype("int64").astype("timedelta64[us]")
            table = pa.table(
                {"channel_id": names.take(pa.array(channel)), "timestamp": pa.array(stamps)},
                schema=schema,
            )
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            done += size
    os.replace(tmp, path)


# --------------------------------------------------------------------------- workers
BENCH_KEY = "benchmark-synthetic-key-0123456789"


def _work_ingest(path: str) -> int:
    from analysis.ingest.messages import message_log_to_channel_events

    events = message_log_to_channel_events(
        path, inactivity_days=30.0, hash_key=BENCH_KEY, progress=False
    )
    return len(events)


def _work_ingest_nohash(path: str) -> int:
    from analysis.ingest.messages import message_log_to_channel_events

    events = message_log_to_channel_events(
        path, inactivity_days=30.0, hash_ids=False, progress=False
    )
    return len(events)


def _work_duckdb_hmac(path: str) -> int:
    import duckdb

    from analysis.ingest.privacy import hmac_sql_expression, hmac_sql_parts

    inner, outer = hmac_sql_parts(BENCH_KEY.encode())
    cid = hmac_sql_expression("channel_id", "$inner", "$outer")
    con = duckdb.connect()
    frame = con.execute(
        f"SELECT {cid} AS c, min(timestamp) AS first_seen, max(timestamp) AS last_seen, "
        "count(*) AS n_messages FROM read_parquet($path) GROUP BY c",
        {"path": path, "inner": inner, "outer": outer},
    ).fetchdf()
    con.close()
    return len(frame)


def _work_duckdb(path: str) -> int:
    import duckdb

    con = duckdb.connect()
    frame = con.execute(
        "SELECT channel_id, min(timestamp) AS first_seen, max(timestamp) AS last_seen, "
        "count(*) AS n_messages FROM read_parquet(?) GROUP BY channel_id",
        [path],
    ).fetchdf()
    con.close()
    return len(frame)


def _work_pandas(path: str) -> int:
    import pandas as pd

    log = pd.read_parquet(path, columns=["channel_id", "timestamp"])
    frame = log.groupby("channel_id", sort=False)["timestamp"].agg(["min", "max", "size"])
    return len(frame)


WORKERS = {
    "ingest": _work_ingest,
    "ingest_nohash": _work_ingest_nohash,
    "duckdb": _work_duckdb,
    "duckdb_hmac": _work_duckdb_hmac,
    "pandas": _work_pandas,
}


def _worker_main(name: str, path: str, repeat: int) -> None:
    best = float("inf")
    n_out = 0
    for _ in range(repeat):
        start = time.perf_counter()
        n_out = WORKERS[name](path)
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"seconds": best, "n_channels": n_out}))


def run_in_child(name: str, path: Path, repeat: int) -> dict:
    """Run one worker in a child process; return its time, output size and peak RSS (MB)."""
    cmd = [sys.executable, __file__, "--worker", name, "--path", str(path), "--repeat", str(repeat)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait4 gives the rusage of this child alone (Linux ru_maxrss is in KiB).
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"worker {name} failed ({proc.returncode}):\n{err}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = usage.ru_maxrss / 1024.0
    return result


def _available_memory_mb() -> float:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("inf")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints a table of times, ratios and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one size: 10^6 rows")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="row counts")
    parser.add_argument("--repeat", type=int, default=None, help="runs per child (best kept)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="alternating child runs of duckdb and ingest (best time kept)",
    )
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument(
        "--skip-pandas-above",
        type=int,
        default=None,
        help="skip pandas above this many rows (default: when its estimated "
        "peak memory exceeds 60%% of available memory)",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        _worker_main(args.worker, args.path, args.repeat or 1)
        return 0

    # 2 x 10^7 rows with 200,000 channels is the reference case of the ingestion issue
    sizes = args.sizes or ([1_000_000] if args.quick else [10_000_000, 20_000_000, 100_000_000])
    print("SYNTHETIC message logs; times exclude interpreter start; peak = ru_maxrss of child")
    print(
        f"{'rows':>12} {'method':>13} {'seconds':>9} {'vs duckdb':>10} {'vs pandas':>10}"
        f" {'peak MB':>9} {'channels':>9}"
    )
    pandas_mb_per_row: float | None = None
    for n_rows in sorted(sizes):
        path = synthetic_log_path(n_rows, args.cache_dir)
        if not path.exists():
            start = time.perf_counter()
            generate_synthetic_log(path, n_rows)
            print(f"# generated {path.name} in {time.perf_counter() - start:.1f} s", flush=True)
        if args.generate_only:
            continue
        repeat = args.repeat or (3 if n_rows <= 20_000_000 else 1)
        results: dict[str, dict] = {}
        # DuckDB and ingest alternate over `rounds` children each (best time, largest peak),
        # so that a busy machine hurts both alike.
        order = ["duckdb", "duckdb_hmac", "ingest", "ingest_nohash"] * args.rounds + ["pandas"]
        for name in order:
            if name == "pandas":
                limit = args.skip_pandas_above
                too_big = limit is not None and n_rows > limit
                if limit is None and pandas_mb_per_row is not None:
                    estimate = pandas_mb_per_row * n_rows
                    too_big = estimate > 0.6 * _available_memory_mb()
                    if too_big:
                        print(f"# pandas skipped at {n_rows}: estimated peak {estimate:,.0f} MB")
                if too_big:
                    continue
            res = run_in_child(name, path, repeat)
            if name in results:
                res["seconds"] = min(res["seconds"], results[name]["seconds"])
                res["peak_mb"] = max(res["peak_mb"], results[name]["peak_mb"])
            results[name] = res
            if name == "pandas":
                pandas_mb_per_row = results[name]["peak_mb"] / n_rows
        base = results["duckdb"]["seconds"]
        pandas_s = results.get("pandas", {}).get("seconds")
        for name in ("duckdb", "duckdb_hmac", "ingest", "ingest_nohash", "pandas"):
            if name not in results:
                continue
            res = results[name]
            vs_pandas = f"{pandas_s / res['seconds']:.2f}x" if pandas_s else "skipped"
            print(
                f"{n_rows:>12,} {name:>13} {res['seconds']:>9.2f} "
                f"{res['seconds'] / base:>9.2f}x {vs_pandas:>10} {res['peak_mb']:>9.0f}"
                f" {res['n_channels']:>9,}",
                flush=True,
            )
        print(
            f"# hashing in the projection: ingest / ingest_nohash = "
            f"{results['ingest']['seconds'] / results['ingest_nohash']['seconds']:.2f}x; "
            f"duckdb_hmac / duckdb = {results['duckdb_hmac']['seconds'] / base:.2f}x",
            flush=True,
        )
    print(
        "'vs duckdb' = time / raw DuckDB time (target <= 1.2); "
        "'vs pandas' = pandas time / time (target >= 2); peak target at 10^8: < 1024 MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
