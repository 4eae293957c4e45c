"""Maximum likelihood for probit and logit, by Newton-Raphson or IRLS, on a numpy design matrix.

For a 0/1 outcome ``y``, frequency weights ``w`` (1 by default) and ``q = 2y - 1``, write
``z_i = q_i x_i'b``; by symmetry of both links ``P(Y_i = y_i) = F(z_i)``, with ``F`` the standard normal
CDF ``Phi`` (probit) or the logistic CDF (logit) and ``f = F'``. Then (e.g. Greene, *Econometric
Analysis*, 8th ed., section 17.3; the statsmodels ``Probit``/``Logit`` docstrings)::

    log-likelihood       l(b) = sum_i w_i log F(z_i)
    score                g(b) = sum_i w_i q_i lambda_i x_i,          lambda_i = f(z_i) / F(z_i)
    observed information H(b) = sum_i w_i lambda_i (lambda_i + z_i) x_i x_i'          (probit)
                              = sum_i w_i F(z_i) (1 - F(z_i)) x_i x_i'               (logit)
    expected information I(b) = sum_i w_i f(z_i)^2 / (F(z_i) (1 - F(z_i))) x_i x_i'  (= H for logit)

Two iterations, each reproducing one statsmodels estimator step for step:

* :func:`newton` -- ``Probit(y, X).fit(method="newton")`` / ``Logit``: start at ``b = 0``, step
  ``b <- b + H(b)^-1 g(b)``, stop when every coefficient moved by at most ``tol = 1e-8`` (statsmodels
  ``_fit_newton``), at most ``maxiter`` steps. At ``b = 0`` every row has the same weight, so the first
  step is ``(X'X)^-1 X'q / (2 f(0))`` -- a least-squares fit that needs only ``X'X`` and ``X'q``.
* :func:`irls` -- ``GLM(y, X, Binomial(link), freq_weights=w).fit()``: Fisher scoring from
  ``mu_0 = (y + 1/2) / 2`` (statsmodels ``Binomial.starting_mu``), whose working response is
  ``q (F^-1(3/4) + (1/4) / f(F^-1(3/4)))`` for every row, so the first step is that constant times
  ``(X'WX)^-1 X'Wq``; then ``b <- b + I(b)^-1 g(b)``; stop when the deviance ``-2 l(b)`` changed by at
  most ``tol = 1e-8`` (statsmodels ``_check_convergence`` with ``atol = tol``, ``rtol = 0``).

Both flag *perfect prediction* as statsmodels does (``np.allclose(mu - y, 0)``: every fitted probability
within 1e-8 of its outcome at some iterate), the sign of complete separation, and stop (``singular``)
if the information matrix loses positive definiteness, which only happens on the way to such a
divergence (the first step's ``X'WX`` is checked for rank by the callers).

The design is read in blocks of :data:`BLOCK` rows: one pass per iteration computes ``x'b``, the
weights, the score and the information of a block, so no temporary larger than a block is made and
the information costs one ``X'WX`` product per iteration (solved by Cholesky). The pass runs with one
BLAS thread: a block's ``X'WX`` is a k x k product over many rows, bound by memory, and spreading it
over threads only adds their synchronisation (two to five times slower on a loaded 2-core machine).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy import special
from threadpoolctl import ThreadpoolController

BLOCK = 1 << 16
TOL = 1e-8
_PERFECT = 1e-8  # np.allclose(mu - y, 0): |mu - y| <= atol = 1e-8
_EPS = np.finfo(float).eps
_SQRT_2PI = np.sqrt(2.0 * np.pi)
_LOG_SQRT_2PI = np.log(_SQRT_2PI)


@dataclass(frozen=True)
class CrossProducts:
    """``X'WX`` and ``X'Wq`` (``W = diag(w)``, ``q = 2y - 1``): the first step and the design checks."""

    xwx: np.ndarray
    xwq: np.ndarray


@dataclass(frozen=True)
class BinaryFit:
    params: np.ndarray
    index: np.ndarray  # x'b at ``params``
    iterations: int
    converged: bool
    perfect_prediction: bool
    singular: bool  # stopped because the information matrix was not positive definite
    llf: float  # log-likelihood at ``params`` (NaN from :func:`newton`, which does not need it)


@dataclass(frozen=True)
class _Evaluation:
    score: np.ndarray
    information: np.ndarray
    llf: float
    perfect: bool


def cross_products(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> CrossProducts:
    """One pass over the design: ``X'WX`` and ``X'Wq``."""
    q = 2.0 * y - 1.0
    if weights is None:
        return CrossProducts(xwx=x.T @ x, xwq=x.T @ q)
    xwx = np.zeros((x.shape[1], x.shape[1]))
    with one_blas_thread(len(x)):
        for rows in _blocks(len(x)):
            block = x[rows]
            xwx += block.T @ (block * weights[rows, None])
    return CrossProducts(xwx=xwx, xwq=x.T @ (weights * q))


def newton(x: np.ndarray, y: np.ndarray, link: str, start: CrossProducts, maxiter: int = 100) -> BinaryFit:
    """statsmodels' ``Probit``/``Logit`` ``.fit(method="newton")`` (unweighted); see the module docstring."""
    params = _solve(start.xwx, start.xwq) / (2.0 * _density_at_zero(link))
    step, iterations, perfect, singular = params, 1, False, False
    q = 2.0 * y - 1.0
    with one_blas_thread(len(x)):
        while iterations < maxiter and np.any(np.abs(step) > TOL):
            ev = _evaluate(x, q, None, params, link, fisher=False)
            perfect |= ev.perfect
            try:
                step = _solve(ev.information, ev.score)
            except np.linalg.LinAlgError:
                singular = True
                break
            params = params + step
            iterations += 1
    index = x @ params
    perfect |= bool(np.min(q * index) >= _perfect_z(link))
    converged = iterations < maxiter and not singular
    return BinaryFit(params, index, iterations, converged, perfect, singular, float("nan"))


