"""What researchers get to see: SYNTHETIC message logs from channels with known lifetimes.

The models estimate how long channels live and how often they come back, but a researcher never
sees a lifetime: she sees messages.  This module simulates that observation process, so that the
whole path (message log -> ``takedowns ingest`` -> models) can be checked against a known truth
(``tests/e2e``).  Everything it produces is SYNTHETIC: ids are ``synthetic-<n>``, handles and
titles are random syllable strings, and every output says so (``attrs["synthetic"]``, Parquet
key-value metadata ``synthetic=true``, a ``synthetic`` column in CSV files).

Truth
-----
:func:`simulate_channel_lineages` draws channels with known lifetimes and re-creation: families
start as a Poisson process, each channel lives a lifetime drawn from any distribution (a frozen
``scipy.stats`` distribution), and when it ends before the end of observation it is re-created
with a probability after an exponential delay (``predecessor_id``/``family_id`` record the
lineage).  Any channel event table works as truth too, e.g.
``CatMouseModel(...).simulate(...).channel_events``.

The observation process (:func:`simulate_observation`)
------------------------------------------------------
* Each channel posts as a Poisson process over its active life ``[created_at, ended_at)``
  (clipped to ``[observation_start, observation_end]``), at a rate of its own: posting rates
  vary between channels, log-normal with median ``rate_median_per_day`` and log-sd
  ``rate_sigma`` (0: every channel posts at the median rate).
* ``first_message_at_creation=True`` (default) adds a message at the creation time, as the
  "channel created" service message that opens a Telegram export; the first message is then
  the creation time.  Without it the first message comes ``Exp(rate)`` after creation, so the
  observed life is shorter at both ends, and channels that never post are never seen.
* Timestamps are datetimes (``origin`` + days), floored to ``time_resolution`` (default one
  second, as in platform exports).  A channel may be seen only once (one message); one that
  never posts is absent from the log.

The observed life (first to last message) is therefore shorter than the true life by the gap
between the last message and the end, about ``1 / rate`` days (and by as much again at the start
without a creation message).  That bias is a property of the data, not of the estimators: it
shrinks as channels post more often, and ``tests/e2e`` measures it as a function of the posting
rate.

Outputs
-------
:class:`SyntheticObservation` holds the message log (``channel_id``, ``message_id``,
``timestamp``, sorted by time), the per-channel truth and observation summary, the observation
end, and :meth:`SyntheticObservation.channel_table` builds the channel table a researcher would
keep (``first_seen``, ``last_seen``, ``end_reason``, ``handle``, ``title``) for
``takedowns ingest channels``.  :func:`write_synthetic_table` writes either to Parquet or CSV.

Randomness comes only from the ``seed`` (an int or a :class:`numpy.random.Generator`); nothing
touches global random state.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.channels import time_kind, validate_channel_events
from analysis.errors import ModelError

__all__ = [
    "DEFAULT_ORIGIN",
    "SYNTHETIC_METADATA",
    "LifetimeDistribution",
    "SyntheticObservation",
    "simulate_channel_lineages",
    "simulate_observation",
    "write_synthetic_table",
]

DEFAULT_ORIGIN = "2024-01-01"
"""Calendar time of day 0 of a simulation in float days (arbitrary; synthetic)."""

SYNTHETIC_METADATA: dict[str, str] = {
    "synthetic": "true",
    "generator": "analysis.observation",
    "description": "SYNTHETIC data: simulated channels and messages, not real accounts",
}
"""Parquet key-value metadata written with every output of this module."""

_NS_PER_DAY = 86_400 * 10**9
_NAT = np.datetime64("NaT", "ns").astype(np.int64)


class LifetimeDistribution(Protocol):
    """Anything with ``rvs(size=..., random_state=...)``, e.g. ``scipy.stats.weibull_min(0.8)``."""

    def rvs(self, *args: Any, **kwargs: Any) -> Any: ...  # pragma: no cover - protocol


def _check(condition: bool, message: str, value: object) -> None:
    if not condition:
        raise ModelError(f"{message} (got {value!r})")


# --------------------------------------------------------------------------- truth
def simulate_channel_lineages(
    days: float,
    *,
    creation_rate_per_day: float,
    lifetime: LifetimeDistribution,
    recreation_probability: float = 0.5,
    recreation_delay_mean_days: float = 2.0,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate SYNTHETIC channels with known lifetimes, bans and re-creations.

    New families start as a Poisson process of rate ``creation_rate_per_day`` on
    ``[0, days)``.  Every channel lives an independent draw of ``lifetime`` (days).  A channel
    whose life ends before ``days`` is *banned* then, and is re-created with probability
    ``recreation_probability`` after an exponential delay of mean ``recreation_delay_mean_days``
    (if that falls before ``days``); re-creations live, end and are re-created the same way.

    Parameters
    ----------
    days
        Length of observation; every row has ``observation_end = days``.
    creation_rate_per_day
        Rate of organic (new-family) creations.
    lifetime
        Lifetime distribution in days (a frozen ``scipy.stats`` distribution or anything with
        ``rvs(size=, random_state=)``); its median is the estimand of the survival models.
    recreation_probability, recreation_delay_mean_days
        Re-creation after a ban (0 <= probability <= 1; mean delay >= 0 days).
    seed
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        Channel event table in float days (:mod:`analysis.channels`) with ``predecessor_id``,
        plus ``generation`` (0 for organic channels) and ``lifetime_days`` (the true lifetime,
        also for channels still active at ``days``).  Ids are ``synthetic-<n>`` in creation
        order, families ``synthetic-family-<n>``; ``attrs["synthetic"] = True``.

    Raises
    ------
    ModelError
        For a non-positive ``days``, a negative rate, a probability outside [0, 1] or a
        negative delay, or a lifetime distribution drawing negative values.
    """
    _check(np.isfinite(days) and days > 0, "days must be a positive number", days)
    _check(creation_rate_per_day >= 0, "creation_rate_per_day must be >= 0", creation_rate_per_day)
    _check(
        0.0 <= recreation_probability <= 1.0,
        "recreation_probability must be in [0, 1]",
        recreation_probability,
    )
    _check(
        recreation_delay_mean_days >= 0,
        "recreation_delay_mean_days must be >= 0",
        recreation_delay_mean_days,
    )
    rng = np.random.default_rng(seed)
    n0 = int(rng.poisson(creation_rate_per_day * days))
    created = np.sort(rng.uniform(0.0, days, n0))
    family = np.arange(n0)
    parent = np.full(n0, -1, dtype=np.int64)
    parts: list[tuple[np.ndarray, ...]] = []
    offset, generation = 0, 0
    while created.size:
        k = created.size
        life = np.asarray(lifetime.rvs(size=k, random_state=rng), dtype=float)
        _check(bool(np.all(life >= 0)), "lifetime draws must be >= 0 days", float(life.min()))
        end = created + life
        ids = np.arange(offset, offset + k)
        parts.append((ids, created, life, family, parent, np.full(k, generation)))
        banned = end < days
        again = banned & (rng.random(k) < recreation_probability)
        delay = rng.exponential(recreation_delay_mean_days, k) if recreation_delay_mean_days else 0
        next_created = end + delay
        keep = again & (next_created < days)
        order = np.argsort(next_created[keep], kind="stable")
        created = next_created[keep][order]
        family, parent = family[keep][order], ids[keep][order]
        offset += k
        generation += 1
    if not parts:
        parts.append(tuple(np.array([], dtype=t) for t in (np.int64, float, float, int, int, int)))
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    # renumber in creation order so that ids read as a time line
    order = np.lexsort((cols[0], cols[1]))
    rank = np.empty(cols[0].size, dtype=np.int64)
    rank[cols[0][order].astype(np.int64)] = np.arange(cols[0].size)
    ids, created, life, family, parent, gen = (a[order] for a in cols)
    end = created + life
    banned = end < days
    table = pd.DataFrame(
        {  # after the reordering, channel i in creation order is "synthetic-<i>"
            "channel_id": pd.array([f"synthetic-{i}" for i in range(ids.size)], dtype="string"),
            "family_id": pd.array([f"synthetic-family-{int(f)}" for f in family], dtype="string"),
            "created_at": created.astype(float),
            "ended_at": np.where(banned, end, np.nan),
            "end_reason": pd.Categorical(np.where(banned, "banned", None), categories=["banned"]),
            "observation_end": np.full(ids.size, float(days)),
            "predecessor_id": pd.array(
                [None if p < 0 else f"synthetic-{rank[int(p)]}" for p in parent], dtype="string"
            ),
            "generation": gen.astype(np.int64),
            "lifetime_days": life.astype(float),
        }
    )
    out = validate_channel_events(table, source="simulate_channel_lineages")
    out.attrs["synthetic"] = True
    return out


