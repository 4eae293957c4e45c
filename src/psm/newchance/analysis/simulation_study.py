"""Simulation study: how each outcome construction performs against the simulated truth.

For every seed, :func:`psm.newchance.synthetic.write_synthetic` regenerates the structural
synthetic data (the same generator as ``data/synthetic``, another realisation), the files go
through the ordinary path (validation, preparation, the published specification of matching), and
each estimator of :data:`ESTIMATORS` is compared with the truth of the generator
(:func:`psm.newchance.synthetic.true_effects`, each treated woman's own probabilities with and
without the programme, no sampling noise):

* ``total (published)`` — the evaluation's construction: the comparison women's whole records;
* ``total (median cut)`` — comparison records cut at the treated group's median follow-up;
* ``total (per pair)`` — each link read on its treated woman's follow-up
  (:mod:`psm.newchance.analysis.pairs`), the recommended construction;
* ``30d`` … ``12m`` — the fixed windows (both groups followed for the window).

Per seed and estimator (:func:`seed_rows`): the estimate, psmatch2's and the Abadie–Imbens SE,
``truth`` (over all treated eligible for the window), ``truth_sample`` (over the treated in the
estimate: complete covariates, on common support) and ``imbalance`` — the part of the estimate
due to residual covariate imbalance between each treated woman and her matched controls, computed
from the generator's untreated probabilities F0:

    imbalance = mean_i Σ_j w_ij [F0(h_ij | x_i) − F0(h_ij | x_j)],

h_ij being the horizon at which link (i, j) is read (the window; the treated woman's follow-up for
the per-pair construction; the control's own follow-up, or the median, for the other two). The
estimate's expectation is ``truth_sample + imbalance`` (+ the construction bias of the published
and median-cut "total"), so ``imbalance`` says how much of an estimator's bias is matching's.

:func:`summarise` gives, per estimator over the seeds: bias (mean of estimate − truth) with its
Monte-Carlo SE, SD, RMSE, the mean of each SE, and the coverage of the 95% normal intervals.
The study is deterministic from its seeds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from psm.newchance.analysis.specification import PUBLISHED, AnalysisResult, Specification, load_files, run_analysis
from psm.newchance.preparation.outcomes import WINDOWS
from psm.newchance.synthetic import reoffence_probability, true_effects, write_synthetic
from psm.newchance.synthetic.design import WINDOW_LIMIT_DAYS

ESTIMATORS: dict[str, tuple[str, Specification]] = {
    "total (published)": ("total", PUBLISHED),
    "total (median cut)": ("total", Specification(follow_up="median")),
    "total (per pair)": ("total", Specification(follow_up="pair")),
    **{w: (w, PUBLISHED) for w in WINDOWS if w != "total"},
}
"""Estimator name -> (window, specification)."""

RECOMMENDED: tuple[str, ...] = ("total (per pair)", *(w for w in WINDOWS if w != "total"))
"""The report's recommended estimators: per-pair follow-up for "total", and every fixed window."""

LEVEL = 0.95
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
"""Where the committed results live (package data: the report reads them, never reruns the study)."""
RUNS_FILE = "simulation_runs.csv"
SUMMARY_FILE = "simulation_summary.csv"


def _imbalance(run: AnalysisResult, name: str, people: pd.DataFrame, model, window_days: dict[str, float]) -> float:
    """mean_i Σ_j w_ij [F0(h_ij | x_i) − F0(h_ij | x_j)] over the run's ATT links."""
    pairs = run.matching.pairs[run.matching.pairs["direction"] == "ATT"]
    treated, control = pairs["treated"].to_numpy(), pairs["control"].to_numpy()
    if name == "total (per pair)":
        horizon = run.sample.loc[treated, "follow_up_days"].to_numpy(dtype=float)
    elif name == "total (published)":
        horizon = run.sample.loc[control, "follow_up_days"].to_numpy(dtype=float)
    elif name == "total (median cut)":
        treated_follow_up = run.sample.loc[run.sample["treated"] == 1, "follow_up_days"]
        horizon = np.full(len(pairs), float(treated_follow_up.median()))
    else:
        horizon = np.full(len(pairs), window_days[run.window])
    eta_t = people.loc[treated, "eta0"].to_numpy(dtype=float)
    eta_c = people.loc[control, "eta0"].to_numpy(dtype=float)
    gap = reoffence_probability(eta_t, 0.0, 0.0, horizon, model) - reoffence_probability(eta_c, 0.0, 0.0, horizon, model)
    return float(np.sum(pairs["weight"].to_numpy() * gap) / pairs["treated"].nunique())


def _truth_sample(run: AnalysisResult, people: pd.DataFrame, model, window_days: dict[str, float]) -> float:
    """The true ATT over the treated in the estimate (on support, complete covariates)."""
    m = run.matching
    ids = m.treated.index[m.treated.to_numpy(dtype=bool) & m.on_support.to_numpy(dtype=bool)]
    who = people.loc[ids]
    horizon = who["follow_up_days"].to_numpy(dtype=float) if run.window == "total" else window_days[run.window]
    eta0, tau, late = (who[c].to_numpy(dtype=float) for c in ("eta0", "tau", "tau_late"))
    return float(np.mean(reoffence_probability(eta0, tau, late, horizon, model)
                         - reoffence_probability(eta0, 0.0, 0.0, horizon, model)))


