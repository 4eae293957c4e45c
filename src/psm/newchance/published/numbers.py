"""The published numbers of the New Chance evaluation, as tidy DataFrames.

Source: *New Chance: Process and Impact Evaluation*, University of Birmingham, July 2020, Part B,
transcribed into ``psm/newchance/data/published_tables.yaml`` (package data, a copy of the project's
reference file; its header gives the source lines of every number).

Every number keeps the precision it was printed with. The YAML stores ``0.30`` as written; this module
reads it with a loader that remembers the printed text, so each value comes with ``decimals`` (digits
after the point) and ``printed`` (the text as printed). A printed value ``x`` with ``d`` decimals
stands for the rounding interval ``[x - 0.5*10**-d, x + 0.5*10**-d]`` — the comparison in
:mod:`psm.newchance.published.compare` uses it.

Layouts
-------
- Balance tables (Table 1 = total follow-up, A1–A5 = 30 days … 12 months): :func:`balance_table`
  (wide: one row per covariate, columns :data:`BALANCE_COLUMNS`), :func:`balance_tables` (long, all six).
- Effect tables (Table 2 and the uncaptioned sub-group table, called "Table 3" in the text):
  :func:`table_2`, :func:`subgroup_table` (one row per block and matching stage, columns
  :data:`EFFECT_STATISTICS`), :func:`effect_tables` (long).
- :func:`joint_file`, :func:`descriptives`, :func:`before_after`, :func:`significance_tests`.
- Covariates: :func:`main_covariates` (Table 1 order) and :func:`subgroup_covariates` (footnote 8),
  as columns of the analysis file (``AnalysisFile.data``); :func:`covariates` lists them with the
  printed wording.

Windows are given by the contract codes of :mod:`psm.newchance.preparation.outcomes` (``total``, ``30d``, ``60d``,
``90d``, ``6m``, ``12m``); the printed label is kept beside them.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from decimal import Decimal
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from psm.newchance.preparation.outcomes import WINDOWS as OUTCOME_WINDOWS

__all__ = [
    "BALANCE_COLUMNS",
    "BALANCE_TABLE_IDS",
    "COVARIATE_COLUMNS",
    "EFFECT_STATISTICS",
    "STAGES",
    "SUBGROUPS",
    "WINDOWS",
    "PrintedFloat",
    "balance_table",
    "balance_table_info",
    "balance_tables",
    "before_after",
    "covariates",
    "descriptives",
    "effect_tables",
    "joint_file",
    "main_covariates",
    "printed_decimals",
    "published_tables",
    "significance_tests",
    "subgroup_covariates",
    "subgroup_table",
    "table_2",
]

#: Window codes in table order (the follow-up windows of the preparation stage).
WINDOWS: tuple[str, ...] = tuple(str(w) for w in OUTCOME_WINDOWS)

#: Window code -> the window as the published tables print it.
WINDOW_LABELS: Mapping[str, str] = {str(w): w.label for w in OUTCOME_WINDOWS}

#: Printed window labels of the YAML -> window code.
_WINDOW_CODES: Mapping[str, str] = {label: code for code, label in WINDOW_LABELS.items()} | {"total (full sample)": "total"}

#: Balance tables in window order; the ids are those of the YAML ("A3" is printed "Table 3").
BALANCE_TABLE_IDS: tuple[str, ...] = ("Table 1", "A1", "A2", "A3", "A4", "A5")

#: Columns of a published balance table (``p`` is printed "p> t"; ``pct_bias`` is after matching).
BALANCE_COLUMNS: tuple[str, ...] = (
    "unmatched_treated",
    "unmatched_control",
    "matched_treated",
    "matched_control",
    "pct_bias",
    "t",
    "p",
)

#: Matching stages of the effect tables, as printed ("Before Matching", "After Matching").
STAGES: tuple[str, ...] = ("before_matching", "after_matching")

#: Columns of each stage of an effect table (printed: Treated, Control, Difference, *, S.E., T-stats).
EFFECT_STATISTICS: tuple[str, ...] = ("treated", "control", "difference", "star", "se", "t")

#: Printed covariate row label (Table 1, A1–A5) -> column of the analysis file (``AnalysisFile.data``).
COVARIATE_COLUMNS: Mapping[str, str] = {
    "Age": "age",
    "Ethnicity": "ethnicity",
    "Substance Marker": "substance_marker",
    "MH marker": "mh_marker",
    "Employment": "employment",
    "Offence Type": "offence_type",
    "Offending History": "offending_history",
}

#: Sub-groups of the sub-group table: key (footnote 8) -> printed label, and the restriction as
#: (analysis-file column, value) in the published PSM coding (employment 0 = Unemployed,
#: ethnicity 0 = White, markers 1 = Yes).
SUBGROUPS: Mapping[str, tuple[str, str, int]] = {
    "unemployed_only": ("Unemployed only", "employment", 0),
    "white_only": ("White only", "ethnicity", 0),
    "mh_marker_yes": ("MH marker 'Yes'", "mh_marker", 1),
    "substance_misuse_marker_yes": ("Substance misuse marker 'Yes'", "substance_marker", 1),
}

#: Wording of footnote 8 (lower case, printed typos kept) -> analysis-file column.
_FOOTNOTE_8_COLUMNS: Mapping[str, str] = {
    "age": "age",
    "ethnicity": "ethnicity",
    "employment": "employment",
    "mh marker": "mh_marker",
    "substance misuse marker (printed 'maker')": "substance_marker",
    "substance misuse marker": "substance_marker",
    "substance misuse": "substance_marker",
    "offence type": "offence_type",
    "offending history": "offending_history",
}


class PrintedFloat(float):
    """A float that remembers how it was printed (``PrintedFloat("0.30") == 0.3``, ``.text == "0.30"``)."""

    text: str

    def __new__(cls, text: str) -> PrintedFloat:
        value = super().__new__(cls, text)
        value.text = text
        return value

    @property
    def decimals(self) -> int:
        """Digits printed after the decimal point (``"0.30"`` -> 2, ``"-2.8"`` -> 1)."""
        return printed_decimals(self.text)


def printed_decimals(text: str) -> int:
    """Number of digits after the decimal point of a printed number (``"-5.40"`` -> 2, ``"772"`` -> 0)."""
    exponent = Decimal(text.strip()).as_tuple().exponent
    return max(0, -int(exponent))


class _PrintedLoader(yaml.SafeLoader):
    """SafeLoader whose floats are :class:`PrintedFloat` (the text as written is kept)."""


def _construct_printed_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    value = loader.construct_yaml_float(node)
    text = str(node.value).replace("_", "")
    # .inf / .nan have no printed precision; keep them as plain floats
    return PrintedFloat(text) if value == value and abs(value) != float("inf") else value


_PrintedLoader.add_constructor("tag:yaml.org,2002:float", _construct_printed_float)


@functools.cache
def _load() -> dict[str, Any]:
    text = resources.files("psm.newchance").joinpath("data/published_tables.yaml").read_text("utf-8")
    return yaml.load(text, Loader=_PrintedLoader)  # noqa: S506 - a SafeLoader subclass


def published_tables() -> dict[str, Any]:
    """The whole published-numbers file as nested dicts and lists (a fresh copy; floats are
    :class:`PrintedFloat`)."""
    return copy.deepcopy(_load())


def _decimals(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, PrintedFloat):
        return value.decimals
    if isinstance(value, int):
        return 0
    return None


def _printed(value: Any) -> Any:
    """The cell as printed: text for numbers, the bool itself for stars, None for missing."""
    if isinstance(value, PrintedFloat):
        return value.text
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    return value


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, PrintedFloat) else value


def _long_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """A long-form frame whose ``decimals`` column is a nullable integer (missing for stars/flags)."""
    return pd.DataFrame.from_records(records).astype({"decimals": "Int64"})


def _window(label: str) -> str:
    try:
        return _WINDOW_CODES[label]
    except KeyError:
        raise ValueError(f"unknown follow-up window label {label!r}; known: {sorted(_WINDOW_CODES)}") from None


# ---------------------------------------------------------------------------------------------
# Balance tables
# ---------------------------------------------------------------------------------------------


def _balance_entries() -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry for entry in _load()["balance_tables"]}


def _balance_entry(table_id: str) -> dict[str, Any]:
    entries = _balance_entries()
    if table_id not in entries:
        raise KeyError(f"no published balance table {table_id!r}; available: {list(entries)}")
    return entries[table_id]


def balance_table(table_id: str = "Table 1", *, printed: bool = False) -> pd.DataFrame:
    """One balance table in the published (wide) layout.

    Index ``covariate`` (the printed row labels, Table 1 order); columns :data:`BALANCE_COLUMNS`.
    Values are floats, or with ``printed=True`` the text as printed (``"0.30"``), which carries the
    rounding precision that :func:`psm.newchance.published.compare.compare_tables` needs.
    """
    entry = _balance_entry(table_id)
    convert = _printed if printed else _plain
    rows = {row["covariate"]: [convert(row[c]) for c in BALANCE_COLUMNS] for row in entry["rows"]}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(BALANCE_COLUMNS))
    frame.index.name = "covariate"
    return frame if printed else frame.astype(float)


def balance_table_info() -> pd.DataFrame:
    """One row per balance table: ``table`` (id), ``printed_label``, ``window``, ``window_label``, ``N``,
    ``caption``, ``note`` (the YAML's label/N notes, empty if none)."""
    records = []
    for entry in _load()["balance_tables"]:
        records.append(
            {
                "table": entry["id"],
                "printed_label": entry["printed_label"],
                "window": _window(entry["follow_up_window"]),
                "window_label": entry["follow_up_window"],
                "N": int(entry["N"]),
                "caption": entry["caption"],
                "note": " ".join(entry.get(k, "") for k in ("label_note", "N_note")).strip(),
            }
        )
    return pd.DataFrame.from_records(records)


def balance_tables() -> pd.DataFrame:
    """All balance tables (Table 1, A1–A5) in long form.

    Columns: ``table``, ``window``, ``N``, ``covariate``, ``column`` (:data:`BALANCE_COLUMNS`),
    ``value`` (float), ``decimals`` (printed precision), ``printed`` (text), ``note`` (the row's note,
    e.g. the A5 Employment sign typo; empty if none).
    """
    info = balance_table_info().set_index("table")
    records = []
    for table_id, entry in _balance_entries().items():
        for row in entry["rows"]:
            for column in BALANCE_COLUMNS:
                value = row[column]
                records.append(
                    {
                        "table": table_id,
                        "window": info.at[table_id, "window"],
                        "N": info.at[table_id, "N"],
                        "covariate": row["covariate"],
                        "column": column,
                        "value": float(value),
                        "decimals": _decimals(value),
                        "printed": _printed(value),
                        "note": row.get("note", ""),
                    }
                )
    return _long_frame(records)


# ---------------------------------------------------------------------------------------------
# Effect tables (Table 2 and the sub-group table)
# ---------------------------------------------------------------------------------------------


def _effect_blocks(which: str) -> Iterator[dict[str, Any]]:
    effects = _load()["effects"]
    if which == "table_2":
        yield from effects["table_2"]["blocks"]
    elif which == "subgroups":
        yield from effects["subgroup_table"]["blocks"]
    else:
        raise ValueError(f"which must be 'table_2' or 'subgroups', got {which!r}")


_SUBGROUP_KEYS: Mapping[str, str] = {label: key for key, (label, _, _) in SUBGROUPS.items()}


def _block_keys(block: dict[str, Any]) -> dict[str, Any]:
    keys = {}
    if "subgroup" in block:
        keys["subgroup"] = _SUBGROUP_KEYS[block["subgroup"]]
        keys["subgroup_label"] = block["subgroup"]
    keys.update(
        window=_window(block["window"]),
        outcome=block["outcome"],
        sample=block["sample_label"],
        N=int(block["N"]),
    )
    return keys


def _effect_frame(which: str, printed: bool) -> pd.DataFrame:
    convert = _printed if printed else _plain
    records = []
    for block in _effect_blocks(which):
        keys = _block_keys(block)
        for stage in STAGES:
            cells = block[stage]
            records.append({**keys, "stage": stage, **{s: convert(cells[s]) for s in EFFECT_STATISTICS}})
    frame = pd.DataFrame.from_records(records)
    if not printed:
        frame = frame.astype({s: float for s in EFFECT_STATISTICS if s != "star"} | {"star": bool})
    return frame


def table_2(*, printed: bool = False) -> pd.DataFrame:
    """Table 2 "Average Treatment Effect: Propensity Score Matching".

    One row per window and stage (12 rows: windows :data:`WINDOWS` x :data:`STAGES`). Columns:
    ``window``, ``outcome`` (printed row title), ``sample`` (printed sample label), ``N``, ``stage``,
    then :data:`EFFECT_STATISTICS` (``star`` is a bool: printed ``*``, significant at 5%). With
    ``printed=True`` the numbers are the text as printed.
    """
    return _effect_frame("table_2", printed)


def subgroup_table(*, printed: bool = False) -> pd.DataFrame:
    """The sub-group table (no caption; "Table 3" in the text): four sub-groups x three windows
    (total, 6m, 12m) x two stages = 24 rows. Columns as :func:`table_2` plus ``subgroup`` (a key of
    :data:`SUBGROUPS`) and ``subgroup_label`` (as printed)."""
    return _effect_frame("subgroups", printed)


def effect_tables() -> pd.DataFrame:
    """Table 2 and the sub-group table in long form.

    Columns: ``table`` ("Table 2" / "Sub-groups"), ``subgroup`` ("all" for Table 2), ``window``,
    ``outcome``, ``sample``, ``N``, ``stage``, ``statistic`` (:data:`EFFECT_STATISTICS`), ``value``
    (float; star as 1.0/0.0), ``decimals`` (None for star), ``printed``, ``note`` (e.g. the t printed
    with one decimal in Table 2, 12 months).
    """
    records = []
    for table, which in (("Table 2", "table_2"), ("Sub-groups", "subgroups")):
        for block in _effect_blocks(which):
            keys = _block_keys(block)
            keys.setdefault("subgroup", "all")
            keys.pop("subgroup_label", None)
            for stage in STAGES:
                cells = block[stage]
                for statistic in EFFECT_STATISTICS:
                    value = cells[statistic]
                    records.append(
                        {
                            "table": table,
                            **keys,
                            "stage": stage,
                            "statistic": statistic,
                            "value": float(value),
                            "decimals": _decimals(value),
                            "printed": _printed(value),
                            "note": cells.get(f"{statistic}_note", ""),
                        }
                    )
    return _long_frame(records)


# ---------------------------------------------------------------------------------------------
# Joint file, descriptives, tests in the text
# ---------------------------------------------------------------------------------------------


def joint_file() -> pd.DataFrame:
    """The "Treatment and Control Joint Data File" numbers of the text (unmatched comparison).

    Columns ``quantity``, ``value``, ``decimals``, ``printed``. Quantities: ``observations``,
    ``treated``, ``control``, ``reoffended_total_count``, ``reoffended_total_pct``,
    ``reoffending_treated_pct``, ``reoffending_control_pct``, ``difference_pct`` (percentage points),
    ``significant`` (1.0 = significant at the 1% level as stated).
    """
    data = _load()["joint_file"]
    quantities = {
        "observations": data["observations"],
        "treated": data["treated"],
        "control": data["control"],
        "reoffended_total_count": data["reoffended_total"]["count"],
        "reoffended_total_pct": data["reoffended_total"]["pct"],
        "reoffending_treated_pct": data["reoffending_treated_pct"],
        "reoffending_control_pct": data["reoffending_control_pct"],
        "difference_pct": data["difference_pct"],
        "significant": data["significant"],
    }
    return _long_frame(
        [
            {"quantity": q, "value": float(v), "decimals": _decimals(v), "printed": _printed(v)}
            for q, v in quantities.items()
        ]
    )


def _numeric_leaves(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, str]]:
    """Numeric leaves under ``node`` (line numbers and booleans excluded), with the ``text`` of their dict."""
    if isinstance(node, Mapping):
        text = node.get("text", "") if isinstance(node.get("text", ""), str) else ""
        for key, child in node.items():
            if key in {"line", "lines"}:
                continue
            if isinstance(child, (int, float)) and not isinstance(child, bool):
                yield (*path, key), child, text
            elif isinstance(child, Mapping):
                yield from _numeric_leaves(child, (*path, key))


