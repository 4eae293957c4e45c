"""Matching on the estimated propensity score with the Abadie-Imbens (2016) standard error.

This is the estimator and the default standard error (``vce(robust, nn(L))``, L = 2) of
Stata's ``teffects psmatch``. Notation: units i = 1..N, W_i the treatment, N_1 treated,
X_i the treatment-model design row *with* the constant, theta the ML estimate, p_i =
F(X_i'theta) (logit: logistic; probit: Phi), f_i = F'(X_i'theta), M matches, L = ``vce_k``.
"The m nearest units of a set, ties kept" is every unit at a distance ``|p_i - p_j|`` at most
the m-th smallest (exact comparison; see :mod:`psm._neighbours`).

Matching (AI 2006 section 2): J(i) = the M nearest units of the other arm, ties kept;
Y^_i(W_i) = Y_i, Y^_i(1 - W_i) = mean of Y over J(i); tau_i = Y^_i(1) - Y^_i(0);
ATE = mean_i tau_i, ATET = mean_{W_i=1} tau_i. Usage weights K_i = sum_j 1[i in J(j)]/|J(j)|
and K'_i = sum_j 1[i in J(j)]/|J(j)|^2 over focal units j (ATET: treated j only).

Conditional variance (AI 2016 p. 796; Stata [TE] teffects nnmatch, Methods and formulas):
H_L(i) = i and its L - 1 nearest own-arm units (the L nearest own-arm units counting i at
distance 0), ties kept; sigma2_i = sample variance (divisor |H| - 1) of Y over H_L(i).

Unadjusted (AI 2006 Theorem 7, tie-aware weights)::

    V(ATE)  = [sum_i (tau_i - ATE)^2 + sum_i (K_i^2 + 2 K_i - K'_i) sigma2_i] / N^2
    V(ATET) = [sum_{W=1} (tau_i - ATET)^2 + sum_{W=0} (K_i^2 - K'_i) sigma2_i] / N_1^2

Adjustment for the estimated score (AI 2016 Theorems 1-2, eq. (6)-(9), estimators pp. 794-799):
I = sum_i f_i^2 / (p_i (1 - p_i)) X_i X_i' (expected information, summed over all N);
cov_wi = sample covariance of X and Y over the L nearest units of arm w to p_i, ties kept
(for w = W_i this is H_L(i)).

* ATE: c = (1/N) sum_i f_i [cov_1i / p_i + cov_0i / (1 - p_i)];
  V = V(ATE) - c' I^-1 c.
* ATET: c_t2 = (1/N_1) sum_i f_i [cov_1i + p_i/(1 - p_i) cov_0i];
  c_t1 = (1/N_1) sum_i X_i f_i (mu_1(i) - mu_0(i) - ATET), mu_{W_i}(i) = mean of Y over the L
  nearest own-arm units *excluding* i, mu_{1-W_i}(i) = mean over the L nearest other-arm
  units (ties kept); d = (1/N_1) sum_i X_i f_i (tau^X_i - ATET), tau^X_i = (2 W_i - 1)(Y_i -
  mean of Y over the nearest other-arm units in Euclidean distance on the raw non-constant
  columns of X, ties kept); V = V(ATET) - c_t' I^-1 c_t + d' I^-1 d, c_t = c_t1 + c_t2.

The ATU (effect on the untreated) is the ATET of the reversed treatment 1 - W, whose score is
1 - p (same f, X and neighbour sets): estimate negated, same standard error.

Probit: f_i = phi(X_i'theta) and I is the expected information above (the paper's); Stata
might use the probit's observed information instead (they differ by about 1e-5 relative in
the SE on samples of thousands). Only logit output of Stata has been reproduced; probit,
``nneighbor(k)`` with k > 1 and ``nn(L)`` with L != 2 follow the same formulas unverified.

Sources: A. Abadie and G. W. Imbens (2016), "Matching on the estimated propensity score",
Econometrica 84(2), 781-807; A. Abadie and G. W. Imbens (2006), "Large sample properties of
matching estimators for average treatment effects", Econometrica 74(1), 235-267; Stata
[TE] ``teffects psmatch`` and ``teffects nnmatch``, Methods and formulas. The psmatch-specific
choices (L = 2 nearest units in mu, one Euclidean match on the raw covariates in d, ties
kept everywhere) reproduce Stata's printed output (tests: the manual's cattaneo2 example).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from psm._neighbours import euclidean_nearest, nearest_ranges, run_covariance, run_mean

ESTIMANDS_2016 = ("ATE", "ATT", "ATU")


@dataclass(frozen=True)
class AI2016:
    """Point estimate and standard errors of matching on an estimated score (see module doc).

    ``se`` is adjusted for the estimation of the score (AI 2016), ``se_ai2006`` is not
    (AI 2006 with the nn(L) conditional variances). ``variance`` is the adjusted variance;
    in small samples it can be negative, and ``se`` is then NaN. ``n_matches`` = (min, max) of |J(i)|
    over the focal units.
    """

    estimand: str
    estimate: float
    se: float
    se_ai2006: float
    variance: float
    n_matches: tuple[int, int]
    n_units: int
    n_focal: int


def ai2016(
    score: np.ndarray,
    density: np.ndarray,
    design: np.ndarray,
    treated: np.ndarray,
    y: np.ndarray,
    *,
    estimand: str = "ATE",
    k: int = 1,
    vce_k: int = 2,
) -> AI2016:
    """Matching estimate of ``estimand`` on ``score`` with its AI (2016) standard error.

    ``score`` = p_i, ``density`` = f_i, ``design`` = X (N x q, constant included),
    ``treated`` bool, ``y`` float; ``k`` = M matches, ``vce_k`` = L (Stata ``nn(L)``).
    """
    if estimand not in ESTIMANDS_2016:
        raise ValueError(f"estimand must be one of {ESTIMANDS_2016}, got {estimand!r}")
    w = np.asarray(treated, dtype=bool)
    if estimand == "ATU":  # ATET of 1 - W, with score 1 - p
        res = _compute(score, 1.0 - score, density, design, ~w, y, k, vce_k, att=True)
        return AI2016("ATU", -res.estimate, res.se, res.se_ai2006, res.variance, res.n_matches, res.n_units, res.n_focal)
    return _compute(score, score, density, design, w, y, k, vce_k, att=estimand == "ATT")


@dataclass(frozen=True)
class _Arm:
    """One treatment arm sorted by score: positions into the data, score, Y, X."""

    idx: np.ndarray
    score: np.ndarray
    y: np.ndarray
    x: np.ndarray

    @classmethod
    def of(cls, mask, score, y, x) -> _Arm:
        idx = np.flatnonzero(mask)
        idx = idx[np.argsort(score[idx], kind="stable")]
        return cls(idx, score[idx], y[idx], x[idx])


def _compute(score, p, f, x, w, y, m, l, *, att: bool) -> AI2016:
    n = len(y)
    arms = {True: _Arm.of(w, score, y, x), False: _Arm.of(~w, score, y, x)}
    y_hat = {True: y.astype(float).copy(), False: y.astype(float).copy()}
    usage = np.zeros(n)
    usage2 = np.zeros(n)
    n_match = np.zeros(n, dtype=np.intp)
    sigma2 = np.empty(n)
    cov = {}
    mu = {True: np.empty(n), False: np.empty(n)}
    for arm, data in arms.items():
        own = w == arm
        lo, hi = nearest_ranges(score[~own], data.score, m)  # matches of the other arm's units
        other = np.flatnonzero(~own)
        y_hat[arm][other] = run_mean(data.y, lo, hi)
        n_match[other] = hi - lo
        size = (hi - lo).astype(float)
        weighted = ~own & (w if att else np.ones(n, dtype=bool))  # focal units of the other arm
        sel = weighted[other]
        usage[data.idx] = _range_add(len(data.idx), lo[sel], hi[sel], 1.0 / size[sel])
        usage2[data.idx] = _range_add(len(data.idx), lo[sel], hi[sel], 1.0 / size[sel] ** 2)
        # the L nearest units of this arm to every unit (for its own arm: H_L(i), i included)
        lo_l, hi_l = nearest_ranges(score, data.score, l)
        cov[arm] = run_covariance(data.x, data.y, lo_l, hi_l)
        sigma2[own] = run_covariance(data.y[:, None], data.y, lo_l[own], hi_l[own])[:, 0]
        mu[arm][~own] = run_mean(data.y, lo_l[~own], hi_l[~own])
        # own arm without i: the L + 1 nearest counting i, then i removed
        lo_x, hi_x = nearest_ranges(score[own], data.score, l + 1)
        mu[arm][own] = _mean_without(data.y, lo_x, hi_x, y[own])
    tau = y_hat[True] - y_hat[False]
    info = (x * (f**2 / (p * (1 - p)))[:, None]).T @ x
    if att:
        t = w
        n1 = int(t.sum())
        est = float(tau[t].mean())
        v06 = (np.sum((tau[t] - est) ** 2) + np.sum((usage**2 - usage2)[~t] * sigma2[~t])) / n1**2
        c_t2 = (f[:, None] * (cov[True] + (p / (1 - p))[:, None] * cov[False])).sum(axis=0) / n1
        c_t1 = (x * (f * (mu[True] - mu[False] - est))[:, None]).sum(axis=0) / n1
        tau_x = _covariate_match_effect(x, w, y)
        d = (x * (f * (tau_x - est))[:, None]).sum(axis=0) / n1
        c = c_t1 + c_t2
        var = v06 - _quad(c, info) + _quad(d, info)
        focal_units, n_focal, label = t, n1, "ATT"
    else:
        est = float(tau.mean())
        v06 = (np.sum((tau - est) ** 2) + np.sum((usage**2 + 2 * usage - usage2) * sigma2)) / n**2
        c = (f[:, None] * (cov[True] / p[:, None] + cov[False] / (1 - p)[:, None])).sum(axis=0) / n
        var = v06 - _quad(c, info)
        focal_units, n_focal, label = np.ones(n, dtype=bool), n, "ATE"
    counts = n_match[focal_units]
    se = float(np.sqrt(var)) if var >= 0 else np.nan
    return AI2016(label, est, se, float(np.sqrt(v06)), float(var),
                  (int(counts.min()), int(counts.max())), n, n_focal)


def _range_add(size: int, lo: np.ndarray, hi: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``out[lo[r]:hi[r]] += value[r]`` for every r, by a difference array."""
    diff = np.zeros(size + 1)
    np.add.at(diff, lo, value)
    np.add.at(diff, hi, -value)
    return np.cumsum(diff[:-1])


