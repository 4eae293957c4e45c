"""A problem found in supplied data, in a form a person can act on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from psm.errors import PSMError

SHOWN = 5  # rows and values shown per problem; the count is always given


@dataclass(frozen=True)
class Problem:
    """One problem: where (file, column, rows), what (values) and what is allowed.

    ``rows`` are file line numbers (the header is line 1). ``severity``:
    ``"error"`` stops the run; ``"warning"`` is reported and the rows concerned
    are removed by a named preparation rule (``rule``), as the evaluation did.
    """

    file: str
    column: str | None
    check: str
    message: str
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()
    allowed: str | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.file if self.column is None else f"{self.file}, column {self.column!r}"
        text = f"{where}: {self.message}"
        if self.rows:
            n = len(self.rows)
            text += f" — {n} row{'s' if n != 1 else ''} (line{'s' if n != 1 else ''} {_first(self.rows)})"
        if self.values:
            text += f"; values: {_first(repr(v) for v in self.values)}"
        if self.allowed:
            text += f". Allowed: {self.allowed}"
        return text


def _first(items: Iterable[object]) -> str:
    items = list(items)
    shown = ", ".join(str(x) for x in items[:SHOWN])
    return shown + (f", … ({len(items) - SHOWN} more)" if len(items) > SHOWN else "")


def distinct(values: Iterable[object]) -> tuple[str, ...]:
    """Distinct values in first-seen order, as strings (for ``Problem.values``)."""
    return tuple(dict.fromkeys(str(v) for v in values))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "warning"]


class DataValidationError(PSMError, ValueError):
    """Supplied data break the documented schema; ``problems`` lists every one found.

    Raised once, after a single pass over all files, so that a user sees every problem at once. Each
    problem names the file, the column, the rows (file line numbers), the offending values and what is
    allowed; ``str(error)`` is the readable report.
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        lines = [f"{n} problem{'s' if n != 1 else ''} found in the supplied data:"]
        lines += [f"- {p}" for p in self.problems]
        super().__init__("\n".join(lines))
