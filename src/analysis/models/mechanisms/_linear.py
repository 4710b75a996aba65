"""Private: the exact mean field of the linear mechanisms (two compartments, types, audience).

State vector, for every class ``c = g * K + k`` (``g`` = bans so far in the family, capped at
``G - 1``; ``k`` = channel type) a block of counts and a block of followers::

    counts     A0 (active, monitored), A1 (active, other platform),
               P0_0..P0_{m-1} (pending re-creations, Erlang stage j), P1_0..P1_{m-1} (pending
               migrations)
    followers  the same layout: total followers carried by those channels
    counters   COUNTERS (cumulative events and follower-days)

Every channel acts independently of every other (the hazards depend on time and on the
channel's own class only), and a channel's followers grow linearly while it is active and are
multiplied by a fixed share when it is re-created or migrates, so the expected state obeys
exactly the linear ODE ``x' = (M0 + h(t) M1) x + lambda(t) b_lambda + b_other`` where ``h`` is
the extra crackdown hazard and ``lambda`` the (piecewise-constant) organic creation rate: the
mean field is exact, not an approximation (the Erlang delay by the linear chain trick).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.errors import ModelError

COUNTERS = (
    "bans",
    "organic_creations",
    "recreations",
    "returns",
    "migrations",
    "other_organic_creations",
    "other_endings",
    "exposure",
    "other_exposure",
)


@dataclass(frozen=True)
class Rates:
    """Numbers the linear system is built from (see :class:`MechanismModel`)."""

    type_shares: np.ndarray
    type_hazards: np.ndarray
    recreation_probabilities: np.ndarray  # per generation g < G
    migration_probability: float
    delay_mean: float
    delay_shape: int
    other_end_hazard: float
    return_rate: float
    other_creation_rate: float
    initial_followers: float
    follower_growth: float
    recreation_follower_share: float
    migration_follower_share: float


@dataclass(frozen=True)
class Layout:
    n_generations: int
    n_types: int
    n_stages: int

    @property
    def n_classes(self) -> int:
        return self.n_generations * self.n_types

    @property
    def block(self) -> int:
        return 2 + 2 * self.n_stages

    @property
    def n_counts(self) -> int:
        return self.n_classes * self.block

    @property
    def size(self) -> int:
        return 2 * self.n_counts + len(COUNTERS)

    def cls(self, g: int, k: int) -> int:
        return g * self.n_types + k

    def a0(self, c: int, followers: bool = False) -> int:
        return c * self.block + (self.n_counts if followers else 0)

    def a1(self, c: int, followers: bool = False) -> int:
        return self.a0(c, followers) + 1

    def p0(self, c: int, j: int, followers: bool = False) -> int:
        return self.a0(c, followers) + 2 + j

    def p1(self, c: int, j: int, followers: bool = False) -> int:
        return self.a0(c, followers) + 2 + self.n_stages + j

    def counter(self, name: str) -> int:
        return 2 * self.n_counts + COUNTERS.index(name)

    def indices(self, what: str, followers: bool = False) -> np.ndarray:
        """Indices of ``"A0"``, ``"A1"``, ``"P0"`` or ``"P1"`` over all classes (and stages)."""
        out = []
        for c in range(self.n_classes):
            if what == "A0":
                out.append(self.a0(c, followers))
            elif what == "A1":
                out.append(self.a1(c, followers))
            elif what == "P0":
                out.extend(self.p0(c, j, followers) for j in range(self.n_stages))
            elif what == "P1":
                out.extend(self.p1(c, j, followers) for j in range(self.n_stages))
        return np.array(out, dtype=np.int64)


@dataclass(frozen=True)
class LinearSystem:
    """``x' = (m0 + h m1) x + lam * b_lambda + b_other``."""

    layout: Layout
    m0: np.ndarray
    m1: np.ndarray
    b_lambda: np.ndarray
    b_other: np.ndarray

    def matrix(self, extra_hazard: float) -> np.ndarray:
        return self.m0 + extra_hazard * self.m1

    def forcing(self, creation_rate: float) -> np.ndarray:
        return creation_rate * self.b_lambda + self.b_other


