"""Seeded coverage simulation of the survival confidence intervals (synthetic data only).

Used by the slow test ``tests/models/test_survival_coverage.py`` and by
``benchmarks/bench_survival.py --coverage``.  Each replicate draws Weibull lifetimes (shape 0.7,
scale 10 days), optionally with a cured share, censors them uniformly on [0, 40] days, fits,
and records whether each 95 % interval contains the true value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.models.survival import KaplanMeier, ParametricSurvival

TRUE_SHAPE = 0.7
TRUE_SCALE = 10.0
TRUE_CURE = 0.3
KM_TIME_DAYS = 5.0


def coverage(
    n_sim: int = 400, n_obs: int = 300, seed: int = 2024, cure: bool = True
) -> pd.DataFrame:
    """Share of replicates whose 95 % interval covers the truth, per quantity.

    Returns a DataFrame indexed by quantity with ``coverage``, ``n_sim`` and the binomial
    Monte Carlo standard error.
    """
    rng = np.random.default_rng(seed)
    truth_km = np.exp(-((KM_TIME_DAYS / TRUE_SCALE) ** TRUE_SHAPE))
    hits: dict[str, list[bool]] = {k: [] for k in ("weibull_shape", "weibull_scale", "km_s5")}
    if cure:
        hits.update({"cure_fraction_profile": [], "cure_weibull_shape": []})
    for _ in range(n_sim):
        x = TRUE_SCALE * rng.weibull(TRUE_SHAPE, n_obs)
        c = rng.uniform(0.0, 40.0, n_obs)
        t, e = np.minimum(x, c), x <= c
        m = ParametricSurvival("weibull").fit(t, e).summary
        hits["weibull_shape"].append(
            m.loc["shape", "ci_lower"] <= TRUE_SHAPE <= m.loc["shape", "ci_upper"]
        )
        hits["weibull_scale"].append(
            m.loc["scale", "ci_lower"] <= TRUE_SCALE <= m.loc["scale", "ci_upper"]
        )
        sf = KaplanMeier().fit(t, e).survival_function_
        row = sf.iloc[np.searchsorted(sf.index.to_numpy(), KM_TIME_DAYS, side="right") - 1]
        hits["km_s5"].append(row["ci_lower"] <= truth_km <= row["ci_upper"])
        if cure:
            xc = np.where(rng.random(n_obs) < TRUE_CURE, np.inf, x)
            tc, ec = np.minimum(xc, c), xc <= c
            mc = ParametricSurvival("weibull", cure=True).fit(tc, ec)
            lo, hi = mc.cure_fraction_ci_
            hits["cure_fraction_profile"].append(lo <= TRUE_CURE <= hi)
            s = mc.summary.loc["shape"]
            hits["cure_weibull_shape"].append(s["ci_lower"] <= TRUE_SHAPE <= s["ci_upper"])
    cov = {k: float(np.mean(v)) for k, v in hits.items()}
    out = pd.DataFrame({"coverage": cov, "n_sim": n_sim})
    out["mc_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / n_sim)
    out.index.name = "quantity"
    return out
