"""Coverage study of the CatMouseModel.fit intervals on the exact simulator (not a test; run
once, results as JSON lines, summarised by ``--summary``).

    .venv/bin/python tests/models/_cm_profile_study.py SETTING N_SERIES SEED OUT.jsonl
    .venv/bin/python tests/models/_cm_profile_study.py --summary OUT.jsonl

Per series: the default fit (what ``test_coverage_93_to_97_percent`` counts: same seed, same
simulation and fit calls), its CPU time, and for every free parameter the sandwich and naive
Wald variances and the signed root ``r = sign(est - truth) sqrt(W(truth))`` of the profile
likelihood-ratio statistic at the truth.  The truth is inside the plain profile interval iff
``|r| < z`` and inside the sandwich-adjusted one iff ``|r| / sqrt(k) < z``,
``k = V_sandwich / V_naive`` (the profile being monotone on each side of the estimate).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, "tests/models")

from test_catmouse_intensity import SERIES, truth_of

from analysis.errors import UnidentifiedWarning
from analysis.models._cm_fit import normalise_series
from analysis.models._cm_intensity import IntensityProblem, robust_covariance
from analysis.models._cm_profile import profile_loglik
from analysis.models._cm_stats import numerical_hessian
from analysis.models.catmouse import CatMouseModel

Z = 1.959963984540054


def run(setting: str, n_series: int, seed: int, out: str) -> None:
    truth, start_cd, values = truth_of(setting)
    rng = np.random.default_rng(seed)
    with open(out, "w") as fh:
        for i in range(n_series):
            data = truth.simulate(180, seed=rng).daily[SERIES]
            t0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UnidentifiedWarning)
                fit = CatMouseModel.fit(data, crackdowns=(start_cd,))
            cpu_fit = time.process_time() - t0
            s = fit.summary
            problem = IntensityProblem(
                CatMouseModel, normalise_series(data), (start_cd,), {}, 1.0, 1, True
            )
            m = fit.model_
            nat = {
                "creation_rate_per_day": m.creation_rate_per_day,
                "ban_hazard_per_day": m.ban_hazard_per_day,
                "recreation_probability": m.recreation_probability,
                "recreation_delay_mean_days": m.recreation_delay_mean_days,
                "extra_hazard_per_day[0]": m.crackdowns[0].extra_hazard_per_day,
            }
            theta = np.array([problem.to_internal(n, nat[n]) for n in problem.names])
            top = problem.loglik(theta)
            hess = numerical_hessian(lambda th, pr=problem: -pr.loglik(th), theta)
            naive = np.linalg.inv(hess)
            try:
                sand = robust_covariance(problem, theta, hess)
            except np.linalg.LinAlgError:
                sand = np.full_like(naive, np.nan)
            rec = {"i": i, "cpu_fit": cpu_fit, "params": {}}
            for j, name in enumerate(problem.names):
                t = problem.to_internal(name, values[name])
                slope = naive[:, j] / naive[j, j]
                ll, _ = profile_loglik(problem, theta, j, t, theta + slope * (t - theta[j]))
                r = float(np.sign(theta[j] - t) * np.sqrt(max(2 * (top - ll), 0.0)))
                rec["params"][name] = {
                    "truth": values[name],
                    "lower": float(s.loc[name, "lower"]),
                    "upper": float(s.loc[name, "upper"]),
                    "identified": bool(s.loc[name, "identified"]),
                    "interval": str(s.loc[name, "interval"]),
                    "theta": float(theta[j]),
                    "truth_internal": t,
                    "v_naive": float(naive[j, j]),
                    "v_sandwich": float(sand[j, j]),
                    "r_truth": r,
                }
            fh.write(json.dumps(rec) + "\n")
            fh.flush()


def summary(path: str) -> None:
    rows = [json.loads(line) for line in open(path)]
    print(path, "series", len(rows), "CPU per default fit", np.mean([r["cpu_fit"] for r in rows]))
    for name in rows[0]["params"]:
        p = [r["params"][name] for r in rows]
        t = np.array([x["truth_internal"] for x in p])
        th = np.array([x["theta"] for x in p])
        vs = np.array([x["v_sandwich"] for x in p])
        vn = np.array([x["v_naive"] for x in p])
        r = np.array([x["r_truth"] for x in p])
        rep = [x for x in p if not np.isnan(x["lower"])]
        ident = [x for x in p if x["identified"]]
        cover_rep = np.mean([x["lower"] < x["truth"] < x["upper"] for x in rep])
        cover_id = np.mean([x["lower"] < x["truth"] < x["upper"] for x in ident])
        kinds = sorted({x["interval"] for x in p})
        print(
            f"{name:28s} default({'/'.join(kinds)}): reported {cover_rep:.3f} "
            f"({len(rep)}), identified {cover_id:.3f} ({len(ident)}) | "
            f"wald-sandwich {np.mean(np.abs(th - t) < Z * np.sqrt(vs)):.3f} "
            f"wald-naive {np.mean(np.abs(th - t) < Z * np.sqrt(vn)):.3f} "
            f"profile-plain {np.mean(np.abs(r) < Z):.3f} "
            f"profile-sandwich {np.mean(np.abs(r) / np.sqrt(vs / vn) < Z):.3f} | "
            f"misses low/high plain {np.mean(r < -Z):.3f}/{np.mean(r > Z):.3f}"
        )


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        for path in sys.argv[2:]:
            summary(path)
    else:
        run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
