"""Tables of the evaluation in the published layout, built from :mod:`psm.newchance.analysis.specification` results.

Every table here has a published twin in :mod:`psm.newchance.published.numbers` with the same index and
columns, so :func:`psm.newchance.published.compare.compare_tables` can set them side by side:

- :func:`balance_table` — Table 1 (total) and A1–A5 (windows): pstest ``both`` means, matched %bias,
  t and p (pstest's ``both`` table);
- :func:`effect_table` — Table 2 and the sub-group table: psmatch2's ``Unmatched`` row as
  "Before Matching" and its ``ATT`` row as "After Matching" (psmatch2's printed table), the star
  being |t| >= 1.96 as the table notes say;
- :func:`standard_errors` — the same effects with psmatch2's SE (as published) beside the
  Abadie–Imbens (2006) SE, with t, p and 95% confidence intervals for both;
- :func:`se_comparison` — one window's ATT under each matching estimator with every standard error
  that applies to it (psmatch2's, Abadie–Imbens 2006, Abadie–Imbens 2016, bootstrap).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from psm.newchance.published import numbers as published
from psm.balance import BalanceTable, balance
from psm.effects import effect
from psm.newchance.analysis.specification import (
    BOOTSTRAP_REPS,
    BOOTSTRAP_SEED,
    COVARIATE_LABELS,
    PUBLISHED,
    AnalysisResult,
    Specification,
    interval_se,
    run_analysis,
)
from psm.newchance.preparation.prepare import AnalysisFile
from psm.newchance.preparation.rules import offence_type_categories

BALANCE_TABLE_IDS: dict[str, str] = dict(zip(published.WINDOWS, published.BALANCE_TABLE_IDS))
"""The published balance table of each window (A3 is printed "Table 3")."""

BALANCE_COLUMNS = list(published.BALANCE_COLUMNS)
EFFECT_COLUMNS = list(published.EFFECT_STATISTICS)
WINDOW_TITLES = {w: "Reoffending total" if w == "total" else f"Reoffending within {label}"
                 for w, label in published.WINDOW_LABELS.items()}
CRITICAL_T = 1.96
"""The tables' star: "statistical significance of at least 5% level (two tail t test at .05 level)"."""


def joint_file(af: AnalysisFile) -> pd.DataFrame:
    """The "Treatment and Control Joint Data File" paragraph (§3.4): counts, overall reoffending by group,
    the difference in percentage points and its two-sample t-test (pooled variance, as Stata's
    ``ttest``/``regress``). Index ``quantity`` as :func:`psm.newchance.published.numbers.joint_file`."""
    data = af.data
    y = data["reoffended_total"]
    treated, control = y[data["treated"] == 1], y[data["treated"] == 0]
    test = stats.ttest_ind(treated, control, equal_var=True)
    values = {
        "observations": len(data),
        "treated": len(treated),
        "control": len(control),
        "reoffended_total_count": int(y.sum()),
        "reoffended_total_pct": 100 * y.mean(),
        "reoffending_treated_pct": 100 * treated.mean(),
        "reoffending_control_pct": 100 * control.mean(),
        "difference_pct": 100 * (control.mean() - treated.mean()),
        "significant": float(test.pvalue < 0.01),
        "t": float(test.statistic),
        "p": float(test.pvalue),
    }
    return pd.DataFrame({"value": values}).rename_axis("quantity")


