"""A cluster: the same selection and aggregation (:mod:`.query`) on Apache Spark.

Use it for the full history (billions of statements) on a cluster, or in Spark's local mode
to check it against the DuckDB engine (the tests do: both engines must give identical
aggregates). Spark cannot read inside zip archives, so published day archives are first
streamed into CSV parts in a scratch folder (one part at a time, deleted afterwards); on a
cluster, point it at CSV parts or dump-text Parquet on shared storage instead
(``dsa-tdb``'s chunking writes both).

Record accounting follows the DuckDB engine: a record whose field count differs from the
header's is malformed (Spark's CSV reader pads short records and drops extra fields, so the
schema carries one extra column to catch long records, and a short record is one whose last
column, ``created_at``, a required field, is empty). Vocabulary and date checks use
:mod:`.checks` on the distinct values; an error names the file (Spark does not keep record
numbers; run the DuckDB engine on that file for the record number).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pandas as pd

from analysis.ingest.dsa_tdb import checks
from analysis.ingest.dsa_tdb.duckdb_engine import dump_day
from analysis.ingest.dsa_tdb.layout import era_for
from analysis.ingest.dsa_tdb.query import (
    SPARK,
    Scope,
    aggregation_sql,
    selection_predicate,
    selection_sql,
)
from analysis.ingest.dsa_tdb.reader import (
    ARCHIVE_ERRORS,
    READ_COLUMNS,
    DsaTdbError,
    DsaTdbVocabularyError,
    csv_parts,
    read_header,
    sha1_check,
)

_EXTRA = "_extra_fields"


def spark_session(master: str = "local[2]"):
    """A Spark session (local mode by default; pass a cluster URL such as spark://host:7077)."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("takedown-dynamics dsa-tdb")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _extract(files: list[Path], scratch: Path) -> dict[Path, list[tuple[str, Path, tuple]]]:
    """Stream each CSV part of each dump into ``scratch``; return them per dump."""
    out: dict[Path, list[tuple[str, Path, tuple]]] = {}
    for path in files:
        if path.suffix == ".zip":
            sha1_check(path)  # a damaged download stops here, as in the DuckDB engine
        with csv_parts(path) as parts:
            extracted = []
            for i, part in enumerate(parts):
                header = read_header(part)
                target = scratch / f"{path.stem}-{i:05d}.csv"
                try:
                    with target.open("wb") as sink:
                        part.write_to(sink)
                except ARCHIVE_ERRORS as error:
                    raise DsaTdbError(
                        f"damaged or truncated archive member ({error}); download it again",
                        file=part.name,
                    ) from None
                extracted.append((part.name, target, header))
        out[path] = extracted
    return out


def _rows_to_frame(rows, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def spark_aggregate(
    files: list[Path],
    *,
    scope: Scope = "keyword",
    accepted_terms: frozenset[str] = frozenset(),
    master: str = "local[2]",
    session=None,
) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """The three aggregates (``daily``, ``delay``, ``filing``) and per-dump manifests."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from analysis.ingest.dsa_tdb.run import AGGREGATES, sort_aggregate

    spark = session or spark_session(master)
    scratch = Path(tempfile.mkdtemp(prefix="takedowns-dsa-spark-"))
    try:
        extracted = _extract(files, scratch)
        manifests: list[dict] = []
        frames = []
        for path, parts in extracted.items():
            day = dump_day(path)
            era = era_for(day)
            by_header: dict[tuple, list[tuple[str, Path]]] = defaultdict(list)
            for name, target, header in parts:
                by_header[header].append((name, target))
            part_stats = []
            n_selected = 0
            unknown_keywords: set[str] = set()
            for header, members in by_header.items():
                schema = StructType(
                    [StructField(c, StringType(), True) for c in header]
                    + [StructField(_EXTRA, StringType(), True)]
                )
                frame = (
                    spark.read.option("header", "true")
                    .option("multiLine", "true")
                    .option("escape", '"')
                    .option("mode", "PERMISSIVE")
                    .schema(schema)
                    .csv([str(t) for _, t in members])
                    .withColumn("_file", F.input_file_name())
                )
                malformed = F.col(_EXTRA).isNotNull() | F.col("created_at").isNull()
                counts = (
                    frame.groupBy("_file")
                    .agg(
                        F.count(F.lit(1)).alias("records"),
                        F.sum(F.when(malformed, 1).otherwise(0)).alias("malformed"),
                    )
                    .collect()
                )
                by_file = {Path(r["_file"].replace("file://", "")).name: r for r in counts}
                for name, target in members:
                    r = by_file.get(target.name)
                    records = int(r["records"]) if r else 0
                    bad = int(r["malformed"]) if r else 0
                    part_stats.append(
                        {
                            "name": name,
                            "records": records,
                            "malformed": bad,
                            "malformed_records": [],
                            "valid": records - bad,
                        }
                    )
                valid = frame.where(~malformed).select(
                    *[c for c in READ_COLUMNS if c in header], "_file"
                )
                unknown_keywords |= _check(
                    valid, path, era, accepted_terms, F, selection_predicate(scope)
                )
                cols = [c for c in READ_COLUMNS if c in header]
                view = f"raw_{len(frames)}"
                valid.select(*cols).createOrReplaceTempView(view)
                selected = spark.sql(
                    selection_sql(
                        SPARK,
                        scope=scope,
                        has_territorial_scope="territorial_scope" in header,
                        source=view,
                    )
                ).cache()
                n_selected += selected.count()
                frames.append(selected)
            part_stats.sort(key=lambda p: p["name"])
            manifests.append(
                {
                    "dump": path.name,
                    "dump_day": day.isoformat(),
                    "vocabulary_era": era.name,
                    "scope": scope,
                    "sha1": None,
                    "records": sum(p["records"] for p in part_stats),
                    "malformed": sum(p["malformed"] for p in part_stats),
                    "selected": n_selected,
                    "unknown_keywords": sorted(unknown_keywords),
                    "parts": part_stats,
                }
            )
        decisions = frames[0]
        for extra in frames[1:]:
            decisions = decisions.unionByName(extra)
        decisions.createOrReplaceTempView("decisions")
        aggregates = {}
        for name in AGGREGATES:
            result = spark.sql(aggregation_sql(name))
            aggregates[name] = sort_aggregate(
                name, _rows_to_frame(result.collect(), result.columns)
            )
        return aggregates, manifests
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if session is None and os.environ.get("TAKEDOWNS_KEEP_SPARK") != "1":
            spark.stop()


def _check(frame, path: Path, era, accepted: frozenset[str], F, predicate: str) -> set[str]:
    """Vocabulary and date checks on a Spark frame of valid records, scoped as the DuckDB
    engine's: the category vocabulary on every record, decision and automation terms and
    dates on the selected records (``predicate``)."""
    unknown_keywords: set[str] = set()
    everything = frame
    selected = frame.where(F.expr(predicate))
    for column in checks.TERM_COLUMNS:
        frame = everything if column in checks.ALL_ROW_TERMS else selected
        values = {r[0] for r in frame.select(column).distinct().collect()}
        bad, unknown = checks.check_terms(column, values, era, accepted=accepted)
        unknown_keywords |= unknown
        if bad is not None:
            where = frame.where(F.col(column) == bad).select("_file").first()
            raise DsaTdbVocabularyError(
                f"term outside the {era.name} vocabulary of the database (a changed "
                "vocabulary?); run the duckdb engine on this file for the record number",
                file=where[0] if where else path,
                column=column,
                value=bad,
            )
    frame = selected
    for column in checks.REQUIRED_DATES + checks.OPTIONAL_DATES:
        required = column in checks.REQUIRED_DATES
        value = F.col(column)
        empty = value.isNull() | (value == "")
        malformed = (F.length(value) < 10) | F.expr(f"try_cast({column} AS TIMESTAMP)").isNull()
        condition = F.when(empty, F.lit(required)).otherwise(malformed)
        hit = frame.where(condition).select("_file", column).first()
        if hit is not None:
            raise DsaTdbError(
                "bad date: expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
                + (" (the field is required)" if required else "")
                + "; run the duckdb engine on this file for the record number",
                file=hit[0],
                column=column,
                value=hit[1],
            )
    return unknown_keywords
