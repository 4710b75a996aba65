"""Coverage of the calibration's 95 % profile intervals with known truth (Telegram-like).

Anchors are drawn around the scenario's own prediction at a stated truth with log-normal
noise of the stated dispersion (0.1).  The baseline flow is identified by one anchor: its
interval covers at the nominal rate.  The first action day's hazard ratio is identified only
together with the mean lifetime, which the bans bound from below only; profiling over that
ridge makes its interval conservative (coverage at or above nominal), which the test states.
The fast version runs 30 replications with a loose band; ``make test-slow`` runs 200.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analysis.errors import UnidentifiedWarning
from analysis.models.calibration import Anchor, CalibrationProblem, calibrate
from analysis.models.calibration_scenarios import telegram_predict

TRUTH = {
    "baseline_bans_per_day": 300.0,
    "hazard_ratio_day1": 6.0,
    "hazard_ratio_day2": 4.0,
    "mean_lifetime_days": 150.0,
}
FIXED = {"recreation_probability": 0.0, "recreation_delay_mean_days": 1.0}
SD = 0.1


def _coverage(n: int, seed: int) -> dict[str, float]:
    pred = telegram_predict({**TRUTH, **FIXED})
    rng = np.random.default_rng(seed)
    hits = {"baseline_bans_per_day": 0, "hazard_ratio_day1": 0}
    for _ in range(n):
        anchors = [
            Anchor(k, k, float(pred[k] * np.exp(SD * rng.normal())), "lognormal", sd_log=SD)
            for k in ("baseline_bans", "bans_day1", "bans_day2")
        ]
        problem = CalibrationProblem(
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnidentifiedWarning)
            res = calibrate(problem, profile_points=9, profile=list(hits), warn=False)
        for name in hits:
            row = res.summary.loc[name]
            hits[name] += bool(row["lower"] <= TRUTH[name] <= row["upper"])
    return {k: v / n for k, v in hits.items()}


def test_profile_interval_coverage_fast():
    cov = _coverage(30, seed=3)
    assert cov["baseline_bans_per_day"] >= 0.8  # 95 % nominal; loose band for 30 runs
    assert cov["hazard_ratio_day1"] >= 0.85


@pytest.mark.slow
def test_profile_interval_coverage_200():
    cov = _coverage(200, seed=4)
    assert 0.93 <= cov["baseline_bans_per_day"] <= 0.97
    assert cov["hazard_ratio_day1"] >= 0.93  # conservative: profiled over the lifetime ridge
