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
* otherwise it is a later channel of the same ``family_id``: in time order, each new channel
  of the family goes to the earliest ban still waiting for a successor within the window, so
  a successor is credited to **one ban only** (channels that name a predecessor are reserved
  for that predecessor and the banned channel itself is never its own successor);
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
The share re-created within the window is estimated **nonparametrically**: ``1 - KM(h)`` of
the Kaplan-Meier curve of the delays (Kaplan & Meier 1958) at ``h = min(window, longest
follow-up)``, the Aalen-Johansen cumulative incidence of "reappeared" with a single event
type.  It does not depend on a delay family.  Its interval is a percentile bootstrap that
resamples whole families (``family_id``; bans without a family are their own cluster):
bans of one lineage are correlated, and intervals that treat them as independent are too
narrow (1.6 times in issue 12's measurement).

A mixture cure model (Farewell 1982; Maller & Zhou 1996) ``S(t) = pi + (1 - pi) S_u(t)``
fitted by :class:`analysis.models.survival.ParametricSurvival` with ``cure=True`` gives the
delay distribution among channels that do return (median delay) and the cure fraction
``pi`` (the share never re-created at any time).  ``pi`` extrapolates beyond the window and
hinges on the delay family (issue 12: truth 0.30, Weibull 0.289, log-logistic 0.105,
log-normal 0.000), so the cure fits of several families are reported next to the
nonparametric share as a sensitivity analysis (``sensitivity_``), never instead of it.
Assumes censoring independent of the delay.

:func:`compare_cohorts` splits bans at a date (for example an action day), runs the log-rank
test on the delays and reports the difference in the nonparametric share reappearing, with a
family-clustered bootstrap interval (families resampled jointly across both cohorts).

References
----------
Kaplan & Meier (1958) JASA 53, 457-481.  Farewell (1982) Biometrics 38, 1041-1046.  Maller &
Zhou (1996) Survival Analysis with Long-Term Survivors, Wiley.  Klein & Moeschberger (2003)
Survival Analysis, 2nd ed., Springer.  Davison & Hinkley (1997) Bootstrap Methods and their
Application, Cambridge (section 3.8, clustered data).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from analysis.channels import (
    no_events_error,
    resolve_event_reasons,
    to_days,
    validate_channel_events,
)
from analysis.errors import HorizonWarning, ModelError, NoEventsError
from analysis.models._reappearance_np import clustered_km_shares, km_share
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
    "SENSITIVITY_FAMILIES",
    "CohortComparison",
    "Reappearance",
    "compare_cohorts",
    "family_clusters",
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


def _successor_by_family(
    table: pd.DataFrame, banned: pd.DataFrame, window: float = float("inf")
) -> pd.Series:
    """Successor of each ban among later channels of its family, one ban per successor.

    Within a family, bans and creations are taken in time order (a ban before a creation at
    the same instant, ties between creations to the smallest ``channel_id``); each creation
    goes to the earliest ban still waiting for a successor, that ban's window permitting
    (``created - banned <= window``) and never to the channel's own ban.  A successor is thus
    credited to one ban only, even when two bans of a family precede it.
    """
    out = pd.Series(pd.NA, index=banned.index, dtype="string")
    cand = table[table["family_id"].notna()]
    if "predecessor_id" in cand.columns:
        cand = cand[cand["predecessor_id"].isna()]
    query = banned[banned["family_id"].notna()]
    if cand.empty or query.empty:
        return out
    fam_codes, _ = pd.factorize(
        pd.concat([cand["family_id"], query["family_id"]], ignore_index=True)
    )
    n_c = len(cand)
    times = np.concatenate([cand["created_at"].to_numpy(), query["ended_at"].to_numpy()])
    _, rank = np.unique(times, return_inverse=True)
    days = to_days(times - times.min()) if len(times) else np.zeros(0)
    ids = np.concatenate(
        [cand["channel_id"].to_numpy(dtype=object), query["channel_id"].to_numpy(dtype=object)]
    ).astype(str)
    _, id_rank = np.unique(ids, return_inverse=True)
    kind = np.r_[np.ones(n_c, np.int64), np.zeros(len(query), np.int64)]  # ban (0) first
    order = np.lexsort((id_rank, kind, rank, fam_codes))
    found = np.full(len(query), None, dtype=object)
    pending: list[int] = []  # query positions waiting, in ban order
    family = -1
    for k in order:
        if fam_codes[k] != family:
            family, pending = fam_codes[k], []
        if kind[k] == 0:
            pending.append(int(k - n_c))
            continue
        while pending and days[k] - days[n_c + pending[0]] > window:
            pending.pop(0)  # too late for this ban: it stays without a successor
        for j, q in enumerate(pending):
            if ids[n_c + q] != ids[k]:  # never a channel's own successor
                found[q] = ids[k]
                pending.pop(j)
                break
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
    by_fam = _successor_by_family(table, need, window)
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


SENSITIVITY_FAMILIES = ("exponential", "weibull", "lognormal", "loglogistic")
"""Delay families of the parametric cure fits reported next to the nonparametric share."""


class Reappearance:
    """Share of banned channels that reappear, and the delay until they do.

    Parameters
    ----------
    distribution
        Delay distribution of the main cure model (see
        :class:`~analysis.models.survival.ParametricSurvival`); used for the delay summary
        (median delay among channels that return) and as one of the sensitivity fits.
    alpha
        1 - confidence level.
    min_delay_days
        Zero delays (successor created at the ban instant) are set to this, since log-time
        models need positive durations (default one minute).
    n_bootstrap
        Family-clustered bootstrap replicates of the share's interval.
    seed
        Seed or :class:`numpy.random.Generator` of the bootstrap.
    sensitivity
        Delay families whose cure models are fitted and reported next to the nonparametric
        share (:attr:`sensitivity_`); ``()`` skips them.

    Attributes (after fit)
    ----------------------
    window_days_ : float
        The window the share refers to (``inf``: within the follow-up).
    reappearance_share_, reappearance_share_ci_, reappearance_share_se_
        Share re-created within the window, **nonparametric**: ``1 - KM(h)`` of the
        Kaplan-Meier curve of the delays at ``h = share_horizon_days_ = min(window, longest
        follow-up)`` (the Aalen-Johansen cumulative incidence of "reappeared"; no assumption
        on the delay family).  Interval: percentile bootstrap resampling whole families
        (``family_id``, bans without one are their own cluster), because bans of one lineage
        are correlated.  With an infinite window this is the share back within the longest
        follow-up, a lower bound of ``1 - cure_fraction_``.
    share_horizon_days_ : float
        ``h`` above; a :class:`~analysis.errors.HorizonWarning` says so when the follow-up is
        shorter than a finite window.
    n_clusters_ : int
        Number of families resampled.
    km_share_within_window_ : float
        Same as ``reappearance_share_`` (kept for backward compatibility).
    parametric_share_, parametric_share_ci_ : float, tuple
        The main cure model's share within the window (``1 - S(window)``, delta-method
        interval on the logit scale; ``1 - cure_fraction`` with its profile interval for an
        infinite window).  Depends on the delay family: see ``sensitivity_``.
    sensitivity_ : pandas.DataFrame
        One row per method: ``kaplan_meier`` and ``cure_<family>``: ``share``, ``ci_lower``,
        ``ci_upper``, ``cure_fraction`` (NaN for Kaplan-Meier), ``aic``.
    cure_fraction_ : float
        The main cure model's share never re-created at any time (an extrapolation beyond
        the window when the window is finite; family-dependent).
    never_return_share_ : float
        ``1 - reappearance_share_``.
    median_delay_days_, median_delay_ci_ : median delay among channels that return (cure
        model).
    model_ : ParametricSurvival (``cure=True``); ``km_`` : KaplanMeier of the delays.
    summary : DataFrame of the delay parameters, ``reappearance_share`` (nonparametric),
        ``reappearance_share_cure_model``, ``median_delay_days`` and a row ``window_days``.
    """

    def __init__(
        self,
        distribution: str = "weibull",
        alpha: float = 0.05,
        min_delay_days: float = 1 / 1440,
        n_bootstrap: int = 500,
        seed: int | np.random.Generator | None = 0,
        sensitivity: Iterable[str] = SENSITIVITY_FAMILIES,
    ) -> None:
        self.distribution = distribution
        self.alpha = alpha
        self.min_delay_days = min_delay_days
        self.n_bootstrap = n_bootstrap
        self.seed = seed
        self.sensitivity = tuple(sensitivity)

    def fit(
        self,
        delay_days: Any,
        reappeared: Any = None,
        *,
        window_days: float = float("inf"),
        clusters: Any = None,
    ) -> Reappearance:
        """Fit to delays in days and the reappeared indicator (False = censored).

        ``window_days`` is the window the delays were censored at (reported, not applied:
        :func:`reappearance_durations` applies it).  ``clusters``: family label per ban
        (default: every ban its own cluster).
        """
        delay = np.asarray(delay_days, dtype=float)
        obs = np.ones(delay.shape, dtype=bool) if reappeared is None else np.asarray(reappeared)
        obs = obs.astype(bool)
        if obs.size and not obs.any():
            raise NoEventsError(
                f"Reappearance: none of {obs.size} endings has a successor "
                f"{window_label(float(window_days))}; the share reappearing cannot be fitted "
                "(no lineages: link successors first, or give family_id/predecessor_id)"
            )
        self.window_days_ = float(window_days)
        delay = np.where(delay == 0, self.min_delay_days, delay)
        if clusters is None:
            clusters = np.arange(delay.size)
        clusters = np.asarray(clusters, dtype=object)
        if clusters.shape != delay.shape:
            raise ModelError(
                f"clusters has {clusters.size} labels for {delay.size} bans; expected one each"
            )
        self.km_ = KaplanMeier(alpha=self.alpha).fit(delay, obs)
        follow = float(np.max(delay))
        horizon = min(self.window_days_, follow)
        if np.isfinite(self.window_days_) and follow < self.window_days_:
            warnings.warn(
                f"Reappearance: the longest follow-up is {follow:.3g} days, shorter than the "
                f"{self.window_days_:g}-day window; the share refers to {follow:.3g} days",
                HorizonWarning,
                stacklevel=2,
            )
        self.share_horizon_days_ = horizon
        share = km_share(delay, obs, horizon)
        boot = clustered_km_shares(
            delay,
            obs,
            clusters,
            horizon,
            n_bootstrap=self.n_bootstrap,
            rng=np.random.default_rng(self.seed),
            alpha=self.alpha,
        )
        self.bootstrap_ = boot
        self.n_clusters_ = int(np.unique(clusters.astype(str)).size)
        self.reappearance_share_ = share
        self.reappearance_share_ci_ = boot.interval()
        self.reappearance_share_se_ = boot.se()
        self.km_share_within_window_ = share
        self.never_return_share_ = 1.0 - share

        self.model_ = ParametricSurvival(self.distribution, cure=True, alpha=self.alpha).fit(
            delay, obs
        )
        m = self.model_
        self.cure_fraction_ = m.cure_fraction_
        self.parametric_share_, self.parametric_share_ci_, parametric_se = _cure_share(
            m, self.window_days_
        )
        rows = {"kaplan_meier": [share, *self.reappearance_share_ci_, np.nan, np.nan]}
        for family in self.sensitivity:
            fit = (
                m
                if family == self.distribution
                else ParametricSurvival(family, cure=True, alpha=self.alpha).fit(delay, obs)
            )
            value, (lo, hi), _ = _cure_share(fit, self.window_days_)
            rows[f"cure_{family}"] = [value, lo, hi, fit.cure_fraction_, fit.aic_]
        self.sensitivity_ = pd.DataFrame.from_dict(
            rows, orient="index", columns=["share", "ci_lower", "ci_upper", "cure_fraction", "aic"]
        )
        self.n_bans_ = m.n_
        self.n_reappeared_ = m.n_events_
        median = self._uncured_median(m._theta)
        self.median_delay_days_ = median
        se = float(m._delta_se(lambda th: np.log(self._uncured_median(th))))
        z = m._zval
        self.median_delay_ci_ = (float(median * np.exp(-z * se)), float(median * np.exp(z * se)))
        summary = m.summary.drop(index="cure_fraction").copy()
        summary.loc["reappearance_share"] = [
            share,
            self.reappearance_share_se_,
            *self.reappearance_share_ci_,
        ]
        summary.loc["reappearance_share_cure_model"] = [
            self.parametric_share_,
            parametric_se,
            *self.parametric_share_ci_,
        ]
        summary.loc["median_delay_days"] = [median, np.nan, *self.median_delay_ci_]
        summary.loc["window_days"] = [self.window_days_, np.nan, np.nan, np.nan]
        self.summary = summary[SUMMARY_COLUMNS]
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
        """Build the delays with :func:`reappearance_durations` and fit (families as clusters).

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
            clusters=family_clusters(durations),
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Kaplan-Meier curve of 'not yet reappeared' with the fitted cure model; returns Axes."""
        ax = self.km_.plot(ax=ax, label="Kaplan-Meier")
        self.model_.plot(ax=ax, label=f"{self.distribution} cure model")
        ax.set_ylabel(f"share not yet reappeared ({window_label(self.window_days_)})")
        ax.legend()
        return ax


def family_clusters(durations: pd.DataFrame) -> np.ndarray:
    """Cluster label per ban: its ``family_id``, else its own ``channel_id``."""
    family = durations["family_id"].astype("string")
    own = "channel:" + durations["channel_id"].astype("string")
    return ("family:" + family).fillna(own).to_numpy(dtype=object)


def _cure_share(
    model: ParametricSurvival, window: float
) -> tuple[float, tuple[float, float], float]:
    """Cure model's share back within ``window``: estimate, interval, standard error."""
    if np.isfinite(window):
        # 1 - S(window): identified by the data, unlike the cure fraction (an extrapolation)
        w = np.array([window])
        share = float(1.0 - model._surv(w, model._theta)[0])

        def logit_share(th: np.ndarray) -> float:
            x = float(np.clip(1.0 - model._surv(w, th)[0], 1e-12, 1 - 1e-12))
            return float(np.log(x / (1.0 - x)))

        se_logit = float(model._delta_se(logit_share))
        z, centre = model._zval, logit_share(model._theta)
        lo = float(special.expit(centre - z * se_logit))
        hi = float(special.expit(centre + z * se_logit))
        return share, (lo, hi), share * (1.0 - share) * se_logit
    lo, hi = model.cure_fraction_ci_
    se = float(model.summary.loc["cure_fraction", "se"])
    return 1.0 - model.cure_fraction_, (1.0 - hi, 1.0 - lo), se


@dataclass(frozen=True)
class CohortComparison:
    """Before/after comparison of reappearance."""

    split_at: Any
    before: Reappearance
    after: Reappearance
    logrank: LogRankResult
    share_difference: float  # after - before (nonparametric shares within the window)
    share_difference_ci: tuple[float, float]  # family-clustered bootstrap percentile
    n_clusters: int = 0

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
    n_bootstrap: int = 1000,
    seed: int | np.random.Generator | None = 0,
    sensitivity: Iterable[str] = (),
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
    n_bootstrap, seed
        Family-clustered bootstrap of the difference.
    sensitivity
        Delay families of the cure-model sensitivity fits per cohort (default none).

    Returns
    -------
    CohortComparison
        Both fits, the log-rank test on the delays and the difference in the share reappearing
        within the window (after - before, Kaplan-Meier), with a percentile interval from a
        bootstrap that resamples whole families across both cohorts (a family with bans on
        both sides carries its correlation into the difference).
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
    clusters = family_clusters(durations)
    fits = []
    for mask in (~after_mask, after_mask):
        part = durations[mask]
        fits.append(
            Reappearance(
                distribution,
                alpha=alpha,
                n_bootstrap=n_bootstrap,
                seed=seed,
                sensitivity=sensitivity,
            ).fit(
                part["delay_days"],
                part["reappeared"],
                window_days=window,
                clusters=clusters[mask],
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
    horizon = min(before.share_horizon_days_, after.share_horizon_days_)
    delay = np.maximum(durations["delay_days"].to_numpy(dtype=float), 0.0)
    event = durations["reappeared"].to_numpy(dtype=bool)
    share_b = km_share(delay[~after_mask], event[~after_mask], horizon)
    share_a = km_share(delay[after_mask], event[after_mask], horizon)
    boot = clustered_km_shares(
        delay,
        event,
        clusters,
        horizon,
        [~after_mask, after_mask],
        n_bootstrap=n_bootstrap,
        rng=np.random.default_rng(seed),
        alpha=alpha,
    )
    diffs = boot.replicates[:, 1] - boot.replicates[:, 0]
    diffs = diffs[np.isfinite(diffs)]
    ci = (float(np.quantile(diffs, alpha / 2)), float(np.quantile(diffs, 1 - alpha / 2)))
    return CohortComparison(
        split_at,
        before,
        after,
        lr,
        share_a - share_b,
        ci,
        int(np.unique(clusters.astype(str)).size),
    )
