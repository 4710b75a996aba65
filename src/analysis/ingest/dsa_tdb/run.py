"""``takedowns ingest dsa-tdb``: dump files in, daily series and delays out.

Output folder layout (all Parquet, rows sorted by key, metadata in ``manifest.json``):

``daily.parquet``
    decision_day x platform x decision_kind x automated_detection x automated_decision x
    territorial_scope -> statements.
``completeness.parquet``
    decision_day x platform -> share_filed, partial, missing_dumps (see :mod:`.outputs`).
``delay_quantiles.parquet``
    platform x decision_month -> statements, median/p90/p99 days, share decided the same day.
``delay_survival.parquet``
    platform x content_day x delay_days -> statements, event, truncation_days.
``filing_lag.parquet``
    platform x decision_day x filing_lag_days -> statements.
``files.parquet``
    one row per CSV part: records, malformed records (and their numbers), valid records.
``daily_series.csv``
    decision_day x platform x decision_kind -> statements, share_filed, partial: the compact
    series to copy into ``data/raw/dsa_tdb/`` (with ``manifest.json``) so that ``make data``
    folds it into the dataset (table ``dsa_tdb_daily``).
``manifest.json``
    scope (what was selected), engine, dumps and their days, vocabulary eras, unknown
    keywords, totals, and the statement that the data are synthetic when they are.
``days/``
    one decisions table and manifest per dump (the resumable work: a dump whose manifest is
    here is skipped unless ``force``).

On failure nothing in the output folder is created or changed except ``days/`` entries of
dumps that completed before the failing one (so a re-run resumes); the failing dump leaves
nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from analysis import __version__
from analysis.ingest.dsa_tdb import outputs
from analysis.ingest.dsa_tdb.duckdb_engine import dump_day, process_dump_file, write_day
from analysis.ingest.dsa_tdb.layout import parse_file_name
from analysis.ingest.dsa_tdb.query import OUTPUT_KEYS, SCOPES, Scope, aggregation_sql
from analysis.ingest.dsa_tdb.reader import DsaTdbError

AGGREGATES = ("daily", "delay", "filing")


def find_dump_files(inputs: Iterable[str | Path]) -> list[Path]:
    """Dump files named in ``inputs`` (files or folders searched recursively), by day."""
    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            candidates = sorted(
                p for p in path.rglob("sor-*") if p.is_file() and not p.name.endswith(".sha1")
            )
            found.extend(p for p in candidates if parse_file_name(p.name))
        elif path.is_file():
            found.append(path)
        else:
            raise DsaTdbError("no such dump file or folder", file=path)
    if not found:
        raise DsaTdbError(
            "no dump files (sor-<platform>-<YYYY-MM-DD>-<full|light>.zip) found",
            file=", ".join(str(i) for i in inputs),
        )
    return sorted(set(found), key=lambda p: (dump_day(p), p.name))


def aggregate_days(day_tables: list[Path]) -> dict[str, pd.DataFrame]:
    """Run the shared aggregation over the per-day decision tables with DuckDB."""
    con = duckdb.connect()
    try:
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in day_tables)
        con.execute(f"CREATE VIEW decisions AS SELECT * FROM read_parquet([{files}])")
        return {
            name: sort_aggregate(name, con.execute(aggregation_sql(name)).df())
            for name in AGGREGATES
        }
    finally:
        con.close()


def sort_aggregate(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by the table's key, integer columns as int64 (engines agree byte for byte)."""
    keys = list(OUTPUT_KEYS[name])
    columns = keys + ["statements"]
    frame = frame[columns].copy()
    frame["statements"] = frame["statements"].astype("int64")
    for column in ("delay_days", "filing_lag_days"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    for column in keys:
        if column not in ("delay_days", "filing_lag_days"):
            frame[column] = frame[column].astype("string")
    return frame.sort_values(keys, na_position="first").reset_index(drop=True)


def _write_parquet(frame: pd.DataFrame, folder: Path, name: str) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, folder / f"{name}.parquet")


