"""psmatch2 nearest-neighbour matching *with replacement*, vectorised on sorted scores.

Source: psmatch2.ado v4.0.12 (Leuven & Sianesi), Mata ``match_pscore``, ``match_ties`` and
``match2``. Focal scores ``p`` are matched to candidate scores ``c`` sorted ascending (ties
in ``c`` already broken by psmatch2's sort order); positions returned are ranks in that
order. The rules (nearest = first in sort order at the smallest ``|p - c|``, strict
caliper, ``ties`` runs, the outward ``neighbor(k)`` walk that may list a tie twice) are
stated on :mod:`psm.matching`; each function here says which part it computes. One
``searchsorted`` replaces psmatch2's loop over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Links:
    """Matches of one direction: row ``r`` links focal ``focal[r]`` to candidate ``match[r]``."""

    focal: np.ndarray  # positions into the focal group
    match: np.ndarray  # positions into the sorted candidates
    weight: np.ndarray  # 1/n_i (summed when psmatch2 lists a candidate twice)


def value_groups(c: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """For each position of sorted ``c``: start and (exclusive) end of its run of equal
    values; ``(None, None)`` when no score repeats (each run is one position)."""
    n = len(c)
    first = np.empty(n, dtype=bool)
    first[:1] = True
    np.not_equal(c[1:], c[:-1], out=first[1:])
    if first.all():
        return None, None
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], n)
    run = np.cumsum(first) - 1
    return starts[run], ends[run]


def _run_start(gstart: np.ndarray | None, pos: np.ndarray) -> np.ndarray:
    return pos.copy() if gstart is None else gstart[pos]


def _run_end(gend: np.ndarray | None, pos: np.ndarray) -> np.ndarray:
    return pos + 1 if gend is None else gend[pos]


def _expand_ranges(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row ids and values of the concatenated ``arange(start[r], stop[r])``."""
    counts = stop - start
    rows = np.repeat(np.arange(len(start)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, start[rows] + offsets


def _nearest(p: np.ndarray, c: np.ndarray, gstart: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """psmatch2's nearest candidate of every ``p`` (with replacement) and its distance.

    The first position in sort order attaining ``min_j |p - c_j|``: the left candidate is
    the first of the run of candidates below ``p`` at the smallest distance, the right one
    the first candidate ``>= p``; the left one wins an equal distance. Distances are
    ``p - c`` on the left and ``c - p`` on the right, bit-identical to ``|p - c|``.
    """
    n = len(c)
    right = np.searchsorted(c, p, side="left")  # fast: callers pass p sorted
    below = right - 1
    has_left = below >= 0
    np.maximum(below, 0, out=below)
    left = _run_start(gstart, below)
    d_left = p - c[below]
    # distances of different scores can round to the same double: extend the run then
    widen = (p - c[np.maximum(left - 1, 0)]) == d_left
    widen &= has_left
    widen &= left > 0
    while widen.any():
        idx = np.flatnonzero(widen)
        left[idx] = _run_start(gstart, left[idx] - 1)
        widen[idx] = (left[idx] > 0) & (p[idx] - c[np.maximum(left[idx] - 1, 0)] == d_left[idx])
    rc = np.minimum(right, n - 1)
    d_right = c[rc] - p
    take_left = d_left <= d_right
    take_left |= right == n
    take_left &= has_left
    return np.where(take_left, left, rc), np.where(take_left, d_left, d_right)


def _tie_ends(p: np.ndarray, c: np.ndarray, j: np.ndarray, d: np.ndarray, gend: np.ndarray | None) -> np.ndarray:
    """End (exclusive) of the run from ``j`` of candidates within distance ``d`` (``match_ties``)."""
    end = _run_end(gend, j)
    more = end < len(c)
    more[more] = np.abs(p[more] - c[end[more]]) <= d[more]
    while more.any():
        idx = np.flatnonzero(more)
        end[idx] = _run_end(gend, end[idx])
        ok = end[idx] < len(c)
        more[idx] = ok
        more[idx[ok]] = np.abs(p[idx[ok]] - c[end[idx[ok]]]) <= d[idx[ok]]
    return end


def _outward(p, c, j, caliper, steps) -> np.ndarray:
    """psmatch2 ``match2``: ``steps`` more neighbours, walking outward from ``j``.

    Each step takes the closer of the next-left and next-right candidate (left wins an
    equal distance) and stops a unit's walk at the first candidate outside the caliper.
    Returns a ``(len(p), steps)`` array of candidate positions, -1 once a walk stopped.
    """
    n = len(c)
    out = np.full((len(p), steps), -1, dtype=np.intp)
    active = np.arange(len(p))
    lo, hi = j - 1, j + 1
    for step in range(steps):
        pa = p[active]
        ok_lo, ok_hi = lo >= 0, hi < n
        d_lo = np.abs(pa - c[np.maximum(lo, 0)])
        d_hi = np.abs(pa - c[np.minimum(hi, n - 1)])
        go_left = ok_lo & (~ok_hi | (d_lo <= d_hi))
        pick = np.where(go_left, lo, hi)
        keep = (go_left | ok_hi) & (np.where(go_left, d_lo, d_hi) < caliper)
        active, lo, hi, go_left, pick = active[keep], lo[keep], hi[keep], go_left[keep], pick[keep]
        if not len(active):
            break
        out[active, step] = pick
        lo = lo - go_left
        hi = hi + ~go_left
    return out


def match_with_replacement(p, c, *, k, ties, caliper) -> Links:
    """Vectorised psmatch2 matching with replacement of focal scores ``p`` on sorted ``c``.

    Unit ``i`` lists (psmatch2's IDLIST) its nearest ``j_i``, then with ``ties`` the run
    ``j_i+1 .. end_i-1`` at the same distance, then the ``k-1`` candidates of the outward
    walk; each entry weighs ``1/n_i`` with ``n_i`` the length of that list.
    """
    gstart, gend = value_groups(c)
    j, d = _nearest(p, c, gstart)
    ok = np.flatnonzero(d < caliper) if np.isfinite(caliper) else np.arange(len(p))
    if len(ok) < len(p):
        p, j, d = p[ok], j[ok], d[ok]
    if not ties and k == 1:  # one match each
        return Links(ok, j, np.ones(len(ok)))
    tie_end = _tie_ends(p, c, j, d, gend) if ties else j + 1
    n_tie = tie_end - j
    extra = _outward(p, c, j, caliper, k - 1)
    n_i = n_tie + (extra >= 0).sum(axis=1)
    # psmatch2 lists a tie the outward walk meets again a second time: fold it into the tie
    again = (extra >= j[:, None]) & (extra < tie_end[:, None]) if ties else np.zeros(extra.shape, bool)
    again_row, again_col = np.nonzero(again)
    again_pick = extra[again_row, again_col]
    extra[again] = -1
    # lay out each unit's list contiguously: ties first, then the walk (no sort needed)
    flat = extra.ravel()
    walk = np.flatnonzero(flat >= 0)  # row-major: each unit's walk in order
    er = walk // extra.shape[1]
    n_walk = np.bincount(er, minlength=len(j))
    size = n_tie + n_walk
    start = np.cumsum(size) - size
    rows = np.repeat(np.arange(len(j)), size)
    picks = np.empty(len(rows), dtype=np.intp)
    tie_rows, tie_picks = _expand_ranges(j, tie_end)
    picks[start[tie_rows] + tie_picks - j[tie_rows]] = tie_picks
    slot = np.arange(len(er)) - np.repeat(np.cumsum(n_walk) - n_walk, n_walk)
    picks[start[er] + n_tie[er] + slot] = flat[walk]
    weight = 1.0 / n_i[rows]
    weight[start[again_row] + again_pick - j[again_row]] += 1.0 / n_i[again_row]
    return Links(ok[rows], picks, weight)
