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
p-value; mean and median |bias|; Rubin's ``B = 100 (mean_T(xb) - mean_C(xb)) / sqrt((var_T + var_C)/2)``
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
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from psm._format import stata_g
from psm._validation import missing_rows, resolve_column, select_columns, treatment_indicator
from psm.errors import (
    ConstantCovariateError,
    CovariateTypeError,
    EmptyGroupError,
    InvalidWeightsError,
    MissingValuesError,
)

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


def iweighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and variances of ``x`` (n x p) with Stata importance weights ``w`` (n).

    ``mean = sum(w x) / W`` and ``var = sum(w (x - mean)^2) / (W - 1)``, ``W = sum(w)`` (Stata
    [R] summarize, Methods and formulas, iweights). With ``w = 1`` these are the ordinary mean and n-1
    variance.
    """
    total = w.sum()
    mean = _divide(w @ x, total)
    var = _divide(w @ (x - mean) ** 2, total - 1.0)
    return np.atleast_1d(mean), np.atleast_1d(var)


def dummy_regression_t(
    x: np.ndarray, treated: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """t statistic, two-sided p and residual df of ``regress x treated [iw=w]`` for each column of ``x``.

    The regression on a constant and a 0/1 dummy has coefficient ``m1 - m0`` (weighted group means) and,
    with importance weights, residual variance ``s2 = sum(w e^2) / (W - 2)`` and
    ``se = sqrt(s2 (1/W1 + 1/W0))``; df = ``W - 2`` (pstest l.293-299). p = ``2 * P(T_df > |t|)``.
    """
    w1, w0 = w * treated, w * ~treated
    m1, _ = iweighted_mean_var(x, w1)
    m0, _ = iweighted_mean_var(x, w0)
    fitted = np.where(treated[:, None], m1, m0)
    df = float(w.sum() - 2.0)
    s2 = _divide(w @ (x - fitted) ** 2, df)
    se = np.sqrt(s2 * (_divide(1.0, w1.sum()) + _divide(1.0, w0.sum())))
    t = np.atleast_1d(_divide(m1 - m0, se))
    p = 2.0 * stats.t.sf(np.abs(t), df) if df > 0 else np.full_like(t, np.nan)
    return t, p, df


def _cobalt_variance(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """cobalt ``col.w.v``: ``sum(u (x - m)^2) / (1 - sum(u^2))`` with ``u = w / sum(w)``."""
    u = w / w.sum()
    mean = u @ x
    return np.atleast_1d(_divide(u @ (x - mean) ** 2, 1.0 - (u**2).sum()))


def ecdf_differences(x: np.ndarray, treated: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and max of ``|F1 - F0|`` over the distinct values of ``x`` among units with ``w > 0``.

    Each group's weights are normalised to sum 1; the weighted eCDF gap is evaluated at the last
    position of each run of tied values (MatchIt ``qqsum(standardize=TRUE)``; the max is cobalt's KS).
    """
    keep = w > 0
    x, treated, w = x[keep], treated[keep], w[keep]
    signed = np.where(treated, w / w[treated].sum(), -w / w[~treated].sum())
    order = np.argsort(x, kind="stable")
    gaps = np.abs(np.cumsum(signed[order]))
    last_of_run = np.r_[np.diff(x[order]) != 0, True]
    gaps = gaps[last_of_run]
    return float(gaps.mean()), float(gaps.max())


# --------------------------------------------------------------------------------------------------
# probit refit (pstest l.158-172) and Rubin's B and R (l.341-366)


