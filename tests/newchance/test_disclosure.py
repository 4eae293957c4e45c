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
    protect_table,
    suppression_marker,
    suppression_note,
)


def test_counts_below_the_threshold_are_replaced_with_rates_of_the_same_rows():
    frame = pd.DataFrame({"group": ["a", "b", "c", "d"], "n": [3, 12, 0, 10], "pct": [10.0, 40.0, 0.0, 50.0]})
    out, hidden = protect_table(frame, 10, derived=["pct"])
    # 3 is small; the categories add up to a total, so the smallest other non-zero cell (10) goes with it,
    # and a zero is shown: it describes no one
    assert out["n"].tolist() == ["<10", 12, 0, "<10"]
    assert out["pct"].tolist() == ["<10", 40.0, 0.0, "<10"]
    assert out["group"].tolist() == ["a", "b", "c", "d"]
    assert hidden == 4
    assert frame["n"].tolist() == [3, 12, 0, 10]  # the input is unchanged


def test_missing_counts_stay_missing_and_other_thresholds_work():
    frame = pd.DataFrame({"n": [4.0, None, 5.0], "m": [1, 2, 7]})
    out, _ = protect_table(frame, 5, counts=["m"])
    assert out["n"].iloc[0] == "<5"
    assert pd.isna(out["n"].iloc[1])
    assert out["n"].iloc[2] == "<5"  # 5 is not small, but alone beside the hidden 4 it would give it back
    assert out["m"].tolist() == ["<5", "<5", 7]  # a declared count that adds up to nothing: primary rule only
    assert protect_table(pd.DataFrame({"m": [0, 1]}), 5, counts=["m"])[0]["m"].tolist() == [0, "<5"]
    assert protect_table(pd.DataFrame({"m": [4, 9]}), 3, counts=["m"])[0]["m"].tolist() == [4, 9]


def test_nullable_integer_counts_with_missing_values():
    frame = pd.DataFrame({"removed": pd.array([None, 3, 12], dtype="Int64"), "remaining": [400, 397, 385]})
    out, _ = protect_table(frame, 10)
    assert pd.isna(out["removed"].iloc[0])
    # the one small removal takes the next with it, and the remaining count between them would give it back
    assert out["removed"].iloc[1:].tolist() == ["<10", "<10"]
    assert out["remaining"].tolist() == [400, "<10", 385]


def test_marker_and_note_name_the_threshold():
    assert suppression_marker(10) == "<10"
    note = suppression_note(7)
    assert "below 7" in note and '"<7"' in note and "--min-count" in note


def test_bad_inputs_are_reported_together():
    frame = pd.DataFrame({"n": [1, -2, 3.5, "x"]})
    with pytest.raises(ValueError, match=r"'n' at rows \[1, 2, 3\]"):
        protect_table(frame, 10, counts=["n"])
    with pytest.raises(ColumnNotFoundError, match="'count'.*'pct'"):
        protect_table(frame, 10, counts=["count"], derived=["pct"])
    with pytest.raises(ValueError, match="min_count must be an integer >= 1"):
        protect_table(pd.DataFrame({"n": [1]}), 0)


@settings(max_examples=100, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=20),
    min_count=st.integers(min_value=1, max_value=30),
)
def test_no_count_below_the_threshold_survives_and_never_exactly_one_is_hidden(counts, min_count):
    out = protect_table(pd.DataFrame({"n": counts}), min_count)[0]["n"].tolist()
    hidden = [after == f"<{min_count}" for after in out]
    for before, after, gone in zip(counts, out, hidden, strict=True):
        assert gone or after == before
        assert not 0 < before < min_count or gone
    positive = [c for c in counts if c > 0]
    if any(hidden) and len(set(counts)) > 1 and len(positive) > 1:
        assert sum(hidden) >= 2  # differencing from the total gives a sum of hidden cells, never one


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


# -- the whole-table layer: each route of differencing, by hand ------------------------------------


def test_flow_remaining_is_hidden_where_it_would_give_a_removal_back():
    flow = pd.DataFrame({"file": ["r"] * 4, "window": ["all"] * 4, "removed": [None, 1, 0, 20],
                         "remaining": [60, 59, 59, 39]})
    out, hidden = protect_table(flow, 10)
    # 1 hidden; the smallest non-zero removal goes with it (a hidden 0 would leave 60 - 59 = 1 for the pair);
    # remaining hidden from the first to the last: 60 - 39 = 21 is all that is left to read
    assert out["removed"].tolist()[1:] == ["<10", 0, "<10"]
    assert out["remaining"].tolist() == [60, "<10", "<10", 39]
    assert hidden == 4


