"""Abadie-Imbens (2006) standard error of a matching estimator, as R's ``Matching::Match``.

Computed exactly as ``Match(Y, Tr, X=score, estimand, M=k, ties=TRUE, distance.tolerance=0,
tolerance=0)$se`` (``RmatchLoop``, R/Matching.R; defaults ``Var.calc=0``, ``sample=FALSE``).
With pairs p = (focal unit i, match j, weight w_p = 1/|J(i)|), d_p = Y_treated - Y_control,
SN = number of focal units, est = sum_p w_p d_p / SN, tau_i = sum_{p of i} w_p d_p,
K_j = sum_{p: j matched} w_p and KK_j = sum_{p: j matched} w_p^2:

* sigma^2 (``Var.calc=0``, homoskedastic): 0.5 sum_p w_p (d_p - est)^2 / SN for every unit;
  ``var_calc=J`` > 0: the sample variance (n-1) of Y_i and the Y of unit i's J nearest
  same-arm units on the score, ties at the J-th distance included (for J = 1, AI 2006 eq. 14).
* ``sample=False`` (AI 2006 Theorem 7, "population"):
  V = [sum_{focal} (tau_i - est)^2 + sum_j sigma^2_j (K_j^2 + c K_j - KK_j)] / SN^2,
  c = 2 for ATE, 0 for ATT/ATU. ``sample=True`` (Theorem 6): V = sum_i sigma^2_i
  (1[i focal] + K_i)^2 / SN^2.

J(i), with replacement, is *every* candidate at most as far as the k-th nearest (the
definition of the estimator, and what ``ties=TRUE`` gives), whatever single candidate
psmatch2's sort order picked for its point estimate; see :func:`tie_aware_parts`.
"""

from __future__ import annotations

import numpy as np

from psm._neighbours import expand, nearest_ranges, run_covariance

DIRECTIONS = {"ATT": ("ATT",), "ATU": ("ATU",), "ATE": ("ATT", "ATU")}


def tie_aware_parts(matching, y: np.ndarray, direction: str):
    """(focal, match, weight, d) of one direction with J(i) = the k nearest, all ties kept.

    Positions are into the matching's rows. Focal units: those on support in ``direction``'s
    focal group; candidates: the other group within common support (psmatch2's candidate
    pool), and within the caliper (strict ``<``) when there is one.
    """
    treated = matching.treated.to_numpy(dtype=bool)
    score = matching.score.to_numpy(dtype=float)
    focal_group = treated if direction == "ATT" else ~treated
    focal = np.flatnonzero(focal_group & matching.on_support.to_numpy(dtype=bool))
    focal = focal[np.argsort(score[focal])]  # sorted queries: a faster search
    cands = np.flatnonzero(~focal_group & matching.within_common_support.to_numpy(dtype=bool))
    cands = cands[np.argsort(score[cands])]  # equal scores form one run whatever their order
    lo, hi = nearest_ranges(score[focal], score[cands], matching.k)
    rows, pos = expand(lo, hi)
    f, m = focal[rows], cands[pos]
    if matching.caliper is not None:
        keep = np.abs(score[f] - score[m]) < matching.caliper
        f, m = f[keep], m[keep]
    size = np.bincount(f, minlength=len(score))
    w = 1.0 / size[f]
    d = y[f] - y[m] if direction == "ATT" else y[m] - y[f]
    return f, m, w, d


