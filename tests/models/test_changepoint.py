"""PELT with a Poisson cost: exact against brute force, finds simulated pulses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from analysis.models.changepoint import (
    PoissonChangepoints,
    match_changepoints,
    optimal_partitioning,
    pelt_poisson,
    segmentation_cost,
)


def _brute_force(y, pen, min_size):
    n = y.size
    best = None
    for k in range(n):
        for cps in itertools.combinations(range(1, n), k):
            edges = np.concatenate([[0], cps, [n]])
            if np.diff(edges).min() < min_size:
                continue
            c = segmentation_cost(y, cps, pen)
            if best is None or c < best:
                best = c
    return best


@pytest.mark.parametrize("min_size", [1, 2, 3])
def test_pelt_exact_against_brute_force(min_size):
    rng = np.random.default_rng(min_size)
    for trial in range(60):
        n = int(rng.integers(2 * min_size, 11))
        y = rng.poisson(rng.choice([1, 5, 20], size=n))
        pen = [1.0, 3.0, "bic"][trial % 3]
        best = _brute_force(y, pen, min_size)
        assert segmentation_cost(y, pelt_poisson(y, pen, min_size), pen) == pytest.approx(best)
        assert segmentation_cost(y, optimal_partitioning(y, pen, min_size), pen) == pytest.approx(best)


def test_pelt_equals_optimal_partitioning_on_longer_series():
    rng = np.random.default_rng(7)
    y = rng.poisson(np.repeat([5.0, 9.0, 4.0, 12.0], 50))
    np.testing.assert_array_equal(pelt_poisson(y), optimal_partitioning(y))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pulses_found_within_two_days(seed):
    rng = np.random.default_rng(seed)
    y = rng.poisson(250, size=600).astype(float)
    y[100:102] = rng.poisson(2500, 2)
    y[300:303] = rng.poisson(1500, 3)
    y[450:] = rng.poisson(60, 150)
    truth = [100, 102, 300, 303, 450]
    fit = PoissonChangepoints().fit(y)
    score = match_changepoints(fit.changepoints_, truth, tolerance_days=2)
    assert score["recall"] == 1.0 and score["max_distance"] <= 2.0
    assert score["precision"] >= 0.8  # at most a stray split inside a pulse
    assert fit.segments_["n_days"].sum() == 600


def test_no_changepoint_in_constant_series():
    y = np.random.default_rng(9).poisson(40, size=400)
    assert pelt_poisson(y).size == 0
