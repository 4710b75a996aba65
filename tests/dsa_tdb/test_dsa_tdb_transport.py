"""How CSV parts reach DuckDB: a named pipe and a scratch file give the same answers.

The pipe is the default where the system has named pipes; these tests hold it to the file
transport (the reference: DuckDB reads a plain file), and check the ways a pipe can go
wrong: a damaged member found half-way, a reader that stops early or never opens the pipe
(the writer must not hang), and errors that need the part scanned a second time.
"""

from __future__ import annotations

import io
import os
import threading
import zipfile
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _dsa_edit import replace_in_record, rewrite_csv

from analysis.ingest.dsa_tdb import (
    DsaTdbError,
    DsaTdbVocabularyError,
    duckdb_engine,
    ingest_dsa_tdb,
)
from analysis.ingest.dsa_tdb.generate import generate_dumps
from analysis.ingest.dsa_tdb.reader import csv_parts
from analysis.ingest.dsa_tdb.transport import PartSource, resolve_transport

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")

DAY = date(2025, 6, 30)


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dumps")
    return generate_dumps(
        folder,
        days=(DAY, date(2025, 7, 1)),
        statements_per_day=3_000,
        parts_per_day=2,
        chunks_per_part=2,
        malformed_per_chunk=2,
        sha1=False,
    )


def test_pipe_and_file_give_identical_tables_and_manifests(dumps, tmp_path):
    outputs = {}
    for transport in ("pipe", "file"):
        out = tmp_path / transport
        manifest = ingest_dsa_tdb(dumps.files, out, progress=False, transport=transport)
        outputs[transport] = (
            manifest,
            {
                name: pq.read_table(out / f"{name}.parquet").to_pylist()
                for name in ("daily", "delay_survival", "filing_lag", "completeness", "files")
            },
        )
    (m_pipe, t_pipe), (m_file, t_file) = outputs["pipe"], outputs["file"]
    assert t_pipe == t_file
    assert m_pipe["records"] == m_file["records"] == sum(dumps.records.values())
    malformed = sum(len(v) for v in dumps.malformed.values())
    assert m_pipe["malformed"] == m_file["malformed"] == malformed > 0
    assert m_pipe["selected"] == m_file["selected"] > 0


def _one_part_dump(tmp_path: Path) -> Path:
    return generate_dumps(
        tmp_path / "in",
        days=(DAY,),
        statements_per_day=400,
        parts_per_day=1,
        chunks_per_part=1,
        malformed_per_chunk=0,
        sha1=False,
    ).files[0]


@pytest.mark.parametrize("transport", ["pipe", "file"])
def test_a_bad_term_is_located_the_same_way_through_both(tmp_path, transport):
    dump = _one_part_dump(tmp_path)

    name = rewrite_csv(
        dump, lambda t: replace_in_record(t, 123, "category", "STATEMENT_CATEGORY_NEW_THING")
    )
    with pytest.raises(DsaTdbVocabularyError) as error:
        ingest_dsa_tdb([dump], tmp_path / "out", progress=False, transport=transport)
    assert name in str(error.value) and "row 123" in str(error.value)


@pytest.mark.parametrize("transport", ["pipe", "file"])
def test_a_member_damaged_half_way_is_an_archive_error(tmp_path, transport):
    """The deflate stream breaks in the middle: the writer fails while DuckDB reads."""
    dump = generate_dumps(
        tmp_path / "in",
        days=(DAY,),
        statements_per_day=20_000,
        parts_per_day=1,
        chunks_per_part=1,
        sha1=False,
    ).files[0]
    with zipfile.ZipFile(dump) as outer:
        (inner_name,) = outer.namelist()
        inner_bytes = bytearray(outer.read(inner_name))
    with zipfile.ZipFile(io.BytesIO(bytes(inner_bytes))) as inner:
        (info,) = inner.infolist()
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    inner_bytes[middle : middle + 64] = b"\xff" * 64  # not a valid deflate block
    with zipfile.ZipFile(dump, "w") as outer:
        outer.writestr(inner_name, bytes(inner_bytes))
    with pytest.raises(DsaTdbError, match="damaged or truncated archive") as error:
        ingest_dsa_tdb([dump], tmp_path / "out", progress=False, transport=transport)
    assert inner_name in str(error.value)
    assert not list((tmp_path / "out").glob("**/*.parquet"))


