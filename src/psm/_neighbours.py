"""Neighbour sets with every tie kept: "the m nearest units, ties kept".

The set of the m nearest candidates to a value ``p`` is every candidate whose distance
``|p - c|`` is at most the m-th smallest distance, compared exactly in floating point (no
tolerance), so it can hold more than m units. This is how Stata's ``teffects`` (matching
sets, ``vce(robust, nn(#))`` sets) and R's ``Matching::Match(ties=TRUE,
distance.tolerance=0)`` define their matches (Abadie & Imbens 2006, 2016).

On candidate scores sorted ascending such a set is a contiguous run: ``fl(p - c)`` is
monotone in ``c``, so the candidates within distance ``d`` below ``p`` form a suffix of those
below it, and likewise above. :func:`nearest_ranges` finds the m-th smallest distance
among the m positions either side of ``p`` and widens the run over further candidates at
exactly that distance (identical scores, or different scores whose distances round to the
same double). Cost O(n m) plus the widening; no n x n array.

:func:`euclidean_nearest` is the multivariate counterpart (nearest units in Euclidean
distance on raw covariates, ties kept), by a k-d tree.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from psm._nn_sorted import value_groups


def nearest_ranges(p: np.ndarray, c: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``[lo, hi)`` positions in sorted ``c`` of the ``m`` nearest candidates to each ``p``, ties kept.

    With ``m >= len(c)`` every candidate is in the set. Sorted ``p`` makes the search faster.
    """
    n = len(c)
    if m >= n:
        return np.zeros(len(p), dtype=np.intp), np.full(len(p), n, dtype=np.intp)
    r = np.searchsorted(c, p, side="left")
    steps = np.arange(m)
    left = r[:, None] - 1 - steps  # the m candidates below p, nearest first
    right = r[:, None] + steps  # the m candidates at or above p, nearest first
    d_left = np.where(left >= 0, p[:, None] - c[np.maximum(left, 0)], np.inf)
    d_right = np.where(right < n, c[np.minimum(right, n - 1)] - p[:, None], np.inf)
    both = np.concatenate([d_left, d_right], axis=1)
    d = both.min(axis=1) if m == 1 else np.partition(both, m - 1, axis=1)[:, m - 1]
    lo = r - (d_left <= d[:, None]).sum(axis=1)
    hi = r + (d_right <= d[:, None]).sum(axis=1)
    gstart, gend = value_groups(c)
    lo = move_while(lo, lambda pos: (pos > 0) & (p - c[np.maximum(pos - 1, 0)] <= d),
                lambda pos: pos - 1 if gstart is None else gstart[pos - 1])
    hi = move_while(hi, lambda pos: (pos < n) & (c[np.minimum(pos, n - 1)] - p <= d),
                lambda pos: pos + 1 if gend is None else gend[pos])
    return lo, hi


def move_while(pos: np.ndarray, more, step) -> np.ndarray:
    """Move each ``pos`` by ``step`` (a whole run of equal scores) while ``more`` holds."""
    pos = pos.copy()
    go = more(pos)
    while go.any():
        idx = np.flatnonzero(go)
        pos[idx] = step(pos[idx])
        go[:] = False
        go[idx] = more(pos)[idx]
    return pos


def expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row ids and positions of the concatenated ``arange(lo[r], hi[r])``."""
    counts = hi - lo
    rows = np.repeat(np.arange(len(lo)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, lo[rows] + offsets


def _prefix(v: np.ndarray) -> np.ndarray:
    """Prefix sums along axis 0, with a leading zero row."""
    return np.concatenate([np.zeros((1, *v.shape[1:])), np.cumsum(v, axis=0)])


def run_mean(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean of ``values[lo:hi]`` for every run (``values`` in sorted order)."""
    shift = values.mean()
    cum = _prefix(values - shift)
    return (cum[hi] - cum[lo]) / (hi - lo) + shift


def run_covariance(a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sample covariance (divisor count - 1) of each column of ``a`` with ``b`` over every run.

    ``a`` is n x q, ``b`` length n, both in sorted order; returns len(lo) x q (NaN for runs
    of one unit). ``sum (a - abar)(b - bbar) = sum ab - (sum a)(sum b)/count``, on columns
    centred over all n first so that the sums keep their precision.
    """
    ac = a - a.mean(axis=0)
    bc = (b - b.mean())[:, None]
    sa, sb, sab = _prefix(ac), _prefix(bc), _prefix(ac * bc)
    cnt = (hi - lo)[:, None].astype(float)
    cross = (sab[hi] - sab[lo]) - (sa[hi] - sa[lo]) * (sb[hi] - sb[lo]) / cnt
    with np.errstate(invalid="ignore", divide="ignore"):
        return cross / (cnt - 1)


def euclidean_nearest(query: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest ``points`` to each row of ``query`` in Euclidean distance, ties kept.

    Returns (query row, point row) pairs. Squared distances are compared exactly; a k-d tree
    proposes candidates within the nearest distance (plus a relative margin), which are then
    filtered on the exact squared distance.
    """
    tree = cKDTree(points)
    d, _ = tree.query(query, k=1)
    margin = d * 1e-9 + 1e-12
    cand = tree.query_ball_point(query, d + margin)
    rows = np.repeat(np.arange(len(query)), [len(x) for x in cand])
    cols = np.fromiter((j for x in cand for j in x), dtype=np.intp, count=len(rows))
    sq = ((query[rows] - points[cols]) ** 2).sum(axis=1)
    best = np.full(len(query), np.inf)
    np.minimum.at(best, rows, sq)
    keep = sq <= best[rows]
    return rows[keep], cols[keep]
