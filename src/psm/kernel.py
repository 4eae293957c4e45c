"""Kernel and radius matching on a one-dimensional score, as psmatch2 v4.0.12 does it.

Source: psmatch2.ado v4.0.12 (Leuven & Sianesi), programs ``_Match_kernel`` and
``_Kernel_`` and the option handling at the top of ``psmatch2``. For every focal unit i
(treated under ATT; controls under ATU; both under ATE, psmatch2's ``ate``) on support, with
``dif_j = p_j - p_i`` over the candidates j of the other group on (common) support and
``u = dif_j / h`` (h = ``bwidth``, default 0.06)::

    epan      K = 1 - u^2                 if |dif| <= h
    normal    K = phi(u)                  every candidate (no window)
    biweight  K = (1 - u^2)^2             if |dif| <= h
    uniform   K = 1                       if |dif| <= h
    tricube   K = (1 - |u|^3)^3           if |dif| <= h

The weights are normalised to sum to one over i's candidates, w_ij = K_ij / sum_j K_ij.
The matched outcome (psmatch2 ``_<y>``) is sum_j w_ij y_j; a focal unit whose kernel
weights are all missing or sum to zero (no candidate within h) goes off support
(``_support = 0``). ``_weight`` is 1 for treated on support under ATT and, for every
candidate, the sum of the w_ij it received; under ATE every unit holds only what it
received; weight 0 and off support are stored as 0 (psmatch2's missing).

**Local linear matching** (``llr kerneltype()``, program ``_Match_llr``): the matched
outcome is the intercept of the regression of y_j on dif_j weighted by K_ij, i.e.
(S2 T0 - S1 T1)/(S0 S2 - S1^2) with S_r = sum_j K_ij dif^r and T_r = sum_j K_ij dif^r y_j,
and every candidate receives its equivalent-kernel weight K_ij (S2 - S1 dif_ij)/(S0 S2 -
S1^2) in ``_weight`` (psmatch2's ``weight*(V + sum^2 - sum*dif)/V`` with V the weighted
variance of dif); these weights can be negative. A window with one distinct dif gives the
weighted mean (Stata drops the collinear dif). psmatch2 sends ``llr`` with its default
Epanechnikov kernel through Stata's ``lpoly`` and then nearest-neighbour matching instead;
that path is not reproduced, so ``method="llr"`` takes the normal, biweight, uniform or
tricube kernel, pair by pair. psmatch2 prints no standard error after ``llr`` with the
tricube kernel, nor does :func:`psm.effect` (NaN).

**Radius matching** (``radius caliper(r)``) is kernel matching with the uniform kernel and
h = r: every candidate with ``|dif| <= r`` (note ``<=``, where nearest-neighbour matching's
caliper is strict), all with equal weight.

psmatch2's approximate ATT standard error (Lechner 2001) is printed for kernel and radius
matching too (:func:`psm.effect` computes it from ``_weight``); the Abadie-Imbens standard
errors are for nearest-neighbour matching only. Kernel matching is a smooth function of
the data, so the bootstrap is valid for it (:func:`psm.bootstrap_se`), unlike for
nearest-neighbour matching.

Speed: candidates are sorted once and each focal unit's window ``|dif| <= h`` is found by
``searchsorted`` (no n_focal x n_candidates array). The epan, biweight and uniform kernels
(and so radius matching) are polynomials in u inside the window, so their window sums come
from prefix sums of powers of the score: O(n log n) whatever h. The tricube kernel (|u|^3)
and the normal kernel (no window) are evaluated pair by pair, in blocks of focal units:
their cost is the number of pairs, about n_focal * n_candidates * 2h for uniform scores
(tricube) or n_focal * n_candidates (normal).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from math import comb

import numpy as np
import pandas as pd
from scipy import stats

from psm._neighbours import expand, move_while
from psm._validation import (
    column_label,
    drop_missing,
    numeric_values,
    require_both_groups,
    select_columns,
    treatment_indicator,
)
from psm.errors import NoControlsOnSupportError
from psm.summary import Summary, SummaryTable
from psm.support import ESTIMANDS, support_mask, support_table, unit_frame, unit_series, unit_weights

KERNELS = ("epan", "normal", "biweight", "uniform", "tricube")
METHODS = ("kernel", "radius", "llr")
LLR_KERNELS = ("normal", "biweight", "uniform", "tricube")
DEFAULT_BANDWIDTH = 0.06
_PASSES = {"ATT": ("ATT",), "ATU": ("ATU",), "ATE": ("ATU", "ATT")}  # psmatch2 runs controls first
_BLOCK_PAIRS = 1 << 21
# kernels that are polynomials in u = dif/h inside |dif| <= h: coefficients of u^0, u^1, ...
_DIRECT_BELOW = 0.01  # mean kernel weight in a window below which its sums are taken pair by pair
_POLYNOMIAL = {"epan": (1.0, 0.0, -1.0), "biweight": (1.0, 0.0, -2.0, 0.0, 1.0), "uniform": (1.0,)}


def kernel_weight(kernel: str, dif: np.ndarray, h: float) -> np.ndarray:
    """psmatch2 ``_Kernel_`` before normalisation; 0 outside the window (Stata: missing)."""
    u = dif / h
    if kernel == "normal":
        return stats.norm.pdf(u)
    inside = np.abs(dif) <= h
    if kernel == "epan":
        k = 1 - u * u
    elif kernel == "biweight":
        k = (1 - u * u) ** 2
    elif kernel == "uniform":
        k = np.ones_like(u)
    else:  # tricube
        k = (1 - np.abs(u) ** 3) ** 3
    return np.where(inside, k, 0.0)


@dataclass(frozen=True)
class _Windows:
    """One direction: focal positions, candidate positions (sorted by score) and, per focal
    unit, its window ``[lo, hi)`` into the sorted candidates and the kernel sum."""

    focal: np.ndarray
    cands: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    total: np.ndarray
    direct: np.ndarray | None  # rows summed pair by pair (polynomial kernels)


@dataclass(frozen=True)
class KernelMatching:
    """Result of kernel or radius matching (:func:`kernel_match`, ``psm.match(method=...)``).

    Series aligned like :class:`psm.Matching`'s: ``treated``, ``score``,
    ``within_common_support``, ``on_support`` (psmatch2 ``_support``), ``weights``
    (``_weight``, missing stored as 0). ``method`` is "kernel" or "radius"; ``kernel`` and
    ``bandwidth`` the kernel and h (radius: uniform and the caliper). :func:`psm.balance`
    and :func:`psm.effect` accept it.
    """

    treated: pd.Series
    score: pd.Series
    within_common_support: pd.Series
    on_support: pd.Series
    weights: pd.Series
    estimand: str
    method: str
    kernel: str
    bandwidth: float
    common_support: bool
    dropped: pd.Index = field(default_factory=lambda: pd.Index([]))
    _windows: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_dropped(self) -> int:
        """Number of rows dropped for missing values."""
        return len(self.dropped)

    def options(self) -> dict:
        """The :func:`kernel_match` keyword arguments that reproduce this matching."""
        size = {"caliper": self.bandwidth} if self.method == "radius" else {
            "kernel": self.kernel, "bandwidth": self.bandwidth}
        return {"method": self.method, "common_support": self.common_support, "estimand": self.estimand, **size}

    def matched_outcome(self, y: pd.Series, direction: str | None = None) -> pd.Series:
        """psmatch2 ``_<outcome>``: kernel-weighted mean outcome of each focal unit's candidates.

        ``direction`` "ATT" fills treated units, "ATU" controls, ``None`` the estimand's
        directions; NaN elsewhere (and for focal units off support).
        """
        if not isinstance(y, pd.Series):
            raise TypeError("y must be a pandas Series aligned to the data")
        missing = self.score.index.difference(y.index)
        if len(missing):
            raise ValueError(f"y lacks {len(missing)} rows of the matching, e.g. {missing[:5].tolist()}")
        values = y.reindex(self.score.index).to_numpy(dtype=float)
        score = self.score.to_numpy(dtype=float)
        out = np.full(len(values), np.nan)
        for name in _PASSES[self.estimand] if direction is None else (direction,):
            if name not in self._windows:
                raise ValueError(f"direction must be one of {tuple(self._windows)}, got {name!r}")
            win = self._windows[name]
            ok = win.total > 0
            p, c = score[win.focal], score[win.cands]
            if self.method == "llr":
                fitted = _llr_fit(p, c, win.lo, win.hi, self.kernel, self.bandwidth, values[win.cands])
                out[win.focal[ok]] = fitted[ok]
                continue
            sums = _window_sums(p, c, win.lo, win.hi, self.kernel, self.bandwidth, values[win.cands], win.direct)
            out[win.focal[ok]] = sums[ok] / win.total[ok]
        return pd.Series(out, index=self.score.index, name=f"_{y.name}" if y.name is not None else None)

    @property
    def pairs(self) -> pd.DataFrame:
        """Every (focal, candidate) link with a positive kernel weight: columns ``treated``,
        ``control``, ``distance``, ``weight`` (w_ij), ``direction`` (built on request)."""
        index, score = self.score.index, self.score.to_numpy(dtype=float)
        parts = []
        for name, win in self._windows.items():
            rows, pos = expand(win.lo, win.hi)
            f, c = win.focal[rows], win.cands[pos]
            dif = score[c] - score[f]
            k = kernel_weight(self.kernel, dif, self.bandwidth)
            keep = (k > 0) & (win.total[rows] > 0)
            if self.method == "llr":
                st = _llr_stats(score[win.focal], score[win.cands], win.lo, win.hi, self.kernel, self.bandwidth)
                w = _equivalent_weights(k, dif, st[rows], self.bandwidth)[keep]
            else:
                w = k[keep] / win.total[rows][keep]
            f, c = f[keep], c[keep]
            t, u = (f, c) if name == "ATT" else (c, f)
            parts.append(pd.DataFrame({"treated": index.take(t), "control": index.take(u),
                                       "distance": np.abs(score[t] - score[u]), "weight": w,
                                       "direction": name}))
        return pd.concat(parts, ignore_index=True)

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: ``treated``, ``score``, ``on_support``, ``weight`` (psmatch2's variables)."""
        return unit_frame(self)

    def summary(self) -> Summary:
        """Options and psmatch2's ``tab _treated _support``."""
        what = f"radius matching, caliper {self.bandwidth:g} (<=)" if self.method == "radius" else (
            f"{'local linear' if self.method == 'llr' else 'kernel'} matching, {self.kernel} kernel, "
            f"bandwidth {self.bandwidth:g}")
        title = f"{what[0].upper()}{what[1:]} on {self.score.name!r} (psmatch2 v4.0.12 rules)"
        head = [f"estimand {self.estimand}, common support={self.common_support}"]
        support = support_table(self.treated.to_numpy(), self.on_support.to_numpy())
        text = "\n".join([title, *head, SummaryTable(support).as_text()])
        return Summary(title, [("Common support", support)], head, text=text)

    def __str__(self) -> str:
        return self.summary()