def seed_rows(seed: int, workdir: Path | None = None) -> pd.DataFrame:
    """One seed of the study: a row per estimator (columns in the module docstring)."""
    window_days = dict(zip((w for w in WINDOWS if w != "total"), map(float, WINDOW_LIMIT_DAYS), strict=True))
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        data = write_synthetic(Path(folder), seed)
        files = load_files(folder)
    truth = true_effects(data)
    people = data.people[data.people["analysed"]].set_index("person_id")
    rows = []
    for name, (window, spec) in ESTIMATORS.items():
        run = run_analysis(files, window, spec=spec, with_balance=False)
        e = run.effect
        w = run.matching.weights[run.matching.weights > 0]
        rows.append({
            "seed": seed, "estimator": name, "window": window,
            "truth": float(truth.loc[window, "att"]),
            "truth_sample": _truth_sample(run, people, data.model, window_days),
            "estimate": e.matched.difference, "se_psmatch2": e.matched.se, "se_ai": e.se_ai,
            "imbalance": _imbalance(run, name, people, data.model, window_days),
            "n_treated": int(e.matched.n_treated), "n_controls": int(e.matched.n_control),
            "effective_controls": float(w[~run.matching.treated[w.index]].sum() ** 2
                                        / (w[~run.matching.treated[w.index]] ** 2).sum()),
        })
    return pd.DataFrame(rows)


def run_study(seeds: Iterable[int], *, done: pd.DataFrame | None = None,
              progress: Callable[[str], None] | None = None,
              checkpoint: Callable[[pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """:func:`seed_rows` over ``seeds`` (those already in ``done`` are skipped), concatenated.

    ``checkpoint`` receives the rows so far after every seed (to write them to disk).
    """
    seeds = list(seeds)
    parts = [] if done is None or done.empty else [done]
    have = set() if done is None or done.empty else set(done["seed"])
    for count, seed in enumerate(seeds, 1):
        if seed in have:
            continue
        parts.append(seed_rows(seed))
        frame = pd.concat(parts, ignore_index=True)
        if checkpoint is not None:
            checkpoint(frame)
        if progress is not None:
            progress(f"seed {seed} done ({count}/{len(seeds)})")
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def summarise(rows: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Per estimator, over the seeds: ``seeds``, ``truth`` (mean), ``bias`` and ``bias_mcse``
    (its Monte-Carlo SE, SD/√seeds), ``sd``, ``rmse``, ``mean_se_psmatch2``, ``mean_se_ai``,
    ``coverage_psmatch2`` and ``coverage_ai`` (share of seeds whose normal ``level`` interval
    covers the truth), ``bias_vs_sample_truth`` and ``mean_imbalance``; ``recommended`` marks
    :data:`RECOMMENDED`. Rows in the order of :data:`ESTIMATORS`."""
    z = stats.norm.ppf(0.5 + level / 2)
    out = {}
    for name, g in rows.groupby("estimator", sort=False):
        error = g["estimate"] - g["truth"]
        out[name] = {
            "seeds": len(g),
            "truth": g["truth"].mean(),
            "bias": error.mean(),
            "bias_mcse": g["estimate"].std(ddof=1) / np.sqrt(len(g)),
            "sd": g["estimate"].std(ddof=1),
            "rmse": float(np.sqrt((error**2).mean())),
            "mean_se_psmatch2": g["se_psmatch2"].mean(),
            "mean_se_ai": g["se_ai"].mean(),
            "coverage_psmatch2": float((error.abs() <= z * g["se_psmatch2"]).mean()),
            "coverage_ai": float((error.abs() <= z * g["se_ai"]).mean()),
            "bias_vs_sample_truth": (g["estimate"] - g["truth_sample"]).mean(),
            "mean_imbalance": g["imbalance"].mean(),
            "recommended": name in RECOMMENDED,
        }
    table = pd.DataFrame.from_dict(out, orient="index")
    table = table.reindex([n for n in ESTIMATORS if n in table.index])
    table.index.name = "estimator"
    return table


def load_summary(folder: Path | None = None) -> pd.DataFrame:
    """The committed summary (``python -m psm.newchance simulate`` writes it)."""
    return pd.read_csv(Path(folder or DATA_DIR) / SUMMARY_FILE, index_col="estimator")


_SHOWN = {"seeds": "seeds", "truth": "true ATT", "bias": "bias", "bias_mcse": "MC SE of bias", "sd": "SD",
          "rmse": "RMSE", "mean_se_psmatch2": "mean SE psmatch2", "mean_se_ai": "mean SE AI",
          "coverage_psmatch2": "coverage psmatch2", "coverage_ai": "coverage AI"}


def markdown_table(summary: pd.DataFrame) -> str:
    """The summary as a markdown table (3 decimals; coverage in percent; recommended rows marked *)."""
    lines = ["| estimator | " + " | ".join(_SHOWN.values()) + " |", "|---" * (len(_SHOWN) + 1) + "|"]
    for name, row in summary.iterrows():
        cells = []
        for column in _SHOWN:
            value = row[column]
            if column == "seeds":
                cells.append(f"{int(value)}")
            elif column.startswith("coverage"):
                cells.append(f"{100 * value:.1f}%")
            else:
                cells.append(f"{value:+.3f}" if column == "bias" else f"{value:.3f}")
        mark = " *" if row["recommended"] else ""
        lines.append(f"| {name}{mark} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
