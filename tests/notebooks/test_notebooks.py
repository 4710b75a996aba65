"""Execute every notebook headlessly with fast parameters and check what it writes.

* every notebook found in ``notebooks/`` (new ones included, without a list to update) writes
  figures (PNG, PDF, SVG), its numbers file and a reader-grade HTML report: code hidden, the
  notebook's heading as page title, the dataset version and build date, no absolute path;
* notebooks 01, 02, 04, 05 and 08 run with strict legends: a legend entry without a visible
  mark fails (04 and 05 label error bars; so do their own-data runs);
* a second run of one notebook gives byte-identical figures, numbers and HTML (the cheapest
  data notebook, to keep the suite fast; ``make figures`` twice checks all of them);
* no notebook in ``notebooks/`` is committed with outputs, and each names the project kernel.

The dataset is built from ``data/raw`` into a temporary folder, so the tests do not depend
on the state of ``data/processed``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import paths
from analysis.plots import FORMATS
from analysis.reports import (
    PROJECT_KERNEL,
    has_outputs,
    has_project_kernel,
    notebook_paths,
    notebooks_with_outputs,
    run_notebook,
    strip_outputs,
    write_numbers,
)

EXPECTED_FIGURES = {
    "01_dataset_tour": ["coverage_by_platform_year", "sources_qualifiers_periods", "conflicts"],
    "02_enforcement_over_time": ["enforcement_per_day"],
    "03_action_days": [
        "action_days_timeline",
        "telegram_bans_november_2019",
        "changepoints_synthetic",
    ],
    "04_survival_reappearance": ["channel_lifetimes_synthetic", "reappearance_synthetic"],
    "05_cat_and_mouse": [
        "purge_simulation_vs_mean_field",
        "fit_recovers_known_truth",
        "policy_purge_vs_sustained",
        "policy_recreation_cost",
        "calibrated_parameters",
        "recovery_two_ways_synthetic",
    ],
    "06_published_evidence": ["removal_by_day", "lifetimes_and_recreation"],
    "07_mechanisms": ["conway_two_types", "purge_under_mechanisms", "policy_verdicts"],
    "08_dsa_transparency_database": ["daily_series", "changepoints", "delay_by_platform"],
}
"""Figures the notebooks must write at least (other notebooks: at least one figure)."""

STRICT_LEGENDS = {
    "01_dataset_tour",
    "02_enforcement_over_time",
    "04_survival_reappearance",
    "05_cat_and_mouse",
    "08_dsa_transparency_database",
}
"""Notebooks run with ``TAKEDOWNS_STRICT_LEGENDS=1`` (every legend entry must be visible)."""

ALL_NOTEBOOKS = [p.stem for p in notebook_paths()]


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
    files.append(root / "html" / f"{notebook}.html")
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_known_notebooks_are_found() -> None:
    assert set(EXPECTED_FIGURES) <= set(ALL_NOTEBOOKS)
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+", stem) for stem in ALL_NOTEBOOKS)


def _check_report(html: str, notebook: Path, tmp_path: Path) -> None:
    """A reader-grade report: titled, versioned, no code, no absolute path, offline."""
    import nbformat

    from analysis.report_html import notebook_title

    assert "Traceback" not in html and "<html" in html
    title = notebook_title(nbformat.read(notebook, as_version=4), notebook.stem)
    import html as html_lib

    from analysis.reports import dataset_provenance

    page_title = html_lib.unescape(re.search(r"<title>(.*?)</title>", html).group(1))
    assert page_title == title != "Notebook"
    version = dataset_provenance()["version"]
    assert f"version {version}, built from data checked up to 20" in html
    # code hidden: no input area, no prompt; the source of a code cell does not appear
    assert not re.search(r'class="[^"]*(jp-InputArea-editor|jp-InputPrompt)', html)
    assert "from analysis" not in html and "In&nbsp;[" not in html
    for root in {str(paths.repo_root().resolve()), str(tmp_path), "/home/", "/Users/"}:
        assert root not in html, root
    assert "No description has been provided" not in html  # every figure has alt text
    assert not re.search(r"<script[^>]+src=\"https?://", html)
    assert not re.search(r"<link[^>]+href=\"https?://", html)


@pytest.mark.parametrize("notebook", ALL_NOTEBOOKS)
def test_notebook_writes_figures_numbers_and_html(
    notebook: str, processed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (path,) = notebook_paths([notebook])
    if notebook in STRICT_LEGENDS:
        monkeypatch.setenv("TAKEDOWNS_STRICT_LEGENDS", "1")  # the kernel inherits it
    written = run_notebook(path, fast=True, output_root=tmp_path, processed_dir=processed)
    names = EXPECTED_FIGURES.get(notebook) or sorted(
        {p.stem for p in (tmp_path / "figures" / notebook).glob("*.png")}
    )
    assert names, f"{notebook} wrote no figure"
    for name in names:
        for fmt in FORMATS:
            figure = tmp_path / "figures" / notebook / f"{name}.{fmt}"
            assert figure.is_file() and figure.stat().st_size > 1000, figure
            assert figure in written
    numbers = json.loads((tmp_path / "numbers" / f"{notebook}.json").read_text())
    assert numbers and all(isinstance(k, str) for k in numbers)
    html = (tmp_path / "html" / f"{notebook}.html").read_text(encoding="utf-8")
    _check_report(html, path, tmp_path)
    assert not has_outputs(path), "executing must not write outputs into notebooks/"
    if notebook == "05_cat_and_mouse":
        _check_recovery_reporting(numbers["numbers"], html, tmp_path / "figures" / notebook)


def _check_recovery_reporting(numbers: dict, html: str, figures: Path) -> None:
    """Notebook 05's recovery curve: the half-life is the one recovery time quoted with an
    interval (the coverage-tested one, tests/models/test_recovery.py); a latent AR coefficient
    at its cap is said in the report and on the figure, not silenced."""
    value = {k: v["value"] for k, v in numbers.items() if k.startswith("recovery_")}
    assert value["recovery_half_life_days_ci_lower"] < value["recovery_half_life_days"]
    assert value["recovery_half_life_days"] < value["recovery_half_life_days_ci_upper"]
    intervals = sorted(k for k in value if "_ci_" in k)
    assert intervals == ["recovery_half_life_days_ci_lower", "recovery_half_life_days_ci_upper"]
    texts = " ".join(_svg_texts(figures / "recovery_two_ways_synthetic.svg"))
    said = "interval may be too narrow"
    assert value["recovery_ar_at_cap"] == (said in texts) == (said in html)
    if value["recovery_ar_at_cap"]:  # a stock of active channels: the cap is reached
        assert value["recovery_ar_coefficient"] >= 0.95 - 1e-6
        assert "UnidentifiedWarning" in html


def test_rebuild_is_byte_identical(processed: Path, tmp_path: Path) -> None:
    (path,) = notebook_paths(["03_action_days"])
    first, second = tmp_path / "first", tmp_path / "second"
    run_notebook(path, fast=True, output_root=first, processed_dir=processed)
    run_notebook(path, fast=True, output_root=second, processed_dir=processed)
    a, b = _digests(first, path.stem), _digests(second, path.stem)
    assert len(a) == 3 * len(EXPECTED_FIGURES[path.stem]) + 2
    assert a == b


def test_no_notebook_is_committed_with_outputs() -> None:
    assert notebooks_with_outputs() == []


def test_every_notebook_names_the_project_kernel() -> None:
    wrong = [p.name for p in notebook_paths() if not has_project_kernel(p)]
    assert wrong == [], (
        f"{wrong}: kernelspec must be {PROJECT_KERNEL['name']!r}; fix with "
        "`.venv/bin/python -m analysis.reports strip notebooks/<name>.ipynb`"
    )


def test_outputs_are_detected_and_stripped(tmp_path: Path) -> None:
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 3,
                "id": "a",
                "metadata": {},
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}],
                "source": "print(1)",
            },
            {"cell_type": "markdown", "id": "b", "metadata": {}, "source": "text"},
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "99_example.ipynb"
    path.write_text(json.dumps(nb))
    assert notebooks_with_outputs(tmp_path) == [path]
    assert not has_project_kernel(path)
    assert strip_outputs(path) is True
    assert not has_outputs(path) and has_project_kernel(path)
    assert strip_outputs(path) is False
    cleaned = json.loads(path.read_text())
    assert cleaned["cells"][0]["outputs"] == [] and cleaned["cells"][0]["execution_count"] is None
    assert cleaned["metadata"]["kernelspec"]["name"] == "takedown-dynamics"


def test_interactive_runs_write_to_scratch_not_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.reports import OUTPUT_ENV, default_output_root, numbers_path

    monkeypatch.delenv(OUTPUT_ENV, raising=False)
    scratch = default_output_root()
    assert scratch == paths.repo_root() / "build" / "scratch"
    assert scratch.resolve() != paths.reports_dir().resolve()
    assert numbers_path("01_x") == scratch / "numbers" / "01_x.json"
    monkeypatch.setenv(OUTPUT_ENV, "/somewhere/reports")
    assert default_output_root() == Path("/somewhere/reports")


def test_numbers_file_is_sorted_rounded_and_stable(tmp_path: Path) -> None:
    import numpy as np

    mapping = {
        "b": np.float64(1 / 3),
        "a": pd.Timestamp("2019-11-23"),
        "c": np.int64(7),
        "d": float("nan"),
        "e": [np.float32(2.5)],
    }
    from analysis.reports import SYNTHETIC

    extra = {"units": dict.fromkeys(mapping, "test unit"), "sources": {"": SYNTHETIC}}
    one = write_numbers("x", mapping, tmp_path / "one", **extra).read_bytes()
    two = write_numbers(
        "x", dict(reversed(list(mapping.items()))), tmp_path / "two", **extra
    ).read_bytes()
    assert one == two
    values = {k: v["value"] for k, v in json.loads(one)["numbers"].items()}
    assert values == {"a": "2019-11-23", "b": 0.333333, "c": 7, "d": None, "e": [2.5]}


def test_survival_notebook_runs_on_a_researchers_own_table(
    processed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAKEDOWNS_STRICT_LEGENDS", "1")  # the kernel inherits it
    from analysis.models.catmouse import CatMouseModel

    model = CatMouseModel(
        creation_rate_per_day=5.0,
        ban_hazard_per_day=0.2,
        recreation_probability=0.5,
        recreation_delay_mean_days=1.0,
    )
    events = model.simulate(days=60, seed=7).channel_events
    table = tmp_path / "own_channels.parquet"
    events.drop(columns=["generation", "organic"]).to_parquet(table, index=False)
    (path,) = notebook_paths(["04_survival_reappearance"])
    run_notebook(
        path,
        fast=True,
        output_root=tmp_path / "reports",
        processed_dir=processed,
        html=False,
        extra_parameters={"channel_table_path": str(table)},
    )
    for name in ("channel_lifetimes_own", "reappearance_own"):
        assert (tmp_path / "reports" / "figures" / path.stem / f"{name}.png").is_file()
    record = json.loads((tmp_path / "reports" / "numbers" / f"{path.stem}.json").read_text())
    assert record["numbers"]["own_n_channels"]["value"] == len(events)
    assert record["numbers"]["own_n_channels"]["source"] == "own_data"
    # the table is simulated (flagged synthetic in its Parquet metadata): so is every figure
    assert record["numbers"]["own_table_synthetic"]["value"] is True
    _assert_every_figure_labelled_synthetic(tmp_path / "reports" / "figures" / path.stem, 4)


def _svg_texts(svg: Path) -> list[str]:
    """The texts of a saved figure (matplotlib writes each text drawn as paths after an
    XML comment holding it)."""
    return re.findall(r"<!-- (.*?) -->", svg.read_text(encoding="utf-8"), flags=re.S)


def _assert_every_figure_labelled_synthetic(folder: Path, n_figures: int) -> None:
    """Every figure in ``folder`` says synthetic twice: a badge and its title."""
    svgs = sorted(folder.glob("*.svg"))
    assert len(svgs) == n_figures, svgs
    for svg in svgs:
        texts = _svg_texts(svg)
        assert "SYNTHETIC DATA" in texts, svg.name
        titles = [t for t in texts if t.startswith(("Channel lifetimes", "Reappearance"))]
        assert titles and all("synthetic" in t for t in titles), (svg.name, titles)


def _message_log_table(n: int = 80, seed: int = 3) -> pd.DataFrame:
    """What `takedowns ingest messages` writes (SYNTHETIC): went_dark endings only, no
    lineages, a detection horizon, datetimes, one channel seen once."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2015-01-01")
    end = t0 + pd.Timedelta(days=200)
    horizon = end - pd.Timedelta(days=30)
    created = t0 + pd.to_timedelta(rng.uniform(0, 190, n), unit="D").round("s")
    last = created + pd.to_timedelta(rng.exponential(10.0, n), unit="D").round("s")
    last = last.where(np.arange(n) != 0, created)  # one channel seen once
    dark = last < horizon
    return pd.DataFrame(
        {
            "channel_id": [f"synthetic-{i:03d}" for i in range(n)],
            "family_id": pd.array([None] * n, dtype="string"),
            "created_at": created,
            "ended_at": last.where(dark, pd.NaT),
            "end_reason": pd.array(np.where(dark, "went_dark", None), dtype="string"),
            "observation_end": end,
            "detection_horizon": horizon,
        }
    )