def kernel_match(
    data: pd.DataFrame,
    treatment: Hashable | pd.Series,
    score: Hashable | pd.Series,
    *,
    method: str = "kernel",
    kernel: str = "epan",
    bandwidth: float | None = None,
    caliper: float | None = None,
    common_support: bool = False,
    estimand: str = "ATT",
    dropna: bool = False,
) -> KernelMatching:
    """psmatch2's ``kernel`` (``kerneltype()``, ``bwidth()``) or ``radius caliper()`` matching.

    ``method="kernel"``: ``kernel`` in ``KERNELS`` (epan default), ``bandwidth`` h
    (default 0.06). ``method="radius"``: ``caliper`` r required; uniform kernel with h = r.
    Other arguments as :func:`psm.match`. See the module docstring for the formulas.
    """
    problems = []
    if method not in METHODS:
        problems.append(f"method must be one of {METHODS}, got {method!r}")
    if kernel not in KERNELS:
        problems.append(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if estimand not in ESTIMANDS:
        problems.append(f"estimand must be one of {ESTIMANDS}, got {estimand!r}")
    if method == "llr" and kernel not in LLR_KERNELS:
        problems.append(
            f"local linear matching here takes kernel in {LLR_KERNELS}, got {kernel!r}: psmatch2 routes llr with "
            "the Epanechnikov kernel through Stata's lpoly and then nearest-neighbour matching, not reproduced"
        )
    if method == "radius":
        if not (isinstance(caliper, (int, float, np.floating)) and caliper > 0):
            problems.append(f"radius matching needs a positive caliper (the radius), got {caliper!r}")
        if bandwidth is not None:
            problems.append("radius matching takes caliper=, not bandwidth= (psmatch2 sets bwidth to the caliper)")
    else:
        if caliper is not None:
            problems.append("kernel matching has no caliper (psmatch2 ignores it); use bandwidth= or method='radius'")
        if bandwidth is not None and not (isinstance(bandwidth, (int, float, np.floating)) and bandwidth > 0):
            problems.append(f"bandwidth must be a positive number, got {bandwidth!r}")
    if problems:
        raise ValueError("invalid kernel matching options: " + "; ".join(problems))
    h = float(caliper) if method == "radius" else float(DEFAULT_BANDWIDTH if bandwidth is None else bandwidth)
    kern = "uniform" if method == "radius" else kernel

    names = {"treatment": column_label(treatment), "score": column_label(score)}
    frame = select_columns(data, {"treatment": treatment, "score": score})
    frame, dropped = drop_missing(frame, dropna=dropna, names=names)
    treated = treatment_indicator(frame["treatment"].rename(names["treatment"]))
    require_both_groups(treated)
    scores = numeric_values(frame["score"].rename(names["score"]))
    t = treated.to_numpy()
    n = len(t)
    common = support_mask(t, scores, estimand) if common_support else np.ones(n, dtype=bool)
    on_support = common.copy()
    weights = np.zeros(n)
    windows = {}
    for direction in _PASSES[estimand]:
        focal_group = t if direction == "ATT" else ~t
        focal = np.flatnonzero(focal_group & common)
        cands = np.flatnonzero(~focal_group & common)
        cands = cands[np.argsort(scores[cands])]
        win, received = (_llr_direction if method == "llr" else _direction)(scores, focal, cands, kern, h)
        windows[direction] = win
        on_support[win.focal[win.total <= 0]] = False
        if not (win.total > 0).any():
            unit, other = ("treated", "control") if direction == "ATT" else ("control", "treated")
            raise NoControlsOnSupportError(
                f"no {unit} unit has a {other} unit within bandwidth {h:g} ({kern} kernel); widen the bandwidth"
            )
        weights += received
    unit_weights(weights, t, on_support, estimand)

    index = frame.index
    return KernelMatching(
        treated=treated,
        **unit_series(index, scores, names["score"], common, on_support, weights),
        estimand=estimand,
        method=method,
        kernel=kern,
        bandwidth=h,
        common_support=common_support,
        dropped=dropped,
        _windows=windows,
    )


def _direction(scores, focal, cands, kernel, h) -> tuple[_Windows, np.ndarray]:
    """Windows, kernel sums and the weight every candidate receives (sum_i w_ij).

    Focal units are taken in score order, so the windows move monotonically and each block
    of them touches one contiguous run of candidates. With a polynomial kernel, focal units
    whose kernel sum is small against their window's size (only candidates near its edge,
    where prefix-sum differences lose digits) are summed pair by pair instead.
    """
    focal = focal[np.argsort(scores[focal])]
    p, c = scores[focal], scores[cands]
    lo, hi = _exact_windows(p, c, kernel, h)
    total = _window_sums(p, c, lo, hi, kernel, h, None)
    direct = None
    if kernel in _POLYNOMIAL:
        direct = total < _DIRECT_BELOW * (hi - lo)
        total = _window_sums(p, c, lo, hi, kernel, h, None, direct)
    inv = np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)
    if direct is None:
        received_sorted = _pairwise_received(p, c, lo, hi, kernel, h, inv)
    else:  # symmetric kernel: the candidates' windows over the focal units
        c_lo, c_hi = _exact_windows(c, p, kernel, h)
        received_sorted = _polynomial_sums(c, p, c_lo, c_hi, kernel, h, np.where(direct, 0.0, inv))
        rows = np.flatnonzero(direct)
        received_sorted += _pairwise_received(p[rows], c, lo[rows], hi[rows], kernel, h, inv[rows])
    received = np.zeros(len(scores))
    received[cands] = received_sorted
    return _Windows(focal, cands, lo, hi, total, direct), received


