"""How the whole job and ``psm.balance`` grow with n: a table and a log-log figure.

    PYTHONPATH=src python benchmarks/scaling.py                       # 1e5 ... 1e7 rows, docs/scaling.png
    PYTHONPATH=src python benchmarks/scaling.py --rows 100000 1000000 --figure /tmp/scaling.png

Each n runs in a fresh process (so its peak memory is its own) on :func:`baselines.offender_like` data
(9 covariates): the numpy floor pipeline, ``psm.psmatch2`` (fit, 1:1 match, ATT with both SEs) and
``psm.balance`` of its matching, best of two runs below 2,000,000 rows and one run above. The process's
peak resident memory (data, job and balance together, read before the floor pipeline runs) grows
linearly in n; its slope between the two
largest n gives the bytes per row, from which the largest n that fits in the machine's memory follows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

DEFAULT_ROWS = (100_000, 300_000, 1_000_000, 3_000_000, 10_000_000)


def measure(rows: int) -> dict:
    """One n, in this process: seconds of each stage and the peak resident memory."""
    import psm
    from baselines import best_time, covariate_names, floor_pipeline, offender_like, peak_rss_gb

    repeat = 2 if rows < 2_000_000 else 1
    data = offender_like(rows)
    names = covariate_names(data)
    job, result = best_time(lambda: psm.psmatch2(data, "treated", names, "reoffended"), repeat)
    balance, _ = best_time(lambda: psm.balance(data, names, result.matching), repeat)
    peak = peak_rss_gb()  # before the floor pipeline, whose own n x k temporaries would count otherwise
    floor, _ = best_time(lambda: floor_pipeline(data, names), repeat)
    return {"rows": rows, "job": job, "balance": balance, "floor": floor, "peak_gb": peak}


def figure(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["rows"] for r in results]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label, style in (
        ("job", "psm.psmatch2 (whole job)", "o-"),
        ("balance", "psm.balance (pstest)", "s-"),
        ("floor", "numpy floor pipeline", "^--"),
    ):
        ax.loglog(n, [r[key] for r in results], style, label=label)
    ax.loglog(n, [results[0]["job"] * m / n[0] for m in n], ":", color="grey", label="linear in n")
    ax.set_xlabel("rows (n)")
    ax.set_ylabel("seconds (2-core machine)")
    ax.set_title("Cost against n, 9 covariates")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    parser.add_argument("--figure", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "scaling.png")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one n and print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    results = []
    for rows in args.rows:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(rows)], check=True, capture_output=True, text=True,
            env=os.environ,
        )
        results.append(json.loads(out.stdout.splitlines()[-1]))
        r = results[-1]
        print(f"{rows:>12,} rows  job {r['job']:7.2f} s  balance {r['balance']:7.2f} s  "
              f"floor {r['floor']:7.2f} s  peak {r['peak_gb']:5.2f} GB", flush=True)
    print("\ncommand: PYTHONPATH=src python " + " ".join(sys.argv))
    print("\n| rows | whole job (s) | balance (s) | numpy floor (s) | job / floor | peak memory (GB) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['rows']:,} | {r['job']:.2f} | {r['balance']:.2f} | {r['floor']:.2f} | "
              f"{r['job'] / r['floor']:.2f} | {r['peak_gb']:.2f} |")
    if len(results) > 1:
        small, large = results[-2], results[-1]
        per_row = (large["peak_gb"] - small["peak_gb"]) * 1024**3 / (large["rows"] - small["rows"])
        base = large["peak_gb"] * 1024**3 - per_row * large["rows"]
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        print(f"\n{per_row:.0f} bytes per extra row (between the two largest n), {base / 1024**3:.2f} GB fixed: "
              f"about {(total - base) / per_row / 1e6:.0f} million rows fit in this machine's "
              f"{total / 1024**3:.0f} GB (data, job and balance together)")
    figure(results, args.figure)
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
