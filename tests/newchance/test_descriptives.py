"""psm.newchance.analysis.descriptives: tables of the treatment group on hand-made referrals, counted by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from newchance_builders import offence, referral, write_dataset

from psm.errors import ColumnNotFoundError
from psm.newchance.analysis import descriptives as d
from psm.newchance.inputs.dataset import load_dataset
from psm.newchance.inputs.schema import ETHNIC_APPEARANCE


@pytest.fixture
def population(tmp_path):
    """Six referrals, one of them after the PSM cut-off and one with unknown reoffending: all stay."""
    rows = [
        referral(index_offence="Theft from a shop", age="20", referral_date="2019-01-10", reoffended="yes",
                 reoffence_date="2019-03-01", reoffence_count="2"),
        referral(index_offence="Common ASSAULT  by beating", age="21", referral_date="2019-01-11"),
        referral(index_offence="Drunk and disorderly", age="30", ethnic_appearance="black",
                 employment_status="no_data", substance_misuse_need="", mental_health_need="not_assessed"),
        referral(index_offence="Burglary with assault", age="31", ethnic_appearance="", reoffended="unknown"),
        referral(index_offence="Criminal damage", age="51", referral_date="2020-01-05",
                 engagement_level="did_not_engage", engagement_length="did_not_engage"),
        referral(index_offence="Shoplifting", age="40", ethnic_appearance="asian", employment_status="employed"),
    ]
    return rows


def _load(tmp_path, rows):
    return load_dataset(write_dataset(tmp_path / "data", rows, [offence()]))


def test_referral_population_keeps_every_referral_and_derives_columns(tmp_path, population):
    pop = d.referral_population(_load(tmp_path, population))
    assert len(pop) == 6  # the January 2020 referral and the unknown reoffending status are kept
    assert pop.attrs["population"] == d.ALL_REFERRALS
    assert pop["crime_type"].tolist() == ["Property", "Violent", "Other", "Violent", "Other", "Property"]
    assert pop["age_group"].tolist() == ["18–20", "21–24", "25–30", "31–35", "51 and over", "36–40"]
    assert pop["reoffending_status"].tolist() == ["yes", "no", "no", "unknown", "no", "no"]
    assert pop["reoffended"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # unknown counts as not reoffended
    # 12 months after 10 Jan 2019 is 10 Jan 2020 = the extract date: observed; a day later is not
    assert pop["eligible_12m"].tolist()[:2] == [True, False]
    # empty cells are the schema's codes for them
    assert pop["ethnic_appearance"].iloc[3] == "unknown"
    assert pop["substance_misuse_need"].iloc[2] == "not_assessed"
    assert not {"person_id", "referral_id", "referral_date", "index_offence"} & set(pop.columns)


def test_distribution_counts_percentages_and_n_by_hand():
    frame = pd.DataFrame({"ethnic_appearance": ["black", "asian", "black", np.nan, "black"]})
    table = d.distribution(frame, "ethnic_appearance")
    assert table.index.tolist() == [*(d.LABELS["ethnic_appearance"][c] for c in ETHNIC_APPEARANCE), "Missing"]
    assert table.loc["Black"].tolist() == [3, 60.0, 5]
    assert table.loc["Asian"].tolist() == [1, 20.0, 5]
    assert table.loc["Missing"].tolist() == [1, 20.0, 5]
    assert table.loc["White North European"].tolist() == [0, 0.0, 5]
    assert list(table.columns) == ["count", "percent", "N"]


def test_distribution_by_group_uses_the_group_as_denominator():
    frame = pd.DataFrame({
        "employment_status": ["unemployed", "employed", "unemployed", "no_data", "unemployed"],
        "ethnic_appearance": ["black", "black", "asian", "asian", "white_north_european"],
    })
    table = d.distribution(frame, "employment_status", by="ethnic_appearance", by_values=["asian", "black"])
    assert table.index.get_level_values(0).unique().tolist() == ["Asian", "Black"]
    assert table.loc[("Asian", "Unemployed")].tolist() == [1, 50.0, 2]
    assert table.loc[("Asian", "No data")].tolist() == [1, 50.0, 2]
    assert table.loc[("Black", "Employed")].tolist() == [1, 50.0, 2]
    assert table.loc[("Black", "No data")].tolist() == [0, 0.0, 2]
    assert d.caption("T", table).endswith("N per group in column N.")


def test_distribution_rejects_unknown_codes_and_missing_columns():
    frame = pd.DataFrame({"employment_status": ["retired", "employed"]})
    with pytest.raises(ValueError, match=r"'employment_status' has values \['retired'\]"):
        d.distribution(frame, "employment_status")
    with pytest.raises(ColumnNotFoundError, match="ethnicity"):
        d.distribution(pd.DataFrame({"ethnic_appearance": ["black"]}), "ethnicity")


def test_age_groups_boundaries_and_optional_under_18():
    ages = pd.Series([17, 18, 20, 21, 24, 25, 30, 31, 35, 36, 40, 41, 50, 51, 76, np.nan])
    assert d.age_group(ages).tolist()[:-1] == [
        "Under 18", "18–20", "18–20", "21–24", "21–24", "25–30", "25–30", "31–35", "31–35",
        "36–40", "36–40",
        "41–50", "41–50", "51 and over", "51 and over"]
    assert pd.isna(d.age_group(ages).iloc[-1])
    adults = pd.DataFrame({"age_group": d.age_group(pd.Series([18, 30]))})
    assert "Under 18" not in d.distribution(adults, "age_group").index
    minors = pd.DataFrame({"age_group": d.age_group(pd.Series([17, 30]))})
    assert d.distribution(minors, "age_group").loc["Under 18", "count"] == 1


def test_numeric_summary_by_hand():
    frame = pd.DataFrame({"offences_12m_before": [0, 2, 7, np.nan]})
    row = d.numeric_summary(frame, {"offences_12m_before": "before"}).loc["before"]
    assert (row["N"], row["missing"], row["mean"], row["min"], row["median"], row["max"]) == (3, 1, 3.0, 0, 2, 7)
    assert row["sd"] == pytest.approx(math.sqrt((9 + 1 + 16) / 2))


def test_age_statements_by_hand():
    frame = pd.DataFrame({
        "age": [22, 40, 41, 21, 29, 30, 25, 35],
        "ethnic_appearance": ["white_north_european"] * 3 + ["black"] * 2 + ["asian"] * 3,
    })
    table = d.age_statements(frame)
    # 22, 40, 29, 30, 25, 35 (not 41, 21)
    assert table.loc["Aged 22 to 40 (all referrals)", ["count", "N"]].tolist() == [6, 8]
    assert table.loc["Under 30: White North European", ["count", "N"]].tolist() == [1, 3]
    assert table.loc["Under 30: Black", ["count", "N"]].tolist() == [2, 2]
    assert table.loc["Under 30: Asian", "percent"] == pytest.approx(100 / 3)


def test_descriptive_graphs_cover_graphs_1_to_20_once():
    numbers = [n for g in d.DESCRIPTIVE_GRAPHS for n in g.numbers]
    assert sorted(numbers) == list(range(1, 21))
    assert d.DESCRIPTIVE_GRAPHS[3].label == "Graphs 4–6"


def test_graph_table_by_ethnicity_shows_the_three_main_ethnicities():
    frame = pd.DataFrame({"mental_health_need": ["yes", "no", "yes", "not_assessed"],
                          "ethnic_appearance": ["black", "east_asian", "asian", "white_north_european"]})
    graph = next(g for g in d.DESCRIPTIVE_GRAPHS if g.numbers == (18, 19, 20))
    table = d.graph_table(frame, graph)
    assert table.index.get_level_values(0).unique().tolist() == ["White North European", "Black", "Asian"]
    assert table["N"].tolist() == [1] * 3 + [1] * 3 + [1] * 3


def test_published_percentages_are_the_printed_text():
    crime = d.published_percentages("crime_type")
    assert crime["percent"].to_dict() == {"Property crime": "34", "Violent crime": "11"}
    level = d.published_percentages("engagement_level")["percent"].to_dict()
    assert level == {"Ongoing": "47.5", "Did not engage": "42", "One appointment only": "10.5"}
    assert d.published_percentages("ethnic_appearance") is None


def test_published_summary_mean_min_max():
    table = d.published_summary()
    assert table.loc["Offences in the 12 months before referral"].tolist() == ["3.2", "0", "7"]
    assert table.loc["Total offending history (police records)"].tolist() == ["13.8", "1", "78"]
    assert table.loc["Age at referral (years)"].tolist() == ["33", "18", "76"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([*ETHNIC_APPEARANCE, None]), min_size=1, max_size=60))
def test_counts_add_up_to_n_and_percentages_to_100(values):
    table = d.distribution(pd.DataFrame({"ethnic_appearance": values}), "ethnic_appearance")
    assert table["count"].sum() == len(values) == table["N"].iloc[0]
    assert table["percent"].sum() == pytest.approx(100)
