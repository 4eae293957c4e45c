"""Treatment effects after matching: psmatch2 v4.0.12's output table, plus Abadie-Imbens SEs.

Faithful part -- psmatch2 v4.0.12, program ``_mktab`` (methodology.md sections 1.7-1.8).
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

Better part -- Abadie & Imbens (2006) SE, exactly as R's ``Matching::Match(Y, Tr, X=score,
estimand, M=1, ties=TRUE, distance.tolerance=0)$se`` computes it (``RmatchLoop``, R/Matching.R;
defaults ``Var.calc=0``, ``sample=FALSE``). With matched pairs p = (focal unit i, match j,
weight w_p = 1/M_i), d_p = Y_treated - Y_control, SN = number of focal units,
est = sum_p w_p d_p / SN, tau_i = sum_{p of i} w_p d_p, K_j = sum_{p: j matched} w_p and
KK_j = sum_{p: j matched} w_p^2:

* sigma^2 (``Var.calc=0``, homoskedastic): sigma^2 = 0.5 sum_p w_p (d_p - est)^2 / SN, the
  same for every unit. ``ai_var_calc=J`` > 0 (heteroskedastic): sigma^2_i = sample variance
  (n-1) of {Y_i} and the Y of unit i's J nearest same-arm units on the score, ties at the
  J-th distance included (R with ``tolerance=0``; R's default tolerance 1e-5 on squared
  standardised distances also counts near-ties). For J = 1 this is AI (2006) eq. 14.
* ``sample=False`` (R default, AI 2006 Thm 7, "population"):
  V = [sum_{focal} (tau_i - est)^2 + sum_j sigma^2_j (K_j^2 + c K_j - KK_j)] / SN^2,
  c = 2 for ATE, 0 for ATT/ATU. ``ai_sample=True`` (Thm 6): V = sum_i sigma^2_i
  (1[i focal] + K_i)^2 / SN^2.

The AI SE is computed on the matching's pairs, on-support units only (= ``Match`` run on the
on-support sample). It equals R's number when the matching keeps all equidistant controls
(``ties=True``, or no ties in the score); for psmatch2's first-in-sort-order 1:1 matching it
is the same formula applied to that matching.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from psm._format import stata_g
from psm.summary import Summary, SummaryTable, format_number
from psm._validation import drop_missing, numeric_values, resolve_column
from psm.errors import EmptyGroupError
from psm.support import canonical_estimand

APPROX_SE = ("v4.0.12", "v4.1.0")
CI_METHODS = ("psmatch2", "ai")
PSMATCH2_NOTE = "Note: S.E. does not take into account that the propensity score is estimated."

_DIRECTIONS = {"ATT": ("ATT",), "ATU": ("ATU",), "ATE": ("ATT", "ATU")}
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
    matchings, as psmatch2's ``ate``). ``se_ai`` is the Abadie-Imbens SE of ``matched``.
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

    def ci(self, *, alpha: float = 0.05, method: str = "psmatch2") -> tuple[float, float]:
        """Normal-theory ``1 - alpha`` interval: difference -/+ z_{1-alpha/2} * SE of the matched row.

        ``method="psmatch2"`` uses the row's approximate SE, ``"ai"`` the Abadie-Imbens SE. ``alpha``
        is keyword-only and means what it means across psm (and statsmodels): ``alpha=0.05`` gives the
        95% interval.
        """
        if method not in CI_METHODS:
            raise ValueError(f"method must be one of {CI_METHODS}, got {method!r}")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        se = self.matched.se if method == "psmatch2" else self.se_ai
        half = stats.norm.ppf(1.0 - alpha / 2) * se
        return (self.matched.difference - half, self.matched.difference + half)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per sample (Unmatched, ATT, ATU, ATE) plus the AI row."""
        rows = [self.unmatched, *self.rows.values()]
        m = self.matched
        ai = EffectRow.build(f"{self.estimand} (AI)", m.treated, m.control, m.difference,
                             self.se_ai, None, m.n_treated, m.n_control, self.ai_method)
        frame = pd.DataFrame([vars(r) for r in [*rows, ai]]).set_index("sample")
        frame.insert(0, "outcome", self.outcome)
        return frame

    def summary(self) -> Summary:
        """The psmatch2 table, the Abadie-Imbens SE and the treated x support counts, as a
        :class:`~psm.summary.Summary` (text: :func:`psmatch2_table`'s layout; tables: the same numbers)."""
        return Summary(f"Effect of the treatment on {self.outcome}", effect_tables([self]),
                       text=psmatch2_table([self]))


