"""Survival analysis of channel lifetimes: Kaplan-Meier, parametric MLE with cure, log-rank.

How long does a channel last before it is banned, and what share is never banned?  Channel
data are right-censored (channels still alive when observation ends, or ending for another
reason) and often left-truncated (a channel found after it was created is only at risk from
the moment it entered observation).  Shares and means of the finished lifetimes ignore both
and are biased low.

Estimators
----------
:class:`KaplanMeier`
    The product-limit estimator (Kaplan & Meier 1958) ``S(t) = prod_{t_j <= t} (1 - d_j/n_j)``
    with ``n_j`` the number at risk (entered before ``t_j`` and not yet removed; delayed entry
    as in Klein & Moeschberger 2003, sec. 4.6), Greenwood's (1926) variance
    ``Var S = S^2 sum d_j / (n_j (n_j - d_j))``, pointwise confidence intervals on the
    log(-log) scale (Kalbfleisch & Prentice 2002; Klein & Moeschberger eq. 4.3.2), the median
    with the Brookmeyer-Crowley style interval read off those bands, and the restricted mean
    survival time ``RMST(tau) = int_0^tau S`` with its Greenwood-type variance (Klein &
    Moeschberger sec. 4.5).  Assumes independent (non-informative) censoring and truncation.
    With delayed entry the curve is conditional on survival to the earliest entry time.
    Validated against ``scipy.stats.ecdf`` and the Freireich et al. (1963) 6-MP remission data.
:class:`ParametricSurvival`
    Maximum likelihood for exponential, Weibull, log-normal and log-logistic lifetimes with
    right censoring and delayed entry, optionally a mixture cure model ``S(t) = pi + (1 - pi)
    S_u(t)`` (Farewell 1982; Maller & Zhou 1996) where ``pi`` is the share that never has the
    event (a channel never banned, a banned channel never re-created).  Confidence intervals
    are Wald intervals from the observed information on the log scale of positive parameters;
    the cure fraction gets a profile-likelihood interval (``pi`` is often near 0 or 1, where
    Wald intervals fail).  Model choice by AIC/BIC.  Assumes the chosen family is right and
    censoring is independent; the cure fraction is only identified when follow-up is long
    relative to the event times (Maller & Zhou).
:func:`logrank_test`
    Mantel (1966) / Peto & Peto (1972) log-rank test of equal survival in two cohorts, with
    delayed entry supported through the risk sets.

Durations are float days throughout.  All computations are vectorised (sorting and cumulative
sums); there are no Python loops over observations.

References
----------
Kaplan, E.L. & Meier, P. (1958). Nonparametric estimation from incomplete observations.
JASA 53, 457-481.  Greenwood, M. (1926). The natural duration of cancer. Reports on Public
Health and Medical Subjects 33, HMSO.  Klein, J.P. & Moeschberger, M.L. (2003). Survival
Analysis: Techniques for Censored and Truncated Data, 2nd ed., Springer.  Freireich, E.J. et
al. (1963). The effect of 6-mercaptopurine on the duration of steroid-induced remissions in
acute leukemia. Blood 21, 699-716.  Farewell, V.T. (1982). The use of mixture models for the
analysis of survival data with long-term survivors. Biometrics 38, 1041-1046.  Maller, R.A. &
Zhou, X. (1996). Survival Analysis with Long-Term Survivors. Wiley.  Brookmeyer, R. & Crowley,
J. (1982). A confidence interval for the median survival time. Biometrics 38, 29-41.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from analysis.errors import ModelError
from analysis.models import _parametric as par
from analysis.models._validate import check_survival_data

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "KaplanMeier",
    "LogRankResult",
    "ParametricSurvival",
    "RMSTResult",
    "logrank_test",
]

SUMMARY_COLUMNS = ["estimate", "se", "ci_lower", "ci_upper"]


@dataclass(frozen=True)
class RMSTResult:
    """Restricted mean survival time up to ``tau`` days, with a normal-theory CI."""

    tau: float
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float


@dataclass(frozen=True)
class LogRankResult:
    """Two-sample log-rank test (1 degree of freedom)."""

    statistic: float
    p_value: float
    observed_a: float
    expected_a: float
    observed_b: float
    expected_b: float
    variance: float


def _z(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ModelError(f"alpha={alpha!r}; expected 0 < alpha < 1")
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


def _not_fitted(obj: object) -> ModelError:
    return ModelError(f"{type(obj).__name__} is not fitted; call .fit(durations, ...) first")


def _risk_table(
    t: np.ndarray, e: np.ndarray, entry: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times, number at risk and number of events at each (one sort).

    Non-negative doubles order like their IEEE-754 bit patterns read as unsigned integers, so
    ``bits(t) << 1 | censored`` sorts by time with the event flag attached: a single integer
    sort replaces an argsort and a gather.
    """
    key = np.ascontiguousarray(t, dtype=np.float64).view(np.uint64) << np.uint64(1)
    key |= (~e).astype(np.uint64)
    key.sort()
    is_event = (key & np.uint64(1)) == 0
    ts = (key >> np.uint64(1)).view(np.float64)
    new = np.empty(ts.size, dtype=bool)
    new[0] = True
    np.not_equal(ts[1:], ts[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    times = ts[starts]
    ev_cum = np.concatenate([[0], np.cumsum(is_event)])
    ends = np.append(starts[1:], ts.size)
    deaths = (ev_cum[ends] - ev_cum[starts]).astype(float)
    if entry is None:
        at_risk = (ts.size - starts).astype(float)
    else:
        entered = np.searchsorted(np.sort(entry), times, side="left")  # entry < t
        at_risk = (entered - starts).astype(float)
    return times, at_risk, deaths


class KaplanMeier:
    """Kaplan-Meier estimator with right censoring and delayed entry.

    Parameters
    ----------
    alpha
        1 - confidence level of the intervals (default 0.05: 95 % intervals).

    Attributes (after :meth:`fit`)
    ------------------------------
    survival_function_ : pandas.DataFrame
        Indexed by ``time_days`` (0 and every distinct duration); columns ``survival``,
        ``ci_lower``, ``ci_upper`` (log-log pointwise band), ``variance`` (Greenwood).
    event_table_ : pandas.DataFrame
        ``at_risk`` and ``observed`` (events) at each distinct duration.
    median_, median_ci_ : float, tuple[float, float]
        Median survival in days (smallest t with S(t) <= 0.5) and its interval (``inf`` upper
        bound when the lower band never crosses 0.5).  When the curve never reaches 0.5
        ``median_`` is ``inf`` ("not reached": more than half are still event-free at the
        last time); :attr:`summary` says so in words, and a fit with zero events warns.
    summary : pandas.DataFrame
        Rows ``n``, ``events``, ``median_days`` and ``rmst_days`` (restricted mean up to the
        last observed time ``tau``), columns ``estimate, se, ci_lower, ci_upper, note``.
    n_, n_events_ : int
    """

    def __init__(self, alpha: float = 0.05) -> None:
        self.alpha = alpha

    def fit(self, durations: Any, event_observed: Any = None, entry: Any = None) -> KaplanMeier:
        """Fit to durations in days; ``event_observed`` 0 = censored; ``entry`` delayed entry."""
        _z(self.alpha)
        t, e, en = check_survival_data(durations, event_observed, entry)
        times, at_risk, deaths = _risk_table(t, e, en)
        with np.errstate(divide="ignore", invalid="ignore"):
            surv = np.cumprod(1.0 - np.where(at_risk > 0, deaths / at_risk, 0.0))
        self._times, self._surv = times, surv
        self._at_risk, self._deaths = at_risk, deaths
        self._bands: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.n_ = int(t.size)
        self.n_events_ = int(e.sum())
        self.median_ = self._first_below(surv)
        if self.n_events_ == 0:
            import warnings

            warnings.warn(
                f"KaplanMeier: zero events among {self.n_} durations; the survival curve is 1 "
                "everywhere and the median is not reached (median_ = inf)",
                UserWarning,
                stacklevel=2,
            )
        return self

    @property
    def summary(self) -> pd.DataFrame:
        """``n``, ``events``, median (with its interval) and RMST up to the last time.

        ``note`` says ``"not reached"`` when the median (or a bound) is infinite: the curve
        stays above 0.5 up to the last observed time, so only a lower bound is known.
        """
        self._check()
        tmax = float(self._times[-1])
        lo, hi = self.median_ci_
        if np.isfinite(self.median_):
            note = "" if np.isfinite(hi) else "upper bound not reached"
        else:
            s_last = float(self._surv[-1])
            note = f"not reached (S = {s_last:.3g} > 0.5 at the last time, {tmax:g} days)"
        rows = {
            "n": [float(self.n_), np.nan, np.nan, np.nan, ""],
            "events": [float(self.n_events_), np.nan, np.nan, np.nan, ""],
            "median_days": [self.median_, np.nan, lo, hi, note],
        }
        if tmax > 0:
            r = self.rmst(tmax)
            rows["rmst_days"] = [r.estimate, r.se, r.ci_lower, r.ci_upper, f"tau = {tmax:g} days"]
        out = pd.DataFrame.from_dict(rows, orient="index", columns=[*SUMMARY_COLUMNS, "note"])
        out.index.name = "quantity"
        return out

    def _confidence_bands(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Greenwood sum and log-log band, computed on first use (then cached)."""
        if self._bands is None:
            z = _z(self.alpha)
            surv, at_risk, deaths = self._surv, self._at_risk, self._deaths
            with np.errstate(divide="ignore", invalid="ignore"):
                term = np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), 0.0)
                term[(at_risk == deaths) & (deaths > 0)] = np.inf
                gw = np.cumsum(term)
                sd = np.sqrt(gw) / np.abs(np.log(surv))
                lower = surv ** np.exp(z * sd)
                upper = surv ** np.exp(-z * sd)
            one = surv >= 1.0
            zero = surv <= 0.0
            lower[one], upper[one] = 1.0, 1.0
            lower[zero], upper[zero] = 0.0, 0.0
            self._bands = (gw, lower, upper)
        return self._bands

    @property
    def median_ci_(self) -> tuple[float, float]:
        """Interval of the median: where the upper/lower log-log bands cross 0.5."""
        self._check()
        _, lower, upper = self._confidence_bands()
        return (self._first_below(lower), self._first_below(upper))

    def _first_below(self, curve: np.ndarray, level: float = 0.5) -> float:
        idx = np.flatnonzero(curve <= level)
        return float(self._times[idx[0]]) if idx.size else float("inf")

    def _check(self) -> None:
        if not hasattr(self, "_times"):
            raise _not_fitted(self)

    @property
    def survival_function_(self) -> pd.DataFrame:
        """Survival curve with its log-log confidence band and Greenwood variance."""
        self._check()
        gw, lo, hi = self._confidence_bands()
        times, s = self._times, self._surv
        with np.errstate(invalid="ignore"):
            var = np.where(s > 0, s**2 * gw, 0.0)
        if times[0] > 0:
            times = np.concatenate([[0.0], times])
            s, lo, hi = (np.concatenate([[1.0], a]) for a in (s, lo, hi))
            var = np.concatenate([[0.0], var])
        return pd.DataFrame(
            {"survival": s, "ci_lower": lo, "ci_upper": hi, "variance": var},
            index=pd.Index(times, name="time_days"),
        )

    @property
    def event_table_(self) -> pd.DataFrame:
        """Numbers at risk, events and removals at each distinct duration."""
        self._check()
        return pd.DataFrame(
            {"at_risk": self._at_risk, "observed": self._deaths},
            index=pd.Index(self._times, name="time_days"),
        )

    def survival_at(self, times: Any) -> np.ndarray:
        """S(t) at the given times in days (right-continuous step function)."""
        self._check()
        q = np.asarray(times, dtype=float)
        idx = np.searchsorted(self._times, q, side="right") - 1
        return np.where(idx >= 0, self._surv[np.maximum(idx, 0)], 1.0)

    predict = survival_at

    def rmst(self, tau: float) -> RMSTResult:
        """Restricted mean survival time ``int_0^tau S(t) dt`` in days, with Greenwood CI."""
        self._check()
        if not tau > 0:
            raise ModelError(f"tau={tau!r}; expected tau > 0 days")
        keep = self._times < tau
        t = self._times[keep]
        s = self._surv[keep]
        grid = np.concatenate([[0.0], t, [tau]])
        level = np.concatenate([[1.0], s])
        area = level * np.diff(grid)  # area of each step up to tau
        estimate = float(area.sum())
        # A_j = int_{t_j}^{tau} S: area from step j onwards (steps start at t_j).
        tail = np.cumsum(area[::-1])[::-1][1:]
        d, n = self._deaths[keep], self._at_risk[keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(n > d, d / (n * (n - d)), 0.0)
        var = float((tail**2 * w).sum())
        se = np.sqrt(var)
        z = _z(self.alpha)
        return RMSTResult(float(tau), estimate, float(se), estimate - z * se, estimate + z * se)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Step plot of the survival curve with its confidence band; returns the Axes."""
        import matplotlib.pyplot as plt

        sf = self.survival_function_
        if ax is None:
            _, ax = plt.subplots()
        x = sf.index.to_numpy()
        (line,) = ax.step(x, sf["survival"], where="post", **kwargs)
        ax.fill_between(
            x, sf["ci_lower"], sf["ci_upper"], step="post", alpha=0.25, color=line.get_color()
        )
        ax.set_xlabel("days")
        ax.set_ylabel("survival probability")
        ax.set_ylim(0, 1.02)
        return ax


class ParametricSurvival:
    """Parametric lifetime model by censored, left-truncated maximum likelihood.

    Parameters
    ----------
    distribution
        ``'weibull'`` (scale, shape; S = exp(-(t/scale)^shape)), ``'exponential'`` (scale =
        mean days), ``'lognormal'`` (mu, sigma of log-days) or ``'loglogistic'`` (scale =
        median, shape; S = 1 / (1 + (t/scale)^shape)).
    cure
        Add a cure fraction ``pi`` (share that never has the event): S = pi + (1 - pi) S_u.
    alpha
        1 - confidence level.

    Attributes (after :meth:`fit`)
    ------------------------------
    params_ : pandas.Series
        Estimates on the natural scale (``scale``/``shape``, ``mu``/``sigma``, and
        ``cure_fraction`` when ``cure``).
    summary : pandas.DataFrame
        ``estimate, se, ci_lower, ci_upper`` per parameter (``cure_fraction`` interval by profile
        likelihood).
    cure_fraction_, cure_fraction_ci_ : float, tuple (only with ``cure``; 0 otherwise)
    log_likelihood_, aic_, bic_, n_, n_events_
    median_, median_ci_ : median of the population survival (``inf`` if S never reaches 0.5)
    survival_function_ : pandas.DataFrame on a 200-point grid up to the longest duration.
    """

    def __init__(self, distribution: str = "weibull", cure: bool = False, alpha: float = 0.05):
        if distribution not in par.FAMILIES:
            raise ModelError(f"distribution={distribution!r}; expected one of {list(par.FAMILIES)}")
        self.distribution = distribution
        self.cure = bool(cure)
        self.alpha = alpha

    # ----------------------------------------------------------------- fitting
    def fit(
        self, durations: Any, event_observed: Any = None, entry: Any = None
    ) -> ParametricSurvival:
        """Fit by maximum likelihood to durations in days (> 0)."""
        self._zval = _z(self.alpha)
        t, e, en = check_survival_data(durations, event_observed, entry, positive=True)
        data = par.Data(t, e, en)
        fam = self.distribution
        theta, ll, hess = par.fit_aft(fam, data)
        if self.cure:
            km_tail = float(KaplanMeier().fit(t, e, en)._surv[-1])
            pi0 = float(np.clip(km_tail, 0.02, 0.98))
            start = np.array([theta[0], theta[1], special.logit(pi0)])
            # The uncured lifetimes are shorter than the naive fit suggests: start lower too.
            start[0] -= 0.5 * np.exp(theta[1])
            theta, ll = par.fit_cure(fam, data, start)
            hess = par.cure_hessian(fam, theta, data)
            self._data = data
        else:
            theta = np.array([theta[0], theta[1], -np.inf])
            k = 1 if fam == "exponential" else 2
            hess = hess[:k, :k]
        idx = self._free_index()
        try:
            cov_free = np.linalg.inv(-hess)
        except np.linalg.LinAlgError:
            cov_free = np.full_like(hess, np.nan)
        cov = np.zeros((3, 3))
        cov[np.ix_(idx, idx)] = cov_free
        self._theta, self._cov = theta, cov
        self._data = data
        self.n_ = int(t.size)
        self.n_events_ = int(e.sum())
        self._tmax = float(t.max())
        self.log_likelihood_ = float(ll)
        k = len(idx)
        self.aic_ = 2.0 * k - 2.0 * ll
        self.bic_ = k * np.log(self.n_) - 2.0 * ll
        self._build_summary()
        self.median_ = self._quantile_time(0.5, theta)
        self.median_ci_ = self._median_ci()
        return self

    def _free_index(self) -> list[int]:
        idx = [0] if self.distribution == "exponential" else [0, 1]
        return [*idx, 2] if self.cure else idx

    def _build_summary(self) -> None:
        mu, s, eta = self._theta
        cov, z = self._cov, self._zval
        se_mu, se_s = np.sqrt(max(cov[0, 0], 0.0)), np.sqrt(max(cov[1, 1], 0.0))
        rows: dict[str, list[float]] = {}
        if self.distribution == "lognormal":
            rows["mu"] = [mu, se_mu, mu - z * se_mu, mu + z * se_mu]
            sg = np.exp(s)
            rows["sigma"] = [sg, sg * se_s, np.exp(s - z * se_s), np.exp(s + z * se_s)]
        else:
            sc = np.exp(mu)
            rows["scale"] = [sc, sc * se_mu, np.exp(mu - z * se_mu), np.exp(mu + z * se_mu)]
            if self.distribution != "exponential":
                sh = np.exp(-s)
                rows["shape"] = [sh, sh * se_s, np.exp(-s - z * se_s), np.exp(-s + z * se_s)]
        if self.cure:
            pi = float(special.expit(eta))
            se_pi = pi * (1 - pi) * np.sqrt(max(cov[2, 2], 0.0))
            lo, hi = self._profile_cure_ci()
            rows["cure_fraction"] = [pi, se_pi, lo, hi]
            self.cure_fraction_, self.cure_fraction_ci_ = pi, (lo, hi)
        else:
            self.cure_fraction_, self.cure_fraction_ci_ = 0.0, (0.0, 0.0)
        self.summary = pd.DataFrame.from_dict(rows, orient="index", columns=SUMMARY_COLUMNS)
        self.summary.index.name = "parameter"
        self.params_ = self.summary["estimate"].copy()

    def _profile_cure_ci(self) -> tuple[float, float]:
        """Profile-likelihood interval of the cure fraction (boundaries 0 and 1 allowed).

        The bound on ``eta = logit(pi)`` solves ``l_p(eta) = l_max - chi2_1(1 - alpha) / 2``;
        the search starts at the Wald bound and widens until the crossing is bracketed.  When
        the profile never drops that far the interval reaches 0 (or 1).
        """
        fam, data, theta = self.distribution, self._data, self._theta
        crit = self.log_likelihood_ - 0.5 * stats.chi2.ppf(1.0 - self.alpha, 1)
        warm = [theta.copy()]

        def gap(eta: float) -> float:
            th, ll = par.fit_cure(fam, data, warm[0], eta_fixed=eta)
            warm[0] = th
            return ll - crit

        eta_hat = float(theta[2])
        se = float(np.sqrt(self._cov[2, 2]))
        width = self._zval * se if np.isfinite(se) and se > 0 else 1.0
        bounds = []
        for direction in (-1.0, 1.0):
            warm[0] = theta.copy()
            inner, dist = eta_hat, float(np.clip(width, 0.05, 5.0))
            outer = eta_hat + direction * dist
            while gap(outer) > 0:
                if dist >= 40.0:
                    outer = None
                    break
                inner, dist = outer, 2.0 * dist
                outer = eta_hat + direction * dist
            if outer is None:
                bounds.append(0.0 if direction < 0 else 1.0)
                continue
            warm[0] = theta.copy()
            root = optimize.brentq(gap, inner, outer, xtol=1e-7)
            bounds.append(float(special.expit(root)))
        return bounds[0], bounds[1]

    # ------------------------------------------------------------- prediction
    def _check(self) -> None:
        if not hasattr(self, "_theta"):
            raise _not_fitted(self)

    def _surv(self, t: np.ndarray, theta: np.ndarray) -> np.ndarray:
        mu, s, eta = theta
        with np.errstate(divide="ignore"):
            z = (np.log(t) - mu) / np.exp(s)
        su = np.exp(par.log_sf0(self.distribution, z)[0])
        if not self.cure:
            return su
        pi = special.expit(eta)
        return pi + (1.0 - pi) * su

    def _quantile_time(self, p: float, theta: np.ndarray) -> float:
        """Time at which the population survival falls to ``p`` (inf if never)."""
        mu, s, eta = theta
        if self.cure:
            pi = float(special.expit(eta))
            if pi >= p:
                return float("inf")
            p = (p - pi) / (1.0 - pi)
        return float(np.exp(mu + np.exp(s) * par.quantile0(self.distribution, p)))

    def _grad_theta(self, func, eps: float = 1e-6) -> np.ndarray:
        """Numerical gradient of ``func(theta)`` (array-valued) in the free parameters."""
        theta = self._theta
        base = np.asarray(func(theta), dtype=float)
        grads = np.zeros((3, *base.shape))
        for i in self._free_index():
            h = eps * max(1.0, abs(theta[i]))
            up, dn = theta.copy(), theta.copy()
            up[i] += h
            dn[i] -= h
            grads[i] = (np.asarray(func(up)) - np.asarray(func(dn))) / (2 * h)
        return grads

    def _delta_se(self, func) -> np.ndarray:
        g = self._grad_theta(func)
        g2 = g.reshape(3, -1)
        return np.sqrt(np.maximum(np.einsum("ik,ij,jk->k", g2, self._cov, g2), 0.0)).reshape(
            g.shape[1:]
        )

    def _median_ci(self) -> tuple[float, float]:
        if not np.isfinite(self.median_):
            return (float("inf"), float("inf"))
        se = float(self._delta_se(lambda th: np.log(self._quantile_time(0.5, th))))
        lm, z = np.log(self.median_), self._zval
        return float(np.exp(lm - z * se)), float(np.exp(lm + z * se))

    def survival_at(self, times: Any) -> np.ndarray:
        """Population survival S(t) at the given times in days."""
        self._check()
        q = np.asarray(times, dtype=float)
        return np.where(q <= 0, 1.0, self._surv(np.maximum(q, 1e-300), self._theta))

    predict = survival_at

    @property
    def survival_function_(self) -> pd.DataFrame:
        """S(t) on a 200-point grid with pointwise delta-method log(-log) intervals."""
        self._check()
        grid = np.linspace(0.0, self._tmax, 201)[1:]
        s = self._surv(grid, self._theta)

        def cloglog(th: np.ndarray) -> np.ndarray:
            return np.log(-np.log(np.clip(self._surv(grid, th), 1e-300, 1 - 1e-16)))

        se = self._delta_se(cloglog)
        z = self._zval
        lo = s ** np.exp(z * se)
        hi = s ** np.exp(-z * se)
        return pd.DataFrame(
            {"survival": np.r_[1.0, s], "ci_lower": np.r_[1.0, lo], "ci_upper": np.r_[1.0, hi]},
            index=pd.Index(np.r_[0.0, grid], name="time_days"),
        )

    def rmst(self, tau: float, n_grid: int = 2001) -> RMSTResult:
        """Restricted mean survival time up to ``tau`` days (Simpson's rule, delta-method CI)."""
        self._check()
        if not tau > 0:
            raise ModelError(f"tau={tau!r}; expected tau > 0 days")
        n_grid += (n_grid + 1) % 2  # odd number of points for Simpson
        grid = np.linspace(0.0, tau, n_grid)

        def area(th: np.ndarray) -> float:
            s = np.r_[1.0, self._surv(grid[1:], th)]
            from scipy.integrate import simpson

            return float(simpson(s, x=grid))

        est = area(self._theta)
        se = float(self._delta_se(area))
        z = self._zval
        return RMSTResult(float(tau), est, se, est - z * se, est + z * se)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Plot the fitted survival curve and its band; returns the Axes."""
        import matplotlib.pyplot as plt

        sf = self.survival_function_
        if ax is None:
            _, ax = plt.subplots()
        x = sf.index.to_numpy()
        (line,) = ax.plot(x, sf["survival"], **kwargs)
        ax.fill_between(x, sf["ci_lower"], sf["ci_upper"], alpha=0.25, color=line.get_color())
        ax.set_xlabel("days")
        ax.set_ylabel("survival probability")
        ax.set_ylim(0, 1.02)
        return ax


def logrank_test(
    durations_a: Any,
    durations_b: Any,
    event_observed_a: Any = None,
    event_observed_b: Any = None,
    entry_a: Any = None,
    entry_b: Any = None,
) -> LogRankResult:
    """Two-sample log-rank test of equal survival (chi-square, 1 df).

    ``O - E`` and its hypergeometric variance are summed over the distinct event times of the
    pooled sample; risk sets honour delayed entry.  Durations in days.
    """
    ta, ea, na = check_survival_data(durations_a, event_observed_a, entry_a)
    tb, eb, nb = check_survival_data(durations_b, event_observed_b, entry_b)
    t = np.concatenate([ta, tb])
    e = np.concatenate([ea, eb])
    event_times = np.unique(t[e])
    if event_times.size == 0:
        raise ModelError("logrank_test: no observed events in either group")

    def group(tg: np.ndarray, eg: np.ndarray, ng: np.ndarray | None) -> tuple[np.ndarray, ...]:
        ts = np.sort(tg)
        te = np.sort(tg[eg])
        left = np.searchsorted(ts, event_times, side="left")  # removed before t
        if ng is None:
            risk = tg.size - left
        else:
            risk = np.searchsorted(np.sort(ng), event_times, side="left") - left
        d = np.searchsorted(te, event_times, "right") - np.searchsorted(te, event_times, "left")
        return risk.astype(float), d.astype(float)

    ra, da = group(ta, ea, na)
    rb, db = group(tb, eb, nb)
    r, d = ra + rb, da + db
    with np.errstate(divide="ignore", invalid="ignore"):
        exp_a = np.where(r > 0, d * ra / r, 0.0)
        var = np.where(r > 1, d * (ra / r) * (rb / r) * (r - d) / (r - 1.0), 0.0)
    o_a, e_a, v = float(da.sum()), float(exp_a.sum()), float(var.sum())
    if v <= 0:
        raise ModelError("logrank_test: zero variance (no overlap of the two risk sets)")
    stat = (o_a - e_a) ** 2 / v
    return LogRankResult(
        statistic=float(stat),
        p_value=float(stats.chi2.sf(stat, 1)),
        observed_a=o_a,
        expected_a=e_a,
        observed_b=float(db.sum()),
        expected_b=float(d.sum()) - e_a,
        variance=v,
    )
