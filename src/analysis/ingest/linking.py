"""Successor linking: a new channel re-creating a banned one, found by name similarity.

A channel created within ``window_days`` after another channel was banned is linked to it when
their handles or titles are similar enough.  Names are first normalised the way re-created
channels are renamed (:func:`normalise_name`: case, separators, trailing digits and version
suffixes, prefixes such as ``new``, digit-for-letter swaps), then compared with two measures
(:func:`name_similarity`): one minus the normalised optimal-string-alignment edit distance
(an adjacent letter swap counts as one edit) and the Jaccard index of character 3-grams.  The
score of a pair is the largest of the handle and title similarities.  Pairs scoring at least
``threshold`` are candidates; the links are chosen by a **global assignment**: the matching
(each ended channel at most one successor, each channel at most one predecessor,
``one_to_one=True``) that maximises the total weight
``(score - threshold) + 0.01 + 0.02 * (1 - gap / (window + 1))``: a link counts by its
excess over the threshold (summing raw scores would trade one strong link for two marginal
ones: link precision fell from 0.984 to 0.981 in a crowded simulation), and dates that fit
better (shorter gaps, as re-creation delays are short) add a little.  It is solved exactly by
:func:`scipy.optimize.linear_sum_assignment` on each connected component of the sparse
candidate graph.  Greedy best-first matching (``method="greedy"``, the former rule, kept as a
baseline) throws lineages away: with A ended, B created and ended, C created later, and C's
name a little closer to A's than B's, greedy links A->C and leaves B with neither a
predecessor nor a successor, where the assignment keeps the chain A->B->C.
``family_id`` is the ``channel_id`` of the lineage's first channel.

Predecessors are channels whose ending counts (``predecessor_reasons``, default any ending:
:func:`analysis.channels.resolve_event_reasons`, so ``went_dark`` channels of a message log
can be re-created), ending at or before their ``detection_horizon`` when the table has one
(as in :func:`analysis.models.reappearance.reappearance_durations`).  The window used is
written into the constant column ``link_window_days``, which
:class:`analysis.models.reappearance.Reappearance` reads as its default window.

The linker reads raw handles and titles, so it runs in memory *before* hashing
(:func:`analysis.ingest.channels.ingest_channel_table` does this); its output is hashed
before anything is written.

Evaluation
----------
:func:`synthetic_names` gives SYNTHETIC handles and titles to a simulated channel table
(cat-and-mouse simulator, or any table with ``predecessor_id``/``family_id``): random
pronounceable tokens for new families, and for re-creations the family's base name mutated
the way re-created channels are (suffix digits, version suffixes, prefixes, letter swaps,
digit-for-letter swaps, doubled letters).  :func:`evaluate_linking` scores predicted
predecessor links against the known ones (precision, recall) and family co-membership
(pairwise precision, recall); :func:`evaluate_on_catmouse` runs the whole loop on a
simulation.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components

from analysis.errors import ChannelTableError

DEFAULT_WINDOW_DAYS = 14.0
DEFAULT_THRESHOLD = 0.75
DEFAULT_COMMON_WORD_SHARE = 0.02
LINK_MARGIN = 0.01
"""Weight of a link scoring exactly ``threshold`` in the assignment objective."""
GAP_WEIGHT = 0.02
"""Bonus of an immediate re-creation over one at the end of the window."""
MAX_DENSE_CELLS = 16_000_000
"""Largest component (predecessors x successors) solved exactly (about 128 MB of weights);
larger ones, which only very common names produce, fall back to greedy with a warning."""
_COMMON_WORD_MIN_COUNT = 10
_NGRAM = 3

_PREFIXES = ("new", "the", "real", "official", "true", "backup", "my", "our")
_SUFFIXES = ("official", "backup", "mirror", "reserve", "bak", "new", "channel", "ch")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})
_VERSION = re.compile(r"(?:v|ver|version)?\d+$")


# --------------------------------------------------------------------------- similarity
def normalise_name(name: str) -> str:
    """Canonical form of a handle or title for comparison.

    Lower-case, accents removed, separators dropped, trailing digits and version suffixes
    (``_v2``, ``3``) stripped, then leet digits mapped to letters (``0`` -> ``o``), then one
    known prefix (``new``, ``the``, ``real``, ``official`` ...) and one known suffix
    (``backup``, ``official``, ``mirror`` ...) removed when enough remains.

    Parameters
    ----------
    name
        Handle or title.

    Returns
    -------
    str
        The normalised name ('' for an empty name).
    """
    text = unicodedata.normalize("NFKD", str(name)).lower()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = [w for w in re.split(r"[\s_\-.]+", text) if w]
    words = [re.sub(r"[^0-9a-z@\u0600-\u06ff]", "", w) for w in words]
    words = [w for w in words if w]
    if not words:
        return ""
    joined = "".join(words)
    for _ in range(2):  # "name_v2_backup", "name2new"
        stripped = _VERSION.sub("", joined)
        for suffix in _SUFFIXES:
            if stripped.endswith(suffix) and len(stripped) - len(suffix) >= 3:
                stripped = stripped[: -len(suffix)]
                break
        joined = stripped or joined
    joined = joined.translate(_LEET)
    for prefix in _PREFIXES:
        if joined.startswith(prefix) and len(joined) - len(prefix) >= 3:
            joined = joined[len(prefix) :]
            break
    return joined


def name_words(name: str) -> list[str]:
    """Lower-case words of a handle or title (accents removed, trailing digits dropped)."""
    text = unicodedata.normalize("NFKD", str(name)).lower()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = (re.sub(r"[^0-9a-z@\u0600-\u06ff]", "", w) for w in re.split(r"[\s_\-.]+", text))
    return [w for w in (re.sub(r"\d+$", "", w) for w in words) if w]


def common_words(names: Iterable[object], share: float = DEFAULT_COMMON_WORD_SHARE) -> set[str]:
    """Words found in at least ``share`` of the names (and in at least 10 of them).

    Such words ("news", "media") say little about lineage, like stop words; they are left out
    of comparisons so that two unrelated "<name> News" channels do not look alike.
    """
    texts = [name_words(v) for v in names if isinstance(v, str) and v]
    counts = Counter(w for words in texts for w in set(words))
    floor = max(_COMMON_WORD_MIN_COUNT, share * len(texts))
    return {w for w, k in counts.items() if k >= floor}


def _comparable(name: object, common: set[str]) -> str:
    if not isinstance(name, str) or not name:
        return ""
    words = name_words(name)
    kept = [w for w in words if w not in common]
    return normalise_name(" ".join(kept) if kept else " ".join(words))


def osa_distance(a: str, b: str, max_distance: int | None = None) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions).

    Parameters
    ----------
    a, b
        Strings.
    max_distance
        Stop early and return ``max_distance + 1`` once the distance must exceed it.
    """
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if max_distance is not None and abs(la - lb) > max_distance:
        return max_distance + 1
    if la == 0 or lb == 0:
        return max(la, lb)
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ai = a[i - 1]
        for j in range(1, lb + 1):
            cost = 0 if ai == b[j - 1] else 1
            value = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ai == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, prev2[j - 2] + 1)
            cur[j] = value
        if max_distance is not None and min(cur) > max_distance:
            return max_distance + 1
        prev2, prev = prev, cur
    return prev[lb]