def irls(
    x: np.ndarray, y: np.ndarray, link: str, start: CrossProducts, weights: np.ndarray | None = None, maxiter: int = 100
) -> BinaryFit:
    """statsmodels' ``GLM(y, X, Binomial(link), freq_weights=w).fit()``; see the module docstring."""
    total = len(y) if weights is None else float(weights.sum())
    deviance = -2.0 * np.log(0.75) * total  # at mu_0 every row has probability 3/4 of its outcome
    params = _solve(start.xwx, start.xwq) * _irls_start_constant(link)
    perfect = converged = singular = False
    q = 2.0 * y - 1.0
    with one_blas_thread(len(x)):
        for iterations in range(1, maxiter + 1):
            ev = _evaluate(x, q, weights, params, link, fisher=True)
            perfect |= ev.perfect
            converged = abs(-2.0 * ev.llf - deviance) <= TOL
            if converged or iterations == maxiter:
                break
            deviance = -2.0 * ev.llf
            try:
                params = params + _solve(ev.information, ev.score)
            except np.linalg.LinAlgError:
                singular = True
                break
    return BinaryFit(params, x @ params, iterations, converged, perfect, singular, ev.llf)


def observed_information(x: np.ndarray, y: np.ndarray, link: str, params: np.ndarray) -> np.ndarray:
    """``H(b)``, minus the Hessian of the log-likelihood (its inverse is the MLE's covariance)."""
    with one_blas_thread(len(x)):
        return _evaluate(x, 2.0 * y - 1.0, None, params, link, fisher=False).information


def cdf(index: np.ndarray, link: str) -> np.ndarray:
    """``F(x'b)``: the fitted probability."""
    return special.ndtr(index) if link == "probit" else special.expit(index)


def one_blas_thread(n: int):
    """One BLAS thread for passes over ``n`` rows (a no-op up to one block, where BLAS uses one anyway).

    Also for whole-column products such as ``w @ x``: over a million rows on a loaded 2-core machine one
    thread takes 0.2 ms where BLAS's threads take 10-25 ms, waiting for each other.
    """
    return _controller().limit(limits=1, user_api="blas") if n > BLOCK else contextlib.nullcontext()


@functools.cache
def _controller() -> ThreadpoolController:
    """The loaded BLAS libraries, found once (each search costs about 20 ms)."""
    return ThreadpoolController()


def _blocks(n: int):
    return (slice(start, min(start + BLOCK, n)) for start in range(0, n, BLOCK))


