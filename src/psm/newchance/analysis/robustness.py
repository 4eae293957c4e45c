"""The reviewer's questions for one analysis: hidden bias and fuller outcomes.

Built on :mod:`psm.sensitivity` and :mod:`psm.survival`, for an
:class:`~psm.newchance.analysis.specification.AnalysisResult` (usually the published specification, total window):

- :func:`hidden_bias`: Rosenbaum bounds for the binary reoffending outcome — Mantel–Haenszel bounds
  on independent strata (the connected components of the matched graph, exact moments, Rosenbaum
  2002 §4), beside a reproduction of Stata's ``mhbounds`` output (Becker & Caliendo 2007) and, for
  disjoint 1:1 pairs only, the sign-test (McNemar) bounds; the worst-case one-sided p for Γ = 1…3
  and the critical Γ at which the effect stops being significant at 5%.
- :func:`reoffence_frequency`: reoffences per person, and per person-year of follow-up (the groups'
  follow-up differs), for the matched treated and their matched controls, as rate ratios from a
  weighted Poisson model with SEs clustered on the person (a reused comparison woman is one person).
- :func:`time_to_first_reoffence`: Kaplan–Meier curves for the same matched sample, each person
  censored at her own follow-up (index date to extract date), with a Cox hazard ratio clustered on
  the person and, for reference, the weighted log-rank test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from psm.clustered import RatioEstimate, cox_hazard_ratio, rate_ratio
from psm.newchance.analysis.specification import AnalysisResult
from psm.matched_sets import component_counts, matched_set_counts, pair_outcomes
from psm.sensitivity import DEFAULT_GAMMA, mcnemar_bounds, mh_bounds
from psm.survival import (
    KaplanMeier,
    LogRankTest,
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

    Columns:

    * ``mh_components`` — the result: Mantel–Haenszel bounds with exact conditional moments
      (Rosenbaum 2002 §4.4) on independent strata, the connected components of the matched graph
      (:func:`psm.matched_sets.component_counts`): with replacement one comparison woman serves
      several treated women, so one stratum per treated woman would count her once per use, as if
      each use were a new person, and the strata would not be independent;
    * ``mh_mhbounds_stata`` — a reproduction of what Stata's ``mhbounds`` prints after psmatch2
      (one stratum per treated woman, large-sample moments; Becker & Caliendo 2007), shown for
      comparison with a Stata run, not a result: it shares controls between strata and its moments
      are biased for small sets (:func:`psm.sensitivity.mh_bounds`);
    * ``mcnemar`` — the exact sign test on the pairs, only when the matching is made of disjoint
      1:1 pairs (no control used twice, no ties); absent otherwise.
    """
    y = run.sample[run.outcome]
    results = {
        "mh_components": mh_bounds(component_counts(run.matching, y), gamma, alpha=alpha, moments="exact"),
        "mh_mhbounds_stata": mh_bounds(matched_set_counts(run.matching, y), gamma, alpha=alpha, moments="mhbounds"),
    }
    table = pd.DataFrame({name: r.p_worst for name, r in results.items()},
                         index=pd.Index(results["mh_components"].gamma, name="gamma"))
    critical = {name: r.critical_gamma for name, r in results.items()}
    pairs = run.matching.pairs
    if run.spec.k == 1 and not run.matching.ties and not pairs["control"].duplicated().any():
        disjoint = pair_outcomes(run.matching, y)
        sign = mcnemar_bounds(disjoint["y_treated"], disjoint["y_control"], gamma, alpha=alpha)
        table["mcnemar"] = sign.p_upper
        critical["mcnemar"] = sign.critical_gamma
    return HiddenBias(table, pd.Series(critical, name="critical_gamma"), alpha)


def reoffence_frequency(run: AnalysisResult) -> pd.DataFrame:
    """Reoffences per person and per person-year, matched treated vs matched controls, as rate ratios.

    Each row is a weighted Poisson model of the reoffence count (:func:`psm.clustered.rate_ratio`),
    matching weights as weights and standard errors clustered on the person — a comparison woman
    used by several treated women is one person, not several. "per person-year" has the log of
    the follow-up in years as offset, so the rate is Σ w·reoffences / Σ w·years in each group (not
    a mean of individual ratios, which short follow-ups dominate); "per person" has none and
    inherits the groups' unequal follow-up (``docs/evaluation.md`` §5). Columns: ``rate_treated``,
    ``rate_control``, ``rate_ratio``, ``ci_low``, ``ci_high``, ``p``, ``se_log`` (clustered), ``naive_se_log``
    (weights taken as independent people, for comparison), ``people``, ``effective_controls``.
    """
    m = matched_sample(run)
    years = m["follow_up_days"] / DAYS_PER_YEAR
    rows = {}
    for name, exposure in (("reoffences per person", pd.Series(1.0, index=m.index)),
                           ("reoffences per person-year", years)):
        r = rate_ratio(m["reoffence_count"], exposure, m["treated"], m.index, m["weight"])
        rates = {g: float((part["weight"] * part["reoffence_count"]).sum() / (part["weight"] * exposure[part.index]).sum())
                 for g, part in m.groupby("treated")}
        rows[name] = {"rate_treated": rates[1], "rate_control": rates[0], "rate_ratio": r.ratio,
                      "ci_low": r.ci_low, "ci_high": r.ci_high, "p": r.p, "se_log": r.se,
                      "naive_se_log": r.naive_se, "people": r.n_clusters,
                      "effective_controls": r.effective_controls}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("outcome")


