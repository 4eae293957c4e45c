"""psm.newchance.published.numbers: structure and values of the published tables, read from package data."""

from __future__ import annotations

from importlib import resources

import pandas as pd
import pytest
import yaml

from psm.newchance.published import numbers as published

def _package_text() -> str:
    return resources.files("psm.newchance").joinpath("data/published_tables.yaml").read_text("utf-8")


def test_published_tables_equal_a_plain_yaml_read():
    """The precision-keeping loader changes no value."""
    assert published.published_tables() == yaml.safe_load(_package_text())


@pytest.mark.parametrize(("text", "decimals"), [("0.30", 2), ("-5.40", 2), ("-2.8", 1), ("772", 0), ("0.0", 1)])
def test_printed_decimals(text, decimals):
    assert published.printed_decimals(text) == decimals


def test_printed_float_keeps_trailing_zeros():
    value = published.PrintedFloat("0.30")
    assert value == 0.3
    assert value.text == "0.30"
    assert value.decimals == 2


def test_balance_table_1_wide_layout_and_values():
    table = published.balance_table("Table 1")
    assert list(table.index) == list(published.COVARIATE_COLUMNS)
    assert tuple(table.columns) == published.BALANCE_COLUMNS
    assert table.to_numpy().dtype == float
    # Table 1, lines 1485-1496
    assert table.loc["Age"].tolist() == [33.04, 32.96, 33.15, 33.17, -0.2, -0.02, 0.98]
    assert table.at["MH marker", "pct_bias"] == 5.7
    assert table.at["Offending History", "matched_control"] == 22.66


def test_balance_table_printed_keeps_the_printed_text():
    table = published.balance_table("Table 1", printed=True)
    assert table.at["Ethnicity", "unmatched_treated"] == "0.30"
    assert table.at["Ethnicity", "p"] == "1.00"
    assert table.at["Age", "pct_bias"] == "-0.2"
    assert published.balance_table("A5", printed=True).at["Age", "unmatched_control"] == "33.0"


def test_unknown_balance_table_names_the_available_ones():
    with pytest.raises(KeyError, match="A1"):
        published.balance_table("Table 9")


def test_balance_table_info_windows_and_sizes():
    info = published.balance_table_info()
    assert info["table"].tolist() == list(published.BALANCE_TABLE_IDS)
    assert info["window"].tolist() == list(published.WINDOWS)
    assert info["N"].tolist() == [772, 769, 758, 742, 710, 610]
    assert info.set_index("table").at["A3", "printed_label"] == "Table 3"


def test_balance_tables_long_form_covers_every_cell_once():
    long = published.balance_tables()
    assert len(long) == 6 * 7 * 7
    assert not long.duplicated(["table", "covariate", "column"]).any()
    a5_employment = long.query("table == 'A5' and covariate == 'Employment' and column == 'pct_bias'")
    assert a5_employment["value"].item() == 8.2
    assert "typo" in a5_employment["note"].item()
    # A5 prints age with one decimal
    age = long.query("table == 'A5' and covariate == 'Age'")
    assert set(age.query("column != 't' and column != 'p'")["decimals"]) == {1}
    # long and wide agree
    wide = published.balance_table("A2")
    a2 = long.query("table == 'A2'").pivot(index="covariate", columns="column", values="value")
    pd.testing.assert_frame_equal(
        a2.loc[wide.index, list(wide.columns)], wide, check_names=False, check_column_type=False
    )


def test_table_2_structure_and_values():
    t2 = published.table_2()
    assert len(t2) == 12
    assert t2["window"].drop_duplicates().tolist() == list(published.WINDOWS)
    assert t2["N"].drop_duplicates().tolist() == [772, 769, 758, 742, 710, 610]
    assert set(t2["stage"]) == set(published.STAGES)
    total_after = t2.query("window == 'total' and stage == 'after_matching'").iloc[0]
    assert (total_after["treated"], total_after["control"], total_after["difference"]) == (0.23, 0.38, -0.16)
    assert (total_after["se"], total_after["t"]) == (0.05, -3.48)
    assert t2["star"].dtype == bool
    # only 30 and 90 days after matching are not significant
    not_significant = t2.loc[~t2["star"], ["window", "stage"]].to_records(index=False).tolist()
    assert not_significant == [("30d", "after_matching"), ("90d", "after_matching")]


def test_table_2_printed_text():
    t2 = published.table_2(printed=True).set_index(["window", "stage"])
    assert t2.at[("12m", "before_matching"), "t"] == "-2.8"
    assert t2.at[("total", "before_matching"), "t"] == "-5.40"


