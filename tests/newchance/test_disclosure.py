"""psm.newchance.report.disclosure: small-count suppression and the identifier / free-text guard."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psm.errors import ColumnNotFoundError
from psm.newchance.report.disclosure import (
    DisclosureError,
    check_no_identifiers,
    suppress_small_counts,
    suppression_marker,
    suppression_note,
)


def test_counts_below_the_threshold_are_replaced_with_rates_of_the_same_rows():
    frame = pd.DataFrame(
        {"group": ["a", "b", "c", "d"], "n": [3, 12, 0, 10], "pct": [10.0, 40.0, 0.0, 50.0]}
    )
    out = suppress_small_counts(frame, ["n"], 10, derived=["pct"])
    assert out["n"].tolist() == ["<10", 12, "<10", 10]
    assert out["pct"].tolist() == ["<10", 40.0, "<10", 50.0]
    assert out["group"].tolist() == ["a", "b", "c", "d"]
    # the input is unchanged
    assert frame["n"].tolist() == [3, 12, 0, 10]


def test_missing_counts_stay_missing_and_other_thresholds_work():
    frame = pd.DataFrame({"n": [4.0, None, 5.0], "m": [1, 2, 7]})
    out = suppress_small_counts(frame, ["n", "m"], 5)
    assert out["n"].iloc[0] == "<5"
    assert pd.isna(out["n"].iloc[1])
    assert out["n"].iloc[2] == 5.0
    assert out["m"].tolist() == ["<5", "<5", 7]


def test_nullable_integer_counts_with_missing_values():
    frame = pd.DataFrame({"removed": pd.array([None, 3, 12], dtype="Int64"), "remaining": [400, 397, 385]})
    out = suppress_small_counts(frame, ["removed", "remaining"], 10)
    assert pd.isna(out["removed"].iloc[0])
    assert out["removed"].iloc[1:].tolist() == ["<10", 12]
    assert out["remaining"].tolist() == [400, 397, 385]


def test_marker_and_note_name_the_threshold():
    assert suppression_marker(10) == "<10"
    note = suppression_note(7)
    assert "below 7" in note and '"<7"' in note and "--min-count" in note


def test_bad_inputs_are_reported_together():
    frame = pd.DataFrame({"n": [1, -2, 3.5, "x"]})
    with pytest.raises(ValueError, match=r"'n' at rows \[1, 2, 3\]"):
        suppress_small_counts(frame, ["n"], 10)
    with pytest.raises(ColumnNotFoundError, match="'count'.*'pct'"):
        suppress_small_counts(frame, ["count"], 10, derived=["pct"])
    with pytest.raises(ValueError, match="min_count must be an integer >= 1"):
        suppress_small_counts(pd.DataFrame({"n": [1]}), ["n"], 0)


@settings(max_examples=100, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=20),
    min_count=st.integers(min_value=1, max_value=30),
)
def test_no_count_below_the_threshold_survives_and_none_above_is_touched(counts, min_count):
    out = suppress_small_counts(pd.DataFrame({"n": counts}), ["n"], min_count)["n"].tolist()
    for before, after in zip(counts, out, strict=True):
        assert after == (f"<{min_count}" if before < min_count else before)


@pytest.mark.parametrize(
    "name",
    [
        "person_id",
        "referral_id",
        "offence_id",
        "ID",
        "PNC number",
        "person key",
        "dob",
        "Date of Birth",
        "birth_date",
        "index_offence",
        "offence_description",
        "Offence Description",
        "notes",
        "comments",
        "free_text",
        "postcode",
        "surname",
        "referral_date",
        "reoffence_date",
    ],
)
def test_person_level_names_are_refused(name):
    with pytest.raises(DisclosureError, match=repr(name).replace("(", r"\(").replace(")", r"\)")):
        check_no_identifiers(pd.DataFrame({name: [1]}))


@pytest.mark.parametrize(
    "name",
    ["covariate", "age", "offence_type", "crime_type", "offences_12m_before", "engagement_length", "mid", "window", "N"],
)
def test_aggregate_names_pass(name):
    check_no_identifiers(pd.DataFrame({name: [1]}))


def test_index_levels_are_checked_and_all_problems_reported_at_once():
    frame = pd.DataFrame({"dob": [1], "age": [30], "notes": ["x"]}, index=pd.Index(["P1"], name="person_id"))
    with pytest.raises(DisclosureError) as info:
        check_no_identifiers(frame)
    message = str(info.value)
    assert "column 'dob' (date of birth)" in message
    assert "column 'notes' (free text)" in message
    assert "index level 'person_id' (identifier)" in message
    assert "'age'" not in message


def test_allow_lets_a_false_alarm_through():
    frame = pd.DataFrame({"key": ["age"], "value": [1]})
    with pytest.raises(DisclosureError):
        check_no_identifiers(frame)
    check_no_identifiers(frame, allow=["key"])
