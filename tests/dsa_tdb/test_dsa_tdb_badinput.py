"""DSA dumps that must stop the run: named file and record, nothing written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from _dsa_edit import first_selected_record, replace_in_record, rewrite_csv

from analysis.ingest.cli import main as ingest_main
from analysis.ingest.dsa_tdb import DsaTdbError, DsaTdbVocabularyError, ingest_dsa_tdb
from analysis.ingest.dsa_tdb.generate import generate_dumps

DAY = date(2025, 6, 30)


def _dump(tmp_path: Path, **kw) -> Path:
    g = generate_dumps(
        tmp_path / "in",
        days=(DAY,),
        statements_per_day=300,
        parts_per_day=1,
        chunks_per_part=1,
        sha1=False,
        **kw,
    )
    return g.files[0]


def _nothing_written(out: Path, dump: Path) -> None:
    assert not (out / "daily.parquet").exists()
    assert not (out / "manifest.json").exists()
    assert not (out / "days" / f"{dump.name}.json").exists()


def test_truncated_archive(tmp_path):
    dump = _dump(tmp_path)
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) // 2])
    with pytest.raises(DsaTdbError, match="truncated") as error:
        ingest_dsa_tdb([dump], tmp_path / "out", progress=False)
    assert dump.name in str(error.value)
    _nothing_written(tmp_path / "out", dump)


def test_published_sha1_mismatch(tmp_path):
    dump = _dump(tmp_path)
    dump.with_name(dump.name + ".sha1").write_text("0" * 40 + f"  {dump.name}\n")
    with pytest.raises(DsaTdbError, match="SHA-1"):
        ingest_dsa_tdb([dump], tmp_path / "out", progress=False)
    _nothing_written(tmp_path / "out", dump)


def test_part_cut_inside_a_record(tmp_path):
    dump = _dump(tmp_path, malformed_per_chunk=0)
    name = rewrite_csv(dump, lambda t: t[: len(t) // 2])
    with pytest.raises(DsaTdbError, match="truncated") as error:
        ingest_dsa_tdb([dump], tmp_path / "out", progress=False)
    assert name in str(error.value) and "row" in str(error.value)
    _nothing_written(tmp_path / "out", dump)


def test_unknown_column(tmp_path):
    dump = _dump(tmp_path)
    name = rewrite_csv(dump, lambda t: t.replace("platform_uid", "platform_secret_id", 1))
    with pytest.raises(DsaTdbError, match="unknown column") as error:
        ingest_dsa_tdb([dump], tmp_path / "out", progress=False)
    assert name in str(error.value) and "platform_secret_id" in str(error.value)
    _nothing_written(tmp_path / "out", dump)


def test_changed_vocabulary_names_file_record_and_term(tmp_path):
    dump = _dump(tmp_path, malformed_per_chunk=0)
    name = rewrite_csv(
        dump, lambda t: replace_in_record(t, 57, "category", "STATEMENT_CATEGORY_NEW_THING")
    )
    with pytest.raises(DsaTdbVocabularyError) as error:
        ingest_dsa_tdb([dump], tmp_path / "out", progress=False)
    message = str(error.value)
    assert name in message and "row 57" in message and "STATEMENT_CATEGORY_NEW_THING" in message
    _nothing_written(tmp_path / "out", dump)
    # accepted explicitly after checking: the run goes through
    ingest_dsa_tdb(
        [dump],
        tmp_path / "out",
        progress=False,
        accepted_terms=["STATEMENT_CATEGORY_NEW_THING"],
    )
    assert (tmp_path / "out" / "daily.parquet").exists()


def test_bad_date_names_file_record_and_value(tmp_path):
    dump = _dump(tmp_path, malformed_per_chunk=0)
    chosen = {}

    def edit(text):
        chosen["record"] = first_selected_record(text)
        return replace_in_record(text, chosen["record"], "application_date", "2025-02-30 00:00:00")

    name = rewrite_csv(dump, edit)
    with pytest.raises(DsaTdbError, match="bad date") as error:
        ingest_dsa_tdb([dump], tmp_path / "out", progress=False)
    message = str(error.value)
    assert name in message and f"row {chosen['record']}" in message and "2025-02-30" in message
    _nothing_written(tmp_path / "out", dump)


def test_dates_of_statements_not_selected_are_not_read(tmp_path):
    """Documented: dates and decision terms are checked where they reach the outputs."""
    dump = _dump(tmp_path, malformed_per_chunk=0)

    def edit(text):
        selected = first_selected_record(text)
        other = 1 if selected != 1 else 2
        return replace_in_record(text, other, "application_date", "2025-02-30 00:00:00")

    rewrite_csv(dump, edit)
    manifest = ingest_dsa_tdb([dump], tmp_path / "out", progress=False)
    assert manifest["records"] == 300


def test_earlier_output_is_left_unchanged_by_a_failing_run(tmp_path):
    dump = _dump(tmp_path)
    out = tmp_path / "out"
    ingest_dsa_tdb([dump], out, progress=False)
    before = (out / "daily.parquet").read_bytes()
    other = generate_dumps(
        tmp_path / "in2", days=(date(2025, 7, 1),), statements_per_day=200, sha1=False
    ).files[0]
    other.write_bytes(other.read_bytes()[:100])
    with pytest.raises(DsaTdbError):
        ingest_dsa_tdb([dump, other], out, progress=False)
    assert (out / "daily.parquet").read_bytes() == before


def test_cli_prints_one_line_and_exits_1(tmp_path, capsys):
    dump = _dump(tmp_path)
    dump.write_bytes(b"not a zip")
    code = ingest_main(["dsa-tdb", str(dump), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1 and dump.name in err
    assert "Traceback" not in err


def test_bad_file_name(tmp_path):
    path = tmp_path / "dump.zip"
    path.write_bytes(b"")
    with pytest.raises(DsaTdbError, match="published pattern"):
        ingest_dsa_tdb([path], tmp_path / "out", progress=False)
