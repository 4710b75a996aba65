"""Coverage of the competing-risks intervals in seeded simulation (synthetic data).

Fast versions (few replications, loose band) run in the normal suite; the slow versions
(400 replications, 93-97 %) run with ``pytest -m slow tests/models/test_competing_coverage.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from _cr_sim import aj_truth, fine_gray_data, two_causes

from analysis.models.competing import AalenJohansen, FineGray


def aj_coverage(n_sim: int, n_obs: int = 200, seed: int = 160, entry_max: float = 10.0) -> float:
    """Share of 95 % Aalen-Johansen intervals at day 30 covering the closed-form truth."""
    rng = np.random.default_rng(seed)
    truth = aj_truth(30.0)
    hits = []
    for _ in range(n_sim):
        t, cause, entry = two_causes(rng, n_obs, cens_max=80.0, entry_max=entry_max)
        ci = AalenJohansen().fit(t, cause, entry=entry).confidence_interval(1)
        row = ci.iloc[np.searchsorted(ci.index, 30.0, side="right") - 1]
        hits.append(row["ci_lower"] <= truth <= row["ci_upper"])
    return float(np.mean(hits))


def fg_coverage(n_sim: int, n_obs: int = 300, seed: int = 161) -> float:
    """Share of 95 % Fine-Gray (robust) intervals covering the true log SHR 0.5."""
    rng = np.random.default_rng(seed)
    hits = []
    for _ in range(n_sim):
        df = fine_gray_data(rng, n_obs)
        s = FineGray().fit(df, "t", "cause", 1, covariates=["z"]).summary.loc["z"]
        hits.append(s["ci_lower"] <= 0.5 <= s["ci_upper"])
    return float(np.mean(hits))


def test_aalen_johansen_coverage_fast() -> None:
    assert 0.85 <= aj_coverage(60) <= 1.0


def test_fine_gray_coverage_fast() -> None:
    assert 0.85 <= fg_coverage(40) <= 1.0


@pytest.mark.slow
def test_aalen_johansen_coverage_400() -> None:
    cov = aj_coverage(400)
    assert 0.93 <= cov <= 0.97, cov


@pytest.mark.slow
def test_fine_gray_coverage_400() -> None:
    cov = fg_coverage(400)
    assert 0.93 <= cov <= 0.97, cov
