"""Input checks shared by the core stages (propensity, matching, effects, balance).

Every check reports *all* problems at once, naming columns, row labels and the
allowed values, and raises a typed error from :mod:`psm.errors`. Typical use::

    frame = select_columns(data, {"treatment": treatment, "score": score})
    frame, dropped = drop_missing(frame, dropna=dropna)
    treated = treatment_indicator(frame["treatment"])
    require_both_groups(treated)

Columns may be given as a column name or as a ``pd.Series`` aligned to
``data.index`` (a Series keeps its own name in error messages).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from psm.errors import (
    ColumnNameError,
    ColumnNotFoundError,
    CovariateTypeError,
    DuplicateIndexError,
    EmptyGroupError,
    InvalidTreatmentError,
    InvalidValuesError,
    MissingValuesError,
    _preview,
)

#: Largest covariate magnitude a fit accepts: X'X of larger values overflows double precision.
MAX_ABS_COVARIATE = 1e150


def resolve_column(data: pd.DataFrame, column: Hashable | pd.Series) -> pd.Series:
    """Return ``data[column]``, or ``column`` itself when it is a Series aligned to ``data``.

    Raises :class:`ColumnNotFoundError` (with close matches) for an unknown name and
    ``ValueError`` for a Series whose index is not ``data.index``.
    """
    return select_columns(data, {"column": column})["column"].rename(column_label(column))


def select_columns(
    data: pd.DataFrame, columns: Mapping[str, Hashable | pd.Series]
) -> pd.DataFrame:
    """Gather the named columns / Series into one frame with the keys of ``columns`` as names.

    Every unknown column name is reported in a single :class:`ColumnNotFoundError`.
    A Series must carry exactly ``data.index`` (same labels, same order), otherwise the
    row correspondence would be a guess and ``ValueError`` is raised.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not data.index.is_unique:
        repeated = data.index[data.index.duplicated()].unique().tolist()
        raise DuplicateIndexError(
            f"data.index repeats labels {_preview(repeated)}; rows must be told apart (matches, weights and "
            "dropped rows are reported by label): use data.reset_index(drop=True) or a unique id as index"
        )
    named = [c for c in columns.values() if not isinstance(c, pd.Series)]
    not_text = [c for c in named if not isinstance(c, str)]
    if not_text:
        raise ColumnNameError(
            f"column names must be text, got {', '.join(repr(c) for c in not_text)}; rename them "
            "(e.g. data.rename(columns=str))"
        )
    missing = [c for c in columns.values() if not isinstance(c, pd.Series) and c not in data.columns]
    if missing:
        raise ColumnNotFoundError(missing, data.columns)
    out = {}
    for key, col in columns.items():
        if isinstance(col, pd.Series):
            if not col.index.equals(data.index):
                raise ValueError(
                    f"Series {col.name!r} given for {key!r} is not aligned to data.index "
                    "(different labels or order); pass a column name or reindex it first"
                )
            out[key] = col
        else:
            out[key] = data[col]
    return pd.DataFrame(out, index=data.index)


def column_label(column: Hashable | pd.Series) -> Hashable:
    """The user-facing name of a column given by name or as a Series."""
    return column.name if isinstance(column, pd.Series) else column


def missing_rows(frame: pd.DataFrame) -> dict[str, list[object]]:
    """Map each column of ``frame`` with missing values to the index labels of those rows."""
    na = frame.isna()
    return {str(col): frame.index[na[col].to_numpy()].tolist() for col in frame.columns if na[col].any()}


def drop_missing(
    frame: pd.DataFrame, *, dropna: bool = False, names: Mapping[str, Hashable] | None = None
) -> tuple[pd.DataFrame, pd.Index]:
    """Refuse (default) or drop rows with a missing value in any column of ``frame``.

    ``names`` maps frame columns to the user's names for messages. Returns the kept
    rows and the index labels dropped (empty unless ``dropna=True``); without ``dropna``
    any missing value raises :class:`MissingValuesError` listing the rows per column.
    """
    rows = missing_rows(frame)
    if not rows:
        return frame, frame.index[:0]
    if not dropna:
        names = names or {}
        raise MissingValuesError({str(names.get(col, col)): labels for col, labels in rows.items()})
    keep = ~frame.isna().any(axis=1).to_numpy()
    return frame.loc[keep], frame.index[~keep]


