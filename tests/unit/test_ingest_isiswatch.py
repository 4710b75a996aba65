"""Telegram ISIS Watch export -> daily series (analysis.ingest.isiswatch).

The fixture is a tiny JSON file in Telegram Desktop's export format (``result.json``), built
here with SYNTHETIC counts; it imitates the layout only (no real message is copied).
"""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from analysis.errors import IngestError
from analysis.ingest.isiswatch import (
    check_isiswatch_series,
    daily_series_from_raw,
    parse_ban_message,
    read_isiswatch_export,
)


def _message(mid: int, posted: str, entities: list[dict], *, as_list: bool = True) -> dict:
    """One exported message: ``text`` as Telegram writes it (string or mixed list)."""
    text: object
    if as_list:
        text = [e["text"] if e["type"] == "plain" else e for e in entities]
    else:
        text = "".join(e["text"] for e in entities)
    return {
        "id": mid,
        "type": "message",
        "date": posted,
        "date_unixtime": str(int(pd.Timestamp(posted).timestamp())),
        "from": "Synthetic Channel",
        "from_id": "channel0",
        "text": text,
        "text_entities": entities,
    }


def _ban(mid: int, posted: str, banned: str, day: str, mtd: str, *, terrorist: bool = True) -> dict:
    words = " terrorist bots and channels" if terrorist else " bots and channels"
    entities = [
        {"type": "bold", "text": banned},
        {"type": "plain", "text": f"{words} banned on {day}. Total this month: "},
        {"type": "bold", "text": mtd},
    ]
    return _message(mid, posted, entities, as_list=mid % 2 == 0)


def _export(messages: list[dict]) -> dict:
    return {"name": "Synthetic export", "type": "public_channel", "id": 1, "messages": messages}


# SYNTHETIC counts: 29-31 December 2016 (old wording), 1-3 January 2017.
MESSAGES = [
    {
        "id": 1,
        "type": "service",
        "date": "2016-12-01T00:00:00",
        "action": "create_channel",
        "text": "",
    },
    _ban(2, "2016-12-30T08:00:00", "10", "December 29", "300", terrorist=False),
    _ban(3, "2016-12-31T08:00:00", "20", "December 30", "320", terrorist=False),
    _message(4, "2016-12-31T09:00:00", [{"type": "plain", "text": "Synthetic announcement."}]),
    _ban(5, "2017-01-01T08:00:00", "1,005", "December 31", "1,325", terrorist=False),
    _ban(6, "2017-01-02T08:00:00", "40", "January 1", "40"),
    _ban(7, "2017-01-03T08:00:00", "50", "January 2", "90"),
    _ban(8, "2017-01-04T08:00:00", "60", "January 3", "150"),
]


@pytest.fixture
def export_file(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(_export(MESSAGES), ensure_ascii=False, indent=1))
    return path


def test_reads_daily_series(export_file) -> None:
    series = read_isiswatch_export(export_file)
    assert list(series.columns) == ["date", "banned", "month_to_date", "message_id"]
    assert list(series["date"]) == list(
        pd.to_datetime(
            ["2016-12-29", "2016-12-30", "2016-12-31", "2017-01-01", "2017-01-02", "2017-01-03"]
        )
    )
    assert list(series["banned"]) == [10, 20, 1005, 40, 50, 60]
    assert list(series["month_to_date"]) == [300, 320, 1325, 40, 90, 150]
    assert list(series["message_id"]) == [2, 3, 5, 6, 7, 8]


def test_check_consistent_series(export_file) -> None:
    report = check_isiswatch_series(read_isiswatch_export(export_file))
    assert report.ok, report.summary()
    assert report.n_days == 6 and report.first_date == pd.Timestamp("2016-12-29")


def test_check_reports_gaps_duplicates_and_bad_totals(tmp_path) -> None:
    messages = [
        _ban(1, "2017-01-02T08:00:00", "40", "January 1", "40"),
        _ban(2, "2017-01-03T08:00:00", "50", "January 2", "95"),  # expected 40 + 50 = 90
        _ban(3, "2017-01-05T08:00:00", "60", "January 4", "100"),  # gap: must be >= 95 + 60
        _ban(4, "2017-01-06T08:00:00", "5", "January 4", "100"),  # duplicate day
    ]
    path = tmp_path / "result.json"
    path.write_text(json.dumps(_export(messages)))
    report = check_isiswatch_series(read_isiswatch_export(path))
    assert not report.ok
    assert report.missing_dates == [pd.Timestamp("2017-01-03")]
    assert report.duplicate_dates == [pd.Timestamp("2017-01-04")]
    bad = report.inconsistent.set_index("date")
    assert bad.loc[pd.Timestamp("2017-01-02"), "expected"] == 90
    assert bad.loc[pd.Timestamp("2017-01-02"), "check"] == "exact"
    # the latest message for 4 January (id 4: 5 banned, total 100) is checked: 100 >= 95 + 5
    assert pd.Timestamp("2017-01-04") not in bad.index


def test_parse_year_rollover_and_variants() -> None:
    assert parse_ban_message(
        "1,243 bots and channels banned on December 31. Total this month: 12,571", date(2017, 1, 1)
    ) == (date(2016, 12, 31), 1243, 12571)
    assert parse_ban_message(
        "7 terrorist bots and channels banned on Sep 4th", date(2018, 9, 5)
    ) == (date(2018, 9, 4), 7, None)
    assert parse_ban_message("Synthetic unrelated text", date(2018, 9, 5)) is None


def test_daily_series_from_raw(tmp_path, export_file) -> None:
    assert daily_series_from_raw(tmp_path) is None  # no export folder
    folder = tmp_path / "telegram_isiswatch_export"
    folder.mkdir()
    assert daily_series_from_raw(tmp_path) is None  # empty folder
    (folder / "a.json").write_text(export_file.read_text())
    overlap = [MESSAGES[7], _ban(9, "2017-01-05T08:00:00", "70", "January 4", "220")]
    (folder / "b.json").write_text(json.dumps(_export(overlap)))
    first = daily_series_from_raw(tmp_path)
    second = daily_series_from_raw(tmp_path)
    pd.testing.assert_frame_equal(first, second)
    assert len(first) == 7 and first["message_id"].is_unique
    assert first["date"].iloc[-1] == pd.Timestamp("2017-01-04")
    assert check_isiswatch_series(first).ok


def test_bad_json_and_bad_layout(tmp_path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"messages": [\n{"id": 1,}\n')
    with pytest.raises(IngestError, match="not valid JSON") as info:
        read_isiswatch_export(broken)
    assert str(broken) in str(info.value)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"chats": []}))
    with pytest.raises(IngestError, match="messages"):
        read_isiswatch_export(wrong)


def test_impossible_day_names_row(tmp_path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(_export([_ban(1, "2017-03-01T08:00:00", "4", "February 30", "9")])))
    with pytest.raises(IngestError) as info:
        read_isiswatch_export(path)
    assert (info.value.row, info.value.column) == (1, "text")
