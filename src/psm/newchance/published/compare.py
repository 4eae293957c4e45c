"""Published vs reproduced: cell-by-cell comparison of a reproduced table with the published one.

Both tables come in the same (wide) layout: the same row labels in the index and the same column
names. The published table is best given as printed text (``published.balance_table(..., printed=True)``),
because the text carries the rounding: a number printed with ``d`` decimals stands for every value in
``[x - 0.5*10**-d, x + 0.5*10**-d]`` (the convention of
``docs/evaluation.md``). A reproduced value in that closed interval is **within rounding**: rounding it
the way the report did could have printed the published number. Flags (the significance star, given as
booleans) must be equal. Plain float published values need ``decimals=`` for an interval; without one
the cell is compared but gets no verdict.

:func:`compare_tables` returns the tidy view (one row per cell); :func:`side_by_side`,
:func:`to_markdown` and :func:`to_html` render it so that a reader sees at once what matches.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from html import escape
from typing import Any

import pandas as pd

from psm.newchance.published.numbers import printed_decimals

__all__ = [
    "STATUSES",
    "agreement_counts",
    "compare_tables",
    "side_by_side",
    "status_counts",
    "tidy",
    "to_html",
    "to_markdown",
]

#: Cell statuses, in the order they are reported.
STATUSES: tuple[str, ...] = ("match", "differs", "no rounding rule", "not reproduced", "not published")

_MARKS: Mapping[str, str] = {
    "match": "✓",
    "differs": "✗",
    "no rounding rule": "?",
    "not reproduced": "–",
    "not published": "–",
}
_COLOURS: Mapping[str, str] = {
    "match": "background-color: #e6f4ea",
    "differs": "background-color: #fce8e6",
    "no rounding rule": "background-color: #fef7e0",
    "not reproduced": "background-color: #f1f3f4",
    "not published": "background-color: #f1f3f4",
}
LEGEND = (
    "Each cell: published / reproduced (reproduced shown at the published precision). "
    "✓ within the published rounding (a number printed with d decimals stands for ± half a unit of its "
    "last digit, e.g. 0.23 for 0.225 to 0.235; flags must be equal); "
    "✗ outside it; ? no rounding rule known; – missing on one side."
)
_FLOAT_SLACK = 1e-9  # relative slack so that binary floating point does not move an interval end


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value == ""


def _published_cell(value: Any, decimals: int | None) -> tuple[float, float, int | None, str]:
    """(value, tolerance, decimals, kind) of one published cell; tolerance NaN = no rounding rule."""
    if _is_missing(value):
        return math.nan, math.nan, None, "missing"
    if pd.api.types.is_bool(value):
        return float(value), 0.0, None, "flag"
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"published cell {value!r} is not a printed number") from None
        d = printed_decimals(text)
        return number, 0.5 * 10.0**-d, d, "number"
    number = float(value)
    if decimals is None:
        return number, math.nan, None, "number"
    return number, 0.5 * 10.0**-decimals, decimals, "number"


def _reproduced_cell(value: Any) -> float:
    if _is_missing(value):
        return math.nan
    return float(value)


def _check_layout(reproduced: pd.DataFrame, published: pd.DataFrame) -> None:
    problems = []
    for name, frame in (("reproduced", reproduced), ("published", published)):
        duplicated = frame.index[frame.index.duplicated()].unique().tolist()
        if duplicated:
            problems.append(f"{name} table has duplicated row labels {duplicated}")
    bad = []
    for column in reproduced.columns.intersection(published.columns):
        for label, value in reproduced[column].items():
            if not _is_missing(value) and not pd.api.types.is_number(value):
                bad.append(f"{label!r}/{column!r}={value!r}")
    if bad:
        problems.append(f"reproduced cells must be numbers or booleans; got {', '.join(bad[:10])}")
    if problems:
        raise ValueError("; ".join(problems))


def _decimals_for(decimals: int | Mapping[Hashable, int] | None, column: Hashable) -> int | None:
    if isinstance(decimals, Mapping):
        return decimals.get(column)
    return decimals


def _status(published: float, reproduced: float, tolerance: float, kind: str) -> tuple[Any, str]:
    if kind == "missing":
        return pd.NA, "not published"
    if math.isnan(reproduced):
        return pd.NA, "not reproduced"
    if math.isnan(tolerance):
        return pd.NA, "no rounding rule"
    slack = _FLOAT_SLACK * max(1.0, abs(published))
    within = abs(reproduced - published) <= tolerance + slack
    return within, "match" if within else "differs"


def compare_tables(
    reproduced: pd.DataFrame,
    published: pd.DataFrame,
    *,
    table: str = "",
    decimals: int | Mapping[Hashable, int] | None = None,
) -> pd.DataFrame:
    """Compare a reproduced table with the published one, cell by cell.

    Parameters
    ----------
    reproduced, published
        Wide tables in the same layout (row labels in the index, same column names). Published cells
        are printed text (``"0.30"``), numbers, booleans (flags such as the significance star) or
        missing. Reproduced cells are numbers, booleans or missing.
    table
        Name put in the ``table`` column (e.g. ``"Table 1"``).
    decimals
        Printed precision for published cells given as numbers: one int for all columns or a mapping
        column -> int. Ignored for text cells, whose precision is read from the text.

    Returns
    -------
    DataFrame with one row per published cell (in published row and column order), then one per
    reproduced row that is not published. Columns: ``table``, ``row``, ``column``, ``published``,
    ``reproduced``, ``difference`` (reproduced - published), ``decimals`` (printed precision),
    ``tolerance`` (half a unit of the last printed digit; 0 for flags; NaN when unknown),
    ``within_rounding`` (nullable boolean; NA where no interval applies or a side is missing) and
    ``status`` (one of :data:`STATUSES`). Reproduced columns absent from the published layout are
    not compared (the published layout defines the comparison); published columns absent from the
    reproduced table are reported as ``not reproduced``.
    """
    _check_layout(reproduced, published)
    records = []
    for row in published.index:
        for column in published.columns:
            pub, tolerance, d, kind = _published_cell(published.at[row, column], _decimals_for(decimals, column))
            has_cell = row in reproduced.index and column in reproduced.columns
            rep = _reproduced_cell(reproduced.at[row, column]) if has_cell else math.nan
            within, status = _status(pub, rep, tolerance, kind)
            records.append(
                {
                    "table": table,
                    "row": row,
                    "column": column,
                    "published": pub,
                    "reproduced": rep,
                    "difference": rep - pub,
                    "decimals": d,
                    "kind": "flag" if kind == "flag" else "number",
                    "tolerance": tolerance,
                    "within_rounding": within,
                    "status": status,
                }
            )
    for row in reproduced.index.difference(published.index, sort=False):
        for column in published.columns.intersection(reproduced.columns, sort=False):
            rep = _reproduced_cell(reproduced.at[row, column])
            records.append(
                {
                    "table": table,
                    "row": row,
                    "column": column,
                    "published": math.nan,
                    "reproduced": rep,
                    "difference": math.nan,
                    "decimals": None,
                    "kind": "number",
                    "tolerance": math.nan,
                    "within_rounding": pd.NA,
                    "status": "not published",
                }
            )
    columns = ["table", "row", "column", "published", "reproduced", "difference", "decimals", "kind",
               "tolerance", "within_rounding", "status"]  # fmt: skip
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.astype({"decimals": "Int64", "within_rounding": "boolean", "published": float,
                         "reproduced": float, "difference": float, "tolerance": float})  # fmt: skip


def status_counts(comparison: pd.DataFrame) -> pd.Series:
    """Number of cells per status (every status of :data:`STATUSES`, zeros included)."""
    return comparison["status"].value_counts().reindex(list(STATUSES), fill_value=0)


def agreement_counts(comparison: pd.DataFrame) -> pd.DataFrame:
    """Cells within the published rounding per table, and overall.

    ``comparison``: the tidy frame of :func:`compare_tables` (several tables concatenated, told apart
    by the ``table`` column). Returns one row per table in order of appearance plus ``"overall"``, with
    ``match`` (cells within rounding), ``compared`` (cells with a verdict: match + differs) and
    ``share`` (match / compared; NaN when nothing was compared).
    """
    judged = comparison[comparison["status"].isin(["match", "differs"])]
    order = list(dict.fromkeys(comparison["table"]))
    match = (judged["status"] == "match").groupby(judged["table"]).sum().reindex(order, fill_value=0)
    compared = judged.groupby("table").size().reindex(order, fill_value=0)
    frame = pd.DataFrame({"match": match.astype(int), "compared": compared.astype(int)})
    frame.loc["overall"] = [int(frame["match"].sum()), int(frame["compared"].sum())]
    frame["share"] = frame["match"] / frame["compared"].where(frame["compared"] > 0)
    frame.index.name = "table"
    return frame


def _summary_line(comparison: pd.DataFrame) -> str:
    counts = status_counts(comparison)
    compared = int(counts["match"] + counts["differs"])
    parts = [f"{counts['match']} of {compared} compared cells within the published rounding"]
    parts += [f"{n} {status}" for status, n in counts.items() if status not in {"match", "differs"} and n]
    return "; ".join(parts) + "."


def _format(value: float, decimals: Any, kind: str) -> str:
    if math.isnan(value):
        return "–"
    if kind == "flag":
        return "*" if value else "no *"
    if decimals is pd.NA or decimals is None:  # no published precision: plain decimals, never 1e-11
        if value != 0 and abs(value) < 0.0005:
            return "<0.001" if value > 0 else ">-0.001"
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.3f}"
    return f"{value:.{int(decimals)}f}"


def _row_label(label: Any) -> str:
    """A row label as a person reads it: index levels joined by " · ", ``snake_case`` with spaces."""
    parts = label if isinstance(label, tuple) else (label,)
    return " · ".join(str(part).replace("_", " ") for part in parts)


def tidy(comparison: pd.DataFrame, levels: Sequence[str]) -> pd.DataFrame:
    """The comparison for machines: the ``row`` label split into one column per index level, named
    ``levels`` (a one-level row keeps its label in the single column)."""
    rows = [r if isinstance(r, tuple) else (r,) for r in comparison["row"]]
    if any(len(r) != len(levels) for r in rows):
        raise ValueError(f"row labels do not have {len(levels)} levels ({list(levels)})")
    split = pd.DataFrame(rows, columns=list(levels), index=comparison.index)
    position = comparison.columns.get_loc("row")
    return pd.concat([comparison.iloc[:, :position], split, comparison.iloc[:, position + 1:]], axis=1)


def side_by_side(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison back in the table's layout: one cell per published cell, reading
    ``published / reproduced mark`` (reproduced rounded to the published precision; marks as in
    :data:`LEGEND`)."""
    cells = comparison.assign(
        row=comparison["row"].map(_row_label),
        text=[
            f"{_format(p, d, k)} / {_format(r, d, k)} {_MARKS[s]}"
            for p, r, d, k, s in zip(
                comparison["published"], comparison["reproduced"], comparison["decimals"],
                comparison["kind"], comparison["status"], strict=True,
            )  # fmt: skip
        ],
    )
    return _pivot(cells, "text")


