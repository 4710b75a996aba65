"""Calibration as a sensitivity analysis: assumption grids and prior-versus-posterior draws.

A calibration to a handful of published numbers answers "which parameter values reproduce
these numbers, *given* the assumptions that are not stated in the sources" (the window over
which new channels were counted, the re-creation delay, what stands in for the share removed
on an action day).  :func:`assumption_grid` reruns a scenario over a grid of such inputs and
keeps, per grid point, the estimate, the profile interval and every identification flag of the
parameters asked for; :func:`crest_importance_sampling` puts priors on the unstated inputs
and shows how much the CREST anchors move the re-creation probability away from its prior.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.errors import ModelError, UnidentifiedWarning
from analysis.models.calibration import CalibrationProblem, calibrate
from analysis.models.calibration_anchors import anchor_figures
from analysis.models.calibration_meanfield import equilibrium_one, step_one
from analysis.models.calibration_scenarios import crest_predict, crest_removal_proxy

__all__ = [
    "assumption_grid",
    "crest_importance_sampling",
    "days_to_recover",
    "weighted_quantiles",
]


def assumption_grid(
    build: Callable[..., CalibrationProblem],
    grid: Mapping[str, Sequence[object]],
    parameters: Sequence[str],
    profile_points: int = 17,
    **fixed: object,
) -> pd.DataFrame:
    """Calibrate ``build(**assumptions)`` at every point of ``grid`` and profile ``parameters``.

    Each grid point starts its search from the previous point's estimate (warm start).

    Parameters
    ----------
    build
        Scenario builder, e.g.
        :func:`~analysis.models.calibration_scenarios.crest_2018_2019_problem`.
    grid
        Assumption name -> values (keyword arguments of ``build``); every combination is run.
    parameters
        Free parameters to profile at each point.
    profile_points
        Grid points per profile (see :func:`~analysis.models.calibration.calibrate`).
    **fixed
        Further keyword arguments of ``build`` (e.g. ``processed``).

    Returns
    -------
    pandas.DataFrame
        One row per grid point and parameter: the assumptions (as columns), ``parameter``,
        ``estimate``, ``lower``, ``upper``, ``lower_identified``, ``upper_identified``,
        ``nuisance_at_bound``, ``identified``, ``loglik``, ``dof``, ``figure_ids`` and
        ``est_<name>`` for every parameter (free at the maximum, fixed as given).
    """
    names = list(grid)
    rows = []
    previous: dict[str, float] | None = None
    for values in itertools.product(*(grid[n] for n in names)):
        assumptions = dict(zip(names, values, strict=True))
        problem = build(**assumptions, **fixed)
        if previous is not None:
            problem.free = {
                k: (float(np.clip(previous[k], lo * 1.0001, hi / 1.0001)), lo, hi)
                for k, (_, lo, hi) in problem.free.items()
            }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnidentifiedWarning)
            result = calibrate(
                problem,
                profile_points=profile_points,
                profile=parameters,
                multistart=previous is None,
            )
        previous = {k: float(result.params_[k]) for k in problem.free}
        for parameter in parameters:
            row = result.summary.loc[parameter]
            rows.append(
                {
                    **{
                        n: (v if isinstance(v, int | float | str) else str(v))
                        for n, v in assumptions.items()
                    },
                    "parameter": parameter,
                    **{
                        c: row[c]
                        for c in (
                            "estimate",
                            "lower",
                            "upper",
                            "lower_identified",
                            "upper_identified",
                            "nuisance_at_bound",
                            "identified",
                        )
                    },
                    "loglik": result.loglik_,
                    "dof": result.dof_,
                    "figure_ids": ";".join(problem.all_figure_ids),
                    **{f"est_{k}": float(v) for k, v in result.params_.items()},
                }
            )
    return pd.DataFrame(rows)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample: the smallest value whose weighted CDF reaches ``q``
    (``numpy.quantile(..., method="inverted_cdf")`` of the sample repeated by weight)."""
    order = np.argsort(values)
    v, w = np.asarray(values)[order], np.asarray(weights)[order]
    cdf = np.cumsum(w) / w.sum()
    index = np.searchsorted(cdf, np.asarray(q, dtype=float) - 1e-12, side="left")
    return v[np.minimum(index, v.size - 1)]