def _pairwise_received(p, c, lo, hi, kernel, h, inv) -> np.ndarray:
    """sum_i K((c_j - p_i)/h) inv_i for every sorted candidate j, pair by pair."""
    out = np.zeros(len(c))
    for start, stop, rows, pos in _blocks(lo, hi):
        k = kernel_weight(kernel, c[pos] - p[rows], h) * inv[rows]
        first = lo[start:stop].min()
        out[first:first + int(pos.max() - first) + 1] += np.bincount(pos - first, weights=k)
    return out


def _exact_windows(p, c, kernel, h) -> tuple[np.ndarray, np.ndarray]:
    """``[lo, hi)`` in sorted ``c`` of the candidates with ``|c - p| <= h`` (exactly as
    psmatch2 tests it); the whole of ``c`` for the normal kernel."""
    n = len(c)
    if kernel == "normal" or not n:
        return np.zeros(len(p), dtype=np.intp), np.full(len(p), n, dtype=np.intp)
    slack = 4 * np.finfo(float).eps * (np.abs(p) + h)
    lo = np.searchsorted(c, p - h - slack, side="left")
    hi = np.searchsorted(c, p + h + slack, side="right")
    lo = move_while(lo, lambda pos: (pos < hi) & (np.abs(c[np.minimum(pos, n - 1)] - p) > h), lambda pos: pos + 1)
    hi = move_while(hi, lambda pos: (pos > lo) & (np.abs(c[np.maximum(pos - 1, 0)] - p) > h), lambda pos: pos - 1)
    return lo, hi


