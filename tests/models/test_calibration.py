"""Calibration routine on synthetic anchors with known truth (no public numbers here)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.models.calibration import Anchor, CalibrationProblem, calibrate
from analysis.models.catmouse import CatMouseModel, Crackdown


def _predict(p):
    model = CatMouseModel(
        creation_rate_per_day=p["creation_rate_per_day"],
        ban_hazard_per_day=1.0 / p["mean_lifetime_days"],
        crackdowns=(Crackdown(3.0, 1.0, p["extra_hazard_per_day"]),),
    )
    mf = model.mean_field(5, method="expm")
    return {
        "baseline_bans": float(mf["bans_per_day"].iloc[0]),
        "crackdown_bans": float(mf["bans_per_day"].iloc[3]),
        "active": model.equilibrium_active(),
    }


TRUTH = {"creation_rate_per_day": 300.0, "mean_lifetime_days": 40.0, "extra_hazard_per_day": 0.5}


def _problem(with_population: bool) -> CalibrationProblem:
    pred = _predict(TRUTH)
    anchors = [
        Anchor("baseline", "baseline_bans", pred["baseline_bans"], "lognormal", sd_log=0.05),
        Anchor("crackdown", "crackdown_bans", pred["crackdown_bans"], "lognormal", sd_log=0.05),
    ]
    if with_population:
        anchors.append(Anchor("population", "active", pred["active"], "lognormal", sd_log=0.05))
    return CalibrationProblem(
        name="synthetic",
        anchors=anchors,
        predict=_predict,
        free={
            "creation_rate_per_day": (100.0, 1.0, 5000.0),
            "mean_lifetime_days": (10.0, 1.0, 2000.0),
            "extra_hazard_per_day": (0.1, 1e-3, 20.0),
        },
    )


def test_recovers_truth_with_profile_intervals():
    res = calibrate(_problem(True), profile_points=13)
    for name, value in TRUTH.items():
        row = res.summary.loc[name]
        assert row["estimate"] == pytest.approx(value, rel=1e-3)
        assert row["lower"] < value < row["upper"]
        assert row["lower_identified"] and row["upper_identified"]


def test_flags_unidentified_direction():
    # without a population anchor the mean lifetime is bounded below (the crackdown removed
    # that many channels) but not above
    res = calibrate(_problem(False), profile_points=13)
    row = res.summary.loc["mean_lifetime_days"]
    assert not row["upper_identified"]
    assert row["upper"] == pytest.approx(2000.0)


def test_anchor_likelihoods():
    a = Anchor.from_range("r", "k", 200, 300)
    assert a.observed == pytest.approx(np.sqrt(200 * 300))
    assert a.loglik(a.observed) > a.loglik(300)
    low = Anchor("at least", "k", 100, "at_least", sd_log=0.05)
    assert low.loglik(200) > -1e-6 and low.loglik(50) < -50
    life = Anchor("life", "k", 14.0, "mean_lifetime", n=10)
    grid = np.linspace(5, 40, 701)
    assert grid[np.argmax([life.loglik(g) for g in grid])] == pytest.approx(14.0, abs=0.05)
