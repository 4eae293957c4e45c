"""Typed errors raised by :mod:`psm`.

Every error says what went wrong, where (columns, rows) and what to do about it.
All derive from :class:`PSMError`, so callers can catch the whole family at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _preview(labels: Sequence[object], limit: int = 10) -> str:
    """Render the first ``limit`` labels and a count, e.g. ``[3, 8, 11] (3 rows)``."""
    labels = list(labels)
    shown = ", ".join(repr(x) for x in labels[:limit])
    more = f", … {len(labels) - limit} more" if len(labels) > limit else ""
    return f"[{shown}{more}] ({len(labels)} row{'s' if len(labels) != 1 else ''})"


class PSMError(Exception):
    """Base class of every error raised by psm.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> try:
    ...     psm.fit_propensity(df, "treat", ["agee"])
    ... except psm.PSMError as err:
    ...     print(type(err).__name__)
    ColumnNotFoundError
    """


class ColumnNotFoundError(PSMError, KeyError):
    """A column named by the caller is not in the data.

    ``suggestions`` maps each missing name to its closest existing names.
    """

    def __init__(self, missing: Iterable[str], available: Iterable[str]):
        import difflib

        self.missing = list(missing)
        available = [str(c) for c in available]
        self.suggestions = {
            name: difflib.get_close_matches(str(name), available, n=3, cutoff=0.5)
            for name in self.missing
        }
        parts = []
        for name in self.missing:
            close = self.suggestions[name]
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            parts.append(f"{name!r}{hint}")
        super().__init__(
            f"column(s) not found in the data: {'; '.join(parts)}. "
            f"Available columns: {', '.join(repr(c) for c in available)}"
        )

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class InvalidTreatmentError(PSMError, ValueError):
    """The treatment indicator is not coded 0/1 (or False/True).

    Examples
    --------
    >>> import psm
    >>> try:
    ...     psm.fit_propensity(psm.datasets.lalonde(), "age", ["educ"])
    ... except psm.InvalidTreatmentError as err:
    ...     print(str(err)[:40])
    treatment 'age' must be coded 0/1 or Fal
    """


class MissingValuesError(PSMError, ValueError):
    """Missing values in columns the analysis needs.

    ``rows`` maps each column to the index labels of its missing values. Pass
    ``dropna=True`` to the function to drop those rows instead (the number
    dropped is reported on the result).
    """

    def __init__(self, rows: dict[str, list[object]]):
        self.rows = rows
        detail = "; ".join(f"{col!r}: {_preview(labels)}" for col, labels in rows.items())
        super().__init__(
            f"missing values in {detail}. Fill them, or pass dropna=True to drop these rows "
            "(listwise deletion, as psmatch2 does; the count dropped is reported)."
        )


class EmptyGroupError(PSMError, ValueError):
    """No treated or no control units (after any sub-setting)."""


class NoControlsOnSupportError(PSMError, ValueError):
    """Common support or the caliper left no usable match."""


class SeparationError(PSMError, ValueError):
    """The propensity model predicts treatment perfectly from some covariates."""


class SingularDesignError(PSMError, ValueError):
    """The covariates are collinear, so the propensity model is not identified."""


class ConstantCovariateError(PSMError, ValueError):
    """A covariate takes a single value in the estimation sample."""


class InvalidWeightsError(PSMError, ValueError):
    """Matching weights are negative, infinite, or not aligned to the data's rows."""


class DuplicateIndexError(PSMError, ValueError):
    """The data's index repeats labels, so rows cannot be told apart (matches, weights, dropped rows)."""


class ColumnNameError(PSMError, TypeError):
    """A column is named by something other than text (an integer, a tuple...)."""


class CovariateTypeError(PSMError, TypeError):
    """A covariate cannot be used as given (e.g. text categories asked for as a number)."""


class InvalidValuesError(PSMError, ValueError):
    """Values outside the allowed set, e.g. an outcome that is not 0/1.

    ``rows`` maps each offending column (or argument name) to the index labels of
    its bad values; ``allowed`` says what is allowed.
    """

    def __init__(self, rows: dict[str, list[object]], allowed: str):
        self.rows = rows
        self.allowed = allowed
        detail = "; ".join(f"{col!r}: {_preview(labels)}" for col, labels in rows.items())
        super().__init__(f"invalid values in {detail}. Allowed: {allowed}.")