def _window_sums(p, c, lo, hi, kernel, h, values, direct=None) -> np.ndarray:
    """sum_{j in [lo_i, hi_i)} K((c_j - p_i)/h) * values_j (values None: 1); by prefix sums for
    a polynomial kernel except the rows in ``direct``, pair by pair otherwise."""
    if kernel not in _POLYNOMIAL:
        return _pairwise_sums(p, c, lo, hi, kernel, h, values)
    out = _polynomial_sums(p, c, lo, hi, kernel, h, values)
    if direct is not None and direct.any():
        rows = np.flatnonzero(direct)
        out[rows] = _pairwise_sums(p[rows], c, lo[rows], hi[rows], kernel, h, values)
    return out


def _pairwise_sums(p, c, lo, hi, kernel, h, values) -> np.ndarray:
    out = np.zeros(len(p))
    for start, stop, rows, pos in _blocks(lo, hi):
        k = kernel_weight(kernel, c[pos] - p[rows], h)
        if values is not None:
            k = k * values[pos]
        out[start:stop] = np.bincount(rows - start, weights=k, minlength=stop - start)
    return out


def _polynomial_sums(p, c, lo, hi, kernel, h, values) -> np.ndarray:
    """The same sums for a kernel that is a polynomial in u inside its window, in O(n):
    with z = (s - s0)/h, sum_j sum_m a_m (z_j - z_i)^m v_j = sum_r [sum_m a_m C(m, r)
    (-z_i)^(m-r)] * (prefix sums of z^r v over the window)."""
    coef = _POLYNOMIAL[kernel]
    s0 = 0.5 * (c[0] + c[-1]) if len(c) else 0.0
    zc, zp = (c - s0) / h, (p - s0) / h
    v = np.ones(len(c)) if values is None else values
    out = np.zeros(len(p))
    zr_v = v.astype(float, copy=True)  # z^r v, r = 0, 1, ...
    for r in range(len(coef)):
        if r:
            zr_v *= zc
        prefix = np.concatenate([[0.0], np.cumsum(zr_v)])
        window = prefix[hi] - prefix[lo]
        factor = sum(a * comb(m, r) * (-zp) ** (m - r) for m, a in enumerate(coef) if m >= r and a)
        out += factor * window
    return out


