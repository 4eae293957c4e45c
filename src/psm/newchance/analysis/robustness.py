"""The reviewer's questions for one analysis: hidden bias and fuller outcomes.

Built on :mod:`psm.sensitivity` and :mod:`psm.survival`, for an
:class:`~psm.newchance.analysis.specification.AnalysisResult` (usually the published specification, total window):

- :func:`hidden_bias`: Rosenbaum bounds for the binary reoffending outcome — Mantel–Haenszel bounds
  with one stratum per matched set (exact moments, Rosenbaum 2002 §4; and the large-sample moments
  Stata's ``mhbounds`` prints, Becker & Caliendo 2007), and the sign-test (McNemar) bounds of the 1:1
  pairs; the worst-case one-sided p for Γ = 1…3 and the critical Γ at which the effect stops being
  significant at 5%.
- :func:`reoffence_frequency`: reoffences per person, and per person-year of follow-up (the groups'
  follow-up differs), for the matched treated and their matched controls (weights as frequencies),
  as the Justice Data Lab reports frequency.
- :func:`time_to_first_reoffence`: Kaplan–Meier curves and the log-rank test for the same matched
  sample, each person censored at her own follow-up (index date to extract date).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from psm.newchance.analysis.specification import AnalysisResult
from psm.sensitivity import (
    DEFAULT_GAMMA,
    matched_set_counts,
    mcnemar_bounds,
    mh_bounds,
    pair_outcomes,
)
from psm.survival import (
    KaplanMeier,
    LogRankTest,
    event_frequency,
    kaplan_meier,
    log_rank_test,
    time_to_event,
)

DAYS_PER_YEAR = 365.25
GROUP_LABELS = {1: "treated (matched)", 0: "matched controls"}


def matched_sample(run: AnalysisResult) -> pd.DataFrame:
    """The matched sample of an ATT run: treated on support and the controls they used, with
    ``weight`` = psmatch2 ``_weight`` (treated 1, a control the number of treated that used it)."""
    weights = run.matching.weights
    kept = weights > 0
    return run.sample.loc[kept].assign(weight=weights[kept])


@dataclass(frozen=True)
class HiddenBias:
    """Rosenbaum bounds of one run: ``table`` (worst-case one-sided p per Γ and method) and
    ``critical`` (the Γ at which each method's p reaches ``alpha``)."""

    table: pd.DataFrame
    critical: pd.Series
    alpha: float


def hidden_bias(run: AnalysisResult, gamma=DEFAULT_GAMMA, alpha: float = 0.05) -> HiddenBias:
    """Worst-case p-values under hidden bias Γ for the run's binary outcome.

    Columns: ``mh_exact`` (Mantel–Haenszel, exact conditional moments, one stratum per matched set),
    ``mh_mhbounds`` (the same with mhbounds' large-sample moments; documented as biased for 1:1
    sets in :func:`psm.sensitivity.mh_bounds`), and ``mcnemar`` (sign test on the pairs; only for
    1:1 matching — NaN otherwise).
    """
    y = run.sample[run.outcome]
    counts = matched_set_counts(run.matching, y)
    results = {
        "mh_exact": mh_bounds(counts, gamma, alpha=alpha, moments="exact"),
        "mh_mhbounds": mh_bounds(counts, gamma, alpha=alpha, moments="mhbounds"),
    }
    table = pd.DataFrame({name: r.p_worst for name, r in results.items()},
                         index=pd.Index(results["mh_exact"].gamma, name="gamma"))
    critical = {name: r.critical_gamma for name, r in results.items()}
    if run.spec.k == 1 and not run.matching.ties:
        pairs = pair_outcomes(run.matching, y)
        sign = mcnemar_bounds(pairs["y_treated"], pairs["y_control"], gamma, alpha=alpha)
        table["mcnemar"] = sign.p_upper
        critical["mcnemar"] = sign.critical_gamma
    return HiddenBias(table, pd.Series(critical, name="critical_gamma"), alpha)


def reoffence_frequency(run: AnalysisResult) -> pd.DataFrame:
    """Reoffences per person and per person-year, matched treated vs matched controls.

    Per person counts every reoffence up to the extract date, so it inherits the groups' unequal
    follow-up (``docs/evaluation.md`` §5); per person-year divides each count by the person's
    follow-up in years. Columns: mean_treated, mean_control, difference, se, t, p, df
    (:func:`psm.survival.event_frequency`: weighted regression, df = Σw − 2).
    """
    m = matched_sample(run)
    years = m["follow_up_days"] / DAYS_PER_YEAR
    rows = {
        "reoffences per person": event_frequency(m["reoffence_count"], m["treated"], m["weight"]),
        "reoffences per person-year": event_frequency(m["reoffence_count"] / years, m["treated"], m["weight"]),
    }
    return pd.concat({name: r.to_frame().iloc[0] for name, r in rows.items()}, axis=1).T.rename_axis("outcome")


@dataclass(frozen=True)
class TimeToReoffence:
    """Kaplan–Meier curves and log-rank test of the matched sample (days from the index date)."""

    km: KaplanMeier
    logrank: LogRankTest

    def to_frame(self, at_days=(30, 90, 182, 365, 730)) -> pd.DataFrame:
        """Per group: people, weighted people, weighted first reoffences, median days, S(t) at ``at_days``."""
        frame = self.km.counts.copy()
        frame["median_days"] = self.km.median
        survival = self.km.survival_at(list(at_days))
        for t in at_days:
            frame[f"not reoffended by day {t}"] = survival.loc[float(t)]
        frame.index = [GROUP_LABELS.get(g, g) for g in frame.index]
        frame.index.name = "group"
        return frame


def time_to_first_reoffence(run: AnalysisResult) -> TimeToReoffence:
    """Kaplan–Meier and log-rank for the matched treated and their matched controls."""
    m = matched_sample(run)
    durations = time_to_event(m["days_to_reoffence"], m["follow_up_days"])
    km = kaplan_meier(durations["duration"], durations["event"], m["treated"], m["weight"])
    test = log_rank_test(durations["duration"], durations["event"], m["treated"], m["weight"])
    return TimeToReoffence(km, test)


def logrank_frame(result: TimeToReoffence) -> pd.DataFrame:
    """The log-rank test as a one-row table (observed and expected first reoffences per group)."""
    lr = result.logrank
    row = {"chi2": lr.chisq, "df": lr.df, "p": lr.pvalue}
    for g in lr.observed.index:
        row[f"observed {GROUP_LABELS.get(g, g)}"] = lr.observed[g]
        row[f"expected {GROUP_LABELS.get(g, g)}"] = lr.expected[g]
    return pd.DataFrame([row], index=pd.Index(["log-rank"], name="test"))


def critical_gamma_text(bias: HiddenBias) -> str:
    """One sentence for the report on the exact Mantel–Haenszel critical Γ."""
    g = bias.critical["mh_exact"]
    if g == np.inf:
        return f"The effect stays significant at {bias.alpha:.0%} for every Γ examined."
    if not np.isfinite(g) or g <= 1:
        return f"The effect is not significant at {bias.alpha:.0%} even without hidden bias (Γ = 1)."
    return (f"The effect stays significant at {bias.alpha:.0%} until hidden bias reaches Γ = {g:.2f} "
            "(exact Mantel–Haenszel bounds): an unobserved covariate would have to change the odds of "
            f"referral by a factor of {g:.2f} between two matched women to explain it away.")


def simulated_truth(runs: dict[str, AnalysisResult], seed: int, *, equal_total: AnalysisResult | None = None,
                    level: float = 0.95) -> pd.DataFrame:
    """Synthetic data only: the matched estimates beside the simulated truth of the generator.

    ``runs``: the main analyses by window (published specification) of data written by
    :func:`psm.newchance.synthetic.write_synthetic` with ``seed``. Per window: the true ATT
    (:func:`psm.newchance.synthetic.true_effects`, no sampling noise), what the published
    comparison estimates (``published_contrast``: for "total" it mixes the effect with the
    groups' unequal follow-up), the estimate, its Abadie–Imbens interval and whether that interval
    covers the true ATT. ``equal_total``: the total-window run with equal follow-up, added as the
    row "total (equal follow-up)".
    """
    from scipy import stats

    from psm.newchance import synthetic

    truth = synthetic.true_effects(synthetic.synthesize(seed))
    z = stats.norm.ppf(0.5 + level / 2)
    rows = {}
    named = {w: run for w, run in runs.items()}
    if equal_total is not None:
        named["total (equal follow-up)"] = equal_total
    for name, run in named.items():
        window = run.window
        estimate, se = run.effect.matched.difference, run.effect.se_ai
        true_att = float(truth.loc[window, "att"])
        rows[name] = {
            "true_att": true_att,
            "published_contrast": float(truth.loc[window, "published_contrast"]),
            "estimate": estimate,
            "ci_low_ai": estimate - z * se,
            "ci_high_ai": estimate + z * se,
            "covers_true_att": bool(estimate - z * se <= true_att <= estimate + z * se),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("window")
