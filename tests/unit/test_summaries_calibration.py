"""Notebook-05 calibration summaries: rounding to the interval, identified-only reporting,
recovery times with one definition (checked against the CatMouseModel implementation)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis import summaries
from analysis.models.calibration_sensitivity import days_to_recover, weighted_quantiles
from analysis.models.catmouse import CatMouseModel, Crackdown


@pytest.mark.parametrize(
    ("value", "lower", "upper", "text"),
    [
        (0.934567, 0.8264, 0.9965, "0.93"),  # half-width 0.06: two digits
        (8.7155, 6.4133, 15.2051, "8.7"),
        (244.949, 199.94, 300.06, "240"),  # never more than two significant digits
        (14.0, 11.64, 17.04, "14"),
        (1234.5, np.nan, np.nan, "1,200"),  # no interval: two significant digits
    ],
)
def test_round_to_interval(value, lower, upper, text):
    assert summaries.round_to_interval(value, lower, upper) == text


def test_rounded_interval():
    assert summaries.rounded_interval(0.934567, 0.826382, 0.9965, True, True) == (0.93, 0.83, 1.0)
    assert summaries.rounded_interval(8.71548, 6.41326, 15.2051, True, True) == (8.7, 6.4, 15.2)
    # an unbounded side is a search limit: two significant digits, no false precision
    assert summaries.rounded_interval(209.081, 14.099, 50_000.0, True, False)[2] == 50_000.0


def _result() -> SimpleNamespace:
    summary = pd.DataFrame(
        [
            {
                "parameter": "hazard_ratio_day1",
                "estimate": 8.7155,
                "lower": 6.4133,
                "upper": 15.2051,
                "lower_identified": True,
                "upper_identified": True,
                "nuisance_at_bound": "",
                "identified": True,
                "search_lower": 1.001,
                "search_upper": 1e4,
            },
            {
                "parameter": "mean_lifetime_days",
                "estimate": 209.081,
                "lower": 14.099,
                "upper": 50_000.0,
                "lower_identified": True,
                "upper_identified": False,
                "nuisance_at_bound": "",
                "identified": False,
                "search_lower": 2.0,
                "search_upper": 50_000.0,
            },
            {
                "parameter": "hazard_ratio_day2",
                "estimate": 12.9,
                "lower": 9.08,
                "upper": 1e4,
                "lower_identified": True,
                "upper_identified": False,
                "nuisance_at_bound": "mean_lifetime_days",
                "identified": False,
                "search_lower": 1.001,
                "search_upper": 1e4,
            },
        ]
    ).set_index("parameter")
    problem = SimpleNamespace(figure_ids=["TG24", "TG22", "TG23"])
    return SimpleNamespace(summary=summary, problem=problem, dof_=-1)


def test_calibration_table_prints_estimates_only_where_identified():
    table = summaries.calibration_table({"telegram_nov2019": _result()}).set_index("parameter")
    assert table.loc["hazard_ratio_day1", "estimate_text"] == "8.7"
    assert table.loc["hazard_ratio_day1", "interval"] == "6.4 to 15.2"
    assert table.loc["mean_lifetime_days", "estimate_text"] == "not identified"
    assert table.loc["mean_lifetime_days", "interval"].endswith("≥ 50,000")
    assert table.loc["hazard_ratio_day2", "nuisance_at_bound"] == "mean_lifetime_days"
    assert table.loc["hazard_ratio_day2", "estimate_text"] == "not identified"
    assert (table["figure_ids"] == "TG24;TG22;TG23").all() and (table["dof"] == -1).all()
    assert "209.081" not in table.to_string(columns=["estimate_text", "interval"])


@pytest.mark.parametrize(("rho", "delay"), [(0.0, 1.0), (0.6, 2.0), (0.93, 30.0)])
def test_days_to_recover_matches_catmouse_model(rho, delay):
    model = CatMouseModel(
        5.0, 1 / 40.0, rho, delay, crackdowns=(Crackdown.removing_fraction(0.0, 0.9),)
    )
    expected = summaries.expected_recovery_times(model)
    for q in (0.5, 0.9):
        ours = days_to_recover(40.0, rho, delay, 0.9, q)
        assert ours == pytest.approx(
            expected[f"days_to_recover_{round(100 * q)}pct_of_drop"], rel=1e-5
        )


def test_days_to_recover_without_recreation_is_exponential():
    # no re-creation: the gap to equilibrium decays as exp(-mu t) after the purge day
    assert days_to_recover(50.0, 0.0, 1.0, 0.8, 0.5) == pytest.approx(50.0 * np.log(2), rel=1e-6)


def test_crest_grid_recovery_skips_unidentified_points():
    grid = pd.DataFrame(
        {
            "parameter": ["recreation_probability"] * 2,
            "identified": [True, False],
            "est_mean_lifetime_2018_days": [300.0, 300.0],
            "est_recreation_probability": [0.5, 0.999],
            "est_recreation_delay_mean_days": [3.0, 3.0],
        }
    )
    out = summaries.crest_grid_recovery(grid, 0.9)
    assert out.loc[0, "days_to_recover_90pct_of_drop"] == pytest.approx(
        days_to_recover(300.0, 0.5, 3.0, 0.9, 0.9)
    )
    assert np.isnan(out.loc[1, "days_to_recover_50pct_of_drop"])


def test_weighted_quantiles_against_repeated_sample():
    rng = np.random.default_rng(5)
    values = rng.normal(size=40)
    counts = rng.integers(0, 5, size=40)
    q = [0.05, 0.3, 0.5, 0.9, 0.95]
    expected = np.quantile(np.repeat(values, counts), q, method="inverted_cdf")
    np.testing.assert_allclose(weighted_quantiles(values, counts / counts.sum(), q), expected)
