"""psm.clustered: rate and hazard ratios with variances clustered on the person."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.duration.hazard_regression import PHReg

from psm.clustered import cox_hazard_ratio, effective_sample_size, rate_ratio


def _data(n=60, seed=1):
    rng = np.random.default_rng(seed)
    t = (rng.random(n) < 0.5).astype(float)
    exposure = rng.uniform(0.5, 4, n)
    y = rng.poisson(exposure * np.exp(0.3 * t) * rng.gamma(1, 1, n)).astype(float)
    cluster = rng.integers(0, 25, n)
    days = rng.exponential(100, n).round() + 1
    event = (rng.random(n) < 0.7).astype(float)
    return t, exposure, y, cluster, days, event


def test_effective_sample_size_by_hand():
    assert effective_sample_size([1, 1, 2, 0]) == pytest.approx(16 / 6)


def test_rate_ratio_is_the_ratio_of_group_rates_with_statsmodels_cluster_se():
    t, exposure, y, cluster, _, _ = _data()
    r = rate_ratio(y, exposure, t, cluster)
    by_hand = (y[t == 1].sum() / exposure[t == 1].sum()) / (y[t == 0].sum() / exposure[t == 0].sum())
    assert r.ratio == pytest.approx(by_hand)
    fit = sm.GLM(y, np.column_stack([np.ones_like(t), t]), family=sm.families.Poisson(),
                 offset=np.log(exposure)).fit(cov_type="cluster", cov_kwds={"groups": cluster, "use_correction": False})
    g = len(np.unique(cluster))
    assert r.se == pytest.approx(fit.bse[1] * np.sqrt(g / (g - 1)))
    assert r.ci_low < r.ratio < r.ci_high


def _reuse_versions(t, values, cluster):
    """(weight 2 on the first control, its two uses as rows of one person, as two new people)."""
    j = int(np.flatnonzero(t == 0)[0])
    w = np.ones(len(t))
    w[j] = 2.0
    same = [np.r_[v, v[j]] for v in values] + [np.r_[cluster, cluster[j]]]
    new = [np.r_[v, v[j]] for v in values] + [np.r_[cluster, cluster.max() + 1]]
    return w, same, new


def test_a_reused_control_is_one_person_not_several():
    t, exposure, y, _, _, _ = _data()
    people = np.arange(len(t))
    w, same, new = _reuse_versions(t, [y, exposure, t], people)
    weighted = rate_ratio(y, exposure, t, people, w)
    repeated = rate_ratio(*same[:3], same[3])
    as_new_people = rate_ratio(*new[:3], new[3])
    assert weighted.ratio == pytest.approx(repeated.ratio) == pytest.approx(as_new_people.ratio)
    assert weighted.se == pytest.approx(repeated.se)
    assert weighted.se > as_new_people.se  # ignoring the reuse would shrink the SE
    assert weighted.n_clusters == len(t)


def test_cox_matches_statsmodels_robust_and_counts_a_reused_control_once():
    t, _, _, cluster, days, event = _data()
    r = cox_hazard_ratio(days, event, t, cluster)
    fit = PHReg(days, t[:, None], status=event, ties="breslow").fit(groups=cluster)
    assert r.log_ratio == pytest.approx(fit.params[0])
    assert r.se == pytest.approx(fit.bse[0])
    people = np.arange(len(t))
    w, same, new = _reuse_versions(t, [days, event, t], people)
    weighted = cox_hazard_ratio(days, event, t, people, w)
    repeated = cox_hazard_ratio(*same[:3], same[3])
    as_new_people = cox_hazard_ratio(*new[:3], new[3])
    assert weighted.log_ratio == pytest.approx(repeated.log_ratio)
    assert weighted.se == pytest.approx(repeated.se)
    assert weighted.se != pytest.approx(as_new_people.se)


def test_fractional_weights_equal_their_whole_number_multiple():
    t, _, _, _, days, event = _data()
    people = np.arange(len(t))
    half = np.where(t == 0, 0.5, 1.0)
    a = cox_hazard_ratio(days, event, t, people, half)
    b = cox_hazard_ratio(days, event, t, people, 2 * half)
    assert a.log_ratio == pytest.approx(b.log_ratio, rel=1e-6)
    assert a.se == pytest.approx(b.se, rel=1e-6)
