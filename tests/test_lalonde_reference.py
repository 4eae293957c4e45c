"""psm against R's Matching::Match on the shipped LaLonde data.

Reference values produced with R 4.2.2 and Matching 4.10.8 by::

    # in Python: the logit score of psm, written at full precision
    ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
                            link="logit")
    df[["treat", "re78"]].assign(ps=ps.score.to_numpy()).to_csv("lalonde_ps.csv", float_format="%.17g")

    # in R
    library(Matching)
    d <- read.csv("lalonde_ps.csv")
    for (tol in c(1e-5, 0)) {
      m <- Match(Y = d$re78, Tr = d$treat, X = d$ps, estimand = "ATT", M = 1, ties = TRUE,
                 replace = TRUE, distance.tolerance = tol)
      cat(sprintf("distance.tolerance=%g est=%.6f se=%.6f\\n", tol, m$est, m$se))
    }
    # distance.tolerance=1e-05 est=1933.391876 se=1090.604644
    # distance.tolerance=0 est=1968.799716 se=1085.815563

psm's ties are exact equalities of the score (psmatch2's rule), so it agrees with ``distance.tolerance=0``;
R's default tolerance (1e-5) also counts as tied any control whose score is within 1e-5 of the nearest.
"""

from __future__ import annotations

import pytest

import psm


def test_att_and_abadie_imbens_se_equal_r_match_with_zero_distance_tolerance():
    df = psm.datasets.lalonde()
    ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
                            link="logit")
    eff = psm.effect(df, "re78", psm.match(df, "treat", ps, ties=True))
    assert eff.matched.difference == pytest.approx(1968.799716, abs=5e-6)
    assert eff.se_ai == pytest.approx(1085.815563, abs=5e-6)
    # R's default distance.tolerance=1e-5 gives est 1933.391876, se 1090.604644: a different matching
    assert abs(eff.matched.difference - 1933.391876) > 30