def _run_with_timeout(function, seconds: float = 30.0):
    result: dict = {}

    def target():
        try:
            result["value"] = function()
        except BaseException as error:
            result["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the pipe's writer hung"
    return result


def test_a_reader_that_never_opens_the_pipe_does_not_hang_the_writer(tmp_path, monkeypatch):
    dump = _one_part_dump(tmp_path)

    def failing_view(con, path, header):
        raise RuntimeError("the query failed before reading")

    monkeypatch.setattr(duckdb_engine, "_raw_view", failing_view)
    result = _run_with_timeout(
        lambda: ingest_dsa_tdb([dump], tmp_path / "out", progress=False, transport="pipe")
    )
    assert isinstance(result.get("error"), RuntimeError)
    assert not list(tmp_path.glob("**/part-*"))  # the pipe is removed


def test_a_reader_that_stops_early_releases_the_writer(tmp_path):
    dump = generate_dumps(
        tmp_path / "in", days=(DAY,), statements_per_day=50_000, parts_per_day=1, sha1=False
    ).files[0]
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    def read_a_little():
        with csv_parts(dump) as parts, PartSource(parts[0], scratch, 0, "pipe") as source:
            with open(source.path, "rb") as pipe:
                head = pipe.read(100)
            source.finish()  # the writer met a closed pipe: not an archive error
            return head

    result = _run_with_timeout(read_a_little)
    assert "error" not in result, result.get("error")
    assert result["value"].startswith(b"uuid,") or b"," in result["value"]
    assert not list(scratch.iterdir())


def test_resolve_transport_refuses_unknown_names():
    assert resolve_transport("auto") == "pipe"
    assert resolve_transport("file") == "file"
    with pytest.raises(DsaTdbError, match="expected one of"):
        resolve_transport("carrier-pigeon")


def test_progress_is_reported_per_part_and_adds_up(dumps, tmp_path, capsys):
    seen = []
    table, manifest = duckdb_engine.process_dump_file(
        dumps.files[0], on_part=lambda stats: seen.append((stats.name, stats.records))
    )
    assert len(seen) == len(manifest["parts"]) == 4  # 2 inner archives x 2 CSV parts
    assert sum(records for _, records in seen) == manifest["records"]
    ingest_dsa_tdb(dumps.files, tmp_path / "out", progress=True)
    err = capsys.readouterr().err
    assert "dsa-tdb dump 2/2" in err and "statements" in err


def test_parquet_chunks_give_the_aggregates_of_the_csv_dumps(dumps, tmp_path):
    """Typed Parquet as dsa-tdb writes it (lists, timestamps) reads like the CSV dumps.

    The Parquet holds the valid statements only (no malformed records), so the record
    counts differ by exactly the malformed records and every aggregate is equal.
    """
    import pandas as pd

    from analysis.ingest.dsa_tdb.generate import write_parquet_chunks

    chunks = write_parquet_chunks(dumps, tmp_path / "parquet")
    from_csv = ingest_dsa_tdb(dumps.files, tmp_path / "csv", progress=False)
    from_parquet = ingest_dsa_tdb(chunks, tmp_path / "pq", progress=False)
    assert from_parquet["records"] == len(dumps.statements)
    assert from_csv["records"] - from_csv["malformed"] == from_parquet["records"]
    assert from_parquet["malformed"] == 0
    assert from_parquet["selected"] == from_csv["selected"] > 0
    for name in ("daily", "delay_survival", "delay_quantiles", "filing_lag"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "csv" / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "pq" / f"{name}.parquet"),
        )
