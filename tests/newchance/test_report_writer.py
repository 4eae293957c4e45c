"""psm.newchance.report.writer.ReportWriter without a kernel."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from psm.newchance.published import numbers as published  # noqa: E402
from psm.newchance.report.disclosure import DisclosureError  # noqa: E402
from psm.newchance.report.writer import MANIFEST_PARTS, ReportWriter, finalise_manifest, read_manifest  # noqa: E402


def _counts() -> pd.DataFrame:
    return pd.DataFrame({"crime_type": ["Other", "Violent", "Property"], "n": [230, 4, 150], "pct": [59.9, 1.0, 39.1]})


def test_supplied_data_counts_are_suppressed_with_the_rule_written(tmp_path):
    writer = ReportWriter(tmp_path, synthetic=False, min_count=10, section="01_descriptives")
    shown = writer.table("crime_type", _counts(), caption="Crime type", counts=["n"], derived=["pct"])
    # 4 is suppressed, and 150 with it: the three categories add up to the total printed elsewhere
    assert shown["n"].tolist() == [230, "<10", "<10"]
    assert shown["pct"].tolist() == [59.9, "<10", "<10"]
    csv = tmp_path / "tables" / "01_descriptives" / "crime_type.csv"
    assert pd.read_csv(csv)["n"].astype(str).tolist() == ["230", "<10", "<10"]
    md = (tmp_path / "tables" / "01_descriptives" / "crime_type.md").read_text()
    assert md.startswith("### Crime type\n")
    assert "SYNTHETIC" not in md
    assert "Counts below 10 are shown as" in md
    assert "| Violent" in md and "<10" in md and "| 4 " not in md
    (entry,) = read_manifest(tmp_path)
    assert entry["suppressed_cells"] == 4
    assert entry["files"] == {
        "html": "tables/01_descriptives/crime_type.html",
        "csv": "tables/01_descriptives/crime_type.csv",
        "markdown": "tables/01_descriptives/crime_type.md",
    }


def test_synthetic_data_are_stamped_and_not_suppressed(tmp_path):
    writer = ReportWriter(tmp_path, synthetic=True, min_count=10, section="s")
    shown = writer.table("crime_type", _counts(), caption="Crime type", counts=["n"])
    assert shown["n"].tolist() == [230, 4, 150]
    md = (tmp_path / "tables" / "s" / "crime_type_synthetic.md").read_text()
    assert md.startswith("### SYNTHETIC DATA — Crime type\n")
    assert "> **SYNTHETIC DATA**" in md
    assert "Counts below" not in md
    assert not (tmp_path / "tables" / "s" / "crime_type.csv").exists()
    assert read_manifest(tmp_path)[0]["caption"] == "SYNTHETIC DATA — Crime type"


def test_identifier_guard_writes_nothing(tmp_path):
    writer = ReportWriter(tmp_path, synthetic=True, section="s")
    frame = pd.DataFrame({"person_id": ["P1"], "age": [30]})
    with pytest.raises(DisclosureError, match="person_id"):
        writer.table("people", frame, caption="People")
    assert not (tmp_path / "tables").exists()
    assert read_manifest(tmp_path) == []
    writer.table("people", frame.rename(columns={"person_id": "key"}), caption="ok", allow=["key"])


def test_published_view_is_written_and_counted(tmp_path):
    writer = ReportWriter(tmp_path, synthetic=False, section="03_matching")
    reproduced = published.balance_table("Table 1").copy()
    reproduced.loc["Age", "matched_control"] = 34.0  # published 33.17
    shown = writer.table("table_1", reproduced, caption="Table 1", published=published.balance_table("Table 1", printed=True))
    pd.testing.assert_frame_equal(shown, reproduced)
    folder = tmp_path / "tables" / "03_matching"
    tidy = pd.read_csv(folder / "table_1_vs_published.csv")
    assert len(tidy) == 7 * 7
    assert tidy.query("status == 'differs'")[["covariate", "column"]].values.tolist() == [["Age", "matched_control"]]
    assert "48 of 49 compared cells" in (folder / "table_1_vs_published.md").read_text()
    page = (folder / "table_1_vs_published.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page and "<title>" in page
    assert '<a href="../../index.html">' in page and "<table" in page
    assert "48 of 49 compared cells agree with the published table within its rounding; 1 differ." in page
    assert "the worrying kind" in page and "SYNTHETIC" not in page  # supplied data: what to worry about
    (entry,) = read_manifest(tmp_path)
    assert entry["comparison"]["match"] == 48 and entry["comparison"]["differs"] == 1
    # the CSV keeps the index (covariate labels)
    assert pd.read_csv(folder / "table_1.csv")["covariate"].tolist() == list(published.COVARIATE_COLUMNS)


def test_rewriting_a_table_replaces_its_manifest_entry(tmp_path):
    writer = ReportWriter(tmp_path, synthetic=False, section="s")
    writer.table("t", pd.DataFrame({"x": [1]}), caption="first")
    writer.table("t", pd.DataFrame({"x": [2]}), caption="second")
    assert [e["caption"] for e in read_manifest(tmp_path)] == ["second"]


def test_figure_png_with_banner_removed_afterwards(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    texts_before = len(fig.texts)
    path = ReportWriter(tmp_path, synthetic=True, section="s").figure("line", fig, caption="A line")
    plt.close(fig)
    assert path == tmp_path / "figures" / "s" / "line_synthetic.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.texts) == texts_before
    (entry,) = read_manifest(tmp_path)
    assert entry == {
        "kind": "figure",
        "section": "s",
        "name": "line",
        "caption": "SYNTHETIC DATA — A line",
        "synthetic": True,
        "files": {"png": "figures/s/line_synthetic.png"},
    }


def test_no_out_dir_writes_nothing_but_still_checks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    writer = ReportWriter(None, synthetic=False, min_count=10)
    shown = writer.table("t", _counts(), caption="c", counts=["n"])
    assert shown["n"].tolist() == [230, "<10", "<10"]
    with pytest.raises(DisclosureError):
        writer.table("t", pd.DataFrame({"dob": [1]}), caption="c")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../x", "a/b", "", " x"])
def test_names_must_be_plain(tmp_path, name):
    with pytest.raises(ValueError, match="plain"):
        ReportWriter(tmp_path, synthetic=False).table(name, pd.DataFrame({"x": [1]}), caption="c")


def test_notebooks_record_separately_and_the_parts_merge_in_section_order(tmp_path):
    # two notebooks running at the same time each write their own manifest part
    later = ReportWriter(tmp_path, synthetic=True, section="03_matching")
    earlier = ReportWriter(tmp_path, synthetic=True, section="01_descriptives")
    later.table("t", _counts(), caption="from 03")
    earlier.table("t", _counts(), caption="from 01")
    assert sorted(p.name for p in (tmp_path / MANIFEST_PARTS).iterdir()) == ["01_descriptives.json", "03_matching.json"]
    entries = finalise_manifest(tmp_path)
    assert [e["section"] for e in entries] == ["01_descriptives", "03_matching"]
    assert not (tmp_path / MANIFEST_PARTS).exists()
    assert read_manifest(tmp_path) == entries


def test_pages_people_read_have_readable_labels_and_fixed_decimals(tmp_path):
    writer = ReportWriter(tmp_path, synthetic=True, section="03_matching")
    index = pd.MultiIndex.from_tuples([("total", "before_matching"), ("total", "after_matching")], names=["window", "stage"])
    frame = pd.DataFrame({"treated": [0.219512, 0.2205], "N": [772.0, 772.0], "t": [-6.8589, -4.9426],
                          "p": [1.425114e-11, 0.0213]}, index=index)
    published_frame = pd.DataFrame({"treated": ["0.23", "0.23"]}, index=index)
    writer.table("effects", frame, caption="Effects", published=published_frame)
    folder = tmp_path / "tables" / "03_matching"
    md = (folder / "effects_synthetic.md").read_text()
    assert "('total'" not in md and "e-11" not in md and "772.0" not in md
    assert "| total    | before matching |     0.220 | 772 | -6.86 | <0.001 |" in md  # "<" before a digit opens no tag
    assert "N = 772." in md  # population and N line
    page = (folder / "effects_synthetic.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "SYNTHETIC DATA" in page and '<a href="../../index.html">' in page
    assert '<td class="num">&lt;0.001</td>' in page
    # machines: one column per index level, full precision
    tidy = pd.read_csv(folder / "effects_synthetic_vs_published.csv")
    assert list(tidy.columns[1:4]) == ["window", "stage", "column"]
    assert tidy["reproduced"].tolist() == [0.219512, 0.2205]
    csv = pd.read_csv(folder / "effects_synthetic.csv")
    assert list(csv.columns[:2]) == ["window", "stage"] and csv["p"][0] == 1.425114e-11
    comparison = (folder / "effects_synthetic_vs_published.html").read_text()
    assert "SYNTHETIC DATA" in comparison and "no data set can reproduce" in comparison
    assert comparison.count("compared cells") == 1  # the agreement is stated once
    assert "total · before matching" in comparison


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path):
    frame = pd.DataFrame({"label": ["=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)", "-2", "plain", "-cmd"],
                          "value": [1.0, 2.0, 3.0, -4.0, 5.0, 6.0]})
    ReportWriter(tmp_path, synthetic=True, section="s").table("t", frame, caption="c")
    written = pd.read_csv(tmp_path / "tables" / "s" / "t_synthetic.csv", dtype=str)
    assert written["label"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'@SUM(A1)", "-2", "plain", "'-cmd"]
    assert written["value"].tolist() == ["1.0", "2.0", "3.0", "-4.0", "5.0", "6.0"]


def test_markdown_cells_are_escaped(tmp_path):
    frame = pd.DataFrame({"label": ["a | b", "[link](http://x)", "<script>", "*bold*"], "value": [1, 2, 3, 4]})
    ReportWriter(tmp_path, synthetic=True, section="s").table("t", frame, caption="c")
    md = (tmp_path / "tables" / "s" / "t_synthetic.md").read_text()
    assert "a \\| b" in md and "\\[link\\](http://x)" in md and "\\<script\\>" in md and "\\*bold\\*" in md
    assert "<script>" not in md


@pytest.mark.parametrize(("synthetic", "sizes", "line"), [
    (True, {"treated": 7, "comparison": 300}, "N = 307 (7 treated, 300 comparison)."),
    (False, {"treated": 7, "comparison": 300}, "N = 307 (<10 treated, <10 comparison)."),  # 307 - 300 = 7
    (False, {"treated": 3, "comparison": 4}, "N = <10 (<10 treated, <10 comparison)."),
    (False, {"treated": 59, "comparison": 362}, "N = 421 (59 treated, 362 comparison)."),
])
def test_a_balance_table_page_states_its_population_and_protected_group_sizes(tmp_path, synthetic, sizes, line):
    frame = pd.DataFrame({"unmatched_treated": [33.1], "t": [0.4], "p": [0.69]},
                         index=pd.Index(["Age"], name="covariate"))
    frame.attrs.update(population="treated and comparison women of the window", group_sizes=sizes)
    ReportWriter(tmp_path, synthetic=synthetic, section="s").table("balance", frame, caption="Table 1")
    stem = "balance_synthetic" if synthetic else "balance"
    md = (tmp_path / "tables" / "s" / f"{stem}.md").read_text()
    assert f"Population: treated and comparison women of the window; {line}" in md
    page = (tmp_path / "tables" / "s" / f"{stem}.html").read_text()
    assert line.replace("<", "&lt;") in page
