"""Conway et al.'s points come from the dataset: by figure id, nothing copied into the code.

Expected values are read with :func:`analysis.load.figure` (the dataset, not the code under
test) or computed from numbers the test itself writes into a copy of ``data/raw``.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest

from analysis import load, paths
from analysis.errors import UnidentifiedWarning
from analysis.models.mechanisms import types_fit
from analysis.models.mechanisms.types_fit import (
    CONWAY_FIGURE_IDS,
    conway_points,
    conway_source,
    two_type_solutions,
)

TYPES_FIT = Path(types_fit.__file__)
FIGURES_CSV = ("studies", "figures.csv")


def test_no_published_conway_number_in_the_code() -> None:
    code = TYPES_FIT.read_text(encoding="utf-8")
    published = ["455", "722", "0.63", "63 %", "63%", "63 percent", "0.30", "30 %", "30%",
                 "30 percent", "0.7**", "0.178", "90.0", "91.3", "homelandsecuritynewswire",
                 "accounts were suspended", "In total,"]  # fmt: skip
    for text in published:
        assert not re.search(rf"(?<![\w.]){re.escape(text)}(?![\w])", code), text


def test_points_are_the_dataset_figures() -> None:
    early, suspended, monitored = (load.figure(i) for i in CONWAY_FIGURE_IDS.values())
    points = conway_points()
    n = round(monitored["value"])
    assert points["n"].tolist() == [n, n]
    assert points["horizon_days"].tolist() == [early["horizon_days"], suspended["horizon_days"]]
    assert points["share"].tolist() == pytest.approx([early["value"] / 100, suspended["value"] / n])
    assert points["figure_id"].tolist() == ["ST03-is-within-2d", "ST03-is-suspended"]
    assert points["url"].tolist() == [early["url"], suspended["url"]]
    assert points["quote"].tolist() == [early["quote"], suspended["quote"]]
    assert points["qualifier"].iloc[0] == early["qualifier"]
    assert all("ST03-is-sample-derived" in ids for ids in points["figure_ids"])
    # the alternative reading: the early share is of the suspended accounts
    events = conway_points("events")
    assert events["share"].iloc[0] == pytest.approx(early["value"] / 100 * suspended["value"] / n)
    source = conway_source()
    assert source.url == early["url"] and source.quotes == (early["quote"], suspended["quote"])
    assert types_fit.CONWAY_SOURCE == source  # the old name still works


def _edit(raw: Path, figure_id: str, old: str, new: str) -> None:
    csv = raw.joinpath(*FIGURES_CSV)
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    (k,) = [i for i, line in enumerate(lines) if line.startswith(f"{figure_id},")]
    assert old in lines[k]
    lines[k] = lines[k].replace(old, new)
    csv.write_text("".join(lines), encoding="utf-8")


def test_editing_the_raw_figures_moves_the_points_and_the_fit(tmp_path: Path) -> None:
    from analysis.etl.write import run_etl

    raw = tmp_path / "raw"
    shutil.copytree(paths.raw_dir(), raw)
    _edit(raw, "ST03-is-within-2d", "more than 30%", "more than 40%")
    _edit(raw, "ST03-is-suspended", "455", "400")
    run_etl(raw, tmp_path / "processed")

    before = conway_points()
    after = conway_points(processed=tmp_path / "processed")
    n = round(400 / 0.63)  # the ETL derives the number monitored as count / printed percent
    assert after["n"].tolist() == [n, n]
    assert after["share"].tolist() == pytest.approx([0.40, 400 / n])
    assert after["share"].iloc[0] != before["share"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnidentifiedWarning)
        sol_before = two_type_solutions(before, n_grid=10)
        sol_after = two_type_solutions(after, n_grid=10)
    # the cure end of the curve: the fast share is the share eventually suspended at rate a
    assert sol_after["fast_share"].iloc[0] != pytest.approx(sol_before["fast_share"].iloc[0])
    assert sol_after["share_within_30_days"].min() > sol_before["share_within_30_days"].min()
