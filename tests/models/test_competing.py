"""Competing risks: Aalen-Johansen, cause-specific Nelson-Aalen, Fine-Gray (synthetic data).

References: lifelines (tests only), statsmodels PHReg, closed-form truths, and an independent
O(n^2) evaluation of the Fine-Gray estimating equation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _cr_sim import LAMBDA, aj_truth, fine_gray_cif, fine_gray_data, two_causes
from statsmodels.duration.hazard_regression import PHReg

from analysis.errors import ModelError
from analysis.models.competing import AalenJohansen, CauseSpecificHazard, FineGray
from analysis.models.fine_gray import censoring_survival
from analysis.models.survival import KaplanMeier


def test_issue_numbers_one_minus_km_vs_aalen_johansen() -> None:
    """Equal ban and deletion hazards: 1 - KM ~ 0.776 (closed form) vs truth 0.475."""
    rng = np.random.default_rng(16)
    t, cause, _ = two_causes(rng, 20_000, cens_max=200.0)
    truth = aj_truth(30.0)
    assert truth == pytest.approx(0.475, abs=1e-12)
    km = KaplanMeier().fit(t, cause == 1)
    naive = 1.0 - float(km.survival_at(30.0))
    # 1 - KM estimates 1 - exp(-lambda 30): the ban share if deletion could not happen
    assert naive == pytest.approx(1.0 - np.exp(-LAMBDA * 30.0), abs=0.01)
    assert naive > 0.75
    aj = AalenJohansen().fit(
        t, np.where(cause == 1, "banned", np.where(cause == 2, "deleted", None))
    )
    est = float(aj.incidence_at(30.0, "banned"))
    ci = aj.confidence_interval("banned")
    row = ci.iloc[np.searchsorted(ci.index, 30.0, side="right") - 1]
    assert abs(est - truth) < 3 * np.sqrt(row["variance"])
    assert row["ci_lower"] < truth < row["ci_upper"]
    assert aj.causes_ == ["banned", "deleted"]


def test_aalen_johansen_matches_lifelines_with_delayed_entry() -> None:
    from lifelines import AalenJohansenFitter

    rng = np.random.default_rng(3)
    t, cause, entry = two_causes(rng, 400, cens_max=60.0, entry_max=10.0)
    assert np.unique(t).size == t.size  # tie-free: lifelines does not jitter
    aj = AalenJohansen().fit(t, cause, entry=entry)
    for k in (1, 2):
        ref = AalenJohansenFitter(calculate_variance=True).fit(
            t, cause, event_of_interest=k, entry=entry
        )
        idx = ref.cumulative_density_.index.to_numpy()
        ci = aj.confidence_interval(k).reindex(idx, method="ffill").fillna(0.0)
        np.testing.assert_allclose(
            ci["cumulative_incidence"], ref.cumulative_density_.iloc[:, 0], atol=1e-6
        )
        np.testing.assert_allclose(ci["variance"], ref.variance_.to_numpy(), atol=1e-6)
        lo = ref.confidence_interval_.filter(like="lower").iloc[:, 0].to_numpy()
        hi = ref.confidence_interval_.filter(like="upper").iloc[:, 0].to_numpy()
        ok = ci["cumulative_incidence"].to_numpy() > 0
        # lifelines labels its bands the other way round; compare as sets of two numbers
        np.testing.assert_allclose(np.minimum(lo, hi)[ok], ci["ci_lower"].to_numpy()[ok], atol=1e-6)
        np.testing.assert_allclose(np.maximum(lo, hi)[ok], ci["ci_upper"].to_numpy()[ok], atol=1e-6)


def test_aalen_johansen_identity_and_ties() -> None:
    """S + sum F = 1 at every time; tied times handled without jitter (hand computation)."""
    t = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 4.0])
    cause = np.array(["a", "b", "a", None, "b", "a"], dtype=object)
    aj = AalenJohansen().fit(t, cause)
    cif = aj.cumulative_incidence_
    np.testing.assert_allclose(aj.survival_ + cif.sum(axis=1), 1.0)
    # t=1: n=6, one a, one b -> F_a = 1/6; S = 4/6.  t=2: n=4, one a -> F_a += 4/6 * 1/4
    assert cif.loc[1.0, "a"] == pytest.approx(1 / 6)
    assert cif.loc[2.0, "a"] == pytest.approx(1 / 6 + 1 / 6)
    # t=3: n=2, S(3-) = 4/6 * 3/4 = 1/2, one b -> F_b = 1/6 + 1/4
    assert cif.loc[3.0, "b"] == pytest.approx(1 / 6 + 1 / 4)
    assert cif.loc[4.0, "a"] == pytest.approx(1 / 3 + 1 / 4)


def test_delayed_entry_removes_truncation_bias() -> None:
    rng = np.random.default_rng(5)
    t, cause, entry = two_causes(rng, 8000, cens_max=200.0, entry_max=20.0)
    with_entry = AalenJohansen().fit(t, cause, entry=entry)
    # conditional on surviving to the earliest entry (0), the truth is the plain CIF
    assert float(with_entry.incidence_at(30.0, 1)) == pytest.approx(aj_truth(30.0), abs=0.02)
    ignored = AalenJohansen().fit(t, cause)
    assert float(ignored.incidence_at(30.0, 1)) < aj_truth(30.0) - 0.02  # biased low


def test_cause_specific_nelson_aalen_matches_lifelines() -> None:
    from lifelines import NelsonAalenFitter

    rng = np.random.default_rng(7)
    t, cause, entry = two_causes(rng, 300, entry_max=5.0)
    cs = CauseSpecificHazard().fit(t, cause, entry=entry)
    for k in (1, 2):
        ref = NelsonAalenFitter(nelson_aalen_smoothing=False).fit(t, cause == k, entry=entry)
        idx = ref.cumulative_hazard_.index.to_numpy()
        mine = cs.cumulative_hazard_[k].reindex(idx, method="ffill").fillna(0.0)
        np.testing.assert_allclose(mine, ref.cumulative_hazard_.iloc[:, 0], atol=1e-6)
    # constant hazards: A_k(30) ~ lambda 30
    big = CauseSpecificHazard().fit(*two_causes(np.random.default_rng(8), 8000)[:2])
    a30 = big.confidence_interval(1)
    row = a30.iloc[np.searchsorted(a30.index, 30.0, side="right") - 1]
    assert row["ci_lower"] < LAMBDA * 30.0 < row["ci_upper"]


def test_fine_gray_without_censoring_is_cox_with_competing_at_infinity() -> None:
    """No censoring: weights are 1 and Fine-Gray is Cox with other causes never failing."""
    df = fine_gray_data(np.random.default_rng(11), 400, cens_max=0.0)
    fg = FineGray().fit(df, "t", "cause", 1, covariates=["z"])
    tt = np.where(df["cause"] == 1, df["t"], 1e9)
    ref = PHReg(tt, df[["z"]].to_numpy(), status=(df["cause"] == 1).to_numpy(float)).fit()
    np.testing.assert_allclose(fg.params_.to_numpy(), ref.params, atol=1e-8)
    np.testing.assert_allclose(fg.variance_matrix_model_.to_numpy(), ref.cov_params(), rtol=1e-6)
    rob = PHReg(tt, df[["z"]].to_numpy(), status=(df["cause"] == 1).to_numpy(float)).fit(
        groups=np.arange(len(df))
    )
    np.testing.assert_allclose(fg.summary["se"].to_numpy(), rob.bse, rtol=1e-6)


def _fg_score_bruteforce(df: pd.DataFrame, beta: float) -> float:
    """Fine & Gray (1999) eq. 6 by direct sums over subjects (independent of the module)."""
    t, c, z = df["t"].to_numpy(), df["cause"].to_numpy(), df["z"].to_numpy()
    order = np.argsort(t)
    # censoring KM, events before censorings at ties
    g_at = {}
    g = 1.0
    for s in np.unique(t):
        n_risk = np.sum(t >= s)
        n_cens = np.sum((t == s) & (c == 0))
        g *= 1.0 - n_cens / n_risk
        g_at[s] = g

    def g_left(s: float) -> float:
        prev = [v for k, v in g_at.items() if k < s]
        return prev[-1] if prev else 1.0

    score = 0.0
    for i in order[c[order] == 1]:
        u = t[i]
        w = np.where(t >= u, 1.0, 0.0)
        comp = (c == 2) & (t < u)
        w[comp] = g_left(u) / np.array([g_left(s) for s in t[comp]])
        r = w * np.exp(beta * z)
        score += z[i] - np.sum(r * z) / np.sum(r)
    return score


def test_fine_gray_solves_the_weighted_score_equation() -> None:
    df = fine_gray_data(np.random.default_rng(12), 120, cens_max=2.0)
    fg = FineGray().fit(df, "t", "cause", 1, covariates=["z"])
    b = float(fg.params_["z"])
    assert abs(_fg_score_bruteforce(df, b)) < 1e-7
    assert abs(_fg_score_bruteforce(df, b + 0.05)) > 1e-3  # and it is not zero elsewhere


def test_censoring_survival_is_km_of_censoring() -> None:
    t = np.array([1.0, 2.0, 2.0, 3.0, 5.0])
    censored = np.array([False, True, False, True, False])
    times, g = censoring_survival(t, censored)
    km = KaplanMeier().fit(t, censored)  # censoring as the event, events before at ties
    np.testing.assert_allclose(g, km.survival_at(times))


def test_fine_gray_recovers_truth_and_matches_aalen_johansen() -> None:
    df = fine_gray_data(np.random.default_rng(13), 4000, binary=True)
    fg = FineGray().fit(df, "t", "cause", 1, covariates=["z"])
    s = fg.summary.loc["z"]
    assert s["ci_lower"] < 0.5 < s["ci_upper"]
    assert abs(s["estimate"] - 0.5) < 0.15
    pred = fg.predict_cumulative_incidence(np.array([[0.0], [1.0]]), [0.5, 1.0, 2.0])
    for g in (0, 1):
        sub = df[df["z"] == g]
        aj = AalenJohansen().fit(sub["t"], sub["cause"])
        for q in (0.5, 1.0, 2.0):
            truth = fine_gray_cif(q, g)
            assert float(aj.incidence_at(q, 1)) == pytest.approx(pred.loc[q, g], abs=0.02)
            assert pred.loc[q, g] == pytest.approx(truth, abs=0.025)


def test_fine_gray_cluster_robust_differs_from_subject_robust() -> None:
    df = fine_gray_data(np.random.default_rng(14), 600)
    df["family"] = np.repeat(np.arange(300), 2)
    a = FineGray().fit(df, "t", "cause", 1, covariates=["z"])
    b = FineGray().fit(df, "t", "cause", 1, covariates=["z"], cluster_col="family")
    assert a.params_["z"] == b.params_["z"]
    # independent pairs: cluster sums add cross-products that average ~0, so close but not equal
    assert b.summary.loc["z", "se"] != a.summary.loc["z", "se"]
    assert b.summary.loc["z", "se"] == pytest.approx(a.summary.loc["z", "se"], rel=0.25)


def test_errors_are_loud() -> None:
    with pytest.raises(ModelError, match="zero events"):
        AalenJohansen().fit([1.0, 2.0], [0, None])
    aj = AalenJohansen().fit([1.0, 2.0], ["banned", None])
    with pytest.raises(ModelError, match="unknown cause"):
        aj.confidence_interval("deleted")
    with pytest.raises(ModelError, match="mixes"):
        AalenJohansen().fit([1.0, 2.0], ["banned", 2])
    df = fine_gray_data(np.random.default_rng(1), 50)
    with pytest.raises(ModelError, match="never occurs"):
        FineGray().fit(df, "t", "cause", 3, covariates=["z"])
    with pytest.raises(ModelError, match="expected 0 <= e < t"):
        FineGray().fit(df.assign(e=df["t"] + 1), "t", "cause", 1, covariates=["z"], entry_col="e")
    with pytest.raises(ModelError, match="constant"):
        FineGray().fit(df.assign(k=1.0), "t", "cause", 1, covariates=["z", "k"])


def test_plots_return_axes() -> None:
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    t, cause, entry = two_causes(np.random.default_rng(9), 200, entry_max=5.0)
    for model in (AalenJohansen(), CauseSpecificHazard()):
        ax = model.fit(t, cause, entry=entry).plot()
        assert len(ax.get_lines()) == 2 and ax.get_legend() is not None
        plt.close(ax.figure)
    fg = FineGray().fit(fine_gray_data(np.random.default_rng(9), 200), "t", "cause", 1, ["z"])
    ax = fg.plot()
    assert ax.get_xscale() == "log"
    plt.close(ax.figure)


def test_channel_table_to_fine_gray_end_to_end() -> None:
    """Synthetic channel table -> competing_lifetimes -> FineGray of bans by platform."""
    from analysis.channels import competing_lifetimes

    rng = np.random.default_rng(15)
    n = 3000
    platform = rng.integers(0, 2, n)
    rate_ban = 0.03 * np.exp(0.8 * platform)
    t_ban, t_del = rng.exponential(1 / rate_ban), rng.exponential(1 / 0.03, n)
    created = rng.uniform(0.0, 50.0, n)
    ended = created + np.minimum(t_ban, t_del)
    done = ended <= 150.0
    table = pd.DataFrame(
        {
            "channel_id": [f"s{i}" for i in range(n)],
            "family_id": [None if i % 3 else f"f{i // 6}" for i in range(n)],
            "created_at": created,
            "ended_at": np.where(done, ended, np.nan),
            "end_reason": np.where(done, np.where(t_ban < t_del, "banned", "deleted"), None),
            "observation_end": 150.0,
        }
    )
    cr = competing_lifetimes(table)
    cr["platform"] = platform
    fg = FineGray().fit(cr, "duration_days", "cause", "banned", ["platform"], "family_id")
    # constant cause-specific hazards: true CIF of bans by day 20 per platform (closed form)
    pred = fg.predict_cumulative_incidence(np.array([[0.0], [1.0]]), [20.0])
    for g in (0, 1):
        rb = 0.03 * np.exp(0.8 * g)
        truth = rb / (rb + 0.03) * (1 - np.exp(-(rb + 0.03) * 20.0))
        assert pred.loc[20.0, g] == pytest.approx(truth, abs=0.03)
    assert fg.summary.loc["platform", "shr"] > 1.5


def _truncate(df: pd.DataFrame, rng: np.random.Generator, share_at_zero: float) -> pd.DataFrame:
    """Independent entry: 0 for a share of rows (created after observation started), else
    uniform on (0, 1); rows that ended before their entry are never seen."""
    e = np.where(rng.random(len(df)) < share_at_zero, 0.0, rng.uniform(0.0, 1.0, len(df)))
    return df.assign(e=e)[df["t"] > e].reset_index(drop=True)


def test_fine_gray_delayed_entry_geskus_weights() -> None:
    """Truncated sample: with the weights the estimate matches the untruncated fit; ignoring
    the truncation does not."""
    rng = np.random.default_rng(17)
    df = fine_gray_data(rng, 12_000, binary=True)
    full = FineGray().fit(df, "t", "cause", 1, ["z"]).params_["z"]
    tr = _truncate(df, rng, share_at_zero=0.5)
    fit = FineGray().fit(tr, "t", "cause", 1, ["z"], entry_col="e")
    assert abs(fit.params_["z"] - full) < 0.03
    s = fit.summary.loc["z"]
    assert s["ci_lower"] < 0.5 < s["ci_upper"]
    # and the cumulative incidence matches Aalen-Johansen with delayed entry, per group
    pred = fit.predict_cumulative_incidence(np.array([[0.0], [1.0]]), [1.0, 2.0])
    for g in (0, 1):
        sub = tr[tr["z"] == g]
        aj = AalenJohansen().fit(sub["t"], sub["cause"], entry=sub["e"])
        for q in (1.0, 2.0):
            assert float(aj.incidence_at(q, 1)) == pytest.approx(pred.loc[q, g], abs=0.025)
    # entry all zero is the plain fit
    same = FineGray().fit(df.assign(e=0.0), "t", "cause", 1, ["z"], entry_col="e")
    assert same.params_["z"] == pytest.approx(full, abs=1e-12)


def test_fine_gray_warns_on_unbounded_truncation_weights() -> None:
    from analysis.errors import TakedownWarning

    rng = np.random.default_rng(18)
    tr = _truncate(fine_gray_data(rng, 3000), rng, share_at_zero=0.0)
    with pytest.warns(TakedownWarning, match="truncation weights"):
        FineGray().fit(tr, "t", "cause", 1, ["z"], entry_col="e")


def test_lynden_bell_recovers_the_entry_distribution() -> None:
    from analysis.models.fine_gray import truncation_cdf_left

    rng = np.random.default_rng(19)
    t = rng.exponential(2.0, 20_000)
    e = rng.uniform(0.0, 1.0, t.size)
    seen = t > e
    q = np.array([0.1, 0.3, 0.6, 0.9, 1.5])
    np.testing.assert_allclose(
        truncation_cdf_left(t[seen], e[seen], q), np.minimum(q, 1), atol=0.02
    )
    # the naive empirical CDF of the observed entries is biased (late entries under-seen)
    naive = (e[seen][:, None] < q).mean(axis=0)
    assert naive[1] > 0.3 + 0.03
