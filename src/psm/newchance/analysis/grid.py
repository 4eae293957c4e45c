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

Each cell reports the ATT with the Abadie–Imbens SE and its 95% interval (and psmatch2's SE for
reference). :func:`forest_figure` draws them, the published specification highlighted.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from psm.plots import style
from psm.newchance.analysis.specification import PUBLISHED, Specification, run_analysis
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


def specifications() -> list[Specification]:
    """Every valid combination of :data:`CHOICES`, the published one first."""
    specs = []
    for values in itertools.product(*CHOICES.values()):
        spec = Specification(**dict(zip(CHOICES, values)))
        if spec.replace or spec.k == 1:
            specs.append(spec)
    specs.sort(key=lambda s: s != PUBLISHED)
    return specs


def specification_grid(files: AnalysisFile | Mapping[str, AnalysisFile], window: str = "total", level: float = 0.95,
                       *, collapse: bool = True) -> pd.DataFrame:
    """Run every specification on ``window`` and tabulate the ATT, one row per distinct analysis.

    ``files``: the mapping of :func:`psm.newchance.analysis.specification.load_files` (the other
    crime-type precedence needs its own prepared file).
    Columns: the choices, ``published`` (bool), ``n_treated_matched``, ``n_treated_off_support``,
    ``n_treated_eligible`` (treated of the estimation sample within common support),
    ``all_treated`` (False where the row drops treated women beyond common support — without
    replacement or with a caliper — and so estimates the ATT of a different set of treated women), ``att``, ``se_ai``, ``ci_low``, ``ci_high`` (AI, normal),
    ``p_ai``, ``se_psmatch2``, ``changes``, and ``specifications`` / ``same_as``: with
    ``collapse=True`` rows whose matched sample and outcome are identical (for example missing
    indicators when no covariate is missing, or a caliper that never binds) are one analysis, kept
    once (the first in :func:`specifications` order) with the number of specifications it stands for
    and the ``changes`` of the others. ``frame.attrs["collapsed"]`` says how many rows were merged.
    """
    z = stats.norm.ppf(0.5 + level / 2)
    records = []
    for spec in specifications():
        run = run_analysis(files, window, spec=spec, with_balance=False)
        e = run.effect
        d, se = e.matched.difference, e.se_ai
        n_eligible = int((run.matching.treated & run.matching.within_common_support).sum())
        pairs = run.matching.pairs[["treated", "control", "weight"]]
        records.append({
            **{name: getattr(spec, name) for name in CHOICES},
            "published": spec == PUBLISHED,
            "n_treated_matched": int(e.matched.n_treated),
            "n_treated_off_support": run.n_treated_off_support,
            "n_treated_eligible": n_eligible,
            "all_treated": int(e.matched.n_treated) == n_eligible,
            "att": d,
            "se_ai": se,
            "ci_low": d - z * se,
            "ci_high": d + z * se,
            "p_ai": 2 * stats.norm.sf(abs(d / se)) if se > 0 else np.nan,
            "se_psmatch2": e.matched.se,
            "changes": spec.changes(),
            "_key": (pd.util.hash_pandas_object(pairs, index=False).sum(), round(d, 12), round(se, 12)),
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
    return frame


def collapse_note(grid: pd.DataFrame) -> str:
    """A sentence for the report on how many specifications the grid shows and merged."""
    total = int(grid["specifications"].sum())
    dropped = int((~grid["all_treated"]).sum())
    return (f"{total} specifications give {len(grid)} distinct analyses: {total - len(grid)} specifications "
            "yield exactly the same matched sample and estimate as another (listed in `same_as`) and are shown "
            f"once. {dropped} rows drop treated women beyond common support (without replacement or with a "
            "caliper) and so estimate the effect for a different set of treated women (`all_treated` False).")


def _interval(rows: pd.DataFrame, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """ATT, row positions and (left, right) error-bar lengths of some grid rows, as arrays."""
    att = rows["att"].to_numpy()
    return att, y[rows.index], [att - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - att]


def forest_figure(grid: pd.DataFrame, *, colour_by: str = "follow_up", title: str | None = None) -> Figure:
    """ATT and 95% interval (Abadie–Imbens) per specification, sorted by ATT.

    Points are coloured by the choice ``colour_by`` (default: follow-up, the choice that moves the
    total-reoffending ATT most); the published specification is a larger diamond.
    """
    shown = grid.sort_values("att").reset_index(drop=True)
    y = np.arange(len(shown))
    palette = [style.SKY, style.ORANGE, style.PURPLE, style.GREY]
    with style.styled():
        fig, (ax,) = style.new_figure(7.0, 1.5 + 0.11 * len(shown))
        for colour, (value, rows) in zip(palette, shown.groupby(colour_by, sort=False)):
            att, ys, err = _interval(rows, y)
            ax.errorbar(att, ys, xerr=err, fmt="o", markersize=2.5, color=colour, elinewidth=0.6,
                        label=f"{colour_by} = {value}")
        att, ys, err = _interval(shown[shown["published"]], y)
        ax.errorbar(att, ys, xerr=err,
                    fmt="D", markersize=6, color=style.MATCHED, elinewidth=1.8, label="published specification",
                    zorder=5)
        ax.axvline(0, color=style.GREY, linewidth=1)
        ax.set_yticks([])
        ax.set_ylabel(f"{len(shown)} specifications, sorted by ATT")
        ax.set_xlabel("ATT on reoffending (proportion; 95% CI from the Abadie–Imbens SE)")
        ax.set_title(title or "Specification grid: ATT on total reoffending")
        ax.legend(loc="lower right")
    return fig