def _pivot(cells: pd.DataFrame, values: str) -> pd.DataFrame:
    rows = list(dict.fromkeys(cells["row"]))
    columns = list(dict.fromkeys(cells["column"]))
    wide = cells.pivot(index="row", columns="column", values=values).reindex(index=rows, columns=columns)
    wide.index.name = None
    wide.columns.name = None
    return wide.fillna("")


def to_markdown(comparison: pd.DataFrame, *, caption: str | None = None, summary: bool = True) -> str:
    """Markdown: optional caption, the summary line (unless ``summary=False``: a page that states the
    agreement itself), the side-by-side table and the legend."""
    head = [f"**{caption}**", ""] if caption else []
    if summary:
        head += [_summary_line(comparison), ""]
    body = side_by_side(comparison).to_markdown()
    return "\n".join([*head, body, "", LEGEND, ""])


def to_html(comparison: pd.DataFrame, *, caption: str | None = None, summary: bool = True) -> str:
    """HTML fragment: the summary line (unless ``summary=False``), the side-by-side table with cells
    coloured by status, and the legend."""
    table = side_by_side(comparison)
    cells = comparison.assign(row=comparison["row"].map(_row_label), css=comparison["status"].map(_COLOURS))
    css = _pivot(cells, "css")
    styler = table.style.set_uuid("psm-comparison")  # fixed ids: same input, same bytes
    styler = styler.format(escape="html").format_index(escape="html", axis=0)
    styler = styler.format_index(escape="html", axis=1).apply(lambda _: css, axis=None)
    if caption:
        styler = styler.set_caption(escape(caption))
    return (
        (f"<p>{escape(_summary_line(comparison))}</p>\n" if summary else "")
        + styler.to_html()
        + f"\n<p><small>{escape(LEGEND)}</small></p>\n"
    )
