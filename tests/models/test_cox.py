"""Cox regression: agreement with statsmodels PHReg and lifelines (tests only), independent
brute-force score residuals, crackdown windows as time-varying covariates (synthetic data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _cox_sim import WINDOWS, crackdown_table, daily_cox_data
from statsmodels.duration.hazard_regression import PHReg

from analysis.errors import ChannelTableError, ModelError, NoEventsError
from analysis.models.counting_process import split_at_windows
from analysis.models.cox import CoxPH

COV = ["x1", "x2"]


def _phreg(df: pd.DataFrame, ties: str, **kw):
    entry = df["start"].to_numpy()
    # PHReg counts a row at risk at its own entry time; one ulp later gives entry < t
    shifted = np.where(entry > 0, np.nextafter(entry, np.inf), entry)
    return PHReg(
        df["stop"].to_numpy(),
        df[COV].to_numpy(),
        status=df["event"].to_numpy(float),
        entry=shifted,
        ties=ties,
        **kw,
    ).fit()


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_matches_statsmodels_phreg_with_ties_and_delayed_entry(ties: str) -> None:
    df = daily_cox_data(np.random.default_rng(0), 300)
    assert df["stop"].duplicated().sum() > 200 and (df["start"] > 0).sum() > 50
    m = CoxPH(ties=ties).fit(df, "stop", "event", COV, entry_col="start")
    ref = _phreg(df, ties)
    np.testing.assert_allclose(m.params_.to_numpy(), ref.params, atol=1e-6)
    np.testing.assert_allclose(m.summary["se"].to_numpy(), ref.bse, rtol=1e-6)
    assert m.log_likelihood_ == pytest.approx(ref.llf, abs=1e-6)
    if ties == "breslow":  # PHReg reports H(t-) at each time: compare one step later
        times, bch = ref.baseline_cumulative_hazard[0][:2]
        mine = m.baseline_cumulative_hazard_.iloc[:, 0].reindex(times[:-1]).to_numpy()
        np.testing.assert_allclose(mine, bch[1:], rtol=1e-6)


def test_statsmodels_entry_convention_is_why_we_do_not_wrap_it() -> None:
    """Unshifted PHReg puts a row at risk at its own entry time: a different estimate."""
    df = daily_cox_data(np.random.default_rng(0), 300)
    raw = PHReg(
        df["stop"].to_numpy(),
        df[COV].to_numpy(),
        status=df["event"].to_numpy(float),
        entry=df["start"].to_numpy(),
    ).fit()
    m = CoxPH(ties="breslow").fit(df, "stop", "event", COV, entry_col="start")
    assert np.max(np.abs(m.params_.to_numpy() - raw.params)) > 0.01


def test_matches_lifelines_efron_entry_and_strata() -> None:
    from lifelines import CoxPHFitter

    df = daily_cox_data(np.random.default_rng(1), 400)
    m = CoxPH().fit(df, "stop", "event", COV, entry_col="start", strata_col="platform")
    ref = CoxPHFitter().fit(
        df[["stop", "event", *COV, "start", "platform"]],
        "stop",
        "event",
        entry_col="start",
        strata=["platform"],
        fit_options={"precision": 1e-12},
    )
    np.testing.assert_allclose(m.params_.to_numpy(), ref.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(
        m.summary["se"].to_numpy(), ref.standard_errors_.to_numpy(), atol=1e-6
    )
    assert m.log_likelihood_ == pytest.approx(ref.log_likelihood_, abs=1e-6)
    assert set(m.baseline_cumulative_hazard_.columns) == {0, 1}


def test_cluster_robust_matches_lifelines_without_ties() -> None:
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(2)
    df = daily_cox_data(rng, 300, entry=False)
    df["stop"] = df["stop"] - rng.uniform(0.0, 0.5, len(df))  # tie-free
    m = CoxPH().fit(df, "stop", "event", COV, cluster_col="family")
    ref = CoxPHFitter().fit(
        df[["stop", "event", *COV, "family"]],
        "stop",
        "event",
        cluster_col="family",
        fit_options={"precision": 1e-12},
    )
    np.testing.assert_allclose(
        m.summary["se"].to_numpy(), ref.standard_errors_.to_numpy(), atol=1e-6
    )


def _breslow_residuals_bruteforce(df: pd.DataFrame, beta: np.ndarray) -> np.ndarray:
    """Score residuals by direct sums over event times (Breslow, entry < t <= stop)."""
    x = df[COV].to_numpy()
    x = x - x.mean(axis=0)
    y, d, e = df["stop"].to_numpy(), df["event"].to_numpy(), df["start"].to_numpy()
    r = np.exp(x @ beta)
    res = np.zeros_like(x)
    for u in np.unique(y[d == 1]):
        risk = (y >= u) & (e < u)
        dead = (y == u) & (d == 1)
        s0 = r[risk].sum()
        xbar = (r[risk, None] * x[risk]).sum(axis=0) / s0
        res[dead] += x[dead] - xbar
        res[risk] -= dead.sum() * r[risk, None] * (x[risk] - xbar) / s0
    return res


def test_robust_variance_equals_bruteforce_sandwich_with_ties_and_entry() -> None:
    df = daily_cox_data(np.random.default_rng(3), 240)
    m = CoxPH(ties="breslow").fit(df, "stop", "event", COV, entry_col="start", cluster_col="family")
    res = _breslow_residuals_bruteforce(df, m.params_.to_numpy())
    np.testing.assert_allclose(m.score_residuals_, res, atol=1e-10)
    ug = pd.DataFrame(res).groupby(df["family"].to_numpy()).sum().to_numpy()
    inv = m.variance_matrix_model_.to_numpy()
    np.testing.assert_allclose(m.variance_matrix_.to_numpy(), inv @ ug.T @ ug @ inv, rtol=1e-10)


def test_efron_residuals_approximate_leave_one_out_changes() -> None:
    """Infinitesimal jackknife: residuals @ I^-1 ~ beta - beta(-i) (first order)."""
    df = daily_cox_data(np.random.default_rng(4), 800)
    m = CoxPH().fit(df, "stop", "event", COV, entry_col="start")
    assert np.abs(m.score_residuals_.sum(axis=0)).max() < 1e-6  # residuals sum to the score
    dfbeta = m.score_residuals_ @ m.variance_matrix_model_.to_numpy()
    full = m.params_.to_numpy()
    for i in np.argsort(-np.abs(dfbeta[:, 0]))[:5]:
        loo = CoxPH().fit(df.drop(index=i), "stop", "event", COV, entry_col="start")
        np.testing.assert_allclose(full - loo.params_.to_numpy(), dfbeta[i], rtol=0.12, atol=1e-3)


def test_split_at_windows_by_hand() -> None:
    df = pd.DataFrame(
        {
            "channel_id": ["a", "b", "c"],
            "family_id": ["f", "f", None],
            "created_at": [0.0, 35.0, 50.0],
            "ended_at": [50.0, np.nan, 55.0],
            "end_reason": ["banned", None, "deleted"],
            "observation_end": 100.0,
            "platform": ["x", "y", "x"],
        }
    )
    out = split_at_windows(
        df, pd.DataFrame({"start": [30.0, 60.0], "end": [45.0, 75.0]}), keep_columns=["platform"]
    )
    a = out[out["channel_id"] == "a"]
    np.testing.assert_allclose(a["start_days"], [0.0, 30.0, 45.0])
    np.testing.assert_allclose(a["stop_days"], [30.0, 45.0, 50.0])
    assert list(a["crackdown"]) == [0, 1, 0] and list(a["event"]) == [0, 0, 1]
    b = out[out["channel_id"] == "b"]  # created inside the first window, censored at 65
    np.testing.assert_allclose(b["start_days"], [0.0, 10.0, 25.0, 40.0])
    assert list(b["crackdown"]) == [1, 0, 1, 0] and b["event"].sum() == 0
    c = out[out["channel_id"] == "c"]
    assert len(c) == 1 and c["event"].iloc[0] == 1 and c["crackdown"].iloc[0] == 0
    assert list(out["platform"]) == ["x"] * 3 + ["y"] * 4 + ["x"]
    banned = split_at_windows(df, [(30.0, 45.0)], event_reasons="banned")
    assert banned.groupby("channel_id")["event"].sum().to_dict() == {"a": 1, "b": 0, "c": 0}
    with pytest.raises(ChannelTableError, match="not after its start"):
        split_at_windows(df, [(45.0, 30.0)])


def test_split_datetime_windows_equal_numeric() -> None:
    df = crackdown_table(np.random.default_rng(5), 50)
    t0 = pd.Timestamp("2020-01-01")

    def as_dt(col: pd.Series) -> pd.Series:
        return t0 + pd.to_timedelta(col, unit="D")

    dt = df.assign(
        created_at=as_dt(df["created_at"]),
        ended_at=as_dt(df["ended_at"]),
        observation_end=as_dt(df["observation_end"]),
    )
    win = pd.DataFrame(
        {
            "start": [as_dt(pd.Series([a]))[0] for a, _ in WINDOWS],
            "end": [as_dt(pd.Series([b]))[0] for _, b in WINDOWS],
        }
    )
    a = split_at_windows(df, WINDOWS)
    b = split_at_windows(dt, win)
    np.testing.assert_allclose(a["stop_days"], b["stop_days"], atol=1e-6)
    np.testing.assert_array_equal(a["crackdown"], b["crackdown"])


def test_crackdown_hazard_recovered_and_matches_lifelines_time_varying() -> None:
    from lifelines import CoxTimeVaryingFitter

    df = crackdown_table(np.random.default_rng(6), 800, log_hr=0.7)
    sp = split_at_windows(df, WINDOWS)
    m = CoxPH().fit(sp, "stop_days", "event", ["crackdown"], entry_col="start_days")
    s = m.summary.loc["crackdown"]
    assert s["ci_lower"] < 0.7 < s["ci_upper"]
    ref = CoxTimeVaryingFitter().fit(
        sp[["channel_id", "start_days", "stop_days", "event", "crackdown"]],
        event_col="event",
        start_col="start_days",
        stop_col="stop_days",
        id_col="channel_id",
        fit_options={"precision": 1e-12},
    )
    np.testing.assert_allclose(m.params_.to_numpy(), ref.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(
        m.summary["se"].to_numpy(), ref.standard_errors_.to_numpy(), atol=1e-6
    )
    # splitting a channel changes nothing without a window: same fit as one row per channel
    one = split_at_windows(df, [(500.0, 600.0)])
    assert len(one) == len(df.index)


def test_errors() -> None:
    df = daily_cox_data(np.random.default_rng(7), 50)
    with pytest.raises(ModelError, match="ties"):
        CoxPH(ties="exact").fit(df, "stop", "event", COV)
    with pytest.raises(NoEventsError):
        CoxPH().fit(df.assign(event=0), "stop", "event", COV)
    with pytest.raises(ModelError, match="not before"):
        CoxPH().fit(df.assign(start=df["stop"]), "stop", "event", COV, entry_col="start")
    with pytest.raises(ModelError, match="column 'nope'"):
        CoxPH().fit(df, "stop", "event", ["nope"])
    with pytest.raises(ModelError, match="row 3"):
        CoxPH().fit(df.assign(x1=df["x1"].where(df.index != 3)), "stop", "event", COV)
    with pytest.raises(ModelError, match="collinear"):
        CoxPH().fit(df.assign(x3=2 * df["x1"]), "stop", "event", [*COV, "x3"])


def test_plots_return_axes() -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from analysis.models.aft import AFTRegression

    df = daily_cox_data(np.random.default_rng(8), 200)
    for model in (
        CoxPH().fit(df, "stop", "event", COV),
        AFTRegression().fit(df, "stop", "event", COV),
    ):
        ax = model.plot()
        assert ax.get_xscale() == "log" and len(ax.get_yticks()) == 2
        plt.close(ax.figure)
    stat, p = CoxPH().fit(df, "stop", "event", COV).likelihood_ratio_test()
    assert stat > 0 and 0 <= p < 0.05


def test_missing_cluster_labels_are_their_own_clusters() -> None:
    df = daily_cox_data(np.random.default_rng(9), 300)
    fam = pd.Series(df["family"], dtype=object)
    own = df.assign(family=fam.where(df.index % 2 == 0, "own" + df.index.astype(str)))
    missing = df.assign(family=fam.where(df.index % 2 == 0))
    a = CoxPH().fit(own, "stop", "event", COV, cluster_col="family")
    b = CoxPH().fit(missing, "stop", "event", COV, cluster_col="family")
    np.testing.assert_allclose(a.summary["se"], b.summary["se"], rtol=1e-12)
    assert a.n_clusters_ == b.n_clusters_


def test_split_with_repeated_index_and_aware_windows() -> None:
    t0 = pd.Timestamp("2020-01-01")
    df = pd.DataFrame(
        {
            "channel_id": ["a", "b"],
            "family_id": None,
            "created_at": [t0, t0 + pd.Timedelta(days=2)],
            "ended_at": [t0 + pd.Timedelta(days=10), pd.NaT],
            "end_reason": ["banned", None],
            "observation_end": t0 + pd.Timedelta(days=20),
        },
        index=[7, 7],
    )
    win = [(pd.Timestamp("2020-01-05 01:00", tz="Europe/Amsterdam"), "2020-01-06")]
    out = split_at_windows(df, win)
    a = out[out["channel_id"] == "a"]
    # 01:00 in Amsterdam is midnight UTC: the window starts 4 days after creation
    np.testing.assert_allclose(a["stop_days"], [4.0, 5.0, 10.0])
    assert list(a["crackdown"]) == [0, 1, 0]
    assert len(out[out["channel_id"] == "b"]) == 3