def _llr_stats(p, c, lo, hi, kernel, h) -> np.ndarray:
    """Per focal unit: S0 = sum_j K_ij, the weighted mean dbar of dif and V = sum_j K_ij
    (dif_ij - dbar)^2 (centred within the window, for precision)."""
    out = np.zeros((len(p), 3))
    for start, stop, rows, pos in _blocks(lo, hi):
        dif = c[pos] - p[rows]
        k = kernel_weight(kernel, dif, h)
        r, size = rows - start, stop - start
        s0 = np.bincount(r, weights=k, minlength=size)
        dbar = np.divide(np.bincount(r, weights=k * dif, minlength=size), s0, out=np.zeros(size), where=s0 > 0)
        dc = dif - dbar[r]
        out[start:stop] = np.column_stack([s0, dbar, np.bincount(r, weights=k * dc * dc, minlength=size)])
    return out


def _equivalent_weights(k: np.ndarray, dif: np.ndarray, st: np.ndarray, h: float) -> np.ndarray:
    """w_ij = K_ij [1/S0 - dbar (dif_ij - dbar) / V] (rows of :func:`_llr_stats`), so that
    sum_j w_ij y_j = ybar - slope * dbar is the intercept; K_ij / S0 when every dif of the
    window is equal (V = 0 up to rounding: Stata drops the collinear dif)."""
    s0, dbar, v = st[:, 0], st[:, 1], st[:, 2]
    flat = v <= s0 * (1e-12 * h) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return k * (1.0 / s0 - np.where(flat, 0.0, dbar * (dif - dbar) / np.where(flat, 1.0, v)))


