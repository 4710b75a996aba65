"""Reappearance of banned channels: share that comes back and how fast.

A ban is followed, often, by a re-created channel of the same lineage.  The time from a ban
to the successor's creation is a time-to-event with two complications: some banned channels
never come back (a *cure fraction*, here the share that never reappears), and successors not
yet seen when observation ends are right-censored.  Averages of the observed delays ignore
both.

Building the durations (:func:`reappearance_durations`)
-------------------------------------------------------
From a channel event table (:mod:`analysis.channels`), for every channel with
``end_reason == 'banned'``:

* the successor is the earliest-created channel whose ``predecessor_id`` names it, when the
  column is present and such a channel exists;
* otherwise it is the next channel of the same ``family_id`` created at or after the ban
  (channels that name a predecessor are reserved for that predecessor and the banned channel
  itself is never its own successor);
* ties in creation time go to the smallest ``channel_id`` (the result does not depend on the
  row order);
* with no successor the delay is censored at the banned row's ``observation_end``.

Delays are float days.  A successor named through ``predecessor_id`` but created *before* the
ban (a backup channel kept ready) gets delay 0.  Banned channels without a family and without a
named successor can only be censored: they are kept and counted in ``reappeared == False``.

Estimating (:class:`Reappearance`)
----------------------------------
A mixture cure model (Farewell 1982; Maller & Zhou 1996) ``S(t) = pi + (1 - pi) S_u(t)`` fitted
by :class:`analysis.models.survival.ParametricSurvival` with ``cure=True``: ``1 - pi`` is the
share that reappears (profile-likelihood CI) and ``S_u`` the delay distribution among those that
do.  A Kaplan-Meier curve of the delays (Kaplan & Meier 1958) is kept alongside as the
assumption-free check: its plateau estimates ``pi`` when follow-up is long enough.  The cure
fraction is only identified if follow-up is long relative to typical delays (Maller & Zhou).
Assumes bans are independent units and censoring is independent of the delay.

:func:`compare_cohorts` splits bans at a date (for example an action day), runs the log-rank
test on the delays and reports the difference in the share reappearing with a Wald CI.

References
----------
Kaplan & Meier (1958) JASA 53, 457-481.  Farewell (1982) Biometrics 38, 1041-1046.  Maller &
Zhou (1996) Survival Analysis with Long-Term Survivors, Wiley.  Klein & Moeschberger (2003)
Survival Analysis, 2nd ed., Springer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.channels import to_days, validate_channel_events
from analysis.errors import ModelError
from analysis.models.survival import (
    SUMMARY_COLUMNS,
    KaplanMeier,
    LogRankResult,
    ParametricSurvival,
    logrank_test,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CohortComparison",
    "Reappearance",
    "compare_cohorts",
    "reappearance_durations",
]

DURATION_COLUMNS = [
    "channel_id",
    "family_id",
    "banned_at",
    "successor_id",
    "delay_days",
    "reappeared",
]


def _successor_by_predecessor(table: pd.DataFrame, banned: pd.DataFrame) -> pd.Series:
    """Earliest-created channel naming each banned channel as predecessor (or NA)."""
    if "predecessor_id" not in table.columns:
        return pd.Series(pd.NA, index=banned.index, dtype="string")
    named = table.loc[
        table["predecessor_id"].notna(), ["predecessor_id", "channel_id", "created_at"]
    ]
    first = named.sort_values(["created_at", "channel_id"]).drop_duplicates("predecessor_id")
    lookup = pd.Series(first["channel_id"].to_numpy(), index=first["predecessor_id"].to_numpy())
    return banned["channel_id"].map(lookup).astype("string")


def _successor_by_family(table: pd.DataFrame, banned: pd.DataFrame) -> pd.Series:
    """Next channel of the same family created at or after the ban (vectorised search)."""
    out = pd.Series(pd.NA, index=banned.index, dtype="string")
    cand = table[table["family_id"].notna()]
    if "predecessor_id" in cand.columns:
        cand = cand[cand["predecessor_id"].isna()]
    query = banned[banned["family_id"].notna()]
    if cand.empty or query.empty:
        return out
    fam_codes, fam_uniques = pd.factorize(
        pd.concat([cand["family_id"], query["family_id"]], ignore_index=True)
    )
    cand_fam, query_fam = fam_codes[: len(cand)], fam_codes[len(cand) :]
    # exact integer keys: family code and the rank of the time among all times involved
    times = np.concatenate([cand["created_at"].to_numpy(), query["ended_at"].to_numpy()])
    _, rank = np.unique(times, return_inverse=True)
    n_rank = int(rank.max()) + 1
    cand_key = cand_fam.astype(np.int64) * n_rank + rank[: len(cand)]
    query_key = query_fam.astype(np.int64) * n_rank + rank[len(cand) :]
    cand_id = cand["channel_id"].to_numpy(dtype=object)
    # ties (same family, same creation time) go to the smallest channel_id, as in
    # _successor_by_predecessor, so the result does not depend on the row order
    _, id_rank = np.unique(cand_id.astype(str), return_inverse=True)
    order = np.lexsort((id_rank, cand_key))
    cand_key, cand_fam, cand_id = cand_key[order], cand_fam[order], cand_id[order]
    pos = np.searchsorted(cand_key, query_key, side="left")
    query_id = query["channel_id"].to_numpy(dtype=object)

    def valid(p: np.ndarray) -> np.ndarray:
        inside = p < cand_key.size
        same = np.zeros(p.size, dtype=bool)
        same[inside] = cand_fam[p[inside]] == query_fam[inside]
        return same

    ok = valid(pos)
    is_self = np.zeros(pos.size, dtype=bool)
    is_self[ok] = cand_id[pos[ok]] == query_id[ok]
    pos = np.where(is_self, pos + 1, pos)  # skip the channel itself (created at its ban time)
    ok = valid(pos)
    found = np.full(pos.size, None, dtype=object)
    found[ok] = cand_id[pos[ok]]
    out.loc[query.index] = pd.array(found, dtype="string")
    return out


def reappearance_durations(
    events: pd.DataFrame,
    *,
    ban_reasons: tuple[str, ...] = ("banned",),
    source: str | None = None,
) -> pd.DataFrame:
    """Ban-to-successor delays, one row per banned channel (censored when none is seen).

    Parameters
    ----------
    events
        Channel event table (validated with :func:`analysis.channels.validate_channel_events`).
    ban_reasons
        End reasons that count as a ban.
    source
        Name quoted in error messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``channel_id``, ``family_id``, ``banned_at`` (as in the table), ``successor_id``
        (NA if none), ``delay_days`` (float days to the successor's creation, or to
        ``observation_end`` when censored) and ``reappeared`` (bool event indicator), sorted by
        ``banned_at`` then ``channel_id``.
    """
    table = validate_channel_events(events, source=source)
    table = table.reset_index(drop=True)
    banned = table[table["end_reason"].isin(ban_reasons).to_numpy()]
    by_pred = _successor_by_predecessor(table, banned)
    need = banned[by_pred.isna().to_numpy()]
    by_fam = _successor_by_family(table, need)
    successor = by_pred.copy()
    successor.loc[need.index] = by_fam
    created = table.set_index("channel_id")["created_at"]
    succ_created = successor.map(created)
    reappeared = successor.notna().to_numpy()
    end = np.where(reappeared, succ_created.to_numpy(), banned["observation_end"].to_numpy())
    delay = to_days(end - banned["ended_at"].to_numpy())
    delay = np.maximum(delay, 0.0)  # backup channel created before the ban: immediate return
    out = pd.DataFrame(
        {
            "channel_id": banned["channel_id"].to_numpy(),
            "family_id": banned["family_id"].to_numpy(),
            "banned_at": banned["ended_at"].to_numpy(),
            "successor_id": successor.to_numpy(),
            "delay_days": delay,
            "reappeared": reappeared,
        }
    )
    for col in ("channel_id", "family_id", "successor_id"):
        out[col] = out[col].astype("string")
    return out.sort_values(["banned_at", "channel_id"], ignore_index=True)


class Reappearance:
    """Share of banned channels that reappear, and the delay until they do.

    Parameters
    ----------
    distribution
        Delay distribution among channels that come back (see
        :class:`~analysis.models.survival.ParametricSurvival`).
    alpha
        1 - confidence level.
    min_delay_days
        Zero delays (successor created at the ban instant) are set to this, since log-time
        models need positive durations (default one minute).

    Attributes (after fit)
    ----------------------
    reappearance_share_, reappearance_share_ci_ : float, tuple
        ``1 - cure_fraction`` with its profile-likelihood interval.
    never_return_share_ : float
        The cure fraction.
    median_delay_days_, median_delay_ci_ : median delay among channels that return.
    model_ : ParametricSurvival (``cure=True``); ``km_`` : KaplanMeier of the delays.
    summary : DataFrame of the delay parameters and ``reappearance_share``.
    """

    def __init__(
        self, distribution: str = "weibull", alpha: float = 0.05, min_delay_days: float = 1 / 1440
    ) -> None:
        self.distribution = distribution
        self.alpha = alpha
        self.min_delay_days = min_delay_days

    def fit(self, delay_days: Any, reappeared: Any = None) -> Reappearance:
        """Fit to delays in days and the reappeared indicator (False = censored)."""
        delay = np.asarray(delay_days, dtype=float)
        obs = np.ones(delay.shape, dtype=bool) if reappeared is None else np.asarray(reappeared)
        delay = np.where(delay == 0, self.min_delay_days, delay)
        self.model_ = ParametricSurvival(self.distribution, cure=True, alpha=self.alpha).fit(
            delay, obs
        )
        self.km_ = KaplanMeier(alpha=self.alpha).fit(delay, obs)
        m = self.model_
        self.never_return_share_ = m.cure_fraction_
        self.reappearance_share_ = 1.0 - m.cure_fraction_
        lo, hi = m.cure_fraction_ci_
        self.reappearance_share_ci_ = (1.0 - hi, 1.0 - lo)
        self.reappearance_share_se_ = float(m.summary.loc["cure_fraction", "se"])
        self.n_bans_ = m.n_
        self.n_reappeared_ = m.n_events_
        median = self._uncured_median(m._theta)
        self.median_delay_days_ = median
        se = float(m._delta_se(lambda th: np.log(self._uncured_median(th))))
        z = m._zval
        self.median_delay_ci_ = (float(median * np.exp(-z * se)), float(median * np.exp(z * se)))
        rows = m.summary.drop(index="cure_fraction").copy()
        share = [
            self.reappearance_share_,
            self.reappearance_share_se_,
            *self.reappearance_share_ci_,
        ]
        rows.loc["reappearance_share"] = share
        rows.loc["median_delay_days"] = [median, np.nan, *self.median_delay_ci_]
        self.summary = rows[SUMMARY_COLUMNS]
        return self

    def _uncured_median(self, theta: np.ndarray) -> float:
        from analysis.models import _parametric as par

        mu, s, _ = theta
        return float(np.exp(mu + np.exp(s) * par.quantile0(self.distribution, 0.5)))

    def fit_channel_events(
        self, events: pd.DataFrame, *, source: str | None = None
    ) -> Reappearance:
        """Build the delays from a channel event table and fit."""
        durations = reappearance_durations(events, source=source)
        if durations.empty:
            raise ModelError(f"{source or 'table'}: no banned channels; expected at least one")
        self.durations_ = durations
        return self.fit(durations["delay_days"], durations["reappeared"])

    def plot(self, ax: Axes | None = None) -> Axes:
        """Kaplan-Meier curve of 'not yet reappeared' with the fitted cure model; returns Axes."""
        ax = self.km_.plot(ax=ax, label="Kaplan-Meier")
        self.model_.plot(ax=ax, label=f"{self.distribution} cure model")
        ax.set_ylabel("share not yet reappeared")
        ax.legend()
        return ax


@dataclass(frozen=True)
class CohortComparison:
    """Before/after comparison of reappearance."""

    split_at: Any
    before: Reappearance
    after: Reappearance
    logrank: LogRankResult
    share_difference: float  # after - before
    share_difference_ci: tuple[float, float]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per cohort plus the difference."""
        rows = {
            "before": [self.before.reappearance_share_, *self.before.reappearance_share_ci_],
            "after": [self.after.reappearance_share_, *self.after.reappearance_share_ci_],
            "after_minus_before": [self.share_difference, *self.share_difference_ci],
        }
        return pd.DataFrame.from_dict(
            rows, orient="index", columns=["reappearance_share", "ci_lower", "ci_upper"]
        )


