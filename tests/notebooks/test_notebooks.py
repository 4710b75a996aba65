"""Execute every notebook headlessly with fast parameters and check what it writes.

* each notebook writes its expected figures (PNG, PDF, SVG), its numbers file and its HTML;
* a second run of one notebook gives byte-identical figures and numbers (the cheapest data
  notebook, to keep the suite fast; ``make figures`` twice checks all of them);
* no notebook in ``notebooks/`` is committed with outputs.

The dataset is built from ``data/raw`` into a temporary folder, so the tests do not depend
on the state of ``data/processed``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from analysis import paths
from analysis.plots import FORMATS
from analysis.reports import (
    has_outputs,
    notebook_paths,
    notebooks_with_outputs,
    run_notebook,
    strip_outputs,
    write_numbers,
)

EXPECTED_FIGURES = {
    "01_dataset_tour": ["coverage_by_platform_year", "sources_qualifiers_periods", "conflicts"],
    "02_enforcement_over_time": ["enforcement_per_day"],
    "03_action_days": ["action_days_timeline", "telegram_bans_november_2019"],
    "04_survival_reappearance": ["channel_lifetimes_synthetic", "reappearance_synthetic"],
    "05_cat_and_mouse": [
        "purge_simulation_vs_mean_field",
        "fit_recovers_known_truth",
        "policy_purge_vs_sustained",
        "policy_recreation_cost",
    ],
}


@pytest.fixture(scope="session")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dataset built from data/raw into a temporary folder."""
    from analysis.etl.write import run_etl

    out = tmp_path_factory.mktemp("processed")
    run_etl(paths.raw_dir(), out)
    return out


def _digests(root: Path, notebook: str) -> dict[str, str]:
    files = sorted((root / "figures" / notebook).glob("*.*"))
    files.append(root / "numbers" / f"{notebook}.json")
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_every_notebook_is_expected() -> None:
    assert [p.stem for p in notebook_paths()] == sorted(EXPECTED_FIGURES)


@pytest.mark.parametrize("notebook", sorted(EXPECTED_FIGURES))
def test_notebook_writes_figures_numbers_and_html(
    notebook: str, processed: Path, tmp_path: Path
) -> None:
    (path,) = notebook_paths([notebook])
    written = run_notebook(path, fast=True, output_root=tmp_path, processed_dir=processed)
    for name in EXPECTED_FIGURES[notebook]:
        for fmt in FORMATS:
            figure = tmp_path / "figures" / notebook / f"{name}.{fmt}"
            assert figure.is_file() and figure.stat().st_size > 1000, figure
            assert figure in written
    numbers = json.loads((tmp_path / "numbers" / f"{notebook}.json").read_text())
    assert numbers and all(isinstance(k, str) for k in numbers)
    html = (tmp_path / "html" / f"{notebook}.html").read_text(encoding="utf-8")
    assert "Traceback" not in html and "<html" in html
    assert not has_outputs(path), "executing must not write outputs into notebooks/"


def test_rebuild_is_byte_identical(processed: Path, tmp_path: Path) -> None:
    (path,) = notebook_paths(["03_action_days"])
    first, second = tmp_path / "first", tmp_path / "second"
    run_notebook(path, fast=True, output_root=first, processed_dir=processed, html=False)
    run_notebook(path, fast=True, output_root=second, processed_dir=processed, html=False)
    a, b = _digests(first, path.stem), _digests(second, path.stem)
    assert len(a) == 3 * len(EXPECTED_FIGURES[path.stem]) + 1
    assert a == b


def test_no_notebook_is_committed_with_outputs() -> None:
    assert notebooks_with_outputs() == []


def test_outputs_are_detected_and_stripped(tmp_path: Path) -> None:
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": 3, "id": "a", "metadata": {},
             "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}],
             "source": "print(1)"},
            {"cell_type": "markdown", "id": "b", "metadata": {}, "source": "text"},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }
    path = tmp_path / "99_example.ipynb"
    path.write_text(json.dumps(nb))
    assert notebooks_with_outputs(tmp_path) == [path]
    assert strip_outputs(path) is True
    assert not has_outputs(path)
    assert strip_outputs(path) is False
    cleaned = json.loads(path.read_text())
    assert cleaned["cells"][0]["outputs"] == [] and cleaned["cells"][0]["execution_count"] is None
    assert cleaned["metadata"]["kernelspec"]["name"] == "python3"


def test_numbers_file_is_sorted_rounded_and_stable(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    mapping = {"b": np.float64(1 / 3), "a": pd.Timestamp("2019-11-23"), "c": np.int64(7),
               "d": float("nan"), "e": [np.float32(2.5)]}
    one = write_numbers("x", mapping, tmp_path / "one").read_bytes()
    two = write_numbers("x", dict(reversed(list(mapping.items()))), tmp_path / "two").read_bytes()
    assert one == two
    assert json.loads(one) == {"a": "2019-11-23", "b": 0.333333, "c": 7, "d": None, "e": [2.5]}


def test_survival_notebook_runs_on_a_researchers_own_table(processed: Path, tmp_path: Path) -> None:
    from analysis.models.catmouse import CatMouseModel

    model = CatMouseModel(creation_rate_per_day=5.0, ban_hazard_per_day=0.2,
                          recreation_probability=0.5, recreation_delay_mean_days=1.0)
    events = model.simulate(days=60, seed=7).channel_events
    table = tmp_path / "own_channels.parquet"
    events.drop(columns=["generation", "organic"]).to_parquet(table, index=False)
    (path,) = notebook_paths(["04_survival_reappearance"])
    run_notebook(path, fast=True, output_root=tmp_path / "reports", processed_dir=processed,
                 html=False, extra_parameters={"channel_table_path": str(table)})
    for name in ("channel_lifetimes_own", "reappearance_own"):
        assert (tmp_path / "reports" / "figures" / path.stem / f"{name}.png").is_file()
    numbers = json.loads((tmp_path / "reports" / "numbers" / f"{path.stem}.json").read_text())
    assert numbers["own_n_channels"] == len(events)