def ngrams(text: str, n: int = _NGRAM) -> frozenset[str]:
    """Character n-grams of ``text`` padded with one space each side."""
    padded = f" {text} "
    if len(padded) < n:
        return frozenset({padded})
    return frozenset(padded[i : i + n] for i in range(len(padded) - n + 1))


def name_similarity(a: str, b: str, threshold: float = 0.0) -> float:
    """Similarity in [0, 1] of two *normalised* names.

    The larger of ``1 - osa_distance / max(len)`` and the Jaccard index of character 3-grams.
    When the result is below ``threshold`` a cheaper lower value may be returned (the edit
    distance is cut off early).
    """
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ga, gb = ngrams(a), ngrams(b)
    jaccard = len(ga & gb) / len(ga | gb)
    longest = max(len(a), len(b))
    budget = int(np.floor((1.0 - max(threshold, jaccard)) * longest + 1e-9))
    distance = osa_distance(a, b, max_distance=budget)
    return max(jaccard, 1.0 - distance / longest)


# --------------------------------------------------------------------------- linking
@dataclass(frozen=True)
class _Candidate:
    score: float
    gap_days: float
    predecessor: int
    successor: int


def link_successors(
    channels: pd.DataFrame,
    *,
    window_days: float = DEFAULT_WINDOW_DAYS,
    threshold: float = DEFAULT_THRESHOLD,
    handle_column: str = "handle",
    title_column: str = "title",
    predecessor_reasons: str | Iterable[str] | None = None,
    one_to_one: bool = True,
    common_word_share: float = DEFAULT_COMMON_WORD_SHARE,
    method: str = "global",
) -> pd.DataFrame:
    """Add ``predecessor_id`` and ``family_id`` by linking re-created channels to banned ones.

    Parameters
    ----------
    channels
        Channel event table (see :mod:`analysis.channels`) with raw ``handle`` and/or
        ``title`` columns.  Existing ``family_id``/``predecessor_id`` values are replaced.
    window_days
        A successor must be created within this many days after its predecessor ended.
    threshold
        Minimum similarity score (0-1) of a link.
    handle_column, title_column
        Names of the handle and title columns (either may be absent, not both).
    predecessor_reasons
        ``end_reason`` values that make a channel a possible predecessor (default any
        ending; a comma-separated string or an iterable, see
        :func:`analysis.channels.resolve_event_reasons`).
    one_to_one
        At most one successor per predecessor (and always one predecessor per successor).
    method
        ``"global"`` (default: maximum-weight matching, see the module docstring) or
        ``"greedy"`` (best score first; the former rule, kept as a baseline).
    common_word_share
        Words in at least this share of a column's names (and at least 10 names) are left out
        of comparisons (:func:`common_words`).

    Returns
    -------
    pandas.DataFrame
        A copy with ``predecessor_id`` (string, null for roots), ``family_id`` (the id of the
        lineage's first channel), ``link_score`` (similarity of the accepted link, NaN for
        roots) and ``link_window_days`` (the window used, the same on every row).

    Raises
    ------
    ChannelTableError
        No handle or title column, missing time columns, bad window, threshold, reasons or
        method.
    """
    from analysis.channels import resolve_event_reasons

    if method not in ("global", "greedy"):
        raise ChannelTableError(
            "unknown linking method; expected 'global' or 'greedy'", column="method", value=method
        )
    if not window_days >= 0:
        raise ChannelTableError("window_days must be >= 0", column="window_days", value=window_days)
    if not 0 < threshold <= 1:
        raise ChannelTableError("threshold must be in (0, 1]", column="threshold", value=threshold)
    name_columns = [c for c in (handle_column, title_column) if c in channels.columns]
    if not name_columns:
        raise ChannelTableError(
            f"no {handle_column!r} or {title_column!r} column; expected at least one to link by",
            column=handle_column,
        )
    for column in ("channel_id", "created_at", "ended_at", "end_reason"):
        if column not in channels.columns:
            raise ChannelTableError("missing column; expected a channel event table", column=column)

    out = channels.copy()
    created = _as_days(out["created_at"])
    ended = _as_days(out["ended_at"], origin=out["created_at"])
    ids = out["channel_id"].astype("string").to_numpy(dtype=object)
    normalised = {}
    for c in name_columns:
        values = out[c].astype(object).tolist()
        common = common_words(values, common_word_share)
        normalised[c] = [_comparable(v, common) for v in values]

    reasons = set(resolve_event_reasons(predecessor_reasons))
    is_pred = out["end_reason"].astype(object).isin(reasons).to_numpy() & ~np.isnan(ended)
    if "detection_horizon" in out.columns:
        horizon = _as_days(out["detection_horizon"], origin=out["created_at"])
        is_pred &= ~(ended > horizon)  # NaN horizon: no limit
    pred_index = np.flatnonzero(is_pred)
    pred_index = pred_index[np.argsort(ended[pred_index], kind="stable")]
    pred_end = ended[pred_index]
    features = {c: _NameFeatures.build(normalised[c], pred_index) for c in name_columns}

    candidates: list[_Candidate] = []
    for succ in np.argsort(created, kind="stable"):
        lo = int(np.searchsorted(pred_end, created[succ] - window_days, side="left"))
        hi = int(np.searchsorted(pred_end, created[succ], side="right"))
        if hi <= lo:
            continue
        best = np.zeros(hi - lo)
        for c in name_columns:
            best = np.maximum(best, features[c].scores(int(succ), lo, hi, threshold))
        for k in np.flatnonzero(best >= threshold):
            pred = int(pred_index[lo + k])
            if pred != succ:
                gap = float(created[succ] - pred_end[lo + k])
                candidates.append(_Candidate(float(best[k]), gap, pred, int(succ)))

    candidates.sort(key=lambda c: (-c.score, c.gap_days, ids[c.successor], ids[c.predecessor]))
    if method == "global":
        chosen = _assign_globally(candidates, len(out), window_days, threshold, one_to_one)
    else:
        chosen = candidates
    predecessor = np.full(len(out), -1, dtype=np.int64)
    score_of = np.full(len(out), np.nan)
    has_successor = np.zeros(len(out), dtype=bool)
    for cand in chosen:
        if predecessor[cand.successor] >= 0 or (one_to_one and has_successor[cand.predecessor]):
            continue
        if _creates_cycle(predecessor, cand.predecessor, cand.successor):
            continue
        predecessor[cand.successor] = cand.predecessor
        score_of[cand.successor] = cand.score
        has_successor[cand.predecessor] = True

    root = np.arange(len(out))
    for i in np.argsort(created, kind="stable"):
        j = i
        seen = 0
        while predecessor[j] >= 0 and seen < len(out):
            j = predecessor[j]
            seen += 1
        root[i] = j
    out["predecessor_id"] = pd.array(
        [ids[p] if p >= 0 else None for p in predecessor], dtype="string"
    )
    out["family_id"] = pd.array([ids[r] for r in root], dtype="string")
    out["link_score"] = score_of
    out["link_window_days"] = float(window_days)
    return out


