"""Disclosure control of report outputs made from supplied data: one layer every table goes through.

The data are about identifiable offenders, so a report made from supplied data carries aggregates
only, and no count below the threshold ``k`` (default 10, ``--min-count``) may be read from it, either
directly or by arithmetic on what is printed. :class:`psm.newchance.report.writer.ReportWriter` passes
every table through :func:`protect_table` (and every figure's data through
:mod:`psm.newchance.report.figures` and the plotting options named there) before anything is written
or displayed; the rules are set out for readers in ``docs/disclosure.md``.

**Primary suppression.** A count of 1 to ``k - 1`` is shown as
``"<k"``. Zeros are shown: a zero describes no one (and a suppressed zero could often be recovered
exactly from totals anyway). Count columns are those declared by the caller and every column whose
name marks it as a count of people (:data:`COUNT_COLUMNS`).

**Complements.** A count ``c`` printed beside its group size ``N`` also discloses ``N - c``
("12/17" tells that 5 did not reoffend): ``c`` is suppressed when ``N - c`` is 1 to ``k - 1``
(:data:`COMPLEMENTS`).

**Derived cells.** In a row where a count is suppressed, every cell computed from it (percentages,
rates, differences, test statistics and p-values: :data:`DERIVED_COLUMNS` and the caller's
``derived``) is suppressed too, so the count cannot be solved back from ``t``, ``chi2`` or a rate.

**Secondary suppression.** Cells that add up to a total printed elsewhere (the categories of one
distribution, the two groups of a test, the treated on and off support, the removals of one flow
chain) never have a single suppressed cell: the next smallest non-zero cell of the same set is suppressed too,
so differencing gives only the sum of two or more suppressed cells, never one. In the flow of
records, ``remaining`` is hidden between the first and last suppressed removal of a chain, since
each ``remaining`` is the previous one minus the removal.

**Rates of few people.** A table that states, in ``attrs["denominators"]``, the number of people
behind each rate (the effect tables, stacked ones included, and the specification grid do) has a row's
rates, difference, SE and t (the grid's ATT, interval and p) hidden when a rate stands for 1 to
``k - 1`` people (or leaves that few out).

**Extremes.** A minimum or maximum is one person's value (the oldest woman's age): such columns
(:data:`EXTREME_COLUMNS`) are shown as ``"not shown"``; percentiles of the group are printed instead.

**Identifier guard** (:func:`check_no_identifiers`). Refuses a table with a column or index level
whose *name* marks it as person-level: identifiers (``id``, ``*_id``, ``key``, ``pnc``, ``nhs``...),
names and addresses, dates of birth, the person-level event dates of the raw schema
(``referral_date``, ``offence_date``, ``reoffence_date``, ``index_date``) and free text
(``*description*``, ``index_offence``, ``notes``, ``comments``, ``narrative``, ``free_text``). The
rules are in :data:`IDENTIFIER_RULES`. The guard looks at names, not contents: it is a safety net
against writing a row-level extract by mistake; a column that trips it by name only can be let
through with ``allow=``.

What the rules do not claim: bounds. Knowing that two suppressed cells sum to 11 bounds each of them;
the guarantee is that no suppressed count can be *derived exactly* from the outputs of a report.
Synthetic data (``synthetic: true``) are not suppressed.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from psm.errors import ColumnNotFoundError, PSMError

__all__ = [
    "COMPLEMENTS",
    "COUNT_COLUMNS",
    "DERIVED_COLUMNS",
    "EXTREME_COLUMNS",
    "IDENTIFIER_RULES",
    "LINKED_COLUMNS",
    "NOT_SHOWN",
    "DisclosureError",
    "check_no_identifiers",
    "is_small",
    "protect_table",
    "suppression_marker",
    "suppression_note",
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


# -- the whole-table layer ------------------------------------------------------------------------

#: Normalised column names that hold counts of people (suppressed whatever the caller declares).
COUNT_COLUMNS = frozenset({
    "count", "n", "n_0", "n_1", "missing", "reoffended", "reoffended_0", "reoffended_1", "removed", "remaining",
    "units", "treatment", "comparison", "n_eligible", "n_estimation", "estimation_sample",
    "dropped_missing_covariate", "treated_off_support", "n_treated_off_support", "treated_matched",
    "n_treated_matched", "distinct_controls_used", "excluded_rows", "events", "observed_matched_controls",
    "observed_treated_matched",
})
#: count -> its group size: the count is suppressed when the complement (size - count) is small.
COMPLEMENTS = {"count": "n", "reoffended": "n", "reoffended_0": "n_0", "reoffended_1": "n_1"}
#: Columns computed from a row's counts, suppressed in every row where one of them is suppressed.
DERIVED_COLUMNS = frozenset({
    "percent", "rate", "rate_0", "rate_1", "difference_from_average", "difference", "t", "df", "p", "chi2",
    "p_chi2", "p_fisher", "significant",
})
#: Counts that enter no statistic of their row (their suppression leaves the row's statistics shown).
_NOT_IN_STATISTICS = frozenset({
    "missing", "n_treated_off_support", "treated_off_support", "treated_matched", "n_treated_matched",
    "distinct_controls_used", "dropped_missing_covariate", "n_eligible", "n_estimation", "estimation_sample",
    "excluded_rows",
})
#: Columns of one row that add up to a total printed elsewhere: never one of them suppressed alone.
LINKED_COLUMNS = (("n_0", "n_1"), ("reoffended_0", "reoffended_1"), ("treated_off_support", "treated_matched"),
                  ("n_treated_off_support", "n_treated_matched"))
#: Count columns whose rows add up to a total within a group of rows (categories of a distribution).
_ADDITIVE = frozenset({"count", "n", "reoffended"})
#: Columns of individual minima and maxima.
EXTREME_COLUMNS = frozenset({"min", "max", "minimum", "maximum"})
NOT_SHOWN = "not shown"


def is_small(values: pd.Series, min_count: int) -> pd.Series:
    """True where a count is 1 to ``min_count - 1`` (the primary rule; missing values are False)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return ((numbers >= 1) & (numbers < min_count)).fillna(False).astype(bool)