@dataclass(frozen=True)
class ProbitRefit:
    """The probit pstest fits on one sample: ``probit treated covariates [iw=w]``.

    ``pseudo_r2 = 1 - llf / llnull`` (Stata ``e(r2_p)``), ``lr_chi2 = 2 (llf - llnull)`` with ``df``
    regressors (Stata ``e(chi2)``, ``e(df_m)``), ``p_chi2 = P(chi2_df > lr_chi2)``. ``index`` is the linear
    predictor ``xb`` for every row of the sample (NaN for rows outside it). ``omitted`` lists covariates
    dropped as collinear in this sample (Stata's "omitted because of collinearity"). The fit uses
    statsmodels' GLM with a probit link and ``freq_weights=w``, whose log-likelihood
    ``sum(w_i log Phi(q_i x_i'b))`` is Stata's iweighted one.
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


def _independent_columns(x: np.ndarray) -> list[int]:
    """Indices of the columns kept when later collinear columns are dropped (Stata's rule)."""
    kept: list[int] = []
    base = np.ones((x.shape[0], 1))
    for j in range(x.shape[1]):
        trial = np.column_stack([base, x[:, kept + [j]]])
        if np.linalg.matrix_rank(trial) == trial.shape[1]:
            kept.append(j)
    return kept


def probit_refit(x: pd.DataFrame, treated: np.ndarray, w: np.ndarray, sample: str) -> ProbitRefit:
    """Fit pstest's probit on the rows with ``w > 0`` (see :class:`ProbitRefit`)."""
    rows = w > 0
    xs = x.to_numpy(dtype=float)[rows]
    kept = _independent_columns(xs)
    names = [x.columns[j] for j in kept]
    design = sm.add_constant(xs[:, kept], has_constant="add")
    model = sm.GLM(
        treated[rows].astype(float),
        design,
        family=sm.families.Binomial(sm.families.links.Probit()),
        freq_weights=w[rows],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PerfectSeparationWarning)
        result = model.fit()
    separated = any(issubclass(c.category, PerfectSeparationWarning) for c in caught)
    if separated:
        warnings.warn(
            f"pstest probit on the {sample} sample: the covariates predict treatment perfectly "
            "(Stata would drop the separating variables and observations); pseudo-R2, LR chi2 and "
            "Rubin's B and R for this sample are set to NaN.",
            stacklevel=3,
        )
    index = np.full(len(w), np.nan)
    index[rows] = design @ result.params
    params = pd.Series(result.params, index=["_cons", *names])
    nan = float("nan")
    return ProbitRefit(
        llf=nan if separated else float(result.llf),
        llnull=nan if separated else float(result.llnull),
        df=len(kept),
        params=params,
        index=np.full(len(w), np.nan) if separated else index,
        omitted=tuple(c for c in x.columns if c not in names),
        separated=separated,
    )


def rubin_b_r(index: np.ndarray, treated: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Rubin's B (signed, in %) and R on the linear index, iweighted by ``w`` (pstest l.341-366)."""
    m1, v1 = iweighted_mean_var(index[:, None], np.where(treated, w, 0.0))
    m0, v0 = iweighted_mean_var(index[:, None], np.where(treated, 0.0, w))
    b = 100.0 * _divide(m1 - m0, np.sqrt((v1 + v0) / 2.0))
    return float(np.asarray(b).item()), float(np.asarray(_divide(v1, v0)).item())


# --------------------------------------------------------------------------------------------------
# inputs


@dataclass(frozen=True)
class _Design:
    """Expanded covariates (factor levels as 0/1 columns) and where each column came from."""

    x: pd.DataFrame
    source: dict[str, str]  # expanded column -> original covariate


def _is_text_like(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def _expand_covariates(
    data: pd.DataFrame,
    covariates: Sequence[str],
    categorical: str,
    factors: Sequence[str] | None,
) -> _Design:
    """Numeric design: factors become one 0/1 column per observed level, base (first) level skipped.

    Factors are the columns named in ``factors`` (default: every non-numeric covariate). The base is the
    lowest observed level (for a pandas Categorical, its first observed category), as Stata's ``i.``.
    Dummy columns are named ``"<covariate>=<level>"``.
    """
    if categorical not in ("dummies", "numeric"):
        raise ValueError(f"categorical must be 'dummies' or 'numeric', got {categorical!r}")
    factor_set = set(factors) if factors is not None else {c for c in covariates if _is_text_like(data[c])}
    unknown = sorted(factor_set - set(covariates))
    if unknown:
        raise ValueError(f"factors {unknown} are not among the covariates {list(covariates)}")

    rows = missing_rows(data[list(covariates)])
    if rows:
        raise MissingValuesError(rows)
    as_number = [c for c in covariates if (categorical == "numeric" or c not in factor_set)]
    text = [c for c in as_number if _is_text_like(data[c])]
    if text:
        raise CovariateTypeError(
            f"covariate(s) {text} hold text categories and cannot be used as numbers; "
            "pass categorical='dummies' (balance per level) or recode them to numbers first"
        )

    columns: dict[str, pd.Series] = {}
    source: dict[str, str] = {}
    for c in covariates:
        if c in as_number:
            columns[c] = data[c].astype(float)
            source[c] = c
            continue
        col = data[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            levels = [lev for lev in col.cat.categories if (col == lev).any()]
        else:
            levels = sorted(col.unique().tolist())
        for level in levels[1:]:
            name = f"{c}={level}"
            columns[name] = (col == level).astype(float)
            source[name] = c
    x = pd.DataFrame(columns, index=data.index)
    constant = [c for c in x.columns if x[c].nunique() < 2]
    if constant:
        raise ConstantCovariateError(
            f"covariate(s) {constant} take a single value in the data, so balance (and pstest's probit) "
            "is undefined for them; drop them from the covariate list"
        )
    return _Design(x=x, source=source)


def _weights_array(values: pd.Series) -> np.ndarray:
    """Weights as floats; NaN means "not in the matched sample" (psmatch2 ``_weight`` is missing there)."""
    w = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = values.index[(~np.isnan(w) & ((w < 0) | ~np.isfinite(w))) | (np.isnan(w) & values.notna())]
    if len(bad):
        raise InvalidWeightsError(
            f"weights must be finite, non-negative numbers (NaN = not matched); invalid in rows "
            f"{bad[:10].tolist()} ({len(bad)} rows): {values.loc[bad[:10]].tolist()}"
        )
    return np.nan_to_num(w, nan=0.0)


def is_matching(obj: Any) -> bool:
    """Duck-typed ``Matching``: has ``.treated``, ``.on_support`` and ``.weights`` (and is not a Series)."""
    return not isinstance(obj, (pd.Series, pd.DataFrame, np.ndarray)) and all(
        hasattr(obj, a) for a in ("treated", "on_support", "weights")
    )


@dataclass(frozen=True)
class _Samples:
    treated: np.ndarray  # bool, every row (U sample)
    on_support: np.ndarray  # bool
    weight: np.ndarray  # matched-sample iweight; 0 = not in M


def _resolve_samples(
    data: pd.DataFrame,
    matching_or_weights: Any,
    treatment: Any,
    on_support: Any,
    estimand: str,
    reference_weight: str,
) -> _Samples:
    if is_matching(matching_or_weights):
        m = matching_or_weights
        treated_s = resolve_column(data, m.treated if treatment is None else treatment)
        raw_w = resolve_column(data, m.weights)
        support_s = resolve_column(data, m.on_support if on_support is None else on_support)
    else:
        if treatment is None:
            raise TypeError("with a weights Series, pass treatment= (a column name or a 0/1 Series)")
        treated_s = resolve_column(data, treatment)
        raw_w = resolve_column(data, matching_or_weights)
        support_s = None if on_support is None else resolve_column(data, on_support)
    treated = treatment_indicator(treated_s).to_numpy()
    w = _weights_array(raw_w)
    reference = treated if estimand == "ATT" else ~treated
    if support_s is None:  # default: a reference unit is on support when it was matched
        support = np.where(reference, w > 0, True)
    else:
        support = treatment_indicator(support_s).to_numpy()  # 0/1 or False/True, like a treatment
    if reference_weight == "support":  # pstest: replace mweight = support if treated==1 (atu: ==0)
        w = np.where(reference, support.astype(float), w)
    elif reference_weight != "given":
        raise ValueError(f"reference_weight must be 'support' or 'given', got {reference_weight!r}")
    w = np.where(support, w, 0.0)
    for label, mask in (("treated", treated), ("control", ~treated)):
        if not mask.any():
            raise EmptyGroupError(f"no {label} units in the data: balance needs both groups")
        if not (w[mask] > 0).any():
            raise EmptyGroupError(
                f"no {label} units in the matched sample (on support with a positive weight); "
                "check the matching weights and the support indicator"
            )
    return _Samples(treated=treated, on_support=support, weight=w)


def _resolve_estimand(matching_or_weights: Any, estimand: str | None) -> str:
    if estimand is None:  # pstest's reference is the treated unless `atu` is given
        estimand = "ATU" if getattr(matching_or_weights, "estimand", "ATT") in ("ATU", "ATC") else "ATT"
    estimand = {"ATC": "ATU"}.get(str(estimand).upper(), str(estimand).upper())
    if estimand not in ("ATT", "ATU"):
        raise ValueError(
            f"estimand must be 'ATT' (pstest default: treated are the reference) or 'ATU' (pstest `atu`), "
            f"got {estimand!r}"
        )
    return estimand


# --------------------------------------------------------------------------------------------------
# the table


def _group_moments(x: np.ndarray, treated: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    m1, v1 = iweighted_mean_var(x, np.where(treated, w, 0.0))
    m0, v0 = iweighted_mean_var(x, np.where(treated, 0.0, w))
    return m1, v1, m0, v0


def _variance_ratio_bounds(n_treated: int) -> tuple[float, float]:
    """``[F_.025, F_.975]`` of ``F(N1 - 1, N1 - 1)`` (pstest l.113-119)."""
    dfn = n_treated - 1
    if dfn < 1:
        return float("nan"), float("nan")
    return float(stats.f.ppf(0.025, dfn, dfn)), float(stats.f.ppf(0.975, dfn, dfn))


def _per_covariate(x: pd.DataFrame, s: _Samples, sd_denom: str) -> tuple[pd.DataFrame, dict]:
    xv = x.to_numpy(dtype=float)
    binary = np.all((xv == 0) | (xv == 1), axis=0)
    ones = np.ones(len(xv))
    out: dict[str, Any] = {"binary": binary}
    moments = {"unmatched": _group_moments(xv, s.treated, ones), "matched": _group_moments(xv, s.treated, s.weight)}
    _, v1u, _, v0u = moments["unmatched"]
    bias_den = np.sqrt((v1u + v0u) / 2.0)
    smd_den = {"treated": np.sqrt(v1u), "control": np.sqrt(v0u), "pooled": bias_den}[sd_denom]
    bounds = {
        "unmatched": _variance_ratio_bounds(int(s.treated.sum())),
        "matched": _variance_ratio_bounds(int((s.treated & s.on_support).sum())),
    }
    for sample, w in (("unmatched", ones), ("matched", s.weight)):
        m1, v1, m0, v0 = moments[sample]
        out[f"mean_treated_{sample}"] = m1
        out[f"mean_control_{sample}"] = m0
        out[f"pct_bias_{sample}"] = 100.0 * _divide(m1 - m0, bias_den)
        out[f"t_{sample}"], out[f"p_{sample}"], _ = dummy_regression_t(xv, s.treated, w)
        vr = np.where(binary, np.nan, _divide(v1, v0))
        lo, hi = bounds[sample]
        out[f"var_ratio_{sample}"] = vr
        out[f"var_ratio_flag_{sample}"] = np.where(binary, False, (vr < lo) | (vr > hi))
        out[f"smd_{sample}"] = np.where(binary, m1 - m0, _divide(m1 - m0, smd_den))
        cv1 = _cobalt_variance(xv, np.where(s.treated, w, 0.0))
        cv0 = _cobalt_variance(xv, np.where(s.treated, 0.0, w))
        out[f"var_ratio_cobalt_{sample}"] = np.where(binary, np.nan, _divide(cv1, cv0))
        ecdf = np.array([ecdf_differences(xv[:, j], s.treated, w) for j in range(xv.shape[1])])
        out[f"ecdf_mean_{sample}"] = np.where(binary, np.abs(m1 - m0), ecdf[:, 0])
        out[f"ecdf_max_{sample}"] = np.where(binary, np.abs(m1 - m0), ecdf[:, 1])
    out["pct_reduction"] = 100.0 * (
        1.0 - _divide(np.abs(out["pct_bias_matched"]), np.abs(out["pct_bias_unmatched"]))
    )
    table = pd.DataFrame(out, index=pd.Index(x.columns, name="covariate"))
    table = table[list(PSTEST_COLUMNS) + list(COBALT_COLUMNS)]
    return table, bounds


def _summary_rows(
    table: pd.DataFrame, x: pd.DataFrame, s: _Samples
) -> tuple[pd.DataFrame, dict[str, ProbitRefit]]:
    ones = np.ones(len(s.treated))
    probits: dict[str, ProbitRefit] = {}
    rows = {}
    continuous = ~table["binary"].to_numpy()
    for sample, w in (("unmatched", ones), ("matched", s.weight)):
        fit = probit_refit(x, s.treated, w, sample)
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


def _sample_sizes(s: _Samples) -> pd.DataFrame:
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
        ``"dummies"``: each factor enters as one 0/1 column per level, base level skipped (pstest on
        ``i.var``); ``"numeric"``: factors keep their numeric coding (e.g. offence type 1/2/3).
    factors
        Covariates to treat as categorical; default: those with a non-numeric dtype.
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
    """
    covariates = list(covariates)
    if not covariates:
        raise ValueError("balance needs at least one covariate")
    select_columns(data, {c: c for c in covariates})  # every unknown name in one ColumnNotFoundError
    estimand = _resolve_estimand(matching_or_weights, estimand)
    sd_denom = sd_denom or {"ATT": "treated", "ATU": "control"}[estimand]
    if sd_denom not in _SD_DENOMS:
        raise ValueError(f"sd_denom must be one of {_SD_DENOMS}, got {sd_denom!r}")
    design = _expand_covariates(data, covariates, categorical, factors)
    samples = _resolve_samples(data, matching_or_weights, treatment, on_support, estimand, reference_weight)
    table, bounds = _per_covariate(design.x, samples, sd_denom)
    summary, probits = _summary_rows(table, design.x, samples)
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
    )


# --------------------------------------------------------------------------------------------------
# result object and renderers

# (column, header, decimals) of each layout; headers follow the published tables and pstest.
_PUBLISHED = (
    ("mean_treated_unmatched", ("Mean Unmatched", "Treated"), 2),
    ("mean_control_unmatched", ("Mean Unmatched", "Control"), 2),
    ("mean_treated_matched", ("Mean Matched", "Treated"), 2),
    ("mean_control_matched", ("Mean Matched", "Control"), 2),
    ("pct_bias_matched", ("", "%bias"), 1),
    ("t_matched", ("t-test", "t"), 2),
    ("p_matched", ("t-test", "p>|t|"), 2),
)
_PSTEST = (  # per sample (U/M): the suffix is appended
    ("mean_treated", ("Mean", "Treated"), 2),
    ("mean_control", ("Mean", "Control"), 2),
    ("pct_bias", ("", "%bias"), 1),
    ("pct_reduction", ("%reduct", "|bias|"), 1),
    ("t", ("t-test", "t"), 2),
    ("p", ("t-test", "p>|t|"), 2),
    ("var_ratio", ("", "V(T)/V(C)"), 2),
)
_COBALT = (
    ("smd_unmatched", ("Diff", "Unmatched"), 3),
    ("smd_matched", ("Diff", "Matched"), 3),
    ("var_ratio_cobalt_unmatched", ("Var. ratio", "Unmatched"), 2),
    ("var_ratio_cobalt_matched", ("Var. ratio", "Matched"), 2),
    ("ecdf_mean_unmatched", ("eCDF mean", "Unmatched"), 3),
    ("ecdf_mean_matched", ("eCDF mean", "Matched"), 3),
    ("ecdf_max_unmatched", ("eCDF max (KS)", "Unmatched"), 3),
    ("ecdf_max_matched", ("eCDF max (KS)", "Matched"), 3),
)
Layout = Literal["published", "pstest", "cobalt"]


def _fmt(value: Any, decimals: int) -> str:
    """Fixed decimals; NaN as an empty cell; no negative zero (``-0.00`` prints as ``0.00``)."""
    if value is None or not np.isfinite(value):
        return ""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


@dataclass(frozen=True, repr=False)
class BalanceTable:
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
        The two :class:`ProbitRefit` fits.
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

    def __repr__(self) -> str:
        return (
            f"<BalanceTable: {len(self.table)} covariates, estimand={self.estimand}, "
            f"mean |bias| {self.summary_stats.loc['unmatched', 'mean_abs_bias']:.1f} -> "
            f"{self.summary_stats.loc['matched', 'mean_abs_bias']:.1f}>"
        )

    # ---- views -----------------------------------------------------------------------------------
    def label(self, covariate: str) -> str:
        """Display name: ``labels`` entry, else the label of the parent factor plus ``=level``."""
        if covariate in self.labels:
            return self.labels[covariate]
        parent = self.source.get(covariate, covariate)
        if parent != covariate and parent in self.labels:
            return self.labels[parent] + covariate[len(parent) :]
        return covariate

    def to_frame(self, cobalt: bool = False) -> pd.DataFrame:
        """Tidy copy: one row per covariate, pstest columns (and the cobalt ones with ``cobalt=True``)."""
        columns = list(PSTEST_COLUMNS) + (list(COBALT_COLUMNS) if cobalt else [])
        return self.table[columns].copy()

    def published(self) -> pd.DataFrame:
        """The published layout (New Chance Table 1): unmatched and matched means, matched %bias, t, p."""
        return self._layout_numbers(_PUBLISHED)

    def _layout_numbers(self, spec: Sequence[tuple[str, tuple[str, str], int]]) -> pd.DataFrame:
        frame = self.table[[c for c, _, _ in spec]].copy()
        frame.columns = pd.MultiIndex.from_tuples([h for _, h, _ in spec])
        frame.index = pd.Index([self.label(c) for c in self.table.index], name="Variable")
        return frame

    def formatted(self, layout: Layout = "published") -> pd.DataFrame:
        """Strings rounded as the published tables: means 2 decimals, %bias 1, t and p 2."""
        if layout == "pstest":
            return self._pstest_strings()
        spec = {"published": _PUBLISHED, "cobalt": _COBALT}.get(layout)
        if spec is None:
            raise ValueError(f"layout must be 'published', 'pstest' or 'cobalt', got {layout!r}")
        numbers = self._layout_numbers(spec)
        return pd.DataFrame(
            {h: [_fmt(v, d) for v in numbers[h]] for (_, h, d) in spec}, index=numbers.index
        )

    def _pstest_strings(self) -> pd.DataFrame:
        rows, keys = [], []
        for cov, rec in self.table.iterrows():
            for sample, tag in (("unmatched", "U"), ("matched", "M")):
                cells = {}
                for col, header, d in _PSTEST:
                    name = col if col == "pct_reduction" else f"{col}_{sample}"
                    show = not (col == "pct_reduction" and sample == "unmatched")
                    text = _fmt(rec[name], d) if show else ""
                    if col == "var_ratio" and rec[f"var_ratio_flag_{sample}"]:
                        text += "*"
                    cells[header] = text
                rows.append(cells)
                keys.append((self.label(cov), tag))
        out = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(keys, names=["Variable", "Sample"]))
        out.columns = pd.MultiIndex.from_tuples(out.columns)
        return out

    def to_markdown(self, layout: Layout = "published") -> str:
        """Markdown table (flattened two-row headers, e.g. ``Mean Unmatched: Treated``; ``|`` escaped)."""
        frame = self.formatted(layout)
        frame.columns = [": ".join(p for p in col if p).replace("|", "\\|") for col in frame.columns]
        n_index = frame.index.nlevels
        frame = frame.reset_index()
        align = ("left",) * n_index + ("right",) * (frame.shape[1] - n_index)
        return frame.to_markdown(index=False, disable_numparse=True, colalign=align)

    def to_latex(self, layout: Layout = "published", **kwargs: Any) -> str:
        """LaTeX tabular (pandas ``DataFrame.to_latex``; extra keyword arguments are passed on)."""
        frame = self.formatted(layout)
        kwargs.setdefault("column_format", "l" * frame.index.nlevels + "r" * frame.shape[1])
        kwargs.setdefault("multicolumn_format", "c")
        kwargs.setdefault("escape", True)  # %bias and p>|t| must not break LaTeX
        return frame.to_latex(**kwargs)

    def to_html(self, layout: Layout = "published", **kwargs: Any) -> str:
        """HTML table (pandas ``DataFrame.to_html``)."""
        return self.formatted(layout).to_html(**kwargs)

    # ---- pstest-style text -----------------------------------------------------------------------
    def summary(self) -> str:
        """Text laid out like Stata's ``pstest, both`` output (table, footer, summary block)."""
        names = [self.label(c) for c in self.table.index]
        width = max(22, *(len(n) for n in names))
        rule = "-" * (width + 4) + "+" + "-" * 34 + "+" + "-" * 15 + "+" + "-" * 10
        lines = [
            rule,
            " " * (width - 8) + "  Unmatched |       Mean               %reduct |     t-test    |  V(T)/",
            "Variable".ljust(width - 8) + "    Matched | Treated Control    %bias  |bias| |    t    p>|t| |  V(C)",
            rule,
        ]
        for name, (_, r) in zip(names, self.table.iterrows()):
            for sample, tag in (("unmatched", "U"), ("matched", "M")):
                red = "" if sample == "unmatched" else _fmt(r["pct_reduction"], 1)
                vr = _fmt(r[f"var_ratio_{sample}"], 2) + ("*" if r[f"var_ratio_flag_{sample}"] else "")
                lines.append(
                    f"{(name if tag == 'U' else '').ljust(width + 1)}{tag}  | "
                    f"{stata_g(r[f'mean_treated_{sample}'], 7)} {stata_g(r[f'mean_control_{sample}'], 7)}  "
                    f"{_fmt(r[f'pct_bias_{sample}'], 1):>7}{red:>8} |"
                    f"{_fmt(r[f't_{sample}'], 2):>7}  {_fmt(r[f'p_{sample}'], 3):>5} |{vr:>6}"
                )
            lines.append(" " * (width + 4) + "|" + " " * 34 + "|" + " " * 15 + "|")
        lines.append(rule)
        b = self.var_ratio_bounds
        lines.append(
            f"* if variance ratio outside [{b.loc['unmatched', 'lower']:.2f}; {b.loc['unmatched', 'upper']:.2f}]"
            f" for U and [{b.loc['matched', 'lower']:.2f}; {b.loc['matched', 'upper']:.2f}] for M"
        )
        lines += ["", "-" * 11 + "+" + "-" * 71]
        lines.append(" Sample    | Ps R2   LR chi2   p>chi2   MeanBias   MedBias      B      R     %Var")
        lines.append("-" * 11 + "+" + "-" * 71)
        for sample, tag in (("unmatched", " Unmatched"), ("matched", " Matched  ")):
            st = self.summary_stats.loc[sample]
            row = (
                f"{tag} | {_fmt(st['pseudo_r2'], 3):>6} {_fmt(st['lr_chi2'], 2):>9} {_fmt(st['p_chi2'], 3):>8}"
                f"   {_fmt(st['mean_abs_bias'], 1):>6}    {_fmt(st['median_abs_bias'], 1):>6}"
                f"    {_fmt(st['rubin_b'], 1):>6}{'*' if st['rubin_b_flag'] else ''}"
            )
            row = row.ljust(69) + f"{_fmt(st['rubin_r'], 2):>5}{'*' if st['rubin_r_flag'] else ''}"
            lines.append(row.ljust(78) + f"{_fmt(st['pct_var_flagged'], 0):>3}")
        lines.append("-" * 11 + "+" + "-" * 71)
        lines.append("* if B>25%, R outside [0.5; 2]")
        return "\n".join(lines)

