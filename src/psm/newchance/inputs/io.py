"""Reading supplied CSV files and parsing their cells, without guessing.

* Files are read as text, every cell a string; nothing is converted silently.
  Encoding, delimiter, ragged rows and empty files are reported as problems.
* Rows are labelled by the file line on which they start (header = line 1),
  counting blank lines and newlines inside quoted cells, so every message
  points at a line an analyst can open. Every ragged row is reported, with its
  line and number of fields.
* Files larger than :data:`MAX_BYTES` or with a line longer than
  :data:`MAX_LINE` characters are refused before parsing (a referral file has
  short lines; a huge single line is a wrong file, not data). UTF-16 files are
  named as such.
* Dates outside 1900–2100 are not dates (they would fall outside pandas'
  datetime range, and no referral or offence is that old or that late).
* Dates: ISO ``YYYY-MM-DD`` or UK day-first ``DD/MM/YYYY``, ``DD-MM-YYYY``,
  ``DD.MM.YYYY``, ``1 May 2015``/``01-May-2015``; an optional time of day is
  ignored. Two-digit years and month-first (US) dates are never accepted: a
  month above 12 makes the date unparseable rather than swapped.
"""

from __future__ import annotations

import calendar
import csv
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
MAX_BYTES = 200_000_000
MAX_LINE = 100_000
YEARS = (1900, 2100)


def read_raw_csv(path: Path, label: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read ``path`` as a frame of stripped strings (``NA`` for empty cells).

    Returns the frame (index = file line numbers, column names stripped and
    lower-cased) and the problems found; the frame is ``None`` when the file
    cannot be read at all. ``label`` names the file in messages.
    """
    if not path.is_file():
        return None, [Problem(label, None, "file_missing", f"file not found: {path.name}")]
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_BYTES else b""
    except OSError as exc:
        return None, [Problem(label, None, "unreadable", f"cannot be read: {exc.strerror or exc}")]
    if size > MAX_BYTES:
        return None, [Problem(label, None, "too_large", f"the file is {size / 1e6:.0f} MB, larger than a referral or "
                              f"offence file can be ({MAX_BYTES / 1e6:.0f} MB); is it the right file?")]
    raw = path.read_bytes()
    text, problem = _decode(raw, label)
    if problem is not None:
        return None, [problem]
    if not text.strip():
        return None, [Problem(label, None, "empty", "the file is empty (no header, no rows)")]
    long = _long_line(text)
    if long is not None:
        return None, [Problem(label, None, "line_too_long", f"line {long[0]} has {long[1]:,} characters (at most "
                              f"{MAX_LINE:,} expected); the file is not a CSV of one row per person or offence")]
    header = text.splitlines()[0]
    delimiter_problem = _wrong_delimiter(header, label)
    if delimiter_problem:
        return None, [delimiter_problem]
    try:
        names, rows, lines = _records(text)
    except csv.Error as exc:
        return None, [Problem(label, None, "malformed", f"cannot be parsed as CSV: {exc}")]
    names = [str(c).strip().lower() for c in names]
    problems = _duplicate_headers(names, label)
    ragged = [(line, len(row)) for line, row in zip(lines, rows, strict=True) if len(row) != len(names)]
    if ragged:
        shown = "; ".join(f"line {line}: {n} fields" for line, n in ragged[:SHOWN_RAGGED])
        more = f" and {len(ragged) - SHOWN_RAGGED} more rows" if len(ragged) > SHOWN_RAGGED else ""
        problems.append(Problem(label, None, "malformed", f"cannot be parsed as CSV: {len(ragged)} row(s) do not have "
                                f"the header's {len(names)} fields ({shown}{more})",
                                rows=tuple(line for line, _ in ragged)))
        return None, problems
    if problems:
        return None, problems
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    frame.index = pd.Index(lines, name="line")
    frame = frame.apply(lambda s: s.astype("string").str.strip().replace("", pd.NA))
    if frame.empty:
        problems.append(Problem(label, None, "empty", "the file has a header but no data rows"))
    return frame, problems


SHOWN_RAGGED = 5


def _decode(raw: bytes, label: str) -> tuple[str, Problem | None]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 1 and raw[:200].count(b"\x00") > len(raw[:200]) // 4):
        return "", Problem(label, None, "encoding", "the file is UTF-16 text (as Excel's 'Unicode Text' saves it); "
                           "save it as UTF-8 (Excel: 'CSV UTF-8')")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = (
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} on line {line} cannot be decoded "
            "(the file was probably saved as Windows-1252/Latin-1). Save it as UTF-8 (Excel: 'CSV UTF-8')"
        )
        return "", Problem(label, None, "encoding", message)


def _long_line(text: str) -> tuple[int, int] | None:
    start, number = 0, 1
    while True:
        end = text.find("\n", start)
        length = (len(text) if end < 0 else end) - start
        if length > MAX_LINE:
            return number, length
        if end < 0:
            return None
        start, number = end + 1, number + 1


def _records(text: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows and the file line each row starts on (blank lines skipped, not renumbered)."""
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    names: list[str] | None = None
    rows, lines = [], []
    previous = 0
    for record in reader:
        start, previous = previous + 1, reader.line_num
        if not record or all(not cell.strip() for cell in record) and len(record) <= 1:
            continue
        if names is None:
            names = record
            continue
        rows.append(record)
        lines.append(start)
    return names or [], rows, lines


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


def _duplicate_headers(names: list[str], label: str) -> list[Problem]:
    series = pd.Series(names)
    repeated = series[series.duplicated()].unique().tolist()
    if not repeated:
        return []
    return [Problem(label, ", ".join(repeated), "duplicate_header",
                    f"column name(s) appear more than once (which one holds the data?): {repeated}",
                    allowed="each column once")]


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
        year = parts["year"].astype(int)
        inside = year.between(*YEARS)  # outside: not a date (and outside pandas' datetime range)
        if not inside.any():
            continue
        result[inside[inside].index] = pd.to_datetime(
            pd.DataFrame({"year": year[inside], "month": month[inside], "day": parts["day"][inside].astype(int)}),
            errors="coerce",
        )
    return result


def parse_integers(values: pd.Series) -> pd.Series:
    """Whole numbers (optionally signed) as ``float``; anything else gives ``NaN``."""
    text = values.astype("string")
    ok = text.str.fullmatch(_INTEGER).fillna(False).astype(bool)
    return pd.to_numeric(text.where(ok), errors="coerce").astype(float)
