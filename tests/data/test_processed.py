"""Data tests on the committed data/processed: schema, keys, provenance, coverage, readers."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from analysis import load, paths, schema
from analysis.etl.raw import raw_tree_sha256
from analysis.etl.write import METADATA_PREFIX

PROCESSED = paths.processed_dir()
CORE = list(schema.CORE_TABLES)

# Floors, not targets: the dataset may only grow. Raise them when you add figures.
MIN_FIGURES = 840
MIN_FAMILIES = 17
MIN_ACTION_DAYS = 25
MIN_FIGURES_PER_FAMILY = {
    "telegram_etidal": 117,
    "meta": 73,
    "twitter": 55,
    "uk_ctiru": 54,
    "europol": 47,
    "telegram_isiswatch": 47,
    "youtube": 40,
    "tcap": 31,
    "telegram_statements": 17,
    "gifct": 15,
    "germany_bka": 9,
    "crest_research": 8,
    "studies": 38,
    "eu_tco": 2,
    "meta_cser_data": 258,
    "tco_transparency_reports": 31,
    "youtube_transparency_data": 11,
}


@pytest.fixture(scope="module")
def figures() -> pd.DataFrame:
    return load.figures(with_documents=True)


@pytest.mark.parametrize("name", CORE)
def test_table_matches_declared_schema(name: str) -> None:
    table = schema.TABLES[name]
    written = pq.read_schema(PROCESSED / table.path)
    expected = schema.arrow_schema(table)
    assert written.names == expected.names
    for field in expected:
        assert written.field(field.name).type == field.type, field.name
        assert written.field(field.name).nullable == field.nullable, field.name


@pytest.mark.parametrize("name", CORE)
def test_primary_key_unique_and_sorted(name: str) -> None:
    table = schema.TABLES[name]
    frame = pq.read_table(PROCESSED / table.path).to_pandas()
    key = list(table.primary_key)
    assert not frame.duplicated(key).any()
    for column in key:
        if schema.TABLES[name].field(column).required:
            assert frame[column].notna().all(), column


@pytest.mark.parametrize("name", CORE)
def test_required_fields_have_no_nulls(name: str) -> None:
    table = schema.TABLES[name]
    frame = pq.read_table(PROCESSED / table.path).to_pandas()
    for field in table.fields:
        if field.required:
            assert frame[field.name].notna().all(), f"{name}.{field.name}"


def test_foreign_keys_resolve() -> None:
    for table in schema.TABLES.values():
        if not (PROCESSED / table.path).is_file():
            continue
        frame = pq.read_table(PROCESSED / table.path).to_pandas()
        for fk in table.foreign_keys:
            ref = pq.read_table(PROCESSED / schema.TABLES[fk.reference_table].path).to_pandas()
            wanted = set(map(tuple, frame[list(fk.fields)].dropna().to_numpy()))
            known = set(map(tuple, ref[list(fk.reference_fields)].to_numpy()))
            assert wanted <= known, f"{table.name}: {sorted(wanted - known)[:5]}"


def test_every_figure_has_document_url_and_quote(figures: pd.DataFrame) -> None:
    assert figures["url"].str.match(r"^https?://").all()
    assert (figures["quote"].str.len() > 0).all()
    assert (figures["quote"].str.split().str.len() <= 25).all()


def test_coverage_floors(figures: pd.DataFrame) -> None:
    assert len(figures) >= MIN_FIGURES
    counts = figures["family"].value_counts()
    assert counts.size >= MIN_FAMILIES, counts.to_dict()
    for family, floor in MIN_FIGURES_PER_FAMILY.items():
        assert counts.get(family, 0) >= floor, (family, counts.get(family, 0))


def test_action_days_cover_the_november_2019_action() -> None:
    actions = load.action_days()
    assert len(actions) >= MIN_ACTION_DAYS
    nov = actions[actions["start_date"] == pd.Timestamp("2019-11-21")]
    assert len(nov) == 1
    assert nov["countries_stated"].iloc[0] == 12  # Europol/Eurojust: 12 Member States
    assert nov["platforms_stated"].iloc[0] == 9  # and 9 online service providers


def test_processed_is_built_from_current_raw() -> None:
    meta = pq.read_schema(PROCESSED / "figures.parquet").metadata
    assert meta[f"{METADATA_PREFIX}.raw_sha256".encode()].decode() == raw_tree_sha256(
        paths.raw_dir()
    ), "data/processed is stale: run `make data` and commit"


def test_datapackage_lists_every_table_with_its_hash() -> None:
    package = json.loads((PROCESSED / "datapackage.json").read_text())
    names = {r["name"] for r in package["resources"]}
    assert set(CORE) <= names
    import hashlib

    for resource in package["resources"]:
        digest = hashlib.sha256((PROCESSED / resource["path"]).read_bytes()).hexdigest()
        assert resource["hash"] == f"sha256:{digest}"
        declared = [f["name"] for f in resource["schema"]["fields"]]
        assert declared == schema.TABLES[resource["name"]].columns


def test_data_dictionary_describes_every_column() -> None:
    text = (PROCESSED / "README.md").read_text()
    for name in CORE:
        for column in schema.TABLES[name].columns:
            assert f"`{column}`" in text
    assert "Referred is not removed" in text


@pytest.mark.parametrize("name", CORE)
def test_duckdb_and_polars_read_every_table(name: str) -> None:
    path = PROCESSED / schema.TABLES[name].path
    n_arrow = pq.read_metadata(path).num_rows
    assert duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()[0][0] == n_arrow
    assert pl.read_parquet(path).height == n_arrow


def test_loader_dtypes(figures: pd.DataFrame) -> None:
    assert isinstance(figures["platform"].dtype, pd.CategoricalDtype)
    assert str(figures["value"].dtype) == "Float64"
    assert str(figures["period_start"].dtype).startswith("datetime64")
    assert str(figures["is_partial_period"].dtype) == "boolean"


def test_per_day_only_where_meaningful(figures: pd.DataFrame) -> None:
    has_rate = figures["per_day"].notna()
    assert (figures.loc[has_rate, "unit"] == "count").all()
    assert (figures.loc[has_rate, "period_kind"] != "snapshot").all()


def test_series_one_row_per_key_and_counts_alternatives() -> None:
    series = load.series()
    figures = load.figures()
    key = list(schema.SERIES_KEY)
    assert not series.duplicated(key).any()
    assert series["n_figures"].sum() == len(figures)
    assert (series["n_alternatives"] == series["n_figures"] - 1).all()


def _conflict_between(conflicts: pd.DataFrame, values: set[float]) -> pd.DataFrame:
    pair = conflicts[["value_a", "value_b"]].astype(float)
    return conflicts[pair.apply(lambda r: set(r) == values, axis=1)]


def test_known_conflict_telegram_december_2016() -> None:
    found = _conflict_between(load.conflicts(), {2013.0, 2118.0})
    assert len(found) >= 1
    assert (found["platform"] == "telegram").all()


def test_known_conflict_fars_monthly_sum_against_total() -> None:
    conflicts = load.conflicts()
    found = conflicts[(conflicts["kind"] == "sum_vs_total") & (conflicts["value_a"] == 43167)]
    assert len(found) == 1
    assert float(found["value_b"].iloc[0]) == 46135.0  # catalogue: the nine values sum to 46,135


def test_known_conflict_instagram_q1_2020() -> None:
    found = _conflict_between(load.conflicts(), {440600.0, 446000.0})
    assert len(found) >= 1
    assert not found["compatible_within_qualifiers"].any()


def test_loader_filters_reject_unknown_terms() -> None:
    with pytest.raises(ValueError, match="unknown platform 'telegarm'"):
        load.figures(platform="telegarm")
    telegram = load.series(platform="telegram", metric="bots_and_channels_banned")
    assert len(telegram) > 0
    assert set(telegram["platform"]) == {"telegram"}


def test_documented_conflict_referred_against_taken_down() -> None:
    conflicts = load.conflicts()
    documented = conflicts[conflicts["kind"] == "documented"]
    pair = documented[(documented["figure_id_a"] == "EU09") & (documented["figure_id_b"] == "EU10")]
    assert len(pair) == 1
    assert "referred" in pair["description"].iloc[0]
    figures = load.figures().set_index("figure_id")
    assert figures.loc["EU09", "metric"] == "items_referred"
    assert figures.loc["EU10", "metric"] == "items_removed"
