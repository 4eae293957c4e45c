"""The exclusion log and the flow table: nothing leaves the analysis unrecorded.

Every removal goes through :meth:`ExclusionLog.remove`, which returns the rows
kept and logs the rows removed (file, record id, rule, detail, window).
Whole-analysis removals have ``window = "all"``; a person not eligible for a
follow-up window is logged with that window and stays in the others.

The flow table is built from the log and the counts in, so that for each file
``records in − Σ removed = analysed`` and, for each window,
``analysed − not eligible = analysed in the window``; :func:`check_flow`
verifies both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LOG_COLUMNS = ["file", "record", "rule", "detail", "window"]
FLOW_COLUMNS = ["file", "window", "step", "rule", "removed", "remaining"]


@dataclass
class ExclusionLog:
    """Collects removals during preparation (mutable builder; the result is a DataFrame)."""

    _parts: list[pd.DataFrame] = field(default_factory=list)
    _steps: list[tuple[str, str, str]] = field(default_factory=list)

    def remove(self, frame: pd.DataFrame, mask: pd.Series | np.ndarray, *, file: str, rule: str, step: str,
               record: pd.Series, detail: pd.Series | str, window: str = "all") -> pd.DataFrame:
        """Log ``frame[mask]`` under ``rule`` and return ``frame[~mask]``.

        ``record``: the row ids (aligned to ``frame``); ``detail``: the value(s)
        that triggered the rule; ``step``: the rule's wording for the flow table.
        """
        mask = mask.reindex(frame.index) if isinstance(mask, pd.Series) else pd.Series(mask, index=frame.index)
        mask = mask.fillna(False).astype(bool)
        self._steps.append((file, window, rule, step))
        removed = pd.DataFrame({
            "file": file,
            "record": record[mask].astype(str).to_numpy(),
            "rule": rule,
            "detail": (detail[mask].astype(str).to_numpy() if isinstance(detail, pd.Series) else detail),
            "window": window,
        }, columns=LOG_COLUMNS)
        self._parts.append(removed)
        return frame[~mask]

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame(columns=LOG_COLUMNS)
        return pd.concat(self._parts, ignore_index=True)

    @property
    def steps(self) -> list[tuple[str, str, str, str]]:
        return list(self._steps)


def flow_table(log: ExclusionLog, records_in: dict[str, tuple[int, str]], windows: list[str],
               notes: dict[str, tuple[str, int]] | None = None) -> pd.DataFrame:
    """Records in, removed by each rule, analysed; per file, then per window and for both files.

    ``records_in``: file -> (units entering the rules, their wording), e.g.
    ``(421, "referrals in")`` or ``(n, "people in")``; ``notes``: file -> an
    informational row shown first (e.g. the offence records the people come from).
    """
    exclusions = log.frame()
    counts = exclusions.groupby(["file", "window", "rule"]).size()
    rows = []
    analysed: dict[str, int] = {}
    for file, (n_in, wording) in records_in.items():
        if notes and file in notes:
            rows.append((file, "all", notes[file][0], "", None, notes[file][1]))
        remaining = n_in
        rows.append((file, "all", wording, "", None, n_in))
        for step_file, window, rule, step in log.steps:
            if step_file != file or window != "all":
                continue
            removed = int(counts.get((file, "all", rule), 0))
            remaining -= removed
            rows.append((file, "all", step, rule, removed, remaining))
        analysed[file] = remaining
        rows.append((file, "all", "analysed", "", None, remaining))
    for window in windows:
        total = 0
        for file in records_in:
            removed = sum(int(counts.get((file, window, rule), 0))
                          for f, w, rule, _ in log.steps if f == file and w == window)
            rows.append((file, window, f"not eligible for {window}", f"not_eligible_{window}", removed,
                         analysed[file] - removed))
            total += analysed[file] - removed
        rows.append(("both", window, f"analysed in window {window}", "", None, total))
    flow = pd.DataFrame(rows, columns=FLOW_COLUMNS)
    flow["removed"] = flow["removed"].astype("Int64")
    return flow


def check_flow(flow: pd.DataFrame, exclusions: pd.DataFrame, records_in: dict[str, int],
               analysed: dict[str, dict[str, int]]) -> None:
    """Raise ``RuntimeError`` unless records in − logged exclusions = analysed, per file and window.

    ``analysed[file][window]``: people of that file in the analysis of that
    window (``"all"``: in the analysis file). A failure is a bug in the
    preparation code, never a data problem.
    """
    def fail(what: str, expected: int, found: int) -> None:
        if expected != found:
            raise RuntimeError(f"flow does not reconcile: {what}: expected {expected}, found {found}")

    for file, by_window in analysed.items():
        logged = exclusions[exclusions["file"] == file]["window"].value_counts()
        fail(f"{file}, records in − excluded", by_window["all"], records_in[file] - int(logged.get("all", 0)))
        rows = flow[flow["file"] == file].set_index(["window", "step"])["remaining"]
        fail(f"{file}, flow 'analysed'", by_window["all"], int(rows[("all", "analysed")]))
        for window, n in by_window.items():
            if window == "all":
                continue
            fail(f"{file}, window {window}, log", n, by_window["all"] - int(logged.get(window, 0)))
            fail(f"{file}, window {window}, flow", n, int(rows[(window, f"not eligible for {window}")]))