def abadie_imbens_se(parts, y, score, treated, pool, estimand: str, *, var_calc: int = 0,
                     sample: bool = False) -> tuple[float, float]:
    """(estimate, AI (2006) SE) of ``estimand`` from the (focal, match, weight, d) of its directions."""
    focal, other, w, d = (np.concatenate(a) for a in zip(*parts))
    n = len(y)
    sn = w.sum()
    est = np.sum(w * d) / sn
    tau = np.bincount(focal, weights=w * d, minlength=n)
    is_focal = np.bincount(focal, weights=w, minlength=n) > 0
    k = np.bincount(other, weights=w, minlength=n)
    kk = np.bincount(other, weights=w * w, minlength=n)
    if var_calc == 0:
        sigma2 = np.full(n, 0.5 * np.sum(w * (d - est) ** 2) / sn)
    else:
        sigma2 = same_arm_variance(score, y, treated, pool, var_calc)
    used = is_focal | (k > 0)  # sigma2 of other units is multiplied by zero
    if sample:
        var = np.sum(sigma2[used] * (is_focal[used] + k[used]) ** 2) / sn**2
    else:
        c = 2.0 if estimand == "ATE" else 0.0
        var = (np.sum((tau[is_focal] - est) ** 2) + np.sum(sigma2[used] * (k**2 + c * k - kk)[used])) / sn**2
    return float(est), float(np.sqrt(var))


def same_arm_variance(score, y, treated, pool, j: int) -> np.ndarray:
    """sigma^2_i: sample variance of Y_i and its ``j`` nearest same-arm units on ``score``.

    Units at exactly the j-th smallest distance are all included (R Matching's ``Var.calc``
    loop with ``tolerance=0``): the j + 1 nearest same-arm units counting i itself at
    distance 0, ties kept. Only units in ``pool`` take part; NaN elsewhere.
    """
    out = np.full(len(y), np.nan)
    for arm in (True, False):
        idx = np.flatnonzero(pool & (treated == arm))
        if len(idx) <= j:
            group = "treated" if arm else "control"
            raise ValueError(f"ai_var_calc={j} needs more than {j} {group} units on support, found {len(idx)}")
        idx = idx[np.argsort(score[idx], kind="stable")]
        lo, hi = nearest_ranges(score[idx], score[idx], j + 1)
        out[idx] = np.maximum(run_covariance(y[idx][:, None], y[idx], lo, hi)[:, 0], 0.0)
    return out


def ai_method(var_calc: int, sample: bool) -> str:
    sigma = "homoskedastic, Var.calc=0" if var_calc == 0 else f"heteroskedastic, Var.calc={var_calc}"
    return f"Matching::Match(ties=TRUE) {sigma}, {'sample' if sample else 'population'} variance"


def bias_adjusted_parts(parts, y: np.ndarray, z: np.ndarray, treated: np.ndarray):
    """Abadie-Imbens (2011) regression bias correction of the pairs, as R's
    ``Match(..., BiasAdjust=TRUE)`` (``RmatchLoop``): returns the parts with d adjusted.

    K_j = sum of the weights with which unit j is used as a match (over all directions of
    the estimand). For the group g that supplies matches in a direction (controls for ATT,
    the treated for ATU), alpha_g = the slopes of the least-squares fit of Y on (1, Z) over
    the units of g weighted by K_j. An ATT pair (treated i, control j) then has
    d = Y_i - [Y_j + (Z_i - Z_j)' alpha_c]; an ATU pair (control i, treated j) has
    d = [Y_j + (Z_i - Z_j)' alpha_t] - Y_i. The estimate and both variance terms of
    :func:`abadie_imbens_se` are computed from these adjusted d (R does the same).
    """
    n = len(y)
    k = np.zeros(n)
    for _, other, w, _ in parts:
        k += np.bincount(other, weights=w, minlength=n)
    design = np.column_stack([np.ones(n), z])
    out = []
    for focal, other, w, d in parts:
        group = treated[other[0]] if len(other) else False
        sel = (treated == group) & (k > 0)
        xw = design[sel] * k[sel, None]
        alpha = np.linalg.solve(design[sel].T @ xw, xw.T @ y[sel])[1:]
        sign = -1.0 if not group else 1.0  # ATT direction: matches are controls
        out.append((focal, other, w, d + sign * ((z[focal] - z[other]) @ alpha)))
    return out