def finish_outputs(
    out: Path,
    aggregates: dict[str, pd.DataFrame],
    manifests: list[dict],
    *,
    scope: Scope,
    engine: str,
    synthetic: bool,
) -> dict:
    """Write the output tables and manifest into ``out`` (each file replaced atomically)."""
    dump_days = sorted({date.fromisoformat(m["dump_day"]) for m in manifests})
    last = dump_days[-1]
    daily = aggregates["daily"]
    filing = aggregates["filing"]
    delay = aggregates["delay"]
    tables = {
        "daily": daily,
        "completeness": outputs.completeness(daily, filing, dump_days),
        "delay_quantiles": outputs.delay_quantiles(delay),
        "delay_survival": outputs.survival_table(delay, last),
        "filing_lag": filing,
        "files": files_table(manifests),
    }
    manifest = {
        "source": "EU DSA Transparency Database daily dumps (statements of reasons)",
        "synthetic": synthetic,
        "scope": scope,
        "scope_definition": SCOPES[scope],
        "engine": engine,
        "takedown_dynamics_version": __version__,
        "dumps": [m["dump"] for m in manifests],
        "dump_days": [d.isoformat() for d in dump_days],
        "first_dump_day": dump_days[0].isoformat(),
        "last_dump_day": last.isoformat(),
        "vocabulary_eras": sorted({m["vocabulary_era"] for m in manifests}),
        "unknown_keywords": sorted({k for m in manifests for k in m["unknown_keywords"]}),
        "records": sum(m["records"] for m in manifests),
        "malformed": sum(m["malformed"] for m in manifests),
        "selected": sum(m["selected"] for m in manifests),
        "delay_censoring": (
            "none: every statement is an observed decision; delays are right-truncated at "
            "truncation_days (content still up at the last dump is not in the data)"
        ),
        "partial_rule": (
            f"partial if share_filed < {outputs.PARTIAL_THRESHOLD} or a dump is missing "
            "within the filing-lag horizon"
        ),
    }
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        for name, frame in tables.items():
            _write_parquet(frame, staging, name)
        (staging / "manifest.json").write_text(
            json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        series = daily_series(tables["daily"], tables["completeness"])
        series.to_csv(staging / "daily_series.csv", index=False, lineterminator="\n")
        for name in [*tables, "daily_series", "manifest"]:
            suffix = {"manifest": ".json", "daily_series": ".csv"}.get(name, ".parquet")
            os.replace(staging / f"{name}{suffix}", out / f"{name}{suffix}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def daily_series(daily: pd.DataFrame, completeness: pd.DataFrame) -> pd.DataFrame:
    """Statements per decision day, platform and decision kind, with completeness."""
    keys = ["decision_day", "platform", "decision_kind"]
    columns = keys + ["statements", "share_filed", "partial"]
    if daily.empty:
        return pd.DataFrame(columns=columns)
    summed = daily.groupby(keys, as_index=False)["statements"].sum()
    merged = summed.merge(completeness, on=["decision_day", "platform"], how="left")
    merged["share_filed"] = merged["share_filed"].round(6)
    return merged[columns].sort_values(keys).reset_index(drop=True)


def files_table(manifests: list[dict]) -> pd.DataFrame:
    """One row per CSV part: the reconciliation of records read with records kept."""
    rows = []
    for m in manifests:
        for part in m["parts"]:
            rows.append(
                {
                    "dump": m["dump"],
                    "part": part["name"],
                    "records": int(part["records"]),
                    "malformed": int(part["malformed"]),
                    "valid": int(part["valid"]),
                    "malformed_records": ",".join(str(r) for r in part["malformed_records"]),
                }
            )
    return pd.DataFrame(
        rows, columns=["dump", "part", "records", "malformed", "valid", "malformed_records"]
    )


def ingest_dsa_tdb(
    inputs: Iterable[str | Path],
    out: str | Path,
    *,
    scope: Scope = "keyword",
    engine: str = "duckdb",
    force: bool = False,
    accepted_terms: Iterable[str] = (),
    synthetic: bool = False,
    progress: bool | None = None,
    memory_limit: str = "512MB",
    spark_master: str = "local[2]",
    workers: int = 2,
    transport: str = "auto",
    temp_dir: str | Path | None = None,
) -> dict:
    """Read DSA Transparency Database dumps; write daily series and delays into ``out``.

    Parameters
    ----------
    inputs
        Dump files or folders (outer ``.zip``, ``.csv`` parts, or dump-text Parquet).
    out
        Output folder (created). ``out/days`` keeps the per-dump work for resuming.
    scope
        ``keyword`` (statements listing KEYWORD_TERRORIST_CONTENT) or ``category`` (the
        public-security category too); stated in the manifest.
    engine
        ``duckdb`` (one machine, streaming) or ``spark`` (:mod:`.spark_engine`).
    force
        Re-read dumps already done.
    accepted_terms
        Vocabulary terms to accept beyond the known lists (after checking they are genuine).
    synthetic
        Mark every output as synthetic (set for generated dumps).
    workers
        CSV parts read at once by the DuckDB engine.
    transport
        How a CSV part reaches DuckDB: ``pipe`` (a named pipe, nothing written to disk),
        ``file`` (a scratch file) or ``auto`` (a pipe where the system has them); see
        :mod:`.transport`.
    temp_dir
        Parent of the private scratch folder (default: the system temporary folder).

    Returns
    -------
    dict
        The manifest written to ``out/manifest.json``.
    """
    if scope not in SCOPES:
        raise DsaTdbError(f"unknown scope {scope!r}; expected one of {sorted(SCOPES)}")
    files = find_dump_files(inputs)
    out = Path(out)
    accepted = frozenset(accepted_terms)
    if engine == "spark":
        from analysis.ingest.dsa_tdb.spark_engine import spark_aggregate

        aggregates, manifests = spark_aggregate(
            files,
            scope=scope,
            accepted_terms=accepted,
            master=spark_master,
            scratch_dir=temp_dir,
        )
        return finish_outputs(
            out, aggregates, manifests, scope=scope, engine="spark", synthetic=synthetic
        )
    if engine != "duckdb":
        raise DsaTdbError(f"unknown engine {engine!r}; expected duckdb or spark")
    days_dir = out / "days"
    manifests: list[dict] = []
    tables: list[Path] = []
    # one bar in statements (a day is 50-130 million of them), advanced as each CSV part is
    # done, with the dump being read in its description
    bar = tqdm(
        desc="dsa-tdb",
        unit=" statements",
        unit_scale=True,
        disable=None if progress is None else not progress,
    )
    try:
        for number, path in enumerate(files, 1):
            bar.set_description(f"dsa-tdb dump {number}/{len(files)}")
            manifest_path = days_dir / f"{path.name}.json"
            table_path = days_dir / f"{path.name}.parquet"
            if manifest_path.exists() and table_path.exists() and not force:
                done = json.loads(manifest_path.read_text(encoding="utf-8"))
                if done.get("scope") == scope:
                    manifests.append(done)
                    tables.append(table_path)
                    continue
            table, manifest = process_dump_file(
                path,
                scope=scope,
                accepted_terms=accepted,
                memory_limit=memory_limit,
                workers=workers,
                transport=transport,
                temp_dir=temp_dir,
                on_part=lambda stats: bar.update(stats.records),
            )
            tables.append(write_day(days_dir, table, manifest))
            manifests.append(manifest)
    finally:
        bar.close()
    aggregates = aggregate_days(tables)
    return finish_outputs(
        out, aggregates, manifests, scope=scope, engine="duckdb", synthetic=synthetic
    )
