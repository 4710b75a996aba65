"""The written preference rule of `series` and the three conflict rules, on small inline data."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analysis.etl.conflicts import find_conflicts
from analysis.etl.intervals import figure_interval, rounding_half_width, significant_digits
from analysis.etl.series import PREFERENCE_RULE, select_series

D = dt.date
H1_START, H1_END = D(2017, 1, 1), D(2017, 6, 30)


def figure(
    figure_id: str,
    value: float,
    *,
    document_id: str = "doc_a",
    qualifier: str = "exact",
    start: dt.date = H1_START,
    end: dt.date = H1_END,
    kind: str = "half_year",
    check_status: str = "checked",
    value_text: str | None = None,
    metric: str = "accounts_suspended",
    subset: str | None = None,
) -> dict:
    return {
        "figure_id": figure_id,
        "document_id": document_id,
        "platform": "twitter",
        "target": "terrorist_any",
        "metric": metric,
        "subset": subset,
        "unit": "count",
        "value": value,
        "value_low": value if qualifier in ("exact", "more_than", "at_least") else None,
        "value_high": value if qualifier in ("exact", "less_than", "at_most") else None,
        "qualifier": qualifier,
        "rate_per": None,
        "period_start": start,
        "period_end": end,
        "period_kind": kind,
        "period_days": (end - start).days + 1,
        "is_partial_period": kind == "to_date",
        "per_day": None,
        "value_text": value_text or f"{value:,.0f}",
        "check_status": check_status,
    }


SOURCES = pd.DataFrame(
    {
        "document_id": ["doc_a", "doc_b", "doc_c", "doc_old"],
        "source_kind": ["secondary_copy", "primary", "translation", "secondary_copy"],
        "published_date": [D(2017, 9, 20), D(2017, 9, 19), D(2017, 9, 21), D(2017, 9, 1)],
    }
).set_index("document_id")


def pick(rows: list[dict]) -> pd.Series:
    series = select_series(pd.DataFrame(rows), SOURCES)
    assert len(series) == 1
    return series.iloc[0]


def test_rule_is_written_in_order() -> None:
    assert [step for step, _ in PREFERENCE_RULE] == [
        "checked",
        "source_kind",
        "qualifier",
        "precision",
        "latest",
        "figure_id",
    ]


def test_checked_beats_unverified_even_from_a_primary_page() -> None:
    row = pick([figure("A", 1.0, document_id="doc_b", check_status="unverified"), figure("B", 2.0)])
    assert row["figure_id"] == "B"
    assert row["chosen_because"].startswith("checked")


def test_primary_beats_copy() -> None:
    row = pick([figure("A", 299649.0), figure("B", 299649.0, document_id="doc_b")])
    assert row["figure_id"] == "B"
    assert row["chosen_because"].startswith("source_kind")
    assert row["n_alternatives"] == 1 and not row["values_disagree"]


def test_exact_beats_about_then_precision() -> None:
    row = pick(
        [
            figure("A", 300000.0, qualifier="about", value_text="nearly 300,000"),
            figure("B", 299649.0),
        ]
    )
    assert row["figure_id"] == "B" and row["chosen_because"].startswith("qualifier")
    row = pick([figure("A", 300000.0), figure("B", 299649.0)])
    assert row["figure_id"] == "B" and row["chosen_because"].startswith("precision")
    assert row["values_disagree"]


def test_later_publication_then_id_break_ties() -> None:
    row = pick([figure("A", 5.0, document_id="doc_old"), figure("B", 6.0)])
    assert row["figure_id"] == "B" and row["chosen_because"].startswith("latest")
    row = pick([figure("B", 5.0), figure("A", 6.0)])
    assert row["figure_id"] == "A" and row["chosen_because"].startswith("figure_id")


def test_each_key_gets_one_row_and_subsets_are_separate_keys() -> None:
    rows = [
        figure("A", 1.0),
        figure("B", 2.0, subset="videos"),
        figure("C", 3.0, start=D(2017, 7, 1), end=D(2017, 12, 31)),
    ]
    series = select_series(pd.DataFrame(rows), SOURCES)
    assert len(series) == 3
    assert series["n_alternatives"].tolist() == [0, 0, 0]


def test_significant_digits_and_rounding() -> None:
    assert [significant_digits(v) for v in (299649.0, 300000.0, 1.9e6, 91.4, 2013.0)] == [
        6,
        1,
        2,
        3,
        4,
    ]
    assert rounding_half_width(1.9e6) == pytest.approx(50_000)
    assert rounding_half_width(2013.0) == pytest.approx(0.5)
    assert figure_interval(100.0, "more_than")[1] == float("inf")
    low, high = figure_interval(300000.0, "about")
    assert low <= 285000 and high >= 315000


def test_same_key_conflict_with_compatibility() -> None:
    conflicts = find_conflicts(
        pd.DataFrame(
            [
                figure("IG1", 440600.0),
                figure("IG2", 446000.0, document_id="doc_b"),
                figure("TW1", 299649.0, start=D(2018, 1, 1), end=D(2018, 6, 30)),
                figure(
                    "TW2",
                    300000.0,
                    document_id="doc_b",
                    qualifier="about",
                    start=D(2018, 1, 1),
                    end=D(2018, 6, 30),
                ),
            ]
        )
    )
    by_pair = {(r.figure_id_a, r.figure_id_b): r for r in conflicts.itertuples()}
    assert not by_pair[("IG1", "IG2")].compatible_within_qualifiers
    assert by_pair[("IG1", "IG2")].relative_difference == pytest.approx(5400 / 446000)
    assert by_pair[("TW1", "TW2")].compatible_within_qualifiers


def test_nested_decrease() -> None:
    conflicts = find_conflicts(
        pd.DataFrame(
            [
                figure("SHORT", 2118.0, start=D(2016, 12, 1), end=D(2016, 12, 28), kind="to_date"),
                figure(
                    "LONG",
                    2013.0,
                    document_id="doc_b",
                    start=D(2016, 12, 1),
                    end=D(2016, 12, 31),
                    kind="month",
                ),
            ]
        )
    )
    assert conflicts["kind"].tolist() == ["nested_decrease"]
    assert conflicts.iloc[0]["figure_id_a"] == "LONG"


def test_month_to_date_readings_of_one_month_differ() -> None:
    conflicts = find_conflicts(
        pd.DataFrame(
            [
                figure("EARLY", 2013.0, start=D(2016, 12, 1), end=D(2016, 12, 26), kind="to_date"),
                figure(
                    "LATE",
                    2118.0,
                    document_id="doc_b",
                    start=D(2016, 12, 1),
                    end=D(2016, 12, 28),
                    kind="to_date",
                ),
            ]
        )
    )
    assert conflicts["kind"].tolist() == ["month_to_date_differs"]
    assert bool(conflicts.iloc[0]["compatible_within_qualifiers"])  # later reading is larger


def test_sum_of_tiling_parts_against_total() -> None:
    months = [
        figure(
            f"M{m}",
            100.0,
            start=D(2017, m, 1),
            end=D(2017, m + 1, 1) - dt.timedelta(days=1),
            kind="month",
        )
        for m in (1, 2)
    ]
    rest = figure("M3", 50.0, start=D(2017, 3, 1), end=D(2017, 3, 26), kind="to_date")
    total = figure("TOTAL", 243.0, start=D(2017, 1, 1), end=D(2017, 3, 26), kind="to_date")
    conflicts = find_conflicts(pd.DataFrame([*months, rest, total]))
    row = conflicts[conflicts["kind"] == "sum_vs_total"].iloc[0]
    assert row["figure_id_a"] == "TOTAL"
    assert row["figure_id_b"] == "M1;M2;M3"
    assert row["value_b"] == 250.0
    agree = find_conflicts(pd.DataFrame([*months, rest, {**total, "value": 250.0}]))
    assert (agree["kind"] != "sum_vs_total").all()


def test_documented_conflicts_are_checked_and_compared_only_on_one_scale(tmp_path) -> None:
    from analysis.errors import RawDataError
    from analysis.etl.conflicts import documented_conflicts

    rate = {**figure("RATE", 8000.0), "rate_per": "month"}
    rows = pd.DataFrame([figure("A", 100.0), figure("B", 100.0, document_id="doc_b"), rate])
    path = tmp_path / "documented_conflicts.csv"
    path.write_text(
        "figure_id_a,figure_id_b,description\nA,B,same value and other wording\n"
        "RATE,A,a monthly rate against a total\n"
    )
    records = documented_conflicts(path, rows)
    assert [r["kind"] for r in records] == ["documented", "documented"]
    assert records[0]["compatible_within_qualifiers"] is True
    assert records[1]["compatible_within_qualifiers"] is False  # different scales
    path.write_text("figure_id_a,figure_id_b,description\nA,NOPE,typo\n")
    with pytest.raises(RawDataError) as info:
        documented_conflicts(path, rows)
    assert (info.value.line, info.value.field) == (2, "figure_id_b")
