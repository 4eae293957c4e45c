"""How numbers and labels read in the report's pages: fixed decimals per statistic, no Python reprs.

The CSV files keep full precision (one column per index level); everything a person reads — the
markdown and HTML pages of each table, the comparison pages and the notebooks — goes through here.

Rules, decided per cell from its column name and, in tables that hold one statistic per row (a
``value`` column), from its row label:

========================  =====================================================  ============
kind                      recognised by (names, case-insensitive)                shown as
========================  =====================================================  ============
p-value                   ``p``, ``p_*``, ``*_p``, ``pvalue``, ``p>|t|``, ...    3 decimals, ``<0.001`` below
count                     every value of the column (or the cell) is whole       integer
percentage                ``*pct*``, ``*percent*``, ``%``, ``*bias*``, ``reduct``  1 decimal
test statistic            ``t``, ``t_*``, ``z``, ``chi2``, ``lr*``, ``f``,       2 decimals
                          ``*ratio*``, ``*gamma*``, ``b``, ``r``
anything else             proportions, differences, standard errors, intervals   3 decimals
========================  =====================================================  ============

Booleans read ``yes``/``no``; missing values are blank. Labels in ``snake_case`` read with spaces;
a row label made of several index levels becomes one column per level.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["display_float", "format_table", "format_value", "is_number_text", "kind_of", "label"]

_P = re.compile(r"^(p|pvalue|p_value|p-value|p>\|t\||p>\|z\||p>chi2|p_.*|.*_p)$")
_PERCENT = re.compile(r"(pct|percent|%|bias|reduct)")
_STAT = re.compile(r"^(t|z|f|b|r|chi2|t_.*|z_.*|lr.*|.*ratio.*|.*gamma.*|statistic|.*_stat)$")
_DECIMALS = {"p": 3, "percent": 1, "stat": 2}


def kind_of(name: Hashable) -> str | None:
    """The statistic a column or row name announces: ``"p"``, ``"percent"``, ``"stat"`` or None."""
    text = str(name[-1] if isinstance(name, tuple) else name).strip().lower()
    if _P.match(text):
        return "p"
    if _STAT.match(text):
        return "stat"
    if _PERCENT.search(text):
        return "percent"
    return None


def label(value: Any) -> str:
    """A row or column label as a person reads it: tuple levels joined by " · ", ``snake_case`` with
    spaces."""
    if isinstance(value, tuple):
        return " · ".join(label(v) for v in value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).replace("_", " ") if isinstance(value, str) else str(value)


def _is_whole(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and float(value).is_integer()


def format_value(value: Any, kind: str | None = None, *, whole: bool = False, decimals: int = 3) -> str:
    """One cell as text (see the module table). ``whole``: the column holds counts; ``decimals``: of
    plain numbers (proportions, means, differences)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (Integral, np.integer)):
        return str(int(value))
    if isinstance(value, (Real, np.floating)):
        value = float(value)
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if kind == "p":
            return "<0.001" if value < 0.0005 else f"{value:.3f}"
        if whole or (kind is None and _is_whole(value) and abs(value) >= 1):
            return f"{value:.0f}"
        text = f"{value:.{_DECIMALS[kind] if kind else decimals}f}"
        return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text
    return label(value) if isinstance(value, str) else str(value)


def _whole_column(column: pd.Series) -> bool:
    values = column.dropna()
    if values.empty or column.dtype == bool:
        return False
    if pd.api.types.is_integer_dtype(column):
        return True
    numeric = pd.to_numeric(values, errors="coerce")
    return bool(numeric.notna().all() and (numeric == numeric.round()).all() and (numeric.abs() >= 1).any())


def format_table(frame: pd.DataFrame, *, index: bool | None = None, decimals: int = 3) -> pd.DataFrame:
    """``frame`` as a table of strings for people: one column per index level (unless the index is a
    plain RangeIndex, or ``index=False``), readable labels, numbers formatted per statistic
    (``decimals``: of plain numbers)."""
    if index is None:
        index = not isinstance(frame.index, pd.RangeIndex)
    shown = frame.reset_index() if index else frame.reset_index(drop=True)
    if index:
        names = [n if n is not None else ("" if frame.index.nlevels == 1 else f"level {i + 1}")
                 for i, n in enumerate(frame.index.names)]  # fmt: skip
        shown.columns = [*names, *frame.columns]
    out = {}
    row_kinds = [None] * len(shown)
    if index:  # tables with one statistic per row: the last index level names it
        row_kinds = [kind_of(v) for v in shown.iloc[:, frame.index.nlevels - 1]]
    for position, name in enumerate(shown.columns):
        column = shown.iloc[:, position]
        kind = kind_of(name)
        whole = _whole_column(column) and kind not in {"p", "stat"}
        by_row = kind is None and not whole  # a column of mixed statistics, named by the rows
        out[label(name)] = [
            format_value(v, row_kinds[i] if by_row else kind, whole=whole, decimals=decimals)
            for i, v in enumerate(column)
        ]
    return pd.DataFrame(out, columns=list(out))


def is_number_text(text: str) -> bool:
    """Whether a formatted cell is a number (``772``, ``-6.86``, ``<0.001``): right-aligned in tables."""
    digits = str(text).lstrip("<>−-").replace("∞", "0", 1)
    return bool(digits) and digits.replace(".", "", 1).isdigit()


def display_float(value: float) -> str:
    """Pandas ``display.float_format`` for the notebooks: whole numbers as integers, others with 3
    decimals, magnitudes below 0.001 as ``<0.001`` — never scientific notation."""
    if math.isnan(value):
        return "NaN"
    if _is_whole(value):
        return f"{value:.0f}"
    if 0 < abs(value) < 0.0005:
        return "<0.001" if value > 0 else ">−0.001"
    return f"{value:.3f}"