# --------------------------------------------------------------------------- observation
@dataclass(frozen=True)
class SyntheticObservation:
    """A SYNTHETIC message log and the truth behind it.

    Attributes
    ----------
    messages : pandas.DataFrame
        ``channel_id`` (string), ``message_id`` (int64, 1, 2, ... within a channel) and
        ``timestamp`` (``datetime64[ns]``, UTC, naive), sorted by time then channel.
    channels : pandas.DataFrame
        One row per channel of the truth table: its columns (times as datetimes) plus
        ``posting_rate_per_day``, ``n_messages``, ``first_message_at`` and
        ``last_message_at`` (NaT when never seen), and ``handle``/``title`` when names were
        asked for.
    observation_end : pandas.Timestamp
        End of observation (the ``--observation-end`` to give the ingest).
    origin : pandas.Timestamp
        Calendar time of day 0 (when the truth was in float days).
    """

    messages: pd.DataFrame
    channels: pd.DataFrame
    observation_end: pd.Timestamp
    origin: pd.Timestamp

    def channel_table(self, *, end_reasons: bool = True) -> pd.DataFrame:
        """The channel table a researcher would keep, one row per channel seen at least once.

        Parameters
        ----------
        end_reasons
            Give the true ``end_reason`` of channels that ended before the observation end
            (a researcher who saw the platform's ban notice); otherwise leave it empty so the
            ingest infers endings from silence.

        Returns
        -------
        pandas.DataFrame
            ``channel_id``, ``first_seen``, ``last_seen`` (first/last message), ``end_reason``
            (string or NA) and, when simulated, ``handle`` and ``title`` (SYNTHETIC strings).
            ``attrs["synthetic"] = True``.
        """
        seen = self.channels[self.channels["n_messages"] > 0]
        out = pd.DataFrame(
            {
                "channel_id": seen["channel_id"].astype("string"),
                "first_seen": seen["first_message_at"],
                "last_seen": seen["last_message_at"],
            }
        )
        reason = seen["end_reason"].astype("string")
        if not end_reasons:
            reason = pd.Series(pd.NA, index=seen.index, dtype="string")
        out["end_reason"] = reason
        for column in ("handle", "title"):
            if column in seen.columns:
                out[column] = seen[column].astype("string")
        out = out.reset_index(drop=True)
        out.attrs["synthetic"] = True
        return out


