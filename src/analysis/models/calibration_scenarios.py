"""The published calibration scenarios: anchors from ``data/processed``, one population each.

Each builder reads its anchors by figure id (:mod:`analysis.models.calibration_anchors`),
states which numbers are *inputs* (assumptions, kept fixed and varied in the assumption grid)
and which parameters are free, and predicts the anchors with the vectorised mean field
(:mod:`analysis.models.calibration_meanfield`).  The scenarios join numbers from one platform
and period each: Telegram bans incl. bots, CREST's jihadist channel sample and Twitter
accounts are different populations and share no parameter.

* **Telegram, Nov 2019**: free are the identified combinations, the baseline ban flow and the
  action days' hazard ratios (hazard on the day / baseline hazard), plus the mean lifetime,
  which the bans identify only from below (the scenario's nuisance parameter).
* **CREST 2018 vs 2019**: four anchors for four free parameters (zero degrees of freedom);
  the window, the re-creation delay and the removal proxy are inputs.
* **Twitter, April 2015**: the population is an input (the census's stated range), the
  suspension rate published for a later period is not used (no mixing of periods).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from analysis.errors import ModelError
from analysis.models.calibration import Anchor, CalibrationProblem
from analysis.models.calibration_anchors import AnchorFigure, anchor_figures
from analysis.models.calibration_meanfield import (
    CUM_BANS,
    CUM_CREATIONS,
    MeanFieldBatch,
    equilibrium_one,
    step_one,
)

__all__ = [
    "SCENARIO_KEYS",
    "crest_2018_2019_problem",
    "crest_predict",
    "public_problems",
    "telegram_nov2019_problem",
    "telegram_predict",
    "twitter_april2015_problem",
    "twitter_predict",
]

SCENARIO_KEYS = ("telegram_nov2019", "crest_2018_2019", "twitter_april2015")
Z95 = 1.959963984540054


def _arr(p: Mapping[str, object], name: str) -> np.ndarray:
    return np.atleast_1d(np.asarray(p[name], dtype=float))


def _is_scalar(p: Mapping[str, object]) -> bool:
    return all(np.ndim(v) == 0 for v in p.values())


# --------------------------------------------------------------------------- Telegram
def telegram_predict(p: Mapping[str, object]) -> dict[str, object]:
    """Baseline bans and bans on the two action days (scalars or arrays of parameters)."""
    if _is_scalar(p):  # plain floats inside the optimiser
        f = {k: float(v) for k, v in p.items()}  # type: ignore[arg-type]
        mu0, rho = 1.0 / f["mean_lifetime_days"], f["recreation_probability"]
        args = (f["baseline_bans_per_day"] * (1 - rho), rho, 1.0 / f["recreation_delay_mean_days"])
        x0 = equilibrium_one(args[0], mu0, rho, args[2])
        x1 = step_one(x0, args[0], mu0 * f["hazard_ratio_day1"], rho, args[2], 1.0)
        x2 = step_one(x1, args[0], mu0 * f["hazard_ratio_day2"], rho, args[2], 1.0)
        return {
            "baseline_bans": mu0 * x0[0],
            "bans_day1": x1[2],
            "bans_day2": x2[2] - x1[2],
            "active_before": x0[0],
        }
    flow, life = _arr(p, "baseline_bans_per_day"), _arr(p, "mean_lifetime_days")
    rho = _arr(p, "recreation_probability")
    mu0 = 1.0 / life
    mf = MeanFieldBatch(flow * (1 - rho), mu0, rho, _arr(p, "recreation_delay_mean_days"))
    x = mf.equilibrium()
    x1 = mf.propagate(x, (_arr(p, "hazard_ratio_day1") - 1) * mu0, 1.0)
    x2 = mf.propagate(x1, (_arr(p, "hazard_ratio_day2") - 1) * mu0, 1.0)
    out = {
        "baseline_bans": mu0 * x[:, 0],
        "bans_day1": x1[:, CUM_BANS],
        "bans_day2": x2[:, CUM_BANS] - x1[:, CUM_BANS],
        "active_before": x[:, 0],
    }
    return out


def telegram_nov2019_problem(
    recreation_probability: float = 0.0,
    recreation_delay_mean_days: float = 1.0,
    processed: str | Path | None = None,
) -> CalibrationProblem:
    """ISIS Watch bans on 22 and 23 Nov 2019 (TG22, TG23) against a 200-300/day baseline (TG24).

    The stated typical-day range is read as the central 95 % of a log-normal (log-sd
    ``ln(high/low) / 3.92``) and the same relative day-to-day dispersion is given to the
    single-day counts (a count of one day varies like a typical day does; a Poisson sd, the
    square root of the count, would claim far more precision than the stated range allows).
    Re-creation (probability and delay) is an input: bans alone do not separate it from the
    hazard at this time scale.
    """
    figs = anchor_figures(
        ["telegram_bans_day1", "telegram_bans_day2", "telegram_baseline_bans_per_day"], processed
    )
    base = figs["telegram_baseline_bans_per_day"]
    sd_day = float(np.log(base.value_high / base.value_low) / (2 * Z95))
    note = (
        f"day-to-day log-sd {sd_day:.3f} from the stated typical-day range "
        f"{base.value_low:g}-{base.value_high:g} ({base.figure_id})"
    )
    return CalibrationProblem(
        name="Telegram ISIS Watch, Nov 2019",
        anchors=[
            Anchor.from_figure(
                "baseline bans per day (stated range)", "baseline_bans", base, "lognormal"
            ),
            Anchor.from_figure(
                "bans on 22 Nov 2019",
                "bans_day1",
                figs["telegram_bans_day1"],
                "lognormal",
                sd_log=sd_day,
                dispersion_note=note,
            ),
            Anchor.from_figure(
                "bans on 23 Nov 2019",
                "bans_day2",
                figs["telegram_bans_day2"],
                "lognormal",
                sd_log=sd_day,
                dispersion_note=note,
            ),
        ],
        predict=telegram_predict,
        free={
            "baseline_bans_per_day": (base.value, base.value / 10, base.value * 10),
            "hazard_ratio_day1": (8.0, 1.001, 1e4),
            "hazard_ratio_day2": (10.0, 1.001, 1e4),
            "mean_lifetime_days": (200.0, 2.0, 50_000.0),
        },
        fixed={
            "recreation_probability": recreation_probability,
            "recreation_delay_mean_days": recreation_delay_mean_days,
        },
        notes="mean_lifetime_days is a nuisance parameter: the bans bound it from below only.",
    )


# --------------------------------------------------------------------------- CREST
def crest_predict(p: Mapping[str, object]) -> dict[str, object]:
    """New channels within the window after the 2018 and 2019 action days, and lifespans."""
    if _is_scalar(p):
        f = {k: float(v) for k, v in p.items()}  # type: ignore[arg-type]
        mu0 = 1.0 / f["mean_lifetime_2018_days"]
        h19 = max(1.0 / f["mean_lifetime_2019_days"] - mu0, 0.0)
        lam, rho = f["creation_rate_per_day"], f["recreation_probability"]
        rate, window = 1.0 / f["recreation_delay_mean_days"], float(round(f["window_days"]))
        x0 = equilibrium_one(lam, mu0, rho, rate)
        new = {}
        for year, extra in (("2018", 0.0), ("2019", h19)):
            x1 = step_one(x0, lam, mu0 - math.log1p(-f[f"removed_{year}"]), rho, rate, 1.0)
            new[year] = step_one(x1, lam, mu0 + extra, rho, rate, window)[3] - x1[3]
        return {
            "new_2018": new["2018"],
            "new_2019": new["2019"],
            "lifespan_2018": 1.0 / mu0,
            "lifespan_2019": 1.0 / (mu0 + h19),
            "active_before": x0[0],
        }
    window = np.round(_arr(p, "window_days"))
    mu0 = 1.0 / _arr(p, "mean_lifetime_2018_days")
    h19 = np.maximum(1.0 / _arr(p, "mean_lifetime_2019_days") - mu0, 0.0)
    mf = MeanFieldBatch(
        _arr(p, "creation_rate_per_day"),
        mu0,
        _arr(p, "recreation_probability"),
        _arr(p, "recreation_delay_mean_days"),
    )
    x0 = mf.equilibrium()
    new = {}
    for year, extra in (("2018", 0.0), ("2019", h19)):
        removal = -np.log1p(-_arr(p, f"removed_{year}"))
        x1 = mf.propagate(x0, removal, 1.0)
        xw = mf.propagate(x1, extra, window)
        new[year] = xw[:, CUM_CREATIONS] - x1[:, CUM_CREATIONS]
    out = {
        "new_2018": new["2018"],
        "new_2019": new["2019"],
        "lifespan_2018": 1.0 / mu0,
        "lifespan_2019": 1.0 / (mu0 + h19),
        "active_before": x0[:, 0],
    }
    return out


def crest_removal_proxy(processed: str | Path | None = None) -> dict[str, AnchorFigure]:
    """CREST's change in organic posts 30 days after vs before each action day (figures)."""
    return anchor_figures(["crest_posts_change_2018", "crest_posts_change_2019"], processed)


