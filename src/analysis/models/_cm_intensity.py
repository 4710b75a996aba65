"""Private: the conditional-intensity likelihood of the cat-and-mouse model (issue 12).

The daily series are *not* independent counts around the mean field: ``active`` is a stock
(``active_t = active_{t-1} + creations_t - bans_t``).  The likelihood used by default is
therefore written day by day, each count given the observed past (a partial likelihood in
the sense of Andersen, Borgan, Gill & Keiding; multiplicative intensity of Aalen):

* **bans on day t** given the channels at risk: every channel active at the start of the
  day is banned during it with probability ``p_t = 1 - exp(-H_t)`` (``H_t`` the integrated
  ban hazard of the day, baseline plus crackdowns); a channel created during the day (at a
  uniform time) with probability ``q_t = 1 - (1 - exp(-H_t)) / H_t``.  The count is taken
  Binomial(``n_t``, ``pi_t``) with ``n_t = active_{t-1} + creations_t`` and the mean-matched
  ``pi_t = (active_{t-1} p_t + creations_t q_t) / n_t``;
* **creations on day t** given the past bans: Poisson with mean
  ``lambda + rho * (sum_{s<=t} bans_s w_{t-s} + b_pre (1 - W_t))``, a renewal (Hawkes-like)
  term in which ``w_k`` is the probability that a re-creation lands ``k`` days after the day
  of its ban (ban at a uniform time of the day, Gamma(m, mean d) delay) and ``W_t`` its
  cumulative sum; ``b_pre`` is the daily ban count before day 0 (``mu_0 * active_{-1}`` for a
  population at equilibrium, 0 when nothing is pending at day 0).

The initial state ``active_{-1} = active_0 - creations_0 + bans_0`` is observed (or, without an
``active`` column, the stationary mean).  The likelihood is exact up to two approximations:
the banned-on-the-day probability of channels born that day assumes uniform birth times,
and the re-creation term ignores that a ban's re-creation, once seen, cannot occur again
(Hawkes approximation).  Coverage of the resulting intervals (sandwich Wald; profile
likelihood for the delay, :mod:`analysis.models._cm_profile`) is tested by simulation on the
exact process (``tests/models/test_catmouse_intensity.py``, ``test_catmouse_profile.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import ModelError

__all__ = ["IntensityData", "delay_day_weights", "intensity_loglik", "prepare_intensity_data"]


@dataclass(frozen=True)
class IntensityData:
    """Arrays the conditional-intensity likelihood needs (contiguous days)."""

    day0: int
    bans: np.ndarray
    creations: np.ndarray
    active_prev: np.ndarray | None  # active at the start of each day (None: not observed)
    grid: np.ndarray  # day edges day0 .. day0 + T

    @property
    def n_days(self) -> int:
        return int(self.bans.size)


def prepare_intensity_data(series: pd.DataFrame) -> IntensityData:
    """Check and convert the normalised daily series (see ``_cm_fit.normalise_series``).

    Needs ``bans`` and ``creations`` (or two of ``active``, ``bans``, ``creations`` from which
    the third follows) on contiguous days without missing values.
    """
    data = series.sort_values("day").reset_index(drop=True)
    days = data["day"].to_numpy(dtype=np.int64)
    if days.size < 2:
        raise ModelError("CatMouseModel.fit needs at least 2 days of data")
    gaps = np.flatnonzero(np.diff(days) != 1)
    if gaps.size:
        raise ModelError(
            f"the conditional-intensity likelihood needs contiguous days; day "
            f"{int(days[gaps[0]])} is followed by day {int(days[gaps[0] + 1])} (fill the gap, "
            "cut the series, or use method='independent_counts')"
        )
    cols = {c: data[c].to_numpy(dtype=float) for c in ("active", "bans", "creations") if c in data}
    for name, values in cols.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ModelError(
                f"column {name!r} is missing on day {int(days[bad[0]])} (row {int(bad[0])}); the "
                "conditional-intensity likelihood needs every day (or use "
                "method='independent_counts')"
            )
        if np.any(values != np.round(values)):
            raise ModelError(f"column {name!r} must hold whole counts")
    active = cols.get("active")
    bans = cols.get("bans")
    creations = cols.get("creations")
    if bans is None or creations is None:
        raise ModelError(
            "the conditional-intensity likelihood needs the columns 'bans' and 'creations' "
            f"(got {sorted(cols)}); with 'active' only use method='independent_counts'"
        )
    active_prev = None
    if active is not None:
        active_prev = np.concatenate([[active[0] - creations[0] + bans[0]], active[:-1]])
        at_risk = active_prev + creations
        bad = np.flatnonzero(active_prev < 0)
        if bad.size:
            i = int(bad[0])
            raise ModelError(
                f"day {int(days[i])} (row {i}): the channels active at the start of the day "
                f"come out negative ({int(active_prev[i])}: active of the day before, or "
                "active - creations + bans on the first day); check the series"
            )
        bad = np.flatnonzero(bans > at_risk)
        if bad.size:
            i = int(bad[0])
            raise ModelError(
                f"day {int(days[i])} (row {i}): {int(bans[i])} bans but only "
                f"{int(at_risk[i])} channels at risk (active at the start of the day "
                f"{int(active_prev[i])} plus {int(creations[i])} created); check the series"
            )
    if bans.sum() == 0:
        raise ModelError("no bans in the data: the ban hazard is not identified (zero events)")
    return IntensityData(
        day0=int(days[0]),
        bans=bans,
        creations=creations,
        active_prev=active_prev,
        grid=np.arange(days[0], days[-1] + 2, dtype=float),
    )


def _integrated_cdf(x: np.ndarray, shape: int, mean: float) -> np.ndarray:
    """``G(x) = int_0^x F(y) dy`` for the Gamma(shape, mean) delay (0 for x <= 0)."""
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    if mean <= 0:
        return x
    scale = mean / shape
    return x * special.gammainc(shape, x / scale) - mean * special.gammainc(shape + 1, x / scale)


def delay_day_weights(n_lags: int, shape: int, mean: float) -> np.ndarray:
    """``w_k``, k = 0..n_lags-1: probability that a re-creation lands ``k`` days after the day of
    its ban (ban at a uniform time within its day, Gamma(``shape``, ``mean``) delay).

    ``w_k = G(k + 1) - 2 G(k) + G(k - 1)`` with ``G`` the integrated delay CDF.
    """
    g = _integrated_cdf(np.arange(-1, n_lags + 1, dtype=float), shape, mean)
    w = g[2:] - 2.0 * g[1:-1] + g[:-2]
    return np.clip(w, 0.0, 1.0)


def _ban_probabilities(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Banned-within-the-day probabilities for channels present at its start (``p``) and born
    at a uniform time during it (``q``), given the day's integrated hazard ``h``."""
    p = -np.expm1(-h)
    small = h < 1e-6
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(small, h / 2.0 - h**2 / 6.0, 1.0 - p / np.where(small, 1.0, h))
    return p, q


