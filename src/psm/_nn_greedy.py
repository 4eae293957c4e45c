"""psmatch2 greedy 1:1 nearest-neighbour matching *without replacement* (``noreplacement``).

Source: psmatch2.ado v4.0.12 (Leuven & Sianesi), Mata ``match_pscore`` with
``next_unmatched``. Focal units are taken in processing order (ascending score; psmatch2's
``descending`` is handled by the caller negating the scores), each taking the nearest
*still unused* candidate that psmatch2's forward scan reaches from its pointer; the pointer
only moves forward until it reaches the last candidate, after which the scan runs
backward. This is not "nearest unused candidate", and is reproduced exactly.
"""

from __future__ import annotations

import numpy as np

from psm._nn_sorted import Links, value_groups


def match_without_replacement(p, c, *, ties, caliper) -> Links:
    """psmatch2 greedy 1:1 matching without replacement (``noreplacement``).

    ``p`` must be in processing order (ascending). psmatch2 keeps a pointer into the sorted
    candidates and scans forward from it; every candidate at or after the pointer is unused,
    so the nearest reachable one follows from a precomputed ``searchsorted`` position.
    Once the nearest is the last candidate the scan turns backward for good; unused
    candidates are then found with prev/next-free tables built once (the candidates below
    the pointer never change again). Each unit costs O(1) plus the candidates it uses.
    """
    n = len(c)
    right = np.searchsorted(c, p, side="left").tolist()
    gstart, gend = value_groups(c)
    gstart = list(range(n)) if gstart is None else gstart.tolist()
    gend = list(range(1, n + 1)) if gend is None else gend.tolist()
    pl, cl = p.tolist(), c.tolist()
    rows: list[int] = []
    picks: list[int] = []
    t, P, matched = _forward_phase(pl, cl, right, gstart, gend, ties, caliper, rows, picks)
    if t < len(pl) and P == n - 1:  # the scan reached the last candidate: turn backward
        used = np.zeros(n, dtype=bool)
        used[picks] = True
        pos = np.arange(n)
        prev_free = np.maximum.accumulate(np.where(used, -1, pos)).tolist() + [-1]  # [-1] for index -1
        next_free = np.minimum.accumulate(np.where(used, n, pos)[::-1])[::-1].tolist() + [n]
        if matched:  # the last candidate was just used: step back from it
            P = prev_free[n - 2]
        _backward_phase(pl, cl, right, gend, ties, caliper, rows, picks, t, P, prev_free, next_free)
    return _links_from_lists(rows, picks)


def _forward_phase(pl, cl, right, gstart, gend, ties, caliper, rows, picks) -> tuple[int, int, bool]:
    """psmatch2's forward scan; returns (next unit, pointer, whether that unit matched).

    Stops after the unit whose nearest is the last candidate, or when the pointer runs past
    the last candidate (the remaining units then stay unmatched).
    """
    n = len(cl)
    last = n - 1
    add_row, add_pick = rows.append, picks.append
    P = 0
    for t, (pt, r) in enumerate(zip(pl, right)):
        if P > last:
            return t, P, False
        if r <= P or P == last:  # every unused candidate is >= p: the pointer is nearest
            j = P
        else:  # first of the run of candidates below p at the smallest distance, or r
            j = gstart[r - 1]
            dl = pt - cl[r - 1]
            while j > P and pt - cl[j - 1] == dl:
                j = gstart[j - 1]
            if j < P:
                j = P
            if r < n and cl[r] - pt < dl:
                j = r
        d = abs(pt - cl[j])
        if d < caliper:
            if ties:
                end = gend[j]
                while end < n and abs(pt - cl[end]) <= d:
                    end = gend[end]
                rows.extend([t] * (end - j))
                picks.extend(range(j, end))
                P = end
            else:
                add_row(t)
                add_pick(j)
                P = j + 1
        else:
            P = j
        if j == last:
            return t + 1, last, d < caliper
    return len(pl), P, False


def _backward_phase(pl, cl, right, gend, ties, caliper, rows, picks, t, P, prev_free, next_free) -> None:
    """psmatch2's backward scan from pointer ``P`` (after the last candidate was reached).

    Unused candidates at or below ``P`` are those ``prev_free``/``next_free`` know of. The
    scan meets them from the top, so among equal distances the highest position wins.
    """
    last = len(cl) - 1
    for t in range(t, len(pl)):
        if P < 0:
            return
        pt, r = pl[t], right[t]
        if P == last:  # psmatch2 does not scan from the last candidate
            j = P
        else:
            j = prev_free[min(P, r - 1)]  # highest unused candidate below p (or -1)
            jr = next_free[r]  # lowest unused candidate >= p
            if jr <= P:  # the highest unused one at jr's distance, unless j is closer
                dr = cl[jr] - pt
                top = prev_free[min(P, gend[jr] - 1)]
                nxt = next_free[top + 1]
                while nxt <= P and cl[nxt] - pt == dr:
                    top = prev_free[min(P, gend[nxt] - 1)]
                    nxt = next_free[top + 1]
                if j < 0 or pt - cl[j] >= dr:
                    j = top
        d = abs(pt - cl[j])
        if d < caliper:
            rows.append(t)
            picks.append(j)
            q = prev_free[j - 1]
            while ties and q >= 0 and abs(pt - cl[q]) <= d:
                rows.append(t)
                picks.append(q)
                q = prev_free[q - 1]
            P = q
        else:
            P = j


def _links_from_lists(rows: list[int], picks: list[int]) -> Links:
    r = np.asarray(rows, dtype=np.int64)
    m = np.asarray(picks, dtype=np.int64)
    n_i = np.bincount(r)[r] if len(r) else np.zeros(0)
    return Links(r, m, 1.0 / n_i)
