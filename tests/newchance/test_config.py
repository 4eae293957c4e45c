"""dataset.yaml's settings are checked against their schema: booleans, dates and the rules section."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newchance_builders import offence, referral, write_dataset
from psm.newchance.inputs.config import rules_from_config
from psm.newchance.inputs.dataset import load_dataset
from psm.newchance.inputs.problems import DataValidationError


def _folder(tmp_path: Path, yaml_text: str) -> Path:
    folder = write_dataset(tmp_path / "data", [referral()], [offence()])
    (folder / "dataset.yaml").write_text(yaml_text)
    return folder


@pytest.mark.parametrize("value", ['"no"', "'false'", "no_thanks", "1", "0", '"yes"', "[true]"])
def test_synthetic_must_be_a_real_boolean(tmp_path, value):
    folder = _folder(tmp_path, f"synthetic: {value}\nextract_date: 2020-01-10\n")
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    assert "dataset.yaml, column 'synthetic': not a boolean" in str(info.value)
    assert "Allowed: synthetic: true or synthetic: false, without quotes" in str(info.value)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), (None, False)])
def test_synthetic_booleans_and_absence(tmp_path, value, expected):
    line = "" if value is None else f"synthetic: {value}\n"
    assert load_dataset(_folder(tmp_path, line + "extract_date: 2020-01-10\n")).synthetic is expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [("2020-13-45", "'2020-13-45'"), ("2019-12-31T12:00:00", "'2019-12-31T12:00:00'"), ("2300-01-01", "'2300-01-01'"),
     ("10/01/2020", "'10/01/2020'")],
)
def test_bad_extract_dates_are_named_not_tracebacks(tmp_path, value, shown):
    folder = _folder(tmp_path, f"synthetic: true\nextract_date: {value}\n")
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    message = str(info.value)
    assert message.count("extract_date") >= 1
    assert f"column 'extract_date': not a valid ISO date (a day, no time): {shown}" in message
    assert "not given" not in message  # reported once


def test_rules_must_be_a_mapping(tmp_path):
    folder = _folder(tmp_path, "synthetic: true\nextract_date: 2020-01-10\nrules: 5\n")
    with pytest.raises(DataValidationError, match=r"column 'rules': must be a mapping of settings, not 5"):
        load_dataset(folder)


def test_a_keyword_given_as_text_is_refused_not_read_letter_by_letter():
    _, problems = rules_from_config({"crime_keywords": {"Violent": "assault"}})
    assert [(p.column, p.message) for p in problems] == [
        ("rules.crime_keywords.Violent", "must be a list of keywords, not 'assault'")]


def test_an_unknown_category_is_refused():
    _, problems = rules_from_config({"crime_keywords": {"Violnet": ["assault"], "Property": ["theft"]}})
    assert [p.column for p in problems] == ["rules.crime_keywords.Violnet"]
    assert problems[0].allowed.startswith("Violent, Property")


def test_every_bad_rule_is_reported_at_once():
    _, problems = rules_from_config({"start_window": ["2015-05-31", "2015-05-06"], "min_age": -3,
                                     "referral_cutoff": "2019-02-30", "crime_keywords": ["assault"], "minage": 3})
    assert sorted(p.column for p in problems) == ["rules.crime_keywords", "rules.min_age", "rules.minage",
                                                  "rules.referral_cutoff", "rules.start_window"]
    messages = {p.column: p.message for p in problems}
    assert messages["rules.start_window"] == "first day 2015-05-31 is after the last day 2015-05-06"
    assert messages["rules.min_age"] == "not a whole number of years 0–120: -3"
    assert messages["rules.referral_cutoff"] == "not a valid ISO date: '2019-02-30'"


def test_good_rules_are_read():
    rules, problems = rules_from_config({"start_window": [dt.date(2015, 5, 1), "2015-05-31"], "min_age": 0})
    assert problems == []
    assert rules.start_window == (dt.date(2015, 5, 1), dt.date(2015, 5, 31))
    assert rules.min_age == 0


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['echo hacked']", "!!python/name:os.system"])
def test_unsafe_yaml_tags_are_refused(tmp_path, tag):
    folder = _folder(tmp_path, f"synthetic: true\nextract_date: 2020-01-10\ndescription: {tag}\n")
    with pytest.raises(DataValidationError, match="dataset.yaml: not a readable YAML file"):
        load_dataset(folder)
