"""Bootstrap standard error of kernel and radius matching estimates.

Each replicate draws n rows with replacement (seeded, :func:`numpy.random.default_rng`),
optionally re-fits the propensity model on them (so the SE reflects the estimation of the
score, as ``bootstrap r(att): psmatch2 t x ...`` does in Stata), re-matches with the same
options and recomputes the estimate; the SE is the standard deviation (divisor B - 1) of
the B replicate estimates, as Stata's ``bootstrap`` reports it.

Kernel and radius matching are smooth enough in the data for the bootstrap to be valid.
Nearest-neighbour matching is not: Abadie and Imbens (2008, "On the failure of the bootstrap
for matching estimators", Econometrica 76(6), 1537-1557) show that the bootstrap variance
of the nearest-neighbour matching estimator is inconsistent, so :func:`bootstrap_se`
refuses it and points to the Abadie-Imbens standard errors instead.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from psm.effects import effect
from psm.errors import PSMError
from psm.kernel import KernelMatching, kernel_match
from psm.propensity import PropensityModel, fit_propensity

NN_REFUSAL = (
    "the bootstrap is not valid for nearest-neighbour matching: Abadie and Imbens (2008, Econometrica "
    "76(6), 1537-1557) show its bootstrap variance is inconsistent; use Effect.se_ai (Abadie-Imbens 2006) "
    "or se_ai2016 (effect(..., propensity=model)) instead"
)


@dataclass(frozen=True)
class BootstrapSE:
    """``se`` (sd of the replicate estimates, divisor B - 1), the ``estimates`` themselves,
    ``reps`` asked for, ``n_failed`` replicates without a match on support (left out), and
    the ``seed``.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> boot = psm.bootstrap_se(df, "re78", psm.kernel_match(df, "treat", ps.score), reps=20, seed=1)
    >>> [round(v, 1) for v in boot.ci(level=0.95)]
    [-1013.8, 2367.1]
    """

    estimand: str
    estimate: float
    se: float
    estimates: np.ndarray
    reps: int
    n_failed: int
    seed: int

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Percentile interval of the replicate estimates."""
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        lo, hi = np.quantile(self.estimates, [(1 - level) / 2, (1 + level) / 2])
        return float(lo), float(hi)


def bootstrap_se(
    data: pd.DataFrame,
    outcome: Hashable,
    matching: KernelMatching,
    *,
    estimand: str | None = None,
    propensity: PropensityModel | None = None,
    reps: int = 200,
    seed: int,
) -> BootstrapSE:
    """Bootstrap SE of ``effect(data, outcome, matching, estimand=estimand).matched.difference``.

    ``matching`` is a kernel or radius matching of ``data``'s rows. With ``propensity``
    (the model whose score was matched on), every replicate re-fits it on the resampled
    rows; without it the scores are kept as they are. ``seed`` is required.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> boot = psm.bootstrap_se(df, "re78", psm.kernel_match(df, "treat", ps.score), reps=20, seed=1)
    >>> round(boot.estimate, 2), round(boot.se, 2), boot.n_failed    # 20 replicates: a quick look only
    (1249.41, 1059.5, 0)
    """
    if not isinstance(matching, KernelMatching):
        raise ValueError(NN_REFUSAL)
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 2:
        raise ValueError(f"reps must be an integer >= 2, got {reps!r}")
    estimand = estimand or matching.estimand
    point = effect(data, outcome, matching, estimand=estimand).matched.difference
    rows = data.loc[matching.treated.index]
    treatment = str(matching.treated.name)
    scores = matching.score.to_numpy()
    rng = np.random.default_rng(seed)
    estimates, failed = [], 0
    for _ in range(reps):
        draw = rng.integers(0, len(rows), len(rows))
        sample = rows.iloc[draw].reset_index(drop=True)
        try:
            if propensity is None:
                score = pd.Series(scores[draw], index=sample.index)
            else:
                score = fit_propensity(sample, propensity.treatment, propensity.covariates, link=propensity.link).score
            m = kernel_match(sample, treatment, score, **matching.options())
            estimates.append(effect(sample, outcome, m, estimand=estimand).matched.difference)
        except PSMError:
            failed += 1
    values = np.asarray(estimates)
    return BootstrapSE(estimand, float(point), float(np.std(values, ddof=1)), values, int(reps), failed, seed)