def _share_removed(fig: AnchorFigure) -> float:
    """A published change in posts (percent; a decline negative or stated as a decrease)."""
    share = abs(fig.value) / 100.0 if fig.unit.startswith("percent") else abs(fig.value)
    return float(min(share, 0.999))


def crest_2018_2019_problem(
    window_days: int = 365,
    recreation_delay_mean_days: float = 3.0,
    removal: str | tuple[float, float] = "posts_drop",
    processed: str | Path | None = None,
) -> CalibrationProblem:
    """New channels and their mean lifespans after the 2018 vs the 2019 Europol action day.

    Anchors: channels created (EU42-2018, EU42-2019; Poisson counts) and their mean
    lifespans (EU43-2018, EU43-2019; the mean of ``n`` exponential lifetimes).  2018: removal
    of a share of the channels on the action day, then the baseline hazard; 2019: removal and
    a sustained extra hazard for ``window_days`` (the 2019 cohort's mean lifespan is
    ``1/(mu_0 + h)``).  Inputs (not stated in the summary seen, varied in the assumption
    grid): the window over which "new channels" were counted, the mean re-creation delay and
    the share removed on each action day, by default CREST's fall in organic posts
    (``removal="posts_drop"``: a proxy), nothing (``"none"``) or ``(share_2018, share_2019)``.

    Four anchors for four free parameters: zero degrees of freedom.
    """
    figs = anchor_figures(
        [
            "crest_new_channels_2018",
            "crest_new_channels_2019",
            "crest_mean_lifespan_2018",
            "crest_mean_lifespan_2019",
        ],
        processed,
    )
    if removal == "posts_drop":
        proxy = crest_removal_proxy(processed)
        removed = (
            _share_removed(proxy["crest_posts_change_2018"]),
            _share_removed(proxy["crest_posts_change_2019"]),
        )
        removal_ids = ";".join(f.figure_id for f in proxy.values())
        input_ids = [f.figure_id for f in proxy.values()]
    elif removal == "none":
        removed, removal_ids = (0.0, 0.0), "none removed on the day (assumption)"
        input_ids = []
    elif isinstance(removal, tuple):
        removed = (float(removal[0]), float(removal[1]))
        removal_ids, input_ids = "assumption", []
    else:
        raise ModelError(
            f"removal must be 'posts_drop', 'none' or (share_2018, share_2019), got {removal!r}"
        )
    n18 = int(figs["crest_new_channels_2018"].value)
    n19 = int(figs["crest_new_channels_2019"].value)
    return CalibrationProblem(
        name=f"CREST 2018 vs 2019 action days, window {window_days} d",
        anchors=[
            Anchor.from_figure(
                "new channels after the 2018 action day",
                "new_2018",
                figs["crest_new_channels_2018"],
                "poisson",
            ),
            Anchor.from_figure(
                "new channels after the 2019 action day",
                "new_2019",
                figs["crest_new_channels_2019"],
                "poisson",
            ),
            Anchor.from_figure(
                "mean lifespan, 2018 cohort",
                "lifespan_2018",
                figs["crest_mean_lifespan_2018"],
                "mean_lifetime",
                n=n18,
            ),
            Anchor.from_figure(
                "mean lifespan, 2019 cohort",
                "lifespan_2019",
                figs["crest_mean_lifespan_2019"],
                "mean_lifetime",
                n=n19,
            ),
        ],
        predict=crest_predict,
        free={
            "creation_rate_per_day": (0.03, 1e-4, 10.0),
            "mean_lifetime_2018_days": (figs["crest_mean_lifespan_2018"].value, 20.0, 5000.0),
            "mean_lifetime_2019_days": (figs["crest_mean_lifespan_2019"].value, 1.0, 200.0),
            "recreation_probability": (0.5, 1e-3, 0.999),
        },
        fixed={
            "window_days": float(window_days),
            "removed_2018": removed[0],
            "removed_2019": removed[1],
            "recreation_delay_mean_days": recreation_delay_mean_days,
        },
        notes=f"removal proxy: {removal_ids}",
        input_figure_ids=input_ids,
    )


