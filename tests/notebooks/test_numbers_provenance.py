"""Citable numbers: unit, figure ids, document URLs, dataset version and raw hash (issue 13).

One quoted number is followed end to end: numbers file -> figure id -> the row of
data/raw/<family>/figures.csv whose quote contains the number as written.
"""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import pytest

from analysis import paths
from analysis.reports import (
    SYNTHETIC,
    from_figures,
    from_tables,
    infer_unit,
    notebook_paths,
    numbers_record,
    run_notebook,
    write_numbers,
)

SOURCES = {"dataset", "synthetic", "model", "own_data", "parameter"}


def _pyproject_version() -> str:
    with (paths.repo_root() / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def _raw_rows(name: str) -> dict[str, dict[str, str]]:
    rows = {}
    for path in sorted(paths.raw_dir().glob(f"*/{name}.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                key = row["figure_id"] if name == "figures" else row["document_id"]
                rows[key] = row
    return rows


@pytest.fixture(scope="module")
def action_days_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reports")
    (path,) = notebook_paths(["03_action_days"])
    run_notebook(path, fast=True, output_root=root, processed_dir=paths.processed_dir())
    return root


def test_every_number_carries_unit_source_version_and_raw_hash(action_days_reports: Path) -> None:
    from analysis.etl.raw import raw_tree_sha256

    record = json.loads((action_days_reports / "numbers" / "03_action_days.json").read_text())
    version, raw_hash = _pyproject_version(), raw_tree_sha256(paths.raw_dir())
    assert record["dataset"] == {
        "name": "takedown-dynamics",
        "version": version,
        "raw_sha256": raw_hash,
    }
    numbers = record["numbers"]
    assert len(numbers) > 10
    for key, entry in numbers.items():
        assert entry["unit"] and isinstance(entry["unit"], str), key
        assert entry["source"] in SOURCES, key
        assert entry["dataset_version"] == version and entry["raw_sha256"] == raw_hash, key
        if entry["source"] == "dataset":
            assert entry.get("figure_ids") or entry.get("tables"), key
    # the synthetic changepoint study says so, and names the published days it was seeded with
    assert {numbers[k]["source"] for k in numbers if k.startswith("changepoint_")} == {"synthetic"}
    assert numbers["n_actions"]["tables"] == ["action_days"]


def test_one_quoted_number_end_to_end(action_days_reports: Path) -> None:
    record = json.loads((action_days_reports / "numbers" / "03_action_days.json").read_text())
    peak = record["numbers"]["telegram_nov2019_peak_bans"]
    assert peak["unit"].endswith("(count)") and peak["source"] == "dataset"
    figures, documents = _raw_rows("figures"), _raw_rows("documents")
    (figure_id,) = peak["figure_ids"]
    row = figures[figure_id]  # the transcription in data/raw
    as_written = f"{int(peak['value']):,}"  # e.g. "2,959"
    assert float(peak["value"]).is_integer()
    assert row["value_text"] == as_written
    assert as_written in row["quote"]
    assert documents[row["document_id"]]["url"] in peak["document_urls"]
    date = record["numbers"]["telegram_nov2019_peak_date"]
    assert date["value"].startswith("2019-11-") and date["unit"] == "date (ISO 8601)"


def test_figures_and_html_show_the_dataset_version(action_days_reports: Path) -> None:
    version = _pyproject_version()
    svgs = sorted((action_days_reports / "figures" / "03_action_days").glob("*.svg"))
    assert svgs
    for svg in svgs:  # the footnote text is kept in the SVG as a comment and glyphs
        assert f"takedown-dynamics v{version}" in svg.read_text(encoding="utf-8"), svg.name
    html = (action_days_reports / "html" / "03_action_days.html").read_text(encoding="utf-8")
    assert f"Dataset: takedown-dynamics version {version}" in html


def test_numbers_need_units_and_sources_and_are_stable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no unit for \['mystery'\]"):
        numbers_record("x", {"mystery": 1.5}, sources={"": SYNTHETIC})
    with pytest.raises(ValueError, match=r"no source for \['n_rows'\]"):
        numbers_record("x", {"n_rows": 3})
    with pytest.raises(ValueError, match="not in the figures table"):
        numbers_record("x", {"n_rows": 3}, sources={"": from_figures(["NO_SUCH_FIGURE"])})
    mapping = {"n_rows": 3, "b_share": 1 / 3, "peak_date": "2019-11-23", "flag": True}
    sources = {"": from_tables("figures"), "b_": from_figures(["TG41", "TG23"])}
    one = write_numbers("x", mapping, tmp_path / "one", sources=sources).read_bytes()
    reversed_ = dict(reversed(list(mapping.items())))
    two = write_numbers("x", reversed_, tmp_path / "two", sources=sources).read_bytes()
    assert one == two
    entry = json.loads(one)["numbers"]["b_share"]
    assert entry["value"] == 0.333333 and entry["figure_ids"] == ["TG23", "TG41"]
    assert [infer_unit(k, v) for k, v in mapping.items()] == [
        "count",
        "proportion (0-1)",
        "date (ISO 8601)",
        "boolean",
    ]


def test_html_report_is_byte_identical_on_rebuild(action_days_reports: Path) -> None:
    """papermill gives its injected-parameters cell a random id; the HTML must not show it."""
    html = action_days_reports / "html" / "03_action_days.html"
    numbers = action_days_reports / "numbers" / "03_action_days.json"
    before = html.read_bytes(), numbers.read_bytes()
    (path,) = notebook_paths(["03_action_days"])
    run_notebook(
        path, fast=True, output_root=action_days_reports, processed_dir=paths.processed_dir()
    )
    assert (html.read_bytes(), numbers.read_bytes()) == before
