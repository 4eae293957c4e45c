"""``psmatch2`` in one call: propensity score, matching and effects, as Stata users know it.

    psmatch2 treat x1 x2 ..., outcome(y1 y2) [logit neighbor(k) noreplacement caliper(c)
                                             common ties descending ate]

becomes ::

    psm.psmatch2(data, "treat", ["x1", "x2"], ["y1", "y2"], link="probit", k=1,
                 replace=True, caliper=None, common_support=False, ties=False, ate=False)

and ``psmatch2 ..., kernel kerneltype(epan) bwidth(0.06)`` / ``radius caliper(0.05)`` become
``method="kernel", kernel="epan", bandwidth=0.06`` / ``method="radius", caliper=0.05``.

Estimation sample (psmatch2 ``marksample``/``markout``, ado l.56-57): rows with a missing
treatment, covariate or ANY of the outcomes are left out -- listwise deletion, so several
outcomes share the intersection sample. Stata does it silently; here it raises
:class:`~psm.errors.MissingValuesError` listing the rows unless ``dropna=True``, and the
count dropped is kept on the result (``n_dropped``). Everything downstream -- the score
model, the matching, the Unmatched row -- uses only this sample, as psmatch2 and pstest do.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from psm._design import covariate_columns
from psm._validation import drop_missing, select_columns
from psm.effects import Effect, effect, effect_tables, psmatch2_table
from psm.kernel import KernelMatching
from psm.mahalanobis import mahalanobis_match
from psm.matching import Matching, match
from psm.propensity import PropensityModel, fit_propensity
from psm.summary import Summary


@dataclass(frozen=True)
class PSMatch2Result:
    """What ``psmatch2`` leaves behind: the score model, the matching and one Effect per outcome.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> res = psm.psmatch2(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"], "re78",
    ...                    link="logit", ties=True)
    >>> res.propensity.nobs, int(res.matching.on_support.sum()), res.n_dropped
    (614, 614, 0)
    """

    propensity: PropensityModel
    matching: Matching | KernelMatching
    effects: Mapping[str, Effect]
    data: pd.DataFrame = field(repr=False)  # the estimation sample (psmatch2 ``touse``)
    n_dropped: int = 0
    dropped: tuple[Hashable, ...] = field(default=(), repr=False)

    @property
    def effect(self) -> Effect:
        """The Effect of the single outcome (error with several outcomes: use ``effects``)."""
        if len(self.effects) != 1:
            raise ValueError(f"{len(self.effects)} outcomes; pick one from .effects: {list(self.effects)}")
        return next(iter(self.effects.values()))

    def to_frame(self) -> pd.DataFrame:
        """Every outcome's effect rows (:meth:`psm.Effect.to_frame`, stacked)."""
        return pd.concat([e.to_frame() for e in self.effects.values()])

    def summary(self) -> Summary:
        """The score model's summary, then psmatch2's effects table, as one :class:`~psm.summary.Summary`."""
        model = self.propensity.summary()
        notes = list(model.notes)
        if self.n_dropped:
            notes.append(f"{self.n_dropped} row(s) with missing treatment/covariate/outcome values dropped (dropna=True).")
        effects = list(self.effects.values())
        text = "\n".join([str(model), "", *notes[len(model.notes):], psmatch2_table(effects)])
        return Summary("psmatch2: propensity score, matching and effects",
                       [*model.tables, *effect_tables(effects)], notes, text=text)


def psmatch2(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str] | str,
    outcome: str | Sequence[str],
    *,
    link: str = "probit",
    k: int = 1,
    replace: bool = True,
    caliper: float | None = None,
    common_support: bool = False,
    ties: bool = False,
    order: str | None = None,
    seed: int | None = None,
    descending: bool = False,
    estimand: str = "ATT",
    ate: bool = False,
    dropna: bool = False,
    approx_se: str = "v4.0.12",
    ai_var_calc: int = 0,
    ai_sample: bool = False,
    categorical: Sequence[str] = (),
    reference: Mapping[str, object] | None = None,
    method: str = "nearest",
    kernel: str = "epan",
    bandwidth: float | None = None,
    mahalanobis: Sequence[str] | None = None,
) -> PSMatch2Result:
    """Fit the score, match, and estimate effects in one call (psmatch2 defaults).

    Parameters
    ----------
    link : {"probit", "logit"}
        psmatch2's default is probit (``logit`` option otherwise).
    k, replace, caliper, common_support, ties, order, seed, descending
        Passed to :func:`psm.match` (psmatch2 ``neighbor()``, ``noreplacement``,
        ``caliper()``, ``common``, ``ties``, ``descending``; ``order="random"`` with a
        ``seed`` replaces the data order as tie-breaker, as psmatch2's help advises).
    estimand : {"ATT", "ATU", "ATE"}
        The matched row reported as ``Effect.matched`` (and its AI SE).
    ate : bool
        psmatch2 ``ate``: match in both directions and report ATT, ATU and ATE rows.
        ``estimand="ATE"`` or ``"ATU"`` implies the matching it needs.
    dropna : bool
        Drop rows with missing values (listwise, as psmatch2) instead of raising.
    approx_se, ai_var_calc, ai_sample
        Passed to :func:`psm.effect`.
    categorical, reference
        Passed to :func:`psm.fit_propensity`.
    method, kernel, bandwidth
        ``method="kernel"`` is psmatch2 ``kernel kerneltype() bwidth()``, ``method="radius"``
        psmatch2 ``radius caliper()``; passed to :func:`psm.match` (nearest-neighbour options
        must then stay at their defaults).
    mahalanobis : list of columns, optional
        psmatch2 ``mahalanobis(varlist)``: nearest-neighbour matching on these columns with
        :func:`psm.mahalanobis_match` (``k``, ``caliper`` -- on the squared distance -- and the
        estimand apply); the score is still fitted and reported. Add the score as a matching
        variable by matching yourself (``psm.mahalanobis_match(data, t, [..., "ps"])``).

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> res = psm.psmatch2(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"], "re78",
    ...                    link="logit", ties=True)
    >>> round(res.effect.matched.difference, 2)
    1968.8
    """
    outcomes = [outcome] if isinstance(outcome, str) else list(outcome)
    if not outcomes:
        raise ValueError("give at least one outcome column")
    used = [treatment, *covariate_columns(data, treatment, covariates), *outcomes, *(mahalanobis or [])]
    frame = select_columns(data, {c: c for c in dict.fromkeys(used)})
    _, dropped = drop_missing(frame, dropna=dropna)
    keep = ~frame.isna().any(axis=1).to_numpy()
    sample = data[keep] if len(dropped) else data

    propensity = fit_propensity(sample, treatment, covariates, link=link, categorical=categorical, reference=reference)
    match_estimand = "ATE" if ate else estimand
    if mahalanobis is not None:
        matching = mahalanobis_match(sample, treatment, mahalanobis, k=k, caliper=caliper, estimand=match_estimand)
    else:
        matching = match(
            sample, treatment, propensity.score, k=k, replace=replace, caliper=caliper,
            common_support=common_support, ties=ties, order=order, seed=seed, estimand=match_estimand,
            descending=descending, method=method, kernel=kernel, bandwidth=bandwidth,
        )
    effects = {
        name: effect(sample, name, matching, estimand=estimand, approx_se=approx_se,
                     ai_var_calc=ai_var_calc, ai_sample=ai_sample)
        for name in outcomes
    }
    return PSMatch2Result(
        propensity=propensity,
        matching=matching,
        effects=effects,
        data=sample,
        n_dropped=len(dropped),
        dropped=tuple(dropped),
    )
