"""Reading supplied CSV files and parsing their cells, without guessing.

* Files are read as text, every cell a string; nothing is converted silently.
  Encoding, delimiter, ragged rows and empty files are reported as problems.
* Rows are labelled by their file line number (header = line 1), so every
  message points at a line an analyst can open.
* Dates: ISO ``YYYY-MM-DD`` or UK day-first ``DD/MM/YYYY``, ``DD-MM-YYYY``,
  ``DD.MM.YYYY``, ``1 May 2015``/``01-May-2015``; an optional time of day is
  ignored. Two-digit years and month-first (US) dates are never accepted: a
  month above 12 makes the date unparseable rather than swapped.
"""

from __future__ import annotations

import calendar
import io
from pathlib import Path

import pandas as pd

from psm.newchance.inputs.problems import Problem

ACCEPTED_DATES = "YYYY-MM-DD or day-first DD/MM/YYYY (also DD-MM-YYYY, DD.MM.YYYY, 1 May 2015)"
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_ISO = rf"^(?P<year>\d{{4}})-(?P<month>\d{{1,2}})-(?P<day>\d{{1,2}}){_TIME}$"
_UK = rf"^(?P<day>\d{{1,2}})[/.-](?P<month>\d{{1,2}})[/.-](?P<year>\d{{4}}){_TIME}$"
_UK_NAMED = rf"^(?P<day>\d{{1,2}})[ -](?P<month>[A-Za-z]{{3,9}})[ -](?P<year>\d{{4}}){_TIME}$"
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name} | {
    name.lower(): i for i, name in enumerate(calendar.month_abbr) if name
}
_INTEGER = r"^[+-]?\d+$"
_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def read_raw_csv(path: Path, label: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read ``path`` as a frame of stripped strings (``NA`` for empty cells).

    Returns the frame (index = file line numbers, column names stripped and
    lower-cased) and the problems found; the frame is ``None`` when the file
    cannot be read at all. ``label`` names the file in messages.
    """
    if not path.is_file():
        return None, [Problem(label, None, "file_missing", f"file not found: {path}")]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = (
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} on line {line} cannot be decoded "
            "(the file was probably saved as Windows-1252/Latin-1). Save it as UTF-8 (Excel: 'CSV UTF-8')"
        )
        return None, [Problem(label, None, "encoding", message)]
    if not text.strip():
        return None, [Problem(label, None, "empty", "the file is empty (no header, no rows)")]
    header = text.splitlines()[0]
    delimiter_problem = _wrong_delimiter(header, label)
    if delimiter_problem:
        return None, [delimiter_problem]
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, ValueError) as exc:
        return None, [Problem(label, None, "malformed", f"cannot be parsed as CSV: {exc}")]
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    frame = frame.apply(lambda s: s.str.strip().replace("", pd.NA))
    problems = _duplicate_headers(frame, label)
    if frame.empty:
        problems.append(Problem(label, None, "empty", "the file has a header but no data rows"))
    return frame, problems


def _wrong_delimiter(header: str, label: str) -> Problem | None:
    commas = header.count(",")
    for delimiter, name in _DELIMITERS.items():
        if header.count(delimiter) > commas:
            return Problem(
                label,
                None,
                "delimiter",
                f"the header looks {name}-delimited ({name}s: {header.count(delimiter)}, commas: {commas}): "
                f"{header[:80]!r}. Save the file comma-separated",
            )
    return None


def _duplicate_headers(frame: pd.DataFrame, label: str) -> list[Problem]:
    names = pd.Series(frame.columns)
    repeated = names[names.duplicated()].unique().tolist()
    if not repeated:
        return []
    return [Problem(label, None, "duplicate_header", f"column name(s) appear more than once: {repeated}")]


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse strings in the accepted formats; anything else (and ``NA``) gives ``NaT``.

    Day-first is the only reading of ``a/b/yyyy``: ``05/31/2015`` is not a date.
    """
    text = values.astype("string")
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for pattern in (_ISO, _UK, _UK_NAMED):
        parts = text.str.extract(pattern)
        found = parts["year"].notna() & result.isna()
        if not found.any():
            continue
        parts = parts[found]
        month = pd.to_numeric(parts["month"], errors="coerce").fillna(parts["month"].str.lower().map(_MONTHS))
        result[found] = pd.to_datetime(
            pd.DataFrame({"year": parts["year"].astype(int), "month": month, "day": parts["day"].astype(int)}),
            errors="coerce",
        )
    return result


def parse_integers(values: pd.Series) -> pd.Series:
    """Whole numbers (optionally signed) as ``float``; anything else gives ``NaN``."""
    text = values.astype("string")
    ok = text.str.fullmatch(_INTEGER).fillna(False).astype(bool)
    return pd.to_numeric(text.where(ok), errors="coerce").astype(float)
