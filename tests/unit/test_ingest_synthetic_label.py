"""A message log labelled SYNTHETIC stays labelled through ``takedowns ingest messages``.

The project's rule: synthetic data are always labelled synthetic. The label of a log written
by :func:`analysis.observation.write_synthetic_table` (Parquet metadata, or a ``synthetic``
column in CSV) must reach the channel table the ingest writes, and the table read back
(:func:`analysis.summaries.read_channel_events`) must be flagged for the figures
(:func:`analysis.plots.is_synthetic`). An unlabelled log must not be flagged.
"""

from __future__ import annotations

import argparse

import pandas as pd
import pytest
from scipy import stats

from analysis.ingest.cli import add_ingest_arguments, run_ingest
from analysis.observation import (
    simulate_channel_lineages,
    simulate_observation,
    write_synthetic_table,
)
from analysis.plots import is_synthetic
from analysis.summaries import read_channel_events

pytestmark = pytest.mark.filterwarnings("ignore::analysis.ingest.privacy.DemoHashKeyWarning")


def _ingest(log, out) -> None:
    parser = argparse.ArgumentParser()
    add_ingest_arguments(parser)
    args = parser.parse_args(["messages", str(log), "-o", str(out), "--demo-key", "--no-progress"])
    assert run_ingest(args) == 0


@pytest.fixture(scope="module")
def messages():
    table = simulate_channel_lineages(
        40, creation_rate_per_day=2, lifetime=stats.expon(scale=10), seed=1
    )
    return simulate_observation(table, seed=2).messages


@pytest.mark.parametrize("log_suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("out_suffix", [".parquet", ".csv"])
def test_a_synthetic_log_gives_a_synthetic_channel_table(
    messages, tmp_path, log_suffix, out_suffix
):
    log = write_synthetic_table(messages, tmp_path / f"log{log_suffix}")
    out = tmp_path / f"channels{out_suffix}"
    _ingest(log, out)
    assert is_synthetic(read_channel_events(out))


def test_an_unlabelled_log_is_not_called_synthetic(messages, tmp_path):
    log = tmp_path / "log.parquet"
    pd.DataFrame(messages).to_parquet(log)
    out = tmp_path / "channels.parquet"
    _ingest(log, out)
    assert not is_synthetic(read_channel_events(out))
