"""pstest's probit refit (``probit treated covariates [iw=w]``, pstest 4.2.2 l.158-172) for
:func:`psm.balance`: McFadden's pseudo-R2, the LR test and the linear index behind Rubin's B and R, with
Stata's rule for collinear covariates."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from psm import _binary_mle
from psm._balance_inputs import Design


@dataclass(frozen=True)
class ProbitRefit:
    """The probit pstest fits on one sample: ``probit treated covariates [iw=w]``.

    ``pseudo_r2 = 1 - llf / llnull`` (Stata ``e(r2_p)``), ``lr_chi2 = 2 (llf - llnull)`` with ``df``
    regressors (Stata ``e(chi2)``, ``e(df_m)``), ``p_chi2 = P(chi2_df > lr_chi2)``. ``index`` is the linear
    predictor ``xb`` for every row of the sample (NaN for rows outside it). ``omitted`` lists covariates
    dropped as collinear in this sample (Stata's "omitted because of collinearity"). The fit maximises
    ``sum(w_i log Phi(q_i x_i'b))``, Stata's iweighted log-likelihood, by statsmodels' GLM iterations with
    ``freq_weights=w`` (:func:`psm._binary_mle.irls`); ``llnull`` is its maximum over a constant alone,
    ``W1 log(p) + W0 log(1 - p)`` with ``p = W1 / W``.
    """

    llf: float
    llnull: float
    df: int
    params: pd.Series
    index: np.ndarray = field(repr=False)
    omitted: tuple[str, ...] = ()
    separated: bool = False

    @property
    def pseudo_r2(self) -> float:
        return float(1.0 - self.llf / self.llnull) if self.llnull != 0 else float("nan")

    @property
    def lr_chi2(self) -> float:
        return float(2.0 * (self.llf - self.llnull))

    @property
    def p_chi2(self) -> float:
        return float(stats.chi2.sf(self.lr_chi2, self.df)) if self.df > 0 else float("nan")


def _independent_columns(gram: np.ndarray) -> list[int]:
    """Columns kept when each column collinear with the earlier kept ones is dropped (Stata's rule).

    Column 0 (the constant) is always kept. Column j is kept when the part of it that the kept columns
    do not explain has a relative norm above 1e-7 -- the same scale-free tolerance as
    :func:`psm.fit_propensity`'s rank check -- computed from ``X'WX`` scaled to a unit diagonal: the
    squared relative residual is ``c_jj - c_jK c_KK^-1 c_Kj``.
    """
    norms = np.sqrt(np.diag(gram))
    scale = np.where(norms > 0, norms, 1.0)
    scaled = gram / np.outer(scale, scale)
    kept = [0]
    for j in range(1, len(gram)):
        explained = scaled[j, kept] @ scipy.linalg.solve(scaled[np.ix_(kept, kept)], scaled[kept, j], assume_a="pos")
        if scaled[j, j] - explained > 1e-14:
            kept.append(j)
    return kept


def probit_refit(design: Design, treated: np.ndarray, w: np.ndarray, sample: str) -> ProbitRefit:
    """Fit pstest's probit on the rows with ``w > 0`` (see ``ProbitRefit``)."""
    rows = w > 0
    every_row = bool(rows.all())
    x = design.values if every_row else design.values[rows]
    y = treated[rows].astype(float)
    weights = None if every_row and np.all(w == 1.0) else w[rows]
    start = _binary_mle.cross_products(x, y, weights)
    kept = _independent_columns(start.xwx)
    if len(kept) < x.shape[1]:
        x = x[:, kept]
        start = _binary_mle.CrossProducts(start.xwx[np.ix_(kept, kept)], start.xwq[kept])
    fit = _binary_mle.irls(x, y, "probit", start, weights)
    separated = fit.perfect_prediction or fit.singular
    if separated:
        warnings.warn(
            f"pstest probit on the {sample} sample: the covariates predict treatment perfectly "
            "(Stata would drop the separating variables and observations); pseudo-R2, LR chi2 and "
            "Rubin's B and R for this sample are set to NaN.",
            stacklevel=3,
        )
    names = [design.columns[j - 1] for j in kept[1:]]
    index = np.full(len(w), np.nan)
    if not separated:
        index[rows] = fit.index
    total = float(w[rows].sum())
    share = float(w[rows] @ y) / total
    llnull = total * (share * np.log(share) + (1.0 - share) * np.log(1.0 - share))
    nan = float("nan")
    return ProbitRefit(
        llf=nan if separated else fit.llf,
        llnull=nan if separated else float(llnull),
        df=len(names),
        params=pd.Series(fit.params, index=["_cons", *names]),
        index=index,
        omitted=tuple(c for c in design.columns if c not in names),
        separated=separated,
    )
