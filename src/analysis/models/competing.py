"""Competing risks: cumulative incidence per cause, cause-specific hazards, Fine-Gray regression.

A channel ends in one of several ways (banned, went dark, deleted).  "What share was banned by
day 30?" is a question about the *cumulative incidence* of bans, ``F_ban(t) = P(T <= t, cause =
ban)``, and not about ``1 - S`` of a Kaplan-Meier curve that treats the other endings as
censoring: that curve answers "what share would have been banned if nothing else could end a
channel", a world that does not exist, and it overstates the share (with equal ban and deletion
hazards, 1 - KM gives 0.765 for a truth of 0.475 in the issue's example; tests reproduce it).

Estimators
----------
:class:`AalenJohansen`
    Cumulative incidence of every cause (Aalen & Johansen 1978), with delayed entry (left
    truncation: at risk from ``entry`` on) and right censoring:
    ``F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j`` with ``S`` the all-cause Kaplan-Meier curve.
    Pointwise variance by the Greenwood-type delta method (Marubini & Valsecchi 1995; Collett
    2015, sec. 12.2; the formula lifelines uses), intervals on the log(-log F) scale so they stay
    inside (0, 1).  Coverage tested in simulation (``tests/models/test_competing_coverage.py``).
:class:`CauseSpecificHazard`
    Nelson-Aalen cumulative cause-specific hazard ``A_k(t) = sum d_kj / n_j`` per cause (the
    hazard of one ending among channels still open), variance ``sum d_kj / n_j^2``, log-scale
    intervals.  Cause-specific hazards are what a Cox model of one cause (others censored)
    estimates; cumulative incidences combine all of them.
:class:`~analysis.models.fine_gray.FineGray`
    Fine & Gray (1999) proportional subdistribution hazards regression (re-exported here).

Time is float days since creation; ``entry`` is the delayed-entry time in the same units.
Causes are labels; a row is censored when its label is null, 0 or ``"censored"``.  Assumes
independent censoring and truncation.

References
----------
Aalen, O.O. & Johansen, S. (1978). An empirical transition matrix for non-homogeneous Markov
chains based on censored observations. Scand. J. Statist. 5, 141-150.  Marubini, E. &
Valsecchi, M.G. (1995). Analysing Survival Data from Clinical Trials and Observational Studies.
Wiley.  Collett, D. (2015). Modelling Survival Data in Medical Research, 3rd ed.  Putter, H.,
Fiocco, M. & Geskus, R.B. (2007). Tutorial in biostatistics: competing risks and multi-state
models. Stat. Med. 26, 2389-2430.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError
from analysis.models._cr_data import check_competing_data, risk_table
from analysis.models.fine_gray import FineGray

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["AalenJohansen", "CauseSpecificHazard", "FineGray"]


def _z(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ModelError(f"alpha={alpha!r}; expected 0 < alpha < 1")
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


class _CompetingBase:
    def __init__(self, alpha: float = 0.05) -> None:
        self.alpha = alpha

    def _prepare(self, durations: Any, causes: Any, entry: Any) -> None:
        _z(self.alpha)
        t, codes, en, labels = check_competing_data(durations, causes, entry)
        if not labels:
            raise ModelError(
                f"{type(self).__name__}: zero events among {t.size} rows (every row censored); "
                "no cumulative incidence can be estimated"
            )
        times, at_risk, d = risk_table(t, codes, en, len(labels))
        self.causes_ = list(labels)
        self.n_ = int(t.size)
        self.n_events_ = {lab: int(d[:, k].sum()) for k, lab in enumerate(labels)}
        self._times, self._at_risk, self._d = times, at_risk, d
        gaps = (at_risk <= 0) & (d.sum(axis=1) > 0)
        if gaps.any():  # cannot happen with validated data; guard against silent nonsense
            raise ModelError("events at times with an empty risk set; check entry times")

    def _check(self) -> None:
        if not hasattr(self, "_times"):
            raise ModelError(f"{type(self).__name__} is not fitted; call .fit(...) first")

    def _cause_index(self, cause: Any) -> int:
        self._check()
        if cause not in self.causes_:
            raise ModelError(f"unknown cause {cause!r}; expected one of {self.causes_}")
        return self.causes_.index(cause)

    def _frame(
        self, values: np.ndarray, first: Any = 0.0, columns: list | None = None
    ) -> pd.DataFrame:
        times = self._times
        if times[0] > 0:
            times = np.concatenate([[0.0], times])
            values = np.vstack([np.broadcast_to(first, (1, values.shape[1])), values])
        return pd.DataFrame(
            values,
            columns=list(self.causes_) if columns is None else columns,
            index=pd.Index(times, name="time_days"),
        )

    @property
    def event_table_(self) -> pd.DataFrame:
        """Number at risk and events per cause at each distinct time."""
        self._check()
        out = pd.DataFrame(self._d, columns=[str(c) for c in self.causes_])
        out.insert(0, "at_risk", self._at_risk)
        out.index = pd.Index(self._times, name="time_days")
        return out


class AalenJohansen(_CompetingBase):
    """Aalen-Johansen cumulative incidence of each cause, with delayed entry and intervals.

    Parameters
    ----------
    alpha
        1 - confidence level (default 0.05).

    Attributes (after :meth:`fit`)
    ------------------------------
    causes_ : list
        Cause labels, sorted.
    cumulative_incidence_ : pandas.DataFrame
        Indexed by ``time_days`` (0 and every distinct time), one column per cause.
    variance_ : pandas.DataFrame
        Greenwood-type delta-method variance of each column.
    survival_ : pandas.Series
        All-cause Kaplan-Meier ``S(t)``; ``S + sum_k F_k = 1`` (conditional on entry).
    summary : pandas.DataFrame
        Per cause: events and ``F_k`` at the last time with its interval.
    """

    def fit(self, durations: Any, causes: Any, entry: Any = None) -> AalenJohansen:
        """Fit to durations (days), cause labels (censored: null/0/"censored"), entry (days)."""
        self._prepare(durations, causes, entry)
        n, d = self._at_risk, self._d
        dtot = d.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            haz = np.where(n > 0, dtot / n, 0.0)
            surv = np.cumprod(1.0 - haz)
            lag = np.concatenate([[1.0], surv[:-1]])
            inc = np.where(n[:, None] > 0, lag[:, None] * d / n[:, None], 0.0)
        cif = np.cumsum(inc, axis=0)
        # Var F(t_m) = sum_{i<=m} a_i (F_m - F_i)^2 + c_i - 2 b_i (F_m - F_i) (Collett 12.2)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(n > dtot, dtot / (n * (n - dtot)), 0.0)[:, None]
            c = np.where(
                n[:, None] > 0, lag[:, None] ** 2 * d * (n[:, None] - d) / n[:, None] ** 3, 0
            )
            b = np.where(n[:, None] > 0, lag[:, None] * d / n[:, None] ** 2, 0.0)
        var = (
            cif**2 * np.cumsum(a, axis=0)
            - 2 * cif * np.cumsum(a * cif, axis=0)
            + np.cumsum(a * cif**2, axis=0)
            + np.cumsum(c, axis=0)
            - 2 * cif * np.cumsum(b, axis=0)
            + 2 * np.cumsum(b * cif, axis=0)
        )
        self._cif, self._var, self._surv = cif, np.maximum(var, 0.0), surv
        return self

    @property
    def cumulative_incidence_(self) -> pd.DataFrame:
        """Cumulative incidence ``F_k(t)`` of every cause."""
        self._check()
        return self._frame(self._cif, 0.0)

    @property
    def variance_(self) -> pd.DataFrame:
        """Pointwise variance of ``F_k(t)`` (Greenwood-type delta method)."""
        self._check()
        return self._frame(self._var, 0.0)

    @property
    def survival_(self) -> pd.Series:
        """All-cause survival (Kaplan-Meier), the probability that no ending happened yet."""
        self._check()
        return self._frame(self._surv[:, None], 1.0, ["survival"])["survival"]

    def _bands(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        f, v = self._cif[:, k], self._var[:, k]
        z = _z(self.alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(v) / (f * np.abs(np.log(f)))
            lo = np.exp(-np.exp(np.log(-np.log(f)) + z * se))
            hi = np.exp(-np.exp(np.log(-np.log(f)) - z * se))
        zero, one = f <= 0, f >= 1
        lo[zero], hi[zero] = 0.0, 0.0
        lo[one], hi[one] = 1.0, 1.0
        return lo, hi

    def confidence_interval(self, cause: Any) -> pd.DataFrame:
        """``cumulative_incidence``, ``ci_lower``, ``ci_upper``, ``variance`` for one cause."""
        k = self._cause_index(cause)
        lo, hi = self._bands(k)
        vals = np.column_stack([self._cif[:, k], lo, hi, self._var[:, k]])
        cols = ["cumulative_incidence", "ci_lower", "ci_upper", "variance"]
        return self._frame(vals, 0.0, cols)

    def incidence_at(self, times: Any, cause: Any) -> np.ndarray:
        """``F_k(t)`` at the given times (right-continuous step function)."""
        k = self._cause_index(cause)
        q = np.asarray(times, dtype=float)
        idx = np.searchsorted(self._times, q, side="right") - 1
        return np.where(idx >= 0, self._cif[np.maximum(idx, 0), k], 0.0)

    predict = incidence_at

    @property
    def summary(self) -> pd.DataFrame:
        """Per cause: events and the cumulative incidence at the last time with its interval."""
        self._check()
        rows = {}
        z = _z(self.alpha)
        for k, cause in enumerate(self.causes_):
            lo, hi = self._bands(k)
            est, se = float(self._cif[-1, k]), float(np.sqrt(self._var[-1, k]))
            rows[str(cause)] = [self.n_events_[cause], est, se, lo[-1], hi[-1]]
        out = pd.DataFrame.from_dict(
            rows, orient="index", columns=["events", "estimate", "se", "ci_lower", "ci_upper"]
        )
        out.index.name = "cause"
        out.attrs["time_days"] = float(self._times[-1])
        out.attrs["z"] = z
        return out

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Stepped cumulative incidence of every cause with its band; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        for cause in self.causes_:
            ci = self.confidence_interval(cause)
            x = ci.index.to_numpy()
            (line,) = ax.step(x, ci["cumulative_incidence"], where="post", label=str(cause))
            ax.fill_between(
                x, ci["ci_lower"], ci["ci_upper"], step="post", alpha=0.2, color=line.get_color()
            )
        ax.set_xlabel("days")
        ax.set_ylabel("cumulative incidence")
        ax.set_ylim(0, 1.02)
        ax.legend(title="end reason")
        return ax


class CauseSpecificHazard(_CompetingBase):
    """Nelson-Aalen cumulative cause-specific hazard of every cause.

    Attributes (after :meth:`fit`)
    ------------------------------
    cumulative_hazard_ : pandas.DataFrame
        ``A_k(t)`` per cause (columns), indexed by ``time_days``.
    variance_ : pandas.DataFrame
        ``sum d_kj / n_j^2``.
    summary : pandas.DataFrame
        Per cause: events, exposure-free ``A_k`` at the last time with a log-scale interval.
    """

    def fit(self, durations: Any, causes: Any, entry: Any = None) -> CauseSpecificHazard:
        """Fit to durations (days), cause labels (censored: null/0/"censored"), entry (days)."""
        self._prepare(durations, causes, entry)
        n = self._at_risk[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            self._cum = np.cumsum(np.where(n > 0, self._d / n, 0.0), axis=0)
            self._var = np.cumsum(np.where(n > 0, self._d / n**2, 0.0), axis=0)
        for cause, k in self.n_events_.items():
            if k == 0:
                warnings.warn(f"cause {cause!r}: zero events", UserWarning, stacklevel=2)
        return self

    @property
    def cumulative_hazard_(self) -> pd.DataFrame:
        """Nelson-Aalen cumulative hazard of each cause."""
        self._check()
        return self._frame(self._cum)

    @property
    def variance_(self) -> pd.DataFrame:
        """Variance of each cumulative hazard."""
        self._check()
        return self._frame(self._var)

    def confidence_interval(self, cause: Any) -> pd.DataFrame:
        """``cumulative_hazard``, ``ci_lower``, ``ci_upper`` (log scale) for one cause."""
        k = self._cause_index(cause)
        a, v = self._cum[:, k], self._var[:, k]
        z = _z(self.alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(a > 0, np.exp(z * np.sqrt(v) / a), 1.0)
        cols = ["cumulative_hazard", "ci_lower", "ci_upper"]
        return self._frame(np.column_stack([a, a / f, a * f]), 0.0, cols)

    @property
    def summary(self) -> pd.DataFrame:
        """Per cause: events and ``A_k`` at the last time with its interval."""
        self._check()
        rows = {}
        for k, cause in enumerate(self.causes_):
            ci = self.confidence_interval(cause).iloc[-1]
            rows[str(cause)] = [
                self.n_events_[cause],
                ci["cumulative_hazard"],
                float(np.sqrt(self._var[-1, k])),
                ci["ci_lower"],
                ci["ci_upper"],
            ]
        out = pd.DataFrame.from_dict(
            rows, orient="index", columns=["events", "estimate", "se", "ci_lower", "ci_upper"]
        )
        out.index.name = "cause"
        return out

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Step plot of every cumulative cause-specific hazard; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        ch = self.cumulative_hazard_
        for cause in ch.columns:
            ax.step(ch.index, ch[cause], where="post", label=str(cause), **kwargs)
        ax.set_xlabel("days")
        ax.set_ylabel("cumulative cause-specific hazard")
        ax.legend(title="end reason")
        return ax
