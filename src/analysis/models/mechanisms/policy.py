"""The policy experiments of notebook 05, rerun under each mechanism (synthetic).

Notebook 05 draws three conclusions from the one-platform model: a one-day purge is
transient, sustained pressure works only while it lasts (and averts more than a purge), and
re-creation - and its cost - sets the size of the population.  Here each result is computed
under the one-platform model and under each mechanism, every variant *calibrated to the same
baseline*: the same equilibrium population on the monitored platform (and the same mean
per-channel ban hazard there), so that differences come from the mechanism, not the scale.

Each result is a number plus a claim about it (:data:`RESULTS`).  The verdict for a
mechanism: ``"holds"`` when the claim is true and the number is within 25 % of the
one-platform value, ``"holds (size differs)"`` when the claim is true but the number is not,
``"does not hold"`` when the claim is false.  Paths are expected values: exact mean fields
for the linear mechanisms, the mean-field approximation for capacity (checked against the
Gillespie simulation in notebook 07 and the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.models.catmouse import Crackdown
from analysis.models.mechanisms.capacity import CapacityModel
from analysis.models.mechanisms.model import ChannelType, MechanismModel

__all__ = [
    "RESULTS",
    "Variant",
    "displacement_after_purge",
    "mechanism_variants",
    "policy_results",
    "policy_table",
]

RELATIVE_TOLERANCE = 0.25


@dataclass(frozen=True)
class Result:
    key: str
    label: str
    claim: str
    holds: Callable[[float], bool]
    unit: str


RESULTS: tuple[Result, ...] = (
    Result(
        "purge_share_removed",
        "Purge: share removed on the day",
        "a one-day purge removes most channels at once (over half)",
        lambda v: v > 0.5,
        "proportion (0-1)",
    ),
    Result(
        "days_to_regain_50pct_after_purge",
        "Purge: days to regain 50 %",
        "a one-day purge is transient: half is back within a year",
        lambda v: v <= 365,
        "days",
    ),
    Result(
        "days_to_regain_90pct_after_purge",
        "Purge: days to regain 90 %",
        "a one-day purge is transient: 90 % is back within a year",
        lambda v: v <= 365,
        "days",
    ),
    Result(
        "sustained_share_at_end",
        "Sustained: share of equilibrium at its end",
        "a sustained crackdown (extra hazard = baseline, 90 days) holds the population "
        "below 75 % of its equilibrium",
        lambda v: v < 0.75,
        "proportion (0-1)",
    ),
    Result(
        "averted_ratio_sustained_vs_purge",
        "Averted channel-days: sustained / purge",
        "sustained pressure averts more channel-days over a year than a one-day purge",
        lambda v: v > 1.0,
        "ratio",
    ),
    Result(
        "recreation_multiplier",
        "Re-creation multiplies equilibrium by",
        "free re-creation at least doubles the equilibrium population",
        lambda v: v >= 2.0,
        "ratio",
    ),
    Result(
        "cost_reduction_c05",
        "Costly re-creation (c = 0.5) cuts equilibrium by",
        "halving the re-creation probability at every further ban cuts the equilibrium "
        "by at least a fifth",
        lambda v: v >= 0.2,
        "proportion (0-1)",
    ),
)


@dataclass(frozen=True)
class Variant:
    """One mechanism, calibrated to the baseline.

    ``make(crackdowns, rho, cost)`` returns the model (``MechanismModel`` or
    ``CapacityModel``) with those crackdowns, re-creation probability and cost factor.
    """

    key: str
    label: str
    make: Callable[[tuple[Crackdown, ...], float, float], object]
    description: str

    def path(self, crackdowns: tuple[Crackdown, ...], days: int, series: str = "active"):
        base = self.make(crackdowns, None, None)
        return base.mean_field(days)[series].to_numpy(dtype=float)

    def equilibrium(self, rho: float | None = None, cost: float | None = None) -> float:
        model = self.make((), rho, cost)
        if isinstance(model, CapacityModel):
            return float(model.equilibrium_active())
        return float(model.equilibrium()["active"])


def mechanism_variants(
    creation_rate_per_day: float = 20.0,
    ban_hazard_per_day: float = 0.1,
    recreation_probability: float = 0.6,
    recreation_delay_mean_days: float = 2.0,
    *,
    migration_probability: float = 0.2,
    other_end_hazard_per_day: float = 0.02,
    return_rate_per_day: float = 0.05,
    fast_share: float = 0.4,
    fast_mean_lifetime_days: float = 2.0,
    capacity_multiple: float = 2.0,
    initial_followers: float = 100.0,
    follower_growth_per_day: float = 5.0,
    recreation_follower_share: float = 0.5,
) -> dict[str, Variant]:
    """The one-platform model and each mechanism, calibrated to one baseline (assumptions).

    * **migration**: ``migration_probability`` of bans reappear elsewhere, end there at
      ``other_end_hazard_per_day`` or return at ``return_rate_per_day``; the creation rate is
      lowered so that the monitored equilibrium is unchanged;
    * **heterogeneity**: ``fast_share`` of families are banned with mean lifetime
      ``fast_mean_lifetime_days``, the rest slowly, with the same mean lifetime overall (so the
      same equilibrium);
    * **capacity** (fixed or surge): moderation can make ``capacity_multiple`` times the
      baseline ban flow per day (Michaelis-Menten); the demand hazard is raised so that the
      effective hazard at equilibrium equals the baseline hazard; a crackdown adds the same
      extra demand hazard; in the *surge* variant capacity rises with it;
    * **audience**: followers (``initial_followers`` per new channel, ``+follower_growth``
      per day, a re-created channel keeps ``recreation_follower_share``); channel counts are
      those of the baseline, exposure (follower-days) is reported too.
    """
    lam, mu, rho0, d = (
        creation_rate_per_day,
        ban_hazard_per_day,
        recreation_probability,
        recreation_delay_mean_days,
    )
    a_star = lam / (mu * (1 - rho0))

    def linear(**extra):
        def make(cds, rho, cost, extra=extra):
            kw = {
                "creation_rate_per_day": lam,
                "ban_hazard_per_day": mu,
                "recreation_probability": rho0,
                "recreation_delay_mean_days": d,
                **extra,
            }
            if rho is not None:
                kw["recreation_probability"] = rho
            if cost is not None:
                kw["recreation_cost_factor"] = cost
            return MechanismModel(crackdowns=cds, **kw)

        return make

    back = return_rate_per_day / (other_end_hazard_per_day + return_rate_per_day)
    lam_mig = a_star * mu * (1 - rho0 - migration_probability * back)
    mig = dict(
        creation_rate_per_day=lam_mig,
        migration_probability=migration_probability,
        other_end_hazard_per_day=other_end_hazard_per_day,
        return_rate_per_day=return_rate_per_day,
    )
    fast_h = 1.0 / fast_mean_lifetime_days
    slow_h = (1 - fast_share) / (1.0 / mu - fast_share / fast_h)
    types = (ChannelType(fast_share, fast_h, "fast"), ChannelType(1 - fast_share, slow_h, "slow"))
    flow = lam / (1 - rho0)
    cap = capacity_multiple * flow
    demand = flow / (a_star * (1 - flow / cap))

    def capacity(surge: bool):
        def make(cds, rho, cost):
            return CapacityModel(
                lam,
                demand,
                cap,
                recreation_probability=rho0 if rho is None else rho,
                recreation_delay_mean_days=d,
                recreation_cost_factor=1.0 if cost is None else cost,
                crackdowns=cds,
                capacity_scales_with_crackdowns=surge,
            )

        return make

    audience = dict(
        initial_followers=initial_followers,
        follower_growth_per_day=follower_growth_per_day,
        recreation_follower_share=recreation_follower_share,
    )
    return {
        "one_platform": Variant(
            "one_platform", "one platform (notebook 05)", linear(), "the null model"
        ),
        "migration": Variant(
            "migration",
            "migration and return",
            linear(**mig),
            f"{migration_probability:.0%} of bans move elsewhere; return after "
            f"{1 / return_rate_per_day:.0f} days on average",
        ),
        "heterogeneity": Variant(
            "heterogeneity",
            "fast and slow types",
            linear(types=types),
            f"{fast_share:.0%} fast (mean {fast_mean_lifetime_days:g} days), rest mean "
            f"{1 / slow_h:.0f} days",
        ),
        "capacity": Variant(
            "capacity",
            "capacity (fixed)",
            capacity(False),
            f"at most {cap:.0f} bans per day (Michaelis-Menten)",
        ),
        "capacity_surge": Variant(
            "capacity_surge",
            "capacity (surge)",
            capacity(True),
            "capacity rises with the crackdown's demand",
        ),
        "audience": Variant(
            "audience",
            "audience",
            linear(**audience),
            f"re-created channels regain {recreation_follower_share:.0%} of their followers",
        ),
    }


def _days_to_regain(path: np.ndarray, pre: float, start: int, fraction: float) -> float:
    """Days after the purge day until the (daily) path is back at ``fraction * pre``."""
    after = path[start:]  # end of the purge day onwards
    hit = np.flatnonzero(after >= fraction * pre)
    if hit.size == 0:
        return np.inf
    i = int(hit[0])
    if i == 0:
        return 0.0
    lo, hi = after[i - 1], after[i]
    return float(i - 1 + (fraction * pre - lo) / (hi - lo))


def policy_results(
    variants: dict[str, Variant],
    *,
    start_day: int = 30,
    purge_fraction: float = 0.9,
    sustained_days: int = 90,
    sustained_extra_hazard: float | None = None,
    horizon_days: int = 365,
    cost_factor: float = 0.5,
) -> pd.DataFrame:
    """The results of :data:`RESULTS` (rows) for every variant (columns), in channels.

    For the audience variant an extra column ``audience_exposure`` repeats the purge and
    sustained results in follower-days instead of channels.
    """
    purge = (Crackdown.removing_fraction(start_day, purge_fraction),)
    base_hazard = None
    days = start_day + horizon_days + 1
    out: dict[str, dict[str, float]] = {}
    for key, var in variants.items():
        if base_hazard is None:
            base_hazard = float(var.make((), None, None).ban_hazard_per_day)
        extra = base_hazard if sustained_extra_hazard is None else sustained_extra_hazard
        sustained = (Crackdown(start_day, sustained_days, extra),)
        series = ["active"] + (["exposure"] if key == "audience" else [])
        for s in series:
            none = var.path((), days, s)
            p_path = var.path(purge, days, s)
            s_path = var.path(sustained, days, s)
            pre = none[start_day - 1]
            window = slice(start_day, start_day + horizon_days)
            averted_p = float(np.sum(none[window] - p_path[window]))
            averted_s = float(np.sum(none[window] - s_path[window]))
            col = key if s == "active" else f"{key}_exposure"
            out[col] = {
                "purge_share_removed": 1.0 - p_path[start_day] / pre,
                "days_to_regain_50pct_after_purge": _days_to_regain(p_path, pre, start_day, 0.5),
                "days_to_regain_90pct_after_purge": _days_to_regain(p_path, pre, start_day, 0.9),
                "sustained_share_at_end": s_path[start_day + sustained_days - 1] / pre,
                "averted_ratio_sustained_vs_purge": averted_s / averted_p
                if averted_p > 0
                else np.inf,
            }
            if s == "active":
                eq = var.equilibrium()
                out[col]["recreation_multiplier"] = eq / var.equilibrium(rho=0.0)
                out[col]["cost_reduction_c05"] = 1 - var.equilibrium(cost=cost_factor) / eq
            else:
                model = var.make((), None, None)
                exp_eq = float(model.equilibrium()["exposure_per_day"])
                no_rec = float(var.make((), 0.0, None).equilibrium()["exposure_per_day"])
                costly = float(var.make((), None, cost_factor).equilibrium()["exposure_per_day"])
                out[col]["recreation_multiplier"] = exp_eq / no_rec
                out[col]["cost_reduction_c05"] = 1 - costly / exp_eq
    frame = pd.DataFrame(out)
    frame.index.name = "result"
    return frame


def policy_table(results: pd.DataFrame, reference: str = "one_platform") -> pd.DataFrame:
    """Long table: ``result``, ``mechanism``, ``value``, ``reference_value``, ``claim``,
    ``claim_true``, ``verdict`` (see the module docstring for the rule)."""
    rows = []
    for res in RESULTS:
        ref = float(results.loc[res.key, reference])
        for mech in results.columns:
            v = float(results.loc[res.key, mech])
            true = bool(res.holds(v))
            close = np.isfinite(v) and abs(v / ref - 1) <= RELATIVE_TOLERANCE if ref else v == 0
            verdict = (
                "does not hold" if not true else ("holds" if close else "holds (size differs)")
            )
            rows.append(
                {
                    "result": res.key,
                    "label": res.label,
                    "mechanism": mech,
                    "value": v,
                    "reference_value": ref,
                    "claim": res.claim,
                    "claim_true": true,
                    "verdict": verdict,
                    "unit": res.unit,
                }
            )
    return pd.DataFrame(rows)


def with_parameters(variant: Variant, **changes) -> Variant:
    """A copy of ``variant`` whose models get ``changes`` (dataclass fields) applied."""

    def make(cds, rho, cost):
        return replace(variant.make(cds, rho, cost), **changes)

    return Variant(variant.key, variant.label, make, variant.description)


def displacement_after_purge(
    variant: Variant,
    *,
    start_day: int = 30,
    purge_fraction: float = 0.9,
    horizon_days: int = 365,
) -> float:
    """Channel-days gained on the other platform per channel-day averted on the monitored one
    after a one-day purge (two-compartment variants only; 0 = nothing displaced)."""
    purge = (Crackdown.removing_fraction(start_day, purge_fraction),)
    days = start_day + horizon_days + 1
    window = slice(start_day, start_day + horizon_days)
    none = variant.make((), None, None).mean_field(days)
    hit = variant.make(purge, None, None).mean_field(days)
    averted = float(np.sum(none["active"].to_numpy()[window] - hit["active"].to_numpy()[window]))
    gained = float(
        np.sum(hit["other_active"].to_numpy()[window] - none["other_active"].to_numpy()[window])
    )
    return gained / averted