@dataclass(frozen=True)
class TimeToReoffence:
    """Kaplan–Meier curves, log-rank test and Cox hazard ratio of the matched sample (days from the
    index date). The log-rank test takes the weights as people; ``cox`` clusters on the person and
    is the test to read when comparison women are reused."""

    km: KaplanMeier
    logrank: LogRankTest
    cox: RatioEstimate

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
    """Kaplan–Meier, log-rank and Cox (:func:`psm.clustered.cox_hazard_ratio`, SE clustered on the
    person) for the matched treated and their matched controls."""
    m = matched_sample(run)
    durations = time_to_event(m["days_to_reoffence"], m["follow_up_days"])
    km = kaplan_meier(durations["duration"], durations["event"], m["treated"], m["weight"])
    test = log_rank_test(durations["duration"], durations["event"], m["treated"], m["weight"])
    cox = cox_hazard_ratio(durations["duration"], durations["event"], m["treated"], m.index, m["weight"])
    return TimeToReoffence(km, test, cox)


def logrank_frame(result: TimeToReoffence) -> pd.DataFrame:
    """The tests of time to first reoffence as a table: the Cox hazard ratio with its SE clustered on
    the person (the result), and the weighted log-rank test (weights as people, for reference)."""
    lr, cox = result.logrank, result.cox
    rows = {
        "Cox, SE clustered on the person": {
            "hazard_ratio": cox.ratio, "ci_low": cox.ci_low, "ci_high": cox.ci_high, "p": cox.p,
            "se_log": cox.se, "naive_se_log": cox.naive_se, "people": cox.n_clusters,
            "effective_controls": cox.effective_controls},
        "log-rank (weights as people)": {"chi2": lr.chisq, "df": lr.df, "p": lr.pvalue},
    }
    for g in lr.observed.index:
        rows["log-rank (weights as people)"][f"observed {GROUP_LABELS.get(g, g)}"] = lr.observed[g]
        rows["log-rank (weights as people)"][f"expected {GROUP_LABELS.get(g, g)}"] = lr.expected[g]
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("test")


def tie_orders(run: AnalysisResult, n_orders: int = 100, seed: int = 20200710) -> pd.DataFrame:
    """The ATT when ties between equal scores are broken otherwise than by data order.

    psmatch2 takes, among equally close controls, the first in the data's sort order, which the
    publication cannot tell us. Rows: ``"data order"`` (the run itself), ``n_orders`` rows
    ``"random order"`` (the same matching with ``order="random"`` and seeds ``seed``, ``seed + 1``,
    …) and ``"ties=True"`` (every equally close control kept, weights shared). Columns: ``order``,
    ``seed``, ``att``, ``se_ai``. The run's outcome construction is kept (per-pair follow-up
    included).
    """
    from psm.effects import effect
    from psm.matching import match
    from psm.newchance.analysis.pairs import pair_effect

    m = run.matching
    options = {"k": m.k, "replace": m.replace, "caliper": m.caliper, "common_support": m.common_support}
    pair = run.spec.follow_up == "pair" and run.outcome == "reoffended_total"

    def estimate(matching) -> tuple[float, float]:
        result = effect(run.sample, run.outcome, matching)
        if pair:
            result, _ = pair_effect(run.sample, matching, result)
        return result.matched.difference, result.se_ai

    rows = [("data order", np.nan, run.effect.matched.difference, run.effect.se_ai)]
    for s in range(seed, seed + n_orders):
        rows.append(("random order", s, *estimate(match(run.sample, "treated", m.score, order="random", seed=s,
                                                         ties=m.ties, **options))))
    rows.append(("ties=True", np.nan, *estimate(match(run.sample, "treated", m.score, ties=True, **options))))
    return pd.DataFrame(rows, columns=["order", "seed", "att", "se_ai"])


def critical_gamma_text(bias: HiddenBias) -> str:
    """One sentence for the report on the critical Γ of the component-strata bounds."""
    g = bias.critical["mh_components"]
    if g == np.inf:
        return f"The effect stays significant at {bias.alpha:.0%} for every Γ examined."
    if not np.isfinite(g) or g <= 1:
        return f"The effect is not significant at {bias.alpha:.0%} even without hidden bias (Γ = 1)."
    return (f"The effect stays significant at {bias.alpha:.0%} until hidden bias reaches Γ = {g:.2f} "
            "(exact Mantel–Haenszel bounds, each comparison woman counted once): an unobserved covariate would have to change the odds of "
            f"referral by a factor of {g:.2f} between two matched women to explain it away.")


def simulated_truth(runs: dict[str, AnalysisResult], seed: int, *, equal_total: AnalysisResult | None = None,
                    level: float = 0.95) -> pd.DataFrame:
    """Synthetic data only: the matched estimates beside the simulated truth of the generator.

    ``runs``: the main analyses by window (published specification) of data written by
    :func:`psm.newchance.synthetic.write_synthetic` with ``seed``. Per window: the true ATT
    (:func:`psm.newchance.synthetic.true_effects`, no sampling noise), what the published
    comparison estimates (``published_contrast``: for "total" it mixes the effect with the
    groups' unequal follow-up), the estimate, its Abadie–Imbens interval and whether that interval
    covers the true ATT. ``equal_total``: the total-window run with equal follow-up (per pair, as
    the report runs it, or the median cut), added as the row "total (equal follow-up)".
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
