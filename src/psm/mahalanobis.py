"""Mahalanobis-metric nearest-neighbour matching, as psmatch2 v4.0.12's ``mahalanobis()``.

Source: psmatch2.ado v4.0.12 (Leuven & Sianesi): the weighting matrix block and Mata
``match_mahalanobis``, ``_Dif_mbase`` and ``kth_smallest``. With X the matching variables
(``mahalanobis(varlist)``; add the propensity score as one more variable for matching on
covariates and score, psmatch2's way of "adding the pscore"):

* W = S^-1, S = (XX_0 + XX_1) / (N - 2), XX_g the within-group cross-products of
  deviations from the group means (``mat accum ..., dev``): the pooled within-group
  covariance. ``weight_matrix=`` replaces W (psmatch2 ``w()``).
* The distance of candidate j to focal unit i is the *squared* Mahalanobis distance,
  computed as psmatch2 does: ``x_j'W x_j - 2 x_j'W x_i + x_i'W x_i``.
* Focal unit i takes the k candidates with the smallest distance (``kth_smallest``, a
  Hoare quickselect over the candidates in data order; when distances tie at the k-th
  place the quickselect decides which, and that is reproduced), then drops those with
  distance > ``caliper`` (a caliper on the *squared* distance, ``<=``). A focal unit left
  without a match goes off support. ``ties`` is not implemented for this metric in
  psmatch2, nor here.
* Matched outcome: the mean over the n_i kept matches. ``_weight``: each control gains
  ``1/k`` (not 1/n_i) per treated unit using it -- psmatch2's rule, so with a caliper a
  treated unit's matches can weigh less than 1 in total.
* ATE (psmatch2 ``ate``): controls are matched to treated units first, then treated to controls.

R's ``Matching::Match(X, Weight=2)`` uses the covariance of X over all units instead of the
pooled within-group one; with ``Weight=3, Weight.matrix=W`` it uses this module's W and then
finds the same matches when no distances tie.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from psm._nn_sorted import Links
from psm._validation import (
    drop_missing,
    numeric_values,
    require_both_groups,
    select_columns,
    treatment_indicator,
)
from psm.errors import NoControlsOnSupportError
from psm.matching import DIRECTIONS, Matching
from psm.support import ESTIMANDS, unit_series

_PASSES = {"ATT": ("ATT",), "ATU": ("ATU",), "ATE": ("ATU", "ATT")}
_BLOCK_CELLS = 1 << 22


def pooled_weight_matrix(x: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """psmatch2's default W: inverse of (XX_0 + XX_1)/(N - 2), XX_g within-group deviations."""
    xx = sum(((x[g] - x[g].mean(axis=0)).T @ (x[g] - x[g].mean(axis=0))) for g in (treated, ~treated))
    return np.linalg.inv(xx / (len(x) - 2))


def kth_smallest(dist: np.ndarray, ids: np.ndarray, k: int, caliper: float) -> np.ndarray:
    """psmatch2's Mata ``kth_smallest``: Hoare quickselect of the k smallest ``dist``
    (candidates in data order), returned in the order it leaves them, those > caliper dropped."""
    a = list(zip(dist.tolist(), ids.tolist()))
    lo, hi = 0, len(a) - 1
    kk = k - 1
    while lo < hi:
        x = a[kk][0]
        i, j = lo, hi
        while True:
            while a[i][0] < x:
                i += 1
            while x < a[j][0]:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
            if i > j:
                break
        if j < kk:
            lo = i
        if kk < i:
            hi = j
    return np.array([i for d, i in a[:k] if d <= caliper], dtype=np.intp)