def _weight(cand: _Candidate, window_days: float, threshold: float) -> float:
    """Assignment weight of a candidate link (always > 0)."""
    fit = 1.0 - cand.gap_days / (window_days + 1.0)
    return cand.score - threshold + LINK_MARGIN + GAP_WEIGHT * fit


def _assign_globally(
    candidates: list[_Candidate], n: int, window_days: float, threshold: float, one_to_one: bool
) -> list[_Candidate]:
    """Maximum-weight matching of the candidate links, best weight first.

    Nodes are the predecessor role (``0..n-1``) and the successor role (``n..2n-1``) of each
    channel; each connected component of the candidate graph is solved exactly with
    :func:`scipy.optimize.linear_sum_assignment` on its dense weight matrix (non-candidates
    weigh 0, every candidate more, so the optimum never uses a non-candidate).  Without
    ``one_to_one`` each successor simply takes its heaviest candidate.
    """
    if not candidates:
        return []
    weights = np.array([_weight(c, window_days, threshold) for c in candidates])
    if not one_to_one:
        best: dict[int, int] = {}
        for k, c in enumerate(candidates):
            if c.successor not in best or weights[k] > weights[best[c.successor]]:
                best[c.successor] = k
        keep = sorted(best.values(), key=lambda k: -weights[k])
        return [candidates[k] for k in keep]
    pred = np.array([c.predecessor for c in candidates])
    succ = np.array([c.successor for c in candidates])
    graph = sparse.coo_matrix((np.ones(pred.size), (pred, succ + n)), shape=(2 * n, 2 * n))
    _, label = connected_components(graph, directed=False)
    component = label[pred]
    chosen: list[int] = []
    order = np.argsort(component, kind="stable")
    bounds = np.flatnonzero(np.diff(component[order])) + 1
    for block in np.split(order, bounds):
        if block.size == 1:
            chosen.append(int(block[0]))
            continue
        p_nodes, p_pos = np.unique(pred[block], return_inverse=True)
        s_nodes, s_pos = np.unique(succ[block], return_inverse=True)
        if p_nodes.size * s_nodes.size > MAX_DENSE_CELLS:
            import warnings

            warnings.warn(
                f"link_successors: a group of {p_nodes.size} x {s_nodes.size} mutually similar "
                "channels is too large for the exact assignment; linked greedily (raise "
                "threshold or shorten window_days)",
                UserWarning,
                stacklevel=4,
            )
            chosen.extend(int(k) for k in block)
            continue
        matrix = np.zeros((p_nodes.size, s_nodes.size))
        index = np.full((p_nodes.size, s_nodes.size), -1, dtype=np.int64)
        matrix[p_pos, s_pos] = weights[block]
        index[p_pos, s_pos] = block
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        picked = index[rows, cols]
        chosen.extend(int(k) for k in picked[picked >= 0])
    chosen.sort(key=lambda k: -weights[k])
    return [candidates[k] for k in chosen]


