"""One results style: the :class:`Summary` every result's ``summary()`` returns.

Like statsmodels' ``Summary``, a :class:`Summary` is a title, a list of tables and notes, that prints as
aligned text and renders itself in a notebook (``_repr_html_``), and writes itself as text, HTML, LaTeX
or Markdown (``as_text``, ``as_html``, ``as_latex``, ``as_markdown``). It is also its own text: a
``Summary`` is a ``str``, so ``print(s)``, ``"ATT" in s`` and writing it to a file work unchanged.

Tables are :class:`pandas.DataFrame` of already formatted strings (the result decides the digits); a
two-level column index gives a spanning header (``("Mean", "Treated")``, ``("Mean", "Control")``). The
text layout sizes every column to its widest cell or header -- nothing is cut -- and separates columns by
two spaces; numbers are right-aligned, row labels left-aligned. A result may supply its own text (for
instance Stata's ``pstest`` layout, which reviewers know); the tables then carry the same numbers for the
HTML, LaTeX and Markdown writers. The writers need neither jinja2 nor tabulate.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Summary", "SummaryTable", "format_frame", "format_number"]


def format_number(value: object, decimals: int = 3, *, significant: bool = False) -> str:
    """A cell: floats with ``decimals`` fixed decimals (``significant=True``: that many significant
    digits, ``"g"`` style), empty for NaN or None, never ``-0.000``; anything else by ``str()``."""
    if value is None or isinstance(value, (bool, np.bool_, str)):
        return "" if value is None else str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if not isinstance(value, numbers.Real):
        return str(value)
    value = float(value)
    if value != value:
        return ""
    text = f"{value:.{decimals}{'g' if significant else 'f'}}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_frame(frame: pd.DataFrame, digits: int = 6) -> pd.DataFrame:
    """Every cell of ``frame`` (and its index) as text with ``digits`` significant digits."""
    index = pd.Index([format_number(v, digits, significant=True) for v in frame.index], name=frame.index.name)
    return pd.DataFrame({c: [format_number(v, digits, significant=True) for v in frame[c]] for c in frame.columns},
                        index=index, columns=frame.columns)


@dataclass(frozen=True)
class SummaryTable:
    """One table of a :class:`Summary`: formatted cells and an optional title.

    Row labels are the frame's index (a MultiIndex gives one label column per level, a label repeated
    from the row above left blank); column headers are its columns (two levels: a spanning header).
    """

    frame: pd.DataFrame
    title: str = ""

    def _headers(self) -> list[tuple[str, ...]]:
        cols = self.frame.columns
        raw = [tuple("" if p is None else str(p) for p in c) for c in cols] if isinstance(
            cols, pd.MultiIndex) else [(str(c),) for c in cols]
        depth = max((len(h) for h in raw), default=1)
        return [("",) * (depth - len(h)) + h for h in raw]

    def _label_names(self) -> list[str]:
        return ["" if n is None else str(n) for n in self.frame.index.names]

    def _labels(self, sparse: bool = True) -> list[list[str]]:
        keys = [k if isinstance(k, tuple) else (k,) for k in self.frame.index]
        out, previous = [], None
        for key in keys:
            same = sparse and previous is not None
            row = []
            for j, part in enumerate(key):
                same = same and previous[j] == part and j < len(key) - 1
                row.append("" if same else str(part))
            out.append(row)
            previous = key
        return out

    def _cells(self) -> list[list[str]]:
        return [[str(v) for v in row] for row in self.frame.itertuples(index=False, name=None)]

    def as_text(self) -> str:
        """Aligned text: every column as wide as its widest cell or header, two spaces between."""
        headers, labels, cells = self._headers(), self._labels(), self._cells()
        depth = len(headers[0]) if headers else 1
        widths = [max([len(h[-1])] + [len(r[j]) for r in cells]) for j, h in enumerate(headers)]
        for level in range(depth - 1):  # a spanning header wider than its columns widens the last one
            for start, stop, text in _spans([h[level] for h in headers]):
                span = sum(widths[start:stop]) + 2 * (stop - start - 1)
                if len(text) > span:
                    widths[stop - 1] += len(text) - span
        names = self._label_names()
        label_widths = [max([len(names[j])] + [len(r[j]) for r in labels]) for j in range(len(names))]
        lines = []
        for level in range(depth):
            last = level == depth - 1
            parts = [(n if last else "").ljust(w) for n, w in zip(names, label_widths)]
            if last:
                parts += [h[-1].rjust(w) for h, w in zip(headers, widths)]
            else:
                parts += [text.center(sum(widths[a:b]) + 2 * (b - a - 1))
                          for a, b, text in _spans([h[level] for h in headers])]
            lines.append("  ".join(parts).rstrip())
        rule = "-" * (sum(w + 2 for w in label_widths + widths) - 2)
        body = ["  ".join([x.ljust(w) for x, w in zip(lab, label_widths)] + [c.rjust(w) for c, w in zip(row, widths)]).rstrip()
                for lab, row in zip(labels, cells)]
        return "\n".join(([self.title] if self.title else []) + [rule, *lines, rule, *body, rule])

    def as_html(self) -> str:
        """An HTML ``<table>`` (text escaped; spanning headers as ``colspan``)."""
        headers = self._headers()
        depth = len(headers[0]) if headers else 1
        names = self._label_names()
        out = ["<table class=\"psm-summary\">"]
        if self.title:
            out.append(f"<caption>{html.escape(self.title)}</caption>")
        out.append("<thead>")
        for level in range(depth):
            last = level == depth - 1
            row = [f"<th>{html.escape(n) if last else ''}</th>" for n in names]
            if last:
                row += [f"<th>{html.escape(h[-1])}</th>" for h in headers]
            else:
                row += [f"<th colspan=\"{b - a}\">{html.escape(text)}</th>"
                        for a, b, text in _spans([h[level] for h in headers])]
            out.append("<tr>" + "".join(row) + "</tr>")
        out.append("</thead>")
        out.append("<tbody>")
        for lab, cells in zip(self._labels(), self._cells()):
            ths = "".join(f"<th style=\"text-align:left\">{html.escape(x)}</th>" for x in lab)
            tds = "".join(f"<td style=\"text-align:right\">{html.escape(c)}</td>" for c in cells)
            out.append(f"<tr>{ths}{tds}</tr>")
        out.append("</tbody></table>")
        return "\n".join(out)

    def as_latex(self) -> str:
        """A LaTeX ``tabular`` (special characters escaped; spanning headers as ``\\multicolumn``)."""
        headers = self._headers()
        depth = len(headers[0]) if headers else 1
        names = self._label_names()
        out = [f"% {self.title}"] if self.title else []
        out += ["\\begin{tabular}{" + "l" * len(names) + "r" * len(headers) + "}", "\\hline"]
        for level in range(depth):
            last = level == depth - 1
            row = [_tex(n) if last else "" for n in names]
            if last:
                row += [_tex(h[-1]) for h in headers]
            else:
                row += [f"\\multicolumn{{{b - a}}}{{c}}{{{_tex(text)}}}" if b - a > 1 else _tex(text)
                        for a, b, text in _spans([h[level] for h in headers])]
            out.append(" & ".join(row) + " \\\\")
        out.append("\\hline")
        for lab, cells in zip(self._labels(), self._cells()):
            out.append(" & ".join([_tex(x) for x in lab] + [_tex(c) for c in cells]) + " \\\\")
        out += ["\\hline", "\\end{tabular}"]
        return "\n".join(out)

    def as_markdown(self) -> str:
        """A pipe table (two-level headers joined as ``top: bottom``, every row labelled; ``|`` escaped)."""
        headers = [": ".join(p for p in h if p) for h in self._headers()]
        names = self._label_names()
        out = [f"**{_md(self.title)}**", ""] if self.title else []
        out.append("| " + " | ".join(_md(h) for h in names + headers) + " |")
        out.append("|" + "|".join([":---"] * len(names) + ["---:"] * len(headers)) + "|")
        out += ["| " + " | ".join(_md(c) for c in [*lab, *cells]) + " |"
                for lab, cells in zip(self._labels(sparse=False), self._cells())]
        return "\n".join(out)


def _spans(labels: Sequence[str]) -> list[tuple[int, int, str]]:
    """Runs of equal neighbouring labels as ``(start, stop, label)``."""
    spans: list[tuple[int, int, str]] = []
    for j, text in enumerate(labels):
        if spans and spans[-1][2] == text and text:
            spans[-1] = (spans[-1][0], j + 1, text)
        else:
            spans.append((j, j + 1, text))
    return spans


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
        "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


class Summary(str):
    """The summary of a result: text that also renders as HTML, LaTeX and Markdown.

    Parameters
    ----------
    title
        First line of the text, caption of the markup.
    tables
        ``SummaryTable`` objects (or ``(title, DataFrame)`` pairs) of formatted strings.
    notes
        Lines printed under the tables.
    text
        The text to print instead of the generic layout of ``tables`` (e.g. a Stata-like layout with
        the same numbers).

    Examples
    --------
    >>> import pandas as pd
    >>> from psm.summary import Summary
    >>> cells = pd.DataFrame({"coef": ["1.50", "-0.25"]}, index=pd.Index(["a", "b"], name="term"))
    >>> s = Summary("Example", [("", cells)], notes=["A note."])
    >>> print(s)
    Example
    -----------
    term   coef
    -----------
    a      1.50
    b     -0.25
    -----------
    A note.
    >>> "1.50" in s, s.as_markdown().splitlines()[2]
    (True, '| term | coef |')
    """

    title: str
    tables: tuple[SummaryTable, ...]
    notes: tuple[str, ...]

    def __new__(
        cls,
        title: str,
        tables: Iterable[SummaryTable | tuple[str, pd.DataFrame]] = (),
        notes: Iterable[str] = (),
        text: str | None = None,
    ) -> Summary:
        tables = tuple(t if isinstance(t, SummaryTable) else SummaryTable(t[1], t[0]) for t in tables)
        notes = tuple(notes)
        if text is None:
            text = "\n".join([title, *(t.as_text() for t in tables), *notes])
        self = super().__new__(cls, text)
        self.title, self.tables, self.notes = title, tables, notes
        return self

    def __repr__(self) -> str:
        return str(self)

    def as_text(self) -> str:
        """The text (what ``print`` shows)."""
        return str(self)

    def as_html(self) -> str:
        """HTML: a heading, one ``<table>`` per table, the notes as paragraphs."""
        parts = [f"<h4>{html.escape(self.title)}</h4>"] + [t.as_html() for t in self.tables]
        parts += [f"<p>{html.escape(n)}</p>" for n in self.notes if n]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        return self.as_html()

    def as_latex(self) -> str:
        """LaTeX: one ``tabular`` per table (special characters escaped), the notes as text."""
        parts = [f"% {self.title}"] + [t.as_latex() for t in self.tables]
        parts += [_tex(n) for n in self.notes if n]
        return "\n\n".join(parts)

    def as_markdown(self) -> str:
        """Markdown: the title in bold, pipe tables, the notes as paragraphs."""
        parts = [f"**{_md(self.title)}**"] + [t.as_markdown() for t in self.tables]
        parts += [n for n in self.notes if n]
        return "\n\n".join(parts)
