"""Regression tests for bugs found in review (one test per bug, each failed before its fix)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analysis.etl.periods import parse_period
from analysis.ingest.messages import message_log_to_channel_events
from analysis.models.reappearance import reappearance_durations

D = dt.date


# --- a month snapshot cannot be dated after the document that states it -----------------


def test_month_snapshot_ends_at_publication_when_published_within_the_month():
    # GIFCT post of 12 June 2019: "as of June 2019" can only describe 12 June or earlier
    p = parse_period("as of June 2019", published=D(2019, 6, 12))
    assert (p.start, p.end, p.kind, p.is_partial) == (
        D(2019, 6, 12),
        D(2019, 6, 12),
        "snapshot",
        False,
    )


def test_month_snapshot_keeps_month_end_otherwise():
    assert parse_period("as of June 2019").end == D(2019, 6, 30)
    assert parse_period("as of June 2019", published=D(2019, 6, 30)).end == D(2019, 6, 30)
    assert parse_period("as of June 2019", published=D(2019, 8, 1)).end == D(2019, 6, 30)
    # a day snapshot is taken as written
    assert parse_period("as of 3 January 2017", published=D(2017, 1, 5)).end == D(2017, 1, 3)


# --- message logs in CSV: Unix epoch seconds, as the docstring and error message promise ---


def test_csv_message_log_accepts_unix_epoch_seconds(tmp_path):
    log = tmp_path / "log.csv"
    start = 1_577_836_800  # 2020-01-01T00:00:00Z
    log.write_text(
        f"channel_id,timestamp\nsyn-a,{start}\nsyn-a,{start + 86400}\nsyn-b,2020-01-02T00:00:00Z\n"
    )
    events = message_log_to_channel_events(
        log, hash_ids=False, progress=False, observation_end="2020-01-03", epoch_unit="s"
    ).set_index("channel_id")
    assert events.loc["syn-a", "created_at"] == pd.Timestamp("2020-01-01")
    assert events.loc["syn-a", "last_message_at"] == pd.Timestamp("2020-01-02")
    assert events.loc["syn-b", "created_at"] == pd.Timestamp("2020-01-02")


# --- successor by family does not depend on the row order of the input ------------------


def test_family_successor_tie_broken_by_channel_id_not_row_order():
    # synthetic: a1 banned at 10; a2 and a3 both created at 10 in the same family
    base = pd.DataFrame(
        {
            "channel_id": ["a1", "a3", "a2"],
            "family_id": ["A", "A", "A"],
            "created_at": [0.0, 10.0, 10.0],
            "ended_at": [10.0, np.nan, np.nan],
            "end_reason": ["banned", None, None],
            "observation_end": [20.0, 20.0, 20.0],
        }
    )
    for order in ([0, 1, 2], [0, 2, 1], [2, 1, 0], [1, 0, 2]):
        got = reappearance_durations(base.iloc[order].reset_index(drop=True))
        assert got["successor_id"].tolist() == ["a2"], order
