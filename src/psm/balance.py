"""Covariate balance before and after matching: Stata ``pstest`` to the formula, plus cobalt-style statistics.

Source of every pstest formula: ``pstest.ado`` version 4.2.2 (Leuven & Sianesi, 25 Apr 2017; statistics
unchanged since 4.1.0), programs ``breduc`` (the ``both`` table) and the probit / Rubin blocks; line
numbers below refer to that file as summarised in ``methodology.md`` section 2. The cobalt statistics
follow cobalt 5.0.0 (``col_w_smd``, ``col.w.v``, ``col_w_ks``) and MatchIt's ``qqsum(standardize=TRUE)``.

Two samples, exactly as pstest builds them:

* **U** (unmatched): every row of ``data``; all statistics unweighted.
* **M** (matched): rows on support with a positive matching weight. The reference group's weight is its
  support indicator (``replace mweight = support if treated==1``; with ``estimand="ATU"`` the controls),
  the other group's weight is the matching weight (psmatch2 ``_weight``: frequency of use, or
  1/#matches sums with ties or k neighbours). All M statistics use Stata *importance weights*:

  - mean  ``m = sum(w x) / W``, with ``W = sum(w)`` (weights not normalised),
  - variance ``v = sum(w (x - m)^2) / (W - 1)``,
  - regression with ``W`` playing the role of the number of observations, residual df ``W - k``.

Per covariate (``breduc``, l.197-303):

* standardised %bias ``B = 100 (m1 - m0) / sqrt((v1U + v0U) / 2)`` -- the denominator always uses the
  **unmatched** variances, also for the matched row (Rosenbaum & Rubin 1985); binary covariates use the
  ordinary n-1 variance;
* %reduct ``100 (1 - |B_M| / |B_U|)``;
* t-test: OLS of x on the treatment dummy (``regress x treated``; matched: ``[iw=weight]``), i.e.
  ``t = (m1 - m0) / sqrt(s2 (1/W1 + 1/W0))``, ``s2 = sum(w e^2) / (W - 2)``, two-sided p from Student's t
  with ``W - 2`` df;
* variance ratio ``v1 / v0`` for non-binary covariates only (binary = every value 0 or 1), flagged when
  outside ``[F_.025, F_.975]`` of ``F(N1 - 1, N1 - 1)``, N1 = number of treated (U) / treated on
  support (M) (Austin 2009).

Summary rows (l.158-172, 316-373): probit of treatment on the covariates (always probit), unweighted on U
and ``[iw=weight]`` on M, giving McFadden's pseudo-R2 ``1 - ll/ll0``, the LR chi2 ``2 (ll - ll0)`` and its
p-value; mean and median ``|bias|``; Rubin's ``B = 100 (mean_T(xb) - mean_C(xb)) / sqrt((var_T + var_C)/2)``
and ``R = var_T(xb) / var_C(xb)`` on that probit's linear index ``xb`` (M: iweighted). B is **signed**,
as the code computes it (the help file calls it "absolute"), and flagged when ``B >= 25`` (a large
negative B is therefore not flagged, as in pstest; at the probit optimum the treated normally have the
higher mean index, so a negative B is rare in practice); R is flagged outside ``[0.5, 2]``. ``%Var`` is the
percentage of non-binary covariates whose variance ratio is flagged.

cobalt-style statistics (cobalt 5.0.0; ``methodology.md`` section 4.3):

* SMD ``(m1 - m0) / s`` with ``s`` from the unmatched sample chosen by the estimand (ATT: treated SD,
  ATU: control SD, or ``sd_denom="pooled"``: ``sqrt((s1^2 + s0^2)/2)``); binary covariates report the raw
  difference in proportions (cobalt ``binary = "raw"``);
* variance ratio with cobalt's weighted variance ``sum(u (x - m)^2) / (1 - sum(u^2))``, ``u = w / W``
  (equals the n-1 variance when unweighted); not computed for binary covariates;
* eCDF mean and max (= Kolmogorov-Smirnov) differences: each group's weights normalised to sum 1,
  ``|F1(x) - F0(x)|`` evaluated at every distinct value of the compared sample, then its mean and max
  (MatchIt ``qqsum(standardize = TRUE)``, cobalt ``col_w_ks``); binary covariates: ``|p1 - p0|``.

Values that pstest would print as missing (a zero denominator) are NaN here.

Computation: the covariates are held once as a float matrix and processed a column at a time (each
statistic is a weighted sum over rows, so no temporary is larger than one column); the sums of squares
about each group's mean give the variances, the t-test's ``s2 = (SS1 + SS0) / (W - 2)`` and cobalt's
variance ``SS / W / (1 - sum(w^2) / W^2)``; a non-binary column's distinct values are found once
(``np.unique``) and both samples' eCDFs are running sums of the weights summed per distinct value. The probits are statsmodels' ``GLM(..., Binomial(Probit()), freq_weights=w).fit()`` iteration for
iteration (:func:`psm._binary_mle.irls`); collinear covariates are found from the same ``X'WX``. The
text renderers live in :mod:`psm._balance_render`, the probit refit in :mod:`psm._balance_probit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from psm._balance_inputs import (
    Design,
    Samples,
    expand_covariates,
    resolve_estimand,
    resolve_samples,
)
from psm._balance_probit import ProbitRefit, probit_refit
from psm._balance_render import BalanceRendering
from psm._binary_mle import one_blas_thread
from psm._validation import check_covariate_values

__all__ = ["BalanceTable", "ProbitRefit", "balance"]

Estimand = Literal["ATT", "ATU"]
SAMPLES = ("unmatched", "matched")
_SD_DENOMS = ("treated", "control", "pooled")

PSTEST_COLUMNS = (
    "binary",
    "mean_treated_unmatched",
    "mean_control_unmatched",
    "mean_treated_matched",
    "mean_control_matched",
    "pct_bias_unmatched",
    "pct_bias_matched",
    "pct_reduction",
    "t_unmatched",
    "p_unmatched",
    "t_matched",
    "p_matched",
    "var_ratio_unmatched",
    "var_ratio_matched",
    "var_ratio_flag_unmatched",
    "var_ratio_flag_matched",
)
COBALT_COLUMNS = (
    "smd_unmatched",
    "smd_matched",
    "var_ratio_cobalt_unmatched",
    "var_ratio_cobalt_matched",
    "ecdf_mean_unmatched",
    "ecdf_mean_matched",
    "ecdf_max_unmatched",
    "ecdf_max_matched",
)


# --------------------------------------------------------------------------------------------------
# weighted arithmetic (Stata iweight conventions)


def _divide(num: Any, den: Any) -> Any:
    """``num / den`` with NaN where ``den`` is 0 (Stata: division by zero is missing)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)
    return out if out.ndim else float(out)


