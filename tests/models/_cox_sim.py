"""Synthetic channel tables for the regression tests (seeded; synthetic, no real channels)."""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOWS = [(30.0, 45.0), (60.0, 75.0)]


def crackdown_table(
    rng: np.random.Generator,
    n: int,
    log_hr: float = 0.7,
    base: float = 0.03,
    obs_end: float = 120.0,
    n_per_family: int = 1,
    frailty_var: float = 0.0,
) -> pd.DataFrame:
    """Channels created on [0, 100) days, ban hazard ``base * exp(log_hr)`` inside WINDOWS.

    Times drawn by thinning at the maximal rate; with ``frailty_var > 0`` channels of one
    family share a gamma frailty (mean 1).
    """
    created = rng.uniform(0.0, 100.0, n)
    fam = np.arange(n) // n_per_family
    if frailty_var > 0:
        z = rng.gamma(1.0 / frailty_var, frailty_var, fam.max() + 1)[fam]
    else:
        z = np.ones(n)
    lam_max = base * np.exp(max(log_hr, 0.0)) * z
    t = created.copy()
    ended = np.full(n, np.nan)
    open_ = np.ones(n, dtype=bool)
    while open_.any():
        idx = np.flatnonzero(open_)
        t[idx] += rng.exponential(1.0 / lam_max[idx])
        past = t[idx] > obs_end
        open_[idx[past]] = False
        cand = idx[~past]
        inside = np.zeros(cand.size, dtype=bool)
        for a, b in WINDOWS:
            inside |= (t[cand] >= a) & (t[cand] < b)
        rate = base * np.where(inside, np.exp(log_hr), 1.0) * z[cand]
        accept = rng.random(cand.size) < rate / lam_max[cand]
        ended[cand[accept]] = t[cand[accept]]
        open_[cand[accept]] = False
    done = ~np.isnan(ended)
    return pd.DataFrame(
        {
            "channel_id": [f"syn{i}" for i in range(n)],
            "family_id": [f"fam{f}" for f in fam],
            "created_at": created,
            "ended_at": ended,
            "end_reason": np.where(done, "banned", None),
            "observation_end": obs_end,
        }
    )


def daily_cox_data(rng: np.random.Generator, n: int, entry: bool = True) -> pd.DataFrame:
    """Whole-day durations (many ties), two covariates, delayed entry, families of three."""
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 2, n).astype(float)
    t = np.ceil(rng.exponential(10.0 * np.exp(-0.5 * x1 - 0.3 * x2)))
    c = np.ceil(rng.uniform(0.0, 30.0, n))
    y = np.minimum(t, c)
    e = np.floor(rng.uniform(0.0, 0.5, n) * y) if entry else np.zeros(n)
    return pd.DataFrame(
        {
            "stop": y,
            "event": (t <= c).astype(int),
            "x1": x1,
            "x2": x2,
            "start": e,
            "family": np.arange(n) // 3,
            "platform": rng.integers(0, 2, n),
        }
    )


def positive_stable(rng: np.random.Generator, alpha: float, size: int) -> np.ndarray:
    """Positive stable variates with Laplace transform ``exp(-s^alpha)`` (Kanter 1975)."""
    u = rng.uniform(0.0, np.pi, size)
    e = rng.exponential(1.0, size)
    a = np.sin(alpha * u) / np.sin(u) ** (1.0 / alpha)
    b = (np.sin((1.0 - alpha) * u) / e) ** ((1.0 - alpha) / alpha)
    return a * b


def clustered_table(
    rng: np.random.Generator,
    n_families: int,
    size: int = 4,
    alpha: float = 0.6,
    beta: float = 0.8,
    cens_max: float = 60.0,
) -> pd.DataFrame:
    """Lineages sharing a positive stable frailty; platform is a family-level covariate.

    Given the frailty Z the hazard is ``Z 0.05 exp(beta platform + 0.5 x)``; marginally the
    model is again proportional hazards with log hazard ratios ``alpha * (beta, 0.5)``
    (Hougaard 1986), so a marginal Cox fit estimates ``alpha * beta`` and only its variance
    needs the lineage clustering.
    """
    fam = np.repeat(np.arange(n_families), size)
    z = positive_stable(rng, alpha, n_families)[fam]
    platform = rng.integers(0, 2, n_families)[fam].astype(float)
    x = rng.normal(size=fam.size)
    t = rng.exponential(1.0, fam.size) / (z * 0.05 * np.exp(beta * platform + 0.5 * x))
    c = rng.uniform(0.0, cens_max, fam.size)
    return pd.DataFrame(
        {
            "stop": np.minimum(t, c),
            "event": (t <= c).astype(int),
            "platform": platform,
            "x": x,
            "family": fam,
        }
    )
