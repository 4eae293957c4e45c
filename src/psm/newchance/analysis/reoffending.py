"""Reoffending of the treatment group (Part B, sections 3.3 and 3.4.1, Graphs 21–30).

Population and outcome (as the report): every referral of the referral file (N = 421,
:func:`psm.newchance.analysis.descriptives.referral_population`), and "reoffended" = at least one offence
after the referral by the extract date (the file's ``reoffended == "yes"``; the "total" outcome, not
a fixed window: "91 offenders (22%) reoffended after the treatment ... (the total sample size of
N=421 is used, but ... not everyone was followed up for 12 months)"). The same population and
outcome give the section 3.4.1 tests, whose Ns (421 for age and engagement; 408 = 421 less unknown
ethnicity; 221 employed + unemployed; 244 and 254 assessed for MH and substance misuse) are
subsets of the 421, not of the 410 of the matching analysis.

* :func:`rate_table` — reoffenders, N and rate per category (Graphs 22–30), with the difference
  from :func:`average_rate`, the red line of every graph (total reoffenders / total offenders).
* :func:`before_after` — offences per person in the 12 months before vs after referral, paired
  t-test (``scipy.stats.ttest_rel``; Stata ``ttest before == after``).
* :func:`group_test` / :func:`significance_tests` — two-group differences in the reoffending rate:
  the pooled-variance two-sample t-test on the 0/1 outcome (Stata ``ttest y, by(g)``, equal
  variances, the default), with Pearson's chi-square and Fisher's exact test as checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from psm.errors import ColumnNotFoundError, EmptyGroupError
from psm.newchance.published import numbers as published
from psm.newchance.analysis.descriptives import LABELS, categories, category_order, distribution
from psm.newchance.preparation.rules import NON_WHITE, WHITE

__all__ = [
    "BEFORE_AFTER_DECIMALS",
    "BEFORE_AFTER_SAMPLES",
    "GROUP_TESTS",
    "OUTCOME",
    "RATE_GRAPHS",
    "GroupTest",
    "RateGraph",
    "average_rate",
    "before_after",
    "frequency_table",
    "group_test",
    "published_before_after",
    "published_significance_tests",
    "published_summary",
    "rate_table",
    "reoffending_summary",
    "significance_tests",
]

OUTCOME = "reoffended"


def _outcome(frame: pd.DataFrame, outcome: str) -> pd.Series:
    if outcome not in frame.columns:
        raise ColumnNotFoundError([outcome], frame.columns)
    y = frame[outcome].astype(float)
    bad = y.dropna()[~y.dropna().isin([0.0, 1.0])]
    if len(bad):
        raise ValueError(f"outcome {outcome!r} must be 0/1 (or missing); rows {list(bad.index[:10])} have "
                         f"{sorted(bad.unique())[:10]}")
    return y


def average_rate(frame: pd.DataFrame, outcome: str = OUTCOME) -> float:
    """The red line of Graphs 22–30: total reoffenders / total offenders, in percent (missing
    outcomes, if any, are left out of both)."""
    return 100 * float(_outcome(frame, outcome).mean())


def reoffending_summary(frame: pd.DataFrame, outcome: str = OUTCOME) -> pd.DataFrame:
    """One row ``reoffended``: ``count`` (reoffenders), ``N`` (known outcome), ``percent``, and
    ``missing`` (rows without a known outcome). Published: 91 of 421, 22%."""
    y = _outcome(frame, outcome)
    count, n = int(y.sum()), int(y.notna().sum())
    table = pd.DataFrame({"count": [count], "N": [n], "percent": [100 * count / n if n else np.nan],
                          "missing": [int(y.isna().sum())]}, index=pd.Index(["reoffended"], name="outcome"))
    table.attrs["population"] = frame.attrs.get("population", "the rows given")
    return table


def frequency_table(
    frame: pd.DataFrame, column: str = "offences_12m_after", *, top: int | None = None
) -> pd.DataFrame:
    """Graph 21: people by number of offences in the 12 months after referral.

    Index = the number of offences (``top`` and above pooled into ``"<top>+"``; missing counts
    form a ``"Missing"`` row); columns ``count``, ``percent``, ``N`` as in
    :func:`psm.newchance.analysis.descriptives.distribution`.
    """
    if column not in frame.columns:
        raise ColumnNotFoundError([column], frame.columns)
    values = frame[column].astype(float)
    pooled = top is not None
    if top is None:
        top = int(values.max()) + 1 if values.notna().any() else 0
    codes = values.map(lambda v: v if np.isnan(v) else (str(int(v)) if v < top else f"{top}+"))
    labels = {str(i): str(i) for i in range(top)} | ({f"{top}+": f"{top}+"} if pooled else {})
    return distribution(frame.assign(**{column: codes}), column, labels=labels)


def rate_table(
    frame: pd.DataFrame,
    column: str | list[str],
    *,
    outcome: str = OUTCOME,
    labels: bool = True,
    average: float | None = None,
) -> pd.DataFrame:
    """Reoffending rate per category of ``column`` (or of the crossing of two columns, Graphs 29–30).

    Columns: ``reoffended`` (count), ``N`` (people in the category with a known outcome),
    ``rate`` (``100 * reoffended / N``), ``difference_from_average`` (``rate - average``, percentage
    points; ``average`` defaults to :func:`average_rate` of the whole frame). Categories are listed as
    in :data:`psm.newchance.analysis.descriptives.LABELS`, empty ones included (N = 0, rate missing).
    """
    columns = [column] if isinstance(column, str) else list(column)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ColumnNotFoundError(missing, frame.columns)
    y = _outcome(frame, outcome)
    keys, levels = [], []
    for c in columns:
        shown = categories(frame[c], LABELS.get(c) if labels else None)
        keys.append(shown)
        levels.append(category_order(c, LABELS.get(c) if labels else None, shown))
    known = y.notna()
    grouped = y[known].groupby([k[known] for k in keys])
    if len(columns) > 1:
        index = pd.MultiIndex.from_product(levels, names=columns)
    else:
        index = pd.Index(levels[0], name=columns[0])
    table = pd.DataFrame({"reoffended": grouped.sum(), "N": grouped.size()}).reindex(index, fill_value=0)
    table = table.astype({"reoffended": int, "N": int})
    table["rate"] = 100 * table["reoffended"] / table["N"].where(table["N"] > 0)
    table["difference_from_average"] = table["rate"] - (average_rate(frame, outcome) if average is None else average)
    table.attrs["population"] = frame.attrs.get("population", "the rows given")
    return table


@dataclass(frozen=True)
class RateGraph:
    """A reoffending-rate graph of section 3.3: ``rate_table(columns)``."""

    name: str
    number: int
    title: str
    columns: tuple[str, ...]


#: Graphs 22–30. The text cites the engagement graphs as "Graph 30 and 31" and the crossed ones as
#: "Graphs 29 and 33" (docs/evaluation.md §15); numbered here in the order the graphs appear.
RATE_GRAPHS: tuple[RateGraph, ...] = (
    RateGraph("rate_by_ethnicity", 22, "Reoffending rate by ethnic appearance", ("ethnic_appearance",)),
    RateGraph("rate_by_age", 23, "Reoffending rate by age group", ("age_group",)),
    RateGraph("rate_by_employment", 24, "Reoffending rate by employment status", ("employment_status",)),
    RateGraph("rate_by_substance_misuse", 25, "Reoffending rate by drugs/alcohol misuse need",
              ("substance_misuse_need",)),
    RateGraph("rate_by_mental_health", 26, "Reoffending rate by mental health/wellbeing need",
              ("mental_health_need",)),
    RateGraph("rate_by_engagement_length", 27, "Reoffending rate by length of engagement", ("engagement_length",)),
    RateGraph("rate_by_engagement_level", 28, "Reoffending rate by engagement level", ("engagement_level",)),
    RateGraph("rate_by_age_and_employment", 29, "Reoffending rate by age group and employment status",
              ("age_group", "employment_status")),
    RateGraph("rate_by_employment_and_ethnicity", 30, "Reoffending rate by employment status and ethnic appearance",
              ("employment_status", "ethnic_appearance")),
)


# ---------------------------------------------------------------------------------------------
# Before / after
# ---------------------------------------------------------------------------------------------


def before_after(
    frame: pd.DataFrame,
    samples: Mapping[str, pd.Series | np.ndarray],
    *,
    before: str = "offences_12m_before",
    after: str = "offences_12m_after",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Offences per person in the 12 months before vs after referral, paired t-test per sample.

    For each sample (name -> boolean mask: a Series aligned to ``frame.index`` or an array in row
    order): people with both counts (``N``;
    ``missing`` = sample members lacking one), ``mean_before``, ``mean_after``, ``difference`` =
    mean(before − after) (the report's "difference of 0.25", a fall), ``t`` = d̄ / (s_d/√N) and
    ``p`` (two-sided) from ``scipy.stats.ttest_rel(before, after)``, ``df = N − 1``, and
    ``significant`` = p < ``alpha``. Stata: ``ttest before == after``.
    """
    missing_columns = [c for c in (before, after) if c not in frame.columns]
    if missing_columns:
        raise ColumnNotFoundError(missing_columns, frame.columns)
    rows = {}
    for name, mask in samples.items():
        if isinstance(mask, pd.Series):
            mask = mask.reindex(frame.index, fill_value=False)
        sample = frame[pd.Series(mask, index=frame.index).astype(bool)]
        complete = sample[[before, after]].dropna().astype(float)
        n = len(complete)
        if n < 2:
            raise EmptyGroupError(f"before/after sample {name!r} has {n} people with both counts; need at least 2")
        test = stats.ttest_rel(complete[before], complete[after])
        rows[name] = {
            "N": n, "missing": len(sample) - n,
            "mean_before": complete[before].mean(), "mean_after": complete[after].mean(),
            "difference": (complete[before] - complete[after]).mean(),
            "t": float(test.statistic), "df": n - 1, "p": float(test.pvalue),
            "significant": bool(test.pvalue < alpha),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "sample"
    return table


BEFORE_AFTER_SAMPLES = ("All referrals", "Followed up for 12 months")
"""Row labels of :func:`before_after` in the notebook, in the order of :func:`published.before_after`."""


def published_before_after() -> pd.DataFrame:
    """The published before/after numbers in :func:`before_after`'s layout (rows
    :data:`BEFORE_AFTER_SAMPLES`); means and differences are printed with 2 decimals (pass
    ``published_decimals=BEFORE_AFTER_DECIMALS``)."""
    frame = published.before_after().drop(columns="sample")
    frame.index = pd.Index(BEFORE_AFTER_SAMPLES, name="sample")
    return frame


BEFORE_AFTER_DECIMALS = {"N": 0, "mean_before": 2, "mean_after": 2, "difference": 2}


# ---------------------------------------------------------------------------------------------
# Section 3.4.1: two-group tests
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupTest:
    """A binary split of section 3.4.1 on ``column``: group 0 = codes ``zero``, group 1 = codes ``one``
    (or, with ``threshold``, group 1 = values >= threshold); other rows are left out (``excluded``).

    ``group_0``/``group_1`` name the groups as coded in the report (line 1452); ``published`` is the
    ``variable`` of :func:`psm.newchance.published.numbers.significance_tests`; ``published_sign`` turns its
    unsigned difference into rate(1) − rate(0) using the printed direction ("White reoffended
    less" -> +1).
    """

    name: str
    column: str
    group_0: str
    group_1: str
    excluded: str
    published: str
    published_sign: int
    zero: frozenset[str] = frozenset()
    one: frozenset[str] = frozenset()
    threshold: float | None = None

    def split(self, frame: pd.DataFrame) -> pd.Series:
        """0.0, 1.0 or NaN (left out) for each row of ``frame``."""
        values = frame[self.column]
        if self.threshold is not None:
            return (values >= self.threshold).astype(float).where(values.notna())
        chosen = np.select([values.isin(list(self.zero)), values.isin(list(self.one))], [0.0, 1.0], np.nan)
        return pd.Series(chosen, index=frame.index)


_NOT_ENGAGED = frozenset({"did_not_engage", "one_appointment_only"})

GROUP_TESTS: tuple[GroupTest, ...] = (
    GroupTest("ethnicity", "ethnic_appearance", "White", "Non-White", "unknown ethnic appearance", "Ethnicity",
              +1, WHITE, NON_WHITE),
    GroupTest("age", "age", "age < 25", "age >= 25", "none", "Age", -1, threshold=25),
    GroupTest("employment", "employment_status", "Employed", "Unemployed", "no data on employment",
              "Employment Status", +1, frozenset({"employed"}), frozenset({"unemployed"})),
    GroupTest("mental_health", "mental_health_need", "No need", "Need identified", "not assessed",
              "Mental Health and Wellbeing", +1, frozenset({"no"}), frozenset({"yes"})),
    GroupTest("substance_misuse", "substance_misuse_need", "No need", "Need identified", "not assessed",
              "Substance Misuse", +1, frozenset({"no"}), frozenset({"yes"})),
    GroupTest("engagement_level", "engagement_level", "Did not engage / one appointment only", "Ongoing", "none",
              "Engagement (engaged vs did not engage)", -1, _NOT_ENGAGED, frozenset({"ongoing"})),
    GroupTest("engagement_length", "engagement_length", "Did not engage / one appointment only", "Engaged longer",
              "none", "Engagement length", -1, _NOT_ENGAGED,
              frozenset({"up_to_3_months", "3_to_6_months", "over_6_months"})),
)


def group_test(outcome: pd.Series, group: pd.Series, *, alpha: float = 0.05) -> dict[str, float]:
    """Difference in a 0/1 outcome between group 1 and group 0; rows with either missing are left out.

    * ``n_0``, ``n_1``, ``N``; ``reoffended_0``, ``reoffended_1``; ``rate_0``, ``rate_1`` (percent);
      ``difference`` = rate_1 − rate_0 (percentage points);
    * ``t``, ``df``, ``p``: pooled-variance two-sample t-test, t = (ȳ₁ − ȳ₀) / (s_p √(1/n₀ + 1/n₁)),
      s_p² = ((n₀−1)s₀² + (n₁−1)s₁²)/(n₀+n₁−2), df = n₀ + n₁ − 2 (``scipy.stats.ttest_ind``,
      ``equal_var=True``; Stata ``ttest y, by(g)`` reports the same |t| and p, with t for ȳ₀ − ȳ₁);
    * ``chi2``, ``p_chi2``: Pearson's chi-square of the 2×2 table without continuity correction
      (Stata ``tabulate g y, chi2``); ``p_fisher``: Fisher's exact test, two-sided;
    * ``significant``: p (t-test) < ``alpha``.

    Raises :class:`~psm.errors.EmptyGroupError` if a group has fewer than 2 people.
    """
    data = pd.DataFrame({"y": outcome.astype(float), "g": group.astype(float)}).dropna()
    y0, y1 = data.loc[data["g"] == 0, "y"], data.loc[data["g"] == 1, "y"]
    if len(y0) < 2 or len(y1) < 2:
        raise EmptyGroupError(
            f"a two-group test needs at least 2 people per group; got n_0={len(y0)}, n_1={len(y1)}")
    t = stats.ttest_ind(y1, y0, equal_var=True)
    table = np.array([[len(y0) - y0.sum(), y0.sum()], [len(y1) - y1.sum(), y1.sum()]])
    if (table.sum(axis=0) > 0).all():
        chi2, p_chi2, _, _ = stats.chi2_contingency(table, correction=False)
    else:  # nobody (or everybody) reoffended: no association to test
        chi2, p_chi2 = np.nan, np.nan
    return {
        "n_0": len(y0), "n_1": len(y1), "N": len(y0) + len(y1),
        "reoffended_0": int(y0.sum()), "reoffended_1": int(y1.sum()),
        "rate_0": 100 * y0.mean(), "rate_1": 100 * y1.mean(), "difference": 100 * (y1.mean() - y0.mean()),
        "t": float(t.statistic), "df": len(y0) + len(y1) - 2, "p": float(t.pvalue),
        "chi2": float(chi2), "p_chi2": float(p_chi2), "p_fisher": float(stats.fisher_exact(table).pvalue),
        "significant": bool(t.pvalue < alpha),
    }


def significance_tests(frame: pd.DataFrame, *, outcome: str = OUTCOME, tests=GROUP_TESTS,
                       alpha: float = 0.05) -> pd.DataFrame:
    """Section 3.4.1: :func:`group_test` for every split of :data:`GROUP_TESTS`.

    Index ``test`` (the published variable names); columns ``group_0``, ``group_1``, ``excluded``,
    then :func:`group_test`'s numbers, then ``excluded_rows`` (people left out by the split).
    """
    needed = sorted({t.column for t in tests} - set(frame.columns))
    if needed:
        raise ColumnNotFoundError(needed, frame.columns)
    y = _outcome(frame, outcome)
    rows = {}
    for spec in tests:
        group = spec.split(frame)
        result = group_test(y, group, alpha=alpha)
        rows[spec.published] = {"group_0": spec.group_0, "group_1": spec.group_1, "excluded": spec.excluded,
                                **result, "excluded_rows": int(group.isna().sum())}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "test"
    table.attrs["population"] = frame.attrs.get("population", "the rows given")
    return table


def published_significance_tests(tests=GROUP_TESTS) -> pd.DataFrame:
    """Section 3.4.1 as published, in :func:`significance_tests`' layout: ``N`` and
    ``significant`` as printed and ``difference`` signed as rate(1) − rate(0) (printed text, so the
    comparison uses the printed precision); ``rate_0``/``rate_1`` for the engagement splits, whose
    rates the report prints (28% vs 17%, 26% vs 17%)."""
    printed = {t["variable"]: t for t in published.published_tables()["significance_tests"]["tests"]}
    rates = published.descriptives()
    rates = rates[rates["topic"] == "reoffending"].set_index("item")["printed"]
    engagement = {"Engagement (engaged vs did not engage)": ("engagement.level.not_engaged_or_one_appointment",
                                                             "engagement.level.ongoing"),
                  "Engagement length": ("engagement.length.did_not_engage_or_one_appointment",
                                        "engagement.length.engaged_longer")}
    records = {}
    for spec in tests:
        row = printed[spec.published]
        value = getattr(row["difference_pct"], "text", str(row["difference_pct"]))
        record = {"N": str(row["N"]), "difference": f"{'-' if spec.published_sign < 0 else ''}{value}",
                  "significant": bool(row["significant"])}
        if spec.published in engagement:
            zero, one = engagement[spec.published]
            record |= {"rate_0": rates[zero], "rate_1": rates[one]}
        records[spec.published] = record
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index.name = "test"
    return frame[[c for c in ("N", "rate_0", "rate_1", "difference", "significant") if c in frame.columns]]


def published_summary() -> pd.DataFrame:
    """"91 offenders (22%) reoffended", N = 421, in :func:`reoffending_summary`'s layout (printed text)."""
    numbers = published.descriptives()
    rows = numbers[(numbers["topic"] == "reoffending") & (numbers["item"] == "reoffended")]
    values = rows.set_index("statistic")["printed"]
    return pd.DataFrame({"count": [values["count"]], "N": [values["N"]], "percent": [values["pct"]]},
                        index=pd.Index(["reoffended"], name="outcome"))