# ---------------------------------------------------------------------------- api


def effect(
    data: pd.DataFrame,
    outcome: Hashable | pd.Series,
    matching,
    estimand: str = "ATT",
    *,
    approx_se: str = "v4.0.12",
    ai_var_calc: int = 0,
    ai_sample: bool = False,
    dropna: bool = False,
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
        With ``dropna=True`` they are dropped and the matching is re-run on the remaining
        rows with the same options -- psmatch2 deletes listwise *before* matching.
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
    y, matching, dropped = _outcome_on_matching(data, y_full, matching, dropna)
    frame = _MatchedFrame.from_matching(matching, numeric_values(y))
    rows = _psmatch2_rows(frame, matching, y, _AVAILABLE[matching.estimand], approx_se)
    se_ai = _abadie_imbens_se(frame, estimand, var_calc=int(ai_var_calc), sample=ai_sample)
    return Effect(
        outcome=name,
        estimand=estimand,
        unmatched=_unmatched_row(frame.y, frame.treated),
        rows=rows,
        se_ai=se_ai,
        ai_method=_ai_method(int(ai_var_calc), ai_sample),
        approx_se=approx_se,
        n_on_support=frame.counts(on_support=True),
        n_off_support=frame.counts(on_support=False),
        n_dropped=len(dropped),
        dropped=tuple(dropped),
    )


# ------------------------------------------------------------------ sample / data


def _outcome_on_matching(data, y_full: pd.Series, matching, dropna: bool):
    """The outcome over the matching's rows; missing values raise or trigger a re-match."""
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
        matching = _rematch(matching, index.isin(kept.index))
        y_full = y_full.loc[matching.treated.index]
    return y_full, matching, list(dropped)


def _rematch(matching, keep: np.ndarray):
    """Re-run the matching on the rows in ``keep`` with the same options (listwise deletion)."""
    from psm.matching import match

    treated = matching.treated[keep]
    frame = pd.DataFrame({treated.name: treated.astype(int)}, index=treated.index)
    options = {
        k: getattr(matching, k)
        for k in ("k", "replace", "caliper", "common_support", "ties", "order", "seed", "estimand", "descending")
    }
    return match(frame, treated.name, matching.score[keep], **options)


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
        pairs = matching.pairs
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
        used = ~frame.treated & (w > 0)
        if approx_se == "v4.0.12":
            var0, wtot = _var(frame.y[used]), np.sum(w[~frame.treated] ** 2)
        else:
            var0, wtot = _var(frame.y[C]), np.sum(w[C] ** 2)
        se = np.sqrt(var1 / n1 + var0 * wtot / n1**2)
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


# ------------------------------------------------------------------ Abadie-Imbens


def _abadie_imbens_se(frame: _MatchedFrame, estimand: str, *, var_calc: int = 0, sample: bool = False) -> float:
    """Abadie-Imbens (2006) SE of ``estimand`` from a matching's pairs (see module docstring)."""
    parts = [frame.direction(name) for name in _DIRECTIONS[estimand]]
    focal, other, w, d = (np.concatenate(a) for a in zip(*parts))
    n = len(frame.y)
    sn = w.sum()
    est = np.sum(w * d) / sn
    tau = np.bincount(focal, weights=w * d, minlength=n)
    is_focal = np.bincount(focal, weights=w, minlength=n) > 0
    k = np.bincount(other, weights=w, minlength=n)
    kk = np.bincount(other, weights=w * w, minlength=n)
    if var_calc == 0:
        sigma2 = np.full(n, 0.5 * np.sum(w * (d - est) ** 2) / sn)
    else:
        sigma2 = _same_arm_variance(frame.score, frame.y, frame.treated, frame.on_support, var_calc)
    used = is_focal | (k > 0)  # sigma2 of other units is multiplied by zero
    if sample:
        var = np.sum(sigma2[used] * (is_focal[used] + k[used]) ** 2) / sn**2
    else:
        c = 2.0 if estimand == "ATE" else 0.0
        var = (np.sum((tau[is_focal] - est) ** 2) + np.sum(sigma2[used] * (k**2 + c * k - kk)[used])) / sn**2
    return float(np.sqrt(var))


def _same_arm_variance(score, y, treated, pool, j: int) -> np.ndarray:
    """sigma^2_i: sample variance of Y_i and its ``j`` nearest same-arm units on ``score``.

    Units at exactly the j-th smallest distance are all included (R Matching's
    ``Var.calc`` loop with ``tolerance=0``). Only units in ``pool`` take part; NaN elsewhere.
    Sorted search: the j nearest lie within j positions either side in score order; the
    included set is a contiguous run of the sorted arm, so prefix sums give its variance.
    """
    out = np.full(len(y), np.nan)
    for arm in (True, False):
        idx = np.flatnonzero(pool & (treated == arm))
        if len(idx) <= j:
            group = "treated" if arm else "control"
            raise ValueError(f"ai_var_calc={j} needs more than {j} {group} units on support, found {len(idx)}")
        order = np.argsort(score[idx], kind="stable")
        out[idx[order]] = _run_variance(score[idx][order], y[idx][order], j)
    return out


def _run_variance(s: np.ndarray, ys: np.ndarray, j: int) -> np.ndarray:
    m = len(s)
    pos = np.arange(m)
    offsets = np.r_[np.arange(-j, 0), np.arange(1, j + 1)]
    nb = pos[:, None] + offsets[None, :]
    valid = (nb >= 0) & (nb < m)
    nbc = np.clip(nb, 0, m - 1)
    dist = np.where(valid, np.abs(s[nbc] - s[:, None]), np.inf)
    dmax = np.partition(dist, j - 1, axis=1)[:, j - 1]
    within = dist <= dmax[:, None]
    left, right = within[:, :j], within[:, j:]
    far_left = nbc[pos, left.argmax(axis=1)]
    far_right = nbc[pos, j + (j - 1 - right[:, ::-1].argmax(axis=1))]
    lo = np.where(left.any(axis=1), np.searchsorted(s, s[far_left], side="left"), pos)
    hi = np.where(right.any(axis=1), np.searchsorted(s, s[far_right], side="right"), pos + 1)
    yc = ys - ys.mean()
    c1 = np.r_[0.0, np.cumsum(yc)]
    c2 = np.r_[0.0, np.cumsum(yc * yc)]
    cnt = hi - lo
    s1 = c1[hi] - c1[lo]
    return np.maximum((c2[hi] - c2[lo]) - s1 * s1 / cnt, 0.0) / (cnt - 1)


def _ai_method(var_calc: int, sample: bool) -> str:
    sigma = "homoskedastic, Var.calc=0" if var_calc == 0 else f"heteroskedastic, Var.calc={var_calc}"
    return f"Matching::Match {sigma}, {'sample' if sample else 'population'} variance"


# ------------------------------------------------------------------------ printing


def _two_sided_p(t: float, df: float | None) -> float:
    if not np.isfinite(t):
        return np.nan
    dist = stats.norm if df is None else stats.t(df)
    return float(2 * dist.sf(abs(t)))


def effect_tables(effects: list[Effect]) -> list[SummaryTable]:
    """The tables behind :func:`psmatch2_table`: every outcome's rows (``to_frame``, AI row included)
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
