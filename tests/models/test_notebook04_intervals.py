"""Coverage of the intervals notebook 04 prints (issue 12.5).  All data SYNTHETIC.

Notebook 04 simulates channels with the cat-and-mouse model (exponential lifetimes, mean 10
days; re-creation probability 0.6 after an exponential delay, mean 2 days; stationary start,
so the initial channels enter late) and prints the Kaplan-Meier median lifetime, the share
that comes back (family-clustered bootstrap) and the median delay (Weibull cure model), each
with a 95 % interval.  Here the same setting, smaller (5 new families a day instead of the
anchor's ~51, 365 days), is simulated many times and the intervals are checked against the
truth.  The Kaplan-Meier band itself is covered by ``test_survival_coverage.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.channels import channel_lifetimes
from analysis.models.catmouse import CatMouseModel
from analysis.models.reappearance import Reappearance
from analysis.models.survival import KaplanMeier

MEAN_LIFETIME = 10.0
RHO = 0.6
DELAY = 2.0


def notebook04_coverage(n_rep: int, seed: int) -> dict[str, float]:
    truth = CatMouseModel(5.0, 1.0 / MEAN_LIFETIME, RHO, DELAY)
    rng = np.random.default_rng(seed)
    hits = {"km_median_lifetime": 0, "reappearance_share": 0, "median_delay": 0}
    for _ in range(n_rep):
        events = truth.simulate(365, seed=rng).channel_events
        durations, observed, entry = channel_lifetimes(events)
        km = KaplanMeier().fit(durations, observed, entry)
        lo, hi = km.median_ci_
        hits["km_median_lifetime"] += lo <= MEAN_LIFETIME * np.log(2) <= hi
        fit = Reappearance("weibull", n_bootstrap=300, sensitivity=(), seed=rng)
        fit.fit_channel_events(events)
        # truth within the follow-up h: rho * P(delay <= h) (h is months: = rho)
        share = RHO * (1 - np.exp(-fit.share_horizon_days_ / DELAY))
        lo, hi = fit.reappearance_share_ci_
        hits["reappearance_share"] += lo <= share <= hi
        lo, hi = fit.median_delay_ci_
        hits["median_delay"] += lo <= DELAY * np.log(2) <= hi
    return {k: v / n_rep for k, v in hits.items()}


def test_notebook04_intervals_fast() -> None:
    cover = notebook04_coverage(12, seed=4)
    for name, share in cover.items():
        assert share >= 0.75, (name, share)


@pytest.mark.slow
def test_notebook04_intervals_cover_93_to_97_percent() -> None:
    cover = notebook04_coverage(400, seed=2026)
    print({k: round(v, 3) for k, v in cover.items()})
    for name, share in cover.items():
        assert 0.93 <= share <= 0.97, (name, share)
