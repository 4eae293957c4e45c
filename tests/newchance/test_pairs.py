"""psm.newchance.analysis.pairs: equal follow-up per matched pair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import psm
from psm.newchance.analysis import specification as analysis
from psm.newchance.analysis.pairs import pair_effect, pair_estimate, pair_links
from analysis_builders import make_file


def _hand_sample() -> pd.DataFrame:
    # treated A, B -> control X (reused), C -> Y
    return pd.DataFrame(
        {
            "treated": [1, 1, 1, 0, 0],
            "score": [0.30, 0.32, 0.60, 0.31, 0.58],
            "follow_up_days": [100.0, 400.0, 1000.0, 1700.0, 1700.0],
            "days_to_reoffence": [np.nan, 300.0, 50.0, 200.0, np.nan],
            "reoffended_total": [0.0, 1.0, 1.0, 1.0, 0.0],
        },
        index=pd.Index(["A", "B", "C", "X", "Y"], name="person"),
    )


def test_hand_computed_pairs_estimate_and_both_standard_errors():
    sample = _hand_sample()
    m = psm.match(sample, "treated", sample["score"])
    links = pair_links(sample, m).links.set_index("treated")
    assert links["control"].to_dict() == {"A": "X", "B": "X", "C": "Y"}
    # X reoffended on day 200: after A's horizon (100), within B's (400)
    assert links["y_control"].to_dict() == {"A": 0.0, "B": 1.0, "C": 0.0}
    y1, y0, att, se_approx, se_ai = pair_estimate(links.reset_index())
    assert (y1, y0, att) == pytest.approx((2 / 3, 1 / 3, 1 / 3))
    # psmatch2: Var1 = var(0,1,1) = 1/3; controls' link means X 0.5, Y 0 -> Var0 = 0.125; sum W^2 = 4 + 1
    assert se_approx == pytest.approx(np.sqrt((1 / 3) / 3 + 0.125 * 5 / 9))
    # AI: d = (0, 0, 1); sum (tau - 1/3)^2 = 6/9; sigma2 = 0.5 * (6/9) / 3 = 1/9; sum K^2 - KK = 2
    assert se_ai == pytest.approx(np.sqrt((6 / 9 + 2 / 9) / 9))
    # the published construction reads X's whole record for A as well: ATT 0
    assert psm.effect(sample, "reoffended_total", m).matched.difference == pytest.approx(0.0)


@pytest.mark.parametrize(("k", "ties"), [(1, False), (2, False), (1, True)])
def test_reduces_to_psmatch2_and_abadie_imbens_when_no_horizon_binds(k, ties):
    rng = np.random.default_rng(7)
    n = 80
    sample = pd.DataFrame({
        "treated": (rng.random(n) < 0.4).astype(int),
        "score": np.round(rng.random(n), 2),  # rounded: ties occur
        "follow_up_days": 10_000.0,
        "days_to_reoffence": np.where(rng.random(n) < 0.4, rng.integers(1, 900, n), np.nan),
    })
    sample["reoffended_total"] = sample["days_to_reoffence"].notna().astype(float)
    m = psm.match(sample, "treated", sample["score"], k=k, ties=ties)
    base = psm.effect(sample, "reoffended_total", m)
    result, links = pair_effect(sample, m, base)
    assert links.n_censored_links == 0
    assert result.matched.difference == pytest.approx(base.matched.difference)
    assert result.matched.se == pytest.approx(base.matched.se)
    # the per-link AI SE is computed on the links psm.effect's AI SE uses (every tied control kept)
    assert result.se_ai == pytest.approx(base.se_ai)


def test_links_a_control_cannot_answer_are_dropped_and_reweighted():
    sample = _hand_sample()
    sample.loc["Y", "follow_up_days"] = 500.0  # Y's record ends before C's horizon, no reoffence
    m = psm.match(sample, "treated", sample["score"])
    links = pair_links(sample, m)
    assert links.n_censored_links == 1 and links.n_treated_dropped == 1
    assert sorted(links.links["treated"]) == ["A", "B"]
    sample.loc["Y", "days_to_reoffence"] = 450.0  # reoffended before her record ends: known
    assert pair_links(sample, m).n_censored_links == 0


def test_pair_specification_changes_only_the_total_outcome():
    af = make_file()
    files = {"published": af, "median": af}
    pair = analysis.Specification(follow_up="pair")
    run = analysis.run_analysis(files, "total", spec=pair)
    published = analysis.run_analysis(af, "total")
    expected, _ = pair_effect(published.sample, published.matching, published.effect)
    assert run.effect.matched.difference == pytest.approx(expected.matched.difference)
    assert run.effect.matched.difference != pytest.approx(published.effect.matched.difference)
    window = analysis.run_analysis(af, "6m", spec=pair)
    assert window.effect.matched.difference == pytest.approx(analysis.run_analysis(af, "6m").effect.matched.difference)


def test_equal_is_the_median_cut():
    af = make_file()
    median_file = af  # any file under the key "median" is what both names read
    files = {"published": make_file(seed=4), "median": median_file}
    a = analysis.run_analysis(files, "total", spec=analysis.Specification(follow_up="equal"))
    b = analysis.run_analysis(files, "total", spec=analysis.Specification(follow_up="median"))
    assert a.effect.matched.difference == b.effect.matched.difference
    assert a.effect.matched.difference != analysis.run_analysis(files, "total").effect.matched.difference
