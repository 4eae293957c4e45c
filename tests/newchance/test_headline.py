"""psm.newchance.report.headline: the first screen states the tables' numbers in words."""

from __future__ import annotations

import pandas as pd

from psm.newchance.report.headline import headline
from psm.newchance.report.writer import ReportWriter, read_manifest

WINDOWS = ["total", "30d", "60d", "90d", "6m", "12m"]


def _write(out, *, equal_se: float):
    """Hand-made tables: every window -0.10 after matching (treated 0.20, control 0.30)."""
    matching, robustness = (ReportWriter(out, synthetic=True, section=s) for s in ("03_matching", "05_robustness"))
    rows = [(w, stage, 0.20, 0.30, -0.10, 0.04) for w in WINDOWS for stage in ("before_matching", "after_matching")]
    table_2 = pd.DataFrame(rows, columns=["window", "stage", "treated", "control", "difference", "se"])
    matching.table("table_2", table_2.set_index(["window", "stage"]), caption="Table 2")
    equal = pd.DataFrame([("equal follow-up", "total", "after_matching", 0.20, 0.26, -0.06, equal_se)],
                         columns=["follow_up", "window", "stage", "treated", "control", "difference", "se"])
    matching.table("total_equal_follow_up", equal.set_index(["follow_up", "window", "stage"]), caption="Equal")
    # Abadie-Imbens intervals: significant everywhere except 30 days
    ci = pd.DataFrame({"window": WINDOWS, "ci_low_ai": [-0.18, -0.12, -0.15, -0.15, -0.15, -0.15],
                       "ci_high_ai": [-0.02, 0.01, -0.05, -0.05, -0.05, -0.05]}).set_index("window")
    robustness.table("se_table_2", ci, caption="SEs")
    gamma = pd.DataFrame({"critical_gamma": [2.43, 6.9]}, index=["mh_exact", "mh_mhbounds"])
    robustness.table("critical_gamma", gamma, caption="Gamma")


def test_headline_states_the_numbers_and_links_the_tables(tmp_path):
    _write(tmp_path, equal_se=0.02)  # equal follow-up: -0.06 +- 0.039, excludes 0
    answer = headline(tmp_path, [e for e in read_manifest(tmp_path) if e["kind"] == "table"])
    assert answer.verdict.startswith("On these synthetic data (a demonstration")
    assert "remains when both groups are followed for the same length of time" in answer.verdict
    total = answer.rows[0]
    # published Table 2 total after matching: 0.23 vs 0.38, -0.16*
    assert total == ("total", "23%", "38%", "−16 points *", "20%", "30%", "−10 points *", "−18 to −2 points")
    assert answer.rows[1][6] == "−10 points" and answer.rows[1][7] == "−12 to +1 points"  # 30 days: could be chance
    assert answer.rows[-1][0] == "total, equal follow-up" and answer.rows[-1][6:] == ("−6 points *", "−10 to −2 points")
    texts = " ".join(text for text, _, _ in answer.points)
    assert "60 days, 90 days, 6 months, 12 months" in texts and "2.4 times as likely" in texts
    links = {label: link for _, label, link in answer.points}
    assert links["Table 2"] == "tables/03_matching/table_2_synthetic.html"
    assert links["Rosenbaum bounds"] == "tables/05_robustness/critical_gamma_synthetic.html"


def test_headline_says_when_equal_follow_up_could_be_chance(tmp_path):
    _write(tmp_path, equal_se=0.05)  # -0.06 +- 0.098 includes 0
    answer = headline(tmp_path, [e for e in read_manifest(tmp_path) if e["kind"] == "table"])
    assert "with equal follow-up it could be chance" in answer.verdict


def test_no_headline_without_its_tables(tmp_path):
    assert headline(tmp_path, []) is None