_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)
_U = (_NODES + 1.0) / 2.0  # Gauss-Legendre nodes on [0, 1]
_WU = _WEIGHTS / 2.0


def _ban_time_density(h: float) -> np.ndarray:
    """Density, at the nodes ``_U``, of the ban time within a day of integrated hazard ``h``
    for a channel present at the start of the day (truncated exponential; uniform as h -> 0)."""
    if h < 1e-8:
        return np.ones_like(_U)
    return h * np.exp(-h * _U) / -np.expm1(-h)


def _delay_cdf(x: np.ndarray, shape: int, mean: float) -> np.ndarray:
    x = np.maximum(x, 0.0)
    if mean <= 0:
        return (x >= 0).astype(float)
    if shape == 1:
        return -np.expm1(-x / mean)
    return special.gammainc(shape, x * shape / mean)


def day_kernel(h: float, n_lags: int, shape: int, mean: float) -> tuple[np.ndarray, float, float]:
    """Re-creation landing weights for bans on a day of integrated hazard ``h``.

    Returns ``w`` (``w_k``: probability that a re-creation lands ``k`` days after the day of its
    ban, ban times distributed as for the channels present at the start of the day), ``w[0]``
    and ``q_same``: the probability that a re-creation landing on the same day is itself
    banned before the day ends.
    """
    if h < 1e-8 or mean <= 0:
        w = delay_day_weights(n_lags, shape, mean)
    else:
        dens = _ban_time_density(h) * _WU
        k = np.arange(n_lags + 1, dtype=float)[:, None]
        cdf = _delay_cdf(k - _U[None, :], shape, mean)
        w = np.diff(cdf, axis=0) @ dens
    w0 = float(w[0]) if w.size else 0.0
    if w0 <= 1e-12:
        return w, w0, 0.0
    # same-day re-creations: ban at u, delay D < 1 - u, banned in (u + D, 1) with hazard h
    dens = _ban_time_density(h) * _WU
    span = 1.0 - _U  # room left in the day after a ban at u
    if mean <= 0:
        inner = -np.expm1(-h * span)  # immediate re-creation at u
    else:
        d_nodes = span[:, None] * _U[None, :]  # D nodes on [0, 1 - u]
        if shape == 1:
            g = np.exp(-d_nodes / mean) / mean
        else:
            scale = mean / shape
            g = np.exp(
                (shape - 1) * np.log(np.maximum(d_nodes, 1e-300))
                - d_nodes / scale
                - special.gammaln(shape)
                - shape * np.log(scale)
            )
        banned = -np.expm1(-h * (span[:, None] - d_nodes))
        inner = (g * banned) @ _WU * span
    q_same = float(np.clip(inner @ dens / w0, 0.0, 1.0))
    return w, w0, q_same