def simulate_observation(
    events: pd.DataFrame,
    *,
    rate_median_per_day: float = 20.0,
    rate_sigma: float = 1.0,
    first_message_at_creation: bool = True,
    names: bool = False,
    origin: str | pd.Timestamp = DEFAULT_ORIGIN,
    time_resolution: str | pd.Timedelta = "1s",
    seed: int | np.random.Generator | None = None,
) -> SyntheticObservation:
    """Simulate the message log researchers would collect from channels with known lives.

    Parameters
    ----------
    events
        Channel event table (:mod:`analysis.channels`) holding the true ``created_at`` and
        ``ended_at``; float days (converted with ``origin``) or datetimes.  A row is active on
        ``[created_at, ended_at)`` (``observation_end`` when ``ended_at`` is null), clipped to
        ``[observation_start, observation_end]`` when ``observation_start`` is present.
    rate_median_per_day, rate_sigma
        Posting rates: log-normal across channels with this median (messages per day, > 0)
        and log-standard deviation (>= 0).
    first_message_at_creation
        Add a message at ``created_at`` (the "channel created" service message) for channels
        created inside the observation window.  Default True.
    names
        Add SYNTHETIC ``handle`` and ``title`` columns to ``channels``: random syllable tokens
        for new families, mutated like re-created channels are for re-creations
        (:func:`analysis.ingest.linking.synthetic_names`; lineages from ``predecessor_id`` or
        ``family_id``).
    origin
        Calendar time of day 0 when the table is in float days.
    time_resolution
        Timestamps are floored to this (default ``"1s"``).
    seed
        Seed or generator.

    Returns
    -------
    SyntheticObservation

    Raises
    ------
    ChannelTableError
        When ``events`` is not a valid channel event table.
    ModelError
        For a non-positive median rate, a negative ``rate_sigma`` or a non-positive
        ``time_resolution``.
    """
    _check(
        np.isfinite(rate_median_per_day) and rate_median_per_day > 0,
        "rate_median_per_day must be > 0",
        rate_median_per_day,
    )
    _check(np.isfinite(rate_sigma) and rate_sigma >= 0, "rate_sigma must be >= 0", rate_sigma)
    step = pd.Timedelta(time_resolution)
    _check(step > pd.Timedelta(0), "time_resolution must be positive", time_resolution)
    rng = np.random.default_rng(seed)
    table = validate_channel_events(events, source="simulate_observation").reset_index(drop=True)
    base = pd.Timestamp(origin)
    _check(base.tz is None, "origin must be a naive (UTC) time", origin)
    times = {
        c: _as_ns(table[c], base, time_kind(table))
        for c in ("created_at", "ended_at", "observation_end", "observation_start")
        if c in table.columns
    }
    created, obs_end = times["created_at"], times["observation_end"]
    ended = np.where(np.isnan(times["ended_at"]), obs_end, times["ended_at"])
    start = np.maximum(created, np.nan_to_num(times.get("observation_start", created), nan=-np.inf))
    stop = np.minimum(ended, obs_end)
    length_days = np.maximum(stop - start, 0.0) / _NS_PER_DAY
    n = len(table)
    rate = rate_median_per_day * np.exp(rate_sigma * rng.standard_normal(n))
    counts = rng.poisson(rate * length_days)
    owner = np.repeat(np.arange(n), counts)
    stamp = start[owner] + rng.random(owner.size) * (stop - start)[owner]
    if first_message_at_creation:
        opens = np.flatnonzero(created >= start)
        owner = np.concatenate([opens, owner])
        stamp = np.concatenate([created[opens], stamp])
    unit = step.value
    ns = np.floor(stamp / unit).astype(np.int64) * unit
    order = np.lexsort((owner, ns))
    owner, ns = owner[order], ns[order]
    message_id = _rank_within(owner, n)
    ids = table["channel_id"].astype("string")
    messages = pd.DataFrame(
        {
            "channel_id": ids.to_numpy()[owner] if owner.size else pd.array([], dtype="string"),
            "message_id": message_id,
            "timestamp": ns.astype("datetime64[ns]"),
        }
    )
    messages["channel_id"] = messages["channel_id"].astype("string")
    messages.attrs["synthetic"] = True

    n_messages = np.bincount(owner, minlength=n)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, owner, ns)
    np.maximum.at(last, owner, ns)
    seen = n_messages > 0
    channels = table.copy()
    for column, values in times.items():
        channels[column] = _ns_to_datetime(values)
    channels["posting_rate_per_day"] = rate
    channels["n_messages"] = n_messages.astype(np.int64)
    channels["first_message_at"] = np.where(seen, first, _NAT).astype("datetime64[ns]")
    channels["last_message_at"] = np.where(seen, last, _NAT).astype("datetime64[ns]")
    if names:
        from analysis.ingest.linking import synthetic_names

        named = synthetic_names(table, seed=rng)
        channels["handle"] = named["handle"].to_numpy()
        channels["title"] = named["title"].to_numpy()
    channels.attrs["synthetic"] = True
    end = pd.Timestamp(int(np.floor(np.nanmax(obs_end) / unit)) * unit) if n else base
    return SyntheticObservation(messages, channels, end, base)


