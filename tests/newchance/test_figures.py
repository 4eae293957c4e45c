"""psm.newchance.report.figures: the plotted values are the tables' values."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from psm.newchance.analysis import descriptives as d
from psm.newchance.report import figures as f
from psm.newchance.analysis import reoffending as r


@pytest.fixture
def frame():
    return pd.DataFrame({
        "employment_status": ["unemployed", "unemployed", "employed", "no_data", "unemployed", "employed"],
        "ethnic_appearance": ["black", "asian", "black", "white_north_european", "asian", "asian"],
        "age_group": ["21–24", "21–24", "31–35", "25–30", "31–35", "21–24"],
        "reoffended": [1.0, 0, 0, 1, 1, 0],
    })


def _heights(ax) -> np.ndarray:
    return np.array([p.get_height() for p in ax.patches if isinstance(p, Rectangle)])


def test_distribution_chart_plots_the_percentages_with_n(frame):
    table = d.distribution(frame, "employment_status")
    open_before = plt.get_fignums()  # other tests of the session may have left pyplot figures
    fig = f.distribution_chart(table, title="Employment status")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    np.testing.assert_allclose(_heights(ax), table["percent"].to_numpy(float))
    assert [t.get_text() for t in ax.get_xticklabels()] == table.index.tolist()
    assert ax.get_title() == "Employment status (N = 6)"
    assert plt.get_fignums() == open_before  # nothing opened through pyplot


def test_grouped_distribution_chart_has_a_panel_per_group(frame):
    table = d.distribution(frame, "employment_status", by="ethnic_appearance", by_values=["black", "asian"])
    fig = f.distribution_chart(table, title="Employment by ethnicity")
    assert [ax.get_title() for ax in fig.axes] == ["Black (N = 2)", "Asian (N = 3)"]
    for ax, group in zip(fig.axes, ["Black", "Asian"], strict=True):
        np.testing.assert_allclose(_heights(ax), table.loc[group, "percent"].to_numpy(float))


def test_rate_chart_bars_and_dashed_average_line(frame):
    table = r.rate_table(frame, "employment_status")
    average = r.average_rate(frame)
    fig = f.rate_chart(table, title="Reoffending by employment", average=average)
    (ax,) = fig.axes
    np.testing.assert_allclose(_heights(ax), table["rate"].to_numpy(float))
    (line,) = ax.get_lines()
    assert line.get_linestyle() == "--"
    np.testing.assert_allclose(line.get_ydata(), [average, average])
    assert line.get_label() == "average 50%"
    assert any(t.get_text() == "average 50%" for t in ax.texts)
    assert ax.get_title() == "Reoffending by employment (N = 6)"


def test_crossed_rate_chart_one_series_per_second_level(frame):
    table = r.rate_table(frame, ["age_group", "employment_status"])
    fig = f.rate_chart(table, title="Rate by age and employment", average=50.0)
    (ax,) = fig.axes
    containers = ax.containers
    inner = list(dict.fromkeys(table.index.get_level_values(1)))
    assert [c.get_label() for c in containers] == inner
    for container, level in zip(containers, inner, strict=True):
        expected = table.xs(level, level=1)["rate"].to_numpy(float)
        np.testing.assert_allclose([p.get_height() for p in container.patches], expected)


def test_min_count_hides_what_the_table_would_suppress(frame):
    table = d.distribution(frame, "employment_status")  # counts 3, 2, 1
    (ax,) = f.distribution_chart(table, title="t", min_count=2).axes
    # 1 is hidden, and 2 with it (secondary suppression: the three add up to N = 6)
    np.testing.assert_allclose(_heights(ax), [50.0, np.nan, np.nan])
    assert ax.get_ylim() == (0.0, 100.0)  # not scaled to the bars, hidden or shown
    rates = r.rate_table(frame, "employment_status")  # reoffended 2/3, 0/2, 1/1
    (ax,) = f.rate_chart(rates, title="t", average=50.0, min_count=2).axes
    # 2/3 leaves 1 not reoffended (complement), 1/1 is small, and N = 2 goes with N = 1 (secondary)
    np.testing.assert_allclose(_heights(ax), [np.nan, np.nan, np.nan])
    assert any(t.get_text() == "<2" for t in ax.texts if hasattr(t, "get_text"))