def compare_cohorts(
    durations: pd.DataFrame,
    split_at: Any,
    *,
    distribution: str = "weibull",
    alpha: float = 0.05,
) -> CohortComparison:
    """Compare reappearance of channels banned before vs at/after ``split_at``.

    Parameters
    ----------
    durations
        Output of :func:`reappearance_durations`, or a channel event table (converted).
    split_at
        Time in the units of ``banned_at`` (float days or a datetime), e.g. an action day.
    distribution, alpha
        Passed to :class:`Reappearance`.

    Returns
    -------
    CohortComparison
        Both fits, the log-rank test on the delays and the difference in the share reappearing
        (after - before) with a Wald CI from the two standard errors.
    """
    if "delay_days" not in durations.columns:
        durations = reappearance_durations(durations)
    banned_at = durations["banned_at"]
    after_mask = (banned_at >= split_at).to_numpy()
    if after_mask.all() or not after_mask.any():
        raise ModelError(f"split_at={split_at!r}: one cohort is empty; expected bans on both sides")
    fits = []
    for mask in (~after_mask, after_mask):
        part = durations[mask]
        fits.append(
            Reappearance(distribution, alpha=alpha).fit(part["delay_days"], part["reappeared"])
        )
    before, after = fits
    b, a = durations[~after_mask], durations[after_mask]
    lr = logrank_test(
        np.maximum(b["delay_days"].to_numpy(), 0.0),
        np.maximum(a["delay_days"].to_numpy(), 0.0),
        b["reappeared"].to_numpy(),
        a["reappeared"].to_numpy(),
    )
    diff = after.reappearance_share_ - before.reappearance_share_
    se = float(np.hypot(after.reappearance_share_se_, before.reappearance_share_se_))
    z = float(stats.norm.ppf(1 - alpha / 2))
    return CohortComparison(split_at, before, after, lr, diff, (diff - z * se, diff + z * se))