def descriptives() -> pd.DataFrame:
    """Numbers of the treatment-group descriptives (section 3, Graphs 1–20 and the text).

    Columns: ``topic`` (e.g. ``age``, ``employment``), ``item`` (e.g. ``unemployed``; empty when the
    number belongs to the topic itself), ``statistic`` (``pct``, ``mean``, ``min``, ``count``, ...),
    ``value``, ``decimals``, ``printed``, ``text`` (the printed wording beside it, if any).
    Reoffending before/after rows are in :func:`before_after`; numbers given only in words (``pct:
    null``) are not numbers here and stay in :func:`published_tables`.
    """
    records = []
    for topic, node in _load()["descriptives"].items():
        if topic == "reoffending":
            node = {k: v for k, v in node.items() if k != "before_after"}
        for path, value, text in _numeric_leaves(node, ()):
            records.append(
                {
                    "topic": topic,
                    "item": ".".join(path[:-1]),
                    "statistic": path[-1],
                    "value": float(value),
                    "decimals": _decimals(value),
                    "printed": _printed(value),
                    "text": text,
                }
            )
    return _long_frame(records)


def before_after() -> pd.DataFrame:
    """Offences per person in the 12 months before vs after referral (treatment group, paired).

    One row per sample (all referrals, N = 421; those followed up 12 months, N = 247). Columns:
    ``sample``, ``N``, ``mean_before``, ``mean_after``, ``difference`` (before - after), ``significant``.
    """
    rows = _load()["descriptives"]["reoffending"]["before_after"]
    return pd.DataFrame.from_records(
        [
            {
                "sample": r["sample"],
                "N": int(r["N"]),
                "mean_before": float(r["mean_offences_12m_before"]),
                "mean_after": float(r["mean_offences_12m_after"]),
                "difference": float(r["difference"]),
                "significant": bool(r["significant"]),
            }
            for r in rows
        ]
    )


