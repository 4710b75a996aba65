"""analysis.evidence: study results turned into points, lifetimes and re-creation ratios."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import evidence


def _row(figure_id: str, metric: str, value: float, **kw: object) -> dict:
    base = {
        "figure_id": figure_id,
        "document_id": "d1",
        "study": "S",
        "platform": "twitter",
        "target": "islamic_state",
        "cohort": "c",
        "metric": metric,
        "subset": pd.NA,
        "value": value,
        "unit": "percent",
        "qualifier": "exact",
        "horizon_days": np.nan,
        "sample_size": pd.NA,
        "denominator": "cohort",
        "period_start": dt.date(2017, 2, 1),
        "period_end": dt.date(2017, 4, 30),
        "derived": False,
        "derived_from": pd.NA,
    }
    base.update(kw)
    return base


def _study(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for c in ("period_start", "period_end"):
        frame[c] = pd.to_datetime(frame[c])
    return frame


def test_points_kinds_bounds_and_sample_sizes() -> None:
    study = _study(
        [
            _row("W", "share_suspended_within", 30, qualifier="more_than", horizon_days=2.0),
            _row("S", "share_suspended", 63, horizon_days=91.3125),
            _row("P", "share_suspended", 3.4, cohort="bm", sample_size=20000),
            _row("A", "share_active_after", 50, qualifier="more_than", horizon_days=274.0),
            _row("M", "median_lifetime", 50, qualifier="less_than", unit="days"),
            _row(
                "N",
                "accounts_studied",
                722.2,
                unit="count",
                denominator=pd.NA,
                derived=True,
                derived_from="X;Y",
            ),
            _row(
                "Z",
                "share_suspended",
                77,
                period_start=dt.date(2019, 12, 3),
                period_end=dt.date(2019, 12, 3),
            ),  # no horizon, one-day period: left out
        ]
    )
    pts = evidence.removal_points(study).set_index("figure_id")
    assert set(pts.index) == {"W", "S", "P", "A", "M"}
    assert pts.loc["W", "kind"] == "within" and pts.loc["W", "bound"] == "lower"
    assert pts.loc["W", "n"] == pytest.approx(722.2) and pts.loc["W", "n_from"] == "X;Y"
    assert pts.loc["P", "horizon_days"] == 89 and pts.loc["P", "n"] == 20000  # period length
    assert pts.loc["A", "share"] == pytest.approx(0.5) and pts.loc["A", "bound"] == "upper"
    assert pts.loc["M", "kind"] == "median" and pts.loc["M", "bound"] == "lower"
    # exact binomial interval, recomputed with the beta quantiles
    k, n = round(0.034 * 20000), 20000
    low = stats.beta.ppf(0.025, k, n - k + 1)
    high = stats.beta.ppf(0.975, k + 1, n - k)
    assert pts.loc["P", "ci_low"] == pytest.approx(low, rel=1e-6)
    assert pts.loc["P", "ci_high"] == pytest.approx(high, rel=1e-6)
    assert pts.loc["W", "era"] == "Twitter 2014-2017"


def test_recreation_ratio_and_direction() -> None:
    study = _study(
        [
            _row("C", "accounts_created", 2000, unit="count", qualifier="at_least"),
            _row("R", "accounts_suspended", 10000, unit="count"),
            _row(
                "C2",
                "accounts_created",
                21000,
                unit="count",
                period_start=dt.date(2016, 3, 1),
                period_end=dt.date(2016, 3, 31),
            ),
            _row(
                "R2",
                "accounts_suspended",
                26000,
                unit="count",
                qualifier="more_than",
                period_start=dt.date(2016, 3, 1),
                period_end=dt.date(2016, 3, 31),
            ),
        ]
    )
    pairs = evidence.recreation_pairs(study).set_index("figure_ids")
    assert pairs.loc["C;R", "ratio"] == pytest.approx(0.2)
    assert pairs.loc["C;R", "ratio_bound"] == "lower"
    assert pairs.loc["C2;R2", "ratio"] == pytest.approx(21 / 26)
    assert pairs.loc["C2;R2", "ratio_bound"] == "upper"
    assert len(pairs) == 2  # no pairing across periods


def test_fit_points_and_lifetimes() -> None:
    study = _study(
        [
            _row("W", "share_suspended_within", 30, horizon_days=2.0, sample_size=700),
            _row("S", "share_suspended", 63, horizon_days=91.0, sample_size=700),
            _row("L", "mean_lifespan", 36, unit="hours", sample_size=12, denominator=pd.NA),
        ]
    )
    pts = evidence.removal_points(study)
    table = evidence.fit_points(pts, "c")
    assert list(table["horizon_days"]) == [2.0, 91.0]
    assert list(table["share"]) == pytest.approx([0.30, 0.63])
    assert (table["n"] == 700).all()
    with pytest.raises(ValueError, match="no points"):
        evidence.fit_points(pts, "nobody")
    marks = evidence.lifetime_marks(study)
    assert marks.loc[0, "days"] == pytest.approx(1.5) and marks.loc[0, "n"] == 12


def test_era_labels() -> None:
    assert evidence.era_of("telegram", 2019) == "Telegram 2018-2020"
    assert evidence.era_of("telegram", 2024) == "telegram 2024"
