"""Propensity-score model: probit (psmatch2's default) or logit, unpenalised MLE.

psmatch2 v4.0.12 fits ``probit treat indepvars`` unless the ``logit`` option is given
(psmatch2.ado l.130-133: ``if ("`logit'"=="") local logit "probit"``) and stores the
predicted probability ``_pscore = Phi(x'b)`` (``predict, pr``). :func:`fit_propensity`
does the same with statsmodels' discrete-choice models (Newton-Raphson MLE, no penalty --
unlike scikit-learn's ``LogisticRegression``, which is L2-penalised by default):

    probit:  P(T=1 | x) = Phi(x'b)            (Phi = standard normal CDF)
    logit:   P(T=1 | x) = 1 / (1 + exp(-x'b))

The link is always explicit: ``link="probit"`` reproduces psmatch2; ``link="logit"``
reproduces Stata's ``teffects psmatch`` and R's MatchIt defaults.

Covariates are either a list of column names or a formula (patsy syntax,
``"treated ~ age + C(offence_type)"``). In the list form, string, ``category`` and
object columns -- and numeric columns named in ``categorical`` -- are expanded to
0/1 dummies with one reference level left out: by default the first category of a
``category`` column, otherwise the first level in sorted order; ``reference=`` picks
another. Dummy columns are named ``"<column>[T.<level>]"`` like patsy's.

Rows with a missing treatment or covariate raise :class:`~psm.errors.MissingValuesError`
listing them; ``dropna=True`` drops them (listwise deletion, as psmatch2's
``marksample``/``markout`` do) and reports the count in ``n_dropped``.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.linalg
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationWarning,
)

from psm._validation import (
    drop_missing,
    require_both_groups,
    select_columns,
    treatment_indicator,
)
from psm.errors import (
    ConstantCovariateError,
    SeparationError,
    SingularDesignError,
)

LINKS = ("probit", "logit")
INTERCEPT = "Intercept"

# |b_k| * sd(x_k) above this means a one-SD change in x_k moves the index by more
# than 8 units (probit: from 0.5 to 1 - 6e-16) -- only seen when the MLE diverges.
_DIVERGENT_STD_COEF = 8.0


@dataclass(frozen=True)
class PropensityModel:
    """A fitted propensity-score model.

    Attributes
    ----------
    score : pd.Series
        Fitted probability P(T=1|x), aligned to ``data.index`` (NaN for rows dropped
        with ``dropna=True``). psmatch2's ``_pscore``.
    linear_predictor : pd.Series
        The index x'b (psmatch2's ``index`` option), aligned like ``score``.
    params, bse : pd.Series
        Coefficients and their (model-based, inverse-Hessian) standard errors, indexed
        by ``design_columns``.
    link : {"probit", "logit"}
    treatment : str
    covariates : tuple of str or str
        The covariates as given (column names, or the formula).
    design_columns : tuple of str
        Columns of the design matrix, ``"Intercept"`` first.
    reference : dict
        Reference (left-out) level of each expanded categorical column.
    n_dropped : int
        Rows dropped for missing values (``dropna=True``); ``dropped`` lists their labels.
    result : statsmodels ``BinaryResults``
        The underlying statsmodels fit.
    """

    score: pd.Series
    linear_predictor: pd.Series
    params: pd.Series
    bse: pd.Series
    link: str
    treatment: str
    covariates: tuple[str, ...] | str
    design_columns: tuple[str, ...]
    reference: Mapping[str, object]
    n_dropped: int
    dropped: tuple[Hashable, ...]
    result: object = field(repr=False)

    @property
    def nobs(self) -> int:
        """Number of rows in the estimation sample."""
        return int(self.result.nobs)

    def summary(self):
        """statsmodels' coefficient table with the link, reference levels and drops noted."""
        title = f"Propensity score: {self.link} of {self.treatment!r} (unpenalised MLE)"
        smry = self.result.summary(title=title)
        notes = [f"Link: {self.link} ({'psmatch2 default' if self.link == 'probit' else 'psmatch2 option logit'})."]
        if self.reference:
            levels = ", ".join(f"{col}={lvl!r}" for col, lvl in self.reference.items())
            notes.append(f"Reference levels: {levels}.")
        if self.n_dropped:
            notes.append(f"{self.n_dropped} row(s) with missing values dropped (dropna=True).")
        smry.add_extra_txt(notes)
        return smry