def test_subgroup_table_structure_and_values():
    sub = published.subgroup_table()
    assert len(sub) == 4 * 3 * 2
    assert sub["subgroup"].drop_duplicates().tolist() == list(published.SUBGROUPS)
    assert set(sub["window"]) == {"total", "6m", "12m"}
    ns = sub.drop_duplicates(["subgroup", "window"]).set_index(["subgroup", "window"])["N"]
    assert ns[("unemployed_only", "total")] == 415
    assert ns[("white_only", "12m")] == 458
    assert ns[("substance_misuse_marker_yes", "6m")] == 193
    row = sub.query("subgroup == 'mh_marker_yes' and window == '6m' and stage == 'after_matching'").iloc[0]
    assert (row["difference"], row["se"], row["t"]) == (-0.37, 0.06, -5.59)


def test_effect_tables_long_form():
    long = published.effect_tables()
    assert len(long) == (12 + 24) * len(published.EFFECT_STATISTICS)
    assert set(long.loc[long["table"] == "Table 2", "subgroup"]) == {"all"}
    stars = long[long["statistic"] == "star"]
    assert stars["decimals"].isna().all()
    assert set(stars["value"]) == {0.0, 1.0}
    t_12m = long.query("table == 'Table 2' and window == '12m' and stage == 'before_matching' and statistic == 't'")
    assert t_12m["decimals"].item() == 1
    assert "one decimal" in t_12m["note"].item()


def test_joint_file_numbers_add_up():
    joint = published.joint_file().set_index("quantity")["value"]
    assert joint["observations"] == 772 == joint["treated"] + joint["control"]
    assert joint["reoffended_total_count"] == 251
    assert joint["reoffending_control_pct"] - joint["reoffending_treated_pct"] == pytest.approx(joint["difference_pct"])


def test_descriptives_rows():
    desc = published.descriptives()
    assert list(desc.columns) == ["topic", "item", "statistic", "value", "decimals", "printed", "text"]
    lookup = desc.set_index(["topic", "item", "statistic"])["value"]
    assert lookup[("referrals", "", "count")] == 421
    assert lookup[("engagement_level", "ongoing", "pct")] == 47.5
    assert lookup[("age", "", "max")] == 76
    assert lookup[("reoffending", "reoffended", "count")] == 91
    # the engagement shares add to 100%
    shares = desc.query("topic == 'engagement_level' and statistic == 'pct'")["value"]
    assert shares.sum() == pytest.approx(100.0)


def test_before_after_and_significance_tests():
    ba = published.before_after()
    assert ba["N"].tolist() == [421, 247]
    assert (ba["mean_before"] - ba["mean_after"]).round(2).tolist() == ba["difference"].tolist()
    tests = published.significance_tests()
    assert len(tests) == 7
    employment = tests.set_index("variable").loc["Employment Status"]
    assert (employment["difference_pct"], employment["N"], employment["significant"]) == (20.9, 221, True)


def test_main_covariates_in_table_1_order():
    assert published.main_covariates() == (
        "age",
        "ethnicity",
        "substance_marker",
        "mh_marker",
        "employment",
        "offence_type",
        "offending_history",
    )


def test_subgroup_covariates_footnote_8():
    sets = published.subgroup_covariates()
    assert set(sets) == set(published.SUBGROUPS)
    assert sets["unemployed_only"] == ("age", "ethnicity", "substance_marker", "mh_marker", "offence_type")
    assert sets["white_only"] == ("age", "employment", "mh_marker", "substance_marker")
    assert sets["mh_marker_yes"] == ("age", "employment", "ethnicity", "substance_marker")
    assert sets["substance_misuse_marker_yes"] == ("age", "ethnicity", "offending_history", "offence_type")
    # a sub-group never matches on the variable that defines it
    for key, (_, column, _) in published.SUBGROUPS.items():
        assert column not in sets[key]


def test_covariates_table_lists_every_set():
    cov = published.covariates()
    # line 1481 lists them in this order (Table 1 uses another)
    assert cov.query("analysis == 'main'")["column"].tolist() == [
        "age",
        "employment",
        "ethnicity",
        "offence_type",
        "mh_marker",
        "substance_marker",
        "offending_history",
    ]
    assert set(cov["analysis"]) == {"main", *published.SUBGROUPS}
    employment = cov.query("analysis == 'main' and column == 'employment'")["coding"].item()
    assert employment == "Unemployed (0), Employed or No data (1)"
