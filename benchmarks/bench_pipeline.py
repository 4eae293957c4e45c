"""Benchmark: the whole ``psm.psmatch2`` job against numpy baselines timed in the same run.

    PYTHONPATH=src python benchmarks/bench_pipeline.py                          # 1,000,000 rows, 9 covariates
    PYTHONPATH=src python benchmarks/bench_pipeline.py --rows 10000000 --repeat 1
    PYTHONPATH=src python benchmarks/bench_pipeline.py --dowhy                  # also DoWhy, if installed

Data: :func:`baselines.offender_like` (9 offender-like covariates, probit treatment). Rows, each the best
of ``--repeat`` runs:

* the numpy measuring stick (:func:`baselines.numpy_probit` on a ready design matrix) and
  ``psm.fit_propensity`` (probit; from the data frame, with its design checks) -- target <= 1.5x the stick;
* ``psm.match`` (1:1 with replacement, psmatch2's defaults) and ``psm.effect`` (ATT with psmatch2's and the
  Abadie-Imbens SE);
* the whole job ``psm.psmatch2`` and the numpy floor pipeline (:func:`baselines.floor_pipeline`) -- target
  <= 1.3x the floor; with ``--dowhy`` DoWhy's propensity-score matching of the same ATT -- target >= 10x
  slower than psm;
* peak memory of the whole job: the most memory it holds at once beyond its input (tracemalloc, in a
  separate untimed run), against the size of its design matrix (n x p float64) -- target < 3x.
"""

from __future__ import annotations

import argparse
import sys
import gc
import tracemalloc

import numpy as np

import psm
from baselines import (
    best_time,
    covariate_names,
    design_matrix,
    floor_pipeline,
    numpy_probit,
    offender_like,
)


def peak_gb(fn) -> float:
    """Peak memory allocated while ``fn()`` runs, above what was allocated before (tracemalloc, which
    numpy reports its arrays to)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1024**3
    finally:
        tracemalloc.stop()


def dowhy_att(data, covariates: list[str]) -> float:
    """DoWhy's propensity-score matching estimate of the ATT (its default logistic score model)."""
    from dowhy import CausalModel

    model = CausalModel(data=data, treatment="treated", outcome="reoffended", common_causes=covariates)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    return model.estimate_effect(
        estimand, method_name="backdoor.propensity_score_matching", target_units="att"
    ).value


def run(rows: int, covariates: int, repeat: int, dowhy: bool) -> list[tuple[str, float, str]]:
    data = offender_like(rows, covariates)
    data["treated"] = data["treated"].astype(bool)  # DoWhy wants a boolean treatment; psm takes either
    names = covariate_names(data)
    design_gb = rows * (len(names) + 1) * 8 / 1024**3
    memory = peak_gb(lambda: psm.psmatch2(data, "treated", names, "reoffended"))

    x, t = design_matrix(data, names), data["treated"].to_numpy(dtype=float)
    stick, b_stick = best_time(lambda: numpy_probit(x, t), repeat)
    del x
    fit, pm = best_time(lambda: psm.fit_propensity(data, "treated", names), repeat)
    assert np.allclose(pm.params.to_numpy(), b_stick, rtol=0, atol=1e-8), "the stick and psm disagree"
    matching, m = best_time(lambda: psm.match(data, "treated", pm.score), repeat)
    effect, _ = best_time(lambda: psm.effect(data, "reoffended", m), repeat)
    job, result = best_time(lambda: psm.psmatch2(data, "treated", names, "reoffended"), repeat)
    floor, att_floor = best_time(lambda: floor_pipeline(data, names), repeat)
    out = [
        ("numpy IRLS measuring stick (probit)", stick, "1.00x"),
        ("psm.fit_propensity (probit)", fit, f"{fit / stick:.2f}x the stick (target <= 1.5)"),
        ("psm.match (1:1, replacement)", matching, ""),
        ("psm.effect (psmatch2 SE + Abadie-Imbens SE)", effect, ""),
        ("numpy floor pipeline (IRLS + argsort match + ATT)", floor, "1.00x"),
        ("psm.psmatch2 (whole job)", job, f"{job / floor:.2f}x the floor (target <= 1.3)"),
    ]
    if dowhy:
        seconds, att = best_time(lambda: dowhy_att(data, names), 1)
        note = f"psm {seconds / job:.1f}x faster (target >= 10)"
        out.append(("DoWhy propensity_score_matching (ATT)", seconds, note))
        print(f"ATT: psm {result.effect.matched.difference:.5f}, DoWhy {att:.5f}")
    out.append(
        ("peak memory of the whole job (GB)", memory,
         f"{memory / design_gb:.2f}x its {design_gb:.2f} GB design matrix (target < 3)")
    )
    print(f"ATT: psm {result.effect.matched.difference:.5f} (SE {result.effect.matched.se:.5f}, "
          f"AI {result.effect.se_ai:.5f}); floor {att_floor:.5f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--covariates", type=int, default=9, help="9 offender-like, then extra ones")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    parser.add_argument("--dowhy", action="store_true", help="also time DoWhy (needs `pip install dowhy`)")
    args = parser.parse_args()
    rows = run(args.rows, args.covariates, args.repeat, args.dowhy)
    width = max(len(r[0]) for r in rows)
    print(f"\n{args.rows:,} rows, {args.covariates} covariates, best of {args.repeat}")
    print("command: PYTHONPATH=src python " + " ".join(sys.argv))
    print(f"{'benchmark':<{width}}  {'seconds':>8}  ratio")
    for label, seconds, note in rows:
        print(f"{label:<{width}}  {seconds:8.2f}  {note}")


if __name__ == "__main__":
    main()
