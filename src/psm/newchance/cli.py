"""Command line: ``python -m psm.newchance {validate,synthesize,report} ...``.

Each verb is a thin driver over a library function; it prints a readable
report and returns an exit code (0 = success). Errors in supplied data are
reported without a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m psm.newchance",
        description="Reproduce the New Chance evaluation (University of Birmingham, 2020).",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="folder with dataset.yaml and the data files")
    common.add_argument("--mapping", type=Path, default=None, metavar="FILE", help="YAML mapping of column names and codes (overrides dataset.yaml)")
    common.add_argument("--extract-date", type=_date, default=None, metavar="YYYY-MM-DD", help="data cut-off date (overrides dataset.yaml)")

    verbs.add_parser("validate", parents=[common], help="check supplied data and print the flow table")

    synth = verbs.add_parser("synthesize", help="write the synthetic data set")
    synth.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write (created if absent)")
    synth.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default: the seed of data/synthetic)")

    report = verbs.add_parser("report", parents=[common], help="run the notebooks headless and write the report")
    report.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR", help="output folder (default: reports)")
    report.add_argument("--seed", type=int, default=20200710, metavar="N", help="seed for every random choice (default: 20200710)")
    report.add_argument("--min-count", type=int, default=10, metavar="N", help="suppress descriptive counts below N for supplied data (default: 10)")
    report.add_argument("--jobs", type=int, default=2, metavar="N", help="notebooks run at the same time (default: 2)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verb == "validate":
        from psm.newchance.validation import run_validate_command

        return run_validate_command(args.data_dir, mapping=args.mapping, extract_date=args.extract_date, out=sys.stdout)
    if args.verb == "synthesize":
        from psm.newchance.synthetic import run_synthesize_command

        return run_synthesize_command(args.out, seed=args.seed, out=sys.stdout)
    if args.verb == "report":
        from psm.newchance.report import run_report_command

        return run_report_command(
            args.data_dir,
            out_dir=args.out,
            mapping=args.mapping,
            extract_date=args.extract_date,
            seed=args.seed,
            min_count=args.min_count,
            jobs=args.jobs,
            out=sys.stdout,
        )
    raise AssertionError(args.verb)  # argparse rejects unknown verbs
