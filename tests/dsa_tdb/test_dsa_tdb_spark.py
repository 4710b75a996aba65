"""The same aggregation on Spark (local mode) gives identical tables to DuckDB.

Spark needs Java (CI installs it in .ci/run); without `java` on PATH the module is skipped
with that reason.
"""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest
from _dsa_edit import first_selected_record, replace_in_record, rewrite_csv

from analysis.ingest.dsa_tdb import DsaTdbError, ingest_dsa_tdb
from analysis.ingest.dsa_tdb.generate import generate_dumps

pytestmark = [
    pytest.mark.skipif(
        shutil.which("java") is None,
        reason="Spark needs Java (apt-get install default-jre-headless)",
    ),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]
pytest.importorskip("pyspark", reason="pyspark is a dev dependency (make env installs it)")


@pytest.fixture(scope="module")
def spark():
    from analysis.ingest.dsa_tdb.spark_engine import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    return generate_dumps(
        tmp_path_factory.mktemp("dumps"),
        days=(date(2025, 6, 30), date(2025, 7, 1)),
        statements_per_day=1200,
        terrorist_share=0.05,
        seed=11,
    )


def test_both_engines_give_identical_outputs(dumps, spark, tmp_path):
    from analysis.ingest.dsa_tdb.run import aggregate_days, find_dump_files
    from analysis.ingest.dsa_tdb.spark_engine import spark_aggregate

    ingest_dsa_tdb(dumps.files, tmp_path / "duck", progress=False, synthetic=True)
    duck = aggregate_days(sorted((tmp_path / "duck" / "days").glob("*.parquet")))
    sparked, manifests = spark_aggregate(find_dump_files(dumps.files), session=spark)
    for name in ("daily", "delay", "filing"):
        pd.testing.assert_frame_equal(duck[name], sparked[name])
        assert len(duck[name]) > 10
    # the record accounting agrees too
    assert sum(m["records"] for m in manifests) == sum(dumps.records.values())
    assert sum(m["malformed"] for m in manifests) == sum(len(v) for v in dumps.malformed.values())
    assert sum(m["selected"] for m in manifests) == int(
        duck["daily"].query("decision_kind == 'any'")["statements"].sum()
    )


def test_spark_refuses_a_bad_date_naming_the_file(tmp_path, spark, monkeypatch):
    from analysis.ingest.dsa_tdb import spark_engine

    g = generate_dumps(
        tmp_path / "in",
        days=(date(2025, 6, 30),),
        statements_per_day=200,
        parts_per_day=1,
        chunks_per_part=1,
        sha1=False,
        malformed_per_chunk=0,
    )
    path = g.files[0]
    rewrite_csv(
        path,
        lambda t: replace_in_record(
            t, first_selected_record(t), "application_date", "2025-06-31 00:00:00"
        ),
    )
    with pytest.raises(DsaTdbError, match="bad date") as error:
        spark_engine.spark_aggregate([path], session=spark)
    assert "2025-06-31" in str(error.value)


def test_spark_reads_parquet_chunks_in_place_like_duckdb(dumps, spark, tmp_path):
    """Typed Parquet (lists, timestamps, as dsa-tdb writes it) gives DuckDB's tables."""
    from analysis.ingest.dsa_tdb.generate import write_parquet_chunks
    from analysis.ingest.dsa_tdb.run import aggregate_days
    from analysis.ingest.dsa_tdb.spark_engine import spark_aggregate

    chunks = write_parquet_chunks(dumps, tmp_path / "parquet")
    ingest_dsa_tdb(dumps.files, tmp_path / "duck", progress=False)
    duck = aggregate_days(sorted((tmp_path / "duck" / "days").glob("*.parquet")))
    sparked, manifests = spark_aggregate(chunks, session=spark)
    for name in ("daily", "delay", "filing"):
        pd.testing.assert_frame_equal(duck[name], sparked[name])
    assert sum(m["records"] for m in manifests) == len(dumps.statements)
    assert all(m["malformed"] == 0 for m in manifests)


def test_spark_holds_one_dump_of_extracted_parts_at_a_time(dumps, spark, tmp_path, monkeypatch):
    from analysis.ingest.dsa_tdb import spark_engine
    from analysis.ingest.dsa_tdb.run import find_dump_files

    seen = []
    original = spark_engine._spark_inputs

    from contextlib import contextmanager

    @contextmanager
    def watched(path, scratch):
        with original(path, scratch) as parts:
            root = scratch.parent
            seen.append(sorted(p.name for p in root.glob("parts-*/*.csv")))
            yield parts

    monkeypatch.setattr(spark_engine, "_spark_inputs", watched)
    spark_engine.spark_aggregate(
        find_dump_files(dumps.files), session=spark, scratch_dir=tmp_path / "scratch"
    )
    assert len(seen) == len(dumps.files) == 2
    for extracted, dump in zip(seen, find_dump_files(dumps.files), strict=True):
        assert extracted and all(name.startswith(dump.stem) for name in extracted)
    assert not list((tmp_path / "scratch").iterdir())  # everything removed at the end
