"""The `takedowns` command: validate and simulate (etl errors are in test_bad_input)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.channels import validate_channel_events
from analysis.cli import build_parser, main


def test_every_subcommand_is_registered() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"etl", "validate", "figures", "simulate", "ingest"} <= set(sub.choices)


def test_validate_reports_fresh_processed_data(capsys) -> None:
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "data/raw is valid" in out and "up to date" in out


def test_validate_flags_a_stale_build(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "processed"
    empty.mkdir()
    assert main(["validate", "--processed", str(empty)]) == 1
    assert "make data" in capsys.readouterr().err


def test_simulate_writes_a_valid_synthetic_channel_table(tmp_path: Path) -> None:
    out = tmp_path / "sim.csv"
    status = main(
        ["simulate", "--days", "60", "--creation-rate", "5", "--seed", "3", "--output", str(out)]
    )
    assert status == 0
    events = pd.read_csv(out)
    assert events["synthetic"].all()
    typed = events.drop(columns="synthetic").astype(
        {"channel_id": "string", "family_id": "string", "end_reason": "string"}
    )
    if "predecessor_id" in typed:
        typed["predecessor_id"] = typed["predecessor_id"].astype("string")
    validated = validate_channel_events(typed, source=str(out))
    assert len(validated) > 0
    # about creation_rate / (1 - rho) channels a day are created (rho = 0.5 by default)
    assert 60 * 5 < (validated["created_at"] >= 0).sum() < 60 * 5 * 3


def test_figures_options_and_progress_line() -> None:
    from analysis.runner import NotebookRun, progress_line

    args = build_parser().parse_args(["figures", "--notebook", "01", "--jobs", "2", "--list"])
    assert args.jobs == 2 and args.list and args.notebook == ["01"]
    run = NotebookRun("02_enforcement_over_time", 9.14, (Path("a"), Path("b")))
    line = progress_line(2, 12, run)
    assert line.startswith("[ 2/12] 02_enforcement_over_time ")
    assert line.endswith("   9.1 s  (2 files)")


def test_injected_parameters_hold_no_output_path(tmp_path: Path) -> None:
    from analysis import paths
    from analysis.runner import notebook_parameters, relative_to_repo

    notebook = paths.notebooks_dir() / "01_dataset_tour.ipynb"
    params = notebook_parameters(notebook, fast=False, processed_dir=paths.processed_dir())
    assert params == {"fast": False, "processed_dir": str(paths.processed_dir().resolve())}
    assert "output_root" not in notebook_parameters(notebook, fast=True)
    assert relative_to_repo(tmp_path) == str(tmp_path)  # outside the checkout: unchanged


def test_a_failing_notebook_is_one_clear_error(tmp_path: Path) -> None:
    import json

    import pytest

    from analysis import paths
    from analysis.errors import TakedownError
    from analysis.runner import FAILED_DIR, NotebookFailedError, run_notebook

    notebook = tmp_path / "98_broken.ipynb"
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "c1",
        "metadata": {},
        "outputs": [],
        "source": "raise ValueError('expected a positive count')",
    }
    meta = {
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python"},
        "language_info": {"name": "python"},
    }
    notebook.write_text(
        json.dumps({"cells": [cell], "metadata": meta, "nbformat": 4, "nbformat_minor": 5})
    )
    with pytest.raises(NotebookFailedError) as caught:
        run_notebook(notebook, output_root=tmp_path / "reports")
    message = str(caught.value)
    assert isinstance(caught.value, TakedownError)
    # papermill runs its injected parameters cell first: ours is execution [2]
    assert "98_broken failed in cell [2]: ValueError: expected a positive count" in message
    kept = paths.repo_root() / FAILED_DIR / notebook.name
    assert f"{FAILED_DIR}/98_broken.ipynb" in message and "Traceback" not in message
    assert "expected a positive count" in kept.read_text()
    kept.unlink()
