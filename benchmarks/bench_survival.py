"""Benchmark: Kaplan-Meier and Weibull MLE against scipy (and lifelines when importable).

Run ``.venv/bin/python benchmarks/bench_survival.py`` (``--quick`` for 10^5 points).  Prints
one table of median wall-clock timings with ratios against the named baseline measured in the
same run, and the largest relative difference between the estimates.  Data are synthetic:
Weibull(shape 0.7, scale 10 days) lifetimes with uniform censoring on [0, 30] days.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

import numpy as np
import scipy
from scipy import optimize, stats

from analysis.models.survival import KaplanMeier, ParametricSurvival


def timed(func: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall-clock seconds over ``repeat`` runs after one warm-up."""
    out = func()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def sample(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic censored Weibull lifetimes (days)."""
    rng = np.random.default_rng(seed)
    x = 10.0 * rng.weibull(0.7, n)
    c = rng.uniform(0.0, 30.0, n)
    return np.minimum(x, c), x <= c


def tight_fmin(func, x0, args=(), disp=0):
    """Nelder-Mead with tight tolerances, so scipy's estimate is converged for comparison."""
    return optimize.fmin(
        func, x0, args=args, xtol=1e-12, ftol=1e-14, maxiter=20000, maxfun=40000, disp=disp
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10^5 points instead of 10^6")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--coverage",
        type=int,
        default=0,
        metavar="N_SIM",
        help="also run N_SIM seeded simulations of the 95%% CI coverage (>= 400 recommended)",
    )
    args = parser.parse_args()
    n_big = 100_000 if args.quick else 1_000_000
    rows: list[tuple[str, int, str, float, float, str]] = []

    t, e = sample(n_big)
    ours_s, km = timed(lambda: KaplanMeier().fit(t, e), args.repeat)
    data = stats.CensoredData.right_censored(t, ~e)
    ref_s, ref = timed(lambda: stats.ecdf(data), args.repeat)
    diff = np.max(np.abs(km.survival_at(ref.sf.quantiles) - ref.sf.probabilities))
    rows.append(("Kaplan-Meier", n_big, "scipy.stats.ecdf", ours_s, ref_s, f"abs {diff:.1e}"))

    for n in (10_000, n_big):
        tn, en = t[:n], e[:n]
        ours_s, fit = timed(
            lambda tn=tn, en=en: ParametricSurvival("weibull").fit(tn, en), args.repeat
        )
        shape, scale = fit.params_["shape"], fit.params_["scale"]
        dn = stats.CensoredData.right_censored(tn, ~en)
        rep = args.repeat if n <= 10_000 else 1
        ref_s, (c, _, sc) = timed(lambda dn=dn: stats.weibull_min.fit(dn, floc=0), rep)
        rel = max(abs(shape / c - 1), abs(scale / sc - 1))
        rows.append(
            ("Weibull MLE", n, "weibull_min.fit(CensoredData)", ours_s, ref_s, f"rel {rel:.1e}")
        )
        tight_s, (c2, _, sc2) = timed(
            lambda dn=dn: stats.weibull_min.fit(dn, floc=0, optimizer=tight_fmin), 1
        )
        rel2 = max(abs(shape / c2 - 1), abs(scale / sc2 - 1))
        rows.append(
            ("Weibull MLE", n, "same, tight tolerances", ours_s, tight_s, f"rel {rel2:.1e}")
        )

    try:  # optional peer, never a dependency
        import lifelines  # type: ignore[import-not-found]

        ref_s, _ = timed(lambda: lifelines.KaplanMeierFitter().fit(t, e), 1)
        ours_s, _ = timed(lambda: KaplanMeier().fit(t, e), args.repeat)
        rows.append(("Kaplan-Meier", n_big, "lifelines", ours_s, ref_s, ""))
    except ImportError:
        pass

    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    print(
        f"machine: {cpu}, {os.cpu_count()} cores; python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}"
    )
    head = f"{'task':<14}{'n':>10}  {'baseline':<31}{'ours s':>10}{'base s':>10}{'speed-up':>10}  max diff"
    print(head)
    print("-" * len(head))
    for task, n, base, ours, ref, note in rows:
        print(f"{task:<14}{n:>10,}  {base:<31}{ours:>10.4f}{ref:>10.4f}{ref / ours:>9.1f}x  {note}")
    if args.coverage:
        from analysis.models._coverage import coverage

        t0 = time.perf_counter()
        table = coverage(n_sim=args.coverage)
        print(
            f"\n95% CI coverage, {args.coverage} seeded simulations "
            f"({time.perf_counter() - t0:.0f} s; target 0.93-0.97):"
        )
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