def crest_importance_sampling(
    n_draws: int = 20_000,
    seed: int | np.random.Generator | None = None,
    window_days: tuple[float, float] = (30.0, 730.0),
    delay_days: tuple[float, float] = (0.5, 30.0),
    processed: str | Path | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Prior and posterior of the CREST scenario's re-creation probability.

    Priors: re-creation probability uniform on (0, 0.999); window and mean delay log-uniform
    on the given ranges (the sources do not state them); creation rate and the two mean
    lifetimes log-uniform (improper, scale-free).  The removal on each action day is the
    posts-drop proxy.  Two properties of the mean field make the posterior exact up to Monte
    Carlo error with plain importance sampling:

    * the mean lifetimes enter the lifespan anchors only, as the mean of ``n`` exponential
      lifetimes: under the log-uniform prior their posterior is inverse-gamma
      ``(n, n * mean)``, sampled directly;
    * expected new channels are linear in the creation rate, so with its log-uniform prior
      the rate integrates out of the two Poisson counts, leaving the binomial likelihood
      ``p^n18 (1-p)^n19`` of the share ``p`` of new channels that came after 2018.

    Returns
    -------
    draws, summary
        ``draws``: one row per draw with ``recreation_probability``, ``window_days``,
        ``recreation_delay_mean_days``, ``mean_lifetime_2018_days``,
        ``mean_lifetime_2019_days`` and ``weight`` (normalised; the prior is the unweighted
        sample).  ``summary``: effective sample size and prior / posterior median and 90 %
        interval of the re-creation probability, and the anchors' figure ids.
    """
    rng = np.random.default_rng(seed)
    figs = anchor_figures(
        [
            "crest_new_channels_2018",
            "crest_new_channels_2019",
            "crest_mean_lifespan_2018",
            "crest_mean_lifespan_2019",
        ],
        processed,
    )
    proxy = crest_removal_proxy(processed)
    n18 = int(figs["crest_new_channels_2018"].value)
    n19 = int(figs["crest_new_channels_2019"].value)
    life18 = figs["crest_mean_lifespan_2018"].value
    life19 = figs["crest_mean_lifespan_2019"].value

    def log_uniform(lo: float, hi: float) -> np.ndarray:
        return np.exp(rng.uniform(np.log(lo), np.log(hi), n_draws))

    draws = pd.DataFrame(
        {
            "recreation_probability": rng.uniform(0.0, 0.999, n_draws),
            "window_days": np.round(log_uniform(*window_days)),
            "recreation_delay_mean_days": log_uniform(*delay_days),
            "mean_lifetime_2018_days": n18 * life18 / rng.gamma(n18, 1.0, n_draws),
            "mean_lifetime_2019_days": n19 * life19 / rng.gamma(n19, 1.0, n_draws),
        }
    )
    # the 2019 cohort outliving the 2018 one has no extra hazard: keep the prior's support
    shares = {
        year: min(abs(f.value) / 100.0, 0.999)
        for year, f in zip(("2018", "2019"), proxy.values(), strict=True)
    }
    params = {c: draws[c].to_numpy() for c in draws}
    params.update(
        creation_rate_per_day=np.ones(n_draws),
        removed_2018=shares["2018"],
        removed_2019=shares["2019"],
    )
    pred = crest_predict(params)
    c18, c19 = np.asarray(pred["new_2018"]), np.asarray(pred["new_2019"])
    if np.any(~np.isfinite(c18)) or np.any(~np.isfinite(c19)):
        raise ModelError("non-finite mean field in the CREST importance sampler")
    p = c18 / (c18 + c19)
    logw = n18 * np.log(p) + n19 * np.log1p(-p)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    draws["weight"] = w
    rho = draws["recreation_probability"].to_numpy()
    prior_q = np.quantile(rho, [0.05, 0.5, 0.95])
    post_q = weighted_quantiles(rho, w, [0.05, 0.5, 0.95])
    summary = {
        "n_draws": float(n_draws),
        "effective_sample_size": float(1.0 / np.sum(w**2)),
        "prior_median": float(prior_q[1]),
        "prior_q05": float(prior_q[0]),
        "prior_q95": float(prior_q[2]),
        "posterior_median": float(post_q[1]),
        "posterior_q05": float(post_q[0]),
        "posterior_q95": float(post_q[2]),
        "figure_ids": ";".join(
            [*(f.figure_id for f in figs.values()), *(f.figure_id for f in proxy.values())]
        ),
    }
    return draws, summary


def days_to_recover(
    mean_lifetime_days: float,
    recreation_probability: float,
    recreation_delay_mean_days: float,
    purge_fraction: float,
    share_of_drop: float = 0.9,
    horizon_days: float = 36_500.0,
) -> float:
    """Days after a one-day purge until the expected count has recovered a share of the drop.

    The one definition used throughout notebook 05: the purge removes ``purge_fraction`` of
    the active channels on its day (extra hazard ``-ln(1 - f)`` for one day, on top of the
    baseline), the drop is from the level at the purge's start to the level at its end, and
    the answer is the time from the end of the purge until the expected count is back at
    ``trough + share_of_drop * (pre - trough)`` (as
    :func:`analysis.summaries.expected_recovery_times`).  It does not depend on the creation
    rate (the mean field is linear in it).  NaN when not reached within ``horizon_days``.
    """
    lam, mu0, rho = 1.0, 1.0 / mean_lifetime_days, recreation_probability
    rate = 1.0 / recreation_delay_mean_days
    x0 = equilibrium_one(lam, mu0, rho, rate)
    x1 = step_one(x0, lam, mu0 - np.log1p(-purge_fraction), rho, rate, 1.0)
    target = x1[0] + share_of_drop * (x0[0] - x1[0])

    def gap(t: float) -> float:
        return step_one(x1, lam, mu0, rho, rate, t)[0] - target

    if gap(horizon_days) < 0:
        return float("nan")
    return float(optimize.brentq(gap, 0.0, horizon_days, xtol=1e-6))
