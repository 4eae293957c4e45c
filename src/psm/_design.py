"""Covariate specifications and the propensity model's design matrix.

A specification is a list of columns or a patsy formula right-hand side. Text, categorical and
boolean columns (and numeric codes listed in ``categorical=``) expand into one 0/1 column per level
other than the reference level (the first in sorted order unless ``reference=`` names another), as
patsy's treatment coding does; ``"Intercept"`` is the first column. The matrix is built in Fortran
order (columns contiguous), which the fitting code in :mod:`psm._binary_mle` reads column by column.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psm.errors import ConstantCovariateError

INTERCEPT = "Intercept"


@dataclass(frozen=True)
class Spec:
    """Parsed covariate specification: variables used, and the formula right-hand side."""

    variables: tuple[str, ...]
    rhs: str | None  # None for the list form


def covariate_columns(data: pd.DataFrame, treatment: str, covariates: Sequence[str] | str) -> tuple[str, ...]:
    """The data columns a covariate list or formula uses (for listwise deletion upstream)."""
    return parse_covariates(data, treatment, covariates).variables


def parse_covariates(data: pd.DataFrame, treatment: str, covariates) -> Spec:
    """Split a list or a formula into the variables it uses (and the formula's RHS)."""
    if not isinstance(covariates, str):
        names = tuple(covariates)
        if not names:
            raise ValueError("covariates is empty: give at least one column name or a formula")
        if treatment in names:
            raise ValueError(f"the treatment {treatment!r} cannot also be a covariate")
        return Spec(variables=names, rhs=None)
    lhs, _, rhs = covariates.rpartition("~")
    if lhs.strip() and lhs.strip() != treatment:
        raise ValueError(
            f"formula left-hand side {lhs.strip()!r} differs from treatment={treatment!r}"
        )
    return Spec(variables=_formula_variables(rhs, data.columns), rhs=rhs.strip())


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


@dataclass(frozen=True)
class Factor:
    """An expanded categorical column: its levels in order, the reference, each other level's dummy."""

    variable: str
    levels: tuple
    reference: object
    dummies: Mapping[object, int]  # level -> design column


@dataclass(frozen=True)
class Design:
    x: np.ndarray  # n x k, Fortran order (columns contiguous), Intercept first
    columns: tuple[str, ...]
    reference: dict[str, object] = field(default_factory=dict)
    factors: tuple[Factor, ...] = ()


def list_design(
    sample: pd.DataFrame,
    variables: Sequence[str],
    categorical: Sequence[str],
    reference: Mapping[str, object],
) -> Design:
    """Design matrix (Intercept first) with one 0/1 column per non-reference level of each factor."""
    columns: dict[str, np.ndarray] = {INTERCEPT: None}
    ref_levels: dict[str, object] = {}
    factors: list[Factor] = []
    unknown_refs = set(reference) - {c for c in variables if _is_categorical(sample[c], c in categorical)}
    if unknown_refs:
        raise ValueError(
            f"reference= names column(s) that are not expanded as categorical: {sorted(unknown_refs)}; "
            "list numeric codes in categorical= to expand them"
        )
    for col in variables:
        series = sample[col]
        if not _is_categorical(series, col in categorical):
            columns[col] = series.to_numpy()
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
        dummies = {}
        for level in levels:
            if level != ref:
                dummies[level] = len(columns)
                columns[f"{col}[T.{level}]"] = values == level
        factors.append(Factor(col, tuple(levels), ref, dummies))
    x = np.empty((len(sample), len(columns)), order="F")
    x[:, 0] = 1.0
    for j, values in enumerate(list(columns.values())[1:], start=1):
        x[:, j] = values
    return Design(x, tuple(columns), ref_levels, tuple(factors))


def formula_design(sample: pd.DataFrame, rhs: str) -> Design:
    import patsy

    design = patsy.dmatrix(rhs, sample, return_type="dataframe", NA_action="raise")
    if INTERCEPT not in design.columns:
        raise ValueError("the formula removes the intercept; propensity models need one")
    return Design(np.asfortranarray(design.to_numpy(dtype=float)), tuple(design.columns))