# --------------------------------------------------------------------------- Twitter
def twitter_predict(p: Mapping[str, object]) -> dict[str, object]:
    """Accounts suspended on the purge day and created within the window from it."""
    if _is_scalar(p):
        f = {k: float(v) for k, v in p.items()}  # type: ignore[arg-type]
        mu0, rho = 1.0 / f["mean_lifetime_days"], f["recreation_probability"]
        lam, rate = f["population"] * mu0 * (1 - rho), 1.0 / f["recreation_delay_mean_days"]
        x0 = equilibrium_one(lam, mu0, rho, rate)
        x1 = step_one(x0, lam, mu0 - math.log1p(-f["purge_share_removed"]), rho, rate, 1.0)
        xw = step_one(x1, lam, mu0, rho, rate, float(round(f["creation_window_days"])) - 1.0)
        return {
            "baseline_suspensions_per_month": 30.0 * mu0 * x0[0],
            "purge_suspensions": x1[2],
            "created_during_purge": xw[3],
        }
    mu0 = 1.0 / _arr(p, "mean_lifetime_days")
    rho = _arr(p, "recreation_probability")
    population = _arr(p, "population")
    mf = MeanFieldBatch(
        population * mu0 * (1 - rho), mu0, rho, _arr(p, "recreation_delay_mean_days")
    )
    x0 = mf.equilibrium()
    purge = -np.log1p(-_arr(p, "purge_share_removed"))
    x1 = mf.propagate(x0, purge, 1.0)
    xw = mf.propagate(x1, 0.0, np.round(_arr(p, "creation_window_days")) - 1.0)
    out = {
        "baseline_suspensions_per_month": 30.0 * mu0 * x0[:, 0],
        "purge_suspensions": x1[:, CUM_BANS],
        "created_during_purge": xw[:, CUM_CREATIONS],
    }
    return out


