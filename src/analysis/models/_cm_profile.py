"""Private: profile-likelihood intervals of :meth:`CatMouseModel.fit` (default method).

The interval of parameter ``j`` (internal scale: log, logit for the re-creation probability)
is the set of values ``psi`` whose profile likelihood-ratio statistic

    W(psi) = 2 (max logL - max_{other parameters} logL(psi, .))

stays below the critical value ``k * chi2_1(conf)``.

``k = 1`` (plain likelihood ratio, the default of ``CatMouseModel.fit``).  The
conditional-intensity likelihood is not the exact likelihood of the simulated process (the
creations are a Poisson quasi-likelihood: each ban is re-created at most once; the day's bans
a mean-matched binomial), so the plain statistic is not exactly chi-square(1).  The sandwich
adjustment ``k = V_sandwich / V_naive`` (Kent 1982, Biometrika 69, 19-27; for one parameter
the "vertical" adjustment of Chandler & Bate 2007, Biometrika 94, 167-183) makes ``W / k``
chi-square(1) to first order *if the sandwich variance is right*.  Measured on the exact
simulator (1,000 series, ``tests/models/_cm_profile_study.py``) it is right for the creation
rate and the re-creation probability (k about 0.65; plain profiles over-cover them at 0.98-0.99,
so they keep their sandwich Wald intervals) but not for the delay: under a sustained crackdown
the spread of the log-delay estimates exceeds the sandwich standard error, the sandwich Wald
and the adjusted profile undercover, and the plain profile covers (coverage table in the
docstring of ``CatMouseModel.fit``).  The adjusted interval stays available
(``profile_adjustment="sandwich"``).

The search goes at most ``log(UNIDENTIFIED_CI_RATIO)`` (a factor 100, odds for the
probability) from the estimate on each side; a side whose statistic stays below the critical
value up to there is *open*: reported as the edge of the parameter's range (0, ``inf``, 1),
never as the search bound, and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

__all__ = ["ProfileResult", "profile_interval", "profile_loglik"]

_R_TOL = 2e-3  # on the signed root sqrt(W): W within ~0.01 of the critical value


@dataclass
class ProfileResult:
    """Profile interval of one parameter on the internal scale (``-inf``/``inf`` when open)."""

    name: str
    lower: float
    upper: float
    open_lower: bool
    open_upper: bool
    adjustment: float  # k = V_sandwich / V_naive; the critical value is k * chi2_1(conf)
    critical: float  # k * chi2_1(conf), on the plain statistic W
    points: list[tuple[float, float]] = field(default_factory=list)  # (psi, profile logL)

    def table(self, top: float, to_natural: Any) -> pd.DataFrame:
        """The evaluated profile: value (natural scale), internal value, logL, W, W / k."""
        pts = sorted(self.points)
        psi = np.array([p for p, _ in pts])
        ll = np.array([v for _, v in pts])
        w = np.maximum(2.0 * (top - ll), 0.0)
        return pd.DataFrame(
            {
                "value": [to_natural(self.name, p) for p in psi],
                "internal": psi,
                "loglik": ll,
                "lr": w,
                "lr_adjusted": w / self.adjustment,
            }
        )


def profile_loglik(
    problem: Any, theta_hat: np.ndarray, index: int, value: float, start: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """``max logL`` over the other parameters with parameter ``index`` held at ``value``
    (internal scale), and the maximising full vector.  ``start``: full vector to start from."""
    free = np.array([i for i in range(theta_hat.size) if i != index], dtype=int)
    x0 = (theta_hat if start is None else start)[free]

    def full(x: np.ndarray) -> np.ndarray:
        th = np.empty(theta_hat.size)
        th[free] = x
        th[index] = value
        return th

    def objective(x: np.ndarray) -> float:
        v = problem.loglik(full(x))
        return -float(v) if np.isfinite(v) else 1e300

    if free.size == 0:
        return -objective(x0), full(x0)
    res = optimize.minimize(objective, x0, method="L-BFGS-B")
    best = res
    if not np.isfinite(res.fun) or res.fun >= 1e299 or not res.success:
        # backs away from invalid regions (no observed stock: channels at risk hit zero)
        nm = optimize.minimize(
            objective, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-8}
        )
        if nm.fun < best.fun:
            best = nm
    return -float(best.fun), full(np.asarray(best.x))


def profile_interval(
    problem: Any,
    theta_hat: np.ndarray,
    top: float,
    index: int,
    *,
    chi2: float,
    hessian: np.ndarray,
    covariance: np.ndarray,
    max_distance: float,
    adjust: bool = True,
) -> ProfileResult:
    """Profile-likelihood interval of parameter ``index`` (see the module docstring).

    Parameters
    ----------
    top
        ``max logL`` (at ``theta_hat``).
    chi2
        ``chi2_1`` quantile at the confidence level (3.84 for 95 %).
    hessian, covariance
        Hessian of ``-logL`` at the estimate and the sandwich covariance (internal scale): the
        adjustment ``k = covariance[j, j] / inv(hessian)[j, j]`` and the warm starts.
    max_distance
        Search limit on each side (internal scale); beyond it the side is open.
    adjust
        False: the plain LR statistic (``k = 1``).
    """
    j = index
    naive = np.linalg.inv(hessian)
    k = float(covariance[j, j] / naive[j, j]) if adjust else 1.0
    if not np.isfinite(k) or k <= 0:
        k = 1.0
    crit = k * chi2
    target = float(np.sqrt(crit))
    # warm start of the other parameters: their conditional maximiser moves along
    # d theta / d psi = naive[:, j] / naive[j, j] near the estimate
    slope = naive[:, j] / naive[j, j]
    se = float(np.sqrt(covariance[j, j])) if covariance[j, j] > 0 else np.nan
    first = target * se / np.sqrt(k) if np.isfinite(se) else max_distance / 4
    first = float(np.clip(first, 1e-3, max_distance))
    psi_hat = float(theta_hat[j])
    cache: dict[float, tuple[float, np.ndarray]] = {psi_hat: (top, theta_hat)}

    def signed_root(psi: float, sign: float) -> float:
        if psi not in cache:
            near = min(cache, key=lambda p: abs(p - psi))
            start = cache[near][1] + slope * (psi - near)
            cache[psi] = profile_loglik(problem, theta_hat, j, psi, start)
        w = max(2.0 * (top - cache[psi][0]), 0.0)
        return sign * float(np.sqrt(w))

    ends = []
    opens = []
    for sign in (-1.0, 1.0):
        bound = psi_hat + sign * max_distance
        goal = sign * target
        inner, r_in = psi_hat, 0.0
        outer = psi_hat + sign * first
        r_out = signed_root(outer, sign)
        # walk outwards (secant extrapolation on the nearly linear signed root) to a bracket
        steps = 0
        while sign * r_out < target and outer != bound and steps < 12:
            slope_r = (r_out - r_in) / (outer - inner) if outer != inner else 0.0
            if sign * slope_r > 1e-9:
                jump = (goal - r_out) / slope_r * 1.1
                jump = sign * float(np.clip(sign * jump, 0.1 * first, 3.0 * abs(outer - psi_hat)))
            else:
                jump = sign * 2.0 * abs(outer - psi_hat)
            inner, r_in = outer, r_out
            outer = float(np.clip(outer + jump, min(psi_hat, bound), max(psi_hat, bound)))
            r_out = signed_root(outer, sign)
            steps += 1
        if sign * r_out < target:
            ends.append(sign * np.inf)
            opens.append(True)
            continue
        # regula falsi (Illinois) on r(psi) - goal within [inner, outer]
        a, fa = inner, r_in - goal
        b, fb = outer, r_out - goal
        side = 0
        x = b
        for _ in range(30):
            x = b - fb * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
            fx = signed_root(x, sign) - goal
            if abs(fx) < _R_TOL or abs(b - a) < 1e-6:
                break
            if np.sign(fx) == np.sign(fb):
                b, fb = x, fx
                if side == -1:
                    fa /= 2
                side = -1
            else:
                a, fa = x, fx
                if side == 1:
                    fb /= 2
                side = 1
        ends.append(float(x))
        opens.append(False)
    return ProfileResult(
        name=problem.names[j],
        lower=ends[0],
        upper=ends[1],
        open_lower=opens[0],
        open_upper=opens[1],
        adjustment=k,
        critical=crit,
        points=[(p, v[0]) for p, v in cache.items()],
    )
