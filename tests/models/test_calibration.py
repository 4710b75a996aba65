"""Calibration: known-truth recovery, identification flags, anchors read from the dataset.

No published number is an expected value here: synthetic anchors come from the scenario's
own prediction at a stated truth, the mean field is checked against the independent
``CatMouseModel`` implementation, and the dataset test edits a figure in a copy of
``data/raw`` and checks the calibration moves with it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from analysis import paths
from analysis.errors import UnidentifiedWarning
from analysis.models.calibration import Anchor, CalibrationProblem, calibrate
from analysis.models.calibration_anchors import (
    ANCHOR_FIGURE_IDS,
    AnchorNotFoundError,
    anchor_figure,
)
from analysis.models.calibration_meanfield import MeanFieldBatch, equilibrium_one, step_one
from analysis.models.calibration_scenarios import (
    crest_predict,
    telegram_nov2019_problem,
    telegram_predict,
    twitter_april2015_problem,
)
from analysis.models.catmouse import CatMouseModel, Crackdown

MODELS = Path(__file__).resolve().parents[2] / "src" / "analysis" / "models"


# --------------------------------------------------------------------------- mean field
def test_vectorised_mean_field_matches_catmouse_model():
    lam, mu0, rho, delay = 12.0, 0.05, 0.6, 3.0
    model = CatMouseModel(
        lam, mu0, rho, delay, crackdowns=(Crackdown(2.0, 1.0, 1.5), Crackdown(3.0, 10.0, 0.2))
    )
    expected = model.mean_field(14, method="ode")
    mf = MeanFieldBatch([lam, lam], [mu0, mu0], [rho, rho], [delay, delay])
    x = mf.equilibrium()
    hazards = [0.0, 0.0, 1.5] + [0.2] * 10 + [0.0]
    bans, active = [], []
    for extra in hazards:
        new = mf.propagate(x, extra, 1.0)
        bans.append(new[0, 2] - x[0, 2])
        active.append(new[0, 0])
        x = new
    np.testing.assert_allclose(bans, expected["bans_per_day"], rtol=1e-6)
    np.testing.assert_allclose(active, expected["active"], rtol=1e-6)
    # closed form == batched matrix exponential == plain-float step, long and short steps
    x0 = mf.equilibrium()
    for extra, dt in [(0.0, 365.0), (4.0, 1.0), (0.01, 0.5)]:
        a = mf.propagate(x0, extra, dt)
        b = mf.propagate(x0, extra, dt, method="expm")
        c = step_one(
            equilibrium_one(lam, mu0, rho, 1 / delay), lam, mu0 + extra, rho, 1 / delay, dt
        )
        np.testing.assert_allclose(a, b, rtol=1e-9)
        np.testing.assert_allclose(a[0, :4], c, rtol=1e-9)


# --------------------------------------------------------------------------- known truth
TRUTH = {
    "baseline_bans_per_day": 300.0,
    "hazard_ratio_day1": 6.0,
    "hazard_ratio_day2": 4.0,
    "mean_lifetime_days": 150.0,
}
FIXED = {"recreation_probability": 0.0, "recreation_delay_mean_days": 1.0}


def _telegram_like(sd_log: float = 0.02) -> CalibrationProblem:
    pred = telegram_predict({**TRUTH, **FIXED})
    anchors = [
        Anchor(k, k, float(pred[k]), "lognormal", sd_log=sd_log)
        for k in ("baseline_bans", "bans_day1", "bans_day2")
    ]
    return CalibrationProblem(
        "synthetic",
        anchors,
        telegram_predict,
        free={
            "baseline_bans_per_day": (100.0, 10.0, 5000.0),
            "hazard_ratio_day1": (3.0, 1.001, 1e3),
            "hazard_ratio_day2": (3.0, 1.001, 1e3),
            "mean_lifetime_days": (50.0, 2.0, 20_000.0),
        },
        fixed=FIXED,
    )


def test_identified_combination_recovered_and_unidentified_direction_flagged():
    with pytest.warns(UnidentifiedWarning, match="mean_lifetime_days"):
        res = calibrate(_telegram_like(), profile_points=9)
    s = res.summary
    assert res.dof_ == -1
    # the baseline flow is identified and recovered
    assert s.loc["baseline_bans_per_day", "estimate"] == pytest.approx(300.0, rel=1e-3)
    assert s.loc["baseline_bans_per_day", "identified"]
    # so is the first day's hazard ratio: bounded on both sides, truth inside
    row = s.loc["hazard_ratio_day1"]
    assert row["lower_identified"] and row["upper_identified"]
    assert row["lower"] < TRUTH["hazard_ratio_day1"] < row["upper"]
    # the lifetime is bounded below only (two days of bans need that many channels)
    life = s.loc["mean_lifetime_days"]
    assert life["lower_identified"] and not life["upper_identified"]
    assert life["lower"] < TRUTH["mean_lifetime_days"]
    assert life["upper"] == pytest.approx(20_000.0) and not life["identified"]


def _product_problem() -> CalibrationProblem:
    """y = a * b observed; the interval of ``a`` is cut only by ``b``'s search bounds."""
    return CalibrationProblem(
        "toy",
        [Anchor("y", "y", 5.0, "lognormal", sd_log=0.1)],
        lambda p: {"y": p["a"] * p["b"]},
        free={"a": (5.0, 1.0, 100.0), "b": (1.0, 0.1, 2.0)},
    )


