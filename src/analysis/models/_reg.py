"""Shared pieces of the regression models: column checks, covariate matrices, summary tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError

SUMMARY_COLUMNS = ["estimate", "se", "ci_lower", "ci_upper", "z", "p"]


def z_value(alpha: float) -> float:
    """Two-sided normal quantile for ``1 - alpha`` intervals."""
    if not 0.0 < alpha < 1.0:
        raise ModelError(f"alpha={alpha!r}; expected 0 < alpha < 1")
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


def require_columns(df: Any, columns: Sequence[str | None], what: str) -> pd.DataFrame:
    """Raise a :class:`ModelError` naming the first missing column."""
    if not isinstance(df, pd.DataFrame):
        raise ModelError(f"{what}: expected a pandas.DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ModelError(f"{what}: empty table; expected at least one row")
    for col in columns:
        if col is not None and col not in df.columns:
            raise ModelError(f"{what}: column {col!r} not found; columns are {list(df.columns)}")
    return df


def numeric_column(df: pd.DataFrame, col: str, what: str) -> np.ndarray:
    """A finite float column, or a :class:`ModelError` naming the row and value."""
    try:
        arr = df[col].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{what}: column {col!r} is not numeric ({exc})") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ModelError(
            f"{what}: column {col!r}, row {i} is {df[col].iloc[i]!r}; expected a finite number"
        )
    return arr


def positive_durations_and_events(
    df: pd.DataFrame, duration_col: str, event_col: str, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Durations (> 0 days) and a boolean event indicator (0/1 or bool column), checked.

    Raises
    ------
    ModelError
        A duration <= 0 (row named) or an event column that is not 0/1.
    NoEventsError
        No event at all.
    """
    from analysis.errors import NoEventsError

    t = numeric_column(df, duration_col, what)
    if (t <= 0).any():
        i = int(np.flatnonzero(t <= 0)[0])
        raise ModelError(f"{what}: row {i}: {duration_col} = {t[i]!r}; expected > 0 days")
    e = numeric_column(df, event_col, what)
    if not np.isin(e, (0.0, 1.0)).all():
        raise ModelError(f"{what}: column {event_col!r} must be 0/1 or bool")
    ev = e == 1.0
    if not ev.any():
        raise NoEventsError(f"{what}: zero events in {event_col!r} ({len(df)} rows)")
    return t, ev


def covariate_matrix(
    df: pd.DataFrame, covariates: Sequence[str] | None, exclude: Sequence[str | None], what: str
) -> tuple[np.ndarray, list[str]]:
    """Design matrix of the named covariates (default: every other numeric column)."""
    if covariates is None:
        skip = {c for c in exclude if c is not None}
        covariates = [
            c
            for c in df.columns
            if c not in skip
            and pd.api.types.is_numeric_dtype(df[c].dtype)
            and not pd.api.types.is_bool_dtype(df[c].dtype)
        ] + [c for c in df.columns if c not in skip and pd.api.types.is_bool_dtype(df[c].dtype)]
    names = [str(c) for c in covariates]
    require_columns(df, names, what)
    x = np.column_stack([numeric_column(df, c, what) for c in names]) if names else None
    if x is None:
        return np.zeros((len(df), 0)), []
    const = np.ptp(x, axis=0) == 0
    if const.any():
        raise ModelError(
            f"{what}: covariate {names[int(np.flatnonzero(const)[0])]!r} is constant; "
            "its coefficient is not identified"
        )
    if np.linalg.matrix_rank(x - x.mean(axis=0)) < x.shape[1]:
        raise ModelError(f"{what}: covariates {names} are collinear; coefficients not identified")
    return x, names


def wald_table(
    names: Sequence[Any], est: np.ndarray, cov: np.ndarray, alpha: float, exp_name: str | None
) -> pd.DataFrame:
    """Summary with estimate, se, Wald interval, z, p (and exponentiated columns)."""
    z = z_value(alpha)
    se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = est / se
    out = pd.DataFrame(
        {
            "estimate": est,
            "se": se,
            "ci_lower": est - z * se,
            "ci_upper": est + z * se,
            "z": zs,
            "p": 2.0 * stats.norm.sf(np.abs(zs)),
        },
        index=pd.Index(list(names), name="covariate")
        if not isinstance(names, pd.MultiIndex)
        else names,
    )
    if exp_name is not None:
        out[exp_name] = np.exp(est)
        out[f"{exp_name}_lower"] = np.exp(est - z * se)
        out[f"{exp_name}_upper"] = np.exp(est + z * se)
    return out


def numerical_hessian(func, x: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function (step scaled to each coordinate)."""
    x = np.asarray(x, dtype=float)
    k = x.size
    h = eps * np.maximum(1.0, np.abs(x))
    out = np.zeros((k, k))
    f0 = func(x)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                xp, xm = x.copy(), x.copy()
                xp[i] += h[i]
                xm[i] -= h[i]
                out[i, i] = (func(xp) - 2 * f0 + func(xm)) / h[i] ** 2
            else:
                pp, pm, mp, mm = (x.copy() for _ in range(4))
                pp[i] += h[i]
                pp[j] += h[j]
                pm[i] += h[i]
                pm[j] -= h[j]
                mp[i] -= h[i]
                mp[j] += h[j]
                mm[i] -= h[i]
                mm[j] -= h[j]
                out[i, j] = out[j, i] = (func(pp) - func(pm) - func(mp) + func(mm)) / (
                    4 * h[i] * h[j]
                )
    return out


def cluster_codes(labels: pd.Series) -> np.ndarray:
    """Integer cluster codes 0..G-1; a missing label is a cluster of its own (a channel not
    linked to any lineage), never one big cluster of all the missing."""
    codes, _ = pd.factorize(labels.astype(object))
    missing = codes < 0
    if missing.any():
        start = codes.max() + 1
        codes = codes.copy()
        codes[missing] = start + np.arange(int(missing.sum()))
    return codes
