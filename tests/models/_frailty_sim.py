"""Synthetic lineages with a shared gamma frailty (seeded; synthetic, no real channels)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TRUTH = {"g0": -4.0, "rho": 1.5, "beta": 0.7, "theta": 0.5}


def frailty_data(
    rng: np.random.Generator,
    n_clusters: int,
    size: int = 4,
    theta: float = TRUTH["theta"],
    cens_max: float = 40.0,
    entry_max: float = 0.0,
) -> pd.DataFrame:
    """Weibull PH given Z ~ Gamma(mean 1, variance theta) shared within a lineage."""
    fam = np.repeat(np.arange(n_clusters), size)
    if theta > 0:
        z = rng.gamma(1.0 / theta, theta, n_clusters)[fam]
    else:
        z = np.ones(fam.size)
    x = rng.normal(size=fam.size)
    h = z * np.exp(TRUTH["g0"] + TRUTH["beta"] * x)
    t = (rng.exponential(1.0, fam.size) / h) ** (1.0 / TRUTH["rho"])
    c = rng.uniform(0.0, cens_max, fam.size)
    df = pd.DataFrame({"t": np.minimum(t, c), "d": (t <= c).astype(int), "x": x, "family": fam})
    if entry_max > 0:
        # lineage-level truncation: a lineage is seen only if all its channels outlive entry
        e = rng.uniform(0.0, entry_max, n_clusters)[fam]
        df["e"] = e
        seen = pd.Series(df["t"].to_numpy() > e).groupby(fam).transform("all").to_numpy()
        df = df[seen].reset_index(drop=True)
    return df
