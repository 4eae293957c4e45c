"""A Stata user's workflow on the LaLonde data: psmatch2, pstest, then Rosenbaum bounds.

Stata equivalent::

    psmatch2 treat age educ i.race married nodegree re74 re75, outcome(re78) logit ties
    pstest age educ i.race married nodegree re74 re75, both
    mhbounds employed78, gamma(1 (0.25) 2)

Run: python examples/psmatch2_workflow.py
"""

import psm

df = psm.datasets.lalonde()
df["employed78"] = (df["re78"] > 0).astype(int)
covariates = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]

# psmatch2: logit score, 1:1 nearest neighbour with replacement, ties averaged, two outcomes
res = psm.psmatch2(df, "treat", covariates, ["re78", "employed78"], link="logit", ties=True)
print(res.summary())

# pstest, both: every level of race is shown; the probit leaves the base level (black) out
bal = psm.balance(df, covariates, res.matching)
print(bal.summary())

# mhbounds on the binary outcome, matched sets as strata (exact moments suit small sets)
counts = psm.matched_set_counts(res.matching, df["employed78"])
bounds = psm.mh_bounds(counts, gamma=[1, 1.25, 1.5, 1.75, 2], moments="exact")
print(bounds.summary())
