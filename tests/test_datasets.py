"""The shipped LaLonde / Dehejia-Wahba data: shape, coding and published group means."""

from __future__ import annotations

import pandas as pd
import pytest

import psm


def test_lalonde_matches_the_matchit_data_frame() -> None:
    df = psm.datasets.lalonde()
    assert df.shape == (614, 9)
    assert df.index.name == "id" and df.index[0] == "NSW1" and df.index[-1] == "PSID429"
    assert list(df.columns) == ["treat", "age", "educ", "race", "married", "nodegree", "re74", "re75", "re78"]
    counts = pd.crosstab(df["race"], df["treat"])
    assert counts.loc["black"].tolist() == [87, 156]
    assert counts.loc["hispan"].tolist() == [61, 11]
    assert counts.loc["white"].tolist() == [281, 18]
    means = df.groupby("treat")["re78"].mean()
    assert means[1] == pytest.approx(6349.14, abs=0.01)
    assert means[0] == pytest.approx(6984.17, abs=0.01)
    assert df.notna().all().all()


def test_lalonde_returns_a_fresh_copy() -> None:
    a = psm.datasets.lalonde()
    a.loc["NSW1", "age"] = -1
    assert psm.datasets.lalonde().loc["NSW1", "age"] == 37
