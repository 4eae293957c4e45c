"""The report's first screen: did New Chance reduce reoffending, and how sure are we?

Read from the tables the notebooks wrote (so the front page states exactly what the tables hold):

* ``03_matching/table_2``: reproduced reoffending of the referred and matched comparison women, per
  follow-up window; the published Table 2 from :mod:`psm.newchance.published.numbers`;
* ``05_robustness/se_table_2``: the Abadie–Imbens (2006) standard error and 95% interval of each effect;
* ``03_matching/total_equal_follow_up``: total reoffending with the comparison women followed no longer
  than the referred (interval from psmatch2's standard error, ±1.96 SE);
* ``05_robustness/critical_gamma``: the critical Γ of the Rosenbaum bounds (exact Mantel–Haenszel
  moments): how strong a hidden bias would have to be to explain the total effect away.

Effects are differences of reoffending rates, referred minus comparison, in percentage points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from psm.newchance.preparation.outcomes import WINDOWS
from psm.newchance.published import numbers as published

__all__ = ["Headline", "headline"]

_NEEDED = {
    "table_2": ("03_matching", "table_2"),
    "equal": ("03_matching", "total_equal_follow_up"),
    "se": ("05_robustness", "se_table_2"),
    "gamma": ("05_robustness", "critical_gamma"),
}
COLUMNS = ("follow-up", "published: referred", "published: comparison", "published: difference",
           "reproduced: referred", "reproduced: comparison", "reproduced: difference",
           "95% interval of the difference")  # fmt: skip


@dataclass(frozen=True)
class Headline:
    """The first screen: a verdict sentence, points (text, link label, link), the table, a footnote."""

    verdict: str
    points: list[tuple[str, str, str]]
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    footnote: str


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _points(value: float) -> str:
    rounded = round(100 * value)
    unit = "point" if abs(rounded) == 1 else "points"
    return (f"{rounded:+d} {unit}" if rounded else f"0 {unit}").replace("-", "−")


def _interval(low: float, high: float) -> str:
    return f"{100 * low:+.0f} to {100 * high:+.0f} points".replace("-", "−")


def _find(tables: list[dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    found = {}
    for key, (section, name) in _NEEDED.items():
        entry = next((t for t in tables if t["section"] == section and t["name"] == name), None)
        if entry is None or "csv" not in entry["files"]:
            return None
        found[key] = entry
    return found


def headline(out_dir: Path, tables: list[dict[str, Any]]) -> Headline | None:
    """The headline of the report in ``out_dir`` (None when a table it needs was not written)."""
    entries = _find(tables)
    if entries is None:
        return None
    read = {key: pd.read_csv(Path(out_dir) / entry["files"]["csv"]) for key, entry in entries.items()}
    link = {key: entry["files"].get("html", entry["files"]["csv"]) for key, entry in entries.items()}
    table_2 = read["table_2"]
    after = table_2[table_2["stage"] == "after_matching"].set_index("window")
    se = read["se"].set_index("window")
    pub = published.table_2()
    pub_after = pub[pub["stage"] == "after_matching"].set_index("window")
    equal = read["equal"]
    equal = equal[(equal["follow_up"] == "equal follow-up") & (equal["stage"] == "after_matching")].iloc[0]
    equal_low, equal_high = equal["difference"] - 1.96 * equal["se"], equal["difference"] + 1.96 * equal["se"]
    gamma_table = read["gamma"].set_index(read["gamma"].columns[0]).iloc[:, 0]
    gamma = float(gamma_table.get("mh_exact", gamma_table.iloc[0]))
    synthetic = bool(entries["table_2"].get("synthetic"))

    rows = []
    for window in WINDOWS:
        if window not in after.index:
            continue
        p, r, s = pub_after.loc[window], after.loc[window], se.loc[window]
        rows.append((window.label, _pct(p["treated"]), _pct(p["control"]),
                     _points(p["difference"]) + (" *" if p["star"] else ""),
                     _pct(r["treated"]), _pct(r["control"]),
                     _points(r["difference"]) + (" *" if s["ci_high_ai"] < 0 or s["ci_low_ai"] > 0 else ""),
                     _interval(s["ci_low_ai"], s["ci_high_ai"])))  # fmt: skip
    rows.append(("total, equal follow-up", "not reported", "", "", _pct(equal["treated"]), _pct(equal["control"]),
                 _points(equal["difference"]) + (" *" if equal_high < 0 or equal_low > 0 else ""),
                 _interval(equal_low, equal_high)))  # fmt: skip

    total, total_se = after.loc["total"], se.loc["total"]
    total_sure = total_se["ci_high_ai"] < 0
    equal_sure = equal_high < 0
    significant_windows = [w.label for w in WINDOWS if w != "total" and w in se.index
                           and (se.loc[w, "ci_high_ai"] < 0 or se.loc[w, "ci_low_ai"] > 0)]  # fmt: skip
    published_windows = [w.label for w in WINDOWS if w != "total" and w in pub_after.index and pub_after.loc[w, "star"]]
    where = "On these synthetic data (a demonstration of the method, not a finding about New Chance)" if synthetic \
        else "On these data"  # fmt: skip
    if total_sure and equal_sure:
        verdict = (f"{where}, referred women reoffended less than similar women who were not referred, and the "
                   f"difference remains when both groups are followed for the same length of time.")  # fmt: skip
    elif total_sure:
        verdict = (f"{where}, referred women reoffended less over the whole follow-up, but part of that difference "
                   f"comes from following the comparison women for longer: with equal follow-up it could be chance.")  # fmt: skip
    else:
        verdict = f"{where}, the difference in reoffending between referred and similar women could be chance."
    points = [
        (f"Published (Table 2): after matching, {_pct(pub_after.loc['total', 'treated'])} of referred women "
         f"reoffended against {_pct(pub_after.loc['total', 'control'])} of matched comparison women "
         f"({_points(pub_after.loc['total', 'difference'])}); the report calls the difference significant over the "
         f"whole follow-up and at {', '.join(published_windows) or 'no window'}.", "Table 2", link["table_2"]),
        (f"Reproduced: {_pct(total['treated'])} against {_pct(total['control'])} "
         f"({_points(total['difference'])}; 95% interval {_interval(total_se['ci_low_ai'], total_se['ci_high_ai'])}, "
         "with standard errors that allow for the matching).", "standard errors", link["se"]),
        (f"The published total follows the comparison women for about 4.6 years but many referred women for under "
         f"a year. Followed for the same length of time: {_points(equal['difference'])} "
         f"(95% interval {_interval(equal_low, equal_high)}).", "equal follow-up", link["equal"]),
        (f"Within fixed windows (30 days to 12 months) the reproduced difference is clear at "
         f"{', '.join(significant_windows) or 'no window'}.", "all windows", link["se"]),
        (f"Hidden bias: the total effect would be explained away only if something unmeasured made one of two "
         f"otherwise similar women {gamma:.1f} times as likely as the other to be referred (critical Γ; "
         f"the larger, the more robust).", "Rosenbaum bounds", link["gamma"]),
    ]
    footnote = ("Rates are shares of women who reoffended; differences are referred minus comparison, in "
                "percentage points (negative = fewer reoffended). * the 95% interval excludes no difference "
                "(published: the report's star, 5% two-sided t-test). Intervals: Abadie–Imbens standard errors "
                "for the windows; psmatch2's standard error for the equal follow-up row.")  # fmt: skip
    return Headline(verdict, points, COLUMNS, rows, footnote)
