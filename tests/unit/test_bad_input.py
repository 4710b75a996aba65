"""A malformed raw row stops the build with file, line, field and what was expected,
and leaves data/processed exactly as it was."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.errors import RawDataError
from analysis.etl.conflicts import DOCUMENTED_COLUMNS
from analysis.etl.raw import ACTION_COLUMNS, DOCUMENT_COLUMNS, FIGURE_COLUMNS
from analysis.etl.write import run_etl

GOOD_DOCUMENT = {
    "document_id": "xx_press_2019",
    "originator": "Europol",
    "publisher": "Europol",
    "title": "A press release",
    "url": "https://example.org/press",
    "published_date": "2019-11-25",
    "source_kind": "primary",
    "language": "en",
    "checked_on": "2026-11-28",
    "notes": "",
}
GOOD_FIGURE = {
    "figure_id": "XX01",
    "document_id": "xx_press_2019",
    "platform": "multiple",
    "target": "islamic_state",
    "metric": "items_referred",
    "value_text": "over 26 000",
    "rate_per": "",
    "period_text": "21-24 November 2019",
    "quote": "It led to the referral of a total of over 26 000 items",
    "quote_en": "",
    "check_status": "checked",
    "notes": "",
}
SECOND_FIGURE = {
    **GOOD_FIGURE,
    "figure_id": "XX02",
    "metric": "removal_rate",
    "value_text": "91.4%",
    "quote": "91.4% removed",
}


def write_raw(root: Path, documents: list[dict], figures: list[dict]) -> Path:
    family = root / "raw" / "synthetic_family"
    family.mkdir(parents=True)
    for name, columns, rows in (
        ("documents.csv", DOCUMENT_COLUMNS, documents),
        ("figures.csv", FIGURE_COLUMNS, figures),
    ):
        with (family / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    for name, columns in (
        ("action_days.csv", ACTION_COLUMNS),
        ("documented_conflicts.csv", DOCUMENTED_COLUMNS),
    ):
        # required files; a header alone means "nothing recorded"
        (root / "raw" / name).write_text(",".join(columns) + "\n", encoding="utf-8")
    return root / "raw"


@pytest.fixture
def processed(tmp_path: Path) -> Path:
    folder = tmp_path / "processed"
    folder.mkdir()
    (folder / "figures.parquet").write_bytes(b"previous build")
    return folder


def test_good_rows_build(tmp_path: Path, processed: Path) -> None:
    raw = write_raw(tmp_path, [GOOD_DOCUMENT], [GOOD_FIGURE, SECOND_FIGURE])
    counts = run_etl(raw, processed)
    assert counts["figures"] == 2
    assert (processed / "datapackage.json").is_file()


CASES = [
    # (label, figure changes, document changes, expected field, line, words in expected)
    ("unparseable value", {"value_text": "several hundreds"}, {}, "value_text", "number"),
    ("unparseable period", {"period_text": "in recent times"}, {}, "period_text", ""),
    ("unknown vocabulary term", {"platform": "myspace"}, {}, "platform", "telegram"),
    ("unknown document", {"document_id": "xx_missing"}, {}, "document_id", "documents.csv"),
    ("end before start", {"period_text": "24-21 November 2019"}, {}, "period_text", ""),
    ("negative count", {"value_text": "-26,000"}, {}, "value_text", "non-negative"),
    (
        "percent over 100",
        {"metric": "removal_rate", "value_text": "191.4%"},
        {},
        "value_text",
        "0 and 100",
    ),
    ("missing quote", {"quote": ""}, {}, "quote", "non-empty"),
    ("quote too long", {"quote": " ".join(["word"] * 26)}, {}, "quote", "25 words"),
]


@pytest.mark.parametrize(
    ("label", "figure", "document", "field", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_figure_row(tmp_path, processed, label, figure, document, field, words) -> None:
    raw = write_raw(
        tmp_path, [{**GOOD_DOCUMENT, **document}], [SECOND_FIGURE, {**GOOD_FIGURE, **figure}]
    )
    before = {p.name: p.read_bytes() for p in processed.iterdir()}
    with pytest.raises(RawDataError) as info:
        run_etl(raw, processed)
    err = info.value
    assert Path(err.file).name == "figures.csv"
    assert err.line == 3  # header is line 1, the bad row is the second data row
    assert err.field == field
    assert words in err.expected
    assert "figures.csv" in str(err) and "line 3" in str(err)
    assert {p.name: p.read_bytes() for p in processed.iterdir()} == before
    left = [p.name for p in processed.parent.glob(".processed.*") if p.name != ".processed.lock"]
    assert not left, "temporary build folder left behind"


def test_missing_url(tmp_path: Path, processed: Path) -> None:
    raw = write_raw(tmp_path, [{**GOOD_DOCUMENT, "url": ""}], [GOOD_FIGURE])
    with pytest.raises(RawDataError) as info:
        run_etl(raw, processed)
    assert (Path(info.value.file).name, info.value.line, info.value.field) == (
        "documents.csv",
        2,
        "url",
    )
    assert (processed / "figures.parquet").read_bytes() == b"previous build"


def test_url_must_be_http(tmp_path: Path, processed: Path) -> None:
    raw = write_raw(tmp_path, [{**GOOD_DOCUMENT, "url": "example.org/press"}], [GOOD_FIGURE])
    with pytest.raises(RawDataError, match="http"):
        run_etl(raw, processed)


def test_duplicate_figure_id(tmp_path: Path, processed: Path) -> None:
    raw = write_raw(
        tmp_path, [GOOD_DOCUMENT], [GOOD_FIGURE, {**SECOND_FIGURE, "figure_id": "XX01"}]
    )
    with pytest.raises(RawDataError) as info:
        run_etl(raw, processed)
    assert (info.value.line, info.value.field) == (3, "figure_id")
    assert "already used" in info.value.expected and "line 2" in info.value.expected


def test_duplicate_document_id(tmp_path: Path, processed: Path) -> None:
    raw = write_raw(tmp_path, [GOOD_DOCUMENT, GOOD_DOCUMENT], [GOOD_FIGURE])
    with pytest.raises(RawDataError) as info:
        run_etl(raw, processed)
    assert (Path(info.value.file).name, info.value.line, info.value.field) == (
        "documents.csv",
        3,
        "document_id",
    )


def test_unknown_column_in_header(tmp_path: Path, processed: Path) -> None:
    raw = write_raw(tmp_path, [GOOD_DOCUMENT], [GOOD_FIGURE])
    path = raw / "synthetic_family" / "figures.csv"
    text = path.read_text().replace("notes", "notez", 1)
    path.write_text(text)
    with pytest.raises(RawDataError) as info:
        run_etl(raw, processed)
    assert info.value.line == 1


def test_cli_prints_error_without_traceback(tmp_path, processed, capsys) -> None:
    raw = write_raw(tmp_path, [GOOD_DOCUMENT], [{**GOOD_FIGURE, "target": "nobody"}])
    status = main(["etl", "--raw", str(raw), "--processed", str(processed)])
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in err
    assert "figures.csv, line 2, field 'target'" in err
    assert (processed / "figures.parquet").read_bytes() == b"previous build"