def _n_lags(n_days: int, shape: int, mean: float) -> int:
    """Lags beyond which the delay tail is below 1e-12 (at most the series length)."""
    if mean <= 0:
        return 1
    tail = float(special.gammainccinv(shape, 1e-12)) * mean / shape
    return int(min(n_days, np.ceil(tail) + 2))


def intensity_loglik(
    data: IntensityData,
    *,
    creation_rate: float,
    daily_hazard: np.ndarray,
    baseline_hazard: float,
    recreation_probability: float,
    delay_mean: float,
    delay_shape: int,
    initial_active: float | None,
    pending_at_start: bool,
    parts: bool = False,
) -> Any:
    """Conditional-intensity log-likelihood (terms free of the parameters dropped).

    Parameters
    ----------
    daily_hazard
        Integrated ban hazard of every day (length ``n_days``).
    initial_active
        Channels active at the start of day 0 when ``active`` is not observed.
    pending_at_start
        True: re-creations pending at day 0 from bans before it at the daily rate
        ``baseline_hazard * active_{-1}`` (a population at equilibrium); False: none.
    """
    bans, creations = data.bans, data.creations
    if data.active_prev is None:
        if initial_active is None:
            raise ModelError("initial_active is needed when 'active' is not observed")
        active = initial_active + np.cumsum(creations - bans)
        active_prev = np.concatenate([[initial_active], active[:-1]])
        if np.any(active_prev < 0):
            return {"bans": -np.inf, "creations": -np.inf} if parts else -np.inf
    else:
        active_prev = data.active_prev
    n = data.n_days
    rho = recreation_probability
    n_lags = _n_lags(n, delay_shape, delay_mean)
    echo = np.zeros(n + n_lags - 1)
    w0 = np.zeros(n)
    q_same = np.zeros(n)
    keys = np.round(daily_hazard, 12)
    kernels = []
    for h in np.unique(keys):
        days = keys == h
        w, w0_h, q_h = day_kernel(float(h), n_lags, delay_shape, delay_mean)
        echo += np.convolve(np.where(days, bans, 0.0), w)
        w0[days], q_same[days] = w0_h, q_h
        kernels.append((days, w))
    echo = echo[:n]
    if pending_at_start:
        w_base = delay_day_weights(n_lags, delay_shape, delay_mean)
        tail = np.clip(1.0 - np.cumsum(w_base), 0.0, 1.0)
        tail = np.concatenate([tail, np.zeros(max(n - n_lags, 0))])[:n]
        echo = echo + baseline_hazard * active_prev[0] * tail

    # bans given the channels at risk; same-day re-creations are born late in the day
    p, q = _ban_probabilities(daily_hazard)
    same_day = np.minimum(rho * w0 * active_prev * p, creations)
    expected_bans = active_prev * p + (creations - same_day) * q + same_day * q_same
    at_risk = active_prev + creations
    with np.errstate(divide="ignore", invalid="ignore"):
        pi = np.where(at_risk > 0, expected_bans / at_risk, 0.0)
    pi = np.clip(pi, 1e-300, 1.0 - 1e-16)
    day_bans = special.xlogy(bans, pi) + special.xlog1py(at_risk - bans, -pi)
    if data.active_prev is None:  # the channels at risk depend on the parameters
        day_bans = day_bans + special.gammaln(at_risk + 1.0) - special.gammaln(at_risk - bans + 1.0)
    ll_bans = np.sum(day_bans)

    mean = np.maximum(creation_rate + rho * echo, 1e-300)
    day_creations = special.xlogy(creations, mean) - mean
    ll_creations = np.sum(day_creations)
    if parts:
        fresh = creations - same_day
        return {
            "bans": float(ll_bans),
            "creations": float(ll_creations),
            "daily": day_bans + day_creations,  # the day's log-likelihood terms
            "mean": mean,
            "kernels": kernels,
            "pi": pi,
            # variance of the day's bans given the channels at risk: a sum of binomials
            "ban_variance": active_prev * p * (1 - p)
            + fresh * q * (1 - q)
            + same_day * q_same * (1 - q_same),
        }
    total = float(ll_bans + ll_creations)
    return total if np.isfinite(total) else -np.inf