def _whole_counts(frame: pd.DataFrame, column: Hashable) -> bool:
    values = pd.to_numeric(frame[column], errors="coerce") if frame[column].dtype != bool else None
    if values is None or values.isna().all() or (values.isna() & frame[column].notna()).any():
        return False
    known = values.dropna()
    return bool(((known >= 0) & (known % 1 == 0)).all())


def protect_table(
    frame: pd.DataFrame,
    min_count: int = 10,
    *,
    counts: Sequence[Hashable] = (),
    derived: Sequence[Hashable] = (),
) -> tuple[pd.DataFrame, int]:
    """Apply every rule of the module docstring to one table; return (protected copy, cells hidden).

    ``counts``/``derived`` add to the columns recognised by name (:data:`COUNT_COLUMNS`,
    :data:`DERIVED_COLUMNS`). Hidden cells hold ``"<min_count"`` (counts and what derives from them)
    or ``"not shown"`` (extremes). Works by position, so repeated index labels are fine.
    """
    missing = [c for c in [*counts, *derived] if c not in frame.columns]
    if missing:
        raise ColumnNotFoundError(missing, frame.columns)
    if frame.columns.has_duplicates:
        raise DisclosureError(f"a table with repeated column names cannot be checked: {list(frame.columns)}")
    plain = frame.reset_index(drop=True)
    names = {column: _normalise(column) for column in frame.columns}
    by_name = {name: column for column, name in names.items()}
    count_columns = [c for c in frame.columns if c in counts or (names[c] in COUNT_COLUMNS and _whole_counts(frame, c))]
    _validate_counts(plain, count_columns, min_count)
    hidden = pd.DataFrame(False, index=plain.index, columns=frame.columns)
    for column in count_columns:
        hidden[column] = is_small(plain[column], min_count)
        total = by_name.get(COMPLEMENTS.get(names[column], ""))
        if total is not None and total in count_columns:
            rest = pd.to_numeric(plain[total], errors="coerce") - pd.to_numeric(plain[column], errors="coerce")
            hidden[column] |= is_small(rest, min_count)
    groups = _row_groups(frame)
    _secondary(plain, hidden, count_columns, names, by_name, groups)
    _survival(plain, hidden, names, by_name, min_count)
    _rates(plain, hidden, frame.attrs.get("denominators", {}), names, min_count)
    trigger = [c for c in count_columns if names[c] not in _NOT_IN_STATISTICS]
    rows = hidden[trigger].any(axis=1) if trigger else pd.Series(False, index=plain.index)
    for column in frame.columns:
        if column in derived or names[column] in DERIVED_COLUMNS:
            hidden[column] |= rows
    result = frame.copy()
    marker = suppression_marker(min_count)
    for column in frame.columns:
        mask = hidden[column].to_numpy()
        if mask.any():
            values = frame[column].astype(object).to_numpy().copy()
            values[mask] = marker
            result[column] = pd.Series(values, index=frame.index, dtype=object)
    extremes = [c for c in frame.columns if names[c] in EXTREME_COLUMNS]
    for column in extremes:
        result[column] = pd.Series(NOT_SHOWN, index=frame.index, dtype=object).where(frame[column].notna())
    return result, int(hidden.to_numpy().sum()) + int(sum(frame[c].notna().sum() for c in extremes))