def test_survival_notebook_runs_on_a_message_log_without_lineages(
    processed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today the own-data cell counts only bans and crashes on tables without lineages."""
    monkeypatch.setenv("TAKEDOWNS_STRICT_LEGENDS", "1")  # the kernel inherits it
    table = tmp_path / "own_messages.csv"
    own = _message_log_table()
    # read back under pandas 3 (text columns are `str`); synthetic, so labelled as such (the
    # `synthetic` column that `takedowns ingest messages --keep-columns synthetic` carries over)
    own.assign(synthetic=True).to_csv(table, index=False)
    (path,) = notebook_paths(["04_survival_reappearance"])
    reports = tmp_path / "reports"
    run_notebook(
        path,
        fast=True,
        output_root=reports,
        processed_dir=processed,
        html=False,
        extra_parameters={"channel_table_path": str(table)},
    )
    figures = reports / "figures" / path.stem
    assert (figures / "channel_lifetimes_own.png").is_file()
    assert not (figures / "reappearance_own.png").exists()
    record = json.loads((reports / "numbers" / f"{path.stem}.json").read_text())
    numbers = {k: v["value"] for k, v in record["numbers"].items()}
    assert numbers["own_reappearance_skipped"] is True
    # went_dark counts by default; endings after the horizon do not (none here by design)
    kept = own["created_at"] < own["detection_horizon"]
    assert numbers["own_km_events"] == int(own.loc[kept, "ended_at"].notna().sum()) > 0
    assert numbers["own_table_synthetic"] is True
    _assert_every_figure_labelled_synthetic(figures, 3)  # two synthetic-section figures + 1


def test_survival_notebook_exposes_event_reasons_and_window() -> None:
    import nbformat

    (path,) = notebook_paths(["04_survival_reappearance"])
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert "event_reasons = None" in cell.source and "window_days = None" in cell.source


# --------------------------------------------------------------------------- summaries
# The small tables the notebooks plot (analysis.summaries), on inline data.


def _series_rows() -> pd.DataFrame:
    rows = [
        # id, kind, start, end, per_day, target, partial
        ("h1", "half_year", "2017-01-01", "2017-06-30", 1655.5, "terrorist_any", False),
        ("h2", "half_year", "2017-07-01", "2017-12-31", 1491.6, "terrorist_any", False),
        ("t10", "to_date", "2018-01-01", "2018-01-10", 900.0, "terrorist_any", True),
        ("t40", "to_date", "2018-01-01", "2018-02-09", 950.0, "terrorist_any", True),
        ("long", "range", "2015-01-01", "2018-12-31", 700.0, "terrorist_any", False),
        ("other", "half_year", "2017-01-01", "2017-06-30", 5000.0, "all_violations", False),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "figure_id",
            "period_kind",
            "period_start",
            "period_end",
            "per_day",
            "target",
            "is_partial_period",
        ],
    )
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    return frame.assign(
        platform="twitter", metric="accounts_suspended", subset=pd.NA, qualifier="exact"
    )


def test_per_day_periods_keeps_the_right_rows() -> None:
    from analysis import summaries

    series = _series_rows()
    kept = summaries.per_day_periods(
        series,
        "twitter",
        "accounts_suspended",
        ["terrorist_any"],
        period_kinds=("half_year", "range"),
        max_days=400,
    )
    # 10-day to-date count too short, 4-year range too long, other target filtered out
    assert list(kept["figure_id"]) == ["h1", "h2", "t40"]
    extremes = summaries.rate_extremes(kept, "tw")
    assert extremes["tw_max_per_day"] == 1655.5 and extremes["tw_n_partial"] == 1
    assert extremes["tw_latest_per_day"] == 1491.6


def test_ratio_to_range_and_period_kind_counts() -> None:
    from analysis import summaries

    low, high = summaries.ratio_to_range(2959.0, 200.0, 300.0)
    assert low == pytest.approx(2959 / 300) and high == pytest.approx(2959 / 200)
    counts = summaries.period_kind_counts(_series_rows())
    assert counts.loc["to_date"].tolist() == [0, 2]
    assert counts.loc["half_year"].tolist() == [3, 0]
    assert list(counts.index) == ["half_year", "range", "to_date"]  # vocabulary order
    assert isinstance(counts, pd.DataFrame)


def test_daily_counts_prefer_complete_then_list_alternatives() -> None:
    from analysis import summaries

    figures = pd.DataFrame(
        {
            "figure_id": ["B", "A", "C", "Y"],
            "platform": "telegram",
            "metric": "accounts_and_bots_banned",
            "target": "terrorist_any",
            "period_kind": ["day", "day", "day", "year"],
            "period_start": pd.to_datetime(
                ["2019-11-22", "2019-11-22", "2019-11-23", "2019-01-01"]
            ),
            "is_partial_period": [False, True, False, True],
            "value": [2096.0, 2076.0, 2959.0, 250.0],
            "value_low": [None, None, None, 200.0],
            "qualifier": ["exact", "exact", "exact", "range"],
            "rate_per": [None, None, None, None],
        }
    )
    days, baseline = summaries.daily_counts_around(
        figures, "telegram", "accounts_and_bots_banned", "2019-11-01", "2019-11-30"
    )
    assert list(days["figure_id"]) == ["B", "C"]  # the complete count beats the partial one
    assert days.loc[0, "other_values"] == [2076.0] and days.loc[0, "n_alternatives"] == 1
    assert list(baseline["figure_id"]) == ["Y"]


def test_action_days_table_uses_stated_countries_else_listed() -> None:
    from analysis import summaries

    action_days = pd.DataFrame(
        {
            "action_id": ["b", "a", "undated"],
            "start_date": pd.to_datetime(["2020-07-02", "2019-11-21", None]),
            "end_date": pd.to_datetime(["2020-07-02", "2019-11-24", None]),
            "countries_listed": [0, 2, 0],
            "countries_stated": pd.array([17, pd.NA, pd.NA], dtype="Int64"),
            "platforms_stated": pd.array([180, 9, pd.NA], dtype="Int64"),
        }
    )
    table = summaries.action_days_table(action_days)
    assert list(table["action_id"]) == ["a", "b"]
    assert table["countries"].tolist() == [2.0, 17.0]
    assert table["countries_is_listed_only"].tolist() == [True, False]
    assert table["duration_days"].tolist() == [4, 1]