class IntensityProblem:
    """Parameter vector <-> model, and the conditional-intensity log-likelihood.

    Same interface as ``_cm_fit._Problem`` (names, natural, model, loglik), so that the Wald,
    profile and bootstrap code is shared.  Crackdown windows that do not overlap the observed
    days are not identified: their hazard is held at its starting value and reported as such.
    """

    def __init__(
        self,
        model_cls: type,
        data: pd.DataFrame,
        crackdowns: tuple,
        fixed: dict[str, float],
        cost_factor: float,
        delay_shape: int,
        fit_crackdown_hazards: bool,
        initial_active: float | str = "equilibrium",
    ) -> None:
        from analysis.models._cm_fit import BASE_PARAMS

        unknown = set(fixed) - set(BASE_PARAMS)
        if unknown:
            raise ModelError(
                f"unknown fixed parameter(s) {sorted(unknown)}; expected {BASE_PARAMS}"
            )
        if cost_factor != 1.0:
            raise ModelError(
                "method='intensity' needs recreation_cost_factor=1: with a cost per further ban "
                "the re-creation probability depends on each ban's generation, which daily "
                "counts do not show (use method='independent_counts', or link channels and "
                "fit the reappearance model)"
            )
        self.model_cls = model_cls
        self.data = data
        self.intensity = prepare_intensity_data(data)
        self.series = [c for c in ("active", "bans", "creations") if c in data]
        self.rows = data["day"].to_numpy()
        self.days = int(data["day"].max()) + 1
        self.crackdowns = crackdowns
        self.fixed = dict(fixed)
        self.cost_factor = cost_factor
        self.delay_shape = int(delay_shape)
        self.initial_active = initial_active
        self.likelihood = "intensity"
        lo, hi = self.intensity.grid[0], self.intensity.grid[-1]
        self.unobserved = [
            k
            for k, cd in enumerate(crackdowns)
            if not (min(cd.end_day, hi) > max(cd.start_day, lo))
        ]
        names = [p for p in BASE_PARAMS if p not in fixed]
        if fit_crackdown_hazards:
            names += [
                f"extra_hazard_per_day[{k}]"
                for k in range(len(crackdowns))
                if k not in self.unobserved
            ]
        self.names = names

    to_internal = staticmethod(lambda name, value: _transform_in(name, value))
    to_natural = staticmethod(lambda name, value: _transform_out(name, value))

    def natural(self, theta: np.ndarray) -> dict[str, float]:
        out = dict(self.fixed)
        for name, v in zip(self.names, theta, strict=True):
            out[name] = self.to_natural(name, v)
        return out

    def model(self, theta: np.ndarray):
        from dataclasses import replace

        p = self.natural(theta)
        cds = tuple(
            replace(
                cd,
                extra_hazard_per_day=p.get(f"extra_hazard_per_day[{k}]", cd.extra_hazard_per_day),
            )
            for k, cd in enumerate(self.crackdowns)
        )
        init = self.initial_active
        return self.model_cls(
            creation_rate_per_day=p["creation_rate_per_day"],
            ban_hazard_per_day=p["ban_hazard_per_day"],
            recreation_probability=min(p["recreation_probability"], 1 - 1e-9),
            recreation_delay_mean_days=p["recreation_delay_mean_days"],
            crackdowns=cds,
            recreation_cost_factor=self.cost_factor,
            recreation_delay_shape=self.delay_shape,
            initial_active=init,
        )

    def observed_initial_active(self, model) -> float:
        """Channels active at the start of the first day (observed, or the model's value)."""
        if self.intensity.active_prev is not None:
            return float(self.intensity.active_prev[0])
        if self.initial_active == "equilibrium":
            return float(model.equilibrium_active())
        return float(self.initial_active)

    def loglik(self, theta: np.ndarray, data: pd.DataFrame | None = None) -> float:
        if data is not None and data is not self.data:
            raise ModelError("IntensityProblem.loglik evaluates its own data only")
        return self.evaluate(theta, parts=False)

    def evaluate(self, theta: np.ndarray, parts: bool) -> Any:
        """The log-likelihood, or its parts (see :func:`intensity_loglik`)."""
        try:
            model = self.model(theta)
        except (ModelError, ValueError, OverflowError):
            return {"bans": -np.inf, "creations": -np.inf} if parts else -np.inf
        schedule = model.hazard_schedule()
        hazard = np.diff(schedule.cumulative(self.intensity.grid))
        initial = (
            None
            if self.intensity.active_prev is not None
            else (self.observed_initial_active(model))
        )
        return intensity_loglik(
            self.intensity,
            creation_rate=model.creation_rate_per_day,
            daily_hazard=hazard,
            baseline_hazard=model.ban_hazard_per_day,
            recreation_probability=model.recreation_probability,
            delay_mean=model.recreation_delay_mean_days,
            delay_shape=self.delay_shape,
            initial_active=initial,
            pending_at_start=self.initial_active == "equilibrium",
            parts=parts,
        )

    def start(self, start: dict[str, float]) -> dict[str, float]:
        """Data-based starting values (bans over exposure; creations regressed on past bans)."""
        d = self.intensity
        if d.active_prev is not None:
            exposure = d.active_prev + d.creations / 2.0
        else:
            exposure = np.full(d.n_days, max(np.mean(d.creations) / 0.1, 1.0))
        inside = np.zeros(d.n_days, bool)
        for cd in self.crackdowns:
            inside |= (d.grid[:-1] + 1 > cd.start_day) & (d.grid[:-1] < cd.end_day)
        base = ~inside if (~inside).sum() >= 2 else np.ones(d.n_days, bool)
        mu = max(d.bans[base].sum() / max(exposure[base].sum(), 1e-9), 1e-4)
        delay = float(
            self.fixed.get(
                "recreation_delay_mean_days", start.get("recreation_delay_mean_days", 2.0)
            )
        )
        echo = np.convolve(d.bans, delay_day_weights(d.n_days, self.delay_shape, delay))[: d.n_days]
        design = np.column_stack([np.ones(d.n_days), echo])
        coef = np.linalg.lstsq(design, d.creations, rcond=None)[0]
        lam = float(np.clip(coef[0], 0.05 * d.creations.mean() + 1e-3, None))
        rho = float(np.clip(coef[1], 0.05, 0.9))
        guess = {
            "creation_rate_per_day": lam,
            "ban_hazard_per_day": mu,
            "recreation_probability": rho,
            "recreation_delay_mean_days": max(delay, 0.05),
        }
        for k, cd in enumerate(self.crackdowns):
            win = (d.grid[:-1] + 1 > cd.start_day) & (d.grid[:-1] < cd.end_day)
            if win.any() and exposure[win].sum() > 0:
                rate = d.bans[win].sum() / exposure[win].sum()
                overlap = np.minimum(d.grid[1:][win], cd.end_day) - np.maximum(
                    d.grid[:-1][win], cd.start_day
                )
                h = -np.log(max(1.0 - rate, 1e-3)) * win.sum() / max(overlap.sum(), 1e-9)
                guess[f"extra_hazard_per_day[{k}]"] = max(h - mu, 0.1 * mu)
            else:
                guess[f"extra_hazard_per_day[{k}]"] = cd.extra_hazard_per_day or 5 * mu
        guess.update(start)
        return guess


