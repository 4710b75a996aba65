"""Study-result columns of figures.csv: horizon parsing, checks, derived rows (tiny raw trees)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from analysis.errors import RawDataError
from analysis.etl.build import build_tables
from analysis.etl.studies import DERIVED, parse_horizon

DOC_HEADER = (
    "document_id,originator,publisher,title,url,published_date,source_kind,language,"
    "checked_on,notes\n"
)
DOC_ROW = "st_doc,Someone,Some publisher,A title,https://example.org/a,2017-08-23,primary,en,2026-11-01,\n"
FIG_HEADER = (
    "figure_id,document_id,platform,target,metric,value_text,rate_per,period_text,quote,"
    "quote_en,check_status,notes,study,cohort,horizon_text,sample_size,denominator\n"
)
GOOD_ROWS = [
    "A1,st_doc,twitter,islamic_state,share_suspended_within,more than 30%,,February–April 2017,"
    "more than 30% were suspended within two days,,checked,,S,pro-IS,two days,,unclear",
    "A2,st_doc,twitter,islamic_state,mean_lifespan,14 days,,2019,lasted for 14 days,,checked,,"
    "S,channels,,105,",
]


def _raw(tmp_path: Path, rows: list[str], family: str = "studies") -> Path:
    raw = tmp_path / "raw"
    (raw / family).mkdir(parents=True)
    (raw / family / "documents.csv").write_text(DOC_HEADER + DOC_ROW, encoding="utf-8")
    (raw / family / "figures.csv").write_text(FIG_HEADER + "\n".join(rows) + "\n", "utf-8")
    (raw / "action_days.csv").write_text(
        "action_id,start_date,end_date,name,coordinator,lead_country,participating_countries,"
        "countries_stated,platforms,platforms_stated,target,document_id,figure_ids,quote,"
        "check_status,notes\n",
        encoding="utf-8",
    )
    (raw / "documented_conflicts.csv").write_text(
        "figure_id_a,figure_id_b,description\n", encoding="utf-8"
    )
    return raw


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("two days", 2.0),
        ("within 2 days", 2.0),
        ("three months", 3 * 365.25 / 12),
        ("30 days", 30.0),
        ("a week", 7.0),
        ("nine months", 9 * 30.4375),
        ("2 hours", 2 / 24),
        ("one year", 365.25),
        ("in just three months".removeprefix("in "), 3 * 30.4375),
    ],
)
def test_parse_horizon(text: str, days: float) -> None:
    assert math.isclose(parse_horizon(text), days, rel_tol=1e-9)


@pytest.mark.parametrize("text", ["", "soon", "0 days", "two", "days", "2 fortnights", "1-2 days"])
def test_parse_horizon_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_horizon(text)


def test_study_fields_reach_study_results(tmp_path: Path) -> None:
    tables = build_tables(_raw(tmp_path, GOOD_ROWS))
    study = tables.study_results.set_index("figure_id")
    assert study.loc["A1", "horizon_days"] == 2.0
    assert study.loc["A1", "denominator"] == "unclear"
    assert study.loc["A2", "sample_size"] == 105
    assert study.loc["A2", "unit"] == "days"
    assert study.loc["A1", "url"] == "https://example.org/a"
    assert not study["derived"].any()  # the DERIVED sources are absent: no derived rows
    assert set(tables.figures["figure_id"]) == {"A1", "A2"}  # study results are figures too


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        (  # a survival point without its horizon
            "B,st_doc,twitter,islamic_state,share_suspended_within,30%,,2017,30% were,,checked,,"
            "S,pro-IS,,,cohort",
            "horizon_text",
            "horizon",
        ),
        (  # a share without a denominator
            "B,st_doc,twitter,islamic_state,share_suspended,30%,,2017,30% were,,checked,,"
            "S,pro-IS,,,",
            "denominator",
            "of whom",
        ),
        (  # no cohort
            "B,st_doc,twitter,islamic_state,mean_lifespan,14 days,,2019,14 days,,checked,,S,,,,",
            "cohort",
            "cohort",
        ),
        (  # a horizon the parser cannot read
            "B,st_doc,twitter,islamic_state,share_suspended_within,30%,,2017,30% were,,checked,,"
            "S,pro-IS,soon after,,cohort",
            "horizon_text",
            "two days",
        ),
        (  # a sample size that is not a whole number
            "B,st_doc,twitter,islamic_state,mean_lifespan,14 days,,2019,14 days,,checked,,"
            "S,c,,about 100,",
            "sample_size",
            "whole number",
        ),
        (  # an unknown denominator
            "B,st_doc,twitter,islamic_state,share_suspended,30%,,2017,30% were,,checked,,"
            "S,c,,,everyone",
            "denominator",
            "cohort",
        ),
        (  # a denominator on a count
            "B,st_doc,twitter,islamic_state,accounts_suspended,30,,2017,30 were,,checked,,"
            "S,c,,,cohort",
            "denominator",
            "not a share",
        ),
        (  # every row of the studies family is a study result
            "B,st_doc,twitter,islamic_state,accounts_suspended,30,,2017,30 were,,checked,,,,,,",
            "study",
            "every row",
        ),
    ],
)
def test_bad_study_row_is_located(tmp_path: Path, row: str, column: str, expected: str) -> None:
    raw = _raw(tmp_path, [GOOD_ROWS[0], row])
    with pytest.raises(RawDataError) as info:
        build_tables(raw)
    err = info.value
    assert err.line == 3
    assert err.field == column
    assert expected in str(err)
    assert str(err.file).endswith("studies/figures.csv")


def test_study_column_needs_study_outside_the_studies_family(tmp_path: Path) -> None:
    row = "B,st_doc,twitter,islamic_state,accounts_suspended,30,,2017,30 were,,checked,,,c,,,"
    raw = _raw(tmp_path, [row], family="other_family")
    with pytest.raises(RawDataError) as info:
        build_tables(raw)
    assert info.value.field == "study"
    # the same row without study columns is an ordinary figure, not a study result
    plain = "B,st_doc,twitter,islamic_state,accounts_suspended,30,,2017,30 were,,checked,,,,,,"
    tables = build_tables(_raw(tmp_path / "b", [plain], family="other_family"))
    assert tables.study_results.empty and len(tables.figures) == 1


def test_derived_rows_follow_the_raw_numbers(tmp_path: Path) -> None:
    """Changing a transcribed number changes the derived row (nothing is typed twice)."""
    spec = next(d for d in DERIVED if d.figure_id == "ST03-other-share-derived")
    part, whole = spec.sources
    rows = [
        f"{part},st_doc,twitter,jihadist,accounts_suspended,40,,2017,40 were,,checked,,S,o,,,",
        f"{whole},st_doc,twitter,jihadist,accounts_studied,160,,2017,160 in,,checked,,S,o,,,",
    ]
    tables = build_tables(_raw(tmp_path, rows))
    study = tables.study_results.set_index("figure_id")
    derived = study.loc["ST03-other-share-derived"]
    assert derived["value"] == pytest.approx(25.0)  # 40 / 160, computed here by hand
    assert bool(derived["derived"]) and derived["derived_from"] == f"{part};{whole}"
    assert derived["quote"] is None or derived["quote"] != derived["quote"]  # no quote
    assert derived["metric"] == "share_suspended" and derived["unit"] == "percent"
    assert "ST03-other-share-derived" not in set(tables.figures["figure_id"])
