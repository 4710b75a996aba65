"""Calibration tables and numbers behind notebook 05 (re-exported by :mod:`analysis.summaries`).

Rounding to what an interval supports, the identified-only calibration table, recovery times
across the CREST assumption grid and the figure ids behind each scenario.  Model modules are
imported inside the functions, so that importing this module stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from analysis.models.catmouse import CatMouseModel

__all__ = [
    "CALIBRATION_PARAMETER_LABELS",
    "CALIBRATION_SCENARIO_LABELS",
    "anchor_figure_ids",
    "calibrated_baseline_model",
    "calibration_implications",
    "calibration_source_domains",
    "calibration_table",
    "crest_grid_recovery",
    "round_to_interval",
    "rounded_interval",
    "scenario_sustained_extra_hazard",
]


CALIBRATION_SCENARIO_LABELS = {
    "telegram_nov2019": "Telegram ISIS Watch, Nov 2019 (TG22-TG24)",
    "crest_2018_2019": "CREST 2018 vs 2019 action days (EU42, EU43, ST10)",
    "twitter_april2015": "Twitter purge, April 2015 (ST05, ST01, ST02)",
}
"""Short labels of the scenarios of :mod:`analysis.models.calibration_scenarios`."""

CALIBRATION_PARAMETER_LABELS = {
    "baseline_bans_per_day": "baseline bans (per day)",
    "mean_lifetime_days": "mean lifetime (days)",
    "hazard_ratio_day1": "ban hazard 22 Nov (x baseline)",
    "hazard_ratio_day2": "ban hazard 23 Nov (x baseline)",
    "extra_hazard_day1_per_day": "extra ban hazard 22 Nov (per channel-day)",
    "extra_hazard_day2_per_day": "extra ban hazard 23 Nov (per channel-day)",
    "creation_rate_per_day": "new channels (per day)",
    "mean_lifetime_2018_days": "mean lifetime 2018 (days)",
    "mean_lifetime_2019_days": "mean lifetime 2019 (days)",
    "recreation_probability": "re-creation probability",
    "population": "population (accounts)",
    "purge_share_removed": "share removed in the purge",
    "purge_extra_hazard_per_day": "purge extra hazard (per account-day)",
    "recreation_delay_mean_days": "re-creation delay (days)",
}
"""Readable labels, with units, of the calibrated parameters."""


def _rounding_step(value: float, lower: float, upper: float) -> float:
    """Rounding step: two significant digits of the interval's narrower finite half-width,
    and never finer than two significant digits of ``value`` itself."""
    halves = [abs(value - b) for b in (lower, upper) if np.isfinite(b) and b != value]
    own = 10.0 ** (np.floor(np.log10(abs(value))) - 1) if value != 0 else 1.0
    if not halves or min(halves) <= 0:
        return own
    return max(10.0 ** (np.floor(np.log10(min(halves))) - 1), own)


def _with_step(value: float, step: float) -> str:
    step = min(step, 10.0 ** (np.floor(np.log10(abs(value))) - 1)) if value != 0 else step
    decimals = max(0, -int(np.floor(np.log10(step))))
    return f"{round(value / step) * step:,.{decimals}f}"


def round_to_interval(value: float, lower: float, upper: float) -> str:
    """``value`` with the digits its interval supports: two significant digits of the
    interval's narrower half-width, at most two significant digits of the value.

    >>> round_to_interval(0.934567, 0.8264, 0.9965)
    '0.93'
    >>> round_to_interval(244.949, 199.94, 300.06)
    '240'
    """
    value = float(value)
    if not np.isfinite(value):
        return "n/a"
    return _with_step(value, _rounding_step(value, lower, upper))


def rounded_interval(
    value: float, lower: float, upper: float, lower_identified: bool, upper_identified: bool
) -> tuple[float, float, float]:
    """Estimate and interval ends rounded with the step :func:`round_to_interval` uses
    (unbounded ends, which are search limits, to two significant digits)."""
    step = _rounding_step(
        float(value),
        float(lower) if lower_identified else np.nan,
        float(upper) if upper_identified else np.nan,
    )

    def rounded(v: float, ok: bool) -> float:
        text = _with_step(float(v), step) if ok else round_to_interval(float(v), np.nan, np.nan)
        return float(text.replace(",", ""))

    return rounded(value, True), rounded(lower, lower_identified), rounded(upper, upper_identified)


def calibration_table(results: Mapping[str, object]) -> pd.DataFrame:
    """One row per scenario and free parameter: identification, estimate and interval.

    Parameters
    ----------
    results
        Scenario key to :class:`~analysis.models.calibration.CalibrationResult`.

    Returns
    -------
    pandas.DataFrame
        ``scenario``, ``scenario_label``, ``parameter``, ``parameter_label``, ``estimate``,
        ``lower``, ``upper``, ``lower_identified``, ``upper_identified`` (False: the
        interval reaches the search bound), ``nuisance_at_bound`` (other parameters at their
        search bound inside the interval), ``identified``, ``search_lower``,
        ``search_upper``, ``dof`` (anchors minus free parameters), ``figure_ids``,
        ``estimate_text`` (rounded to what the interval supports; "not identified" when the
        parameter is not) and ``interval`` (text: ``"≤ x"`` / ``"≥ x"`` marks an unbounded
        side).
    """
    rows = []
    for key, result in results.items():
        summary = result.summary  # type: ignore[attr-defined]
        problem = getattr(result, "problem", None)
        ids = getattr(problem, "all_figure_ids", getattr(problem, "figure_ids", []))
        figure_ids = ";".join(ids)
        dof = getattr(result, "dof_", np.nan)
        for parameter, row in summary.iterrows():
            low, up = float(row["lower"]), float(row["upper"])
            lo_ok, up_ok = bool(row["lower_identified"]), bool(row["upper_identified"])
            nuisance = str(row.get("nuisance_at_bound", ""))
            identified = bool(row.get("identified", lo_ok and up_ok))
            est = float(row["estimate"])
            step = _rounding_step(est, low if lo_ok else np.nan, up if up_ok else np.nan)
            low_text = _with_step(low, step) if lo_ok else f"≤ {_fmt(low)}"
            up_text = _with_step(up, step) if up_ok else f"≥ {_fmt(up)}"
            rows.append(
                {
                    "scenario": key,
                    "scenario_label": CALIBRATION_SCENARIO_LABELS.get(key, key),
                    "parameter": str(parameter),
                    "parameter_label": CALIBRATION_PARAMETER_LABELS.get(
                        str(parameter), str(parameter)
                    ),
                    "estimate": est,
                    "lower": low,
                    "upper": up,
                    "lower_identified": lo_ok,
                    "upper_identified": up_ok,
                    "nuisance_at_bound": nuisance,
                    "identified": identified,
                    "search_lower": float(row["search_lower"]),
                    "search_upper": float(row["search_upper"]),
                    "dof": dof,
                    "figure_ids": figure_ids,
                    "estimate_text": round_to_interval(est, low, up)
                    if identified
                    else "not identified",
                    "interval": (
                        f"{low_text} to {up_text}"
                        if (lo_ok or up_ok)
                        else "not bounded by the anchors"
                    ),
                }
            )
    return pd.DataFrame(rows)


def crest_grid_recovery(
    grid: pd.DataFrame, purge_fraction: float, shares: Sequence[float] = (0.5, 0.9)
) -> pd.DataFrame:
    """Expected recovery after a one-day purge at each CREST assumption-grid point.

    ``grid`` is the output of
    :func:`~analysis.models.calibration_sensitivity.assumption_grid` for
    ``recreation_probability``; points where it is not identified get NaN (nothing is
    computed at an unidentified point).  Recovery is a share *of the drop* (see
    :func:`~analysis.models.calibration_sensitivity.days_to_recover`).
    """
    from analysis.models.calibration_sensitivity import days_to_recover

    rows = grid[grid["parameter"] == "recreation_probability"].copy()
    for q in shares:
        rows[f"days_to_recover_{round(100 * q)}pct_of_drop"] = [
            days_to_recover(
                r["est_mean_lifetime_2018_days"],
                r["est_recreation_probability"],
                r["est_recreation_delay_mean_days"],
                purge_fraction,
                q,
            )
            if r["identified"]
            else np.nan
            for _, r in rows.iterrows()
        ]
    return rows.reset_index(drop=True)


def anchor_figure_ids(results: Mapping[str, object]) -> dict[str, str]:
    """``{scenario: "id;id;..."}``: the figure ids behind each calibrated scenario (anchors,
    then published inputs such as a population range)."""
    return {
        k: ";".join(r.problem.all_figure_ids)  # type: ignore[attr-defined]
        for k, r in results.items()
    }


def _fmt(value: float) -> str:
    """Three significant digits, plain notation for everyday magnitudes."""
    value = float(value)
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.2e}"


def calibrated_baseline_model(key: str, params: Mapping[str, float]) -> CatMouseModel:
    """Legacy (parameter names before the sensitivity calibration; computes at point
    estimates): notebook 05 uses :func:`calibration_table` and :func:`crest_grid_recovery`.

    The cat-and-mouse model a calibrated scenario implies, at its baseline (no crackdown).

    Mirrors the scenario builders of :mod:`analysis.models.calibration`:

    * ``telegram_nov2019``: creation ``baseline_bans_per_day * (1 - rho)``, hazard
      ``1 / mean_lifetime_days``, re-creation ``rho`` and delay as fixed there;
    * ``crest_2018_2019``: ``creation_rate_per_day``, hazard ``1 / mean_lifetime_2018_days``
      (the 2018 regime), ``recreation_probability`` and the fixed delay;
    * ``twitter_april2015``: creation ``population * mu_0 * (1 - rho)`` (equilibrium =
      ``population``), ``mu_0 = 1 / mean_lifetime_days``, ``rho`` and the fitted delay.
    """
    from analysis.errors import ModelError
    from analysis.models.catmouse import CatMouseModel

    p = dict(params)
    if key == "telegram_nov2019":
        rho = p["recreation_probability"]
        return CatMouseModel(
            p["baseline_bans_per_day"] * (1 - rho),
            1.0 / p["mean_lifetime_days"],
            rho,
            p["recreation_delay_mean_days"],
        )
    if key == "crest_2018_2019":
        return CatMouseModel(
            p["creation_rate_per_day"],
            1.0 / p["mean_lifetime_2018_days"],
            p["recreation_probability"],
            p["recreation_delay_mean_days"],
        )
    if key == "twitter_april2015":
        mu0 = 1.0 / p["mean_lifetime_days"]
        rho = p["recreation_probability"]
        return CatMouseModel(
            p["population"] * mu0 * (1 - rho), mu0, rho, p["recreation_delay_mean_days"]
        )
    raise ModelError(
        f"unknown calibration scenario {key!r}; expected one of "
        f"{sorted(CALIBRATION_SCENARIO_LABELS)}"
    )


def scenario_sustained_extra_hazard(key: str, params: Mapping[str, float]) -> float:
    """Legacy (parameter names before the sensitivity calibration; computes at point
    estimates): notebook 05 uses :func:`calibration_table` and :func:`crest_grid_recovery`.

    The crackdown intensity a scenario observed, as an extra ban hazard per channel-day.

    Telegram: the mean of the two action days' extra hazards; CREST: the sustained 2019
    hazard ``1/lifetime_2019 - 1/lifetime_2018``; Twitter: the purge-day extra hazard.
    """
    p = dict(params)
    if key == "telegram_nov2019":
        return 0.5 * (p["extra_hazard_day1_per_day"] + p["extra_hazard_day2_per_day"])
    if key == "crest_2018_2019":
        return max(1.0 / p["mean_lifetime_2019_days"] - 1.0 / p["mean_lifetime_2018_days"], 0.0)
    if key == "twitter_april2015":
        return p["purge_extra_hazard_per_day"]
    from analysis.errors import ModelError

    raise ModelError(f"unknown calibration scenario {key!r}")


def calibration_implications(
    results: Mapping[str, object], purge_fraction: float = 0.9
) -> pd.DataFrame:
    """Legacy (parameter names before the sensitivity calibration; computes at point
    estimates): notebook 05 uses :func:`calibration_table` and :func:`crest_grid_recovery`.

    What each calibrated scenario implies, at its point estimate.

    Returns one row per scenario: ``equilibrium_active`` (channels or accounts),
    ``mean_lifetime_days``, ``recreations_per_ban``, ``days_to_regain_50pct`` and
    ``days_to_regain_90pct`` of the pre-purge level after a one-day purge removing
    ``purge_fraction`` of the active channels, ``sustained_extra_hazard_per_day`` (the
    scenario's own crackdown intensity, see :func:`scenario_sustained_extra_hazard`) and
    ``equilibrium_share_under_sustained`` (the stationary level if that intensity were kept
    up, as a share of the baseline equilibrium: ``mu_0 / (mu_0 + h)``).

    These inherit the identification of the parameters: where a parameter's profile
    interval is unbounded (see :func:`calibration_table`), so is what it implies.
    """
    from analysis.models.catmouse import Crackdown

    rows = []
    for key, result in results.items():
        params = result.params_  # type: ignore[attr-defined]
        model = calibrated_baseline_model(key, params)
        purge = Crackdown.removing_fraction(0.0, purge_fraction)
        horizon = max(3650.0, 20.0 * model.mean_lifetime_days())
        extra = scenario_sustained_extra_hazard(key, params)
        rows.append(
            {
                "scenario": key,
                "scenario_label": CALIBRATION_SCENARIO_LABELS.get(key, key),
                "equilibrium_active": model.equilibrium_active(),
                "mean_lifetime_days": model.mean_lifetime_days(),
                "recreations_per_ban": model.expected_recreations_per_ban(),
                "days_to_regain_50pct": model.time_to_regain(0.5, purge, horizon_days=horizon),
                "days_to_regain_90pct": model.time_to_regain(0.9, purge, horizon_days=horizon),
                "sustained_extra_hazard_per_day": extra,
                "equilibrium_share_under_sustained": (
                    model.equilibrium_active(extra_hazard_per_day=extra)
                    / model.equilibrium_active()
                ),
            }
        )
    return pd.DataFrame(rows)


def calibration_source_domains(results: Mapping[str, object]) -> list[str]:
    """Web domains of the anchors' sources, in first-seen order (for figure footnotes)."""
    from urllib.parse import urlparse

    seen: list[str] = []
    for result in results.values():
        for url in result.anchors["source"]:  # type: ignore[attr-defined]
            host = urlparse(str(url)).netloc.lower().removeprefix("www.")
            if host and host not in seen:
                seen.append(host)
    return seen
