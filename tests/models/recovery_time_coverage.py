"""Measure the coverage of RecoveryCurve's time-to-recover intervals (SYNTHETIC series).

Run from the repository root (one process; about 3 s CPU per series)::

    .venv/bin/python tests/models/recovery_time_coverage.py --series 200 --first-seed 2000

Setting of ``tests/models/test_recovery.py``: 181 days (30 before the shock), pre-level 200,
trough 20, full recovery at rate 0.05 per day, latent AR(1) 0.8 with innovation sd 0.1 on the
log-rate, Poisson counts; the default fit (``likelihood="arma"``, profile intervals).  True
half-life ln 2 / 0.05 = 13.9 days, true time to 90 % of the drop ln 10 / 0.05 = 46.1 days.
Prints, per time: coverage (an interval with a NaN bound counts as a miss), the misses by
side, the share of infinite estimates, of open (infinite) upper bounds and of NaN bounds.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_recovery import DAYS, K, _series

from analysis.models.recovery import RecoveryCurve

TRUTH = {"half_life_days": np.log(2) / K, "time_to_90pct_days": np.log(10) / K}


def measure(seeds: range) -> dict[str, dict[str, float]]:
    rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in TRUTH}
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = RecoveryCurve().fit(DAYS, _series(seed, phi=0.8), 0)
        for name in TRUTH:
            est, lo, hi = fit.summary.loc[name, ["estimate", "lower", "upper"]]
            rows[name].append((float(est), float(lo), float(hi)))
    out = {}
    for name, truth in TRUTH.items():
        arr = np.array(rows[name])
        est, lo, hi = arr.T
        out[name] = {
            "coverage": float(np.mean((lo < truth) & (truth < hi))),
            "lower_above_truth": float(np.mean(lo >= truth)),
            "upper_below_truth": float(np.mean(hi <= truth)),
            "infinite_estimate": float(np.mean(np.isinf(est))),
            "open_upper": float(np.mean(np.isposinf(hi))),
            "nan_bound": float(np.mean(np.isnan(lo) | np.isnan(hi))),
            "n": len(arr),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=2000)
    args = parser.parse_args()
    start = time.process_time()
    result = measure(range(args.first_seed, args.first_seed + args.series))
    for name, row in result.items():
        print(name, {k: round(v, 3) for k, v in row.items()})
    print(f"CPU {time.process_time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
