"""Reappearance of banned channels: share that comes back and how fast.

A ban is followed, often, by a re-created channel of the same lineage.  The time from a ban
to the successor's creation is a time-to-event with two complications: some banned channels
never come back (a *cure fraction*, here the share that never reappears), and successors not
yet seen when observation ends are right-censored.  Averages of the observed delays ignore
both.

Building the durations (:func:`reappearance_durations`)
-------------------------------------------------------
From a channel event table (:mod:`analysis.channels`), for every channel whose ending counts
(``end_reason`` in ``event_reasons``; default any ending, see
:func:`analysis.channels.resolve_event_reasons`, so a ``went_dark`` channel of a message log
is a possible predecessor, as in :func:`analysis.ingest.linking.link_successors`):

* the successor is the earliest-created channel whose ``predecessor_id`` names it, when the
  column is present and such a channel exists;
* otherwise it is the next channel of the same ``family_id`` created at or after the ban
  (channels that name a predecessor are reserved for that predecessor and the banned channel
  itself is never its own successor);
* ties in creation time go to the smallest ``channel_id`` (the result does not depend on the
  row order);
* with no successor the delay is censored at ``min(window_days, observation_end - ban)``.

**The window.**  The share that reappears is always *the share re-created within
``window_days`` of the ban*: successors are only searched for (by the linker) within a window,
so an unlinked ban is censored at the window, not at the end of the data (which would turn
"not found within the window" into "never back"), and a successor later than the window
counts as not (yet) back at the window.  ``window_days`` defaults to the ``link_window_days``
column written by :func:`~analysis.ingest.linking.link_successors`; a table without it
(simulations with known lineages, tables linked by hand) gets ``inf``, that is "within the
follow-up", and the result says so.

**The detection horizon** (optional column ``detection_horizon``, see
:mod:`analysis.channels`).  An ending after the horizon is not an ending that could be seen
(a channel going dark then is indistinguishable from one still active), so such rows are not
predecessors: they are left out with a :class:`~analysis.errors.HorizonWarning` giving the
count (keeping explicit bans there would mix two definitions of "ended").  A *successor's*
creation, on the other hand, is seen up to ``observation_end`` (a new channel shows itself by
posting), so follow-up of the delay runs to ``observation_end``.

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

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special, stats

from analysis.channels import (
    no_events_error,
    resolve_event_reasons,
    to_days,
    validate_channel_events,
)
from analysis.errors import HorizonWarning, ModelError, NoEventsError
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
    "resolve_window_days",
    "window_label",
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


def resolve_window_days(table: pd.DataFrame, window_days: float | None) -> float:
    """The reappearance window: explicit, else the ``link_window_days`` column, else ``inf``.

    Raises
    ------
    ModelError
        A negative or NaN window, or a ``link_window_days`` column that is not constant.
    """
    if window_days is None and "link_window_days" in table.columns:
        values = pd.to_numeric(table["link_window_days"], errors="coerce").dropna().unique()
        if len(values) > 1:
            raise ModelError(
                f"column 'link_window_days' holds {len(values)} different windows; expected "
                "one (link the whole table at once) or pass window_days="
            )
        window_days = float(values[0]) if len(values) else None
    window = float("inf") if window_days is None else float(window_days)
    if not window > 0:
        raise ModelError(f"window_days={window_days!r}; expected a number of days > 0")
    return window


def reappearance_durations(
    events: pd.DataFrame,
    *,
    event_reasons: str | Iterable[str] | None = None,
    window_days: float | None = None,
    source: str | None = None,
    ban_reasons: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Ending-to-successor delays within a window, one row per ending that counts.

    Parameters
    ----------
    events
        Channel event table (validated with :func:`analysis.channels.validate_channel_events`).
    event_reasons
        End reasons that make a channel a predecessor (default any ending;
        :func:`analysis.channels.resolve_event_reasons`).
    window_days
        Reappearance window in days (see the module docstring); default the table's
        ``link_window_days`` column, else ``inf`` (within the follow-up).
    source
        Name quoted in error messages.
    ban_reasons
        Deprecated alias of ``event_reasons``.

    Returns
    -------
    pandas.DataFrame
        Columns ``channel_id``, ``family_id``, ``banned_at`` (the ending time, as in the
        table), ``successor_id`` (NA if none within the window), ``delay_days`` (float days
        to the successor's creation, or the censoring time ``min(window_days,
        observation_end - banned_at)``) and ``reappeared`` (bool: re-created within the
        window), sorted by ``banned_at`` then ``channel_id``.  ``attrs`` hold
        ``window_days``, ``event_reasons`` and ``n_excluded_after_horizon``.
    """
    if ban_reasons is not None:
        event_reasons = ban_reasons
    reasons = resolve_event_reasons(event_reasons)
    table = validate_channel_events(events, source=source)
    table = table.reset_index(drop=True)
    window = resolve_window_days(table, window_days)
    is_end = table["end_reason"].isin(reasons).to_numpy()
    n_after = 0
    if "detection_horizon" in table.columns:
        late = (table["ended_at"] > table["detection_horizon"]).to_numpy(dtype=bool)
        n_after = int((is_end & late).sum())
        if n_after:
            warnings.warn(
                f"{source or 'channel event table'}: {n_after} endings after their "
                "detection_horizon are not counted as predecessors (an ending there could "
                "not be seen for every channel)",
                HorizonWarning,
                stacklevel=2,
            )
        is_end = is_end & ~late
    banned = table[is_end]
    by_pred = _successor_by_predecessor(table, banned)
    need = banned[by_pred.isna().to_numpy()]
    by_fam = _successor_by_family(table, need)
    successor = by_pred.copy()
    successor.loc[need.index] = by_fam
    created = table.set_index("channel_id")["created_at"]
    succ_created = successor.map(created)
    found = successor.notna().to_numpy()
    follow = to_days(banned["observation_end"].to_numpy() - banned["ended_at"].to_numpy())
    limit = np.minimum(window, follow)
    delay_found = np.full(len(banned), np.nan)
    if found.any():
        delay_found[found] = to_days(
            succ_created.to_numpy()[found] - banned["ended_at"].to_numpy()[found]
        )
    # backup channel created before the ban: immediate return
    delay_found = np.maximum(delay_found, 0.0)
    reappeared = found & (delay_found <= window)
    delay = np.where(reappeared, delay_found, limit)
    successor = successor.where(reappeared, pd.NA)
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
    out = out.sort_values(["banned_at", "channel_id"], ignore_index=True)
    out.attrs.update(
        {"window_days": window, "event_reasons": reasons, "n_excluded_after_horizon": n_after}
    )
    return out


