"""The SYNTHETIC observation process (analysis.observation) against its own definition.

Expected values come from the generating distributions (scipy), not from the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from analysis.channels import validate_channel_events
from analysis.errors import ChannelTableError, ModelError
from analysis.observation import (
    SYNTHETIC_METADATA,
    simulate_channel_lineages,
    simulate_observation,
    write_synthetic_table,
)

LIFE = stats.weibull_min(0.8, scale=12.0)


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return simulate_channel_lineages(
        365,
        creation_rate_per_day=2.0,
        lifetime=LIFE,
        recreation_probability=0.5,
        recreation_delay_mean_days=2.0,
        seed=11,
    )


def _days(values: pd.Series, origin: str = "2024-01-01") -> np.ndarray:
    return ((values - pd.Timestamp(origin)) / pd.Timedelta(days=1)).to_numpy(float)


def test_lineages_follow_their_distributions(truth: pd.DataFrame) -> None:
    assert truth.attrs["synthetic"] is True
    assert truth["channel_id"].str.startswith("synthetic-").all()
    validate_channel_events(truth)  # a valid channel event table
    # lifetimes are draws of LIFE (KS test against scipy's cdf)
    assert stats.kstest(truth["lifetime_days"], LIFE.cdf).pvalue > 0.01
    organic = truth["generation"] == 0
    # organic creations: Poisson(2 * 365) in number, uniform in time
    assert abs(organic.sum() - 730) < 4 * np.sqrt(730)
    assert stats.kstest(truth.loc[organic, "created_at"] / 365, "uniform").pvalue > 0.01
    # ended exactly when created + lifetime falls before the end of observation
    end = truth["created_at"] + truth["lifetime_days"]
    assert (truth["ended_at"].notna() == (end < 365)).all()
    assert np.allclose(truth["ended_at"].dropna(), end[end < 365])
    # a successor starts after its predecessor ended, delay ~ Exp(mean 2)
    succ = truth[truth["predecessor_id"].notna()]
    pred = truth.set_index("channel_id").loc[succ["predecessor_id"]]
    delay = succ["created_at"].to_numpy() - pred["ended_at"].to_numpy()
    assert (delay >= 0).all()
    assert (succ["family_id"].to_numpy() == pred["family_id"].to_numpy()).all()
    # re-created with probability 0.5 (among bans early enough for the delay to fit)
    early = truth[truth["ended_at"] < 365 - 30]
    share = early["channel_id"].isin(succ["predecessor_id"]).mean()
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / len(early))
    assert (
        stats.kstest(delay[pred["ended_at"].to_numpy() < 365 - 30], "expon", (0, 2)).pvalue > 1e-3
    )


def test_messages_stay_inside_lives_and_follow_the_rates(truth: pd.DataFrame) -> None:
    obs = simulate_observation(truth, rate_median_per_day=5.0, rate_sigma=0.7, seed=3)
    log, ch = obs.messages, obs.channels
    assert log.attrs["synthetic"] is True and ch.attrs["synthetic"] is True
    assert list(log.columns) == ["channel_id", "message_id", "timestamp"]
    assert log["timestamp"].is_monotonic_increasing
    assert (log["timestamp"].dt.microsecond == 0).all() and (
        log["timestamp"].dt.nanosecond == 0
    ).all()
    # rates: log-normal(log 5, 0.7)
    z = (np.log(ch["posting_rate_per_day"]) - np.log(5.0)) / 0.7
    assert stats.kstest(z, "norm").pvalue > 0.01
    # every message inside [floor(created), ended or observation end]
    merged = log.merge(ch[["channel_id", "created_at", "ended_at", "observation_end"]])
    stop = merged["ended_at"].fillna(merged["observation_end"])
    assert (merged["timestamp"] >= merged["created_at"].dt.floor("s")).all()
    assert (merged["timestamp"] <= stop).all()
    # the first message is the creation message, so every channel is seen
    assert (ch["n_messages"] >= 1).all()
    assert (ch["first_message_at"] == ch["created_at"].dt.floor("s")).all()
    # posts after the creation message: Poisson(rate * life) -> total within 4 sd of its mean
    life = _days(ch["ended_at"].fillna(ch["observation_end"])) - _days(ch["created_at"])
    expected = float((ch["posting_rate_per_day"] * life).sum())
    assert abs((ch["n_messages"] - 1).sum() - expected) < 4 * np.sqrt(expected)
    # message ids run 1..n within each channel, in time order
    counts = log.groupby("channel_id")["message_id"].agg(["min", "max", "size"])
    assert (counts["min"] == 1).all() and (counts["max"] == counts["size"]).all()
    assert (log.groupby("channel_id")["message_id"].diff().dropna() > 0).all()
    # some channels are seen once (P = E[exp(-rate * life)] > 0): the case the ingest must handle
    assert (ch["n_messages"] == 1).sum() > 0


def test_without_creation_message_silent_channels_are_unseen(truth: pd.DataFrame) -> None:
    obs = simulate_observation(
        truth, rate_median_per_day=0.5, rate_sigma=0.0, first_message_at_creation=False, seed=4
    )
    ch = obs.channels
    life = _days(ch["ended_at"].fillna(ch["observation_end"])) - _days(ch["created_at"])
    unseen = ch["n_messages"] == 0
    # P(unseen) = exp(-0.5 * life): expected count and its Poisson-binomial sd
    p = np.exp(-0.5 * life)
    assert abs(unseen.sum() - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())
    assert not obs.messages["channel_id"].isin(ch.loc[unseen, "channel_id"]).any()
    assert ch.loc[unseen, "first_message_at"].isna().all()
    table = obs.channel_table()
    assert len(table) == (~unseen).sum()
    assert (table["first_seen"] <= table["last_seen"]).all()


def test_reproducible_by_seed_and_no_global_state(truth: pd.DataFrame) -> None:
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state)
    a = simulate_observation(truth.head(50), seed=7).messages
    b = simulate_observation(truth.head(50), seed=7).messages
    c = simulate_observation(truth.head(50), seed=8).messages
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_catmouse_tables_and_datetimes() -> None:
    from analysis.models import CatMouseModel

    sim = CatMouseModel(
        creation_rate_per_day=3, ban_hazard_per_day=0.2, recreation_probability=0.5
    ).simulate(days=60, seed=2)
    events = sim.channel_events  # starts at equilibrium: created_at < 0, observation_start 0
    obs = simulate_observation(events, origin="2020-03-01", seed=1)
    start = pd.Timestamp("2020-03-01")
    assert obs.messages["timestamp"].min() >= start
    assert obs.observation_end == start + pd.Timedelta(days=60)
    before = obs.channels["created_at"] < start
    # channels created before the log starts get no creation message: first seen after start
    assert (
        obs.channels.loc[before & (obs.channels["n_messages"] > 0), "first_message_at"] >= start
    ).all()
    # a datetime table gives the same log as the float-day one
    as_dates = events.copy()
    for column in ("created_at", "ended_at", "observation_end", "observation_start"):
        as_dates[column] = start + pd.to_timedelta(as_dates[column], unit="D")
    again = simulate_observation(as_dates, seed=1)
    assert len(again.messages) == len(obs.messages)
    delta = (again.messages["timestamp"] - obs.messages["timestamp"]).abs()
    assert delta.max() <= pd.Timedelta(seconds=1)


def test_names_are_synthetic_and_follow_lineages(truth: pd.DataFrame) -> None:
    obs = simulate_observation(truth.head(200), names=True, seed=5)
    table = obs.channel_table(end_reasons=False)
    assert table.attrs["synthetic"] is True
    assert table["handle"].notna().all() and table["title"].notna().all()
    assert table["end_reason"].isna().all()
    assert set(obs.channel_table()["end_reason"].dropna()) == {"banned"}
    # a re-creation's handle shares at least a 4-letter stretch with its predecessor's
    ch = obs.channels.set_index("channel_id")
    succ = ch[ch["predecessor_id"].notna()]
    pred_handle = ch.loc[succ["predecessor_id"], "handle"].to_numpy()
    shared = [
        any(p[i : i + 4] in s for i in range(len(p) - 3))
        for p, s in zip(pred_handle, succ["handle"], strict=True)
    ]
    assert np.mean(shared) > 0.8


def test_writers_label_outputs_synthetic(truth: pd.DataFrame, tmp_path) -> None:
    obs = simulate_observation(truth.head(30), names=True, seed=6)
    parquet = write_synthetic_table(obs.messages, tmp_path / "log.parquet")
    meta = pq.read_schema(parquet).metadata
    assert {k.decode(): v.decode() for k, v in meta.items() if k != b"pandas"} == SYNTHETIC_METADATA
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), obs.messages)
    csv = write_synthetic_table(obs.channel_table(), tmp_path / "channels.csv")
    text = csv.read_text().splitlines()
    assert text[0].split(",")[-1] == "synthetic"
    assert text[1].endswith(",True") and "Z," in text[1]
    back = pd.read_csv(csv)
    parsed = pd.to_datetime(back["first_seen"], utc=True).dt.tz_localize(None)
    assert (parsed.to_numpy() == obs.channel_table()["first_seen"].to_numpy()).all()
    with pytest.raises(ModelError, match=r"\.parquet or \.csv"):
        write_synthetic_table(obs.messages, tmp_path / "log.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["channels.csv", "log.parquet"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate_median_per_day": 0.0}, "rate_median_per_day"),
        ({"rate_sigma": -1.0}, "rate_sigma"),
        ({"time_resolution": "0s"}, "time_resolution"),
    ],
)
def test_bad_observation_parameters(truth: pd.DataFrame, kwargs: dict, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        simulate_observation(truth.head(5), **kwargs)


def test_bad_lineage_parameters_and_tables() -> None:
    with pytest.raises(ModelError, match="recreation_probability"):
        simulate_channel_lineages(
            10, creation_rate_per_day=1, lifetime=LIFE, recreation_probability=2
        )
    with pytest.raises(ModelError, match="days"):
        simulate_channel_lineages(0, creation_rate_per_day=1, lifetime=LIFE)
    with pytest.raises(ModelError, match="lifetime draws"):
        simulate_channel_lineages(10, creation_rate_per_day=5, lifetime=stats.norm(0, 1), seed=1)
    with pytest.raises(ChannelTableError, match="created_at"):
        simulate_observation(pd.DataFrame({"channel_id": ["synthetic-0"]}))
    empty = simulate_channel_lineages(10, creation_rate_per_day=0, lifetime=LIFE, seed=1)
    assert empty.empty
    assert simulate_observation(empty, seed=1).messages.empty
