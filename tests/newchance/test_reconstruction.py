"""The reconstruction: stored permutations, what a rearrangement keeps, and the committed folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psm.newchance import synthetic
from psm.newchance.synthetic import reconstruction


@pytest.fixture(scope="module")
def pair():
    return synthetic.synthesize(), synthetic.reconstruct()


def test_stored_moves_are_permutations_of_each_groups_analysed_people():
    moves = reconstruction.load_moves()
    sizes = {"treatment": 410, "comparison": 362}
    assert set(moves["permutations"]) <= set(sizes)
    for group, perms in moves["permutations"].items():
        assert set(perms) <= set(reconstruction.MOVABLE)
        for perm in perms.values():
            assert sorted(perm) == list(range(sizes[group]))


def test_rearrange_by_hand():
    """Three analysed treated and one not analysed: the permutation [2, 0, 1] moves age and the
    reoffending history (with its later offences) among the analysed only."""
    people = pd.DataFrame({
        "group": ["treatment"] * 4, "analysed": [True, True, True, False], "age": [20, 30, 40, 50],
        "days_to_reoffence": [5.0, np.nan, 7.0, 9.0], "later_days": [[6], [], [8, 9], [10]],
    })
    out = reconstruction.rearrange(people, {"treatment": {"age": [2, 0, 1], "reoffending": [1, 2, 0]}})
    assert out["age"].tolist() == [40, 20, 30, 50]
    assert out["days_to_reoffence"].tolist()[1:] == [7.0, 5.0, 9.0] and np.isnan(out["days_to_reoffence"][0])
    assert out["later_days"].tolist() == [[], [8, 9], [6], [10]]
    with pytest.raises(ValueError, match="permutation of 2 people"):
        reconstruction.rearrange(people, {"treatment": {"age": [1, 0]}})


def test_rearrangement_keeps_every_group_total_and_moves_people(pair):
    structural, rebuilt = pair
    a = structural.people[structural.people["analysed"]]
    b = rebuilt.people[rebuilt.people["analysed"]]
    assert list(a["person_id"]) == list(b["person_id"]) and list(a["index_date"]) == list(b["index_date"])
    for column in ("age", "non_white", "substance", "mh", "unemployed", "history"):
        pd.testing.assert_series_equal(a.groupby("group")[column].sum(), b.groupby("group")[column].sum())
        assert (a[column].to_numpy() != b[column].to_numpy()).any(), column
    reoffended = lambda p: p["days_to_reoffence"].notna().groupby([p["group"], p["engagement_level"] == "ongoing"]).sum()  # noqa: E731
    pd.testing.assert_series_equal(reoffended(a), reoffended(b))  # 22.0% / 44.5% and the engagement split
    assert (b["history"] <= 4 * (b["age"] - 15) + 4).sum() >= (a["history"] <= 4 * (a["age"] - 15) + 4).sum()


def test_reconstruction_records_no_seed_of_a_known_truth(pair):
    _, rebuilt = pair
    assert "synthetic_seed" not in rebuilt.dataset and "reconstruction" in rebuilt.dataset["description"]