def balance_table(result: AnalysisResult) -> pd.DataFrame:
    """Table 1 / A1–A5 layout for one analysis: index ``covariate`` (published labels), :data:`BALANCE_COLUMNS`.

    ``attrs["population"]`` says who is in it (the treated and comparison women of the window's
    estimation sample) and ``attrs["group_sizes"]`` how many (``{"treated": n1, "comparison": n0}``),
    for the page's population-and-N line (the report's writer passes them through disclosure control).
    """
    t = result.balance.table
    frame = pd.DataFrame(
        {
            "unmatched_treated": t["mean_treated_unmatched"],
            "unmatched_control": t["mean_control_unmatched"],
            "matched_treated": t["mean_treated_matched"],
            "matched_control": t["mean_control_matched"],
            "pct_bias": t["pct_bias_matched"],
            "t": t["t_matched"],
            "p": t["p_matched"],
        }
    )
    frame.index = pd.Index([result.balance.label(c) for c in t.index], name="covariate")
    treated = int((result.sample["treated"] == 1).sum())
    frame.attrs["population"] = (f"treated and comparison women of the estimation sample for "
                                 f"{WINDOW_TITLES[result.window].lower()} (eligible for the window, every covariate recorded)")
    frame.attrs["group_sizes"] = {"treated": treated, "comparison": len(result.sample) - treated}
    return frame


def published_balance_table(window: str) -> pd.DataFrame:
    """The published balance table of ``window`` as printed text, in :func:`balance_table`'s layout."""
    return published.balance_table(BALANCE_TABLE_IDS[window], printed=True)[BALANCE_COLUMNS]


def _sample_label(result: AnalysisResult) -> str:
    label = "full sample" if result.window == "total" else (
        f"treatment file up to {result.sample.loc[result.sample['treated'] == 1, 'index_date'].max():%d %B %Y}"
    )
    return f"{label}, N = {result.n_window}"


def _stage_rows(result: AnalysisResult) -> dict[str, dict[str, object]]:
    rows = {}
    for stage, row in (("before_matching", result.effect.unmatched), ("after_matching", result.effect.matched)):
        rows[stage] = {
            "treated": row.treated,
            "control": row.control,
            "difference": row.difference,
            "star": bool(abs(row.t) >= CRITICAL_T),
            "se": row.se,
            "t": row.t,
        }
    return rows


def effect_table(runs: Mapping[object, AnalysisResult]) -> pd.DataFrame:
    """Table 2 (runs keyed by window) or the sub-group table (keyed by ``(subgroup, window)``).

    Index: ``window`` (or ``subgroup``, ``window``) and ``stage``; columns :data:`EFFECT_COLUMNS`
    plus ``outcome`` (row title), ``sample`` (with the N), ``N``, ``n_estimation`` (after listwise
    deletion) and ``n_treated_off_support``. ``attrs["denominators"]`` gives, per row, the number
    of people behind each rate (treated; controls before matching, the treated-weighted controls after),
    so that disclosure control can tell a rate that stands for 1 to 9 people.
    """
    records, denominators = [], {"treated": [], "control": []}
    for key, result in runs.items():
        keys = {"subgroup": key[0], "window": key[1]} if isinstance(key, tuple) else {"window": key}
        for stage, cells in _stage_rows(result).items():
            row = result.effect.unmatched if stage == "before_matching" else result.effect.matched
            denominators["treated"].append(row.n_treated)
            denominators["control"].append(row.n_control if stage == "before_matching" else row.n_treated)
            records.append({
                **keys, "stage": stage, **cells,
                "outcome": WINDOW_TITLES[result.window], "sample": _sample_label(result), "N": result.n_window,
                "n_estimation": len(result.sample), "n_treated_off_support": result.n_treated_off_support,
            })
    frame = pd.DataFrame.from_records(records)
    frame = frame.set_index([*(["subgroup"] if "subgroup" in frame else []), "window", "stage"])
    frame.attrs["denominators"] = denominators
    return frame


