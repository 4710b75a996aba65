"""A cluster: the same selection and aggregation (:mod:`.query`) on Apache Spark.

Use it for the full history (billions of statements) on a cluster, or in Spark's local mode
to check it against the DuckDB engine (the tests do: both engines must give identical
aggregates). Dumps are processed one at a time:

- CSV parts (``.csv``) and dump-text Parquet (``.parquet``, as ``dsa-tdb``'s chunking writes
  it: lists and timestamps are turned into the dump's text) are read where they are, so on
  a cluster point the engine at them on shared storage;
- Spark cannot read inside zip archives: the CSV parts of a published day archive are
  streamed into a scratch folder (``scratch_dir``; on a cluster it must be on storage every
  executor sees), read, and deleted before the next dump, so disk use is one day's parts.

The selected statements of each dump (a few thousand) are written to Parquet in the scratch
folder; the aggregation then runs once over all of them.

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
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import unquote, urlparse

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
    check_parquet_columns,
    csv_parts,
    read_header,
    sha1_check,
)
from analysis.ingest.scratch import make_scratch, remove_scratch

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


@contextmanager
def _spark_inputs(path: Path, scratch: Path) -> Iterator[list[tuple[str, str, tuple]]]:
    """(part name, location Spark reads, header) of each CSV part of one dump file.

    A ``.csv`` part is read in place; the parts of a zip archive are streamed into
    ``scratch`` and deleted when the dump is done.
    """
    if path.suffix == ".csv":
        with csv_parts(path) as parts:
            yield [(parts[0].name, str(path), read_header(parts[0]))]
        return
    if path.suffix == ".zip":
        sha1_check(path)  # a damaged download stops here, as in the DuckDB engine
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        extracted = []
        with csv_parts(path) as parts:
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
                extracted.append((part.name, str(target), header))
        yield extracted
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _rows_to_frame(rows, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def _parquet_as_text(spark, path: Path, F):
    """A dump-text Parquet file with the dump's text in every needed column."""
    from pyspark.sql.types import ArrayType, DateType, TimestampType

    frame = spark.read.parquet(str(path))
    wanted = check_parquet_columns(frame.columns, path)
    columns = []
    for field in frame.schema.fields:
        if field.name not in wanted:
            continue
        column = F.col(field.name)
        if isinstance(field.dataType, ArrayType):
            column = F.to_json(column)
        elif isinstance(field.dataType, (TimestampType, DateType)):
            column = F.date_format(column, "yyyy-MM-dd HH:mm:ss")
        else:
            column = column.cast("string")
        columns.append(column.alias(field.name))
    return frame.select(*columns, F.input_file_name().alias("_file"))


def _dump_on_spark(spark, path: Path, scratch: Path, *, scope, accepted, F, T):
    """Check and select one dump file; return its manifest and its selected frames."""
    day = dump_day(path)
    era = era_for(day)
    part_stats: list[dict] = []
    frames = []
    unknown_keywords: set[str] = set()
    if path.suffix == ".parquet":
        valid = _parquet_as_text(spark, path, F)
        records = valid.count()
        part_stats.append(
            {"name": path.name, "records": records, "malformed": 0, "malformed_records": []}
            | {"valid": records}
        )
        groups = [(tuple(c for c in valid.columns if c != "_file"), valid)]
    else:
        groups = []
    with _spark_inputs(path, scratch) if path.suffix != ".parquet" else nullcontext([]) as parts:
        by_header: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
        for name, location, header in parts:
            by_header[header].append((name, location))
        for header, members in by_header.items():
            schema = T.StructType(
                [T.StructField(c, T.StringType(), True) for c in header]
                + [T.StructField(_EXTRA, T.StringType(), True)]
            )
            frame = (
                spark.read.option("header", "true")
                .option("multiLine", "true")
                .option("escape", '"')
                .option("mode", "PERMISSIVE")
                .schema(schema)
                .csv([location for _, location in members])
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
            by_file = {Path(unquote(urlparse(r["_file"]).path)).name: r for r in counts}
            for name, location in members:
                r = by_file.get(Path(location).name)
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
            groups.append((header, valid))
        n_selected = 0
        for header, valid in groups:
            unknown_keywords |= _check(valid, path, era, accepted, F, selection_predicate(scope))
            view = "raw_dump"
            valid.select(*[c for c in READ_COLUMNS if c in header]).createOrReplaceTempView(view)
            selected = spark.sql(
                selection_sql(
                    SPARK,
                    scope=scope,
                    has_territorial_scope="territorial_scope" in header,
                    source=view,
                )
            )
            # written before the dump's scratch parts are deleted (Spark reads lazily)
            target = scratch.parent / "selected" / f"{path.name}-{len(frames)}"
            selected.write.mode("overwrite").parquet(str(target))
            written = spark.read.parquet(str(target))
            n_selected += written.count()
            frames.append(str(target))
    part_stats.sort(key=lambda p: p["name"])
    manifest = {
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
    return manifest, frames


def spark_aggregate(
    files: list[Path],
    *,
    scope: Scope = "keyword",
    accepted_terms: frozenset[str] = frozenset(),
    master: str = "local[2]",
    session=None,
    scratch_dir: str | Path | None = None,
) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """The three aggregates (``daily``, ``delay``, ``filing``) and per-dump manifests.

    ``scratch_dir``: parent of the scratch folder (one dump's extracted parts, and the
    selected statements); on a cluster, storage every executor can read.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from analysis.ingest.dsa_tdb.run import AGGREGATES, sort_aggregate

    spark = session or spark_session(master)
    scratch = make_scratch(scratch_dir)  # private (0700), swept if a run was killed
    try:
        manifests: list[dict] = []
        selected: list[str] = []
        for n, path in enumerate(files):
            manifest, frames = _dump_on_spark(
                spark,
                Path(path),
                scratch / f"parts-{n:06d}",
                scope=scope,
                accepted=accepted_terms,
                F=F,
                T=T,
            )
            manifests.append(manifest)
            selected += frames
        decisions = spark.read.parquet(*selected)
        decisions.createOrReplaceTempView("decisions")
        aggregates = {}
        for name in AGGREGATES:
            result = spark.sql(aggregation_sql(name))
            aggregates[name] = sort_aggregate(
                name, _rows_to_frame(result.collect(), result.columns)
            )
        return aggregates, manifests
    finally:
        remove_scratch(scratch)
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
