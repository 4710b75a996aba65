"""End-to-end recovery over many replications (issue 9, point 3; ``make test-slow``).

Each replication simulates SYNTHETIC channels with known lifetimes (Weibull, median 10 days)
and re-creation, writes their message log to Parquet, and runs it through
:func:`analysis.ingest.messages.ingest_message_log` -- the function ``takedowns ingest
messages`` calls -- for inactivity windows of 7, 14, 30 and 60 days, then fits Kaplan-Meier
and Weibull.  Required: the mean Kaplan-Meier and Weibull medians are within 3 % of the true
median (10 days) and their 95 % intervals cover it in 93-97 % of replications, for every
window.  ``bias_table.py`` prints the same table with the old behaviour (no horizon) and the
dependence on posting rates.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _e2e_chain import (
    DESIGN,
    WINDOWS,
    replicate,
    replicate_reappearance,
    summarise,
    true_median_days,
)

REPLICATIONS = 400


@pytest.mark.slow
def test_median_bias_and_coverage_over_replications(tmp_path) -> None:
    rows = [row for seed in range(REPLICATIONS) for row in replicate(DESIGN, seed, tmp_path)]
    table = summarise(pd.DataFrame(rows), true_median_days())
    print("\n" + table.round(3).to_string())
    assert list(table.index) == list(WINDOWS)
    assert (table["replications"] == REPLICATIONS).all()
    for window, row in table.iterrows():
        for model in ("km", "weibull"):
            assert abs(row[f"{model}_bias_pct"]) < 3.0, (window, model, row.to_dict())
            assert 0.93 <= row[f"{model}_coverage"] <= 0.97, (window, model, row.to_dict())
    # the behaviour before the horizon was biased upwards, more so for longer windows
    assert table.loc[60.0, "old_km_bias_pct"] > 20.0
    assert table["old_km_bias_pct"].is_monotonic_increasing


@pytest.mark.slow
def test_reappearance_share_over_replications(tmp_path) -> None:
    # channel table with SYNTHETIC handles -> ingest_channel_table(link=True) -> Reappearance,
    # within the linking window (14 days): true share 0.5 (1 - exp(-7)) = 0.4995
    rows = pd.DataFrame(
        [replicate_reappearance(DESIGN, seed, tmp_path) for seed in range(REPLICATIONS)]
    )
    print("\n" + rows.mean().round(4).to_string())
    assert (rows["window_days"] == 14.0).all()
    assert abs(rows["share"].mean() - rows["true_share"].mean()) < 0.02
    assert 0.93 <= rows["share_covered"].mean() <= 0.97
    # The delay is measured from the predecessor's LAST MESSAGE, which comes about one posting
    # gap before its true end, so the median delay among returning channels is overstated
    # (measured +10 %, interval coverage 0.80 at a median of 20 messages a day; docs-e2e.md).
    # Asserted as the documented bias, so that a change in either direction is noticed.
    bias = rows["median_delay_days"].mean() / rows["true_median_delay_days"].mean() - 1
    assert 0.0 < bias < 0.2, bias