def test_nuisance_at_bound_is_flagged():
    with pytest.warns(UnidentifiedWarning, match="nuisance"):
        res = calibrate(_product_problem(), profile_points=15)
    row = res.summary.loc["a"]
    # bounded on both sides, but only because b hits its bounds (2 below, 0.1 above)
    assert row["lower_identified"] and row["upper_identified"]
    assert row["nuisance_at_bound"] == "b" and not row["identified"]
    assert row["lower"] == pytest.approx(5.0 / 2.0 * np.exp(-1.959964 * 0.1), rel=0.02)
    assert row["upper"] == pytest.approx(5.0 / 0.1 * np.exp(1.959964 * 0.1), rel=0.02)


def test_anchor_likelihoods_match_scipy():
    a = Anchor.from_range("r", "k", 200, 300)
    assert a.observed == pytest.approx(np.sqrt(200 * 300))
    assert a.sd_log == pytest.approx(np.log(1.5) / (2 * stats.norm.ppf(0.975)))
    assert a.loglik(270.0) == pytest.approx(
        stats.norm.logpdf(np.log(a.observed), np.log(270.0), a.sd_log)
    )
    assert Anchor("c", "k", 12, "poisson").loglik(9.5) == pytest.approx(
        stats.poisson.logpmf(12, 9.5)
    )
    low = Anchor("at least", "k", 100, "at_least", sd_log=0.05)
    assert low.loglik(120.0) == pytest.approx(stats.norm.logcdf(np.log(1.2) / 0.05))
    life = Anchor("life", "k", 14.0, "mean_lifetime", n=10)
    grid = np.linspace(5, 40, 701)
    assert grid[np.argmax([life.loglik(g) for g in grid])] == pytest.approx(14.0, abs=0.05)


