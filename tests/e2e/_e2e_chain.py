"""The end-to-end recovery chain shared by the e2e tests and ``bias_table.py`` (SYNTHETIC data).

Truth -> message log -> ingest -> models, and the numbers compared with the truth.

Design (the stated assumptions)
-------------------------------
* Channels: families start at 0.5 a day for 365 days; lifetimes are Weibull with shape 0.8
  (a falling hazard: many channels go early) and median 10 days; a channel that ends is
  re-created with probability 0.5 after an exponential delay of mean 2 days
  (:func:`analysis.observation.simulate_channel_lineages`).  About 360 channels a replication
  (the real dataset of issue 9 had about 100).
* Posting: each channel posts as a Poisson process at its own rate, log-normal across channels
  with median 20 messages a day and log-sd 1 (a tenth of channels post fewer than 5.6 a day, one
  in forty fewer than 2.8); the first message is the "channel created" message.  Timestamps
  have one-second resolution.  About 1 % of channels are seen only once.
* The estimand is the true lifetime distribution: its median is ``LIFETIME.median()`` = 10 days
  exactly (not the sample median of one replication).  The observed life (first to last
  message) is shorter than the true one by the gap after the last message, about
  ``1 / rate`` (0.08 days on average here); ``bias_table.py`` measures how the bias grows as
  posting rates fall.
* Reappearance: the share of endings followed by a re-creation within the linking window
  ``W`` is ``0.5 (1 - exp(-W / 2))`` (0.4995 for W = 14 days).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.channels import channel_lifetimes
from analysis.errors import TakedownWarning
from analysis.models import KaplanMeier, ParametricSurvival
from analysis.observation import (
    SyntheticObservation,
    simulate_channel_lineages,
    simulate_observation,
    write_synthetic_table,
)

TEST_KEY = "e2e-test-key-0123456789abcdef"
WINDOWS = (7.0, 14.0, 30.0, 60.0)
WEIBULL_SHAPE = 0.8
MEDIAN_DAYS = 10.0
LIFETIME = stats.weibull_min(WEIBULL_SHAPE, scale=MEDIAN_DAYS / np.log(2) ** (1 / WEIBULL_SHAPE))


@dataclass(frozen=True)
class Design:
    """Parameters of one simulated study (see the module docstring)."""

    days: float = 365.0
    creation_rate_per_day: float = 0.5
    recreation_probability: float = 0.5
    recreation_delay_mean_days: float = 2.0
    rate_median_per_day: float = 20.0
    rate_sigma: float = 1.0
    first_message_at_creation: bool = True

    def with_rate(self, median: float, *, creation_message: bool = True) -> Design:
        """The same study with another median posting rate."""
        return replace(self, rate_median_per_day=median, first_message_at_creation=creation_message)


DESIGN = Design()


def true_median_days() -> float:
    """Median of the true lifetime distribution (the estimand)."""
    return float(LIFETIME.median())


def true_reappearance_share(design: Design, window_days: float) -> float:
    """Share of endings re-created within ``window_days`` (exponential delays)."""
    return design.recreation_probability * (
        1.0 - np.exp(-window_days / design.recreation_delay_mean_days)
    )


def simulate(
    design: Design, seed: int | np.random.Generator, *, names: bool = False
) -> tuple[pd.DataFrame, SyntheticObservation]:
    """Truth and its observation for one replication."""
    rng = np.random.default_rng(seed)
    truth = simulate_channel_lineages(
        design.days,
        creation_rate_per_day=design.creation_rate_per_day,
        lifetime=LIFETIME,
        recreation_probability=design.recreation_probability,
        recreation_delay_mean_days=design.recreation_delay_mean_days,
        seed=rng,
    )
    observation = simulate_observation(
        truth,
        rate_median_per_day=design.rate_median_per_day,
        rate_sigma=design.rate_sigma,
        first_message_at_creation=design.first_message_at_creation,
        names=names,
        seed=rng,
    )
    return truth, observation


def quiet_lifetimes(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`channel_lifetimes` with its documented rule warnings (seen once, horizon) muted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)
        return channel_lifetimes(events)


def fit_lifetimes(events: pd.DataFrame) -> dict[str, float]:
    """Kaplan-Meier and Weibull medians with their 95 % intervals (any ending is the event)."""
    durations, observed, entry = quiet_lifetimes(events)
    km = KaplanMeier().fit(durations, observed, entry)
    weibull = ParametricSurvival("weibull").fit(durations, observed, entry)
    return {
        "n": float(durations.size),
        "n_events": float(observed.sum()),
        "km_median": km.median_,
        "km_lower": km.median_ci_[0],
        "km_upper": km.median_ci_[1],
        "weibull_median": weibull.median_,
        "weibull_lower": weibull.median_ci_[0],
        "weibull_upper": weibull.median_ci_[1],
        "weibull_shape": float(weibull.params_["shape"]),
    }


def old_behaviour_median(events: pd.DataFrame) -> float:
    """Kaplan-Meier median with the detection horizon removed (the behaviour before issue 9).

    Channels whose last message falls in the final inactivity window then keep follow-up to
    the observation end although their going dark could not have been seen.
    """
    durations, observed, entry = quiet_lifetimes(events.drop(columns=["detection_horizon"]))
    return KaplanMeier().fit(durations, observed, entry).median_


def replicate(
    design: Design,
    seed: int,
    workdir: Path,
    windows: tuple[float, ...] = WINDOWS,
    *,
    old_behaviour: bool = True,
) -> list[dict[str, float]]:
    """One replication through the ingest code path of ``takedowns ingest messages``.

    The message log is written to Parquet and ingested by
    :func:`analysis.ingest.messages.ingest_message_log` (the function the CLI calls) once per
    inactivity window; returns one row per window.  Seeds give the same rows on every run.
    """
    from analysis.ingest.messages import ingest_message_log

    truth, observation = simulate(design, seed)
    log = write_synthetic_table(observation.messages, workdir / f"log_synthetic_{seed}.parquet")
    rows = []
    for window in windows:
        events = ingest_message_log(
            log,
            workdir / "channels.parquet",
            observation_end=observation.observation_end,
            inactivity_days=window,
            hash_key=TEST_KEY,
            progress=False,
            threads=1,
            check_duplicates=False,  # unique by construction; the check doubles the scan time
        )
        row = {"seed": float(seed), "window_days": window, **fit_lifetimes(events)}
        row["n_seen_once"] = float((events["n_messages"] == 1).sum())
        if old_behaviour:
            row["old_km_median"] = old_behaviour_median(events)
        rows.append(row)
    log.unlink()
    return rows


def summarise(rows: pd.DataFrame, truth: float) -> pd.DataFrame:
    """Relative bias and 95 % interval coverage of the true median, by inactivity window.

    ``*_bias_pct`` is ``100 (mean(estimate) / truth - 1)``; ``*_coverage`` the share of
    replications whose interval contains ``truth``; ``*_coverage_lo/hi`` its 95 % Wilson
    interval.
    """
    out = {}
    for window, part in rows.groupby("window_days"):
        n = len(part)
        entry: dict[str, float] = {"replications": float(n)}
        for model in ("km", "weibull"):
            covered = (part[f"{model}_lower"] <= truth) & (truth <= part[f"{model}_upper"])
            entry[f"{model}_bias_pct"] = 100.0 * (part[f"{model}_median"].mean() / truth - 1.0)
            entry[f"{model}_coverage"] = float(covered.mean())
            lo, hi = wilson(int(covered.sum()), n)
            entry[f"{model}_coverage_lo"], entry[f"{model}_coverage_hi"] = lo, hi
        if "old_km_median" in part:
            entry["old_km_bias_pct"] = 100.0 * (part["old_km_median"].mean() / truth - 1.0)
        entry["mean_seen_once"] = float(part["n_seen_once"].mean())
        out[window] = entry
    table = pd.DataFrame.from_dict(out, orient="index")
    table.index.name = "window_days"
    return table


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


def replicate_reappearance(
    design: Design, seed: int, workdir: Path, window: float = 30.0
) -> dict[str, float]:
    """One replication of the channel path: table with SYNTHETIC handles -> linking -> fit.

    The researcher's channel table (first/last message, no end reasons, handles and titles) is
    written to Parquet and read by :func:`analysis.ingest.channels.ingest_channel_table` (the
    function ``takedowns ingest channels --link-successors`` calls), then
    :class:`analysis.models.Reappearance` is fitted within the linking window.
    """
    from analysis.ingest.channels import ingest_channel_table
    from analysis.models import Reappearance

    _, observation = simulate(design, seed, names=True)
    table = write_synthetic_table(
        observation.channel_table(end_reasons=False), workdir / f"channels_synthetic_{seed}.parquet"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)
        linked = ingest_channel_table(
            table,
            workdir / "linked.parquet",
            observation_end=observation.observation_end,
            inactivity_days=window,
            link=True,
            hash_key=TEST_KEY,
        )
        fit = Reappearance().fit_channel_events(linked)
    table.unlink()
    share = true_reappearance_share(design, fit.window_days_)
    lo, hi = fit.reappearance_share_ci_
    delay = design.recreation_delay_mean_days * np.log(2)
    return {
        "seed": float(seed),
        "window_days": fit.window_days_,
        "true_share": share,
        "share": fit.reappearance_share_,
        "share_covered": float(lo <= share <= hi),
        "median_delay_days": fit.median_delay_days_,
        "true_median_delay_days": delay,
        "delay_covered": float(fit.median_delay_ci_[0] <= delay <= fit.median_delay_ci_[1]),
    }