def _survival(plain: pd.DataFrame, hidden: pd.DataFrame, names: Mapping[Hashable, str],
              by_name: Mapping[str, Hashable], min_count: int) -> None:
    """Shares not yet reoffended by day t (of ``weighted`` people) imply counts of reoffences: a share
    is hidden when the reoffences since the last share shown, or the people left, are 1 to k - 1;
    a median day is hidden when fewer than k events lie behind it."""
    columns = [c for c, name in names.items() if name.startswith("not_reoffended_by_day")]
    if "weighted" in by_name and columns:
        people = pd.to_numeric(plain[by_name["weighted"]], errors="coerce").to_numpy(float)
        for i in range(len(plain)):
            shown_events = 0.0
            for column in columns:
                events = np.round((1 - float(plain[column].iloc[i])) * people[i])
                step, left = events - shown_events, people[i] - events
                if 1 <= step < min_count or 1 <= left < min_count:
                    hidden.iloc[i, hidden.columns.get_loc(column)] = True
                else:
                    shown_events = events
    if "median_days" in by_name and "events" in by_name:
        few = pd.to_numeric(plain[by_name["events"]], errors="coerce") < min_count
        hidden[by_name["median_days"]] |= few.fillna(True).to_numpy()


#: The cells of one row of an effect table (and of the specification grid: the ATT, its SEs and interval),
#: hidden together when one of its rates stands for few people.
_EFFECT_CELLS = frozenset({"treated", "control", "difference", "se", "t", "star", "att", "ci_low", "ci_high", "p",
                           "se_ai", "se_psmatch2"})


def _rates(plain: pd.DataFrame, hidden: pd.DataFrame, denominators: Mapping[Hashable, Sequence[float]],
           names: Mapping[Hashable, str], min_count: int) -> None:
    """Rates with their number of people per row (``frame.attrs["denominators"]``, set by the effect
    tables): a rate standing for 1 to k - 1 people, or leaving 1 to k - 1 out, hides its row's rates,
    difference, SE and t (any one of them with the others would give it back)."""
    rows = np.zeros(len(plain), dtype=bool)
    for column, sizes in denominators.items():
        if column not in plain.columns or len(sizes) != len(plain):
            continue
        people = np.asarray(sizes, dtype=float)
        events = np.round(pd.to_numeric(plain[column], errors="coerce").to_numpy(float) * people)
        rows |= (is_small(pd.Series(events), min_count) | is_small(pd.Series(people - events), min_count)).to_numpy()
    for column in plain.columns:
        if names[column] in _EFFECT_CELLS:
            hidden[column] |= rows


