"""Outcome models for a matched sample in which one person may be used several times.

After matching with replacement a comparison unit used by m treated units enters the matched
sample with weight m. Treating that weight as m independent people (a frequency weight in the
usual sense) understates every standard error. Here each person is one cluster: the weight
multiplies her contribution to the estimating equations, and the variance is the cluster-robust
sandwich, in which her contribution enters squared (w² — the Σw² of psmatch2's approximate SE).

* :func:`effective_sample_size` — Kish's (Σw)² / Σw².
* :func:`rate_ratio` — Poisson regression of an event count with a log-exposure offset,
  log E[Y] = β0 + β1 T + log(exposure), fitted by weighted maximum likelihood; exp(β1) is the
  rate ratio. Variance V = H⁻¹ (Σ_c s_c s_cᵀ) H⁻¹ · G/(G − 1), with H = Σ_i w_i μ_i x_i x_iᵀ and
  s_c = Σ_{i∈c} w_i x_i (y_i − μ_i) over the G clusters (Stata's ``poisson ..., exposure()
  vce(cluster)`` uses the same G/(G − 1); Cameron & Miller 2015, J. Human Resources 50(2):317-372).
  The Poisson quasi-likelihood with this sandwich is consistent for the rate ratio whether or not
  the counts are overdispersed (Cameron & Trivedi 2013, Regression Analysis of Count Data, §3.2),
  so no negative-binomial variance model is needed for valid inference.
* :func:`cox_hazard_ratio` — Cox proportional hazards (statsmodels ``PHReg``, Breslow ties) with
  the robust variance clustered on the person (Lin & Wei 1989, JASA 84:1074-1078). ``PHReg`` has
  no weights, so rows are repeated: weights are scaled to whole numbers by their least common
  denominator (exact for psmatch2's weights, sums of 1/n) and every row repeated that many
  times; the partial likelihood is then the weighted one, and the sandwich, which scales as
  L²/L², does not depend on the scaling.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np
import pandas as pd
from scipy import stats

from psm.errors import EmptyGroupError

__all__ = ["RatioEstimate", "cox_hazard_ratio", "effective_sample_size", "rate_ratio"]


def effective_sample_size(weights) -> float:
    """Kish's effective sample size (Σw)² / Σw² of positive weights."""
    w = np.asarray(weights, dtype=float)
    w = w[w > 0]
    return float(w.sum() ** 2 / np.sum(w**2)) if len(w) else 0.0


@dataclass(frozen=True)
class RatioEstimate:
    """A treated-vs-control ratio (rate or hazard) with its cluster-robust inference.

    ``ratio`` = exp(``log_ratio``); ``se`` is the SE of the log ratio; ``ci_low``/``ci_high`` the
    normal ``level`` interval of the ratio; ``p`` two-sided; ``naive_se`` the SE that treats every
    weight as independent people (for comparison only); ``n_clusters`` distinct people;
    ``effective_controls`` / ``effective_treated`` Kish's effective sizes per group.
    """

    ratio: float
    log_ratio: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    naive_se: float
    n_clusters: int
    effective_treated: float
    effective_controls: float
    method: str


def _inputs(treated, weights, cluster) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.asarray(treated, dtype=float)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    c = pd.factorize(np.asarray(cluster))[0]
    if not (set(np.unique(t)) <= {0.0, 1.0}) or t.min() == t.max():
        raise EmptyGroupError("treated must be 0/1 with both groups present")
    return t, w, c


def _estimate(log_ratio: float, se: float, naive: float, t, w, c, method: str, level: float) -> RatioEstimate:
    z = stats.norm.ppf(0.5 + level / 2)
    return RatioEstimate(
        ratio=float(np.exp(log_ratio)), log_ratio=float(log_ratio), se=float(se),
        ci_low=float(np.exp(log_ratio - z * se)), ci_high=float(np.exp(log_ratio + z * se)),
        p=float(2 * stats.norm.sf(abs(log_ratio / se))), naive_se=float(naive),
        n_clusters=int(len(np.unique(c))),
        effective_treated=effective_sample_size(w[t == 1]), effective_controls=effective_sample_size(w[t == 0]),
        method=method,
    )


def rate_ratio(events, exposure, treated, cluster, weights=None, *, level: float = 0.95) -> RatioEstimate:
    """Rate ratio treated / control from a weighted Poisson model with a log-exposure offset and
    SEs clustered on ``cluster`` (formulas in the module docstring)."""
    import statsmodels.api as sm

    t, w, c = _inputs(treated, weights, cluster)
    y = np.asarray(events, dtype=float)
    offset = np.log(np.asarray(exposure, dtype=float))
    x = np.column_stack([np.ones_like(t), t])
    fit = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset, freq_weights=w).fit()
    mu = fit.mu
    bread = np.linalg.inv((x * (w * mu)[:, None]).T @ x)
    scores = pd.DataFrame(x * (w * (y - mu))[:, None]).groupby(c).sum().to_numpy()
    g = len(scores)
    cov = bread @ (scores.T @ scores) @ bread * g / (g - 1)
    return _estimate(fit.params[1], np.sqrt(cov[1, 1]), fit.bse[1], t, w, c,
                     "Poisson, log follow-up offset, SE clustered on the person", level)


def _whole_number_scale(w: np.ndarray) -> int:
    """Smallest L with L·w whole numbers (weights are sums of 1/n; denominators up to 1000)."""
    denominators = [Fraction(float(v)).limit_denominator(1000).denominator for v in np.unique(w)]
    return lcm(*denominators)


def cox_hazard_ratio(durations, events, treated, cluster, weights=None, *, level: float = 0.95) -> RatioEstimate:
    """Hazard ratio treated / control from a Cox model with the variance clustered on
    ``cluster``; weights by repeating rows (module docstring)."""
    from statsmodels.duration.hazard_regression import PHReg

    t, w, c = _inputs(treated, weights, cluster)
    keep = w > 0
    scale = _whole_number_scale(w[keep])
    times = np.rint(w[keep] * scale).astype(int)
    rows = np.repeat(np.flatnonzero(keep), times)
    d = np.asarray(durations, dtype=float)[rows]
    e = np.asarray(events, dtype=float)[rows]
    x = t[rows][:, None]
    naive = PHReg(d, x, status=e, ties="breslow").fit()
    robust = PHReg(d, x, status=e, ties="breslow").fit(groups=c[rows])
    # the naive SE of weights as people: the repeated rows count scale-fold, undo that
    return _estimate(robust.params[0], robust.bse[0], naive.bse[0] * np.sqrt(scale), t, w, c,
                     "Cox (Breslow ties), robust SE clustered on the person", level)