def _as_ns(column: pd.Series, origin: pd.Timestamp, kind: str) -> np.ndarray:
    """Float nanoseconds since the epoch (NaN for missing) from days or datetimes."""
    if kind == "datetime":
        values = column.astype("datetime64[ns]").to_numpy()
        out = values.astype(np.int64).astype(float)
        out[np.isnat(values)] = np.nan
        return out
    return origin.value + column.to_numpy(dtype=float, na_value=np.nan) * _NS_PER_DAY


def _ns_to_datetime(values: np.ndarray) -> np.ndarray:
    out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnan(values)
    out[ok] = np.round(values[ok]).astype(np.int64).astype("datetime64[ns]")
    return out


def _rank_within(owner: np.ndarray, n: int) -> np.ndarray:
    """1-based position of each element within its owner's run (input sorted by time)."""
    if owner.size == 0:
        return np.array([], dtype=np.int64)
    order = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(owner.size, dtype=np.int64)
    rank[order] = np.arange(owner.size) - np.repeat(starts, counts) + 1
    return rank


# --------------------------------------------------------------------------- writers
def write_synthetic_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a SYNTHETIC table to ``.parquet`` or ``.csv``, labelled as synthetic, atomically.

    Parquet files carry :data:`SYNTHETIC_METADATA` as key-value metadata (columns unchanged);
    CSV files, which have no metadata, get a constant ``synthetic`` column (``true``) last
    and times as ISO 8601 UTC (``2024-01-01T00:00:00Z``).  The ingest of message logs ignores
    the extra column; the ingest of channel tables drops it with a warning.

    Parameters
    ----------
    frame
        A message log or channel table from :class:`SyntheticObservation`.
    path
        Destination ending in ``.parquet`` or ``.csv``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ModelError
        For another suffix.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    _check(suffix in {".parquet", ".csv"}, "path must end in .parquet or .csv", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        if suffix == ".parquet":
            arrow = pa.Table.from_pandas(frame, preserve_index=False)
            meta = {**(arrow.schema.metadata or {}), **_bytes(SYNTHETIC_METADATA)}
            pq.write_table(arrow.replace_schema_metadata(meta), tmp)
        else:
            labelled = frame.assign(synthetic=True)
            labelled.to_csv(tmp, index=False, date_format=_csv_time_format(frame))
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _csv_time_format(frame: pd.DataFrame) -> str:
    """ISO 8601 UTC, with microseconds only when some time has a fraction of a second."""
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column].dtype):
            ns = frame[column].dropna().to_numpy().astype("datetime64[ns]").astype(np.int64)
            if (ns % 10**9).any():
                return "%Y-%m-%dT%H:%M:%S.%fZ"
    return "%Y-%m-%dT%H:%M:%SZ"


def _bytes(mapping: dict[str, str]) -> dict[bytes, bytes]:
    return {k.encode(): v.encode() for k, v in mapping.items()}
