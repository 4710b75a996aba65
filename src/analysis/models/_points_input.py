"""Validation of published survival points and their conversion to interval counts.

See :mod:`analysis.models.published_points` for the input columns and the model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import ModelError, NoEventsError, UnidentifiedWarning
from analysis.models import _interval_lik as il


class PointsInputError(ModelError):
    """A published-points table is malformed: names the row (0-based), the field, the value."""

    def __init__(self, row: int | None, field: str, value: object, expected: str) -> None:
        self.row, self.field, self.value, self.expected = row, field, value, expected
        where = f"row {row}, " if row is not None else ""
        super().__init__(f"published points: {where}field {field!r}: got {value!r}; {expected}")


class UnidentifiedModelError(ModelError):
    """More parameters than independent data: the fit has a continuum of solutions."""


@dataclass(frozen=True)
class _Prepared:
    table: pd.DataFrame
    data: il.IntervalData
    df: int
    ll_saturated: float
    any_all_denominator: bool


def _column(points: pd.DataFrame, name: str) -> np.ndarray:
    try:
        return pd.to_numeric(points[name]).to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise PointsInputError(None, name, "non-numeric values", "expected numbers") from exc


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def points_to_intervals(points: pd.DataFrame) -> _Prepared:
    """Validate the points and turn each cohort into interval counts (see module docstring)."""
    if not isinstance(points, pd.DataFrame):
        raise PointsInputError(None, "points", type(points).__name__, "expected a DataFrame")
    if len(points) == 0:
        raise PointsInputError(None, "points", "empty table", "expected at least one point")
    for name in ("horizon_days", "n"):
        if name not in points.columns:
            raise PointsInputError(None, name, "missing column", f"expected a {name!r} column")
    if "share" not in points.columns and "count" not in points.columns:
        raise PointsInputError(None, "share", "missing column", "expected 'share' or 'count'")
    df = points.reset_index(drop=True)
    h = _column(df, "horizon_days")
    n = _column(df, "n")
    share = _column(df, "share") if "share" in df.columns else np.full(len(df), np.nan)
    if "count" in df.columns:
        count = _column(df, "count")
        share = np.where(np.isnan(count), share, count / n)
    bad = ~np.isfinite(h) | (h <= 0)
    if bad.any():
        i = _first_bad(bad)
        raise PointsInputError(i, "horizon_days", h[i], "expected a finite number of days > 0")
    bad = ~np.isfinite(n) | (n <= 0)
    if bad.any():
        i = _first_bad(bad)
        raise PointsInputError(
            i, "n", n[i], "expected the sample size (> 0); a share without n has no precision"
        )
    bad = ~np.isfinite(share) | (share < 0) | (share > 1)
    if bad.any():
        i = _first_bad(bad)
        raise PointsInputError(i, "share", share[i], "expected a share in [0, 1] (or count <= n)")
    cohort = (
        df["cohort"].astype(str).to_numpy() if "cohort" in df.columns else np.full(len(df), "all")
    )
    denom = (
        df["denominator"].fillna("all").astype(str).to_numpy()
        if "denominator" in df.columns
        else np.full(len(df), "all")
    )
    bad = ~np.isin(denom, ["all", "events"])
    if bad.any():
        i = _first_bad(bad)
        raise PointsInputError(i, "denominator", denom[i], "expected 'all' or 'events'")
    cond = (
        _column(df, "condition_horizon_days")
        if "condition_horizon_days" in df.columns
        else np.full(len(df), np.nan)
    )
    lower, upper, weight = [], [], []
    n_free, ll_sat, any_all = 0, 0.0, False
    for key in pd.unique(cohort):
        rows = np.flatnonzero(cohort == key)
        rows = rows[np.argsort(h[rows], kind="stable")]
        nn = n[rows]
        if np.any(nn != nn[0]):
            i = int(rows[np.flatnonzero(nn != nn[0])[0]])
            raise PointsInputError(
                i,
                "n",
                nn[0] if i == rows[0] else n[i],
                f"rows of one cohort ({key!r}) share one sample size; give each independent "
                "sample its own 'cohort' value",
            )
        kinds = set(denom[rows])
        if len(kinds) > 1:
            raise PointsInputError(int(rows[0]), "denominator", sorted(kinds), "one per cohort")
        hz, sh, size = h[rows], share[rows], float(nn[0])
        dup = np.flatnonzero(np.diff(hz) == 0)
        if dup.size:
            raise PointsInputError(
                int(rows[dup[0] + 1]),
                "horizon_days",
                hz[dup[0] + 1],
                f"one share per horizon within cohort {key!r}",
            )
        drop = np.flatnonzero(np.diff(sh) < 0)
        if drop.size:
            i = int(rows[drop[0] + 1])
            raise PointsInputError(
                i,
                "share",
                share[i],
                f"cumulative shares of cohort {key!r} cannot fall with the horizon "
                f"({sh[drop[0]]!r} at {hz[drop[0]]!r} days before)",
            )
        cum = sh * size
        edges = np.r_[0.0, hz]
        if denom[rows[0]] == "events":
            big_h = cond[rows]
            if not np.isfinite(big_h[0]) or np.any(big_h != big_h[0]) or big_h[0] < hz[-1]:
                raise PointsInputError(
                    int(rows[0]),
                    "condition_horizon_days",
                    big_h[0],
                    "with denominator 'events': one finite horizon H per cohort, H >= every "
                    "horizon of the cohort (the shares are of accounts with the event by H)",
                )
            hh = float(big_h[0])
            if hz[-1] < hh:
                edges = np.r_[edges, hh]
                cum = np.r_[cum, size]
            elif not np.isclose(sh[-1], 1.0):
                raise PointsInputError(
                    int(rows[-1]),
                    "share",
                    sh[-1],
                    "a share among accounts with the event by H must be 1 at H",
                )
            cells = np.diff(np.r_[0.0, cum])
            lower += list(edges[:-1])
            upper += list(edges[1:])
            weight += list(cells)
            lower.append(0.0)
            upper.append(hh)
            weight.append(-size)
            n_free += cells.size - 1
        else:
            any_all = True
            cells = np.diff(np.r_[0.0, cum, size])
            lower += list(edges)
            upper += list(np.r_[hz, np.inf])
            weight += list(cells)
            n_free += cells.size - 1
        total = size
        pos = cells > 0
        ll_sat += float(cells[pos] @ np.log(cells[pos] / total))
        _warn_boundary(key, hz, sh, denom[rows[0]])
    table = pd.DataFrame(
        {"cohort": cohort, "horizon_days": h, "share": share, "n": n, "denominator": denom}
    )
    data = il.IntervalData(np.array(lower), np.array(upper), np.array(weight))
    if data.event_weight() <= 0:
        raise NoEventsError(
            "published points: every share is 0, so no event was observed and no lifetime "
            "distribution is identified"
        )
    return _Prepared(table, data, n_free, ll_sat, any_all)


def _warn_boundary(key: str, hz: np.ndarray, sh: np.ndarray, denom: str) -> None:
    for t, s in zip(hz, sh, strict=True):
        if s == 1.0 and denom == "all":
            warnings.warn(
                f"published points, cohort {key!r}: share 1 at {t:g} days (every account had "
                "the event): the fit is at a boundary (no cure fraction, the upper tail "
                "unconstrained); intervals may be open",
                UnidentifiedWarning,
                stacklevel=4,
            )
    if np.all(sh == 0):
        warnings.warn(
            f"published points, cohort {key!r}: every share is 0 (no event seen up to "
            f"{hz[-1]:g} days): the cohort only bounds the lifetime from below",
            UnidentifiedWarning,
            stacklevel=4,
        )
