"""Stata's ``teffects psmatch``: matching on the estimated propensity score, AI (2016) SE.

``teffects psmatch (y) (t x1 x2 [, probit]) [, atet nneighbor(k) caliper(c) vce(robust, nn(L))]``
fits a logit (default) or probit of t on the covariates, matches every focal unit (ATE: all
units; ATET: the treated) *with replacement* to its k nearest units of the other arm on the
estimated probability p, keeping every unit tied at the k-th distance (so a unit can have
more than k matches; Stata prints the min and max), and averages tau_i = Y^_i(1) - Y^_i(0).
Its default standard error, ``vce(robust, nn(2))``, is Abadie and Imbens' (2016) variance
adjusted for the estimation of the score; the formulas, with their sources, are in
:mod:`psm.ai2016`.

Also from Stata: units with p < 1e-5 or p > 1 - 1e-5 stop the estimation (``pstolerance``,
"treatment overlap assumption has been violated"), and so does a focal unit without a
match within ``caliper`` (a distance on the probability scale). Inference uses the standard
normal.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from psm._format import stata_g
from psm.summary import Summary, format_number
from psm._neighbours import nearest_ranges
from psm._validation import (
    drop_missing,
    numeric_values,
    resolve_column,
    treatment_indicator,
)
from psm.ai2016 import AI2016, ai2016
from psm.propensity import PropensityModel, fit_propensity

PS_TOLERANCE = 1e-5
_ESTIMANDS = {"ATE": "ATE", "ATET": "ATT", "ATT": "ATT"}


@dataclass(frozen=True)
class TeffectsResult:
    """Result of :func:`teffects_psmatch` (Stata's ``e(b)``, ``e(V)`` and header).

    ``estimate`` and ``se`` (AI 2016, adjusted for the estimated score); ``se_ai2006`` the
    same variance without the adjustment; ``n_matches`` = (min, max) matches per focal unit;
    ``model`` the fitted treatment model.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> te = psm.teffects_psmatch(df, "re78", "treat", ["age", "educ", "race", "married", "nodegree", "re74",
    ...                                                 "re75"], estimand="ATET")
    >>> te.to_frame().round(2)[["estimate", "se", "ci_lower", "ci_upper"]]
              estimate       se  ci_lower  ci_upper
    estimand
    ATET        1968.8  1126.36   -238.82   4176.42
    """

    outcome: str
    treatment: str
    estimand: str  # "ATE" or "ATET"
    estimate: float
    se: float
    se_ai2006: float
    n_matches: tuple[int, int]
    k: int
    vce_k: int
    caliper: float | None
    nobs: int
    model: PropensityModel

    @property
    def z(self) -> float:
        """``estimate / se``."""
        return self.estimate / self.se

    @property
    def p(self) -> float:
        """Two-sided p-value of ``z`` from the standard normal."""
        return float(2 * stats.norm.sf(abs(self.z)))

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """estimate -/+ z_{(1+level)/2} se."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        half = stats.norm.ppf(0.5 + level / 2) * self.se
        return (self.estimate - half, self.estimate + half)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """One row: estimate, AI (2016) SE, z, p, the ``level`` interval and the unadjusted AI (2006) SE."""
        lo, hi = self.ci(level)
        return pd.DataFrame([{"estimate": self.estimate, "se": self.se, "z": self.z, "p": self.p,
                              "ci_lower": lo, "ci_upper": hi, "se_ai2006": self.se_ai2006}],
                            index=pd.Index([self.estimand], name="estimand"))

    def summary(self, level: float = 0.95) -> Summary:
        """Stata's ``teffects psmatch`` output table (text), with the same numbers as a table."""
        lo, hi = self.ci(level)
        pct = f"{100 * level:g}%"
        bar = "-" * 78
        row = f"{self.estimate:>11.7g} {self.se:>10.7g} {self.z:>8.2f}   {self.p:.3f}    {lo:>9.7g}   {hi:>9.7g}"
        lines = [
            f"Treatment-effects estimation                   Number of obs      = {self.nobs:>10,}",
            f"Estimator      : propensity-score matching     Matches: requested = {self.k:>10}",
            f"Outcome model  : matching                                     min = {self.n_matches[0]:>10}",
            f"Treatment model: {self.model.link:<45}max = {self.n_matches[1]:>10}",
            bar,
            f"{'':13}|              AI robust",
            f"{self.outcome[:12]:>12} | Coefficient  std. err.      z    P>|z|     [{pct} conf. interval]",
            "-" * 13 + "+" + "-" * 64,
            f"{self.estimand:<13}|",
            f"{self.treatment[:12]:>12} |",
            f"{'(1 vs 0)':>12} | {row}",
            bar,
            (f"Unadjusted Abadie-Imbens (2006) std. err.: {stata_g(self.se_ai2006, 10).strip()} "
             f"(conditional variances from nn({self.vce_k}))"),
        ]
        cells = pd.DataFrame(
            [[format_number(v, 7, significant=True) for v in (self.estimate, self.se)]
             + [f"{self.z:.2f}", f"{self.p:.3f}"] + [format_number(v, 7, significant=True) for v in (lo, hi)]],
            index=pd.Index([f"{self.estimand} {self.treatment} (1 vs 0)"], name=self.outcome),
            columns=["Coefficient", "AI robust std. err.", "z", "P>|z|", f"[{pct}", "conf. interval]"],
        )
        title = "Treatment-effects estimation: propensity-score matching"
        return Summary(title, [("", cells)], lines[-1:], text="\n".join(lines))

    def __str__(self) -> str:
        return self.summary()


def teffects_psmatch(
    data: pd.DataFrame,
    outcome: Hashable,
    treatment: str,
    covariates: Sequence[str] | str,
    *,
    estimand: str = "ATE",
    link: str = "logit",
    k: int = 1,
    caliper: float | None = None,
    vce_k: int = 2,
    dropna: bool = False,
) -> TeffectsResult:
    """Stata's ``teffects psmatch``: estimate, AI (2016) SE, match counts, treatment model.

    Parameters
    ----------
    data : DataFrame
    outcome : column of the outcome (``ovar``).
    treatment : 0/1 column (``tvar``).
    covariates : column names or a patsy formula for the treatment model (``tmvarlist``;
        Stata's ``c.age##c.age`` is ``"age + I(age**2)"``).
    estimand : "ATE" (default) or "ATET" (``atet``; "ATT" is accepted as an alias).
    link : "logit" (Stata's default) or "probit" (``probit``).
    k : matches per unit (``nneighbor(k)``); ties at the k-th distance are all kept.
    caliper : maximum distance on the probability scale (``caliper()``); a focal unit without
        a match within it raises ValueError, as Stata stops with an error.
    vce_k : L of ``vce(robust, nn(L))``: own-arm and other-arm neighbours used for the
        conditional variances and covariances of the standard error.
    dropna : drop rows with a missing outcome, treatment or covariate (Stata's listwise
        ``marksample``) instead of raising :class:`psm.MissingValuesError`.

    See :mod:`psm.ai2016` for the formulas and their sources.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> te = psm.teffects_psmatch(df, "re78", "treat", ["age", "educ", "race", "married", "nodegree", "re74",
    ...                                                 "re75"], estimand="ATET")
    >>> round(te.estimate, 2), round(te.se, 2), round(te.se_ai2006, 2), te.n_matches
    (1968.8, 1126.36, 1134.32, (1, 3))
    """
    if estimand not in _ESTIMANDS:
        raise ValueError(f"estimand must be one of {tuple(_ESTIMANDS)}, got {estimand!r}")
    for name, value in (("k", k), ("vce_k", vce_k)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if caliper is not None and not caliper > 0:
        raise ValueError(f"caliper must be a positive distance on the probability scale or None, got {caliper!r}")
    y_all = resolve_column(data, outcome)
    _, missing = drop_missing(y_all.to_frame(), dropna=dropna)
    rows = data.drop(index=missing) if len(missing) else data
    model = fit_propensity(rows, treatment, covariates, link=link, dropna=dropna)
    x = model.design()
    y = numeric_values(y_all.loc[x.index])
    score = model.score.loc[x.index].to_numpy()
    _check_overlap(score, x.index)
    index = model.linear_predictor.loc[x.index].to_numpy()
    density = score * (1 - score) if link == "logit" else stats.norm.pdf(index)
    treated = treatment_indicator(rows.loc[x.index, treatment]).to_numpy()
    if caliper is not None:
        _check_caliper(score, treated, caliper, estimand, x.index)
    res: AI2016 = ai2016(score, density, x.to_numpy(), treated, y, estimand=_ESTIMANDS[estimand], k=k, vce_k=vce_k)
    return TeffectsResult(
        outcome=str(y_all.name),
        treatment=str(treatment),
        estimand="ATE" if estimand == "ATE" else "ATET",
        estimate=res.estimate,
        se=res.se,
        se_ai2006=res.se_ai2006,
        n_matches=res.n_matches,
        k=int(k),
        vce_k=int(vce_k),
        caliper=caliper,
        nobs=res.n_units,
        model=model,
    )


def _check_overlap(score: np.ndarray, index: pd.Index) -> None:
    bad = (score < PS_TOLERANCE) | (score > 1 - PS_TOLERANCE)
    if bad.any():
        raise ValueError(
            f"treatment overlap assumption violated: {int(bad.sum())} row(s) have an estimated score "
            f"below {PS_TOLERANCE:g} or above 1 - {PS_TOLERANCE:g} (Stata's pstolerance), "
            f"e.g. {index[bad][:5].tolist()}; respecify the treatment model or restrict the sample"
        )


def _check_caliper(score: np.ndarray, treated: np.ndarray, caliper: float, estimand: str, index: pd.Index) -> None:
    """Every focal unit needs a unit of the other arm within ``caliper`` (distance <= caliper)."""
    far = np.zeros(len(score), dtype=bool)
    arms = (True,) if _ESTIMANDS[estimand] == "ATT" else (True, False)
    for arm in arms:
        focal = np.flatnonzero(treated == arm)
        other = np.sort(score[treated != arm])
        lo, _ = nearest_ranges(score[focal], other, 1)
        far[focal] = np.abs(score[focal] - other[lo]) > caliper
    if far.any():
        raise ValueError(
            f"{int(far.sum())} focal row(s) have no match within caliper={caliper!r} on the probability scale "
            f"(Stata stops here too), e.g. {index[far][:5].tolist()}; widen the caliper"
        )
