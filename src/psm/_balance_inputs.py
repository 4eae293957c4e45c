"""Inputs of :func:`psm.balance`: the covariates as a float design (factors expanded to 0/1 columns) and the
unmatched and matched samples with the weights pstest gives them (see :mod:`psm.balance`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from psm._validation import missing_rows, resolve_column, treatment_indicator
from psm.errors import (
    ConstantCovariateError,
    CovariateTypeError,
    EmptyGroupError,
    InvalidWeightsError,
    MissingValuesError,
)


@dataclass(frozen=True)
class Design:
    """Expanded covariates (factor levels as 0/1 columns) and where each column came from.

    ``values`` is n x (1 + k), Fortran order: a column of ones (the probits' constant), then the k
    covariate columns named by ``columns``. ``base_levels`` names the columns that are a factor's base
    (reference) level: shown in the balance table, left out of pstest's probit, where with the constant
    they would be collinear.
    """

    values: np.ndarray
    columns: tuple[str, ...]
    source: dict[str, str]  # expanded column -> original covariate
    base_levels: tuple[str, ...] = ()

    def column(self, j: int) -> np.ndarray:
        return self.values[:, j + 1]

    def without_base_levels(self) -> Design:
        """The design pstest's probit is fitted on: every base-level column dropped."""
        if not self.base_levels:
            return self
        keep = [0] + [j + 1 for j, c in enumerate(self.columns) if c not in self.base_levels]
        columns = tuple(c for c in self.columns if c not in self.base_levels)
        return Design(np.asfortranarray(self.values[:, keep]), columns, {c: self.source[c] for c in columns})


def _is_text_like(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def expand_covariates(
    data: pd.DataFrame,
    covariates: Sequence[str],
    categorical: str,
    factors: Sequence[str] | None,
    levels: str = "all",
) -> Design:
    """Numeric design: factors become one 0/1 column per observed level.

    Factors are the columns named in ``factors`` (default: every non-numeric covariate). The base is the
    lowest observed level (for a pandas Categorical, its first observed category), as Stata's ``i.``.
    Dummy columns are named ``"<covariate>=<level>"``. ``levels="all"`` keeps every level (cobalt's and
    MatchIt's balance tables; the base levels are listed in ``Design.base_levels``); ``"omit_base"`` drops
    the base level's column, as pstest lists ``i.var``.
    """
    if categorical not in ("dummies", "numeric"):
        raise ValueError(f"categorical must be 'dummies' or 'numeric', got {categorical!r}")
    if levels not in ("all", "omit_base"):
        raise ValueError(f"levels must be 'all' or 'omit_base', got {levels!r}")
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

    columns: dict[str, tuple[str, Any]] = {}  # expanded column -> (covariate, factor level or None)
    source: dict[str, str] = {}
    base: list[str] = []
    for c in covariates:
        col = data[c]
        if c in as_number:
            columns[c], source[c] = (c, None), c
            continue
        if isinstance(col.dtype, pd.CategoricalDtype):
            factor_levels = [lev for lev in col.cat.categories if (col == lev).any()]
        else:
            factor_levels = sorted(col.unique().tolist())
        for i, level in enumerate(factor_levels):
            if i == 0 and levels == "omit_base":
                continue
            name = f"{c}={level}"
            columns[name], source[name] = (c, level), c
            if i == 0:
                base.append(name)
    matrix = np.empty((len(data), 1 + len(columns)), order="F")  # filled a column at a time, no other copy
    matrix[:, 0] = 1.0
    values, read = None, None
    for j, (c, level) in enumerate(columns.values(), start=1):
        if level is None:
            matrix[:, j] = data[c].to_numpy(dtype=float)
            continue
        if read != c:  # a factor's values, read once for all its levels
            values, read = data[c].to_numpy(), c
        matrix[:, j] = values == level
    constant = [c for j, c in enumerate(columns, start=1) if matrix[:, j].min() == matrix[:, j].max()]
    if constant:
        raise ConstantCovariateError(
            f"covariate(s) {constant} take a single value in the data, so balance (and pstest's probit) "
            "is undefined for them; drop them from the covariate list"
        )
    return Design(values=matrix, columns=tuple(columns), source=source, base_levels=tuple(base))


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
class Samples:
    treated: np.ndarray  # bool, every row (U sample)
    on_support: np.ndarray  # bool
    weight: np.ndarray  # matched-sample iweight; 0 = not in M


def resolve_samples(
    data: pd.DataFrame,
    matching_or_weights: Any,
    treatment: Any,
    on_support: Any,
    estimand: str,
    reference_weight: str,
) -> Samples:
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
    return Samples(treated=treated, on_support=support, weight=w)


def resolve_estimand(matching_or_weights: Any, estimand: str | None) -> str:
    if estimand is None:  # pstest's reference is the treated unless `atu` is given
        estimand = "ATU" if getattr(matching_or_weights, "estimand", "ATT") in ("ATU", "ATC") else "ATT"
    estimand = {"ATC": "ATU"}.get(str(estimand).upper(), str(estimand).upper())
    if estimand not in ("ATT", "ATU"):
        raise ValueError(
            f"estimand must be 'ATT' (pstest default: treated are the reference) or 'ATU' (pstest `atu`), "
            f"got {estimand!r}"
        )
    return estimand