def test_creation_rate_integrates_out_to_a_binomial():
    """The importance sampler's weight: Poisson counts with a log-uniform creation rate."""
    params = {
        "creation_rate_per_day": 1.0,
        "mean_lifetime_2018_days": 300.0,
        "mean_lifetime_2019_days": 15.0,
        "recreation_probability": 0.8,
        "recreation_delay_mean_days": 3.0,
        "window_days": 200.0,
        "removed_2018": 0.1,
        "removed_2019": 0.9,
    }
    pred = crest_predict(params)
    c18, c19 = pred["new_2018"], pred["new_2019"]
    doubled = crest_predict({**params, "creation_rate_per_day": 2.0})
    assert doubled["new_2019"] == pytest.approx(2 * c19, rel=1e-12)  # linear in the rate

    def marginal(c18: float, c19: float, n18: int = 12, n19: int = 105) -> float:
        def f(lam: float) -> float:
            return stats.poisson.pmf(n18, lam * c18) * stats.poisson.pmf(n19, lam * c19) / lam

        scale = (n18 + n19) / (c18 + c19)  # integrand's mass sits near here
        return integrate.quad(f, 0, 20 * scale, points=[scale], limit=200)[0]

    other = crest_predict({**params, "recreation_probability": 0.3, "window_days": 40.0})
    p, q = c18 / (c18 + c19), other["new_2018"] / (other["new_2018"] + other["new_2019"])
    ratio = marginal(c18, c19) / marginal(other["new_2018"], other["new_2019"])
    assert ratio == pytest.approx((p / q) ** 12 * ((1 - p) / (1 - q)) ** 105, rel=1e-5)


# --------------------------------------------------------------------------- the dataset
def test_no_anchor_constants_in_the_calibration_code():
    published = [
        "2096",
        "2,096",
        "2_096",
        "2959",
        "2,959",
        "302",
        "105",
        "10_000",
        "10000",
        "46_000",
        "70_000",
        "0.955",
        "95.5",
        "15_000",
        "18_000",
        "2_000",
    ]
    for path in MODELS.glob("calibration*.py"):
        code = path.read_text(encoding="utf-8")
        for number in published:
            assert not re.search(rf"(?<![\w.]){re.escape(number)}(?![\w])", code), (path, number)


def test_anchors_name_their_figure_ids():
    fig = anchor_figure(ANCHOR_FIGURE_IDS["telegram_bans_day1"])
    assert fig.figure_id == "TG22" and fig.url.startswith("http") and fig.quote
    problem = telegram_nov2019_problem()
    assert problem.figure_ids == ["TG24", "TG22", "TG23"]
    # inputs read from the dataset are listed too (the population is not an anchor)
    twitter = twitter_april2015_problem()
    assert [a.figure_ids for a in twitter.anchors] == [("ST05-suspended",), ("ST05-created",)]
    assert twitter.all_figure_ids[2:] == ["ST01-population", "ST02-population-max"]
    low, high = (anchor_figure(i).value for i in twitter.all_figure_ids[2:])
    assert twitter.fixed["population"] == pytest.approx(np.sqrt(low * high))
    with pytest.raises(AnchorNotFoundError, match="NO-SUCH-ID"):
        anchor_figure("NO-SUCH-ID")


def test_editing_a_raw_figure_moves_the_calibration(tmp_path: Path):
    from analysis.etl.write import run_etl

    raw = tmp_path / "raw"
    shutil.copytree(paths.raw_dir(), raw)
    figures = raw / "telegram_isiswatch" / "figures.csv"
    lines = figures.read_text(encoding="utf-8").splitlines(keepends=True)
    (k,) = [i for i, line in enumerate(lines) if line.startswith("TG22,")]
    lines[k] = lines[k].replace("2,096", "4,192")
    figures.write_text("".join(lines), encoding="utf-8")
    run_etl(raw, tmp_path / "processed")

    def ratio(processed: Path | None) -> tuple[float, float]:
        problem = telegram_nov2019_problem(processed=processed)
        res = calibrate(problem, profile=[], warn=False)
        return float(res.params_["hazard_ratio_day1"]), float(res.anchors["observed"].iloc[1])

    before, observed_before = ratio(None)
    after, observed_after = ratio(tmp_path / "processed")
    assert observed_after == 4192.0 and observed_before != observed_after
    assert after / before == pytest.approx(2.0, rel=0.1)  # twice the bans: twice the ratio
