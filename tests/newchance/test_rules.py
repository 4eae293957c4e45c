"""Each preparation rule on small hand-made inputs (Part B section 3.4; published_tables.yaml data_rules)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from psm.newchance.inputs.config import PreparationRules, rules_from_config
from psm.newchance.preparation.rules import (
    also_referred,
    classify_crime_type,
    comparison_start_offences,
    offence_type_code,
    recode_employment,
    recode_ethnicity,
    recode_marker,
    referral_after_cutoff,
    reoffence_before_index,
    reoffending_unknown,
    repeat_referral,
    under_age,
)


def _dates(*days: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(days)))


@pytest.mark.parametrize(("description", "expected"), [
    ("Common assault", "Violent"),
    ("ROBBERY of personal property", "Violent"),
    ("Wounding with intent to do GBH", "Violent"),
    ("wounding  with\tintent", "Violent"),                    # white space collapsed
    ("Assault occasioning actual bodily harm", "Violent"),
    ("Causing grievous bodily harm", "Violent"),
    ("Violence without injury", "Violent"),
    ("  Theft from a motor vehicle ", "Property"),
    ("Shoplifting", "Property"),
    ("Burglary - dwelling", "Property"),
    ("Robbery and theft", "Violent"),                         # two categories: Violent wins
    ("Burglary with assault", "Violent"),                      # two categories: Violent wins
    ("Wounding", "Other"),                                     # 'wounding with intent' only
    ("Violent disorder", "Other"),                             # 'violence' is the published keyword
    ("Possession of cannabis", "Other"),
    ("", "Other"),
    (None, "Other"),
])
def test_crime_type_keyword_search(description, expected) -> None:
    assert classify_crime_type(pd.Series([description], dtype=object)).iloc[0] == expected


def test_crime_type_keywords_and_precedence_are_configuration() -> None:
    descriptions = pd.Series(["burglary with assault", "criminal damage"])
    property_first = {"Property": ("burglary",), "Violent": ("assault",)}
    assert classify_crime_type(descriptions, property_first).tolist() == ["Property", "Other"]
    assert classify_crime_type(descriptions, {"Property": ("criminal damage",)}).tolist() == ["Other", "Property"]


def test_offence_type_codes_as_published() -> None:
    assert offence_type_code(pd.Series(["Other", "Violent", "Property"])).tolist() == [1.0, 2.0, 3.0]


def test_ethnicity_white_non_white_unknown_missing() -> None:
    codes = pd.Series(["white_north_european", "white_south_european", "black", "asian", "east_asian",
                       "middle_eastern", "unknown"])
    out = recode_ethnicity(codes)
    assert out.iloc[:6].tolist() == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    assert np.isnan(out.iloc[6])


def test_employment_published_psm_coding() -> None:
    out = recode_employment(pd.Series(["unemployed", "employed", "no_data"]))
    assert out.tolist() == [0.0, 1.0, 1.0]


def test_need_markers_yes_vs_no_or_not_assessed() -> None:
    assert recode_marker(pd.Series(["yes", "no", "not_assessed"])).tolist() == [1.0, 0.0, 0.0]


def test_comparison_start_window_boundaries() -> None:
    police = pd.DataFrame({
        "person_id": ["A", "A", "B", "C", "C", "D", "E", "E"],
        "offence_date": pd.to_datetime(["2015-05-05", "2015-05-20", "2015-05-06", "2015-06-01", "2015-05-31",
                                        "2015-06-01", "2015-05-10", "2015-05-10"]),
        "offence_id": ["a1", "a2", "b1", "c1", "c2", "d1", "e1", "e2"],
    })
    start = comparison_start_offences(police, (dt.date(2015, 5, 6), dt.date(2015, 5, 31)))
    assert start["offence_id"].to_dict() == {"A": "a2", "B": "b1", "C": "c2", "E": "e1"}  # D: none; E: first row
    narrower = comparison_start_offences(police, (dt.date(2015, 5, 7), dt.date(2015, 5, 30)))
    assert narrower["offence_id"].to_dict() == {"A": "a2", "E": "e1"}


def test_under_age_removes_17_keeps_18() -> None:
    assert under_age(pd.Series([17.0, 18.0, 45.0]), 18).tolist() == [True, False, False]


def test_referral_cutoff_default_removes_the_extract_month() -> None:
    rules = PreparationRules()
    assert rules.cutoff(dt.date(2020, 1, 10)) == dt.date(2019, 12, 31)
    assert rules.cutoff(dt.date(2020, 3, 1)) == dt.date(2020, 2, 29)
    removed = referral_after_cutoff(_dates("2019-12-31", "2020-01-01", "2020-01-10"), rules.cutoff(dt.date(2020, 1, 10)))
    assert removed.tolist() == [False, True, True]
    assert PreparationRules(referral_cutoff=dt.date(2019, 11, 30)).cutoff(dt.date(2020, 1, 10)) == dt.date(2019, 11, 30)


def test_invalid_reoffending_rules() -> None:
    assert reoffending_unknown(pd.Series(["yes", "no", "unknown"])).tolist() == [False, False, True]
    before = reoffence_before_index(_dates("2019-05-31", "2019-06-01", "NaT"), _dates("2019-06-01", "2019-06-01", "2019-06-01"))
    assert before.tolist() == [True, False, False]  # the same day is kept


def test_repeat_referral_keeps_the_earliest() -> None:
    referrals = pd.DataFrame({"person_id": ["P", "Q", "P", "P"],
                              "referral_date": pd.to_datetime(["2019-03-01", "2019-01-01", "2018-01-01", "2018-01-01"])},
                             index=[2, 3, 4, 5])
    assert repeat_referral(referrals).tolist() == [True, False, False, True]


def test_also_referred() -> None:
    assert list(also_referred(pd.Index(["C1", "T2"]), pd.Series(["T2", "T3"]))) == [False, True]


def test_rules_from_config() -> None:
    rules, problems = rules_from_config({"start_window": ["2015-05-01", "2015-05-31"], "min_age": 21,
                                         "referral_cutoff": "2019-11-30",
                                         "crime_keywords": {"Violent": ["assault"]}})
    assert problems == []
    assert rules.start_window == (dt.date(2015, 5, 1), dt.date(2015, 5, 31))
    assert (rules.min_age, rules.referral_cutoff) == (21, dt.date(2019, 11, 30))
    assert rules.crime_keywords == {"Violent": ("assault",)}
    _, problems = rules_from_config({"start_window": ["not a date", "2015-05-31"]})
    assert [p.check for p in problems] == ["bad_setting"]
