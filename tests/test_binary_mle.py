"""psm._binary_mle: the probit/logit fits reproduce statsmodels iteration for iteration."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special

from psm import _binary_mle

LINKS = {
    "probit": (sm.Probit, sm.families.links.Probit),
    "logit": (sm.Logit, sm.families.links.Logit),
}


def _design(n: int = 3000, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intercept, a continuous, a count and a 0/1 column; probit treatment; frequency weights like a
    matching's (fractions from ties, several reuses)."""
    rng = np.random.default_rng(seed)
    age, history, marker = rng.normal(35, 10, n), rng.poisson(2, n), rng.integers(0, 2, n)
    x = np.asfortranarray(np.column_stack([np.ones(n), age, history, marker]).astype(float))
    y = (rng.random(n) < special.ndtr(-1.5 + 0.03 * age + 0.15 * history + 0.4 * marker)).astype(float)
    w = rng.choice([0.25, 0.5, 1.0, 2.0, 3.0], n)
    return x, y, w


@pytest.mark.parametrize("link", ["probit", "logit"])
def test_newton_equals_statsmodels_discrete_fit(link: str) -> None:
    x, y, _ = _design()
    ref = LINKS[link][0](y, x).fit(method="newton", disp=False)
    fit = _binary_mle.newton(x, y, link, _binary_mle.cross_products(x, y))
    assert fit.converged and not fit.perfect_prediction and not fit.singular
    assert fit.iterations == ref.mle_retvals["iterations"]
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.index, x @ ref.params, rtol=0, atol=1e-8)
    information = _binary_mle.observed_information(x, y, link, fit.params)
    np.testing.assert_allclose(np.sqrt(np.diag(np.linalg.inv(information))), ref.bse, rtol=1e-10)


@pytest.mark.parametrize("link", ["probit", "logit"])
@pytest.mark.parametrize("weighted", [False, True])
def test_irls_equals_statsmodels_glm(link: str, weighted: bool) -> None:
    x, y, w = _design()
    weights = w if weighted else None
    family = sm.families.Binomial(LINKS[link][1]())
    ref = sm.GLM(y, x, family=family, freq_weights=weights).fit()
    fit = _binary_mle.irls(x, y, link, _binary_mle.cross_products(x, y, weights), weights)
    assert fit.converged and fit.iterations == ref.fit_history["iteration"]
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-8)
    assert fit.llf == pytest.approx(ref.llf, rel=1e-12)


def test_cross_products_are_the_weighted_gram_and_score_at_zero() -> None:
    x, y, w = _design(n=5)
    cp = _binary_mle.cross_products(x, y, w)
    np.testing.assert_allclose(cp.xwx, x.T @ np.diag(w) @ x, rtol=1e-13)
    np.testing.assert_allclose(cp.xwq, x.T @ (w * (2 * y - 1)), rtol=1e-13)


def test_blocks_give_the_same_fit_as_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y, w = _design(n=2000)
    whole = _binary_mle.irls(x, y, "probit", _binary_mle.cross_products(x, y, w), w)
    monkeypatch.setattr(_binary_mle, "BLOCK", 128)  # 16 blocks
    blocked = _binary_mle.irls(x, y, "probit", _binary_mle.cross_products(x, y, w), w)
    np.testing.assert_allclose(blocked.params, whole.params, rtol=1e-12)
    assert blocked.llf == pytest.approx(whole.llf, rel=1e-13)


def test_complete_separation_is_flagged() -> None:
    x = np.column_stack([np.ones(8), np.arange(8.0)])
    y = (np.arange(8) > 3.5).astype(float)
    fit = _binary_mle.newton(x, y, "probit", _binary_mle.cross_products(x, y))
    assert fit.perfect_prediction
    glm = _binary_mle.irls(x, y, "probit", _binary_mle.cross_products(x, y))
    assert glm.perfect_prediction or glm.singular


def test_probit_terms_are_finite_far_in_the_tail() -> None:
    # Phi(-40) underflows to 0; lambda = phi/Phi ~ -z and log Phi come from log_ndtr instead
    z = np.array([-40.0, -6.0, 0.0, 6.0])
    log_prob, lam, weight = _binary_mle._link_terms(z, "probit", fisher=True)
    assert np.all(np.isfinite(log_prob)) and np.all(np.isfinite(lam)) and np.all(np.isfinite(weight))
    assert lam[0] == pytest.approx(40.02498, rel=1e-5)  # Mills ratio: -z + 1/(-z) - 2/z^3 ...
    assert log_prob[0] == pytest.approx(special.log_ndtr(-40.0), rel=1e-12)
    _, _, observed = _binary_mle._link_terms(z, "probit", fisher=False)
    assert np.all(observed >= 0) and observed[2] == pytest.approx(2 / np.pi)  # lambda(0)^2 = (phi(0)/0.5)^2


@pytest.mark.parametrize("weighted", [False, True])
def test_a_subsample_by_row_positions_is_fitted_as_its_copy(monkeypatch: pytest.MonkeyPatch, weighted: bool) -> None:
    """``rows=`` reads the subsample a block at a time: same cross products, fit and index as on ``x[rows]``
    (and as statsmodels on that copy), over several blocks."""
    x, y, w = _design(n=3000)
    rows = np.flatnonzero(np.random.default_rng(3).random(len(y)) < 0.6)
    ys, ws = y[rows], (w[rows] if weighted else None)
    monkeypatch.setattr(_binary_mle, "BLOCK", 256)
    copy = _binary_mle.irls(x[rows], ys, "probit", _binary_mle.cross_products(x[rows], ys, ws), ws)
    start = _binary_mle.cross_products(x, ys, ws, rows)
    np.testing.assert_allclose(start.xwx, x[rows].T @ (x[rows] * (1.0 if ws is None else ws[:, None])), rtol=1e-12)
    fit = _binary_mle.irls(x, ys, "probit", start, ws, rows=rows)
    ref = sm.GLM(ys, x[rows], family=sm.families.Binomial(sm.families.links.Probit()), freq_weights=ws).fit()
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.params, copy.params, rtol=1e-12)
    np.testing.assert_allclose(fit.index, x[rows] @ fit.params, rtol=1e-12)
    assert fit.iterations == copy.iterations and fit.llf == pytest.approx(copy.llf, rel=1e-13)
