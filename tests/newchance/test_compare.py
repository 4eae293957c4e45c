"""psm.newchance.published.compare: published vs reproduced on hand-made tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psm.newchance.published import numbers as pub
from psm.newchance.published.compare import (
    agreement_counts,
    compare_tables,
    side_by_side,
    status_counts,
    tidy,
    to_html,
    to_markdown,
)


def _published() -> pd.DataFrame:
    return pd.DataFrame(
        {"treated": ["0.30", "0.23"], "t": ["-2.8", "-5.40"], "star": [True, False]},
        index=pd.Index(["a", "b"], name="row"),
    )


def _cell(comparison: pd.DataFrame, row, column) -> pd.Series:
    return comparison.set_index(["row", "column"]).loc[(row, column)]


def test_within_rounding_uses_the_printed_precision():
    reproduced = pd.DataFrame(
        {"treated": [0.304, 0.2361], "t": [-2.84, -5.3949], "star": [True, True]}, index=["a", "b"]
    )
    cmp = compare_tables(reproduced, _published(), table="T")
    assert list(cmp.columns[:6]) == ["table", "row", "column", "published", "reproduced", "difference"]
    assert len(cmp) == 6
    assert set(cmp["table"]) == {"T"}
    a_treated = _cell(cmp, "a", "treated")
    assert a_treated["published"] == 0.30
    assert a_treated["tolerance"] == pytest.approx(0.005)
    assert a_treated["difference"] == pytest.approx(0.004)
    assert a_treated["within_rounding"] is True or a_treated["within_rounding"] == True  # noqa: E712
    assert a_treated["status"] == "match"
    # 0.2361 is 0.0061 above 0.23 > 0.005
    assert _cell(cmp, "b", "treated")["status"] == "differs"
    # -2.8 printed with one decimal: tolerance 0.05, -2.84 inside
    assert _cell(cmp, "a", "t")["tolerance"] == pytest.approx(0.05)
    assert _cell(cmp, "a", "t")["status"] == "match"
    # -5.40 vs -5.3949: 0.0051 > 0.005
    assert _cell(cmp, "b", "t")["status"] == "differs"
    # flags must be equal
    assert _cell(cmp, "a", "star")["status"] == "match"
    assert _cell(cmp, "b", "star")["status"] == "differs"
    assert _cell(cmp, "b", "star")["tolerance"] == 0.0
    assert cmp["within_rounding"].dtype == "boolean"


def test_interval_is_closed_at_both_ends():
    published = pd.DataFrame({"x": ["0.25", "0.25"]}, index=["lo", "hi"])
    reproduced = pd.DataFrame({"x": [0.245, 0.255]}, index=["lo", "hi"])
    assert compare_tables(reproduced, published)["status"].tolist() == ["match", "match"]


def test_numeric_published_needs_decimals_for_a_verdict():
    published = pd.DataFrame({"x": [0.3, 2.0]}, index=["a", "b"])
    reproduced = pd.DataFrame({"x": [0.3049, 2.06]}, index=["a", "b"])
    no_rule = compare_tables(reproduced, published)
    assert no_rule["status"].tolist() == ["no rounding rule", "no rounding rule"]
    assert no_rule["within_rounding"].isna().all()
    assert no_rule["difference"].tolist() == pytest.approx([0.0049, 0.06])
    with_rule = compare_tables(reproduced, published, decimals={"x": 1})
    assert with_rule["status"].tolist() == ["match", "differs"]


def test_missing_cells_rows_and_columns_are_reported_not_dropped():
    published = pd.DataFrame({"x": ["1.0", None], "y": ["2.0", "3.0"]}, index=["a", "b"])
    reproduced = pd.DataFrame({"x": [1.0, 5.0, 7.0], "extra": [0.0, 0.0, 0.0]}, index=["a", "b", "c"])
    cmp = compare_tables(reproduced, published)
    statuses = {(r, c): s for r, c, s in cmp[["row", "column", "status"]].itertuples(index=False)}
    assert statuses == {
        ("a", "x"): "match",
        ("a", "y"): "not reproduced",
        ("b", "x"): "not published",
        ("b", "y"): "not reproduced",
        ("c", "x"): "not published",
    }
    counts = status_counts(cmp)
    assert counts.to_dict() == {"match": 1, "differs": 0, "no rounding rule": 0, "not reproduced": 2, "not published": 2}


def test_bad_layouts_raise_clear_errors():
    published = pd.DataFrame({"x": ["1.0", "2.0"]}, index=["a", "a"])
    with pytest.raises(ValueError, match=r"published table has duplicated row labels \['a'\]"):
        compare_tables(pd.DataFrame({"x": [1.0]}, index=["a"]), published)
    with pytest.raises(ValueError, match=r"'a'/'x'='<10'"):
        compare_tables(pd.DataFrame({"x": ["<10"]}, index=["a"]), pd.DataFrame({"x": ["1.0"]}, index=["a"]))
    with pytest.raises(ValueError, match="not a printed number"):
        compare_tables(pd.DataFrame({"x": [1.0]}, index=["a"]), pd.DataFrame({"x": ["n/a"]}, index=["a"]))


def test_side_by_side_and_markdown_rendering():
    reproduced = pd.DataFrame({"treated": [0.2968, 0.25], "t": [-2.84, None], "star": [True, False]}, index=["a", "b"])
    cmp = compare_tables(reproduced, _published(), table="T")
    sbs = side_by_side(cmp)
    assert list(sbs.index) == ["a", "b"]
    assert list(sbs.columns) == ["treated", "t", "star"]
    assert sbs.at["a", "treated"] == "0.30 / 0.30 ✓"
    assert sbs.at["b", "treated"] == "0.23 / 0.25 ✗"
    assert sbs.at["b", "t"] == "-5.40 / – –"
    assert sbs.at["a", "star"] == "* / * ✓"
    assert sbs.at["b", "star"] == "no * / no * ✓"
    md = to_markdown(cmp, caption="Table T")
    assert md.startswith("**Table T**")
    assert "4 of 5 compared cells within the published rounding; 1 not reproduced." in md
    assert "| a " in md and "0.30 / 0.30 ✓" in md


def test_html_colours_cells_and_escapes_text():
    published = pd.DataFrame({"x": ["1.0"]}, index=["<b>"])
    cmp = compare_tables(pd.DataFrame({"x": [1.9]}, index=["<b>"]), published)
    html = to_html(cmp, caption="A & B")
    assert "#fce8e6" in html  # 'differs' colour
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "A &amp; B" in html


def test_multiindex_rows_are_labelled_readably():
    published = pub.table_2(printed=True).set_index(["window", "stage"])[["treated", "control"]].head(2)
    reproduced = pub.table_2().set_index(["window", "stage"])[["treated", "control"]].head(2)
    cmp = compare_tables(reproduced, published, table="Table 2")
    assert (cmp["status"] == "match").all()
    assert list(side_by_side(cmp).index) == ["total · before matching", "total · after matching"]
    tidy_rows = tidy(cmp, ["window", "stage"])
    assert list(tidy_rows.columns[:4]) == ["table", "window", "stage", "column"]
    assert tidy_rows[["window", "stage"]].drop_duplicates().values.tolist() == [
        ["total", "before_matching"], ["total", "after_matching"]]
    with pytest.raises(ValueError, match="do not have 3 levels"):
        tidy(cmp, ["a", "b", "c"])


def test_published_balance_table_matches_itself():
    """The published values compared with themselves are all within rounding (0 difference)."""
    cmp = compare_tables(pub.balance_table("A5"), pub.balance_table("A5", printed=True), table="A5")
    assert (cmp["status"] == "match").all()
    assert (cmp["difference"] == 0).all()


@settings(max_examples=150, deadline=None)
@given(
    value=st.floats(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False),
    decimals=st.integers(min_value=0, max_value=4),
)
def test_a_value_always_matches_its_own_printing_and_not_a_value_beyond_the_interval(value, decimals):
    printed = f"{value:.{decimals}f}"
    published = pd.DataFrame({"x": [printed, printed]}, index=["same", "beyond"])
    beyond = float(printed) + 0.5 * 10.0**-decimals * 1.01 + 1e-6
    reproduced = pd.DataFrame({"x": [value, beyond]}, index=["same", "beyond"])
    statuses = compare_tables(reproduced, published)["status"].tolist()
    assert statuses == ["match", "differs"]
    assert not math.isnan(compare_tables(reproduced, published)["tolerance"].iloc[0])


def test_agreement_counts_per_table_and_overall():
    """Two tables: A has 0.30 (matches 0.304), 0.30 (0.306 does not) and a missing reproduced cell;
    B has a star flag that agrees and a published gap. Counts by hand: A 1 of 2, B 1 of 1, overall 2 of 3."""
    a = compare_tables(pd.DataFrame({"x": [0.304, 0.306, math.nan]}, index=["r1", "r2", "r3"]),
                       pd.DataFrame({"x": ["0.30", "0.30", "0.30"]}, index=["r1", "r2", "r3"]), table="A")
    b = compare_tables(pd.DataFrame({"star": [True], "y": [1.0]}, index=["r"]),
                       pd.DataFrame({"star": [True], "y": [None]}, index=["r"]), table="B")
    counts = agreement_counts(pd.concat([a, b], ignore_index=True))
    assert list(counts.index) == ["A", "B", "overall"]
    assert counts["match"].tolist() == [1, 1, 2]
    assert counts["compared"].tolist() == [2, 1, 3]
    assert counts.loc["overall", "share"] == pytest.approx(2 / 3)