def test_a_test_row_with_a_hidden_count_shows_no_statistic_and_both_groups_hide():
    row = pd.DataFrame({"n_0": [39], "n_1": [21], "N": [60], "reoffended_0": [13], "reoffended_1": [6],
                        "rate_0": [33.3], "rate_1": [28.6], "difference": [4.7], "t": [0.37], "chi2": [0.14],
                        "p": [0.71], "excluded_rows": [4]})
    out, _ = protect_table(row, 10)
    assert out.loc[0, ["reoffended_0", "reoffended_1"]].tolist() == ["<10", "<10"]
    assert out.loc[0, ["rate_0", "rate_1", "difference", "t", "chi2", "p"]].tolist() == ["<10"] * 6
    assert out.loc[0, ["n_0", "n_1", "N", "excluded_rows"]].tolist() == [39, 21, 60, "<10"]


def test_a_count_whose_complement_is_small_is_hidden():
    rates = pd.DataFrame({"reoffended": [12, 30], "N": [17, 31], "rate": [70.6, 96.8]}, index=["a", "b"])
    out, _ = protect_table(rates, 10)
    assert out["reoffended"].tolist() == ["<10", "<10"]  # 17 - 12 = 5 and 31 - 30 = 1
    assert out["rate"].tolist() == ["<10", "<10"]


def test_off_support_counts_are_hidden_with_the_matched_count_but_leave_the_effect():
    table = pd.DataFrame({"treated off support": [5], "treated matched": [54], "att": [-0.1], "t": [-1.0]})
    out, _ = protect_table(table, 10)
    assert out.loc[0].tolist() == ["<10", "<10", -0.1, -1.0]
    effects = pd.DataFrame({"N": [421], "n_estimation": [421], "n_treated_off_support": [4], "difference": [-0.1]})
    assert protect_table(effects, 10)[0].loc[0].tolist() == [421, 421, "<10", -0.1]


def test_extremes_are_not_shown_and_percentiles_stay():
    summary = pd.DataFrame({"N": [60], "min": [20.0], "median": [32.5], "max": [76.0]})
    out, hidden = protect_table(summary, 10)
    assert out.loc[0].tolist() == [60, "not shown", 32.5, "not shown"]
    assert hidden == 2


def test_survival_shares_hide_small_steps():
    km = pd.DataFrame({"weighted": [59.0], "events": [18.0], "median_days": [400.0],
                       "not reoffended by day 30": [58 / 59], "not reoffended by day 90": [47 / 59],
                       "not reoffended by day 182": [45 / 59]})
    out, _ = protect_table(km, 10)
    # day 30: 1 reoffence (hidden); day 90: 12 since the start (shown); day 182: 2 more (hidden)
    assert out.iloc[0, 3:].tolist() == ["<10", 47 / 59, "<10"]
    assert out.loc[0, "median_days"] == 400.0


def test_repeated_index_labels_are_protected_by_position():
    table = pd.DataFrame({"count": [3, 50, 40], "N": [93, 93, 93]}, index=["x", "x", "y"])
    out, _ = protect_table(table, 10)
    assert out["count"].tolist() == ["<10", 50, "<10"]


def test_rates_standing_for_few_people_hide_their_effect_row():
    table = pd.DataFrame({"treated": [1 / 59, 18 / 59], "control": [0.07, 0.44], "difference": [-0.05, -0.14],
                          "se": [0.03, 0.07], "t": [-1.7, -2.0], "N": [421, 421]},
                         index=pd.Index(["60d", "total"], name="window"))
    table.attrs["denominators"] = {"treated": [59, 59], "control": [362, 362]}
    out, _ = protect_table(table, 10)
    assert out.loc["60d"].tolist() == ["<10"] * 5 + [421]  # 1 of 59 treated reoffended
    assert out.loc["total"].tolist() == table.loc["total"].tolist()


def test_grid_rows_whose_rates_stand_for_few_people_hide_the_att_its_interval_and_p():
    grid = pd.DataFrame({"treated": [0.30, 3 / 40], "control": [0.45, 0.20], "att": [-0.15, -0.125],
                         "se": [0.05, 0.06], "ci_low": [-0.25, -0.24], "ci_high": [-0.05, -0.01], "p": [0.003, 0.04],
                         "se_ai": [0.05, 0.06], "se_psmatch2": [0.04, 0.05], "n_treated_matched": [100, 40]},
                        index=pd.Index(["published", "caliper"], name="changes"))
    grid.attrs["denominators"] = {"treated": [100, 40], "control": [100, 40]}
    out, hidden = protect_table(grid, 10)
    assert out.loc["caliper"].tolist() == ["<10"] * 9 + [40]  # 3 of 40 matched treated reoffended
    assert out.loc["published"].tolist() == grid.loc["published"].tolist()
    assert hidden == 9
