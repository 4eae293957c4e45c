"""Disclosure control for report outputs: small-count suppression and an identifier guard.

The data are about identifiable offenders, so a report made from supplied data carries aggregates
only (DESIGN.md, "Reliability and data protection"). Two checks enforce that at the point where a
table is written (:class:`psm.newchance.report.build.ReportWriter` applies both):

**Small-count suppression** (:func:`suppress_small_counts`). In descriptive tables, a count below the
threshold (default 10, ``--min-count``) is replaced by the marker ``"<10"``; percentages or rates
computed from a suppressed count (``derived`` columns) are replaced in the same rows, so the count
cannot be recovered from them. This is primary suppression only: a table whose printed total lets a
reader subtract the other cells back to a suppressed one needs the total left out or suppressed too
(secondary suppression is not automated). Synthetic data are not suppressed.

**Identifier guard** (:func:`check_no_identifiers`). Refuses a table with a column or index level
whose *name* marks it as person-level: identifiers (``id``, ``*_id``, ``key``, ``pnc``, ``nhs``...),
names and addresses, dates of birth, the person-level event dates of the raw schema
(``referral_date``, ``offence_date``, ``reoffence_date``, ``index_date``) and free text
(``*description*``, ``index_offence``, ``notes``, ``comments``, ``narrative``, ``free_text``). The
rules are in :data:`IDENTIFIER_RULES`. The guard looks at names, not contents: it is a safety net
against writing a row-level extract by mistake, not a proof that a table is safe; a column that
trips it by name only can be let through with ``allow=``.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence

import pandas as pd

from psm.errors import ColumnNotFoundError, PSMError

__all__ = [
    "IDENTIFIER_RULES",
    "DisclosureError",
    "check_no_identifiers",
    "suppression_marker",
    "suppression_note",
    "suppress_small_counts",
]


class DisclosureError(PSMError, ValueError):
    """A table would disclose person-level information (identifiers, dates of birth, free text)."""


#: Rule name -> regular expression matched against the normalised name (lower case, runs of
#: non-alphanumerics replaced by ``_``).
IDENTIFIER_RULES: Mapping[str, re.Pattern[str]] = {
    "identifier": re.compile(r"(^|_)(id|ids|identifier|key|uuid|guid|urn|pnc|nhs|cro|nino)($|_)"),
    "name": re.compile(r"(^|_)(forename|forenames|surname|first_name|last_name|full_name|given_name)($|_)"),
    "date of birth": re.compile(r"(^|_)(dob|birth|birthdate|date_of_birth|birth_date)($|_)"),
    "address": re.compile(r"(^|_)(address|postcode|post_code|street)($|_)"),
    "person-level date": re.compile(r"^(referral|offence|reoffence|index|arrest|charge)_date$"),
    "free text": re.compile(r"(description|narrative|free_?text|(^|_)notes?($|_)|(^|_)comments?($|_)|^index_offence$)"),
}


def _normalise(name: Hashable) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")


def _labels(frame: pd.DataFrame) -> list[tuple[str, Hashable]]:
    labels: list[tuple[str, Hashable]] = []
    for column in frame.columns:
        parts = column if isinstance(column, tuple) else (column,)
        labels.extend(("column", part) for part in parts)
    labels.extend(("index level", name) for name in frame.index.names if name is not None)
    labels.extend(("column level", name) for name in frame.columns.names if name is not None)
    return labels


def check_no_identifiers(frame: pd.DataFrame, *, allow: Iterable[Hashable] = ()) -> None:
    """Raise :class:`DisclosureError` if a column or index level is named like person-level data.

    ``allow`` lists names to let through (for an aggregate column that only looks like an
    identifier, e.g. a ``key`` of covariates). Every offending name is reported at once, with the
    rule it matched (see :data:`IDENTIFIER_RULES`).
    """
    allowed = {_normalise(name) for name in allow}
    problems = []
    for where, label in _labels(frame):
        norm = _normalise(label)
        if norm in allowed:
            continue
        matched = [rule for rule, pattern in IDENTIFIER_RULES.items() if pattern.search(norm)]
        if matched:
            problems.append(f"{where} {label!r} ({', '.join(matched)})")
    if problems:
        raise DisclosureError(
            "refusing to write person-level data: " + "; ".join(problems) + ". Reports carry aggregates "
            "only; drop these columns, or pass allow=[...] if a name is a false alarm."
        )


def suppression_marker(min_count: int) -> str:
    """The text shown instead of a suppressed count (``"<10"``)."""
    return f"<{min_count}"


def suppression_note(min_count: int) -> str:
    """The rule, as written under a suppressed table."""
    return (
        f"Counts below {min_count} are shown as \"{suppression_marker(min_count)}\", and rates computed "
        f"from them are suppressed in the same rows (small-count suppression of supplied data; "
        f"threshold set by --min-count)."
    )


def _validate_counts(frame: pd.DataFrame, columns: Sequence[Hashable], min_count: int) -> None:
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    problems = []
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        not_number = values.isna() & frame[column].notna()
        negative_or_fraction = (values.notna() & ((values < 0) | (values % 1 != 0))).fillna(False).astype(bool)
        bad = frame.index[not_number | negative_or_fraction]
        if len(bad):
            problems.append(f"{column!r} at rows {list(bad)[:10]} (values {frame.loc[bad, column].tolist()[:10]})")
    if problems:
        raise ValueError("count columns must hold non-negative whole numbers: " + "; ".join(problems))


def suppress_small_counts(
    frame: pd.DataFrame,
    columns: Sequence[Hashable],
    min_count: int = 10,
    *,
    derived: Sequence[Hashable] = (),
) -> pd.DataFrame:
    """Replace counts below ``min_count`` by ``"<min_count"`` (a new frame; the input is unchanged).

    ``columns`` are count columns (non-negative whole numbers; missing values stay missing).
    ``derived`` are columns computed from the counts (percentages, rates): in every row where a
    count is suppressed they are replaced by the marker too. Zero counts are suppressed as well
    (below the threshold). Suppressed and derived columns become object dtype (numbers and markers).
    """
    missing = [c for c in [*columns, *derived] if c not in frame.columns]
    if missing:
        raise ColumnNotFoundError(missing, frame.columns)
    _validate_counts(frame, columns, min_count)
    marker = suppression_marker(min_count)
    result = frame.copy()
    small_rows = pd.Series(False, index=frame.index)
    for column in columns:
        small = (pd.to_numeric(frame[column]) < min_count).fillna(False).astype(bool)
        small_rows |= small
        result[column] = frame[column].astype(object).where(~small, marker)
    for column in derived:
        result[column] = frame[column].astype(object).where(~small_rows, marker)
    return result
