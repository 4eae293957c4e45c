"""Figures: built without error for typical and edge inputs, and the plotted values are the table's."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from psm import plots  # noqa: E402
from psm.balance import balance  # noqa: E402


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 120
    t = rng.integers(0, 2, n)
    df = pd.DataFrame(
        {
            "t": t,
            "age": rng.normal(30 + 2 * t, 6, n),
            "history": rng.poisson(5 + 3 * t, n).astype(float),
            "employed": rng.integers(0, 2, n),
            "offence": rng.integers(1, 4, n),
        }
    )
    score = pd.Series(np.clip(0.3 + 0.1 * t + rng.normal(0, 0.12, n), 0.01, 0.99), index=df.index)
    on_support = pd.Series(~((t == 1) & (score > 0.6)), index=df.index)
    w = pd.Series(np.where(t == 1, on_support * 1.0, rng.integers(0, 3, n) * 0.5), index=df.index)
    df["w"], df["score"], df["support"] = w, score, on_support
    return df


def _series(fig: Figure, label: str) -> np.ndarray:
    ax = fig.axes[0]
    (coll,) = [c for c in ax.collections if c.get_label() == label]
    return np.asarray(coll.get_offsets())


def test_bias_dotplot_values_and_order(data: pd.DataFrame) -> None:
    bt = balance(data, ["age", "history", "employed", "offence"], data.w, treatment="t",
                 on_support=data.support, labels={"age": "Age"})
    fig = plots.bias_dotplot(bt)
    assert isinstance(fig, Figure)
    expected = bt.table.sort_values("pct_bias_unmatched", ascending=False)
    before, after = _series(fig, "Unmatched"), _series(fig, "Matched")
    # rows from the top (largest y) down follow the unmatched bias, descending
    top_down = np.argsort(-before[:, 1])
    np.testing.assert_allclose(before[top_down, 0], expected.pct_bias_unmatched)
    np.testing.assert_allclose(after[top_down, 0], expected.pct_bias_matched)
    ax = fig.axes[0]
    labels_top_down = [t.get_text() for t in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])]
    assert labels_top_down == [bt.label(c) for c in expected.index]
    assert any(np.allclose(line.get_xdata(), 0) for line in ax.lines)  # the zero line
    assert "%" in ax.get_xlabel() and ax.get_title()


def test_love_plot_values_and_thresholds(data: pd.DataFrame) -> None:
    bt = balance(data, ["age", "history", "employed"], data.w, treatment="t", on_support=data.support)
    fig = plots.love_plot(bt)
    expected = bt.table[["smd_unmatched", "smd_matched"]].abs().sort_values("smd_unmatched", ascending=False)
    before, after = _series(fig, "Unmatched"), _series(fig, "Matched")
    top_down = np.argsort(-before[:, 1])
    np.testing.assert_allclose(before[top_down, 0], expected.smd_unmatched)
    np.testing.assert_allclose(after[top_down, 0], expected.smd_matched)
    xs = {float(line.get_xdata()[0]) for line in fig.axes[0].lines if line.get_linestyle() == "--"}
    assert xs == {0.1, 0.25}
    fig2 = plots.love_plot(bt, stat="pct_bias")
    np.testing.assert_allclose(np.sort(_series(fig2, "Matched")[:, 0]), np.sort(bt.table.pct_bias_matched.abs()))
    xs2 = {float(line.get_xdata()[0]) for line in fig2.axes[0].lines if line.get_linestyle() == "--"}
    assert xs2 == {5.0}
    signed = plots.love_plot(bt, absolute=False, thresholds=[0.2])
    xs3 = {float(line.get_xdata()[0]) for line in signed.axes[0].lines if line.get_linestyle() == "--"}
    assert xs3 == {-0.2, 0.2}
    with pytest.raises(ValueError, match="stat"):
        plots.love_plot(bt, stat="ks")


def _bars(ax, label: str) -> np.ndarray:
    (container,) = [c for c in ax.containers if c.get_label() == label]
    return np.array([p.get_height() for p in container.patches])


def test_score_distribution_bar_heights(data: pd.DataFrame) -> None:
    fig = plots.score_distribution(data.score, treatment=data.t, weights=data.w, on_support=data.support, bins=10)
    before, after = fig.axes
    edges = np.histogram_bin_edges(data.score, bins=10)
    t, sup = data.t == 1, data.support
    np.testing.assert_allclose(_bars(before, "Treated on support"), np.histogram(data.score[t & sup], edges)[0])
    n_off = int((t & ~sup).sum())
    assert n_off > 0
    np.testing.assert_allclose(
        _bars(before, f"Treated off support (n={n_off})"), np.histogram(data.score[t & ~sup], edges)[0]
    )
    np.testing.assert_allclose(_bars(before, "Controls on support"), -np.histogram(data.score[~t], edges)[0])
    m = data.w > 0
    np.testing.assert_allclose(
        _bars(after, "Matched controls (weighted)"),
        -np.histogram(data.score[~t & m], edges, weights=data.w[~t & m])[0],
    )
    np.testing.assert_allclose(_bars(after, "Treated (weighted)"), np.histogram(data.score[t & sup], edges)[0])
    # common support band = overlap of the two groups' score ranges
    band = [p for p in before.patches if p.get_label() == "Common support"]
    assert band
    # the band's vertices in data coordinates (axvspan is a Rectangle on matplotlib >= 3.9, a Polygon before)
    display = band[0].get_transform().transform(band[0].get_path().vertices)
    xs = before.transData.inverted().transform(display)[:, 0]
    corners = [xs.min(), xs.max()]
    lo = max(data.score[t].min(), data.score[~t].min())
    hi = min(data.score[t].max(), data.score[~t].max())
    assert corners == pytest.approx([lo, hi])
    assert "Propensity score" in before.get_xlabel() and fig.get_suptitle()


def test_score_distribution_from_matching_without_off_support(data: pd.DataFrame) -> None:
    m = SimpleNamespace(score=data.score, treated=data.t == 1, on_support=pd.Series(True, index=data.index),
                        weights=data.w.where(data.t == 0, 1.0), estimand="ATT")
    fig = plots.score_distribution(m, support_region=None)
    labels = [c.get_label() for c in fig.axes[0].containers]
    assert not any("off support" in lab for lab in labels)
    assert not [p for p in fig.axes[0].patches if p.get_label() == "Common support"]
    with pytest.raises(TypeError, match="weights="):
        plots.score_distribution(data.score, treatment=data.t)


@pytest.mark.parametrize("covariates", [["age"], ["employed"], ["employed", "t2"]])
def test_edge_inputs(data: pd.DataFrame, covariates: list[str]) -> None:
    df = data.assign(t2=(data.history > 6).astype(int))  # binary-only set with two covariates
    bt = balance(df, covariates, df.w, treatment="t", on_support=df.support)
    for fig in (plots.bias_dotplot(bt), plots.love_plot(bt), plots.love_plot(bt, stat="pct_bias")):
        assert isinstance(fig, Figure)
        assert len(_series(fig, "Matched")) == len(covariates)
        fig.canvas.draw()  # Agg renders without error


def test_many_covariates_hide_labels_like_pstest() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(400, 31)), columns=[f"x{i}" for i in range(31)])
    df["t"] = np.r_[np.ones(200), np.zeros(200)].astype(int)
    bt = balance(df, [f"x{i}" for i in range(31)], pd.Series(1.0, index=df.index), treatment="t")
    fig = plots.bias_dotplot(bt)
    assert all(t.get_text() == "" for t in fig.axes[0].get_yticklabels())
