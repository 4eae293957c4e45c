"""A MatchIt / cobalt user's workflow on the LaLonde data.

R equivalent::

    m <- matchit(treat ~ age + educ + race + married + nodegree + re74 + re75, data = lalonde,
                 distance = "glm", link = "linear.logit", caliper = 0.2, std.caliper = TRUE)
    bal.tab(m, un = TRUE, disp.v.ratio = TRUE, stats = c("m", "v", "ks"))
    md <- match.data(m)
    lm(re78 ~ treat, data = md, weights = weights)

Run: python examples/matchit_workflow.py [output folder for the Love plot]
"""

import sys
from pathlib import Path

import statsmodels.formula.api as smf

import psm

df = psm.datasets.lalonde()
covariates = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]

ps = psm.fit_propensity(df, "treat", covariates, link="logit")
print(ps.summary())

# 1:1 nearest neighbour without replacement on the logit, caliper 0.2 SD of the logit (Austin 2011)
m = psm.match(df, "treat", ps.linear_predictor, replace=False, caliper=0.2, std_caliper=True)
print(m.summary())

# cobalt-style balance: standardised differences, variance ratios, eCDF statistics, every level of race
bal = psm.balance(df, covariates, m)
print(bal.summary(layout="cobalt").as_markdown())

# match.data and a weighted outcome regression with standard errors clustered on the matched pairs
md = m.matched_data(df)
fit = smf.wls("re78 ~ treat", data=md, weights=md["weights"]).fit(
    cov_type="cluster", cov_kwds={"groups": md["subclass"]})
print(f"ATT {fit.params['treat']:.2f}, cluster-robust SE {fit.bse['treat']:.2f}, "
      f"{int(md['treat'].sum())} matched pairs")

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
psm.plots.love_plot(bal).savefig(out / "love_plot.png")
print(f"Love plot written to {out / 'love_plot.png'}")
