"""Benchmark: ``psm.balance`` (Stata pstest) against the match it describes, timed in the same run.

    PYTHONPATH=src python benchmarks/bench_balance.py                           # 1,000,000 rows, 9 covariates
    PYTHONPATH=src python benchmarks/bench_balance.py --covariates 50
    PYTHONPATH=src python benchmarks/bench_balance.py --rows 10000000 --repeat 1

Data: :func:`baselines.offender_like`. Rows, each the best of ``--repeat`` runs, the two alternated so
that both see the same load: the whole job ``psm.psmatch2`` (fit, 1:1 match, ATT with both SEs), then
``psm.balance`` of its matching (pstest's table, the cobalt statistics and the two probit refits) --
target: under the whole job's time at 1M x 9 and under 20 s at 1M x 50 -- with the median and range of
the run-by-run ratios, and ``balance``'s peak extra memory (target at 10M: under 3 GB).
"""

from __future__ import annotations

import argparse
import functools
import sys

import numpy as np
from baselines import best_time, covariate_names, offender_like
from bench_pipeline import peak_gb

import psm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--covariates", type=int, default=9, help="9 offender-like, then extra ones")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    args = parser.parse_args()

    data = offender_like(args.rows, args.covariates)
    names = covariate_names(data)
    jobs, balances = [], []
    for _ in range(args.repeat):  # alternated, so that both see the same load
        job, result = best_time(lambda: psm.psmatch2(data, "treated", names, "reoffended"))
        seconds, _ = best_time(functools.partial(psm.balance, data, names, result.matching))
        jobs.append(job)
        balances.append(seconds)
    job, seconds = min(jobs), min(balances)
    ratios = sorted(b / j for b, j in zip(balances, jobs))
    memory = peak_gb(lambda: psm.balance(data, names, result.matching))
    rows = [
        ("psm.psmatch2 (whole job)", job, "1.00x"),
        ("psm.balance (pstest + cobalt statistics)", seconds, f"{seconds / job:.2f}x the whole job"),
        ("  balance / job, run by run (median)", float(np.median(ratios)),
         "x; range " + " ".join(f"{r:.2f}" for r in ratios)),
        ("peak memory of psm.balance (GB)", memory, "tracemalloc, beyond its input"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{args.rows:,} rows, {args.covariates} covariates, best of {args.repeat}")
    print("command: PYTHONPATH=src python " + " ".join(sys.argv))
    print(f"{'benchmark':<{width}}  {'seconds':>8}  ratio")
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:8.2f}  {note}")


if __name__ == "__main__":
    main()