def build_system(rates: Rates) -> LinearSystem:
    """Assemble the linear system (see the module docstring for the state layout)."""
    n_gen = rates.recreation_probabilities.size
    n_types = rates.type_shares.size
    m = int(rates.delay_shape) if rates.delay_mean > 0 else 0
    lay = Layout(n_gen, n_types, m)
    n = lay.size
    m0, m1 = np.zeros((n, n)), np.zeros((n, n))
    b_lam, b_oth = np.zeros(n), np.zeros(n)
    sigma, nu, r = rates.migration_probability, rates.other_end_hazard, rates.return_rate
    s_rec, s_mig = rates.recreation_follower_share, rates.migration_follower_share
    gamma = rates.follower_growth
    stage_rate = m / rates.delay_mean if m else 0.0
    cb, cr, cm = lay.counter("bans"), lay.counter("recreations"), lay.counter("migrations")
    for g in range(n_gen):
        rho = rates.recreation_probabilities[g]
        for k in range(n_types):
            c = lay.cls(g, k)
            nxt = lay.cls(min(g + 1, n_gen - 1), k)
            mu = rates.type_hazards[k]
            for fol in (False, True):
                a0, a1 = lay.a0(c, fol), lay.a1(c, fol)
                # bans on the monitored platform (baseline mu in m0, crackdown part in m1)
                for mat, coef in ((m0, mu), (m1, 1.0)):
                    mat[a0, a0] -= coef
                    if not fol:
                        mat[cb, a0] += coef
                    share_r = s_rec if fol else 1.0
                    share_m = s_mig if fol else 1.0
                    to_r = lay.p0(nxt, 0, fol) if m else lay.a0(nxt, fol)
                    to_m = lay.p1(nxt, 0, fol) if m else lay.a1(nxt, fol)
                    mat[to_r, a0] += coef * rho * share_r
                    mat[to_m, a0] += coef * sigma * share_m
                    if not m and not fol:
                        mat[cr, a0] += coef * rho
                        mat[cm, a0] += coef * sigma
                # the other platform: endings and returns (a return keeps its followers)
                m0[a1, a1] -= nu + r
                m0[a0, a1] += r
                if not fol:
                    m0[lay.counter("returns"), a1] += r
                    m0[lay.counter("other_endings"), a1] += nu
                # Erlang stages of the delay
                for j in range(m):
                    for stage, land, counter in (
                        (lay.p0(c, j, fol), a0, cr),
                        (lay.p1(c, j, fol), a1, cm),
                    ):
                        m0[stage, stage] -= stage_rate
                        if j + 1 < m:
                            m0[stage + 1, stage] += stage_rate
                        else:
                            m0[land, stage] += stage_rate
                            if not fol:
                                m0[counter, stage] += stage_rate
            # followers grow while active; exposure integrates followers
            m0[lay.a0(c, True), lay.a0(c)] += gamma
            m0[lay.a1(c, True), lay.a1(c)] += gamma
            m0[lay.counter("exposure"), lay.a0(c, True)] += 1.0
            m0[lay.counter("other_exposure"), lay.a1(c, True)] += 1.0
    for k in range(n_types):
        c = lay.cls(0, k)
        pi = rates.type_shares[k]
        b_lam[lay.a0(c)] += pi
        b_lam[lay.a0(c, True)] += pi * rates.initial_followers
        b_oth[lay.a1(c)] += pi * rates.other_creation_rate
        b_oth[lay.a1(c, True)] += pi * rates.other_creation_rate * rates.initial_followers
    b_lam[lay.counter("organic_creations")] = 1.0
    b_oth[lay.counter("other_organic_creations")] = rates.other_creation_rate
    return LinearSystem(lay, m0, m1, b_lam, b_oth)


def stationary_state(system: LinearSystem, creation_rate: float) -> np.ndarray:
    """Stationary state at the baseline hazard (counters 0); ModelError if none exists."""
    k = 2 * system.layout.n_counts
    mat = system.matrix(0.0)[:k, :k]
    rhs = -system.forcing(creation_rate)[:k]
    # states nothing reaches (e.g. the other platform when nothing migrates) stay 0
    flows = (mat > 0) & ~np.eye(k, dtype=bool)  # flows[i, j]: j feeds i
    live = rhs != 0
    while True:
        grown = live | flows[:, live].any(axis=1)
        if grown.sum() == live.sum():
            break
        live = grown
    x = np.zeros(system.layout.size)
    try:
        x[np.flatnonzero(live)] = np.linalg.solve(mat[np.ix_(live, live)], rhs[live])
    except np.linalg.LinAlgError as exc:
        raise ModelError(
            "no stationary state: some channels never leave (a zero ban hazard, or no ending "
            "or return on the other platform); give initial_state explicitly"
        ) from exc
    if np.any(x[:k] < -1e-9 * max(1.0, np.abs(x[:k]).max())):
        raise ModelError("no stationary state (the expected population grows without bound)")
    return x


def expm_small(a: np.ndarray) -> np.ndarray:
    """Matrix exponential by scaling and squaring with a degree-18 Taylor polynomial.

    For the small matrices here :func:`scipy.linalg.expm` spends milliseconds per call in
    LAPACK/BLAS start-up on a busy machine (measured: 53 ms for 18 x 18); with the scaled
    1-norm <= 0.5 the truncation error is below 1e-22 relative.  Checked against scipy in
    the tests.
    """
    norm = float(np.abs(a).sum(axis=0).max())
    squarings = max(0, int(np.ceil(np.log2(norm))) + 1) if norm > 0 else 0
    scaled = a / 2.0**squarings
    result = np.eye(a.shape[0])
    term = result.copy()
    for k in range(1, 19):
        term = term @ scaled / k
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def propagate(
    system: LinearSystem,
    x0: np.ndarray,
    knots: np.ndarray,
    extra_hazard: np.ndarray,
    creation_rate: np.ndarray,
    times: np.ndarray,
) -> np.ndarray:
    """Expected state at ``times`` (sorted, >= 0) by exact matrix exponentials, piece by piece.

    ``knots[k]`` starts a piece with constant ``extra_hazard[k]`` and ``creation_rate[k]``.
    """
    n = system.layout.size
    cache: dict[tuple[float, float, float], tuple[np.ndarray, np.ndarray]] = {}

    def step(x: np.ndarray, piece: int, dt: float) -> np.ndarray:
        if dt <= 0.0:
            return x
        key = (float(extra_hazard[piece]), float(creation_rate[piece]), round(dt, 12))
        if key not in cache:
            aug = np.zeros((n + 1, n + 1))
            aug[:n, :n] = system.matrix(key[0])
            aug[:n, n] = system.forcing(key[1])
            phi = expm_small(aug * dt)
            cache[key] = (phi[:n, :n], phi[:n, n])
        a, c = cache[key]
        return a @ x + c

    out = np.empty((times.size, n))
    x = np.asarray(x0, dtype=float).copy()
    t, piece = 0.0, 0
    for i, target in enumerate(np.asarray(times, dtype=float)):
        while piece + 1 < knots.size and knots[piece + 1] <= target:
            x = step(x, piece, float(knots[piece + 1]) - t)
            t = float(knots[piece + 1])
            piece += 1
        x = step(x, piece, float(target) - t)
        t = float(target)
        out[i] = x
    return out
