"""Follow-up windows, eligibility (published cut-offs) and equal follow-up."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psm.newchance.preparation.outcomes import (
    WINDOWS,
    eligible,
    equalise_total,
    follow_up_horizon,
    outcome_columns,
    reoffended_by,
    reoffended_within,
)

EXTRACT = dt.date(2020, 1, 10)
W = {str(w): w for w in WINDOWS}


def _one(day: str) -> pd.Series:
    return pd.Series([pd.Timestamp(day)])


def test_windows_contract() -> None:
    assert tuple(WINDOWS) == ("total", "30d", "60d", "90d", "6m", "12m")
    assert [(w.days, w.months) for w in WINDOWS] == [(None, None), (30, None), (60, None), (90, None), (None, 6), (None, 12)]


@pytest.mark.parametrize(("window", "last_eligible"), [
    ("30d", "2019-12-10"), ("60d", "2019-11-10"), ("90d", "2019-10-10"), ("6m", "2019-07-10"), ("12m", "2019-01-10"),
])
def test_eligibility_reproduces_the_published_cutoffs(window: str, last_eligible: str) -> None:
    """Extract 10 Jan 2020: referrals up to and including these dates (published_tables.yaml cut-offs)."""
    day = pd.Timestamp(last_eligible)
    assert eligible(_one(last_eligible), EXTRACT, W[window]).item()
    assert not eligible(pd.Series([day + pd.Timedelta(days=1)]), EXTRACT, W[window]).item()


def test_day_windows_are_fully_observed_even_in_february() -> None:
    # 10 Feb + 1 month = 10 Mar, but 10 Feb + 30 days = 12 Mar: not fully observed by 10 Mar.
    assert not eligible(_one("2019-02-10"), dt.date(2019, 3, 10), W["30d"]).item()
    assert eligible(_one("2019-02-08"), dt.date(2019, 3, 10), W["30d"]).item()


def test_total_window_everyone_up_to_the_extract_date() -> None:
    days = pd.Series(pd.to_datetime(["2020-01-10", "2015-05-06", "2020-01-11"]))
    assert eligible(days, EXTRACT, W["total"]).tolist() == [True, True, False]


def test_exactly_30_days_counts_31_does_not() -> None:
    index = pd.Series(pd.to_datetime(["2019-06-01"] * 4))
    reoffence = pd.Series(pd.to_datetime(["2019-06-01", "2019-07-01", "2019-07-02", None]))
    assert reoffended_within(index, reoffence, W["30d"]).tolist() == [1.0, 1.0, 0.0, 0.0]
    assert reoffended_within(index, reoffence, W["total"]).tolist() == [1.0, 1.0, 1.0, 0.0]


def test_month_windows_use_calendar_months() -> None:
    index = pd.Series(pd.to_datetime(["2019-08-31", "2019-08-31", "2019-01-10"]))
    reoffence = pd.Series(pd.to_datetime(["2020-02-29", "2020-03-01", "2019-07-10"]))
    assert reoffended_within(index, reoffence, W["6m"]).tolist() == [1.0, 0.0, 1.0]


def test_outcome_columns_mask_ineligible_and_count_days() -> None:
    index = pd.Series(pd.to_datetime(["2019-12-10", "2019-12-11", "2015-05-06"]), index=["a", "b", "c"])
    reoffence = pd.Series(pd.to_datetime(["2019-12-20", None, "2016-05-06"]), index=index.index)
    out = outcome_columns(index, reoffence, pd.Series([1.0, 0.0, 3.0], index=index.index), EXTRACT)
    assert out["eligible_30d"].tolist() == [True, False, True]
    assert out["reoffended_30d"].iloc[0] == 1.0 and np.isnan(out["reoffended_30d"].iloc[1])
    assert out["reoffended_12m"].tolist()[2] == 1.0  # 6 May 2016 is exactly 12 months later
    assert out["days_to_reoffence"].iloc[[0, 2]].tolist() == [10.0, 366.0]
    assert out["follow_up_days"].tolist() == [31.0, 30.0, 1710.0]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "treated": [1, 1, 1, 0, 0, 0],
        "follow_up_days": [100.0, 200.0, 400.0, 1700.0, 1700.0, 150.0],
        "days_to_reoffence": [50.0, np.nan, 300.0, 180.0, 250.0, np.nan],
        "reoffended_total": [1.0, 0.0, 1.0, 1.0, 1.0, 0.0],
        "eligible_total": [True] * 6,
    })


def test_equal_follow_up_truncates_the_comparison_total_only() -> None:
    data = _frame()
    assert follow_up_horizon(data, True) == 200.0 and follow_up_horizon(data, "max") == 400.0
    assert follow_up_horizon(data, False) is None
    out = equalise_total(data, 200.0)
    assert out["reoffended_total"].iloc[:3].tolist() == [1.0, 0.0, 1.0]        # treated unchanged
    assert out["reoffended_total"].iloc[3:5].tolist() == [1.0, 0.0]            # 250 days > 200: not observed
    assert np.isnan(out["reoffended_total"].iloc[5]) and not out["eligible_total"].iloc[5]  # followed 150 < 200
    with pytest.raises(ValueError, match="equal_follow_up"):
        follow_up_horizon(data, "mean")


def test_reoffended_by_per_pair_horizons() -> None:
    data = _frame().iloc[3:]
    horizon = pd.Series([100.0, 300.0, 100.0], index=data.index)
    assert reoffended_by(data, horizon).tolist() == [0.0, 1.0, 0.0]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1700), st.one_of(st.none(), st.integers(0, 1700))), min_size=1, max_size=30))
def test_window_outcomes_are_nested(rows) -> None:
    """Eligible for a longer window => eligible for a shorter; reoffending within a window implies the longer ones."""
    start = pd.Timestamp("2015-05-06")
    index = pd.Series([start + pd.Timedelta(days=d) for d, _ in rows])
    reoffence = pd.Series([pd.NaT if r is None else i + pd.Timedelta(days=r) for (_, r), i in zip(rows, index)],
                          dtype="datetime64[ns]")
    index = index.where(index <= pd.Timestamp(EXTRACT), pd.Timestamp(EXTRACT))
    out = outcome_columns(index, reoffence, pd.Series(0.0, index=index.index), EXTRACT)
    names = [str(w) for w in WINDOWS[1:]]
    for short, long in zip(names, names[1:]):
        assert (out[f"eligible_{short}"] | ~out[f"eligible_{long}"]).all()
        both = out[f"eligible_{long}"]
        assert (out.loc[both, f"reoffended_{short}"] <= out.loc[both, f"reoffended_{long}"]).all()
    assert (out["reoffended_12m"].fillna(0) <= out["reoffended_total"]).all()