def twitter_april2015_problem(
    population: str | float = "geometric_mean",
    creation_window_days: int = 3,
    baseline: str = "none",
    processed: str | Path | None = None,
) -> CalibrationProblem:
    """The 2 Apr 2015 Twitter purge: suspended accounts and accounts created meanwhile.

    Anchors: the accounts suspended in the purge (a rounded figure: its stated precision is
    read as +-10 % for a central 95 % interval) and at least as many created within
    ``creation_window_days`` from the purge day (one-sided, same dispersion).  The IS Twitter
    population is an **input** from the census's stated range (``"low"``, ``"high"``,
    ``"geometric_mean"`` or a number), not an estimate; the monthly suspension rate Twitter
    published for mid-2015 to 2016 is a later period and is not used by default
    (``baseline="later_period"`` adds it as a sensitivity variant, labelled so).  Free: the share
    removed in the purge (identified given the population), the re-creation probability,
    its mean delay and the mean lifetime (the last three are not identified by two anchors).
    """
    figs = anchor_figures(
        [
            "twitter_purge_suspended",
            "twitter_purge_created",
            "twitter_population_2014_low",
            "twitter_population_2014_high",
        ],
        processed,
    )
    low, high = (
        figs["twitter_population_2014_low"].value,
        figs["twitter_population_2014_high"].value,
    )
    size = {"low": low, "high": high, "geometric_mean": float(np.sqrt(low * high))}
    pop = size[population] if isinstance(population, str) else float(population)
    sd = float(np.log(1.1) / Z95)
    note = "rounded figure read as +-10 % (central 95 %)"
    extra: list[Anchor] = []
    if baseline == "later_period":
        later = anchor_figures(["twitter_suspensions_per_month_later"], processed)
        extra.append(
            Anchor.from_figure(
                "suspensions per month, later period (assumed similar)",
                "baseline_suspensions_per_month",
                later["twitter_suspensions_per_month_later"],
                "lognormal",
            )
        )
    elif baseline != "none":
        raise ModelError(f"baseline must be 'none' or 'later_period', got {baseline!r}")
    return CalibrationProblem(
        name="Twitter purge, 2 Apr 2015" + (" (+ later-period baseline)" if extra else ""),
        anchors=[
            *extra,
            Anchor.from_figure(
                "suspended in the purge",
                "purge_suspensions",
                figs["twitter_purge_suspended"],
                "lognormal",
                sd_log=sd,
                dispersion_note=note,
            ),
            Anchor.from_figure(
                "created during the purge (at least)",
                "created_during_purge",
                figs["twitter_purge_created"],
                "at_least",
                sd_log=sd,
                dispersion_note=note,
            ),
        ],
        predict=twitter_predict,
        free={
            "purge_share_removed": (0.2, 1e-3, 0.999),
            "recreation_probability": (0.3, 1e-3, 0.999),
            "recreation_delay_mean_days": (2.0, 0.05, 60.0),
            "mean_lifetime_days": (100.0, 5.0, 3000.0),
        },
        fixed={"population": pop, "creation_window_days": float(creation_window_days)},
        notes=(
            "population input from "
            f"{figs['twitter_population_2014_low'].figure_id}/"
            f"{figs['twitter_population_2014_high'].figure_id}"
        ),
        input_figure_ids=[
            figs["twitter_population_2014_low"].figure_id,
            figs["twitter_population_2014_high"].figure_id,
        ],
    )


def public_problems(processed: str | Path | None = None) -> dict[str, CalibrationProblem]:
    """The three scenarios at their default assumptions (keys :data:`SCENARIO_KEYS`)."""
    return {
        "telegram_nov2019": telegram_nov2019_problem(processed=processed),
        "crest_2018_2019": crest_2018_2019_problem(processed=processed),
        "twitter_april2015": twitter_april2015_problem(processed=processed),
    }
