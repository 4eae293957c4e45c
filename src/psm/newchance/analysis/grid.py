"""The specification grid: how the total-reoffending ATT moves with each analysis choice.

Every combination of the choices a reviewer may question (``Specification`` fields):

- link: probit (published) vs logit;
- offence type: the number 1/2/3 (published) vs categories;
- k = 1 (published), 2, 5 nearest neighbours;
- no caliper (published) vs a caliper of 0.2 SD of the logit score (Austin 2011);
- with (published) vs without replacement — psmatch2's ``noreplacement`` is 1:1 only, so k > 1 is
  run with replacement only;
- published follow-up vs equal follow-up per matched pair (the recommended construction) for the
  "total" outcome;
- complete cases (published) vs missing-data indicators;
- Violent before Property (published reading) vs the last matching category winning, for offence
  descriptions that match both (the offence type covariate).

Those 256 specifications are a full factorial. The matching estimator (``Specification.method``) is
varied one at a time against the published specification instead (:data:`METHOD_VARIANTS`): kernel
and radius matching (psmatch2 ``kernel`` / ``radius``, bandwidth 0.06) and Stata's ``teffects
psmatch`` (ties kept, no trimming, SE adjusted for the estimated score) — 3 more rows, 259 in all.
Kernel and radius SEs are bootstrapped (200 replicates, each re-fitting the score), about 3 s per row
on the New Chance sample; crossing them with the 256 would add well over a minute to the report for
choices the factorial already shows to move the ATT little.

Each cell reports the ATT with the SE valid for its estimator
(:func:`psm.newchance.analysis.specification.interval_se`: Abadie–Imbens 2006 for nearest
neighbours, Abadie–Imbens 2016 for ``teffects``, the seeded bootstrap for kernel and radius) and its
95% interval (and psmatch2's SE for reference). :func:`forest_figure` draws them as a specification curve: the intervals sorted by ATT
above a labelled grid of the choices each specification makes, the published one highlighted.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from psm.plots import style
from psm.newchance.analysis.specification import (
    BOOTSTRAP_REPS,
    BOOTSTRAP_SEED,
    PUBLISHED,
    Specification,
    interval_se,
    run_analysis,
)
from psm.newchance.preparation.prepare import AnalysisFile

CHOICES: dict[str, tuple] = {
    "link": ("probit", "logit"),
    "offence_type": ("numeric", "categories"),
    "k": (1, 2, 5),
    "caliper_sd": (None, 0.2),
    "replace": (True, False),
    "follow_up": ("published", "pair"),
    "missing": ("complete_cases", "indicators"),
    "crime_precedence": ("violent_first", "last_wins"),
}
"""The choices crossed in the full factorial (published value first)."""

METHOD_VARIANTS: tuple[Specification, ...] = (
    Specification(method="kernel"),
    Specification(method="radius"),
    Specification(method="teffects", common_support=False),
)
"""The matching estimators, each varied alone against the published specification."""


def specifications() -> list[Specification]:
    """Every valid combination of :data:`CHOICES`, the published one first, then :data:`METHOD_VARIANTS`."""
    specs = []
    for values in itertools.product(*CHOICES.values()):
        spec = Specification(**dict(zip(CHOICES, values)))
        if spec.replace or spec.k == 1:
            specs.append(spec)
    specs.sort(key=lambda s: s != PUBLISHED)
    return specs + list(METHOD_VARIANTS)


def specification_grid(files: AnalysisFile | Mapping[str, AnalysisFile], window: str = "total", level: float = 0.95,
                       *, collapse: bool = True, reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED,
                       known_se: Mapping[Specification, tuple[str, float]] | None = None) -> pd.DataFrame:
    """Run every specification on ``window`` and tabulate the ATT, one row per distinct analysis.

    ``files``: the mapping of :func:`psm.newchance.analysis.specification.load_files` (the other
    crime-type precedence needs its own prepared file).
    Columns: the choices and ``method``, ``published`` (bool), ``n_treated_matched``, ``n_treated_off_support``,
    ``treated`` and ``control`` (the outcome's rate among the matched treated and their weighted controls:
    ``att`` is their difference; ``attrs["denominators"]`` gives the people behind them, as
    :func:`~psm.newchance.analysis.tables.effect_table` does, for disclosure control),
    ``n_treated_eligible`` (treated of the estimation sample within common support),
    ``all_treated`` (False where the row drops treated women beyond common support — without
    replacement or with a caliper — and so estimates the ATT of a different set of treated women), ``att``,
    ``se`` and ``se_method`` (:func:`~psm.newchance.analysis.specification.interval_se`: "ai2006",
    "ai2016" or "bootstrap", ``reps`` replicates from ``seed``), ``ci_low``, ``ci_high`` and ``p``
    (normal, from ``se``), ``se_ai`` (Abadie–Imbens 2006, NaN for kernel and radius), ``se_psmatch2``, ``changes``, and ``specifications`` / ``same_as``: with
    ``collapse=True`` rows whose matched sample and outcome are identical (for example missing
    indicators when no covariate is missing, or a caliper that never binds) are one analysis, kept
    once (the first in :func:`specifications` order) with the number of specifications it stands for
    and the ``changes`` of the others. ``frame.attrs["collapsed"]`` says how many rows were merged.

    ``known_se``: ``(se_method, se)`` already computed for some specifications on the same files,
    ``window``, ``reps`` and ``seed`` (:func:`psm.newchance.analysis.tables.interval_ses` of
    :func:`~psm.newchance.analysis.tables.se_comparison`), used instead of computing them again: the
    bootstraps of the kernel and radius rows are the grid's costliest cells.
    """
    z = stats.norm.ppf(0.5 + level / 2)
    records = []
    for spec in specifications():
        run = run_analysis(files, window, spec=spec, with_balance=False)
        e = run.effect
        d = e.matched.difference
        se_method, se = (known_se or {}).get(spec) or interval_se(run, reps=reps, seed=seed)
        n_eligible = int((run.matching.treated & run.matching.within_common_support).sum())
        links = run.matching.pairs[["treated", "control", "weight"]] if hasattr(run.matching, "pairs") else run.matching.weights
        records.append({
            **{name: getattr(spec, name) for name in (*CHOICES, "method")},
            "published": spec == PUBLISHED,
            "n_treated_matched": int(e.matched.n_treated),
            "n_treated_off_support": run.n_treated_off_support,
            "n_treated_eligible": n_eligible,
            "all_treated": int(e.matched.n_treated) == n_eligible,
            "treated": e.matched.treated,
            "control": e.matched.control,
            "att": d,
            "se": se,
            "se_method": se_method,
            "ci_low": d - z * se,
            "ci_high": d + z * se,
            "p": 2 * stats.norm.sf(abs(d / se)) if se > 0 else np.nan,
            "se_ai": e.se_ai,
            "se_psmatch2": e.matched.se,
            "changes": spec.changes(),
            "_key": (spec.method, pd.util.hash_pandas_object(links, index=False).sum(), round(d, 12), round(se, 12)),
        })
    frame = pd.DataFrame.from_records(records)
    frame["caliper_sd"] = frame["caliper_sd"].astype(object).where(frame["caliper_sd"].notna(), "none")
    groups = frame.groupby("_key", sort=False)
    frame["specifications"] = groups["changes"].transform("size")
    frame["same_as"] = groups["changes"].transform(lambda c: "; ".join(f"[{x}]" for x in c.iloc[1:]))
    n_rows = len(frame)
    if collapse:
        frame = frame[~frame["_key"].duplicated()].reset_index(drop=True)
    frame = frame.drop(columns="_key")
    frame.attrs["collapsed"] = n_rows - len(frame)
    # the people behind each rate, as in the effect tables: the matched treated (and the controls weighted to them)
    matched = frame["n_treated_matched"].tolist()
    frame.attrs["denominators"] = {"treated": matched, "control": matched}
    return frame


def collapse_note(grid: pd.DataFrame) -> str:
    """A sentence for the report on how many specifications the grid shows and merged."""
    total = int(grid["specifications"].sum())
    dropped = int((~grid["all_treated"]).sum())
    methods = ", ".join(spec.method for spec in METHOD_VARIANTS)
    return (f"{total} specifications give {len(grid)} distinct analyses: {total - len(grid)} specifications "
            "yield exactly the same matched sample and estimate as another (listed in `same_as`) and are shown "
            f"once. {total - len(METHOD_VARIANTS)} cross every choice of nearest-neighbour matching; the other "
            f"{len(METHOD_VARIANTS)} ({methods}) change only the matching estimator of the published "
            "specification, one at a time, their intervals from the SE valid for each (`se_method`). "
            f"{dropped} rows drop treated women beyond common support (without replacement or with a "
            "caliper) and so estimate the effect for a different set of treated women (`all_treated` False).")


#: How the estimators read on the figure's "method" rows.
METHOD_NAMES: dict[str, str] = {"kernel": "kernel (Epanechnikov)", "radius": "radius",
                                "teffects": "teffects-style (ties kept, no trimming)"}

#: How the choices read on the figure's rows (``{}``: the choice's value).
CHOICE_LABELS: dict[str, str] = {
    "link": "{} score (not probit)",
    "offence_type": "offence type as {}",
    "k": "{} nearest neighbours",
    "caliper_sd": "caliper {} SD of the logit",
    "replace": "matching without replacement",
    "follow_up": "{} follow-up",
    "missing": "missing data: {}",
    "crime_precedence": "crime type: {} (not Violent first)",
    "method": "{} matching",
}


def choice_rows() -> list[tuple[str, object, str]]:
    """(choice, value, label) for every value of :data:`CHOICES` and of ``method`` other than the published one."""
    values = {**CHOICES, "method": ("nearest", *(spec.method for spec in METHOD_VARIANTS))}
    return [(name, value, CHOICE_LABELS[name].format(METHOD_NAMES.get(value, str(value).replace("_", " "))))
            for name, values in values.items() for value in values[1:]]  # fmt: skip


def _uses(shown: pd.DataFrame, name: str, value) -> np.ndarray:
    """Which rows of the grid make choice ``name = value`` (values as stored or as read from a CSV)."""
    column = shown[name]
    if value is None:
        return (column.isna() | (column.astype(str).str.lower() == "none")).to_numpy()
    return (column.astype(str) == str(value)).to_numpy()


def forest_figure(grid: pd.DataFrame, *, colour_by: str = "follow_up", title: str | None = None) -> Figure:
    """The specification curve: ATT and 95% interval (``se``: Abadie–Imbens, or bootstrap for kernel and
    radius) per specification, sorted by ATT,
    above a labelled grid showing which choices each specification changes from the published one.

    Points are coloured by the choice ``colour_by`` (default: follow-up, the choice that moves the
    total-reoffending ATT most); the published specification is a larger diamond and a shaded column.
    """
    shown = grid.sort_values("att", kind="stable").reset_index(drop=True)
    x = np.arange(len(shown))
    rows = choice_rows()
    palette = [style.SKY, style.VERMILLION, style.PURPLE, style.GREY]
    published_x = x[shown["published"].to_numpy(dtype=bool)]
    with style.styled():
        fig = Figure(figsize=(10.0, 6.4), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        for colour, (value, part) in zip(palette, shown.groupby(colour_by, sort=False)):
            att = part["att"].to_numpy()
            top.errorbar(x[part.index], att, yerr=[att - part["ci_low"].to_numpy(), part["ci_high"].to_numpy() - att],
                         fmt="o", markersize=3, color=colour, elinewidth=0.6,
                         label=f"{colour_by.replace('_', ' ')}: {value}")
        pub = shown[shown["published"]]
        att = pub["att"].to_numpy()
        top.errorbar(published_x, att, yerr=[att - pub["ci_low"].to_numpy(), pub["ci_high"].to_numpy() - att],
                     fmt="D", markersize=7, color=style.MATCHED, elinewidth=1.8, label="published specification", zorder=5)
        top.axhline(0, color=style.GREY, linewidth=1)
        top.set_ylabel("ATT (proportion reoffending;\n95% interval, SE of its estimator)")
        top.set_title(title or f"Specification grid: ATT on total reoffending, {len(shown)} distinct analyses")
        top.legend(loc="lower right", fontsize=8)
        for i, (name, value, text) in enumerate(rows):
            used = _uses(shown, name, value)
            bottom.scatter(x[used], np.full(used.sum(), i), marker="s", s=9, color=style.GREY)
        for ax in (top, bottom):
            for px in published_x:
                ax.axvspan(px - 0.5, px + 0.5, color=style.LIGHT_GREY, zorder=0)
        bottom.set_yticks(range(len(rows)), [text for _, _, text in rows], fontsize=8)
        bottom.set_ylim(len(rows) - 0.5, -0.5)
        bottom.set_xlabel("specifications, sorted by ATT (a square: the choice differs from the published one)")
        bottom.set_xlim(-1, len(shown))
    return fig
