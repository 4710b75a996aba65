"""Slow validation: 95 % intervals cover the truth in 93-97 % of 400 seeded simulations.

Synthetic data only (see :mod:`analysis.models._coverage`).  Run with ``make test-slow`` or
``pytest -m slow tests/models/test_survival_coverage.py``.
"""

from __future__ import annotations

import pytest

from analysis.models._coverage import coverage


@pytest.mark.slow
def test_ci_coverage_400_simulations() -> None:
    table = coverage(n_sim=400, seed=2024)
    for quantity, row in table.iterrows():
        assert 0.93 <= row["coverage"] <= 0.97, (quantity, row["coverage"])