def stack_effect_tables(parts: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """Effect tables of :func:`effect_table` one above the other, keyed by a new outer index level
    ``name`` (for example the published and the equal follow-up of the total outcome side by side).

    Unlike ``pd.concat``, which drops ``attrs`` that differ between its inputs, the result keeps the
    number of people behind each rate (``attrs["denominators"]``, row by row), so disclosure control
    still hides a rate that stands for 1 to 9 people.
    """
    frame = pd.concat(dict(parts), names=[name])
    denominators: dict[str, list] = {}
    for part in parts.values():
        known = part.attrs.get("denominators")
        if known is None:
            raise ValueError("every part must be an effect table carrying attrs['denominators'] (effect_table)")
        for column, sizes in known.items():
            denominators.setdefault(column, []).extend(sizes)
    frame.attrs["denominators"] = denominators
    return frame


def published_effect_table(which: str = "table_2") -> pd.DataFrame:
    """Published Table 2 (``"table_2"``) or sub-group table (``"subgroups"``) as printed text, in
    :func:`effect_table`'s index and :data:`EFFECT_COLUMNS`."""
    if which == "table_2":
        frame, index = published.table_2(printed=True), ["window", "stage"]
    elif which == "subgroups":
        frame, index = published.subgroup_table(printed=True), ["subgroup", "window", "stage"]
    else:
        raise ValueError(f"which must be 'table_2' or 'subgroups', got {which!r}")
    return frame.set_index(index)[EFFECT_COLUMNS]


def standard_errors(runs: Mapping[object, AnalysisResult], level: float = 0.95) -> pd.DataFrame:
    """The matched effect of each run with psmatch2's SE (as published) and the Abadie–Imbens SE.

    psmatch2 v4.0.12's ATT SE treats the matched controls' weights as fixed and the outcomes as
    homoskedastic within groups (Lechner 2001 approximation); Abadie & Imbens (2006) derive the
    variance of the matching estimator itself. Neither accounts for the estimated score (Abadie &
    Imbens 2016). Bootstrapping is not used: Abadie & Imbens (2008, Econometrica 76(6)) show the
    bootstrap is not valid for nearest-neighbour matching with replacement.
    p and intervals: normal approximation for both (the psmatch2 table prints only t).
    """
    z = stats.norm.ppf(0.5 + level / 2)
    records = []
    for key, result in runs.items():
        keys = {"subgroup": key[0], "window": key[1]} if isinstance(key, tuple) else {"window": key}
        e = result.effect
        d = e.matched.difference
        record = {**keys, "N": result.n_window, "n_treated_matched": int(e.matched.n_treated), "att": d}
        for name, se in (("psmatch2", e.matched.se), ("ai", e.se_ai)):
            t = d / se if se > 0 else np.nan
            record.update({
                f"se_{name}": se, f"t_{name}": t, f"p_{name}": 2 * stats.norm.sf(abs(t)),
                f"ci_low_{name}": d - z * se, f"ci_high_{name}": d + z * se,
            })
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    return frame.set_index([*(["subgroup"] if "subgroup" in frame else []), "window"])


SE_ESTIMATORS: dict[str, Specification] = {
    "nearest (published)": PUBLISHED,
    "teffects psmatch": Specification(method="teffects", common_support=False),
    "kernel": Specification(method="kernel"),
    "radius": Specification(method="radius"),
}
"""The estimators of :func:`se_comparison`: the published nearest-neighbour matching and the
alternatives of ``Specification.method``."""


def se_comparison(files: AnalysisFile | Mapping[str, AnalysisFile], window: str = "total", level: float = 0.95, *,
                  reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """The ATT of ``window`` under each estimator of :data:`SE_ESTIMATORS` with each SE that applies.

    Rows (index ``estimator``, ``se_method``):

    - nearest (published): "psmatch2" (the published SE, Lechner's approximation with the matched
      weights held fixed), "ai2006" (Abadie & Imbens 2006, the matching estimator's own variance) and
      "ai2016" (Abadie & Imbens 2016, adjusted for the estimation of the score; ``vce(robust, nn(2))``);
    - teffects psmatch: "ai2016", Stata's default SE;
    - kernel and radius: "psmatch2" and "bootstrap" (``reps`` replicates from the fixed ``seed``, each
      re-fitting the score; no Abadie–Imbens SE exists for them).

    Columns ``att``, ``se``, ``t``, ``p`` (normal), ``ci_low``, ``ci_high``, ``n_treated_matched`` and
    ``interval_se`` (True for the SE the specification grid's intervals use,
    :func:`psm.newchance.analysis.specification.interval_se`).
    """
    z = stats.norm.ppf(0.5 + level / 2)
    records = []
    for name, spec in SE_ESTIMATORS.items():
        run = run_analysis(files, window, spec=spec, with_balance=False)
        e = run.effect
        chosen, chosen_se = interval_se(run, reps=reps, seed=seed)
        if spec.method == "nearest":
            adjusted = effect(run.sample, run.outcome, run.matching, propensity=run.propensity).se_ai2016
            ses = {"psmatch2": e.matched.se, "ai2006": e.se_ai, "ai2016": adjusted}
        elif spec.method == "teffects":
            ses = {"ai2016": chosen_se}
        else:
            ses = {"psmatch2": e.matched.se, "bootstrap": chosen_se}
        d = e.matched.difference
        for method, se in ses.items():
            t = d / se if se > 0 else np.nan
            records.append({"estimator": name, "se_method": method, "att": d, "se": se, "t": t,
                            "p": 2 * stats.norm.sf(abs(t)), "ci_low": d - z * se, "ci_high": d + z * se,
                            "n_treated_matched": int(e.matched.n_treated), "interval_se": method == chosen})
    return pd.DataFrame.from_records(records).set_index(["estimator", "se_method"])


def interval_ses(se_table: pd.DataFrame) -> dict[Specification, tuple[str, float]]:
    """``{specification: (se_method, se)}`` of the SEs :func:`se_comparison` marked ``interval_se``,
    for :func:`psm.newchance.analysis.grid.specification_grid`'s ``known_se``."""
    chosen = se_table[se_table["interval_se"]]
    return {SE_ESTIMATORS[name]: (method, float(row["se"])) for (name, method), row in chosen.iterrows()}


def audit_layout(runs: Mapping[str, AnalysisResult],
                 subgroup_runs: Mapping[tuple[str, str], AnalysisResult] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Our regenerated Table 2 (+ sub-group table) and balance tables in the layout
    :mod:`psm.newchance.published.audit` checks (``audit.EFFECT_COLUMNS`` / ``audit.BALANCE_COLUMNS``).

    Values stay unrounded floats: the audit prints them with the published precision (2 decimals,
    1 for %bias) before checking, exactly as a table of ours would be printed.
    """
    labels = {key: label for key, (label, _, _) in published.SUBGROUPS.items()}
    effects = []
    for name, group, table in (("Table 2", "All", runs), ("Sub-group", None, subgroup_runs or {})):
        frame = effect_table(table).reset_index()
        for _, r in frame.iterrows():
            effects.append({
                "table": name, "sample": group or labels[r["subgroup"]], "window": published.WINDOW_LABELS[r["window"]],
                "N": int(r["N"]), "row": "Before" if r["stage"] == "before_matching" else "After",
                **{c: r[c] for c in EFFECT_COLUMNS},
            })
    balance = []
    for window, run in runs.items():
        for covariate, r in balance_table(run).iterrows():
            balance.append({"table": BALANCE_TABLE_IDS[window], "window": published.WINDOW_LABELS[window], "N": run.n_window,
                            "covariate": covariate, **r.to_dict()})
    return pd.DataFrame(effects), pd.DataFrame(balance)


"""The published offence-type codes (Other 1, Violent 2, Property 3)."""


def balance_by_category(run: AnalysisResult) -> BalanceTable:
    """The run's balance with offence type as categories (one row per level, the reference Other
    included, as cobalt shows them; pstest's probit leaves Other out) instead of the published 1/2/3 number, with the
    cobalt-style columns (``to_frame(cobalt=True)``) and the Love plot in view."""
    sample = run.sample.assign(offence_type=offence_type_categories(run.sample["offence_type"]))
    covariates = [c for c in run.covariates if not c.endswith("_missing")]
    return balance(sample, covariates, run.matching, factors=["offence_type"], categorical="dummies",
                   labels={c: COVARIATE_LABELS.get(c, c) for c in covariates})
