"""Coverage of the Cox intervals in seeded simulation (synthetic data).

Fast versions run in the normal suite; the 200-800-replication versions (93-97 %) with
``pytest -m slow tests/models/test_cox_coverage.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from _cox_sim import WINDOWS, clustered_table, crackdown_table

from analysis.models.counting_process import split_at_windows
from analysis.models.cox import CoxPH


def crackdown_coverage(n_sim: int, n_obs: int = 400, seed: int = 162) -> float:
    """Model-based 95 % interval of the crackdown log hazard ratio (truth 0.7)."""
    rng = np.random.default_rng(seed)
    hits = []
    for _ in range(n_sim):
        sp = split_at_windows(crackdown_table(rng, n_obs, log_hr=0.7), WINDOWS)
        s = CoxPH().fit(sp, "stop_days", "event", ["crackdown"], entry_col="start_days")
        row = s.summary.loc["crackdown"]
        hits.append(row["ci_lower"] <= 0.7 <= row["ci_upper"])
    return float(np.mean(hits))


def cluster_coverage(n_sim: int, n_families: int = 150, seed: int = 163) -> dict[str, float]:
    """Robust (by lineage) vs model-based 95 % intervals of the marginal platform effect."""
    rng = np.random.default_rng(seed)
    truth = 0.6 * 0.8
    hits: dict[str, list[bool]] = {"robust": [], "naive": []}
    for _ in range(n_sim):
        df = clustered_table(rng, n_families)
        for kind, cluster in (("robust", "family"), ("naive", None)):
            m = CoxPH(ties="breslow").fit(
                df, "stop", "event", ["platform", "x"], cluster_col=cluster
            )
            row = m.summary.loc["platform"]
            hits[kind].append(row["ci_lower"] <= truth <= row["ci_upper"])
    return {k: float(np.mean(v)) for k, v in hits.items()}


def test_crackdown_coverage_fast() -> None:
    assert 0.85 <= crackdown_coverage(30) <= 1.0


def test_cluster_robust_coverage_fast() -> None:
    cov = cluster_coverage(30)
    assert 0.83 <= cov["robust"] <= 1.0
    assert cov["naive"] < cov["robust"]


@pytest.mark.slow
def test_crackdown_coverage_800() -> None:
    # 800 replications: Monte Carlo s.e. 0.008 (200 gave 0.97, 400 0.975 at this seed; other
    # seeds 0.935 and 0.955 at 400)
    cov = crackdown_coverage(800)
    assert 0.93 <= cov <= 0.97, cov


@pytest.mark.slow
def test_cluster_robust_coverage_200() -> None:
    cov = cluster_coverage(200)
    assert 0.93 <= cov["robust"] <= 0.97, cov
    assert cov["naive"] < 0.90, cov  # ignoring the lineages under-covers
