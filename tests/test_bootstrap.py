"""psm.bootstrap_se: bootstrap SE for kernel and radius matching; refused for nearest neighbour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import psm


def data(n=40, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"t": np.r_[np.ones(n // 2, int), np.zeros(n - n // 2, int)],
                         "s": rng.uniform(0.3, 0.7, n), "y": rng.normal(size=n).round(3),
                         "x": rng.normal(size=n)})


def test_nearest_neighbour_is_refused_with_the_reason():
    d = data()
    with pytest.raises(ValueError, match=r"Abadie and Imbens \(2008"):
        psm.bootstrap_se(d, "y", psm.match(d, "t", "s"), seed=1)


def test_wide_radius_replicates_are_differences_in_means():
    # radius 1 covers every control: ATT = mean(Y | T) - mean(Y | C) in each resample, so the
    # replicates can be recomputed from the same draws with numpy alone
    d = data()
    res = psm.bootstrap_se(d, "y", psm.match(d, "t", "s", method="radius", caliper=1.0), reps=30, seed=7)
    rng = np.random.default_rng(7)
    expected = []
    for _ in range(30):
        s = d.iloc[rng.integers(0, len(d), len(d))]
        if s.t.nunique() == 2:
            expected.append(s.y[s.t == 1].mean() - s.y[s.t == 0].mean())
    assert res.estimates == pytest.approx(np.array(expected), rel=1e-12)
    assert res.se == pytest.approx(np.std(expected, ddof=1))
    assert res.n_failed == 30 - len(expected)
    assert res.estimate == pytest.approx(d.y[d.t == 1].mean() - d.y[d.t == 0].mean())


def test_seeded_and_refitting_the_score():
    d = data(60, seed=3)
    model = psm.fit_propensity(d, "t", ["x"], link="logit")
    m = psm.match(d, "t", model.score, method="kernel", bandwidth=0.2)
    a = psm.bootstrap_se(d, "y", m, propensity=model, reps=20, seed=11)
    b = psm.bootstrap_se(d, "y", m, propensity=model, reps=20, seed=11)
    c = psm.bootstrap_se(d, "y", m, reps=20, seed=11)
    assert a.se == b.se and a.se > 0
    assert a.se != c.se  # re-fitting the score changes the replicates
    lo, hi = a.ci(0.9)
    assert lo < hi
    with pytest.raises(ValueError, match="reps"):
        psm.bootstrap_se(d, "y", m, reps=1, seed=1)
