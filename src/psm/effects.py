"""Treatment effects after matching: psmatch2 v4.0.12's output table, plus Abadie-Imbens SEs.

Faithful part -- psmatch2 v4.0.12, program ``_mktab`` (psmatch2.ado l.421-497).
With T = treated on support (N1 units) and C = controls on support (N0 units), Y the
outcome and _Y the matched counterfactual (mean outcome of a unit's matches, weights
1/n_matches -- psmatch2's ``_<outcome>`` variable):

* Unmatched row: ``regress Y _treated`` over the whole estimation sample, off-support
  units included: difference = mean(Y | treated) - mean(Y | control),
  SE = sqrt(s_p^2 (1/n1 + 1/n0)), s_p^2 = (SS_1 + SS_0)/(n1 + n0 - 2) (pooled OLS SE).
* ATT = mean_T(Y) - mean_T(_Y); ATU = mean_C(_Y) - mean_C(Y);
  ATE = ATT N1/(N0+N1) + ATU N0/(N0+N1) (ado l.421-435).
* ATT "approximate" SE (Lechner 2001; ado l.469-483, ``ai(0)``):
  SE = sqrt(Var1/N1 + Var0 * sum_{j in controls} w_j^2 / N1^2), Var1 = sample variance (n-1)
  of Y over T, Var0 = unweighted sample variance of Y over controls with ``_weight`` > 0
  (each matched control counted once), w_j = ``_weight``. v4.0.12 prints no SE for ATU and
  ATE (``.``).
* ``approx_se="v4.1.0"`` switches to the formulas of psmatch2 v4.1.0 (2026; NOT what a
  2020 analysis printed): Var0 over all controls on support;
  SE(ATU) = sqrt(Var0/N0 + Var1 sum_{i in T} w_i^2 / N0^2);
  SE(ATE) = sqrt((Var1 S_T + Var0 S_C) / (N0+N1)^2), S_g = sum (1 + w_i)^2 over units of
  group g on support *with a positive weight* -- v4.1.0 computes ``(1 + _weight)^2`` where
  ``_weight`` is missing for units never used as a match, so Stata leaves them out of the sum.

psmatch2 prints neither p-values nor CIs. Here the Unmatched row's p uses Student's t with
n - 2 degrees of freedom (as ``regress``); matched rows and the Abadie-Imbens SE use the
standard normal (large-sample; v4.1.0's ``r(table)`` and R's ``summary.Match`` do the same).
psmatch2 ignores that the propensity score is estimated; so do all SEs here.

Better part -- the Abadie & Imbens (2006) SE (``se_ai``), exactly as R's
``Matching::Match(Y, Tr, X=score, estimand, M=k, ties=TRUE, distance.tolerance=0)$se``; the
formulas are in :mod:`psm._ai2006`. For matching with replacement it is computed on the
matching estimator's own definition -- each focal unit on support matched to *every*
candidate at most as far as its k-th nearest (candidates: the other group within common
support, and within the caliper) -- so it does not depend on the row order, whichever tied
candidate psmatch2's first-in-sort-order rule used for its point estimate. Without
replacement it is the same formula applied to the greedy pairs.

Adjusted part -- handed the fitted propensity model (``propensity=``), :func:`effect` also
gives ``se_ai2016``, the Abadie & Imbens (2016) SE that accounts for the estimation of the
score (Stata's ``teffects psmatch`` default, formulas in :mod:`psm.ai2016`). It applies to
matching with replacement on the model's estimated probability itself (not its index, not
another score); it is computed as ``teffects psmatch`` would on the units on support, with
``k`` matches and all ties kept, and ``vce_k`` neighbours for the conditional variances.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from psm._ai2006 import DIRECTIONS as _DIRECTIONS
from psm._ai2006 import (
    abadie_imbens_se,
    ai_method,
    bias_adjusted_parts,
    tie_aware_parts,
)
from psm._format import stata_g
from psm._validation import drop_missing, numeric_values, resolve_column, select_columns
from psm.ai2016 import ai2016
from psm.errors import EmptyGroupError
from psm.kernel import KernelMatching
from psm.propensity import PropensityModel, fit_propensity
from psm.summary import Summary, SummaryTable, format_number
from psm.support import canonical_estimand

APPROX_SE = ("v4.0.12", "v4.1.0")
CI_METHODS = ("psmatch2", "ai", "ai2016")
KERNEL_AI_NOTE = "not defined for kernel or radius matching; psm.bootstrap_se gives a bootstrap SE"
PSMATCH2_NOTE = "Note: S.E. does not take into account that the propensity score is estimated."

_AVAILABLE = {"ATT": ("ATT",), "ATU": ("ATU",), "ATE": ("ATT", "ATU", "ATE")}


@dataclass(frozen=True)
class EffectRow:
    """One row of the psmatch2 table.

    ``treated``/``control`` are mean outcomes in the treated / untreated state for the
    row's population (ATT: the treated and their matches; ATU: the controls' matches
    and the controls; ATE: not shown, NaN). ``difference = treated - control``.
    ``df`` is the Student-t degrees of freedom behind ``p``; None means the normal.
    """

    sample: str
    treated: float
    control: float
    difference: float
    se: float
    t: float
    p: float
    df: float | None
    n_treated: int
    n_control: int
    se_method: str

    @classmethod
    def build(cls, sample, treated, control, difference, se, df, n_treated, n_control, se_method):
        t = difference / se if np.isfinite(se) and se > 0 else np.nan
        p = _two_sided_p(t, df)
        return cls(sample, float(treated), float(control), float(difference), float(se), float(t),
                   float(p), df, int(n_treated), int(n_control), se_method)


@dataclass(frozen=True)
class Effect:
    """Effect of the treatment on one outcome after matching.

    ``unmatched`` and ``matched`` are :class:`EffectRow` objects; ``rows`` holds every
    matched row the matching supports (ATT; ATU; ATT, ATU and ATE for ``estimand="ATE"``
    matchings, as psmatch2's ``ate``). ``se_ai`` is the Abadie-Imbens (2006) SE of
    ``matched``; ``se_ai2016`` the Abadie-Imbens (2016) SE adjusted for the estimated score
    (NaN unless :func:`effect` was given ``propensity=``), from ``ai2016_vce_k`` neighbours.
    ``bias_corrected`` and ``se_bias_corrected``: the Abadie-Imbens (2011) regression
    bias-corrected estimate of ``estimand`` and its AI SE (NaN unless ``bias_adjust=``).
    """

    outcome: str
    estimand: str
    unmatched: EffectRow
    rows: Mapping[str, EffectRow]
    se_ai: float
    ai_method: str
    approx_se: str
    n_on_support: Mapping[str, int]
    n_off_support: Mapping[str, int]
    n_dropped: int = 0
    dropped: tuple[Hashable, ...] = field(default=(), repr=False)
    se_ai2016: float = np.nan
    ai2016_vce_k: int | None = None
    bias_corrected: float = np.nan
    se_bias_corrected: float = np.nan

    @property
    def matched(self) -> EffectRow:
        """The row of the estimand (``rows[estimand]``): ATT, ATU or ATE."""
        return self.rows[self.estimand]

    @property
    def t_ai(self) -> float:
        """``difference / se_ai``, the z statistic with the Abadie-Imbens SE."""
        return self.matched.difference / self.se_ai if self.se_ai > 0 else np.nan

    @property
    def p_ai(self) -> float:
        """Two-sided p-value of ``t_ai`` from the standard normal (as R's summary.Match)."""
        return float(_two_sided_p(self.t_ai, None))

    def ci(self, level: float = 0.95, *, method: str = "psmatch2") -> tuple[float, float]:
        """Normal-theory interval: difference -/+ z_{(1+level)/2} * SE of the matched row.

        ``method="psmatch2"`` uses the row's approximate SE, ``"ai"`` the Abadie-Imbens (2006) SE,
        ``"ai2016"`` the SE adjusted for the estimated score. ``level`` is the confidence level as
        everywhere in psm (Stata's ``level(95)``): ``level=0.95`` gives the 95% interval.
        """
        if method not in CI_METHODS:
            raise ValueError(f"method must be one of {CI_METHODS}, got {method!r}")
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        se = {"psmatch2": self.matched.se, "ai": self.se_ai, "ai2016": self.se_ai2016}[method]
        half = stats.norm.ppf(0.5 + level / 2) * se
        return (self.matched.difference - half, self.matched.difference + half)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per sample (Unmatched, ATT, ATU, ATE) plus the AI row."""
        rows = [self.unmatched, *self.rows.values()]
        m = self.matched
        ai = EffectRow.build(f"{self.estimand} (AI)", m.treated, m.control, m.difference,
                             self.se_ai, None, m.n_treated, m.n_control, self.ai_method)
        if np.isfinite(self.se_ai2016):
            rows.append(ai)
            ai = EffectRow.build(f"{self.estimand} (AI 2016)", m.treated, m.control, m.difference, self.se_ai2016,
                                 None, m.n_treated, m.n_control, f"Abadie-Imbens (2016), nn({self.ai2016_vce_k})")
        frame = pd.DataFrame([vars(r) for r in [*rows, ai]]).set_index("sample")
        frame.insert(0, "outcome", self.outcome)
        return frame

    def summary(self) -> Summary:
        """The psmatch2 table, the Abadie-Imbens SE and the treated x support counts, as a
        :class:`~psm.summary.Summary` (text: ``psmatch2_table``'s layout; tables: the same numbers)."""
        return Summary(f"Effect of the treatment on {self.outcome}", effect_tables([self]),
                       text=psmatch2_table([self]))


# ---------------------------------------------------------------------------- api


def effect(
    data: pd.DataFrame,
    outcome: Hashable | pd.Series,
    matching,
    *,
    estimand: str = "ATT",
    approx_se: str = "v4.0.12",
    ai_var_calc: int = 0,
    ai_sample: bool = False,
    dropna: bool = False,
    propensity: PropensityModel | None = None,
    vce_k: int = 2,
    bias_adjust: Sequence[Hashable] | None = None,
) -> Effect:
    """Estimate the effect of the treatment on ``outcome`` from a :class:`psm.Matching`.

    Parameters
    ----------
    data : DataFrame
        Holds ``outcome``; its index must contain the matching's index. The Unmatched
        row uses every row of the matching (psmatch2's estimation sample, ``touse``), so
        to reproduce psmatch2/pstest pass the same sample that was matched.
    outcome : column name or Series aligned to ``data``
    matching : Matching
        From :func:`psm.match`. ``estimand="ATT"`` needs ATT pairs, ``"ATU"`` ATU pairs,
        ``"ATE"`` both (``psm.match(..., estimand="ATE")``, psmatch2's ``ate``).
    estimand : {"ATT", "ATU", "ATE"}
        Which matched row is ``Effect.matched`` (and whose AI SE is ``se_ai``); "ATC" (MatchIt's
        name) is accepted for ATU.
    approx_se : {"v4.0.12", "v4.1.0"}
        psmatch2 version whose approximate SE formulas fill the matched rows' ``se``
        (v4.0.12, the 2020 toolchain, has none for ATU/ATE: NaN).
    ai_var_calc : int
        0 = R's default homoskedastic sigma^2; J > 0 = heteroskedastic, J same-arm neighbours.
    ai_sample : bool
        False = R default (population variance, AI Thm 7); True = sample variance (Thm 6).
    dropna : bool
        Rows of the matching with a missing outcome raise MissingValuesError by default.
        psmatch2 deletes them listwise *before* it fits the score, so ``dropna=True`` needs the
        fitted model (``propensity=``): it is refitted on the remaining rows (same covariates,
        link and reference levels), and the matching is re-run on the new score with the same
        options. Without the model the call is refused: a score estimated with the dropped rows
        is not the score psmatch2 would match on.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> covariates = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
    >>> m = psm.match(df, "treat", psm.fit_propensity(df, "treat", covariates, link="logit"), ties=True)
    >>> eff = psm.effect(df, "re78", m)
    >>> round(eff.matched.difference, 2), round(eff.se_ai, 2)
    (1968.8, 1085.82)
    >>> [round(float(x), 2) for x in eff.ci(level=0.95, method="ai")]
    [-159.36, 4096.96]
    """
    estimand = canonical_estimand(estimand)
    if approx_se not in APPROX_SE:
        raise ValueError(f"approx_se must be one of {APPROX_SE}, got {approx_se!r}")
    if int(ai_var_calc) != ai_var_calc or ai_var_calc < 0:
        raise ValueError(f"ai_var_calc must be a non-negative integer, got {ai_var_calc!r}")
    if estimand not in _AVAILABLE[matching.estimand]:
        raise ValueError(
            f"estimand={estimand!r} needs a matching with {' and '.join(_DIRECTIONS[estimand])} "
            f"pairs, but this matching was made with estimand={matching.estimand!r}; "
            "re-match with estimand='ATE' to get every row"
        )
    y_full = resolve_column(data, outcome)
    name = str(y_full.name)
    if pd.api.types.is_bool_dtype(y_full.dtype):
        y_full = y_full.astype(float)
    y, matching, propensity, dropped = _outcome_on_matching(data, y_full, matching, dropna, propensity)
    frame = _MatchedFrame.from_matching(matching, numeric_values(y))
    rows = _psmatch2_rows(frame, matching, y, _AVAILABLE[matching.estimand], approx_se)
    values = frame.y
    if isinstance(matching, KernelMatching):
        parts = None
    elif matching.metric == "mahalanobis":
        if ai_var_calc:
            raise ValueError("ai_var_calc > 0 needs a score; after Mahalanobis matching use ai_var_calc=0")
        parts = [frame.direction(name) for name in _DIRECTIONS[estimand]]
    elif matching.replace:
        parts = [tie_aware_parts(matching, values, name) for name in _DIRECTIONS[estimand]]
    else:
        parts = [frame.direction(name) for name in _DIRECTIONS[estimand]]
    ai = {"var_calc": int(ai_var_calc), "sample": ai_sample}
    common = (values, frame.score, frame.treated, frame.on_support, estimand)
    se_ai = np.nan if parts is None else abadie_imbens_se(parts, *common, **ai)[1]
    bc, se_bc = np.nan, np.nan
    if bias_adjust is not None:
        if parts is None:
            raise ValueError("bias_adjust applies to nearest-neighbour matching, not to kernel or radius matching")
        z = select_columns(data.loc[matching.treated.index], {str(c): c for c in bias_adjust})
        drop_missing(z)  # raises MissingValuesError listing the rows
        zmat = np.column_stack([numeric_values(z[c]) for c in z.columns])
        adjusted = bias_adjusted_parts(parts, values, zmat, frame.treated)
        bc, se_bc = abadie_imbens_se(adjusted, *common, **ai)
    se_2016 = np.nan if propensity is None else _adjusted_se(matching, values, propensity, estimand, vce_k)
    return Effect(
        outcome=name,
        estimand=estimand,
        unmatched=_unmatched_row(frame.y, frame.treated),
        rows=rows,
        se_ai=se_ai,
        ai_method=KERNEL_AI_NOTE if parts is None else ai_method(int(ai_var_calc), ai_sample),
        approx_se=approx_se,
        n_on_support=frame.counts(on_support=True),
        n_off_support=frame.counts(on_support=False),
        n_dropped=len(dropped),
        dropped=tuple(dropped),
        se_ai2016=se_2016,
        ai2016_vce_k=None if propensity is None else int(vce_k),
        bias_corrected=bc,
        se_bias_corrected=se_bc,
    )


def _adjusted_se(matching, y: np.ndarray, model: PropensityModel, estimand: str, vce_k: int) -> float:
    """AI (2016) SE on the on-support units, matching on ``model.score`` (see module docstring)."""
    if isinstance(vce_k, bool) or not isinstance(vce_k, (int, np.integer)) or vce_k < 1:
        raise ValueError(f"vce_k must be a positive integer, got {vce_k!r}")
    if not matching.replace:
        raise ValueError("se_ai2016 applies to matching with replacement; this matching was made with replace=False")
    index = matching.score.index
    fitted = model.score.reindex(index).to_numpy(dtype=float)
    if not np.array_equal(fitted, matching.score.to_numpy(dtype=float)):
        raise ValueError(
            "se_ai2016 needs a matching on the propensity model's own estimated probability "
            "(psm.match(data, treatment, model.score)); this matching's score differs"
        )
    keep = matching.on_support.to_numpy(dtype=bool)
    rows = index[keep]
    x = model.design().loc[rows].to_numpy()
    p = fitted[keep]
    f = p * (1 - p) if model.link == "logit" else stats.norm.pdf(model.linear_predictor.loc[rows].to_numpy())
    treated = matching.treated.to_numpy(dtype=bool)[keep]
    return ai2016(p, f, x, treated, y[keep], estimand=estimand, k=matching.k, vce_k=vce_k).se


# ------------------------------------------------------------------ sample / data


def _outcome_on_matching(data, y_full: pd.Series, matching, dropna: bool, propensity: PropensityModel | None):
    """The outcome over the matching's rows; missing values raise, or (``dropna=True``) the score is
    refitted without those rows and the matching re-run on it, in psmatch2's order."""
    index = matching.treated.index
    if not index.equals(data.index):
        absent = index.difference(data.index)
        if len(absent):
            raise ValueError(
                f"the matching has {len(absent)} row label(s) not in data.index "
                f"(e.g. {list(absent[:5])}); pass the data the matching was made from"
            )
        y_full = y_full.reindex(index)
    kept, dropped = drop_missing(y_full.to_frame(), dropna=dropna)
    if len(dropped):
        if propensity is None:
            raise ValueError(
                f"{len(dropped)} row(s) have a missing {y_full.name!r}; psmatch2 drops them before it fits the "
                "score, so dropna=True needs the fitted model to refit: effect(..., dropna=True, "
                "propensity=model). Or drop the rows, then fit and match again."
            )
        keep = index.isin(kept.index)
        propensity = fit_propensity(data.loc[index[keep]], propensity.treatment, propensity.covariates,
                                    link=propensity.link, categorical=list(propensity.reference),
                                    reference=dict(propensity.reference))  # fmt: skip
        matching = _rematch(matching, keep, propensity.score.to_numpy())
        y_full = y_full.loc[matching.treated.index]
    return y_full, matching, propensity, list(dropped)


def _rematch(matching, keep: np.ndarray, score: np.ndarray):
    """Re-run the matching on the rows in ``keep``, on ``score`` (theirs), with the same options."""
    from psm.matching import match

    treated = matching.treated[keep]
    frame = pd.DataFrame({treated.name: treated.astype(int)}, index=treated.index)
    if isinstance(matching, KernelMatching):
        options = matching.options()
    elif matching.metric == "mahalanobis":
        raise ValueError("dropna=True cannot re-run a Mahalanobis matching: drop the rows and match again")
    else:
        options = {
            k: getattr(matching, k)
            for k in ("k", "replace", "caliper", "common_support", "ties", "order", "seed", "estimand", "descending")
        }
    return match(frame, treated.name, pd.Series(score, index=treated.index, name=matching.score.name), **options)


_NO_PAIRS = pd.DataFrame({"treated": [], "control": [], "weight": [], "direction": []})


@dataclass(frozen=True)
class _MatchedFrame:
    """Positional arrays of a matching: outcome, groups, support, score and pairs."""

    y: np.ndarray
    treated: np.ndarray
    on_support: np.ndarray
    score: np.ndarray
    weights: np.ndarray  # psmatch2 _weight (0 where missing)
    pair_treated: np.ndarray  # positions
    pair_control: np.ndarray
    pair_weight: np.ndarray
    pair_att: np.ndarray  # True: an ATT-direction pair (focal = treated)

    @classmethod
    def from_matching(cls, matching, y: np.ndarray) -> _MatchedFrame:
        index = matching.treated.index
        # kernel matchings need no pairs here (no Abadie-Imbens SE); skip building them
        pairs = _NO_PAIRS if isinstance(matching, KernelMatching) else matching.pairs
        return cls(
            y=y,
            treated=matching.treated.to_numpy(dtype=bool),
            on_support=matching.on_support.to_numpy(dtype=bool),
            score=matching.score.to_numpy(dtype=float),
            weights=matching.weights.to_numpy(dtype=float),
            pair_treated=index.get_indexer(pairs["treated"]),
            pair_control=index.get_indexer(pairs["control"]),
            pair_weight=pairs["weight"].to_numpy(dtype=float),
            pair_att=(pairs["direction"] == "ATT").to_numpy(),
        )

    def counts(self, on_support: bool) -> dict[str, int]:
        mask = self.on_support == on_support
        return {"treated": int(np.sum(mask & self.treated)), "control": int(np.sum(mask & ~self.treated))}

    def direction(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(focal, match, weight, d = Y_treated - Y_control) of one direction's pairs."""
        sel = self.pair_att if name == "ATT" else ~self.pair_att
        t, c, w = self.pair_treated[sel], self.pair_control[sel], self.pair_weight[sel]
        focal, other = (t, c) if name == "ATT" else (c, t)
        return focal, other, w, self.y[t] - self.y[c]


# ---------------------------------------------------------------- psmatch2 rows


def _unmatched_row(y: np.ndarray, treated: np.ndarray) -> EffectRow:
    """``regress Y treated``: difference in means with the pooled-variance OLS SE, t(n-2)."""
    y1, y0 = y[treated], y[~treated]
    n1, n0 = len(y1), len(y0)
    if n1 == 0 or n0 == 0:
        raise EmptyGroupError(f"the outcome sample has {n1} treated and {n0} controls; both are needed")
    ssr = np.sum((y1 - y1.mean()) ** 2) + np.sum((y0 - y0.mean()) ** 2)
    df = n1 + n0 - 2
    se = np.sqrt(ssr / df * (1 / n1 + 1 / n0)) if df > 0 else np.nan
    return EffectRow.build("Unmatched", y1.mean(), y0.mean(), y1.mean() - y0.mean(), se, float(df),
                           n1, n0, "OLS pooled variance (regress Y treated)")


def _psmatch2_rows(frame: _MatchedFrame, matching, y: pd.Series, names, approx_se: str) -> dict[str, EffectRow]:
    """ATT / ATU / ATE rows with psmatch2's means and approximate SEs."""
    T = frame.treated & frame.on_support
    C = ~frame.treated & frame.on_support
    n1, n0 = int(T.sum()), int(C.sum())
    var1 = _var(frame.y[T])
    w = frame.weights
    rows: dict[str, EffectRow] = {}
    if "ATT" in names:
        if n1 == 0:
            raise EmptyGroupError("no treated unit on support: the ATT is not defined")
        y0_hat = matching.matched_outcome(y, "ATT").to_numpy(dtype=float)[T]
        used = ~frame.treated & (w != 0)  # psmatch2: _weight < . (local linear weights can be < 0)
        if approx_se == "v4.0.12":
            var0, wtot = _var(frame.y[used]), np.sum(w[~frame.treated] ** 2)
        else:
            var0, wtot = _var(frame.y[C]), np.sum(w[C] ** 2)
        se = np.sqrt(var1 / n1 + var0 * wtot / n1**2)
        if isinstance(matching, KernelMatching) and matching.method == "llr" and matching.kernel == "tricube":
            se = np.nan  # psmatch2 prints no S.E. after llr with the tricube kernel (ado l.480)
        rows["ATT"] = EffectRow.build("ATT", frame.y[T].mean(), y0_hat.mean(), frame.y[T].mean() - y0_hat.mean(),
                                      se, None, n1, int(used.sum()), f"approximate (psmatch2 {approx_se})")
    if "ATU" in names:
        if n0 == 0:
            raise EmptyGroupError("no control unit on support: the ATU is not defined")
        y1_hat = matching.matched_outcome(y, "ATU").to_numpy(dtype=float)[C]
        used_t = frame.treated & (w > 0)
        se = np.nan
        if approx_se == "v4.1.0":
            se = np.sqrt(_var(frame.y[C]) / n0 + var1 * np.sum(w[T] ** 2) / n0**2)
        rows["ATU"] = EffectRow.build("ATU", y1_hat.mean(), frame.y[C].mean(), y1_hat.mean() - frame.y[C].mean(),
                                      se, None, int(used_t.sum()), n0, _approx_label(approx_se))
    if "ATE" in names:
        att, atu = rows["ATT"].difference, rows["ATU"].difference
        ate = att * n1 / (n0 + n1) + atu * n0 / (n0 + n1)
        se = np.nan
        if approx_se == "v4.1.0":
            s_t = np.sum((1 + w[T & (w > 0)]) ** 2)
            s_c = np.sum((1 + w[C & (w > 0)]) ** 2)
            se = np.sqrt((var1 * s_t + _var(frame.y[C]) * s_c) / (n0 + n1) ** 2)
        rows["ATE"] = EffectRow.build("ATE", np.nan, np.nan, ate, se, None, n1, n0, _approx_label(approx_se))
    return rows


def _approx_label(approx_se: str) -> str:
    if approx_se == "v4.0.12":
        return "none (psmatch2 v4.0.12 prints no S.E. for ATU/ATE)"
    return "approximate (psmatch2 v4.1.0)"


def _var(values: np.ndarray) -> float:
    return float(np.var(values, ddof=1)) if len(values) > 1 else np.nan


# ------------------------------------------------------------------------ printing


def _two_sided_p(t: float, df: float | None) -> float:
    if not np.isfinite(t):
        return np.nan
    dist = stats.norm if df is None else stats.t(df)
    return float(2 * dist.sf(abs(t)))


def effect_tables(effects: list[Effect]) -> list[SummaryTable]:
    """The tables behind ``psmatch2_table``: every outcome's rows (``to_frame``, AI row included)
    at Stata's ``%10.0g``-like precision, and the first effect's treated x support counts."""
    frames = []
    for eff in effects:
        frame = eff.to_frame()
        frames.append(pd.DataFrame({
            "Treated": [stata_g(v, 10).strip() for v in frame["treated"]],
            "Controls": [stata_g(v, 10).strip() for v in frame["control"]],
            "Difference": [stata_g(v, 10).strip() for v in frame["difference"]],
            "S.E.": [stata_g(v, 10).strip() for v in frame["se"]],
            "T-stat": [format_number(v, 2) for v in frame["t"]],
            "p": [format_number(v, 3) for v in frame["p"]],
        }, index=pd.MultiIndex.from_arrays([[eff.outcome] * len(frame), frame.index], names=["Variable", "Sample"])))
    first = effects[0]
    support = pd.DataFrame(
        [[str(first.n_off_support[g]), str(first.n_on_support[g]),
          str(first.n_off_support[g] + first.n_on_support[g])] for g in ("control", "treated")],
        index=pd.Index(["Untreated", "Treated"], name="Treatment"), columns=["Off support", "On support", "Total"])
    return [SummaryTable(pd.concat(frames), "Effects"), SummaryTable(support, "Common support")]


def psmatch2_table(effects: list[Effect]) -> str:
    """psmatch2 v4.0.12's output table for one or more outcomes matched alike.

    Header ``Variable Sample | Treated Controls Difference S.E. T-stat``; rows Unmatched,
    ATT (and ATU, ATE after an ``ate`` matching); the note on the estimated score; then
    the Abadie-Imbens SE of each outcome and ``tab _treated _support``. Unlike psmatch2,
    whose ATU line prints mean(Y | controls) under "Treated" and their matched mean under
    "Controls" (ado l.497), every row here has the treated-state mean under "Treated", so
    Difference = Treated - Controls throughout.
    """
    rule = "-" * 28 + "+" + "-" * 59
    lines = [rule, "        Variable     Sample |    Treated     Controls   Difference         S.E.   T-stat", rule]
    for eff in effects:
        lines.append(_table_line(eff.outcome[:16].rjust(16) + "  Unmatched", eff.unmatched))
        for name, row in eff.rows.items():
            lines.append(_table_line(" " * 16 + name.rjust(11), row, means=name != "ATE"))
        lines.append(rule)
    first = effects[0]
    if np.isfinite(first.rows.get("ATT", first.matched).se):
        lines.append(PSMATCH2_NOTE)
    if first.approx_se != "v4.0.12":
        lines.append(f"Approximate S.E.: psmatch2 {first.approx_se} formulas (not the 2020 toolchain).")
    lines.append("")
    for eff in effects:
        lines.append(
            f"Abadie-Imbens (2006) S.E. of {eff.estimand} for {eff.outcome}: {stata_g(eff.se_ai, 11).strip()}  "
            f"z = {eff.t_ai:.2f}  p = {eff.p_ai:.3g}  [{eff.ai_method}]"
        )
        if np.isfinite(eff.bias_corrected):
            lines.append(
                f"Bias-corrected (Abadie-Imbens 2011) {eff.estimand} for {eff.outcome}: "
                f"{stata_g(eff.bias_corrected, 11).strip()}  S.E. {stata_g(eff.se_bias_corrected, 11).strip()}"
            )
        if np.isfinite(eff.se_ai2016):
            lines.append(
                f"Abadie-Imbens (2016) S.E. of {eff.estimand} for {eff.outcome}, adjusted for the estimated score: "
                f"{stata_g(eff.se_ai2016, 11).strip()}  [nn({eff.ai2016_vce_k})]"
            )
    if first.n_dropped:
        lines.append(f"{first.n_dropped} row(s) with a missing outcome dropped before matching.")
    lines += ["", _support_table(first.n_on_support, first.n_off_support)]
    return "\n".join(lines)


def _table_line(label: str, row: EffectRow, means: bool = True) -> str:
    # each number in 10 characters after a space (Stata's %10.0g-like), so columns never run together
    t = f"{row.t:7.2f}" if np.isfinite(row.t) else ".".rjust(7)
    left = f" {stata_g(row.treated, 10)}   {stata_g(row.control, 10)}" if means else " " * 24
    return f"{label} |{left}   {stata_g(row.difference, 10)}   {stata_g(row.se, 10)}  {t}"


def _support_table(on: Mapping[str, int], off: Mapping[str, int]) -> str:
    head = f"{'Treatment':>10} | {'Off support':>11} {'On support':>11} | {'Total':>7}"
    lines = [head, "-" * len(head)]
    for group, label in (("control", "Untreated"), ("treated", "Treated")):
        lines.append(f"{label:>10} | {off[group]:>11} {on[group]:>11} | {off[group] + on[group]:>7}")
    total_off, total_on = sum(off.values()), sum(on.values())
    lines.append(f"{'Total':>10} | {total_off:>11} {total_on:>11} | {total_off + total_on:>7}")
    return "\n".join(lines)
