"""Data tests of the study results (data/processed/study_results.parquet) and load.figure."""

from __future__ import annotations

import csv
import math
import random
import re

import pandas as pd
import pytest

from analysis import load, paths, schema
from analysis.errors import TakedownError
from analysis.load import UnknownFigureError

MIN_STUDY_ROWS = 49
"""Floor, not a target: raise it when you add study results."""
STUDIES_REQUIRED = (  # issue 11: at least these studies are in the table
    "Berger & Morgan 2015",
    "Berger & Perez 2016",
    "Berger 2015, INTELWIRE",
    "Conway et al. 2017",
    "Amarasingam, Maher & Winter 2021",
    "Wright et al. 2016",
    "Clifford & Powell 2019",
)
HORIZON_METRICS = ("share_suspended_within", "share_active_after")
SHARE_METRICS = (*HORIZON_METRICS, "share_suspended", "share_suspended_per_day")
WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "nine": 9}
DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 365.25 / 12, "year": 365.25}


@pytest.fixture(scope="module")
def study() -> pd.DataFrame:
    return load.study_results()


@pytest.fixture(scope="module")
def transcribed(study: pd.DataFrame) -> pd.DataFrame:
    return study[~study["derived"].astype(bool)]


def _raw_rows() -> dict[str, dict[str, str]]:
    """Every figures.csv row of data/raw, read with the csv module (not the ETL)."""
    rows = {}
    for path in sorted(paths.raw_dir().glob("*/figures.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                rows[row["figure_id"]] = row
    return rows


def _normalise(text: str) -> str:
    text = text.replace("“", "").replace("”", "").replace('"', "").replace("’", "'")
    return re.sub(r"\s+", " ", text).strip().lower()


def test_loads_with_declared_types(study: pd.DataFrame) -> None:
    assert list(study.columns) == schema.STUDY_RESULTS.columns
    assert len(study) >= MIN_STUDY_ROWS
    assert isinstance(study["metric"].dtype, pd.CategoricalDtype)
    assert str(study["sample_size"].dtype) == "Int64"
    assert str(study["horizon_days"].dtype) == "Float64"
    assert study["figure_id"].is_unique


def test_required_studies_present(study: pd.DataFrame) -> None:
    names = set(study["study"])
    for wanted in STUDIES_REQUIRED:
        assert any(n.startswith(wanted) for n in names), wanted


def test_every_row_has_provenance(study: pd.DataFrame, transcribed: pd.DataFrame) -> None:
    assert study["url"].str.match(r"^https?://\S+$").all()
    docs = load.documents().set_index("document_id")
    assert study["document_id"].isin(docs.index).all()
    assert (study["url"].to_numpy() == docs.loc[study["document_id"], "url"].to_numpy()).all()
    assert transcribed["quote"].notna().all()
    assert (transcribed["quote"].str.split().str.len() <= 25).all()
    assert (transcribed["check_status"] == "checked").all()
    assert study["study"].str.len().gt(5).all() and study["cohort"].str.len().gt(2).all()


def test_survival_points_have_horizon_and_denominator(study: pd.DataFrame) -> None:
    points = study[study["metric"].isin(HORIZON_METRICS)]
    assert len(points) >= 3
    assert points["horizon_days"].notna().all() and (points["horizon_days"] > 0).all()
    shares = study[study["metric"].isin(SHARE_METRICS)]
    assert shares["denominator"].notna().all()
    assert (shares["unit"] == "percent").all()
    assert shares["value"].between(0, 100).all()
    not_shares = study[study["unit"] != "percent"]
    assert not_shares["denominator"].isna().all()


def test_units_follow_metrics(study: pd.DataFrame) -> None:
    times = study[study["metric"].isin(["mean_lifespan", "median_lifetime"])]
    assert len(times) >= 3 and times["unit"].isin(["days", "hours", "minutes"]).all()
    counts = study[
        study["metric"].isin(
            ["population_size", "accounts_studied", "channels_studied", "accounts_created"]
        )
    ]
    assert (counts["unit"] == "count").all()
    sizes = study["sample_size"].dropna()
    assert (sizes > 0).all()


def test_horizon_days_match_the_words(transcribed: pd.DataFrame) -> None:
    """horizon_days recomputed here from horizon_text with an independent table."""
    rows = transcribed[transcribed["horizon_text"].notna()]
    assert len(rows) >= 8
    for text, days in zip(rows["horizon_text"], rows["horizon_days"], strict=True):
        n_text, unit = text.lower().removeprefix("within ").split()
        n = WORDS.get(n_text) or float(n_text)
        assert math.isclose(days, n * DAYS[unit.rstrip("s")], rel_tol=1e-12), text


def test_transcribed_rows_are_figures_with_the_same_value(transcribed: pd.DataFrame) -> None:
    figs = load.figures().set_index("figure_id")
    assert transcribed["figure_id"].isin(figs.index).all()
    joined = figs.loc[transcribed["figure_id"]]
    assert (joined["value"].to_numpy() == transcribed["value"].to_numpy()).all()
    assert (joined["metric"].astype(str).to_numpy() == transcribed["metric"].astype(str)).all()


def test_raw_study_columns_reach_the_table(transcribed: pd.DataFrame) -> None:
    raw = _raw_rows()
    for _, row in transcribed.iterrows():
        source = raw[row["figure_id"]]
        assert source["study"] == row["study"]
        assert source["cohort"] == row["cohort"]
        size = source.get("sample_size") or ""
        expected = int(size.replace(",", "")) if size else None
        assert (None if pd.isna(row["sample_size"]) else int(row["sample_size"])) == expected


def test_every_number_of_the_value_text_is_in_the_quote(transcribed: pd.DataFrame) -> None:
    raw = _raw_rows()
    for figure_id, quote in zip(transcribed["figure_id"], transcribed["quote"], strict=True):
        value_text = raw[figure_id]["value_text"]
        for number in re.findall(r"\d[\d,.]*\d|\d", value_text):
            assert number in quote, (figure_id, number, quote)


def test_random_rows_quote_their_value_text(transcribed: pd.DataFrame) -> None:
    """A seeded random re-check: the value as written, qualifier words included, is quoted."""
    raw = _raw_rows()
    ids = sorted(transcribed["figure_id"])
    sample = random.Random(20261129).sample(ids, 15)
    quotes = transcribed.set_index("figure_id")["quote"]
    for figure_id in sample:
        assert _normalise(raw[figure_id]["value_text"]) in _normalise(quotes[figure_id]), figure_id


def test_derived_rows_recomputed(study: pd.DataFrame) -> None:
    by_id = study.set_index("figure_id")
    derived = study[study["derived"].astype(bool)]
    assert len(derived) >= 3
    assert derived["quote"].isna().all() and derived["derivation"].notna().all()
    for _, row in derived.iterrows():
        assert set(row["derived_from"].split(";")) <= set(by_id.index)
        assert row["figure_id"].endswith("-derived")
    # arithmetic done here, on the transcribed values
    n = by_id.loc["ST03-is-suspended", "value"] / (by_id.loc["ST03-is-share", "value"] / 100)
    assert by_id.loc["ST03-is-sample-derived", "value"] == pytest.approx(n)
    assert by_id.loc["ST03-is-sample-derived", "value_low"] < n
    assert by_id.loc["ST03-is-sample-derived", "value_high"] > n
    share = (
        100 * by_id.loc["ST03-other-suspended", "value"] / by_id.loc["ST03-other-sample", "value"]
    )
    assert by_id.loc["ST03-other-share-derived", "value"] == pytest.approx(share)
    raw = _raw_rows()
    assert not any(i.endswith("-derived") for i in raw)  # derived numbers never typed in raw


def test_conflicts_between_studies_are_kept(study: pd.DataFrame) -> None:
    conflicts = load.conflicts()
    documented = conflicts[conflicts["kind"] == "documented"]
    pairs = set(zip(documented["figure_id_a"], documented["figure_id_b"], strict=True))
    assert ("ST05-suspended", "ST05-tracked") in pairs
    assert ("ST02-population-max", "ST08-population") in pairs
    assert ("ST02-suspended", "ST03-bm-suspended") in pairs
    by_id = study.set_index("figure_id")
    for conflict_id in by_id.loc["ST05-suspended", "conflict_ids"].split(";"):
        assert conflict_id in set(conflicts["conflict_id"])
    named = conflicts[
        conflicts["figure_id_a"].isin(study["figure_id"])
        | conflicts["figure_id_b"].isin(study["figure_id"])
    ]
    listed = {c for ids in study["conflict_ids"].dropna() for c in ids.split(";")}
    assert set(named["conflict_id"]) <= listed


# published numbers of the calibration anchors (issue 11, item 3), as the sources print them
ANCHORS = {
    "TG22": (2096, "count"),
    "TG23": (2959, "count"),
    "TG24": (250, "count"),
    "EU42-2018": (12, "count"),
    "EU42-2019": (105, "count"),
    "EU43-2018": (302, "days"),
    "EU43-2019": (14, "days"),
    "ST10-organic-2018": (15, "percent"),
    "ST10-organic-2019": (95.5, "percent"),
    "ST05-suspended": (10_000, "count"),
    "ST05-created": (2_000, "count"),
    "ST01-population": (46_000, "count"),
    "ST02-population-max": (70_000, "count"),
    "ST04-monthly-2015": (16_500, "count"),
}


@pytest.mark.parametrize(("figure_id", "expected"), sorted(ANCHORS.items()))
def test_figure_lookup_of_calibration_anchors(figure_id: str, expected: tuple) -> None:
    row = load.figure(figure_id)
    assert row["value"] == pytest.approx(expected[0])
    assert row["unit"] == expected[1]
    assert str(row["url"]).startswith("http") and isinstance(row["quote"], str)
    assert row["check_status"] == "checked"


def test_figure_lookup_ranges_and_study_fields() -> None:
    baseline = load.figure("TG24")
    assert (baseline["value_low"], baseline["value_high"], baseline["rate_per"]) == (
        200,
        300,
        "day",
    )
    lifespan = load.figure("EU43-2019")
    assert lifespan["sample_size"] == 105 and "2019" in lifespan["cohort"]
    one_sided = load.figure("ST01-population")  # "at least 46,000": no upper bound
    assert isinstance(one_sided["value_high"], float) and math.isnan(one_sided["value_high"])
    assert one_sided["value_low"] == 46_000.0 and one_sided["rate_per"] is None
    derived = load.figure("ST03-is-sample-derived")
    assert derived["derived"] is True and derived["quote"] is None
    assert 716 < derived["value"] < 729


def test_unknown_figure_is_a_clear_error() -> None:
    with pytest.raises(UnknownFigureError, match="no figure or study result with id 'XX-none'"):
        load.figure("XX-none")
    assert issubclass(UnknownFigureError, TakedownError) and issubclass(
        UnknownFigureError, KeyError
    )


def test_filters(study: pd.DataFrame) -> None:
    points = load.study_results(metric="share_suspended_within")
    assert set(points["metric"]) == {"share_suspended_within"}
    assert len(load.study_results(include_derived=False)) == (~study["derived"]).sum()
    with pytest.raises(ValueError, match="unknown metric"):
        load.study_results(metric="nonsense")
