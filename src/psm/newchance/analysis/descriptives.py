"""Descriptive tables of the treatment group (Part B, sections 3.2–3.1.7, Graphs 1–20).

The report describes **all 421 referrals** of the referral file (June 2016 – January 2020), before
any of the exclusions made for the matching analysis (January 2020 referrals, unknown or invalid
reoffending, section 3.4). :func:`referral_population` builds that population from a
:class:`~psm.newchance.inputs.dataset.Dataset`: one row per referral, with the crime type of the index
offence classified by the published keyword search (:func:`psm.newchance.preparation.rules.classify_crime_type`)
and the age groups of the graphs. Every table function takes that frame and returns a
:class:`~pandas.DataFrame` with

* ``count``: people in the category,
* ``percent``: ``100 * count / N``,
* ``N``: the population the percentage is of (the whole population, or the group in ``by`` tables),

and ``attrs["population"]`` naming the population (also put in captions by :func:`caption`).
Categories are listed in the schema's order, empty ones included; missing values form a
``"Missing"`` row, so nothing is dropped. Published numbers to set beside these tables come from
:func:`published_percentages` and :func:`published_summary`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from psm.errors import ColumnNotFoundError
from psm.newchance.published import numbers as published
from psm.newchance.inputs.dataset import Dataset
from psm.newchance.preparation.outcomes import WINDOWS, eligible
from psm.newchance.preparation.rules import CRIME_TYPES, classify_crime_type
from psm.newchance.inputs.schema import ENGAGEMENT_LENGTH, ENGAGEMENT_LEVEL, ETHNIC_APPEARANCE, EMPLOYMENT_STATUS, NEED

__all__ = [
    "AGE_GROUPS",
    "ALL_REFERRALS",
    "DESCRIPTIVE_GRAPHS",
    "LABELS",
    "MAIN_ETHNICITIES",
    "MISSING",
    "OPTIONAL_CATEGORIES",
    "PUBLISHED_ITEMS",
    "SUMMARY_VARIABLES",
    "Graph",
    "age_group",
    "age_statements",
    "caption",
    "categories",
    "category_order",
    "distribution",
    "graph_table",
    "numeric_summary",
    "published_percentages",
    "published_summary",
    "referral_population",
]

ALL_REFERRALS = "all referrals in the referral file, before the exclusions of the matching analysis"
MISSING = "Missing"

#: Age groups of Graphs 3–6 and 23: [lower, upper) in years; "21–24" and "31–35" are the groups the
#: report names (section 3.3), "under 25" is the split of section 3.4.1.
AGE_GROUPS: Mapping[str, tuple[float, float]] = {
    "Under 18": (-np.inf, 18),
    "18–20": (18, 21),
    "21–24": (21, 25),
    "25–30": (25, 31),
    "31–35": (31, 36),
    "36–40": (36, 41),
    "41–50": (41, 51),
    "51 and over": (51, np.inf),
}

#: Display labels of the codes of each categorical column, in the order tables list them.
LABELS: Mapping[str, Mapping[str, str]] = {
    "crime_type": {c: f"{c} crime" for c in CRIME_TYPES},
    "ethnic_appearance": dict(zip(ETHNIC_APPEARANCE, (
        "White North European", "White South European", "Black", "Asian", "East Asian", "Middle Eastern",
        "Unknown"), strict=True)),
    "employment_status": dict(zip(EMPLOYMENT_STATUS, ("Unemployed", "Employed", "No data"), strict=True)),
    "engagement_level": dict(zip(ENGAGEMENT_LEVEL, ("Ongoing", "Did not engage", "One appointment only"),
                                 strict=True)),
    "engagement_length": dict(zip(ENGAGEMENT_LENGTH, (
        "Did not engage", "One appointment only", "Up to 3 months", "3–6 months", "More than 6 months"),
        strict=True)),
    "substance_misuse_need": dict(zip(NEED, ("Yes", "No", "Not assessed"), strict=True)),
    "mental_health_need": dict(zip(NEED, ("Yes", "No", "Not assessed"), strict=True)),
    "age_group": {g: g for g in AGE_GROUPS},
}

#: Categories listed only when someone is in them (the referral file should hold no one under 18).
OPTIONAL_CATEGORIES: Mapping[str, frozenset[str]] = {"age_group": frozenset({"Under 18"})}

#: "The three main ethnicities identified in the treatment group" (Graphs 4–6, 8–10, 14–16, 18–20).
MAIN_ETHNICITIES = ("white_north_european", "black", "asian")

_POPULATION_COLUMNS = (
    "age", "ethnic_appearance", "employment_status", "engagement_level", "engagement_length",
    "substance_misuse_need", "mental_health_need", "offending_history_total", "offences_12m_before",
    "offences_12m_after", "reoffence_count",
)  # fmt: skip


def age_group(age: pd.Series, groups: Mapping[str, tuple[float, float]] = AGE_GROUPS) -> pd.Series:
    """Age group label of each age (``lower <= age < upper``); missing age stays missing."""
    labels = pd.Series(np.nan, index=age.index, dtype=object)
    for label, (lower, upper) in groups.items():
        labels[(age >= lower) & (age < upper)] = label
    return labels


def referral_population(dataset: Dataset) -> pd.DataFrame:
    """All referrals of the referral file (the population of sections 3.2–3.4.1), one row per referral.

    Columns: the referral file's descriptive columns (``age``, ``ethnic_appearance``,
    ``employment_status``, ``engagement_level``, ``engagement_length``, ``substance_misuse_need``,
    ``mental_health_need``, ``offending_history_total``, ``offences_12m_before``,
    ``offences_12m_after``, ``reoffence_count``) and

    * ``crime_type``: the index offence classified by the published keyword search (section 3.2.1,
      the dataset's ``rules.crime_keywords``);
    * ``age_group``: :data:`AGE_GROUPS`;
    * ``reoffending_status``: the file's ``reoffended`` code (yes / no / unknown);
    * ``reoffended``: 1.0 if ``yes``, else 0.0. "91 offenders (22%) reoffended" with N = 421 puts
      every referral in the denominator, so the few with unknown status count as not reoffended
      here (the matching analysis removes them instead; their number is in the status table);
    * ``eligible_12m``: the referral's 12 months after referral lie before the extract date
      (:func:`psm.newchance.preparation.outcomes.eligible`), the sample "who could be followed up for 12 months".

    Index: the file's line numbers (no identifiers are carried). ``attrs["population"]`` =
    :data:`ALL_REFERRALS`.
    """
    r = dataset.referrals
    out = r.loc[:, list(_POPULATION_COLUMNS)].copy()
    out["crime_type"] = classify_crime_type(r["index_offence"], dataset.rules.crime_keywords)
    out["age_group"] = age_group(r["age"])
    out["reoffending_status"] = r["reoffended"]
    out["reoffended"] = (r["reoffended"] == "yes").astype(float)
    window_12m = next(w for w in WINDOWS if w == "12m")
    out["eligible_12m"] = eligible(r["referral_date"], dataset.extract_date, window_12m).astype(bool)
    out.attrs["population"] = ALL_REFERRALS
    return out


def _require(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ColumnNotFoundError(missing, frame.columns)


def categories(values: pd.Series, labels: Mapping[str, str] | None) -> pd.Series:
    """Codes replaced by their labels (``MISSING`` for missing values).

    With ``labels`` given, a code outside it raises ``ValueError`` naming the column, the unknown
    values and the allowed codes (a table never silently drops a category).
    """
    if labels is None:
        return values.astype(object).where(values.notna(), MISSING)
    present = values.dropna()
    unknown = sorted(set(present.astype(str)) - set(labels))
    if unknown:
        raise ValueError(f"column {values.name!r} has values {unknown} outside the known codes {list(labels)}")
    return values.astype(object).map(labels).where(values.notna(), MISSING)


def category_order(column: str, labels: Mapping[str, str] | None, shown: pd.Series) -> list:
    """Categories of ``column`` in table order: the labels' order (numbers ascending without
    labels), :data:`OPTIONAL_CATEGORIES` only if present, ``MISSING`` last if present."""
    present = set(shown.unique())
    if labels is None:
        order = sorted(present - {MISSING}, key=lambda v: (not isinstance(v, (int, float)), v))
    else:
        optional = OPTIONAL_CATEGORIES.get(column, frozenset())
        order = [v for v in dict.fromkeys(labels.values()) if v not in optional or v in present]
    return order + ([MISSING] if MISSING in present else [])


def _population(frame: pd.DataFrame) -> str:
    return frame.attrs.get("population", "the rows given")


def distribution(
    frame: pd.DataFrame,
    column: str,
    *,
    by: str | None = None,
    by_values: Sequence[str] | None = None,
    labels: Mapping[str, str] | None | bool = True,
) -> pd.DataFrame:
    """Counts and percentages of ``column`` (a graph of the descriptive section).

    ``count`` = rows in the category, ``N`` = rows of the population (or of the ``by`` group),
    ``percent`` = ``100 * count / N``. ``labels=True`` uses :data:`LABELS` for the column (and for
    ``by``); ``None``/``False`` keeps the raw values (numbers sorted ascending). ``by_values``
    restricts and orders the ``by`` groups (codes, e.g. :data:`MAIN_ETHNICITIES`). Index: the
    category labels (``(group, category)`` with ``by``); every known category is listed, with 0 if
    empty.
    """
    _require(frame, [column] + ([by] if by else []))
    column_labels = LABELS.get(column) if labels is True else (labels or None)
    shown = categories(frame[column], column_labels)
    order = category_order(column, column_labels, shown)
    if by is None:
        counts = shown.value_counts().reindex(order, fill_value=0)
        table = pd.DataFrame({"count": counts.astype(int), "N": len(frame)})
        table.index.name = column
    else:
        by_labels = LABELS.get(by) if labels is True else None
        groups = list(by_values) if by_values is not None else list(
            by_labels or sorted(frame[by].dropna().unique()))
        parts = {}
        for code in groups:
            rows = frame[by] == code
            counts = shown[rows].value_counts().reindex(order, fill_value=0)
            parts[by_labels[code] if by_labels else code] = pd.DataFrame(
                {"count": counts.astype(int), "N": int(rows.sum())})
        table = pd.concat(parts, names=[by, column])
    table.insert(1, "percent", 100 * table["count"] / table["N"].where(table["N"] > 0))
    table.attrs["population"] = _population(frame)
    return table


@dataclass(frozen=True)
class Graph:
    """A graph of the report and the table behind it: ``distribution(column, by=by)``."""

    name: str
    numbers: tuple[int, ...]
    title: str
    column: str
    by: str | None = None

    @property
    def label(self) -> str:
        """"Graph 4–6" style label."""
        n = self.numbers
        return f"Graph {n[0]}" if len(n) == 1 else f"Graphs {n[0]}–{n[-1]}"


#: Graphs 1–20 of section 3.2 (by-ethnicity graphs: the three main ethnicities, one panel each).
DESCRIPTIVE_GRAPHS: tuple[Graph, ...] = (
    Graph("crime_type", (1,), "Crime type of the index offence", "crime_type"),
    Graph("ethnicity", (2,), "Ethnic appearance", "ethnic_appearance"),
    Graph("age", (3,), "Age at referral", "age_group"),
    Graph("age_by_ethnicity", (4, 5, 6), "Age at referral by ethnicity", "age_group", "ethnic_appearance"),
    Graph("employment", (7,), "Employment status", "employment_status"),
    Graph("employment_by_ethnicity", (8, 9, 10), "Employment status by ethnicity", "employment_status",
          "ethnic_appearance"),
    Graph("engagement_level", (11,), "Engagement level", "engagement_level"),
    Graph("engagement_length", (12,), "Length of engagement", "engagement_length"),
    Graph("substance_misuse", (13,), "Drugs/alcohol misuse need identified", "substance_misuse_need"),
    Graph("substance_misuse_by_ethnicity", (14, 15, 16), "Drugs/alcohol misuse need by ethnicity",
          "substance_misuse_need", "ethnic_appearance"),
    Graph("mental_health", (17,), "Mental health/wellbeing need identified", "mental_health_need"),
    Graph("mental_health_by_ethnicity", (18, 19, 20), "Mental health/wellbeing need by ethnicity",
          "mental_health_need", "ethnic_appearance"),
)


def graph_table(frame: pd.DataFrame, graph: Graph) -> pd.DataFrame:
    """The table behind ``graph`` (by-ethnicity graphs: the :data:`MAIN_ETHNICITIES`)."""
    by_values = MAIN_ETHNICITIES if graph.by == "ethnic_appearance" else None
    return distribution(frame, graph.column, by=graph.by, by_values=by_values)


def caption(title: str, table: pd.DataFrame) -> str:
    """``"<title>. Population: <population>; N = <n>"`` (``N per group`` for grouped tables)."""
    n = table["N"].unique()
    size = f"N = {int(n[0])}" if len(n) == 1 and table.index.nlevels == 1 else "N per group in column N"
    return f"{title}. Population: {table.attrs.get('population', 'the rows given')}; {size}."


def numeric_summary(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """N (non-missing), missing, mean, sd (n − 1), min, median, max of each column.

    ``columns`` maps column -> row label. Section 3.2.1 prints mean and range of the offences in
    the 12 months before referral and of the total offending history; section 3.1.3 those of age.
    """
    _require(frame, list(columns))
    rows = {}
    for column, label in columns.items():
        x = frame[column].astype(float)
        rows[label] = {"N": int(x.notna().sum()), "missing": int(x.isna().sum()), "mean": x.mean(),
                       "sd": x.std(ddof=1), "min": x.min(), "median": x.median(), "max": x.max()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "variable"
    table.attrs["population"] = _population(frame)
    return table


#: Rows of :func:`numeric_summary` in the notebook, with the published topic they are compared to.
SUMMARY_VARIABLES: Mapping[str, tuple[str, str]] = {
    "age": ("Age at referral (years)", "age"),
    "offences_12m_before": ("Offences in the 12 months before referral", "offences_12_months_before_referral"),
    "offending_history_total": ("Total offending history (police records)", "offending_history_total"),
}


def age_statements(frame: pd.DataFrame) -> pd.DataFrame:
    """The shares behind the report's statements on age, with the statement printed beside them.

    Rows: aged 22 to 40 ("two thirds", executive summary) and, for each main ethnicity, under 30
    ("less than half" White North European, "more than half" Black, "half" Asian; section 3.1.3).
    Columns ``count``, ``N``, ``percent``, ``published`` (the wording).
    """
    _require(frame, ["age", "ethnic_appearance"])
    age = frame["age"]
    rows = {"Aged 22 to 40 (all referrals)": (age.between(22, 40), pd.Series(True, index=frame.index),
                                              "two thirds")}
    wording = dict(zip(MAIN_ETHNICITIES, ("less than half", "more than half", "half"), strict=True))
    for code, text in wording.items():
        group = frame["ethnic_appearance"] == code
        rows[f"Under 30: {LABELS['ethnic_appearance'][code]}"] = (age < 30, group, text)
    table = pd.DataFrame.from_dict(
        {label: {"count": int((hit & group).sum()), "N": int(group.sum()), "published": text}
         for label, (hit, group, text) in rows.items()},
        orient="index",
    )
    table.insert(2, "percent", 100 * table["count"] / table["N"].where(table["N"] > 0))
    table.index.name = "statement"
    table.attrs["population"] = _population(frame)
    return table


# ---------------------------------------------------------------------------------------------
# Published numbers in the layout of these tables
# ---------------------------------------------------------------------------------------------

#: Table column -> (published topic, {published item -> code}) for :func:`published_percentages`.
PUBLISHED_ITEMS: Mapping[str, tuple[str, Mapping[str, str]]] = {
    "crime_type": ("index_offence_crime_type", {"property_crime": "Property", "violent_crime": "Violent"}),
    "employment_status": ("employment", {"unemployed": "unemployed", "employed": "employed"}),
    "engagement_level": ("engagement_level", {"ongoing": "ongoing", "did_not_engage": "did_not_engage",
                                              "one_appointment_only": "one_appointment_only"}),
    "engagement_length": ("engagement_length", {"more_than_6_months": "over_6_months"}),
    "mental_health_need": ("mental_health_wellbeing", {"not_assessed": "not_assessed"}),
}


def published_percentages(column: str) -> pd.DataFrame | None:
    """The published percentages of ``column``'s categories as printed text (column ``percent``),
    indexed by the category labels of :func:`distribution`; None if the report prints none.

    Shares printed only in words ("just over half", "almost 40%") are not numbers here; the
    notebooks quote them in the text.
    """
    if column not in PUBLISHED_ITEMS:
        return None
    topic, items = PUBLISHED_ITEMS[column]
    numbers = published.descriptives()
    rows = numbers[(numbers["topic"] == topic) & (numbers["statistic"] == "pct")].set_index("item")
    labels = LABELS[column]
    frame = pd.DataFrame({"percent": [rows.at[item, "printed"] for item in items]},
                         index=pd.Index([labels[code] for code in items.values()], name=column))
    return frame


def published_summary() -> pd.DataFrame:
    """Published mean, min and max of age, 12-month prior offences and offending history as printed
    text, in the layout of :func:`numeric_summary` with :data:`SUMMARY_VARIABLES` labels."""
    numbers = published.descriptives()
    records = {}
    for label, topic in SUMMARY_VARIABLES.values():
        rows = numbers[(numbers["topic"] == topic)]
        records[label] = {stat: rows.loc[(rows["statistic"] == stat) | (rows["item"] == stat), "printed"].iloc[0]
                          for stat in ("mean", "min", "max")}
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index.name = "variable"
    return frame