@dataclass(frozen=True)
class _NameFeatures:
    """Vectorised screening of one name column (rows of predecessors in ban order).

    The 3-gram Jaccard index of a successor against a block of predecessors comes from a
    sparse product; the edit distance is computed only for pairs that pass two necessary
    conditions of ``1 - distance / longest >= threshold``: the length difference and half the
    L1 distance of letter counts are at most the edit budget.
    """

    names: list[str]
    grams: sparse.csr_matrix  # all rows x grams (0/1)
    pred_grams: sparse.csr_matrix  # predecessor rows (ban order) x grams
    n_grams: np.ndarray
    lengths: np.ndarray
    letters: np.ndarray  # rows x 27 letter counts
    pred_index: np.ndarray

    @classmethod
    def build(cls, names: list[str], pred_index: np.ndarray) -> _NameFeatures:
        vocabulary: dict[str, int] = {}
        rows, cols = [], []
        for i, name in enumerate(names):
            if name:
                for gram in ngrams(name):
                    rows.append(i)
                    cols.append(vocabulary.setdefault(gram, len(vocabulary)))
        shape = (len(names), max(len(vocabulary), 1))
        data = np.ones(len(rows), dtype=np.float64)
        grams = sparse.csr_matrix((data, (rows, cols)), shape=shape)
        letters = np.zeros((len(names), 27), dtype=np.int32)
        for i, name in enumerate(names):
            for ch in name:
                code = ord(ch) - 97
                letters[i, code if 0 <= code < 26 else 26] += 1
        return cls(
            names=names,
            grams=grams,
            pred_grams=grams[pred_index],
            n_grams=np.asarray(grams.sum(axis=1)).ravel(),
            lengths=np.array([len(n) for n in names], dtype=np.int64),
            letters=letters,
            pred_index=pred_index,
        )

    def scores(self, succ: int, lo: int, hi: int, threshold: float) -> np.ndarray:
        """Similarity of ``succ`` to predecessors ``lo:hi``; values below threshold are rough."""
        block = self.pred_index[lo:hi]
        out = np.zeros(hi - lo)
        if not self.names[succ]:
            return out
        shared = np.asarray(self.pred_grams[lo:hi] @ self.grams[succ].T.toarray()).ravel()
        union = self.n_grams[block] + self.n_grams[succ] - shared
        valid = self.lengths[block] > 0
        out[valid] = shared[valid] / union[valid]
        longest = np.maximum(self.lengths[block], self.lengths[succ])
        budget = np.floor((1.0 - threshold) * longest + 1e-9).astype(np.int64)
        letter_gap = np.abs(self.letters[block] - self.letters[succ]).sum(axis=1)
        edit_ok = (
            valid
            & (out < 1.0)
            & (np.abs(self.lengths[block] - self.lengths[succ]) <= budget)
            & (letter_gap <= 2 * budget)
        )
        name = self.names[succ]
        for k in np.flatnonzero(edit_ok):
            other = self.names[block[k]]
            if other == name:
                out[k] = 1.0
                continue
            distance = osa_distance(other, name, max_distance=int(budget[k]))
            out[k] = max(out[k], 1.0 - distance / longest[k])
        return out