def significance_tests() -> pd.DataFrame:
    """Section 3.4.1: differences in reoffending rates within the treatment group.

    Columns: ``variable``, ``coding``, ``difference_pct`` (percentage points), ``significant``, ``N``,
    ``direction`` (the printed sentence).
    """
    rows = _load()["significance_tests"]["tests"]
    return pd.DataFrame.from_records(
        [
            {
                "variable": r["variable"],
                "coding": r["coding"],
                "difference_pct": float(r["difference_pct"]),
                "significant": bool(r["significant"]),
                "N": int(r["N"]),
                "direction": r["direction"],
            }
            for r in rows
        ]
    )


# ---------------------------------------------------------------------------------------------
# Covariates
# ---------------------------------------------------------------------------------------------


def main_covariates() -> tuple[str, ...]:
    """Covariates of the main propensity model, as analysis-file columns, in Table 1 row order."""
    return tuple(COVARIATE_COLUMNS[row["covariate"]] for row in _balance_entry("Table 1")["rows"])


def subgroup_covariates() -> dict[str, tuple[str, ...]]:
    """Footnote 8: the reduced covariate set of each sub-group, as analysis-file columns.

    Keys are those of :data:`SUBGROUPS`; order as printed in the footnote.
    """
    sets = _load()["effects"]["covariates"]["subgroups_footnote_8"]["sets"]
    return {key: tuple(_FOOTNOTE_8_COLUMNS[name.lower()] for name in names) for key, names in sets.items()}


def covariates() -> pd.DataFrame:
    """Every covariate set with its printed wording.

    Columns: ``analysis`` (``main`` or a sub-group key), ``column`` (analysis-file column),
    ``printed`` (the wording of line 1481 for ``main``, of footnote 8 for sub-groups), ``coding``
    (the printed coding, main analysis only; empty otherwise).
    """
    cov = _load()["effects"]["covariates"]
    records = [
        {
            "analysis": "main",
            "column": COVARIATE_COLUMNS[item["table_row"]],
            "printed": item["text"],
            "coding": ", ".join(f"{k} ({v})" for k, v in item.get("coding", {}).items()),
        }
        for item in cov["main_analysis"]["list"]
    ]
    for key, names in cov["subgroups_footnote_8"]["sets"].items():
        records.extend(
            {"analysis": key, "column": _FOOTNOTE_8_COLUMNS[name.lower()], "printed": name, "coding": ""}
            for name in names
        )
    return pd.DataFrame.from_records(records)