def mahalanobis_match(
    data: pd.DataFrame,
    treatment: Hashable | pd.Series,
    covariates: Sequence[Hashable],
    *,
    k: int = 1,
    caliper: float | None = None,
    estimand: str = "ATT",
    weight_matrix: np.ndarray | None = None,
    dropna: bool = False,
) -> Matching:
    """psmatch2 ``mahalanobis(covariates)`` nearest-neighbour matching (see module docstring).

    Returns a :class:`psm.Matching` with ``metric="mahalanobis"``; its ``score`` is NaN and its
    ``pairs["distance"]`` the Mahalanobis distance (square root of psmatch2's squared one).
    :func:`psm.effect` and :func:`psm.balance` accept it.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> m = psm.mahalanobis_match(df, "treat", ["age", "educ", "re74", "re75"])
    >>> m.metric, int(m.on_support.sum())
    ('mahalanobis', 614)
    >>> m.pairs[["treated", "control"]].head(2).values.tolist()
    [['NSW1', 'PSID368'], ['NSW2', 'PSID372']]
    >>> round(psm.effect(df, "re78", m).matched.difference, 2)
    402.2
    """
    covariates = list(covariates)
    problems = []
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        problems.append(f"k must be a positive integer, got {k!r}")
    if estimand not in ESTIMANDS:
        problems.append(f"estimand must be one of {ESTIMANDS}, got {estimand!r}")
    if caliper is not None and not caliper > 0:
        problems.append(f"caliper must be a positive squared distance or None, got {caliper!r}")
    if not covariates:
        problems.append("give at least one covariate")
    if problems:
        raise ValueError("invalid Mahalanobis matching options: " + "; ".join(problems))
    columns = {"treatment": treatment, **{str(c): c for c in covariates}}
    frame, dropped = drop_missing(select_columns(data, columns), dropna=dropna)
    treated = treatment_indicator(frame["treatment"].rename(str(treatment)))
    require_both_groups(treated)
    t = treated.to_numpy()
    x = np.column_stack([numeric_values(frame[str(c)]) for c in covariates])
    w = pooled_weight_matrix(x, t) if weight_matrix is None else np.asarray(weight_matrix, dtype=float)
    if w.shape != (x.shape[1], x.shape[1]):
        raise ValueError(f"weight_matrix must be {x.shape[1]} x {x.shape[1]}, got {w.shape}")
    cal = np.inf if caliper is None else float(caliper)
    base = np.einsum("ij,jk,ik->i", x, w, x)  # x'Wx of every unit
    n = len(t)
    links: dict[str, Links] = {}
    on_support = np.ones(n, dtype=bool)
    weights = np.where(t, 1.0, 0.0) if estimand == "ATT" else np.where(t, 0.0, 1.0)
    if estimand == "ATE":
        weights[:] = 0.0
    squared: dict[str, np.ndarray] = {}
    for direction in _PASSES[estimand]:
        focal_group = t if direction == "ATT" else ~t
        focal, cands = np.flatnonzero(focal_group), np.flatnonzero(~focal_group)
        f, m, d2 = _match_direction(x, w, base, focal, cands, min(k, len(cands)), cal)
        size = np.bincount(f, minlength=n)
        links[direction] = Links(f, m, 1.0 / size[f])
        squared[direction] = d2
        on_support[focal[size[focal] == 0]] = False
        weights += np.bincount(m, minlength=n) / k
        if not len(f):
            raise NoControlsOnSupportError(f"no focal unit has a match within caliper={caliper!r}")
    weights[~on_support] = 0.0
    index = frame.index
    return Matching(
        treated=treated,
        **unit_series(index, np.full(len(index), np.nan), "mahalanobis", np.ones(len(index), dtype=bool),
                      on_support, weights),
        pairs=_pairs(index, links, squared),
        estimand=estimand,
        k=k,
        replace=True,
        caliper=caliper,
        common_support=False,
        ties=False,
        order=None,
        seed=None,
        dropped=dropped,
        metric="mahalanobis",
        _links=links,
    )


def _match_direction(x, w, base, focal, cands, k, caliper):
    """(focal, match, squared distance) links, focal units in data order, each unit's matches
    in quickselect order."""
    xc_w = x[cands] @ w
    rows, picks, dists = [], [], []
    block = max(1, _BLOCK_CELLS // max(len(cands), 1))
    for start in range(0, len(focal), block):
        fi = focal[start:start + block]
        dist = base[cands][None, :] - 2 * (x[fi] @ xc_w.T) + base[fi][:, None]
        part = np.argpartition(dist, k - 1, axis=1)[:, :k] if k < len(cands) else np.tile(np.arange(len(cands)), (len(fi), 1))
        kth = np.take_along_axis(dist, part, axis=1).max(axis=1)
        # a distance equal to the k-th outside the k chosen: the quickselect decides, reproduce it
        tied = (dist == kth[:, None]).sum(axis=1) > (np.take_along_axis(dist, part, axis=1) == kth[:, None]).sum(axis=1)
        for r, i in enumerate(fi):
            if tied[r]:
                chosen = kth_smallest(dist[r], np.arange(len(cands)), k, caliper)
            else:
                chosen = np.sort(part[r])
                chosen = chosen[dist[r, chosen] <= caliper]
            rows.extend([i] * len(chosen))
            picks.extend(cands[chosen].tolist())
            dists.extend(dist[r, chosen].tolist())
    return np.asarray(rows, dtype=np.intp), np.asarray(picks, dtype=np.intp), np.asarray(dists)


def _pairs(index: pd.Index, links: dict[str, Links], squared: dict[str, np.ndarray]) -> pd.DataFrame:
    parts = []
    for direction, found in links.items():
        tr, co = (found.focal, found.match) if direction == "ATT" else (found.match, found.focal)
        parts.append(pd.DataFrame({
            "treated": index.take(tr), "control": index.take(co),
            "distance": np.sqrt(np.maximum(squared[direction], 0.0)), "weight": found.weight,
            "direction": pd.Categorical([direction] * len(tr), categories=list(DIRECTIONS)),
        }))
    return pd.concat(parts, ignore_index=True)
