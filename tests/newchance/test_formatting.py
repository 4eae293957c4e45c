"""psm.newchance.report.formatting: what people read — counts as integers, fixed decimals per statistic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from psm.newchance.report.formatting import display_float, format_table, format_value, kind_of, label


@pytest.mark.parametrize(
    ("name", "kind"),
    [("p", "p"), ("p_ai", "p"), ("mh_p", "p"), ("p>|t|", "p"), ("t", "stat"), ("t_psmatch2", "stat"),
     ("variance_ratio", "stat"), ("critical_gamma", "stat"), ("pct_bias", "percent"), ("percent", "percent"),
     ("%reduct", "percent"), ("treated", None), ("N", None), ("ci_low_ai", None), (("total", "p"), "p")],
)  # fmt: skip
def test_kind_of(name, kind):
    assert kind_of(name) == kind


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [(1.425114e-11, "p", "<0.001"), (0.0005, "p", "0.001"), (0.04999, "p", "0.050"), (772.0, None, "772"),
     (np.int64(42), None, "42"), (0.2195, None, "0.220"), (-6.858947, "stat", "-6.86"), (32.51295, "percent", "32.5"),
     (True, None, "yes"), (np.bool_(False), None, "no"), (math.nan, None, ""), (None, None, ""), (pd.NA, None, ""),
     (-0.0001, None, "0.000"), (0.0, None, "0.000"), ("before_matching", None, "before matching"),
     (math.inf, "stat", "∞")],
)  # fmt: skip
def test_format_value(value, kind, text):
    assert format_value(value, kind) == text


def test_label_of_tuples_and_snake_case():
    assert label(("unemployed_only", "6m", "after_matching")) == "unemployed only · 6m · after matching"
    assert label(3) == "3"


def test_one_statistic_per_row_tables_take_the_row_kind():
    # the joint-file table: counts, percentages, a t and a p in one column
    joint = pd.DataFrame({"value": [772.0, 32.51295, -6.858947, 1.425114e-11, 1.0]},
                         index=pd.Index(["observations", "reoffended_total_pct", "t", "p", "significant"], name="quantity"))
    shown = format_table(joint)
    assert shown.columns.tolist() == ["quantity", "value"]
    assert shown["value"].tolist() == ["772", "32.5", "-6.86", "<0.001", "1"]
    assert shown["quantity"].tolist()[1] == "reoffended total pct"


def test_count_columns_are_integers_and_index_levels_become_columns():
    frame = pd.DataFrame({"N": [772.0, 769.0], "treated": [0.25, 1.0]},
                         index=pd.MultiIndex.from_tuples([("total", "x"), ("30d", "y")], names=["window", None]))
    shown = format_table(frame, decimals=2)
    assert shown.columns.tolist() == ["window", "level 2", "N", "treated"]
    assert shown["N"].tolist() == ["772", "769"]
    assert shown["treated"].tolist() == ["0.25", "1"]
    assert format_table(frame.reset_index(drop=True)).columns.tolist() == ["N", "treated"]  # RangeIndex dropped


@pytest.mark.parametrize(("value", "text"), [(772.0, "772"), (1.425114e-11, "<0.001"), (-2e-5, ">−0.001"),
                                             (0.21951, "0.220"), (math.nan, "NaN")])
def test_notebook_display_never_uses_scientific_notation(value, text):
    assert display_float(value) == text
