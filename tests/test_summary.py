"""The shared results style: Summary prints aligned text (nothing cut) and writes HTML, LaTeX, Markdown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import psm
from psm.summary import Summary, SummaryTable, format_frame, format_number


@pytest.fixture()
def two_level() -> pd.DataFrame:
    columns = pd.MultiIndex.from_tuples([("Mean", "Treated"), ("Mean", "Control"), ("", "Off support")])
    index = pd.MultiIndex.from_tuples([("a very long covariate name", "U"), ("a very long covariate name", "M")],
                                      names=["Variable", "Sample"])
    return pd.DataFrame([["1.25", "0.5", "12345678901"], ["-3", "4", "7"]], columns=columns, index=index)


def test_format_frame_keeps_the_shape() -> None:
    frame = pd.DataFrame({"a": [1.23456789], "b": [np.nan]}, index=pd.Index([2.5], name="gamma"))
    out = format_frame(frame, 3)
    assert out.shape == (1, 2) and out.index.name == "gamma"
    assert out.loc["2.5"].tolist() == ["1.23", ""]


def test_format_number() -> None:
    assert [format_number(v) for v in (2.5, -0.0001, np.nan, None, 3, np.int64(4), True, "x")] == [
        "2.500", "0.000", "", "", "3", "4", "True", "x"]
    assert format_number(-7.178e-05, 4, significant=True) == "-7.178e-05"


def test_text_is_aligned_and_nothing_is_cut(two_level: pd.DataFrame) -> None:
    text = SummaryTable(two_level).as_text()
    lines = text.splitlines()
    assert lines[1] == " " * 42 + "Mean"  # centred over Treated and Control (26 + 2 + 6 + 2, then 6 of 16)
    assert lines[2] == "Variable                    Sample  Treated  Control  Off support"
    assert lines[4] == "a very long covariate name  U          1.25      0.5  12345678901"
    assert lines[5] == "                            M            -3        4            7"  # repeated label blank
    assert lines[0] == lines[3] == lines[6] == "-" * len(lines[2])


def test_spanning_header_wider_than_its_columns_widens_them() -> None:
    frame = pd.DataFrame([["1", "2"]], columns=pd.MultiIndex.from_tuples([("A rather long header", "x"),
                                                                          ("A rather long header", "y")]))
    lines = SummaryTable(frame).as_text().splitlines()
    assert "A rather long header" in lines[1]
    assert len(lines[2]) >= len("A rather long header")


def test_markup_writers(two_level: pd.DataFrame) -> None:
    s = Summary("Balance", [("Table 1", two_level)], notes=["50% of | rows"])
    md = s.as_markdown()
    assert "| Variable | Sample | Mean: Treated | Mean: Control | Off support |" in md
    assert "| a very long covariate name | M | -3 | 4 | 7 |" in md  # markdown rows carry their labels
    assert "50% of | rows" in md
    latex = s.as_latex()
    assert "\\multicolumn{2}{c}{Mean}" in latex and "50\\% of \\textbar{} rows" in latex
    html = s._repr_html_()
    assert '<th colspan="2">Mean</th>' in html and "<caption>Table 1</caption>" in html
    assert s.as_text() == str(s) and repr(s) == str(s) and "12345678901" in s


def test_html_and_latex_escape() -> None:
    frame = pd.DataFrame({"p>|t|": ["<0.001"]}, index=["x_1 & y"])
    s = Summary("A & B", [("", frame)])
    assert "&lt;0.001" in s.as_html() and "A &amp; B" in s.as_html()
    assert "x\\_1 \\& y" in s.as_latex() and "p\\textgreater{}\\textbar{}t\\textbar{}" in s.as_latex()


def test_results_share_the_summary_type() -> None:
    df = psm.datasets.lalonde()
    ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
                            link="logit")
    m = psm.match(df, "treat", ps.score)
    bt = psm.balance(df, ["age", "race", "re74"], m)
    eff = psm.effect(df, "re78", m)
    every = (ps.summary(), m.summary(), bt.summary(), eff.summary(),
             psm.psmatch2(df, "treat", ["age", "educ", "race"], "re78").summary(),
             psm.kernel_match(df, "treat", ps.score).summary(),
             psm.teffects_psmatch(df, "re78", "treat", ["age", "educ", "race"]).summary())
    for s in every:
        assert isinstance(s, Summary) and s.tables and "<table" in s._repr_html_()
        assert "\\begin{tabular}" in s.as_latex() and s.as_markdown().startswith("**")
    # the matching's support table has whole headers; the effect's numbers never run together
    assert "Treatment  Off support  On support  Total" in m.summary()
    assert "Treatment  Off support  On support  Total" in psm.kernel_match(df, "treat", ps.score).summary()
    for line in eff.summary().splitlines()[3:5]:
        cells = line.split("|")[1].split()
        assert len(cells) == 5 and all(c.replace(".", "").replace("-", "").isdigit() for c in cells)
    frame = eff.summary().tables[0].frame
    assert frame.loc[("re78", "ATT (AI)"), "S.E."] == f"{eff.se_ai:.8g}"
    # one name for the confidence level across psm: level (Stata's level(95)); method is keyword-only
    assert eff.ci(level=0.95)[1] - eff.ci(level=0.95)[0] > eff.ci(level=0.90)[1] - eff.ci(level=0.90)[0]
    assert eff.ci(0.90) == eff.ci(level=0.90)
    with pytest.raises(TypeError):
        eff.ci(0.95, "ai")
    # the coefficient table gives statsmodels' numbers (Logit on the same design)
    coef = ps.summary().tables[1].frame
    assert coef.loc["race[T.white]", "coef"] == f"{ps.result.params['race[T.white]']:.4g}" == "-3.065"
    assert coef.loc["race[T.white]", "z"] == f"{ps.result.tvalues['race[T.white]']:.3f}"
    lo, hi = ps.result.conf_int(alpha=0.1).loc["educ"]
    narrow = ps.summary(level=0.9).tables[1].frame
    assert narrow.loc["educ", "[0.05"] == f"{lo:.4g}" and narrow.loc["educ", "0.95]"] == f"{hi:.4g}"
    with pytest.raises(ValueError, match="level"):
        ps.summary(level=95)
    # the balance summary's text is pstest's layout, its tables the same numbers
    assert "Unmatched |       Mean" in bt.summary()
    block = bt.summary().tables[1].frame
    assert block.loc["Matched", "MeanBias"] == f"{bt.summary_stats.loc['matched', 'mean_abs_bias']:.1f}"
    cobalt = bt.summary(layout="cobalt").tables[0].frame
    assert cobalt.loc["race=black", ("Diff", "Unmatched")] == f"{bt.table.loc['race=black', 'smd_unmatched']:.3f}"


def test_every_result_has_to_frame() -> None:
    df = psm.datasets.lalonde()
    covariates = ["age", "educ", "race"]
    ps = psm.fit_propensity(df, "treat", covariates, link="logit")
    coef = ps.to_frame(level=0.90)
    lo, hi = ps.result.conf_int(alpha=0.10).loc["educ"]
    assert coef.loc["educ", ["ci_lower", "ci_upper"]].tolist() == pytest.approx([lo, hi], rel=1e-8)
    assert coef.loc["educ", "p"] == pytest.approx(ps.result.pvalues["educ"], rel=1e-8)
    m = psm.match(df, "treat", ps)
    units = m.to_frame()
    assert list(units.columns) == ["treated", "score", "on_support", "weight"] and len(units) == 614
    assert units["weight"].sum() == pytest.approx(2 * 185)
    k = psm.kernel_match(df, "treat", ps.score)
    assert k.to_frame()["weight"].equals(k.weights.rename("weight"))
    res = psm.psmatch2(df, "treat", covariates, ["re78", "re74"], link="logit")
    assert list(res.to_frame()["outcome"].unique()) == ["re78", "re74"]
    te = psm.teffects_psmatch(df, "re78", "treat", covariates)
    assert te.to_frame().loc[te.estimand, "se"] == te.se


def test_summary_survives_pickle_and_deepcopy() -> None:
    import copy
    import pickle

    s = Summary("T", [("x", pd.DataFrame({"a": ["1"]}))], ["n"])
    for t in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        assert isinstance(t, Summary) and t == s and t.title == "T" and t.notes == ("n",)
        assert t.tables[0].frame.equals(s.tables[0].frame)


_cell = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12)


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(st.lists(_cell, min_size=3, max_size=3), min_size=1, max_size=5),
       headers=st.lists(st.text(alphabet="abcdefgh %|", min_size=1, max_size=15), min_size=3, max_size=3,
                        unique=True))
def test_text_never_cuts_a_cell_or_a_header(cells, headers):
    frame = pd.DataFrame(cells, columns=headers, index=[f"row{i}" for i in range(len(cells))])
    text = SummaryTable(frame).as_text()
    lines = text.splitlines()
    rule = lines[0]
    assert set(rule) == {"-"} and all(len(line) <= len(rule) for line in lines)
    for h in headers:
        assert h.strip() in lines[1]
    for i, row in enumerate(cells):
        body = lines[3 + i]
        position = len(f"row{i}")
        for cell in (c.strip() for c in row):  # each cell appears whole, left to right (edges may be trimmed)
            found = body.find(cell, position) if cell else position
            assert found >= 0
            position = found + len(cell)
