"""psm.newchance.analysis.reoffending: rates, before/after and section 3.4.1 tests, checked by hand and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from psm.errors import ColumnNotFoundError, EmptyGroupError
from psm.newchance.analysis import reoffending as r


def test_average_rate_is_reoffenders_over_offenders():
    assert r.average_rate(pd.DataFrame({"reoffended": [1.0, 0, 0, 1, 0]})) == pytest.approx(40.0)


def test_summary_counts_reoffenders():
    table = r.reoffending_summary(pd.DataFrame({"reoffended": [1.0, 0, 1, 0, 0, 0, 1, 0]}))
    assert table.loc["reoffended"].tolist() == [3, 8, 37.5, 0]


def test_outcome_must_be_zero_one():
    with pytest.raises(ValueError, match=r"must be 0/1.*rows \[1\]"):
        r.average_rate(pd.DataFrame({"reoffended": [1.0, 2.0]}))
    with pytest.raises(ColumnNotFoundError):
        r.average_rate(pd.DataFrame({"reoffence": [1.0]}))


def test_frequency_table_by_hand():
    frame = pd.DataFrame({"offences_12m_after": [0, 0, 1, 3, np.nan, 5]})
    table = r.frequency_table(frame)
    assert table.index.tolist() == ["0", "1", "2", "3", "4", "5", "Missing"]
    assert table["count"].tolist() == [2, 1, 0, 1, 0, 1, 1]
    assert (table["N"] == 6).all()
    pooled = r.frequency_table(frame, top=2)
    assert pooled["count"].to_dict() == {"0": 2, "1": 1, "2+": 2, "Missing": 1}
    assert pooled.loc["2+", "percent"] == pytest.approx(100 * 2 / 6)


def test_rate_table_by_hand():
    frame = pd.DataFrame({
        "employment_status": ["unemployed", "unemployed", "unemployed", "employed", "no_data"],
        "reoffended": [1.0, 1.0, 0.0, 0.0, 0.0],
    })
    table = r.rate_table(frame, "employment_status")
    assert table.index.tolist() == ["Unemployed", "Employed", "No data"]
    assert table["reoffended"].tolist() == [2, 0, 0]
    assert table["N"].tolist() == [3, 1, 1]
    assert table.loc["Unemployed", "rate"] == pytest.approx(200 / 3)
    assert table.loc["Unemployed", "difference_from_average"] == pytest.approx(200 / 3 - 40)  # average 2/5


def test_rate_table_empty_categories_and_missing_outcomes():
    frame = pd.DataFrame({"engagement_level": ["ongoing", "ongoing", "did_not_engage"],
                          "reoffended": [1.0, np.nan, 0.0]})
    table = r.rate_table(frame, "engagement_level")
    assert table.loc["Ongoing", ["reoffended", "N"]].tolist() == [1, 1]  # the unknown outcome is not in N
    assert table.loc["One appointment only", "N"] == 0
    assert math.isnan(table.loc["One appointment only", "rate"])


def test_crossed_rate_table_by_hand():
    frame = pd.DataFrame({
        "age_group": ["21–24", "21–24", "31–35", "31–35"],
        "employment_status": ["unemployed", "employed", "unemployed", "unemployed"],
        "reoffended": [1.0, 0.0, 1.0, 0.0],
    })
    table = r.rate_table(frame, ["age_group", "employment_status"])
    assert table.loc[("21–24", "Unemployed"), ["reoffended", "N", "rate"]].tolist() == [1, 1, 100.0]
    assert table.loc[("31–35", "Unemployed"), ["reoffended", "N", "rate"]].tolist() == [1, 2, 50.0]
    assert table.loc[("31–35", "Employed"), "N"] == 0
    assert table["N"].sum() == 4


def test_before_after_paired_t_by_hand():
    frame = pd.DataFrame({"offences_12m_before": [3, 2, 5, 4, 6], "offences_12m_after": [1, 2, 3, 1, np.nan]})
    everyone = pd.Series(True, index=frame.index)
    row = r.before_after(frame, {"all": everyone}).loc["all"]
    d = np.array([2, 0, 2, 3])
    sd = math.sqrt(((d - 1.75) ** 2).sum() / 3)
    t = 1.75 / (sd / 2)
    assert (row["N"], row["missing"], row["df"]) == (4, 1, 3)
    assert (row["mean_before"], row["mean_after"], row["difference"]) == (3.5, 1.75, 1.75)
    assert row["t"] == pytest.approx(t)
    assert row["p"] == pytest.approx(2 * stats.t.sf(t, 3))
    assert row["significant"] == (row["p"] < 0.05)


def test_before_after_samples_and_too_small_sample():
    frame = pd.DataFrame({"offences_12m_before": [3, 2, 5, 4], "offences_12m_after": [1, 2, 3, 1],
                          "eligible_12m": [True, True, False, True]})
    table = r.before_after(frame, {"all": pd.Series(True, index=frame.index), "12m": frame["eligible_12m"]})
    assert table.loc["12m", "N"] == 3
    assert table.loc["12m", "mean_before"] == pytest.approx(3.0)
    with pytest.raises(EmptyGroupError, match="'one'"):
        r.before_after(frame, {"one": frame.index == 0})


def test_group_test_by_hand():
    y = pd.Series([1.0, 0, 0, 0, 1, 1, 0, 1])
    g = pd.Series([0.0, 0, 0, 0, 1, 1, 1, np.nan])  # the last row has no group: left out
    res = r.group_test(y, g)
    assert (res["n_0"], res["n_1"], res["N"], res["reoffended_0"], res["reoffended_1"]) == (4, 3, 7, 1, 2)
    assert res["rate_0"] == pytest.approx(25.0)
    assert res["rate_1"] == pytest.approx(200 / 3)
    assert res["difference"] == pytest.approx(200 / 3 - 25)
    sp2 = (3 * 0.25 + 2 * (1 / 3)) / 5  # pooled variance of the 0/1 outcome
    t = (2 / 3 - 1 / 4) / math.sqrt(sp2 * (1 / 4 + 1 / 3))
    assert res["t"] == pytest.approx(t)
    assert res["df"] == 5
    assert res["p"] == pytest.approx(2 * stats.t.sf(t, 5))
    # 2x2 table [[3, 1], [1, 2]]: chi2 = N (ad - bc)^2 / (row and column totals) = 7 * 25 / 144
    assert res["chi2"] == pytest.approx(175 / 144)
    assert res["p_chi2"] == pytest.approx(stats.chi2.sf(175 / 144, 1))
    # Fisher: P(a) = C(4,a) C(3,4-a) / C(7,4), a = 1..4 -> 4, 18, 12, 1 (/35); two-sided sum of P <= P(3)
    assert res["p_fisher"] == pytest.approx(17 / 35)
    assert res["significant"] is False


def test_group_test_needs_two_per_group():
    with pytest.raises(EmptyGroupError, match="n_0=1"):
        r.group_test(pd.Series([1.0, 0, 1]), pd.Series([0.0, 1, 1]))


def _tested_population() -> pd.DataFrame:
    return pd.DataFrame({
        "age": [24, 25, 30, 19, 40, 22],
        "ethnic_appearance": ["white_north_european", "white_south_european", "black", "asian", "unknown",
                              "white_north_european"],
        "employment_status": ["employed", "unemployed", "no_data", "unemployed", "employed", "unemployed"],
        "mental_health_need": ["yes", "no", "not_assessed", "yes", "no", "yes"],
        "substance_misuse_need": ["no", "no", "yes", "yes", "not_assessed", "yes"],
        "engagement_level": ["ongoing", "did_not_engage", "one_appointment_only", "ongoing", "ongoing",
                             "did_not_engage"],
        "engagement_length": ["up_to_3_months", "did_not_engage", "one_appointment_only", "over_6_months",
                              "3_to_6_months", "did_not_engage"],
        "reoffended": [1.0, 0, 1, 1, 0, 0],
    })


def test_significance_tests_codings_by_hand():
    table = r.significance_tests(_tested_population())
    cells = ["n_0", "n_1", "reoffended_0", "reoffended_1", "excluded_rows"]
    assert table.loc["Ethnicity", cells].tolist() == [3, 2, 1, 2, 1]  # White N/S European vs black, asian
    assert table.loc["Age", cells].tolist() == [3, 3, 2, 1, 0]  # 24, 19, 22 are under 25
    assert table.loc["Employment Status", cells].tolist() == [2, 3, 1, 1, 1]  # no data left out
    assert table.loc["Mental Health and Wellbeing", cells].tolist() == [2, 3, 0, 2, 1]
    assert table.loc["Substance Misuse", cells].tolist() == [2, 3, 1, 2, 1]
    assert table.loc["Engagement (engaged vs did not engage)", cells].tolist() == [3, 3, 1, 2, 0]
    assert table.loc["Engagement length", cells].tolist() == [3, 3, 1, 2, 0]
    row = table.loc["Age"]
    expected = stats.ttest_ind([0.0, 0, 1], [1.0, 1, 0], equal_var=True)  # >= 25 minus < 25
    assert row["t"] == pytest.approx(expected.statistic)
    assert row["p"] == pytest.approx(expected.pvalue)
    assert row["difference"] == pytest.approx(100 / 3 - 200 / 3)


def test_published_significance_tests_signed_as_rate_1_minus_rate_0():
    table = r.published_significance_tests()
    assert table["difference"].to_dict() == {
        "Ethnicity": "2.8", "Age": "-6.1", "Employment Status": "20.9", "Mental Health and Wellbeing": "5.9",
        "Substance Misuse": "4.1", "Engagement (engaged vs did not engage)": "-11", "Engagement length": "-9"}
    assert table["N"].tolist() == ["408", "421", "221", "244", "254", "421", "421"]
    assert table.loc["Engagement (engaged vs did not engage)", ["rate_0", "rate_1"]].tolist() == ["28", "17"]
    assert table.loc["Engagement length", ["rate_0", "rate_1"]].tolist() == ["26", "17"]
    assert table["significant"].tolist() == [False, False, True, False, False, True, True]


def test_published_before_after_and_summary():
    table = r.published_before_after()
    assert table.index.tolist() == list(r.BEFORE_AFTER_SAMPLES)
    assert table["N"].tolist() == [421, 247]
    assert table["difference"].tolist() == [0.25, 0.32]
    assert r.published_summary().loc["reoffended"].tolist() == ["91", "421", "22"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ongoing", "did_not_engage", "one_appointment_only"]),
                          st.sampled_from([0.0, 1.0])), min_size=1, max_size=50))
def test_rates_weighted_by_n_give_the_average(rows):
    frame = pd.DataFrame(rows, columns=["engagement_level", "reoffended"])
    table = r.rate_table(frame, "engagement_level")
    assert table["N"].sum() == len(frame)
    assert table["reoffended"].sum() / table["N"].sum() * 100 == pytest.approx(r.average_rate(frame))