def _row_groups(frame: pd.DataFrame) -> list[np.ndarray]:
    """Positions of the rows of each group: all but the last index level (the whole table for one level)."""
    if frame.index.nlevels == 1:
        return [np.arange(len(frame))]
    keys = pd.Series(list(zip(*(frame.index.get_level_values(i) for i in range(frame.index.nlevels - 1)))))
    return [np.flatnonzero((keys == key).to_numpy()) for key in dict.fromkeys(keys)]


def _secondary(plain: pd.DataFrame, hidden: pd.DataFrame, counts: list[Hashable], names: Mapping[Hashable, str],
               by_name: Mapping[str, Hashable], groups: list[np.ndarray]) -> None:
    """Secondary suppression in place: linked pairs, additive categories and flow chains."""
    for pair in LINKED_COLUMNS:
        columns = [by_name[name] for name in pair if name in by_name and by_name[name] in counts]
        if len(columns) == 2:
            either = hidden[columns[0]] | hidden[columns[1]]
            for column in columns:
                hidden[column] |= either
    if "removed" in by_name and "remaining" in by_name:
        by = [c for c in ("file", "window") if c in plain.columns]
        keys = plain[by].astype(str).agg("|".join, axis=1) if by else pd.Series("", index=plain.index)
        chains = [np.flatnonzero((keys == key).to_numpy()) for key in dict.fromkeys(keys)]
        _chains(plain, hidden, by_name["removed"], by_name["remaining"], chains)
    for column in counts:
        if names[column] not in _ADDITIVE:
            continue
        for rows in groups:
            values = pd.to_numeric(plain[column].iloc[rows], errors="coerce")
            if values.nunique(dropna=True) <= 1:
                continue  # a group size repeated on every row, not categories adding up
            _one_more(values.to_numpy(float), rows, hidden, column)


def _one_more(values: np.ndarray, rows: np.ndarray, hidden: pd.DataFrame, column: Hashable) -> None:
    """If exactly one cell of a set (rows, by position) is hidden, hide the smallest other known cell too:
    the smallest non-zero one (a hidden zero beside a hidden 3 would still say the 3 is at most 3), a zero
    only when no other cell is left."""
    now = hidden[column].to_numpy()[rows]
    if int(now.sum()) != 1:
        return
    candidates = np.where(~now & np.isfinite(values) & (values > 0), values, np.inf)
    if not np.isfinite(candidates).any():
        candidates = np.where(~now & np.isfinite(values), values, np.inf)
    if np.isfinite(candidates).any():
        hidden.iloc[rows[int(np.argmin(candidates))], hidden.columns.get_loc(column)] = True


def _chains(plain: pd.DataFrame, hidden: pd.DataFrame, removed: Hashable, remaining: Hashable,
            chains: list[np.ndarray]) -> None:
    """Flow of records: rows of one chain have remaining[i] = remaining[i-1] - removed[i]; with two or
    more removals hidden, ``remaining`` is hidden from the first hidden removal up to the last."""
    where = hidden.columns.get_loc(remaining)
    for rows in chains:
        _one_more(pd.to_numeric(plain[removed].iloc[rows], errors="coerce").to_numpy(float), rows, hidden, removed)
        positions = [i for i, row in enumerate(rows) if hidden[removed].iloc[row]]
        if not positions:
            continue
        stop = positions[-1] if len(positions) > 1 else positions[0] + 1
        for row in rows[positions[0]:stop]:
            hidden.iloc[row, where] = True
