"""Synthetic competing-risks data with known truth (seeded; synthetic, no real channels)."""

from __future__ import annotations

import numpy as np
import pandas as pd

# equal ban and deletion hazards giving P(banned by day 30) = 0.475 (the example)
LAMBDA = float(np.log(20.0) / 60.0)


def aj_truth(t: float, rate_ban: float = LAMBDA, rate_del: float = LAMBDA) -> float:
    """P(T <= t, banned) for constant cause-specific hazards."""
    total = rate_ban + rate_del
    return rate_ban / total * (1.0 - np.exp(-total * t))


def two_causes(
    rng: np.random.Generator, n: int, cens_max: float = 80.0, entry_max: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exponential ban/deletion times, uniform censoring, optional uniform delayed entry.

    Rows whose ending comes before their entry are dropped (left truncation), as in a crawl
    that finds only channels still open when it starts.
    """
    t1 = rng.exponential(1.0 / LAMBDA, n)
    t2 = rng.exponential(1.0 / LAMBDA, n)
    c = rng.uniform(0.0, cens_max, n)
    t = np.minimum.reduce([t1, t2, c])
    cause = np.where(t == c, 0, np.where(t == t1, 1, 2))
    entry = rng.uniform(0.0, entry_max, n) if entry_max > 0 else np.zeros(n)
    keep = t > entry
    return t[keep], cause[keep], entry[keep]


def fine_gray_data(
    rng: np.random.Generator,
    n: int,
    beta1: float = 0.5,
    beta2: float = -0.3,
    p: float = 0.5,
    cens_max: float = 4.0,
    binary: bool = False,
) -> pd.DataFrame:
    """Fine & Gray (1999, sec. 5) design: ``F1(t|z) = 1 - (1 - p(1 - e^-t))^exp(beta1 z)``.

    Cause 1 has a proportional subdistribution hazard with log ratio ``beta1``; given not
    cause 1, the time is exponential with rate ``exp(beta2 z)``.
    """
    z = rng.integers(0, 2, n).astype(float) if binary else rng.normal(size=n)
    e = np.exp(beta1 * z)
    p1 = 1.0 - (1.0 - p) ** e
    is1 = rng.random(n) < p1
    u = rng.random(n)
    t1 = -np.log(1.0 - (1.0 - (1.0 - u * p1) ** (1.0 / e)) / p)
    t2 = rng.exponential(1.0 / np.exp(beta2 * z))
    t = np.where(is1, t1, t2)
    c = rng.uniform(0.0, cens_max, n) if cens_max > 0 else np.full(n, np.inf)
    cause = np.where(c < t, 0, np.where(is1, 1, 2))
    return pd.DataFrame({"t": np.minimum(t, c), "cause": cause, "z": z})


def fine_gray_cif(t: float, z: float, beta1: float = 0.5, p: float = 0.5) -> float:
    """True cumulative incidence of cause 1 in :func:`fine_gray_data`."""
    return 1.0 - (1.0 - p * (1.0 - np.exp(-t))) ** np.exp(beta1 * z)