def _mean_without(ys: np.ndarray, lo: np.ndarray, hi: np.ndarray, own_y: np.ndarray) -> np.ndarray:
    """Mean of ``ys[lo:hi]`` with one unit of outcome ``own_y`` left out."""
    cnt = hi - lo
    return (run_mean(ys, lo, hi) * cnt - own_y) / (cnt - 1)


def _covariate_match_effect(x: np.ndarray, w: np.ndarray, y: np.ndarray) -> np.ndarray:
    """tau^X_i = (2 W_i - 1)(Y_i - mean Y of i's nearest other-arm units), Euclidean on raw
    covariates (the non-constant columns of X), ties kept."""
    z = x[:, np.ptp(x, axis=0) > 0]
    out = np.empty(len(y))
    for arm in (True, False):
        q, c = np.flatnonzero(w == arm), np.flatnonzero(w != arm)
        rows, cols = euclidean_nearest(z[q], z[c])
        mean = np.bincount(rows, weights=y[c][cols], minlength=len(q)) / np.bincount(rows, minlength=len(q))
        out[q] = (1.0 if arm else -1.0) * (y[q] - mean)
    return out


def _quad(v: np.ndarray, info: np.ndarray) -> float:
    """v' I^-1 v."""
    return float(v @ np.linalg.solve(info, v))