@dataclass(frozen=True)
class _Spec:
    """Parsed covariate specification: variables used, and the formula right-hand side."""

    variables: tuple[str, ...]
    rhs: str | None  # None for the list form


def fit_propensity(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str] | str,
    link: str = "probit",
    *,
    dropna: bool = False,
    categorical: Sequence[str] = (),
    reference: Mapping[str, object] | None = None,
    maxiter: int = 100,
) -> PropensityModel:
    """Fit P(treatment=1 | covariates) by probit (default, as psmatch2) or logit.

    Parameters
    ----------
    data : DataFrame
    treatment : str
        Column coded 0/1 (or False/True).
    covariates : list of str, or str
        Column names, or a patsy formula (``"age + C(offence_type)"``; a left-hand side,
        if given, must be ``treatment``).
    link : {"probit", "logit"}
        ``"probit"`` is psmatch2's default; ``"logit"`` its ``logit`` option.
    dropna : bool
        Drop rows with a missing treatment or covariate instead of raising.
    categorical : list of str
        Numeric columns to expand to dummies as well (e.g. a 1/2/3 offence-type code).
    reference : dict, optional
        ``{column: level}`` reference level per expanded column (list form only).
    maxiter : int
        Newton-Raphson iteration limit.

    Raises
    ------
    ColumnNotFoundError, MissingValuesError, InvalidTreatmentError, EmptyGroupError,
    ConstantCovariateError, SingularDesignError, SeparationError
    """
    if link not in LINKS:
        raise ValueError(f"link must be one of {LINKS}, got {link!r}")
    spec = _parse_covariates(data, treatment, covariates)
    select_columns(data, {str(c): c for c in [*categorical, *(reference or {})]})
    frame = select_columns(data, {c: c for c in [treatment, *spec.variables]})
    sample, dropped = drop_missing(frame, dropna=dropna)
    treated = treatment_indicator(sample[treatment])
    require_both_groups(treated, what="in the propensity-model sample")
    y = treated.astype(float)
    keep = ~frame.isna().any(axis=1).to_numpy()

    if spec.rhs is None:
        design, ref_levels, cells = _list_design(sample, spec.variables, categorical, reference or {})
    else:
        design, ref_levels, cells = _formula_design(sample, spec.rhs), {}, []
    _check_constant(design)
    _check_rank(design)
    _check_separation_cells(y, cells + _binary_cells(design))
    result = _fit(y, design, link, maxiter)

    index_values = np.asarray(design.to_numpy() @ result.params.to_numpy())
    return PropensityModel(
        score=_aligned(result.model.cdf(index_values), keep, data.index, "pscore"),
        linear_predictor=_aligned(index_values, keep, data.index, "linear_predictor"),
        params=result.params.rename(None),
        bse=result.bse.rename(None),
        link=link,
        treatment=treatment,
        covariates=covariates if isinstance(covariates, str) else tuple(covariates),
        design_columns=tuple(design.columns),
        reference=ref_levels,
        n_dropped=len(dropped),
        dropped=tuple(dropped),
        result=result,
    )


def _aligned(values: np.ndarray, keep: np.ndarray, index: pd.Index, name: str) -> pd.Series:
    """Spread estimation-sample values over ``index``; NaN for dropped rows."""
    full = np.full(len(index), np.nan)
    full[keep] = values
    return pd.Series(full, index=index, name=name)


# --------------------------------------------------------------------------- spec


def covariate_columns(data: pd.DataFrame, treatment: str, covariates: Sequence[str] | str) -> tuple[str, ...]:
    """The data columns a covariate list or formula uses (for listwise deletion upstream)."""
    return _parse_covariates(data, treatment, covariates).variables


def _parse_covariates(data: pd.DataFrame, treatment: str, covariates) -> _Spec:
    """Split a list or a formula into the variables it uses (and the formula's RHS)."""
    if not isinstance(covariates, str):
        names = tuple(covariates)
        if not names:
            raise ValueError("covariates is empty: give at least one column name or a formula")
        if treatment in names:
            raise ValueError(f"the treatment {treatment!r} cannot also be a covariate")
        return _Spec(variables=names, rhs=None)
    lhs, _, rhs = covariates.rpartition("~")
    if lhs.strip() and lhs.strip() != treatment:
        raise ValueError(
            f"formula left-hand side {lhs.strip()!r} differs from treatment={treatment!r}"
        )
    return _Spec(variables=_formula_variables(rhs, data.columns), rhs=rhs.strip())


