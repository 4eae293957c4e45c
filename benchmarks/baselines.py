"""Shared pieces of the benchmarks: offender-like data, timers, and the numpy baselines psm is measured against.

The baselines are the plainest numpy/scipy code for the same arithmetic, timed in the same run as psm:

* :func:`numpy_probit` -- the *measuring stick* for the score fit: Newton-Raphson for the probit on a
  ready design matrix (the observed information ``X' diag(lambda (lambda + z)) X`` solved by Cholesky,
  stopping when no coefficient moves by more than 1e-8), whole-array numpy.
* :func:`floor_pipeline` -- the *floor* of the whole job: build the design from the data frame, fit it with
  :func:`numpy_probit`, match each treated unit to the nearest control score (one ``argsort`` and one
  ``searchsorted``, nearest of the two neighbours, with replacement) and take the ATT. No standard errors,
  no tie rules, no checks: the least work any matching estimator must do.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import special, stats

OFFENDER_COVARIATES = [
    "age", "female", "ethnicity", "employment", "substance_marker", "mh_marker", "offence_type",
    "offending_history", "custody_months",
]


def offender_like(n: int, covariates: int = 9, seed: int = 2020) -> pd.DataFrame:
    """n rows shaped like the New Chance analysis file: 9 offender-like covariates (published codings),
    then ``covariates - 9`` extra ones (alternately standard normal and 0/1), a probit treatment on the
    offender-like ones and a 0/1 reoffending outcome."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "age": rng.uniform(18, 70, n).round(2),
            "female": (rng.random(n) < 0.15).astype(np.int8),
            "ethnicity": rng.integers(0, 2, n, dtype=np.int8),
            "employment": (rng.random(n) < 0.3).astype(np.int8),
            "substance_marker": (rng.random(n) < 0.4).astype(np.int8),
            "mh_marker": (rng.random(n) < 0.5).astype(np.int8),
            "offence_type": rng.integers(1, 4, n, dtype=np.int8),
            "offending_history": rng.poisson(3, n).astype(np.int16),
            "custody_months": rng.gamma(2.0, 3.0, n).round(1),
        }
    )
    for j in range(covariates - len(OFFENDER_COVARIATES)):
        d[f"x{j}"] = rng.normal(size=n) if j % 2 == 0 else (rng.random(n) < 0.3).astype(np.int8)
    index = (-0.9 + 0.012 * (d.age - 35) + 0.1 * d.female + 0.25 * d.mh_marker + 0.2 * d.substance_marker
             - 0.15 * d.employment + 0.05 * d.offending_history + 0.1 * (d.offence_type == 2)
             + 0.01 * d.custody_months)
    d["treated"] = (rng.random(n) < stats.norm.cdf(index)).astype(np.int8)
    d["reoffended"] = (rng.random(n) < 0.35 - 0.05 * d.treated + 0.02 * d.offending_history.clip(0, 5)).astype(float)
    return d


def covariate_names(data: pd.DataFrame) -> list[str]:
    return [c for c in data.columns if c not in ("treated", "reoffended")]


def design_matrix(data: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    """Intercept and the covariates as a float matrix (what the score fit works on)."""
    return np.column_stack([np.ones(len(data)), *(data[c].to_numpy(dtype=float) for c in covariates)])


def numpy_probit(x: np.ndarray, t: np.ndarray, tol: float = 1e-8, maxiter: int = 100) -> np.ndarray:
    """Probit MLE by Newton-Raphson in whole-array numpy: the measuring stick for ``psm.fit_propensity``."""
    q = 2.0 * t - 1.0
    b = np.zeros(x.shape[1])
    for _ in range(maxiter):
        z = q * (x @ b)
        lam = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi) / special.ndtr(z)
        information = x.T @ (x * (lam * (lam + z))[:, None])
        step = scipy.linalg.solve(information, x.T @ (q * lam), assume_a="pos")
        b += step
        if np.max(np.abs(step)) <= tol:
            break
    return b


def floor_pipeline(data: pd.DataFrame, covariates: list[str]) -> float:
    """Score fit, 1:1 nearest-neighbour match with replacement and ATT in bare numpy (see module docstring)."""
    t = data["treated"].to_numpy(dtype=float)
    x = design_matrix(data, covariates)
    score = special.ndtr(x @ numpy_probit(x, t))
    treated = t == 1
    control_score = score[~treated]
    order = np.argsort(control_score)
    sorted_score = control_score[order]
    right = np.clip(np.searchsorted(sorted_score, score[treated]), 1, len(sorted_score) - 1)
    left = right - 1
    nearer = np.where(score[treated] - sorted_score[left] <= sorted_score[right] - score[treated], left, right)
    y = data["reoffended"].to_numpy(dtype=float)
    return float(y[treated].mean() - y[~treated][order[nearer]].mean())


def best_time(fn: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    """Best wall-clock seconds of ``repeat`` calls (the machine's cores are shared) and the last result."""
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

