"""Benchmark: cat-and-mouse simulation throughput and fit time.

Run: ``.venv/bin/python benchmarks/bench_catmouse.py [--quick]``.  Baseline: the naive
per-event Python loop (Gillespie-style) on the same model, measured in the same run.
"""

from __future__ import annotations

import argparse
import time

from analysis.models.catmouse import CatMouseModel, Crackdown


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args()
    days = 365
    big = 100_000 if args.quick else 1_000_000
    naive_n = 10_000 if args.quick else 50_000
    crack = [Crackdown(100, 5, 1.0), Crackdown(250, 2, 3.0)]

    def model_for(n_lifetimes: float) -> CatMouseModel:
        # about n_lifetimes channels in the window: creations ~ lambda/(1-rho) per day
        lam = n_lifetimes * 0.5 / days
        return CatMouseModel(lam, 0.05, 0.5, 2.0, crackdowns=crack, initial_active=0)

    rows = []
    m_small = model_for(naive_n)
    naive_daily, t_naive = _timed(lambda: m_small.simulate_naive(days, seed=1))
    n_naive = int(naive_daily["creations"].sum())  # initial_active=0: every channel is created
    sim_s, t_vec_small = _timed(lambda: m_small.simulate(days, seed=1))
    rows.append(("naive per-event loop (baseline)", n_naive, t_naive))
    rows.append(("vectorised by generation", sim_s.n_channels, t_vec_small))
    m_big = model_for(big)
    sim_b, t_big = _timed(lambda: m_big.simulate(days, seed=2))
    rows.append(("vectorised by generation (large)", sim_b.n_channels, t_big))
    _, t_table = _timed(lambda: sim_b.channel_events)
    rows.append(("  + channel event table (validated)", sim_b.n_channels, t_big + t_table))
    base_rate = n_naive / t_naive
    print(
        f"{'simulation':40s} {'lifetimes':>10s} {'seconds':>9s} {'lifetimes/s':>12s} {'ratio':>8s}"
    )
    for name, n, t in rows:
        rate = n / t
        print(f"{name:40s} {n:10d} {t:9.3f} {rate:12.0f} {rate / base_rate:8.1f}x")

    # fit time on a 5-year daily series (bans + creations), against one mean-field solve
    fit_days = 365 * (2 if args.quick else 5)
    truth = CatMouseModel(
        40, 0.08, 0.5, 3.0, crackdowns=[Crackdown(400, 3, 1.5), Crackdown(1200, 10, 0.4)]
    )
    daily = truth.simulate(fit_days, seed=3).daily
    _, t_mf = _timed(lambda: truth.mean_field(fit_days, method="expm"))
    _, t_ode = _timed(lambda: truth.mean_field(fit_days, method="ode"))
    # only crackdowns inside the fitted window (one outside it is not identified: the fit
    # would flag every interval, as the Hessian is singular)
    known = [
        cd for cd in (Crackdown(400, 3, 1.0), Crackdown(1200, 10, 1.0)) if cd.start_day < fit_days
    ]
    fit, t_fit = _timed(
        lambda: CatMouseModel.fit(
            daily[["day", "bans", "creations"]],
            crackdowns=known,
        )
    )
    print()
    print(f"{'fit / mean field (' + str(fit_days) + ' days)':40s} {'seconds':>9s} {'ratio':>8s}")
    print(f"{'mean field, expm (baseline)':40s} {t_mf:9.4f} {1.0:8.1f}x")
    print(f"{'mean field, solve_ivp Radau':40s} {t_ode:9.4f} {t_ode / t_mf:8.1f}x")
    label = (
        f"MLE fit + CIs (Wald; profile for the delay) ({int(fit.summary['free'].sum())} parameters)"
    )
    print(f"{label:40s} {t_fit:9.3f} {t_fit / t_mf:8.1f}x")
    est = fit.summary.loc[
        ["creation_rate_per_day", "ban_hazard_per_day", "recreation_probability"], "estimate"
    ]
    print("fitted (truth 40, 0.08, 0.5):", ", ".join(f"{v:.3g}" for v in est))
    weak = list(fit.summary.index[~fit.summary["identified"].astype(bool)])
    print("not identified:", ", ".join(weak) if weak else "none")


if __name__ == "__main__":
    main()