def _formula_variables(rhs: str, columns: pd.Index) -> tuple[str, ...]:
    """Column names used by a patsy right-hand side (bare names and ``Q("...")``).

    Names that are not columns (functions such as ``C`` or ``np.log``) are ignored;
    a name that is neither a column nor a callable in the formula is reported missing.
    """
    import patsy

    desc = patsy.ModelDesc.from_formula(rhs)
    found: list[str] = []
    for term in desc.rhs_termlist:
        for factor in term.factors:
            tree = ast.parse(factor.code, mode="eval")
            called = {
                node.func.id
                for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            }
            for node in ast.walk(tree):
                name = _variable_name(node)
                if name is None or name in called or name in found:
                    continue
                if name in columns or not _is_builtin_name(name):
                    found.append(name)
    return tuple(found)


def _variable_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Q"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return str(node.args[0].value)
    return None


def _is_builtin_name(name: str) -> bool:
    """Module or helper names patsy formulas commonly use (``np``, ``Treatment`` ...)."""
    return name in {"np", "numpy", "Treatment", "Sum", "Diff", "Poly", "Helmert", "I", "C", "Q"}


# ------------------------------------------------------------------------ design


def _is_categorical(series: pd.Series, forced: bool) -> bool:
    return forced or not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _levels(series: pd.Series) -> list:
    """Levels in reference order: a categorical's category order, else sorted."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.unique())
        return [c for c in series.cat.categories if c in present]
    return sorted(series.unique())


def _list_design(
    sample: pd.DataFrame,
    variables: Sequence[str],
    categorical: Sequence[str],
    reference: Mapping[str, object],
) -> tuple[pd.DataFrame, dict, list]:
    """Design matrix (Intercept first), reference levels, and one cell per category level."""
    columns: dict[str, np.ndarray] = {INTERCEPT: np.ones(len(sample))}
    ref_levels: dict[str, object] = {}
    cells: list[tuple[str, np.ndarray]] = []
    unknown_refs = set(reference) - {c for c in variables if _is_categorical(sample[c], c in categorical)}
    if unknown_refs:
        raise ValueError(
            f"reference= names column(s) that are not expanded as categorical: {sorted(unknown_refs)}; "
            "list numeric codes in categorical= to expand them"
        )
    for col in variables:
        series = sample[col]
        if not _is_categorical(series, col in categorical):
            columns[col] = series.to_numpy(dtype=float)
            continue
        levels = _levels(series)
        if len(levels) < 2:
            raise ConstantCovariateError(
                f"covariate {col!r} takes a single value ({levels[0]!r}) in the estimation "
                "sample; drop it from the covariates"
            )
        ref = reference.get(col, levels[0])
        if ref not in levels:
            raise ValueError(f"reference level {ref!r} of {col!r} not among its levels {levels}")
        ref_levels[col] = ref
        values = series.to_numpy()
        for level in levels:
            mask = values == level
            cells.append((f"{col} == {level!r}", mask))
            if level != ref:
                columns[f"{col}[T.{level}]"] = mask.astype(float)
    matrix = np.column_stack(list(columns.values()))
    return pd.DataFrame(matrix, index=sample.index, columns=list(columns), copy=False), ref_levels, cells


def _formula_design(sample: pd.DataFrame, rhs: str) -> pd.DataFrame:
    import patsy

    design = patsy.dmatrix(rhs, sample, return_type="dataframe", NA_action="raise")
    if INTERCEPT not in design.columns:
        raise ValueError("the formula removes the intercept; propensity models need one")
    return design


# ------------------------------------------------------------------------ checks


def _check_constant(design: pd.DataFrame) -> None:
    """Raise ConstantCovariateError naming every design column with a single value."""
    values = design.to_numpy()
    is_constant = values.min(axis=0) == values.max(axis=0)
    constant = [
        (col, values[0, j]) for j, col in enumerate(design.columns) if col != INTERCEPT and is_constant[j]
    ]
    if constant:
        detail = ", ".join(f"{col!r} (always {val:g})" for col, val in constant)
        raise ConstantCovariateError(
            f"constant covariate(s) in the estimation sample: {detail}. "
            "A constant is collinear with the intercept; drop it."
        )


def _check_rank(design: pd.DataFrame) -> None:
    """Raise SingularDesignError naming collinear columns (pivoted QR, scale-free).

    Columns are scaled to unit norm and reduced to a p x p square root S of the Gram
    matrix (S'S = X'X, from its eigendecomposition), which keeps every linear relation
    between the columns at one O(n p^2) matrix product. Pivoted QR of S puts a maximal set
    of independent columns first (relative tolerance 1e-7 on |diag R|, i.e. condition
    numbers beyond 1e7 count as singular); each remaining column is reported with the
    columns it is a combination of (least squares, |coef| > 1e-6).
    """
    x = design.to_numpy(dtype=float)
    norms = np.linalg.norm(x, axis=0)
    xs = x / np.where(norms > 0, norms, 1.0)
    eigval, eigvec = np.linalg.eigh(xs.T @ xs)
    r_full = np.sqrt(np.clip(eigval, 0, None))[:, None] * eigvec.T
    _, r, piv = scipy.linalg.qr(r_full, pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > 1e-7 * diag[0]))
    if rank == x.shape[1]:
        return
    names = list(design.columns)
    independent = np.sort(piv[:rank])
    relations = []
    for j in piv[rank:]:
        coef, *_ = np.linalg.lstsq(r_full[:, independent], r_full[:, j], rcond=None)
        parts = [names[k] for k, c in zip(independent, coef) if abs(c) > 1e-6]
        relations.append(f"{names[j]!r} = linear combination of {', '.join(map(repr, parts))}")
    raise SingularDesignError(
        "the covariates are collinear, so the propensity model is not identified: "
        + "; ".join(relations)
        + ". Drop one column of each relation."
    )


def _binary_cells(design: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """One cell per value of each two-valued design column (dummies, binary markers)."""
    cells = []
    for col in design.columns.drop(INTERCEPT):
        if "[T." in col:  # expanded categoricals are covered level by level
            continue
        values = design[col].to_numpy()
        uniques = np.unique(values)
        if len(uniques) == 2:
            cells.extend((f"{col} == {v:g}", values == v) for v in uniques)
    return cells


def _check_separation_cells(y: pd.Series, cells: list[tuple[str, np.ndarray]]) -> None:
    """Raise SeparationError if some level of a discrete covariate has only one group.

    A level whose rows are all treated (or all controls) is predicted perfectly: the MLE
    of its dummy diverges (quasi-complete separation, Albert & Anderson 1984).
    """
    t = y.to_numpy()
    problems = []
    for label, mask in cells:
        n = int(mask.sum())
        n_treated = int(t[mask].sum())
        if n and n_treated in (0, n):
            group = "treated" if n_treated else "controls"
            problems.append(f"{label}: all {n} row(s) are {group}")
    if problems:
        raise SeparationError(
            "perfect/quasi separation -- these covariate levels predict treatment exactly: "
            + "; ".join(problems)
            + ". Merge the level with another, drop the rows, or drop the covariate."
        )


def _fit(y: pd.Series, design: pd.DataFrame, link: str, maxiter: int):
    model_cls = sm.Probit if link == "probit" else sm.Logit
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model_cls(y, design).fit(method="newton", maxiter=maxiter, disp=False)
    flagged = [
        w for w in caught
        if issubclass(w.category, (ConvergenceWarning, PerfectSeparationWarning, HessianInversionWarning))
    ]
    if flagged or not result.mle_retvals.get("converged", True):
        _raise_divergent(result, design, list(dict.fromkeys(str(w.message) for w in flagged)))
    return result


def _raise_divergent(result, design: pd.DataFrame, messages: list[str]) -> None:
    """The MLE did not converge: name columns with implausibly large standardized coefficients."""
    sd = design.std(ddof=0)
    std_coef = (result.params * sd).drop(INTERCEPT).abs().sort_values(ascending=False)
    suspects = std_coef[std_coef > _DIVERGENT_STD_COEF]
    names = ", ".join(f"{c!r} (|b*sd| = {v:.1f})" for c, v in suspects.items()) or (
        "none stands out; largest standardized coefficients: "
        + ", ".join(f"{c!r}" for c in std_coef.index[:3])
    )
    raise SeparationError(
        "the propensity model's MLE did not converge, the usual sign of (quasi-)complete "
        f"separation. Columns involved: {names}. statsmodels said: {'; '.join(messages) or 'not converged'}."
    )