def _creates_cycle(predecessor: np.ndarray, pred: int, succ: int) -> bool:
    j = pred
    for _ in range(predecessor.size):
        if j == succ:
            return True
        if predecessor[j] < 0:
            return False
        j = predecessor[j]
    return True


def _as_days(values: pd.Series, origin: pd.Series | None = None) -> np.ndarray:
    """Float days (NaN for missing) from numeric or datetime64 columns."""
    if is_datetime64_any_dtype(values.dtype):
        base = (origin if origin is not None else values).min()
        return ((values - base) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


# --------------------------------------------------------------------------- synthetic names
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_TITLE_WORDS = ("News", "Media", "Voice", "Daily", "Updates", "Library", "Archive", "Network")
_LEET_OUT = {"o": "0", "i": "1", "e": "3", "a": "4", "s": "5"}


def _token(rng: np.random.Generator, syllables: int) -> str:
    return "".join(
        _CONSONANTS[rng.integers(len(_CONSONANTS))] + _VOWELS[rng.integers(len(_VOWELS))]
        for _ in range(syllables)
    )


def _mutate_handle(base: str, rng: np.random.Generator) -> str:
    """One or two of the renamings re-created channels use, applied to ``base``."""
    name = base
    n_mutations = 1 + int(rng.random() < 0.3)
    for kind in rng.choice(7, size=n_mutations, replace=False):
        if kind == 0:  # suffix digits
            name = f"{name}{rng.integers(1, 100)}"
        elif kind == 1:  # version / backup suffix
            name = f"{name}_{rng.choice(['v2', 'v3', 'backup', 'official', 'new', 'mirror'])}"
        elif kind == 2:  # prefix
            name = f"{rng.choice(['new', 'the', 'real', 'official'])}_{name}"
        elif kind == 3 and len(name) > 3:  # adjacent letter swap (inside the base)
            i = int(rng.integers(1, len(base) - 2)) if len(base) > 3 else 0
            name = name.replace(base, base[:i] + base[i + 1] + base[i] + base[i + 2 :], 1)
        elif kind == 4:  # digit-for-letter swap
            spots = [i for i, ch in enumerate(base) if ch in _LEET_OUT]
            if spots:
                i = int(rng.choice(spots))
                name = name.replace(base, base[:i] + _LEET_OUT[base[i]] + base[i + 1 :], 1)
        elif kind == 5:  # doubled letter
            i = int(rng.integers(len(base)))
            name = name.replace(base, base[: i + 1] + base[i] + base[i + 1 :], 1)
        else:  # separator
            i = int(rng.integers(1, len(base)))
            name = name.replace(base, base[:i] + "_" + base[i:], 1)
    return name


def _mutate_title(title: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    if roll < 0.5:
        return title
    if roll < 0.75:
        return f"{title} {rng.integers(2, 10)}"
    if roll < 0.9:
        return f"{title} (new)"
    return f"{rng.choice(['New', 'The'])} {title}"


def synthetic_names(
    events: pd.DataFrame, seed: int | np.random.Generator | None = None
) -> pd.DataFrame:
    """Give SYNTHETIC handles and titles to a simulated channel event table.

    New families get random pronounceable tokens (3-4 consonant-vowel syllables, as Telegram
    handles have at least 5 characters; a third
    of handles also carry a generic word, titles are "<Token> <Word>"); a re-creation gets its
    family's base name mutated like re-created channels are (suffix digits, ``_v2``/``_backup``
    suffixes, ``new_``/``the_`` prefixes, adjacent letter swaps, digit-for-letter swaps,
    doubled letters, separators) and its predecessor's title, sometimes lightly changed.
    The names are random strings, not real channels.

    Parameters
    ----------
    events
        Channel event table with ``predecessor_id`` (or, failing that, ``family_id``: family
        members in creation order form the chain).
    seed
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        A copy with ``handle`` and ``title`` columns; ``attrs["synthetic_names"] = True``.
    """
    rng = np.random.default_rng(seed)
    out = events.copy()
    created = _as_days(out["created_at"])
    order = np.argsort(created, kind="stable")
    ids = out["channel_id"].astype("string").to_numpy(dtype=object)
    position = {cid: i for i, cid in enumerate(ids)}
    parent = np.full(len(out), -1, dtype=np.int64)
    if "predecessor_id" in out.columns and out["predecessor_id"].notna().any():
        for i, p in enumerate(out["predecessor_id"].astype(object)):
            if isinstance(p, str) and p in position:
                parent[i] = position[p]
    elif "family_id" in out.columns:
        last_of_family: dict[object, int] = {}
        for i in order:
            fam = out["family_id"].iat[i]
            if isinstance(fam, str):
                if fam in last_of_family:
                    parent[i] = last_of_family[fam]
                last_of_family[fam] = int(i)

    handles: list[str | None] = [None] * len(out)
    titles: list[str | None] = [None] * len(out)
    bases: list[str | None] = [None] * len(out)
    base_titles: list[str | None] = [None] * len(out)
    used: set[str] = set()
    for i in order:
        p = parent[i]
        if p >= 0 and bases[p] is not None:
            bases[i], base_titles[i] = bases[p], base_titles[p]
            handles[i] = _mutate_handle(bases[p], rng)
            titles[i] = _mutate_title(base_titles[p], rng)
            continue
        token = _token(rng, int(rng.integers(3, 5)))
        while token in used:
            token = _token(rng, int(rng.integers(3, 5)))
        used.add(token)
        bases[i] = token
        word = str(rng.choice(_TITLE_WORDS))
        handles[i] = f"{token}_{word.lower()}" if rng.random() < 1 / 3 else token
        titles[i] = base_titles[i] = f"{token.capitalize()} {word}"
        if handles[i] != token:
            bases[i] = handles[i]
    out["handle"] = pd.array(handles, dtype="string")
    out["title"] = pd.array(titles, dtype="string")
    out.attrs["synthetic_names"] = True
    return out


# --------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class LinkingScores:
    """Precision and recall of predicted links and families against known ones."""

    link_precision: float
    link_recall: float
    family_pair_precision: float
    family_pair_recall: float
    n_true_links: int
    n_predicted_links: int

    def as_dict(self) -> dict[str, float]:
        """Scores as a plain dict."""
        return dict(self.__dict__)


def evaluate_linking(truth: pd.DataFrame, predicted: pd.DataFrame) -> LinkingScores:
    """Score predicted ``predecessor_id``/``family_id`` against known ones.

    Parameters
    ----------
    truth
        Table with the known ``channel_id``, ``predecessor_id`` and ``family_id``.
    predicted
        Output of :func:`link_successors` (same ``channel_id`` values).

    Returns
    -------
    LinkingScores
        Link precision = correct links / predicted links, link recall = correct links / true
        links (links whose predecessor is in the table); family pair precision and recall
        count pairs of channels placed in the same family.  An empty denominator gives 1.0.
    """
    ids = set(truth["channel_id"].astype(str))
    true_links = {
        (str(c), str(p))
        for c, p in zip(truth["channel_id"], truth["predecessor_id"], strict=True)
        if isinstance(p, str) and p in ids
    }
    pred_links = {
        (str(c), str(p))
        for c, p in zip(predicted["channel_id"], predicted["predecessor_id"], strict=True)
        if isinstance(p, str)
    }
    correct = len(true_links & pred_links)
    true_pairs = _family_pairs(truth)
    pred_pairs = _family_pairs(predicted)
    common = _count_common_pairs(truth, predicted)
    return LinkingScores(
        link_precision=correct / len(pred_links) if pred_links else 1.0,
        link_recall=correct / len(true_links) if true_links else 1.0,
        family_pair_precision=common / pred_pairs if pred_pairs else 1.0,
        family_pair_recall=common / true_pairs if true_pairs else 1.0,
        n_true_links=len(true_links),
        n_predicted_links=len(pred_links),
    )


def _family_pairs(table: pd.DataFrame) -> int:
    sizes = table["family_id"].astype(object).value_counts(dropna=True).to_numpy()
    return int((sizes * (sizes - 1) // 2).sum())


def _count_common_pairs(truth: pd.DataFrame, predicted: pd.DataFrame) -> int:
    joined = pd.DataFrame(
        {
            "true": truth.set_index("channel_id")["family_id"].astype(object),
        }
    ).join(predicted.set_index("channel_id")["family_id"].astype(object).rename("pred"))
    joined = joined.dropna()
    sizes = joined.groupby(["true", "pred"]).size().to_numpy()
    return int((sizes * (sizes - 1) // 2).sum())


DEFAULT_EVALUATION_MODEL = {
    "creation_rate_per_day": 5.0,
    "ban_hazard_per_day": 0.1,
    "recreation_probability": 0.6,
    "recreation_delay_mean_days": 1.0,
}
"""Cat-and-mouse parameters of the default evaluation (about 125 active channels, 60 % of
banned channels re-created after a mean of one day)."""


def evaluate_on_catmouse(
    days: float = 365.0,
    seed: int = 20240601,
    *,
    model_parameters: dict[str, float] | None = None,
    window_days: float = DEFAULT_WINDOW_DAYS,
    threshold: float = DEFAULT_THRESHOLD,
    method: str = "global",
) -> LinkingScores:
    """Simulate, name (synthetic), link and score against the simulator's known families.

    Parameters
    ----------
    days, seed
        Simulation length and seed (names use ``seed + 1``).
    model_parameters
        :class:`analysis.models.catmouse.CatMouseModel` arguments; default
        :data:`DEFAULT_EVALUATION_MODEL`.
    window_days, threshold, method
        Linking parameters.
    """
    from analysis.models.catmouse import CatMouseModel

    model = CatMouseModel(**(model_parameters or DEFAULT_EVALUATION_MODEL))
    truth = model.simulate(days, seed=seed).channel_events
    named = synthetic_names(truth, seed=seed + 1)
    linked = link_successors(
        named.drop(columns=["predecessor_id", "family_id"]).assign(family_id=pd.NA),
        window_days=window_days,
        threshold=threshold,
        method=method,
    )
    return evaluate_linking(truth, linked)
