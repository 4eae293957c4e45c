"""psmatch2 ``common``: strict min/max rule (program _Support_, psmatch2.ado v4.0.12)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import psm
from psm.support import support_mask

DATA = pd.DataFrame(
    {
        "t": [1, 1, 1, 1, 0, 0, 0],
        "p": [0.10, 0.25, 0.75, 0.80, 0.25, 0.50, 0.75],
    },
    index=["a", "b", "c", "d", "e", "f", "g"],
)


def test_att_drops_treated_strictly_outside_control_range():
    # control range [0.25, 0.75]: a (0.10) and d (0.80) are off; b, c on the boundary stay
    got = psm.common_support(DATA, "t", "p")
    assert got.tolist() == [False, True, True, False, True, True, True]
    assert got.index.equals(DATA.index) and got.dtype == bool


def test_ate_also_drops_controls_outside_treated_range():
    data = DATA.assign(p=[0.30, 0.40, 0.60, 0.70, 0.20, 0.50, 0.80])
    # treated range [0.3, 0.7] -> controls 0.2 and 0.8 off; control range [0.2, 0.8] keeps all treated
    got = psm.common_support(data, "t", "p", estimand="ATE")
    assert got.tolist() == [True, True, True, True, False, True, False]


def test_atu_is_the_mirror_of_att():
    data = DATA.assign(t=1 - DATA["t"])
    att = psm.common_support(DATA, "t", "p", estimand="ATT")
    atu = psm.common_support(data, "t", "p", estimand="ATU")
    assert att.equals(atu)


def test_accepts_series_and_reports_bad_input():
    got = psm.common_support(DATA, DATA["t"].astype(bool), DATA["p"])
    assert got.tolist() == [False, True, True, False, True, True, True]
    with pytest.raises(psm.ColumnNotFoundError, match="'pp'.*did you mean 'p'"):
        psm.common_support(DATA, "t", "pp")
    with pytest.raises(psm.MissingValuesError, match="'p'.*'b'"):
        psm.common_support(DATA.assign(p=DATA["p"].where(DATA.index != "b")), "t", "p")
    with pytest.raises(psm.EmptyGroupError, match="no control"):
        psm.common_support(DATA.assign(t=1), "t", "p")
    with pytest.raises(ValueError, match="estimand"):
        psm.common_support(DATA, "t", "p", estimand="ATX")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 8)), min_size=2, max_size=12).filter(
        lambda rows: len({t for t, _ in rows}) == 2
    ),
    st.sampled_from(["ATT", "ATU", "ATE"]),
)
def test_matches_brute_force_definition(rows, estimand):
    t = np.array([r[0] for r in rows])
    p = np.array([r[1] / 8 for r in rows])
    got = support_mask(t, p, estimand)
    for i in range(len(p)):
        checked = {"ATT": t[i], "ATU": not t[i], "ATE": True}[estimand]
        other = [p[j] for j in range(len(p)) if t[j] != t[i]]
        expected = (min(other) <= p[i] <= max(other)) if checked else True
        assert got[i] == expected
