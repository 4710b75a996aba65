"""`make data` folds a `takedowns ingest dsa-tdb` output placed in data/raw/dsa_tdb/."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis import load, paths
from analysis.errors import RawDataError
from analysis.etl.write import run_etl
from analysis.ingest.dsa_tdb import ingest_dsa_tdb
from analysis.ingest.dsa_tdb.generate import generate_dumps


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    root = tmp_path_factory.mktemp("dsa")
    g = generate_dumps(
        root / "in",
        days=(date(2025, 6, 30), date(2025, 7, 1)),
        statements_per_day=800,
        terrorist_share=0.05,
    )
    ingest_dsa_tdb(g.files, root / "out", synthetic=True, progress=False)
    return root / "out"


def _raw_with(tmp_path: Path, output: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(paths.raw_dir(), raw)
    (raw / "dsa_tdb").mkdir()
    for name in ("daily_series.csv", "manifest.json"):
        shutil.copy(output / name, raw / "dsa_tdb" / name)
    return raw


def test_the_daily_series_becomes_a_dataset_table(output, tmp_path):
    raw = _raw_with(tmp_path, output)
    processed = tmp_path / "processed"
    counts = run_etl(raw, processed)
    assert counts["dsa_tdb_daily"] > 0
    table = load.dsa_tdb_daily(processed)
    series = pd.read_csv(output / "daily_series.csv")
    assert table["statements"].sum() == series["statements"].sum()
    assert table["synthetic"].all() and set(table["scope"]) == {"keyword"}
    assert table["partial"].any()
    assert set(table["decision_kind"]) <= {"any", "visibility", "account", "provision", "monetary"}
    # without the folder the table is absent and load says so with None
    assert load.dsa_tdb_daily(tmp_path / "nowhere") is None


def test_a_bad_row_stops_the_build_with_file_line_and_field(output, tmp_path):
    raw = _raw_with(tmp_path, output)
    path = raw / "dsa_tdb" / "daily_series.csv"
    lines = path.read_text().splitlines()
    parts = lines[3].split(",")
    parts[3] = "-4"
    lines[3] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n")
    processed = tmp_path / "processed"
    with pytest.raises(RawDataError) as error:
        run_etl(raw, processed)
    message = str(error.value)
    assert "daily_series.csv" in message and "line 4" in message and "statements" in message
    assert not processed.exists()