def _llr_fit(p, c, lo, hi, kernel, h, y) -> np.ndarray:
    """Intercept of the kernel-weighted regression of y on dif (psmatch2 ``_Match_llr``)."""
    st = _llr_stats(p, c, lo, hi, kernel, h)
    out = np.zeros(len(p))
    for start, stop, rows, pos in _blocks(lo, hi):
        dif = c[pos] - p[rows]
        w = _equivalent_weights(kernel_weight(kernel, dif, h), dif, st[rows], h)
        out[start:stop] = np.bincount(rows - start, weights=w * y[pos], minlength=stop - start)
    return out


def _llr_direction(scores, focal, cands, kernel, h) -> tuple[_Windows, np.ndarray]:
    """Local linear matching: each candidate receives its equivalent-kernel weight (see
    :func:`_equivalent_weights`; psmatch2's ``weight*(V + sum^2 - sum*dif)/V`` with weights
    normalised to one), the weight that makes sum_j w_ij y_j the intercept; it can be negative."""
    focal = focal[np.argsort(scores[focal])]
    p, c = scores[focal], scores[cands]
    lo, hi = _exact_windows(p, c, kernel, h)
    st = _llr_stats(p, c, lo, hi, kernel, h)
    received_sorted = np.zeros(len(c))
    for start, stop, rows, pos in _blocks(lo, hi):
        dif = c[pos] - p[rows]
        w = _equivalent_weights(kernel_weight(kernel, dif, h), dif, st[rows], h)
        first = lo[start:stop].min()
        received_sorted[first:first + int(pos.max() - first) + 1] += np.bincount(pos - first, weights=w)
    received = np.zeros(len(scores))
    received[cands] = received_sorted
    return _Windows(focal, cands, lo, hi, st[:, 0], None), received


def _blocks(lo: np.ndarray, hi: np.ndarray):
    """(start, stop, rows, positions) of the windows of focal units start..stop-1, in blocks
    of about ``_BLOCK_PAIRS`` (row, position) pairs."""
    sizes = np.cumsum(hi - lo)
    start = 0
    while start < len(lo):
        base = sizes[start - 1] if start else 0
        stop = max(int(np.searchsorted(sizes, base + _BLOCK_PAIRS, side="right")), start + 1)
        rows, pos = expand(lo[start:stop], hi[start:stop])
        if len(rows):
            yield start, stop, rows + start, pos
        start = stop