def _solve(information: np.ndarray, score: np.ndarray) -> np.ndarray:
    """``information^-1 score`` by Cholesky (raises ``LinAlgError`` if not positive definite or not finite,
    as on the way to a separation the far tails can make it)."""
    if not (np.all(np.isfinite(information)) and np.all(np.isfinite(score))):
        raise np.linalg.LinAlgError("information or score not finite")
    return scipy.linalg.cho_solve(scipy.linalg.cho_factor(information), score)


def _density_at_zero(link: str) -> float:
    return 1.0 / _SQRT_2PI if link == "probit" else 0.25


def _irls_start_constant(link: str) -> float:
    """``F^-1(3/4) + (1/4) / f(F^-1(3/4))``: the working response of a treated row at ``mu_0``."""
    if link == "probit":
        eta = special.ndtri(0.75)
        return float(eta + 0.25 * _SQRT_2PI * np.exp(0.5 * eta * eta))
    return float(np.log(3.0) + 0.25 / 0.1875)


def _link_terms(z: np.ndarray, link: str, fisher: bool) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Per row: ``log F(z)`` (only for ``fisher``), ``lambda = f(z)/F(z)`` and the information weight
    (expected with ``fisher``, else observed). Arithmetic in place: this is the per-row cost of a pass."""
    if link == "logit":
        prob = special.expit(z)
        lam = 1.0 - prob
        return (-np.logaddexp(0.0, -z) if fisher else None), lam, prob * lam
    prob = special.ndtr(z)
    density = np.multiply(z, z)
    density *= -0.5
    np.exp(density, out=density)
    density *= 1.0 / _SQRT_2PI
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = density / prob
    tail = z < -5.0  # F(z) < 3e-7 and underflowing from z = -38: lambda from log_ndtr there
    if tail.any():
        lam[tail] = np.exp(-0.5 * z[tail] ** 2 - _LOG_SQRT_2PI - special.log_ndtr(z[tail]))
    if not fisher:  # lambda (lambda + z) > 0 for the probit; clip rounding below zero in the far left tail
        weight = lam + z
        weight *= lam
        return None, lam, np.maximum(weight, 0.0, out=weight)
    with np.errstate(divide="ignore"):
        log_prob = np.log(prob)
    if tail.any():
        log_prob[tail] = special.log_ndtr(z[tail])
    # f^2 / (F (1 - F)) = lambda f / (1 - F), 1 - F floored at eps as statsmodels' link cleaning does
    np.subtract(1.0, prob, out=prob)
    np.maximum(prob, _EPS, out=prob)
    density *= lam
    density /= prob
    return log_prob, lam, density


def _evaluate(
    x: np.ndarray, q: np.ndarray, weights: np.ndarray | None, params: np.ndarray, link: str, fisher: bool
) -> _Evaluation:
    """Score, information (expected with ``fisher``, else observed), log-likelihood (``fisher`` only, else
    NaN) and the perfect-prediction flag at ``params``, block by block (``q = 2y - 1``)."""
    k = x.shape[1]
    score, information, llf, lowest = np.zeros(k), np.zeros((k, k)), 0.0, np.inf
    for rows in _blocks(len(x)):
        block = x[rows]
        z = block @ params
        z *= q[rows]
        lowest = min(lowest, float(z.min()))
        log_prob, lam, weight = _link_terms(z, link, fisher)
        lam *= q[rows]
        if weights is not None:
            lam *= weights[rows]
            weight *= weights[rows]
        score += block.T @ lam
        information += block.T @ (block * weight[:, None])
        if fisher:
            llf += float(log_prob.sum() if weights is None else log_prob @ weights[rows])
    return _Evaluation(score, information, llf if fisher else float("nan"), perfect=lowest >= _perfect_z(link))


def _perfect_z(link: str) -> float:
    """``F^-1(1 - 1e-8)``: statsmodels' perfect-prediction test ``np.allclose(F(x'b) - y, 0)``, i.e.
    ``|F(x_i'b) - y_i| <= 1e-8`` for every row, holds exactly when ``min_i z_i`` is at least this."""
    return float(special.ndtri(1.0 - _PERFECT)) if link == "probit" else float(np.log((1.0 - _PERFECT) / _PERFECT))

