"""Validation of supplied files: one pass, every problem, each one actionable.

Column checks (presence, empty required cells, duplicate IDs, dates, whole
numbers, ranges, codes) are declared from :mod:`psm.newchance.inputs.schema` as a
pandera ``DataFrameSchema`` and run with ``lazy=True``; pandera's
``failure_cases`` (column, check, offending value, row label) are grouped into
one :class:`~psm.newchance.inputs.problems.Problem` per column and check. Checks that
involve two columns or the extract date are plain pandas below, run on the
columns that passed their own checks.

Checks run on the raw strings (after the mapping), so messages quote what the
file actually contains. Rows are file line numbers.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable

import pandas as pd
import pandera.pandas as pa

from psm.newchance.inputs.io import ACCEPTED_DATES, parse_dates, parse_integers
from psm.newchance.inputs.problems import Problem, distinct
from psm.newchance.inputs.config import RULE_REOFFENCE_BEFORE_INDEX, RULE_REOFFENDING_UNKNOWN
from psm.newchance.inputs.schema import ColumnSpec, FileSchema

MAPPING_HINT = "or translate the file's values with a mapping file (--mapping)"


def _date_check(values: pd.Series) -> pd.Series:
    return parse_dates(values).notna()


def _integer_check(values: pd.Series) -> pd.Series:
    return parse_integers(values).notna()


def _range_check(spec: ColumnSpec) -> Callable[[pd.Series], pd.Series]:
    def check(values: pd.Series) -> pd.Series:
        numbers = parse_integers(values)
        low = numbers >= spec.minimum if spec.minimum is not None else True
        high = numbers <= spec.maximum if spec.maximum is not None else True
        return numbers.isna() | (low & high)  # non-numbers are reported by the integer check

    return check


def _checks(spec: ColumnSpec) -> list[pa.Check]:
    if spec.type == "date":
        return [pa.Check(_date_check, error="date")]
    if spec.type == "integer":
        return [pa.Check(_integer_check, error="integer"), pa.Check(_range_check(spec), error="range")]
    if spec.type == "code":
        codes = set(spec.codes)
        return [pa.Check(lambda s: s.isin(codes), error="code")]
    return []


def pandera_schema(schema: FileSchema) -> pa.DataFrameSchema:
    """The column checks of one raw file, as a pandera schema over string columns."""
    return pa.DataFrameSchema(
        {
            spec.name: pa.Column(
                None,
                checks=_checks(spec),
                nullable=not spec.must_be_filled,
                unique=spec.unique,
                required=spec.must_exist,
            )
            for spec in schema.columns
        },
        strict=False,
    )


def _allowed(spec: ColumnSpec) -> str:
    if spec.type == "date":
        return ACCEPTED_DATES
    if spec.type == "integer":
        high = f"–{spec.maximum}" if spec.maximum is not None else " or more"
        return f"whole numbers {spec.minimum}{high}"
    if spec.type == "code":
        return ", ".join(spec.codes) + (f" (empty = {spec.empty})" if spec.empty else "") + f", {MAPPING_HINT}"
    return "any non-empty text"


def _message(spec: ColumnSpec, check: str) -> str:
    if check == "range":
        if spec.maximum is not None:
            return f"values outside {spec.minimum}–{spec.maximum}"
        return "negative counts" if spec.minimum == 0 else f"values below {spec.minimum}"
    return {
        "not_nullable": "empty cells in a required column",
        "field_uniqueness": "duplicate IDs (each row needs its own)",
        "date": "not a date in an accepted format (month-first dates are not accepted)",
        "integer": "not a whole number",
        "code": "unknown codes",
    }[check]


def column_problems(frame: pd.DataFrame, schema: FileSchema, label: str,
                    supplied: pd.DataFrame | None = None) -> list[Problem]:
    """Run the pandera schema lazily and turn its failure cases into problems.

    ``supplied``: the same rows before code normalisation, so that unknown
    codes are quoted as the file spells them.
    """
    try:
        pandera_schema(schema).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return _from_failure_cases(exc.failure_cases, frame if supplied is None else supplied, schema, label)
    return []


def _from_failure_cases(cases: pd.DataFrame, frame: pd.DataFrame, schema: FileSchema, label: str) -> list[Problem]:
    problems = []
    missing = cases[cases["check"] == "column_in_dataframe"]
    for name in missing["failure_case"]:
        close = difflib.get_close_matches(str(name), [str(c) for c in frame.columns], n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        problems.append(Problem(label, str(name), "missing_column", "required column is missing",
                                allowed=f"{hint}map the file's own column name in a mapping file (--mapping)"))
    cases = cases[cases["check"] != "column_in_dataframe"]
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        spec = schema[str(column)]
        rows = tuple(sorted(int(i) for i in group["index"].dropna().unique()))
        values = () if check == "not_nullable" else distinct(frame.loc[list(rows), str(column)])
        allowed = None if check in ("not_nullable", "field_uniqueness") else _allowed(spec)
        problems.append(Problem(label, str(column), str(check), _message(spec, str(check)), rows, values, allowed))
    order = {name: i for i, name in enumerate(schema.names)}
    return sorted(problems, key=lambda p: order.get(p.column or "", -1))


def _valid_dates(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    return parse_dates(frame[column])


def _rows(mask: pd.Series) -> tuple[int, ...]:
    return tuple(int(i) for i in mask[mask.fillna(False).astype(bool)].index)


def after_extract_problems(frame: pd.DataFrame, schema: FileSchema, label: str, extract_date: dt.date) -> list[Problem]:
    """Dates later than the extract date: the data or the extract date is wrong."""
    problems = []
    limit = pd.Timestamp(extract_date)
    for spec in schema.columns:
        if spec.type != "date":
            continue
        dates = _valid_dates(frame, spec.name)
        late = dates > limit
        if late.any():
            problems.append(Problem(
                label, spec.name, "after_extract", f"dates after the extract date {extract_date.isoformat()}",
                _rows(late), distinct(frame.loc[late, spec.name]),
                allowed="dates up to the extract date; check --extract-date / extract_date in dataset.yaml",
            ))
    return problems


def reoffending_problems(frame: pd.DataFrame, label: str) -> list[Problem]:
    """Consistency of ``reoffended``, ``reoffence_date``, ``reoffence_count`` and ``referral_date``."""
    if "reoffended" not in frame.columns:
        return []
    status = frame["reoffended"]
    date = _valid_dates(frame, "reoffence_date")
    given = frame["reoffence_date"].notna() if "reoffence_date" in frame.columns else pd.Series(False, index=frame.index)
    index_date = _valid_dates(frame, "referral_date")
    count = parse_integers(frame["reoffence_count"]) if "reoffence_count" in frame.columns else pd.Series(float("nan"), index=frame.index)
    checks = [
        ((status == "yes") & ~given, "yes_without_date", "reoffended is 'yes' but reoffence_date is empty",
         "a reoffence_date on every row with reoffended = yes", "error"),
        ((status == "no") & given, "no_with_date", "reoffended is 'no' but a reoffence_date is given",
         "an empty reoffence_date when reoffended = no", "error"),
        ((status == "yes") & (count == 0), "count_mismatch", "reoffended is 'yes' but reoffence_count is 0",
         "reoffence_count ≥ 1 when reoffended = yes", "error"),
        ((status == "no") & (count > 0), "count_mismatch", "reoffended is 'no' but reoffence_count is above 0",
         "reoffence_count = 0 (or empty) when reoffended = no", "error"),
        (date < index_date, "reoffence_before_index",
         f"reoffence_date before referral_date; these rows are removed by rule {RULE_REOFFENCE_BEFORE_INDEX!r}",
         None, "warning"),
        (status == "unknown", "reoffending_unknown",
         f"reoffending status unknown; these rows are removed by rule {RULE_REOFFENDING_UNKNOWN!r}",
         None, "warning"),
    ]
    problems = []
    for mask, check, message, allowed, severity in checks:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            column = "reoffence_date" if check in ("yes_without_date", "no_with_date", "reoffence_before_index") else "reoffended"
            values = () if check == "yes_without_date" else distinct(frame.loc[mask, column])
            problems.append(Problem(label, column, check, message, _rows(mask), values, allowed, severity))
    return problems


def _words(name: str) -> str:
    return "_".join(str(name).lower().replace("-", " ").split())


def unrecognised_columns(frame: pd.DataFrame, schema: FileSchema, label: str) -> list[Problem]:
    """Columns the schema does not know. One that looks like an optional schema column absent from the file
    (``Mental Health Need`` for ``mental_health_need``, ``ethnicity`` for ``ethnic_appearance``) is an
    error: read as it is, the schema column would silently become missing for everyone (a required
    column is reported missing, with the suggestion, by :func:`column_problems`). Others are warnings
    naming the nearest expected column; they are not read."""
    known = list(schema.names)
    absent = [spec.name for spec in schema.columns if spec.required != "yes" and spec.name not in frame.columns]
    problems = []
    for column in frame.columns:
        if column in known:
            continue
        words = _words(column)
        stem = words.split("_")[0][:5]
        near_absent = difflib.get_close_matches(words, absent, n=1, cutoff=0.6) or (
            [name for name in absent if len(stem) >= 4 and name.startswith(stem)][:1])
        if near_absent:
            problems.append(Problem(label, str(column), "misnamed_column",
                                    f"unrecognised column; it looks like the expected column {near_absent[0]!r}, "
                                    "which is absent (it would be read as missing for everyone)",
                                    allowed=f"rename it {near_absent[0]!r} or map it in a mapping file (--mapping)"))
            continue
        near = difflib.get_close_matches(words, known, n=1, cutoff=0.6)
        hint = f"nearest expected column: {near[0]!r}" if near else f"expected columns: {', '.join(known)}"
        problems.append(Problem(label, str(column), "unrecognised_column", "unrecognised column, not read",
                                allowed=hint, severity="warning"))
    return problems


def validate_frame(frame: pd.DataFrame, schema: FileSchema, label: str, extract_date: dt.date | None,
                   supplied: pd.DataFrame | None = None) -> list[Problem]:
    """Every problem of one file (renamed and code-normalised by the mapping; ``supplied``: before codes)."""
    problems = column_problems(frame, schema, label, supplied) + unrecognised_columns(frame, schema, label)
    if extract_date is not None:
        problems += after_extract_problems(frame, schema, label, extract_date)
    if schema.role == "referrals":
        problems += reoffending_problems(frame, label)
    return problems