def window_label(window_days: float) -> str:
    """``"within 14 days"``, or ``"within the follow-up"`` for an infinite window."""
    if np.isfinite(window_days):
        return f"within {window_days:g} days"
    return "within the follow-up"


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
    window_days_ : float
        The window the share refers to (``inf``: within the follow-up).
    reappearance_share_, reappearance_share_ci_ : float, tuple
        Share re-created *within* ``window_days_``.  Finite window: ``1 - S(window)`` of the
        cure model (delta-method interval on the logit scale), which the data identify;
        infinite window: ``1 - cure_fraction`` with its profile-likelihood interval (only
        identified when follow-up is long relative to the delays).
    km_share_within_window_ : float
        The assumption-free check: ``1 - KM(min(window, longest delay))``.
    cure_fraction_ : float
        The cure model's share never re-created at any time (an extrapolation beyond the
        window when the window is finite).
    never_return_share_ : float
        ``1 - reappearance_share_``: share not back within the window (the cure fraction
        when the window is infinite).
    median_delay_days_, median_delay_ci_ : median delay among channels that return.
    model_ : ParametricSurvival (``cure=True``); ``km_`` : KaplanMeier of the delays.
    summary : DataFrame of the delay parameters, ``reappearance_share`` (within the window),
        ``median_delay_days`` and a row ``window_days`` (estimate = the window).
    """

    def __init__(
        self, distribution: str = "weibull", alpha: float = 0.05, min_delay_days: float = 1 / 1440
    ) -> None:
        self.distribution = distribution
        self.alpha = alpha
        self.min_delay_days = min_delay_days

    def fit(
        self, delay_days: Any, reappeared: Any = None, *, window_days: float = float("inf")
    ) -> Reappearance:
        """Fit to delays in days and the reappeared indicator (False = censored).

        ``window_days`` is the window the delays were censored at (reported, not applied:
        :func:`reappearance_durations` applies it).
        """
        delay = np.asarray(delay_days, dtype=float)
        obs = np.ones(delay.shape, dtype=bool) if reappeared is None else np.asarray(reappeared)
        if obs.size and not obs.astype(bool).any():
            raise NoEventsError(
                f"Reappearance: none of {obs.size} endings has a successor "
                f"{window_label(float(window_days))}; the share reappearing cannot be fitted "
                "(no lineages: link successors first, or give family_id/predecessor_id)"
            )
        self.window_days_ = float(window_days)
        delay = np.where(delay == 0, self.min_delay_days, delay)
        self.model_ = ParametricSurvival(self.distribution, cure=True, alpha=self.alpha).fit(
            delay, obs
        )
        self.km_ = KaplanMeier(alpha=self.alpha).fit(delay, obs)
        m = self.model_
        self.cure_fraction_ = m.cure_fraction_
        if np.isfinite(self.window_days_):
            # share back within the window, 1 - S(window): identified by the data, unlike the
            # cure fraction (an extrapolation beyond the window)
            w = np.array([self.window_days_])
            share = float(1.0 - m._surv(w, m._theta)[0])

            def logit_share(th: np.ndarray) -> float:
                x = float(np.clip(1.0 - m._surv(w, th)[0], 1e-12, 1 - 1e-12))
                return float(np.log(x / (1.0 - x)))

            se_logit = float(m._delta_se(logit_share))
            z, centre = m._zval, logit_share(m._theta)
            lo_s = float(special.expit(centre - z * se_logit))
            hi_s = float(special.expit(centre + z * se_logit))
            self.reappearance_share_ = share
            self.reappearance_share_ci_ = (lo_s, hi_s)
            self.reappearance_share_se_ = share * (1.0 - share) * se_logit
        else:
            self.reappearance_share_ = 1.0 - m.cure_fraction_
            lo, hi = m.cure_fraction_ci_
            self.reappearance_share_ci_ = (1.0 - hi, 1.0 - lo)
            self.reappearance_share_se_ = float(m.summary.loc["cure_fraction", "se"])
        self.never_return_share_ = 1.0 - self.reappearance_share_
        t_km = min(self.window_days_, float(np.max(delay)))
        self.km_share_within_window_ = float(1.0 - self.km_.survival_at([t_km])[0])
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
        rows.loc["window_days"] = [self.window_days_, np.nan, np.nan, np.nan]
        self.summary = rows[SUMMARY_COLUMNS]
        return self

    def _uncured_median(self, theta: np.ndarray) -> float:
        from analysis.models import _parametric as par

        mu, s, _ = theta
        return float(np.exp(mu + np.exp(s) * par.quantile0(self.distribution, 0.5)))

    def fit_channel_events(
        self,
        events: pd.DataFrame,
        *,
        event_reasons: str | Iterable[str] | None = None,
        window_days: float | None = None,
        source: str | None = None,
    ) -> Reappearance:
        """Build the delays with :func:`reappearance_durations` and fit.

        Raises
        ------
        NoEventsError
            No ending counts (message names the reasons and the table's end_reason counts),
            or no ending has a successor within the window (no lineages).
        """
        durations = reappearance_durations(
            events, event_reasons=event_reasons, window_days=window_days, source=source
        )
        if durations.empty:
            table = validate_channel_events(events, source=source)
            raise no_events_error("Reappearance", durations.attrs["event_reasons"], table, source)
        self.durations_ = durations
        return self.fit(
            durations["delay_days"],
            durations["reappeared"],
            window_days=durations.attrs["window_days"],
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Kaplan-Meier curve of 'not yet reappeared' with the fitted cure model; returns Axes."""
        ax = self.km_.plot(ax=ax, label="Kaplan-Meier")
        self.model_.plot(ax=ax, label=f"{self.distribution} cure model")
        ax.set_ylabel(f"share not yet reappeared ({window_label(self.window_days_)})")
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
    event_reasons: str | Iterable[str] | None = None,
    window_days: float | None = None,
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
    event_reasons, window_days
        Passed to :func:`reappearance_durations` when ``durations`` is an event table
        (ignored for durations, which carry their window in ``attrs``).
    distribution, alpha
        Passed to :class:`Reappearance`.

    Returns
    -------
    CohortComparison
        Both fits, the log-rank test on the delays and the difference in the share reappearing
        (after - before) with a Wald CI from the two standard errors.
    """
    if "delay_days" not in durations.columns:
        durations = reappearance_durations(
            durations, event_reasons=event_reasons, window_days=window_days
        )
    window = float(durations.attrs.get("window_days", float("inf")))
    banned_at = durations["banned_at"]
    after_mask = (banned_at >= split_at).to_numpy()
    if after_mask.all() or not after_mask.any():
        raise ModelError(f"split_at={split_at!r}: one cohort is empty; expected bans on both sides")
    fits = []
    for mask in (~after_mask, after_mask):
        part = durations[mask]
        fits.append(
            Reappearance(distribution, alpha=alpha).fit(
                part["delay_days"], part["reappeared"], window_days=window
            )
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
