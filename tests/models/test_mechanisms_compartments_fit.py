"""Two-compartment fit from both platforms' daily counts (synthetic data with known truth)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ModelError, TakedownWarning, UnidentifiedWarning
from analysis.models.catmouse import Crackdown
from analysis.models.mechanisms.compartments_fit import fit_two_compartments
from analysis.models.mechanisms.model import MechanismModel

CDS = (Crackdown.removing_fraction(40, 0.9),)
TRUTH = {
    "creation_rate_per_day": 15.0,
    "ban_hazard_per_day": 0.1,
    "recreation_probability": 0.5,
    "migration_probability": 0.25,
    "other_end_hazard_per_day": 0.03,
    "return_rate_per_day": 0.04,
    "initial_active": 450.0,
    "initial_other_active": 150.0,
}


def _truth() -> MechanismModel:
    return MechanismModel(
        15.0,
        0.1,
        recreation_probability=0.5,
        recreation_delay_mean_days=2.0,
        migration_probability=0.25,
        other_end_hazard_per_day=0.03,
        return_rate_per_day=0.04,
        crackdowns=CDS,
        initial_state={"active": 450, "other_active": 150},
    )


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return _truth().simulate(120, seed=3).daily


def test_fit_recovers_the_truth_from_both_platforms(simulated) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnidentifiedWarning)
        fit = fit_two_compartments(simulated, crackdowns=CDS)
    s = fit.summary
    assert s["identified"].all()
    for name, value in TRUTH.items():
        assert s.loc[name, "estimate"] == pytest.approx(value, rel=0.2), name
    # the fitted mean field at the estimate reproduces the data's totals
    for col in ("bans", "migrations"):
        assert fit.fitted_[col].sum() == pytest.approx(simulated[col].sum(), rel=0.05)


def test_one_platform_alone_leaves_migration_unidentified(simulated) -> None:
    only_monitored = simulated[["day", "active", "bans", "creations"]]
    with pytest.warns(UnidentifiedWarning, match="not identified"):
        fit = fit_two_compartments(
            only_monitored,
            crackdowns=CDS,
            initial_state="free",
            fixed={"initial_other_active": 150.0},
        )
    assert not fit.summary.loc[
        ["migration_probability", "other_end_hazard_per_day", "return_rate_per_day"], "identified"
    ].all()


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"day": [0, 2], "active": [1, 2]}), "without gaps"),
        (pd.DataFrame({"day": [0, 1], "active": [1, -2]}), "row 1, column 'active'"),
        (pd.DataFrame({"day": [0, 1], "posts": [1, 2]}), "none of the series"),
    ],
)
def test_bad_data_raise(frame, match) -> None:
    with pytest.raises(ModelError, match=match):
        fit_two_compartments(frame)


@pytest.mark.slow
def test_fit_estimates_are_unbiased_over_replications() -> None:
    """Mean of 20 fits within 3 Monte Carlo standard errors of the truth (or 3 % of it)."""
    rng = np.random.default_rng(12)
    model = _truth()
    estimates = {k: [] for k in TRUTH}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TakedownWarning)  # intervals not used here
        for _ in range(20):
            s = fit_two_compartments(model.simulate(120, seed=rng).daily, crackdowns=CDS).summary
            for k in TRUTH:
                estimates[k].append(s.loc[k, "estimate"])
    for k, v in TRUTH.items():
        values = np.asarray(estimates[k])
        mc_se = values.std(ddof=1) / np.sqrt(values.size)
        assert abs(values.mean() - v) < max(3 * mc_se, 0.03 * v), k