def _transform_in(name: str, value: float) -> float:
    if name == "recreation_probability":
        return float(special.logit(np.clip(value, 1e-9, 1 - 1e-9)))
    return float(np.log(max(value, 1e-12)))


def _transform_out(name: str, value: float) -> float:
    if name == "recreation_probability":
        return float(special.expit(value))
    return float(np.exp(value))


def robust_covariance(
    problem: IntensityProblem, theta: np.ndarray, hessian: np.ndarray
) -> np.ndarray:
    """Sandwich covariance ``H^-1 (I_bans + J_creations) H^-1`` on the internal scale.

    The creations part is a Poisson *quasi*-likelihood: given the bans, each ban is
    re-created at most once, so its re-creation counts on different days are negatively
    correlated and their variance is ``rho w (1 - rho w)``, not the Poisson ``rho w``.  Its
    score variance is computed from these exact second moments,
    ``Sigma = diag(m) - rho^2 W diag(bans) W'`` (``W[t, s]`` the landing weight of a ban on
    day s on day t), as ``X' D^-1 Sigma D^-1 X`` with ``X = dm/dtheta`` and ``D = diag(m)``.
    The bans part is a binomial likelihood given the channels at risk with a mean-matched
    probability ``pi``; the day's bans are really a sum of binomials (channels present at the
    start of the day, created during it, re-created the same day), whose variance is smaller,
    so its score variance is ``G' diag(V / (pi (1 - pi))^2) G`` with ``G = dpi/dtheta`` and
    ``V`` that variance (the information of the part when ``active`` is not observed).
    """
    from analysis.models._cm_stats import numerical_hessian

    p = theta.size
    base = problem.evaluate(theta, parts=True)
    mean = base["mean"]
    jac = np.empty((mean.size, p))
    jac_pi = np.empty((mean.size, p))
    for i in range(p):
        step = 1e-5 * max(1.0, abs(theta[i]))
        e = np.zeros(p)
        e[i] = step
        up = problem.evaluate(theta + e, parts=True)
        down = problem.evaluate(theta - e, parts=True)
        jac[:, i] = (up["mean"] - down["mean"]) / (2 * step)
        jac_pi[:, i] = (up["pi"] - down["pi"]) / (2 * step)
    if problem.intensity.active_prev is None:
        # channels at risk depend on the parameters: the bans part's information instead
        j_bans = numerical_hessian(lambda th: -problem.evaluate(th, parts=True)["bans"], theta)
    else:
        pi = base["pi"]
        scale = base["ban_variance"] / (pi * (1 - pi)) ** 2
        j_bans = jac_pi.T @ (scale[:, None] * jac_pi)
    n = mean.size
    bans = problem.intensity.bans
    weights = np.zeros((n, n))  # W[t, s]
    lags = np.subtract.outer(np.arange(n), np.arange(n))
    for days, w in base["kernels"]:
        cols = np.flatnonzero(days)
        lag = lags[:, cols]
        ok = (lag >= 0) & (lag < w.size)
        block = np.zeros(lag.shape)
        block[ok] = w[lag[ok]]
        weights[:, cols] = block
    rho = problem.natural(theta).get("recreation_probability", 0.0)
    scaled = jac / mean[:, None]  # D^-1 X
    j_creations = scaled.T @ (mean[:, None] * scaled)
    wx = weights.T @ scaled  # W' D^-1 X
    j_creations -= rho**2 * wx.T @ (bans[:, None] * wx)
    bread = np.linalg.inv(hessian)
    return bread @ (j_bans + j_creations) @ bread