@dataclass(frozen=True)
class _GroupMoments:
    """One column in one weighted group: ``W = sum(w)``, ``mean = sum(w x) / W``, ``SS = sum(w (x - mean)^2)``."""

    total: float
    mean: float
    ss: float

    @property
    def var(self) -> float:
        """Stata iweighted variance ``SS / (W - 1)``."""
        return _divide(self.ss, self.total - 1.0)


def _moments(x: np.ndarray, w: np.ndarray, total: float, scratch: np.ndarray | None = None) -> _GroupMoments:
    """Moments of ``x`` under weights ``w`` (summing to ``total``); ``scratch``, if given, holds ``(x - mean)^2``."""
    mean = _divide(w @ x, total)
    centred = np.subtract(x, mean, out=scratch)
    return _GroupMoments(total, mean, float(w @ np.multiply(centred, centred, out=centred)))


def iweighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and variance of ``x`` (one column) with Stata importance weights ``w``.

    ``mean = sum(w x) / W`` and ``var = sum(w (x - mean)^2) / (W - 1)``, ``W = sum(w)`` (Stata
    [R] summarize, Methods and formulas, iweights). With ``w = 1`` these are the ordinary mean and n-1
    variance.
    """
    m = _moments(x, w, float(w.sum()))
    return m.mean, m.var


def dummy_regression_t(g1: _GroupMoments, g0: _GroupMoments) -> tuple[float, float, float]:
    """t statistic, two-sided p and residual df of ``regress x treated [iw=w]`` from the two groups' moments.

    The regression on a constant and a 0/1 dummy has coefficient ``m1 - m0`` (weighted group means) and,
    with importance weights, residual variance ``s2 = sum(w e^2) / (W - 2) = (SS1 + SS0) / (W - 2)`` and
    ``se = sqrt(s2 (1/W1 + 1/W0))``; df = ``W - 2`` (pstest l.293-299). p = ``2 * P(T_df > |t|)``.
    """
    df = g1.total + g0.total - 2.0
    s2 = _divide(g1.ss + g0.ss, df)
    se = np.sqrt(s2 * (_divide(1.0, g1.total) + _divide(1.0, g0.total)))
    t = _divide(g1.mean - g0.mean, se)
    p = float(2.0 * stats.t.sf(abs(t), df)) if df > 0 else float("nan")
    return t, p, df


def _cobalt_variance(g: _GroupMoments, sum_w2: float) -> float:
    """cobalt ``col.w.v``: ``sum(u (x - m)^2) / (1 - sum(u^2))``, ``u = w / W``.

    That is ``SS / W / (1 - sum(w^2) / W^2)`` from the group's sum of squares about its mean.
    """
    return _divide(g.ss / g.total, 1.0 - sum_w2 / g.total**2)


def ecdf_differences(
    codes: np.ndarray, distinct: int, signed: np.ndarray, w: np.ndarray | None
) -> tuple[float, float]:
    """Mean and max of ``|F1 - F0|`` over the distinct values of ``x`` present in the sample.

    ``codes`` numbers each unit's value in ``range(distinct)``, in the order of ``x`` and equal for equal
    values (see :func:`_distinct_codes`), ``signed`` is each unit's signed normalised weight (``w / W1``
    for the treated, ``-w / W0`` for the controls, 0 outside the sample) and ``w`` the sample's weights.
    The weighted eCDF gap at a value is the sum of the signed weights of the units at or below it: the
    running sum of the per-value sums, read at the values some unit of the sample takes (MatchIt
    ``qqsum(standardize=TRUE)``; the max is cobalt's KS). No sort of the units is needed.
    """
    gaps = np.abs(np.cumsum(np.bincount(codes, weights=signed, minlength=distinct)))
    gaps = gaps[np.bincount(codes, weights=w, minlength=distinct) > 0]
    return float(gaps.mean()), float(gaps.max())


# --------------------------------------------------------------------------------------------------
# Rubin's B and R (pstest l.341-366) on the index of the probit refit (psm._balance_probit)


def rubin_b_r(index: np.ndarray, treated: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Rubin's B (signed, in %) and R on the linear index, iweighted by ``w`` (pstest l.341-366)."""
    m1, v1 = iweighted_mean_var(index, np.where(treated, w, 0.0))
    m0, v0 = iweighted_mean_var(index, np.where(treated, 0.0, w))
    b = 100.0 * _divide(m1 - m0, np.sqrt((v1 + v0) / 2.0))
    return float(b), float(_divide(v1, v0))


# --------------------------------------------------------------------------------------------------
# the table


def _variance_ratio_bounds(n_treated: int) -> tuple[float, float]:
    """``[F_.025, F_.975]`` of ``F(N1 - 1, N1 - 1)`` (pstest l.113-119)."""
    dfn = n_treated - 1
    if dfn < 1:
        return float("nan"), float("nan")
    return float(stats.f.ppf(0.025, dfn, dfn)), float(stats.f.ppf(0.975, dfn, dfn))


@dataclass(frozen=True)
class _SampleWeights:
    """One sample's weights split by group, the totals every column shares, each unit's signed eCDF
    weight (``w / W1`` treated, ``-w / W0`` controls) and the sample's weights (None when all are 1)."""

    w1: np.ndarray
    w0: np.ndarray
    total1: float
    total0: float
    sum_sq1: float
    sum_sq0: float
    signed: np.ndarray
    weights: np.ndarray | None

    @classmethod
    def of(cls, treated: np.ndarray, w: np.ndarray | None) -> _SampleWeights:
        w1 = treated.astype(float) if w is None else np.where(treated, w, 0.0)
        w0 = np.subtract(1.0, w1) if w is None else np.subtract(w, w1)  # exact: w - w or w - 0
        total1, total0 = float(w1.sum()), float(w0.sum())
        signed = w1 / total1 - w0 / total0  # each unit is in one group: the other term is an exact 0
        return cls(w1, w0, total1, total0, float(w1 @ w1), float(w0 @ w0), signed, w)


def _column_statistics(
    x: np.ndarray, distinct: tuple[np.ndarray, int] | None, sw: _SampleWeights, scratch: np.ndarray
) -> tuple[_GroupMoments, _GroupMoments, float, float, float, tuple[float, float]]:
    """Moments of both groups, the t-test, cobalt's variance ratio and the eCDF differences of one column.

    ``distinct`` is each unit's code for its value of ``x`` and the number of codes (None for a binary
    column, whose eCDF differences are ``|p1 - p0|``); ``scratch`` is a work array as long as ``x``.
    """
    g1, g0 = _moments(x, sw.w1, sw.total1, scratch), _moments(x, sw.w0, sw.total0, scratch)
    t, p, _ = dummy_regression_t(g1, g0)
    var_ratio_cobalt = _divide(_cobalt_variance(g1, sw.sum_sq1), _cobalt_variance(g0, sw.sum_sq0))
    if distinct is None:
        ecdf = (abs(g1.mean - g0.mean),) * 2
    else:
        ecdf = ecdf_differences(*distinct, sw.signed, sw.weights)
    return g1, g0, t, p, var_ratio_cobalt, ecdf


def _distinct_codes(x: np.ndarray) -> tuple[np.ndarray, int]:
    """A code per unit that orders as ``x`` does and is equal exactly for equal values, and the number of
    codes (codes no unit takes get no weight and are skipped by the eCDF).

    Values recorded to at most three decimals (years, months to one decimal, amounts in cents) whose
    range spans fewer steps than there are units are coded ``round(x 10^d) - min`` with the fewest such
    ``d``, found without a sort: when ``round(x 10^d) / 10^d`` gives back every ``x``, the map is one to one
    and increasing. Other columns are coded by their rank among the distinct values (``np.unique``).
    """
    head = x[:1000]
    for scale in (1.0, 10.0, 100.0, 1000.0):
        if not np.array_equal(np.rint(head * scale) / scale, head):
            continue  # a first look, so that continuous columns cost little here
        scaled = np.rint(x * scale)
        low, high = scaled.min(), scaled.max()
        if high - low < len(x) and np.array_equal(scaled / scale, x):
            return (scaled - low).astype(np.intp), int(high - low) + 1
    values, codes = np.unique(x, return_inverse=True)
    return codes, len(values)


def _per_covariate(design: Design, s: Samples, sd_denom: str) -> tuple[pd.DataFrame, dict]:
    samples = {
        "unmatched": _SampleWeights.of(s.treated, None),
        "matched": _SampleWeights.of(s.treated, s.weight),
    }
    bounds = {
        "unmatched": _variance_ratio_bounds(int(s.treated.sum())),
        "matched": _variance_ratio_bounds(int((s.treated & s.on_support).sum())),
    }
    rows, scratch = [], np.empty(len(s.treated))
    for j in range(len(design.columns)):
        x = design.column(j)
        binary = bool(np.all((x == 0) | (x == 1)))
        distinct = None if binary else _distinct_codes(x)
        stats_u, stats_m = (_column_statistics(x, distinct, samples[k], scratch) for k in SAMPLES)
        g1u, g0u = stats_u[0], stats_u[1]
        bias_den = np.sqrt((g1u.var + g0u.var) / 2.0)
        smd_den = {"treated": np.sqrt(g1u.var), "control": np.sqrt(g0u.var), "pooled": bias_den}[sd_denom]
        row: dict[str, Any] = {"binary": binary}
        for sample, (g1, g0, t, p, vr_cobalt, (ecdf_mean, ecdf_max)) in zip(SAMPLES, (stats_u, stats_m)):
            diff = g1.mean - g0.mean
            vr = np.nan if binary else _divide(g1.var, g0.var)
            lo, hi = bounds[sample]
            row[f"mean_treated_{sample}"] = g1.mean
            row[f"mean_control_{sample}"] = g0.mean
            row[f"pct_bias_{sample}"] = 100.0 * _divide(diff, bias_den)
            row[f"t_{sample}"], row[f"p_{sample}"] = t, p
            row[f"var_ratio_{sample}"] = vr
            row[f"var_ratio_flag_{sample}"] = False if binary else bool((vr < lo) | (vr > hi))
            row[f"smd_{sample}"] = diff if binary else _divide(diff, smd_den)
            row[f"var_ratio_cobalt_{sample}"] = np.nan if binary else vr_cobalt
            row[f"ecdf_mean_{sample}"], row[f"ecdf_max_{sample}"] = ecdf_mean, ecdf_max
        row["pct_reduction"] = 100.0 * (
            1.0 - _divide(abs(row["pct_bias_matched"]), abs(row["pct_bias_unmatched"]))
        )
        rows.append(row)
    table = pd.DataFrame(rows, index=pd.Index(design.columns, name="covariate"))
    return table[list(PSTEST_COLUMNS) + list(COBALT_COLUMNS)], bounds


def _summary_rows(
    table: pd.DataFrame, design: Design, s: Samples
) -> tuple[pd.DataFrame, dict[str, ProbitRefit]]:
    ones = np.ones(len(s.treated))
    probits: dict[str, ProbitRefit] = {}
    rows = {}
    probit_design = design.without_base_levels()
    table = table.loc[list(probit_design.columns)]  # pstest's rows: base levels omitted
    continuous = ~table["binary"].to_numpy()
    for sample, w in (("unmatched", ones), ("matched", s.weight)):
        fit = probit_refit(probit_design, s.treated, w, sample)
        probits[sample] = fit
        abs_bias = table[f"pct_bias_{sample}"].abs()
        b, r = rubin_b_r(np.nan_to_num(fit.index), s.treated, w) if not fit.separated else (np.nan, np.nan)
        flags = table[f"var_ratio_flag_{sample}"].to_numpy()[continuous]
        rows[sample] = {
            "pseudo_r2": fit.pseudo_r2,
            "lr_chi2": fit.lr_chi2,
            "lr_df": fit.df,
            "p_chi2": fit.p_chi2,
            "mean_abs_bias": abs_bias.mean(),
            "median_abs_bias": abs_bias.median(),
            "rubin_b": b,
            "rubin_r": r,
            "rubin_b_flag": bool(b >= 25),
            "rubin_r_flag": bool(not 0.5 <= r <= 2) if np.isfinite(r) else False,
            "pct_var_flagged": 100.0 * flags.mean() if flags.size else np.nan,
        }
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.name = "sample"
    return summary, probits


def _sample_sizes(s: Samples) -> pd.DataFrame:
    matched = s.weight > 0
    sizes = {
        "unmatched": {
            "n_treated": int(s.treated.sum()),
            "n_control": int((~s.treated).sum()),
            "sum_w_treated": float(s.treated.sum()),
            "sum_w_control": float((~s.treated).sum()),
        },
        "matched": {
            "n_treated": int((matched & s.treated).sum()),
            "n_control": int((matched & ~s.treated).sum()),
            "sum_w_treated": float(s.weight[s.treated].sum()),
            "sum_w_control": float(s.weight[~s.treated].sum()),
        },
    }
    out = pd.DataFrame.from_dict(sizes, orient="index")
    out.index.name = "sample"
    return out


def balance(
    data: pd.DataFrame,
    covariates: Sequence[str],
    matching_or_weights: Any,
    *,
    treatment: str | pd.Series | None = None,
    on_support: str | pd.Series | None = None,
    estimand: str | None = None,
    categorical: Literal["dummies", "numeric"] = "dummies",
    factors: Sequence[str] | None = None,
    levels: Literal["all", "omit_base"] = "all",
    sd_denom: Literal["treated", "control", "pooled"] | None = None,
    reference_weight: Literal["support", "given"] = "support",
    labels: Mapping[str, str] | None = None,
) -> BalanceTable:
    """Balance of ``covariates`` before and after matching, as Stata's ``pstest, both`` computes it.

    Parameters
    ----------
    data
        One row per unit; every row is in the unmatched (U) sample.
    covariates
        Column names. Covariates with missing values raise :class:`~psm.errors.MissingValuesError`
        (drop those rows first, as psmatch2's estimation sample does); constant ones raise
        :class:`~psm.errors.ConstantCovariateError`.
    matching_or_weights
        A ``Matching`` (anything with ``.treated``, ``.on_support``, ``.weights`` aligned to
        ``data.index``), or a weights Series aligned to ``data.index`` (psmatch2 ``_weight``; NaN and 0
        both mean "not in the matched sample").
    treatment
        Column name or 0/1 Series; required with a weights Series, overrides ``.treated`` otherwise.
    on_support
        Boolean Series (psmatch2 ``_support``). Default with a weights Series: a reference unit is on
        support when its weight is positive; other units are on support.
    estimand
        ``"ATT"`` (pstest default: the treated are the reference group) or ``"ATU"`` (pstest ``atu``:
        the controls). Default: the Matching's estimand when it is ATU, else ATT (also for an ATE
        matching, as pstest without ``atu``). It also picks cobalt's SMD denominator.
    categorical
        ``"dummies"``: each factor enters as one 0/1 column per level; ``"numeric"``: factors keep their
        numeric coding (e.g. offence type 1/2/3).
    factors
        Covariates to treat as categorical; default: those with a non-numeric dtype.
    levels
        ``"all"`` (default, as cobalt and MatchIt): the table has a row for every level of a factor,
        its base (lowest) level included, so the balance of every category is in view. ``"omit_base"``:
        the base level's row is left out, as pstest lists ``i.var``. Either way the summary block is
        pstest's: its probit (pseudo-R2, LR chi2, Rubin's B and R) leaves the base level out, as the
        constant already spans it, and mean/median ``|bias|`` and %Var are taken over the same rows, so the
        summary does not depend on this option.
    sd_denom
        cobalt SMD denominator: ``"treated"`` (default for ATT), ``"control"`` (ATU) or ``"pooled"``.
    reference_weight
        ``"support"`` (pstest): the reference group's weight is replaced by its support indicator;
        ``"given"``: use the supplied weights for both groups (e.g. weights made elsewhere).
    labels
        Display names for covariates (used by the renderers and the plots), like pstest's ``label``.

    Returns
    -------
    BalanceTable

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> covariates = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
    >>> m = psm.match(df, "treat", psm.fit_propensity(df, "treat", covariates, link="logit"), ties=True)
    >>> bal = psm.balance(df, covariates, m)
    >>> [c for c in bal.table.index if c.startswith("race")]      # every level, the base included
    ['race=black', 'race=hispan', 'race=white']
    >>> bal.table.loc["race=black", ["pct_bias_unmatched", "pct_bias_matched"]].round(1).tolist()
    [166.8, 1.4]
    >>> round(float(bal.summary_stats.loc["matched", "mean_abs_bias"]), 1)
    5.1
    """
    covariates = list(covariates)
    if not covariates:
        raise ValueError("balance needs at least one covariate")
    check_covariate_values(data, covariates, factors or (), select=True)  # unknown names, inf, text numbers
    estimand = resolve_estimand(matching_or_weights, estimand)
    sd_denom = sd_denom or {"ATT": "treated", "ATU": "control"}[estimand]
    if sd_denom not in _SD_DENOMS:
        raise ValueError(f"sd_denom must be one of {_SD_DENOMS}, got {sd_denom!r}")
    design = expand_covariates(data, covariates, categorical, factors, levels)
    samples = resolve_samples(data, matching_or_weights, treatment, on_support, estimand, reference_weight)
    with one_blas_thread(len(data)):  # every product here is a pass over columns, bound by memory
        table, bounds = _per_covariate(design, samples, sd_denom)
        summary, probits = _summary_rows(table, design, samples)
    return BalanceTable(
        table=table,
        summary_stats=summary,
        sample_sizes=_sample_sizes(samples),
        var_ratio_bounds=pd.DataFrame.from_dict(bounds, orient="index", columns=["lower", "upper"]),
        probit=probits,
        estimand=estimand,
        sd_denom=sd_denom,
        categorical=categorical,
        source=design.source,
        labels=dict(labels or {}),
        base_levels=design.base_levels,
    )


# --------------------------------------------------------------------------------------------------
# result object (its renderers: psm._balance_render)


@dataclass(frozen=True, repr=False)
class BalanceTable(BalanceRendering):
    """Result of :func:`balance`.

    Attributes
    ----------
    table
        One row per (expanded) covariate: the pstest statistics (``PSTEST_COLUMNS``) and the
        cobalt-style ones (``COBALT_COLUMNS``). Use :meth:`to_frame` for a copy.
    summary_stats
        Rows ``unmatched`` / ``matched``: ``pseudo_r2``, ``lr_chi2``, ``lr_df``, ``p_chi2``,
        ``mean_abs_bias``, ``median_abs_bias``, ``rubin_b``, ``rubin_r`` (+ their pstest flags) and
        ``pct_var_flagged`` (pstest ``%Var``).
    sample_sizes
        Units and weight totals of treated and controls in each sample.
    var_ratio_bounds
        The F bounds used to flag variance ratios, per sample.
    probit
        The two ``ProbitRefit`` fits.
    base_levels
        Rows that are a factor's base level (shown, but left out of the probit and of the summary block).
    """

    table: pd.DataFrame
    summary_stats: pd.DataFrame
    sample_sizes: pd.DataFrame
    var_ratio_bounds: pd.DataFrame
    probit: dict[str, ProbitRefit]
    estimand: str
    sd_denom: str
    categorical: str
    source: dict[str, str]
    labels: dict[str, str]
    base_levels: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"<BalanceTable: {len(self.table)} covariates, estimand={self.estimand}, "
            f"mean |bias| {self.summary_stats.loc['unmatched', 'mean_abs_bias']:.1f} -> "
            f"{self.summary_stats.loc['matched', 'mean_abs_bias']:.1f}>"
        )

    def to_frame(self, cobalt: bool = False) -> pd.DataFrame:
        """Tidy copy: one row per covariate, pstest columns (and the cobalt ones with ``cobalt=True``)."""
        columns = list(PSTEST_COLUMNS) + (list(COBALT_COLUMNS) if cobalt else [])
        return self.table[columns].copy()
