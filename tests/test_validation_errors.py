"""Typed errors naming the column or rows for inputs the core stages cannot use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import psm
from psm.errors import ColumnNameError, CovariateTypeError, DuplicateIndexError, InvalidValuesError, PSMError


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 120
    return pd.DataFrame({"t": rng.integers(0, 2, n), "x": rng.normal(size=n), "z": rng.normal(size=n),
                         "y": rng.normal(size=n)})


def test_a_repeated_index_is_a_typed_error_naming_the_labels(data):
    data.index = [7, 7, *range(2, len(data))]
    with pytest.raises(DuplicateIndexError, match=r"repeats labels \[7\]"):
        psm.psmatch2(data, "t", ["x", "z"], outcome="y")


def test_integer_column_names_are_a_typed_error(data):
    data = data.rename(columns={"x": 1, "z": 2})
    with pytest.raises(ColumnNameError, match="column names must be text, got 1, 2"):
        psm.psmatch2(data, "t", [1, 2], outcome="y")


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e300])
def test_infinite_or_overflowing_covariates_name_the_rows(data, value):
    data.loc[[4, 9], "x"] = value
    with pytest.raises(InvalidValuesError) as info:
        psm.psmatch2(data, "t", ["x", "z"], outcome="y")
    assert info.value.rows == {"x": [4, 9]}
    matched = psm.psmatch2(data.drop(index=[4, 9]), "t", ["x", "z"], outcome="y")
    with pytest.raises(InvalidValuesError, match="'x': \\[4, 9\\]"):
        psm.balance(data, ["x", "z"], matched.matching)  # checked before the weights are aligned


def test_numbers_stored_as_text_are_refused_not_expanded_into_dummies(data):
    data["x"] = data["x"].round(2).astype(str)
    with pytest.raises(CovariateTypeError, match=r"numbers stored as text in 'x' \(e.g. '"):
        psm.fit_propensity(data, "t", ["x", "z"])
    assert issubclass(CovariateTypeError, PSMError)