def treatment_indicator(values: pd.Series) -> pd.Series:
    """Return the treatment as a bool Series; accepted codings are 0/1 and False/True.

    Any other value (2, -1, 0.5, "yes", ...) raises :class:`InvalidTreatmentError`
    listing the distinct offending values and their rows. Missing values are the
    business of :func:`drop_missing` and are rejected here too.
    """
    name = values.name
    if values.dtype.kind in "biu":  # numpy bool/int: a vectorised check suffices
        raw = values.to_numpy()
        if ((raw == 0) | (raw == 1)).all():
            return pd.Series(raw.astype(bool), index=values.index, name=name)
    bad = ~values.isin([0, 1]).to_numpy(dtype=bool) | values.isna().to_numpy()
    if bad.any():
        offenders = pd.unique(values[bad].astype(object))
        raise InvalidTreatmentError(
            f"treatment {name!r} must be coded 0/1 or False/True; found "
            f"{', '.join(repr(v) for v in offenders[:10])}"
            f"{' …' if len(offenders) > 10 else ''} in rows {_preview(values.index[bad].tolist())}"
        )
    return values.astype(bool).rename(name)


def require_both_groups(treated: pd.Series, *, what: str = "") -> None:
    """Raise :class:`EmptyGroupError` when ``treated`` has no True or no False."""
    n1 = int(np.count_nonzero(treated.to_numpy()))
    n0 = len(treated) - n1
    if n1 and n0:
        return
    empty = " and ".join(g for g, n in (("treated", n1), ("control", n0)) if n == 0)
    where = f" {what}" if what else ""
    raise EmptyGroupError(
        f"no {empty} units{where} ({n1} treated, {n0} controls in {len(treated)} rows of "
        f"{treated.name!r}); matching and effects need both groups"
    )


def numeric_values(values: pd.Series) -> np.ndarray:
    """Return a float64 array of ``values``; non-numeric or infinite entries raise ``ValueError``."""
    if not (pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)):
        raise TypeError(f"{values.name!r} must be numeric, got dtype {values.dtype}")
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    inf = np.isinf(arr)
    if inf.any():
        raise ValueError(f"{values.name!r} has infinite values in rows {_preview(values.index[inf].tolist())}")
    return arr


def check_covariate_values(frame: pd.DataFrame, columns: Sequence[Hashable], categorical: Sequence[Hashable] = (),
                           *, select: bool = False) -> None:
    """Refuse covariates a fit would mis-read, naming the column and rows, all at once.

    ``select=True`` first checks the frame and the names as :func:`select_columns` does (every
    unknown name in one :class:`ColumnNotFoundError`).

    Numbers stored as text (every value parses as a number) raise :class:`CovariateTypeError`
    instead of being expanded into one dummy per distinct value; infinite values and values beyond
    :data:`MAX_ABS_COVARIATE` (whose squares overflow) raise :class:`InvalidValuesError`.
    """
    if select:
        select_columns(frame, {str(c): c for c in columns})
    as_text, rows = [], {}
    for column in columns:
        values = frame[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if not numeric and not pd.api.types.is_bool_dtype(values) and column not in categorical:
            known = values.dropna()
            if len(known) and pd.to_numeric(known.astype(str), errors="coerce").notna().all():
                as_text.append(f"{column!r} (e.g. {known.iloc[0]!r})")
            continue
        if numeric:
            arr = values.to_numpy(dtype=float, na_value=np.nan)
            bad = ~np.isfinite(arr) & ~np.isnan(arr) | (np.abs(np.nan_to_num(arr)) > MAX_ABS_COVARIATE)
            if bad.any():
                rows[str(column)] = values.index[bad].tolist()
    if as_text:
        raise CovariateTypeError(
            f"numbers stored as text in {', '.join(as_text)}: convert them with pd.to_numeric, or list the "
            "column in categorical= if its values are codes"
        )
    if rows:
        raise InvalidValuesError(rows, f"finite numbers of magnitude up to {MAX_ABS_COVARIATE:g}")


def treatment_and_score(
    data: pd.DataFrame, treatment: Hashable | pd.Series, score: Hashable | pd.Series, *, dropna: bool = False,
) -> tuple[pd.Series, np.ndarray, Hashable, list]:
    """The 0/1 treatment (a bool Series on the kept rows' index) and the numeric score of a matching
    call, with both groups present; rows missing either raise :class:`psm.MissingValuesError`, or are
    dropped with ``dropna=True``. Returns ``(treated, scores, score_name, dropped_labels)``."""
    names = {"treatment": column_label(treatment), "score": column_label(score)}
    frame = select_columns(data, {"treatment": treatment, "score": score})
    frame, dropped = drop_missing(frame, dropna=dropna, names=names)
    treated = treatment_indicator(frame["treatment"].rename(names["treatment"]))
    require_both_groups(treated)
    return treated, numeric_values(frame["score"].rename(names["score"])), names["score"], dropped


def aligned_outcome(y: pd.Series, index: pd.Index) -> np.ndarray:
    """``y`` (a Series holding every label of ``index``) as a float array in ``index``'s order."""
    if not isinstance(y, pd.Series):
        raise TypeError("y must be a pandas Series aligned to the data")
    missing = index.difference(y.index)
    if len(missing):
        raise ValueError(f"y lacks {len(missing)} rows of the matching, e.g. {missing[:5].tolist()}")
    return y.reindex(index).to_numpy(dtype=float)
