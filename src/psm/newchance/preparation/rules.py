"""The evaluation's preparation rules, each a named function (Part B, section 3.4).

Source: University of Birmingham (2020), *New Chance: Process and Impact
Evaluation*, Part B, sections 3.2.1 and 3.4 ("Treatment and Control group
data"); the rule ids of ``published_tables.yaml`` ``data_rules`` are cited on
each function. Rules that return a mask mark the rows the rule removes; the
caller logs them (:mod:`psm.newchance.preparation.exclusions`).
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from psm.newchance.inputs.config import DEFAULT_CRIME_KEYWORDS

CRIME_TYPES = ("Other", "Violent", "Property")
OFFENCE_TYPE_CODES = {"Other": 1, "Violent": 2, "Property": 3}

WHITE = frozenset({"white_north_european", "white_south_european"})
NON_WHITE = frozenset({"black", "asian", "east_asian", "middle_eastern"})


def normalise_description(descriptions: pd.Series) -> pd.Series:
    """Lower-case, runs of white space to one space, trimmed (missing -> empty string)."""
    return descriptions.astype("string").fillna("").str.lower().str.replace(r"\s+", " ", regex=True).str.strip()


CRIME_PRECEDENCE = ("violent_first", "last_wins")
"""How a description matching several categories is classified: ``"violent_first"`` — the first
category of the keyword list (Violent, then Property) wins; ``"last_wins"`` — the last one does, as a
Stata do-file's successive ``replace crime_type = ... if strpos(...)`` lines would leave it."""


def classify_crime_type(descriptions: pd.Series, keywords: dict[str, tuple[str, ...]] | None = None,
                        precedence: str = "violent_first") -> pd.Series:
    """Crime type by keyword search (``data_rules``: crime_type_word_search, crime_type_control).

    A description belongs to a category of ``keywords`` (default: Violent, then Property) any of
    whose keywords occurs in it as a substring after :func:`normalise_description` (so "ASSAULT  by
    beating" and "Assaulting" match "assault"; keywords are normalised the same way). No match:
    ``"Other"``. When several categories match, ``precedence`` (:data:`CRIME_PRECEDENCE`) decides:
    the publication does not say. ``"violent_first"`` (default) keeps the more serious
    classification (e.g. "burglary with assault" is Violent); ``"last_wins"`` reproduces the usual
    successive ``replace`` of a do-file, where the later category overwrites the earlier one
    ("burglary with assault" is Property).
    """
    if precedence not in CRIME_PRECEDENCE:
        raise ValueError(f"precedence must be one of {CRIME_PRECEDENCE}, got {precedence!r}")
    keywords = DEFAULT_CRIME_KEYWORDS if keywords is None else keywords
    text = normalise_description(descriptions)
    result = pd.Series("Other", index=descriptions.index, dtype=object)
    decided = pd.Series(False, index=descriptions.index)
    for category, words in keywords.items():
        if not words:
            continue
        pattern = "|".join(re.escape(" ".join(w.lower().split())) for w in words)
        hit = text.str.contains(pattern, regex=True).astype(bool)
        if precedence == "violent_first":
            hit &= ~decided
        result[hit] = category
        decided |= hit
    return result


def offence_type_code(crime_type: pd.Series) -> pd.Series:
    """Offence type as published: Other Crime 1, Violent Crime 2, Property Crime 3 (psm_codings)."""
    return crime_type.map(OFFENCE_TYPE_CODES).astype(float)


def recode_ethnicity(ethnic_appearance: pd.Series) -> pd.Series:
    """White (0) / Non-White (1) from ethnic appearance; ``unknown`` stays missing (psm_codings).

    White = white_north_european, white_south_european.
    """
    codes = ethnic_appearance.astype(object)
    return pd.Series(
        np.select([codes.isin(WHITE), codes.isin(NON_WHITE)], [0.0, 1.0], default=np.nan), index=codes.index
    )


def recode_employment(employment_status: pd.Series) -> pd.Series:
    """Unemployed (0) vs Employed or No data (1), the published PSM coding (psm_codings).

    Note section 3.4.1 uses the opposite direction; see docs/evaluation.md §9.
    """
    return (employment_status.astype(object) != "unemployed").astype(float)


def recode_marker(need: pd.Series) -> pd.Series:
    """Need marker Yes (1) vs No / Not assessed (0) (markers_binary)."""
    return (need.astype(object) == "yes").astype(float)


def under_age(age: pd.Series, min_age: int) -> pd.Series:
    """Rows younger than ``min_age`` at the index date (control_under_18_removed)."""
    return age < min_age


def referral_after_cutoff(referral_date: pd.Series, cutoff: dt.date) -> pd.Series:
    """Referrals after the last kept referral date (treatment_january_2020_removed)."""
    return referral_date > pd.Timestamp(cutoff)


def reoffending_unknown(reoffended: pd.Series) -> pd.Series:
    """Reoffending status unknown (treatment_invalid_reoffence_removed)."""
    return reoffended == "unknown"


def reoffence_before_index(reoffence_date: pd.Series, index_date: pd.Series) -> pd.Series:
    """Reoffence dated before the referral (treatment_invalid_reoffence_removed); same day is kept."""
    return (reoffence_date < index_date).fillna(False).astype(bool)


def repeat_referral(referrals: pd.DataFrame) -> pd.Series:
    """Every referral of a person except her earliest (ties: first in the file).

    Not a published rule (the publication counts referrals and people alike);
    one row per person is needed for the analysis file.
    """
    order = referrals.sort_values(["referral_date"], kind="stable")
    return order["person_id"].duplicated().reindex(referrals.index)


def also_referred(person_ids: pd.Series | pd.Index, referred: pd.Series) -> pd.Series | np.ndarray:
    """Comparison people whose ``person_id`` is also in the referral file.

    Not in the publication (which does not say); a referred woman is not
    untreated, and one row per person is needed in the joint file.
    """
    return pd.Index(person_ids).isin(referred.astype(str))


def comparison_start_offences(police: pd.DataFrame, window: tuple[dt.date, dt.date]) -> pd.DataFrame:
    """Each person's start offence: her first offence dated within ``window`` (inclusive).

    control_start_date: "the first offence recorded between 6 May 2015 and 31
    May 2015". Ties on the date: the first row in the file. Returns one row per
    person who has one, indexed by ``person_id``; people without are absent.
    """
    first, last = (pd.Timestamp(d) for d in window)
    inside = police[(police["offence_date"] >= first) & (police["offence_date"] <= last)]
    ordered = inside.sort_values("offence_date", kind="stable")
    return ordered.drop_duplicates("person_id").set_index("person_id")


def offence_type_categories(codes: pd.Series) -> pd.Series:
    """The published 1/2/3 offence-type codes back to categories (:data:`CRIME_TYPES`, reference Other)."""
    names = {float(code): name for name, code in OFFENCE_TYPE_CODES.items()}
    return pd.Series(pd.Categorical(codes.map(names), categories=list(CRIME_TYPES)), index=codes.index)
