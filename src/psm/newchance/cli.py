"""Command line: ``python -m psm.newchance {validate,synthesize,report,simulate,strip} ...``.

Every command's handler is here, each a thin driver over a library function: it prints a readable
report and returns an exit code (0 = success). Errors in supplied data are reported without a
traceback. ``report`` treats SIGTERM like Ctrl-C: the run stops, the earlier report is left as it was,
one line says so and the exit code is 130.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO


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

    synth = verbs.add_parser("synthesize", help="write the synthetic data set (default: the reconstruction in data/synthetic)")
    synth.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write (created if absent)")
    synth.add_argument("--structural", action="store_true", help="the structural simulation (known true effect) instead of the reconstruction")
    synth.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the structural simulation (implies --structural)")

    report = verbs.add_parser("report", parents=[common], help="run the notebooks headless and write the report")
    report.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR", help="output folder (default: reports)")
    report.add_argument("--min-count", type=int, default=10, metavar="N", help="suppress descriptive counts below N for supplied data (default: 10)")
    report.add_argument("--jobs", type=int, default=2, metavar="N", help="notebooks run at the same time (default: 2)")

    simulate = verbs.add_parser("simulate", help="run the simulation study of the outcome constructions")
    simulate.add_argument("--seeds", type=int, default=200, metavar="N", help="number of seeds (default: 200)")
    simulate.add_argument("--first-seed", type=int, default=0, metavar="N", help="first seed (default: 0)")
    simulate.add_argument("--out", type=Path, default=None, metavar="DIR",
                          help="folder for simulation_runs.csv and simulation_summary.csv "
                               "(default: the package's data folder, read by the report)")

    strip = verbs.add_parser("strip", help="remove outputs and execution counts from notebooks before committing")
    strip.add_argument("notebooks", nargs="*", type=Path, metavar="NOTEBOOK", help="notebook files (default: the packaged notebooks)")
    return parser


def run_validate(data_dir: Path, *, mapping: Path | None, extract_date: dt.date | None, out: TextIO) -> int:
    """``validate``: 0 and the flow table if the folder is valid, else 1 and the list of problems."""
    from psm.newchance.inputs.dataset import load_dataset
    from psm.newchance.inputs.problems import DataValidationError, warnings
    from psm.newchance.preparation.prepare import prepare

    try:
        dataset = load_dataset(data_dir, mapping=mapping, extract_date=extract_date)
    except DataValidationError as exc:
        print(exc, file=out)
        print("\nThe data are NOT valid; nothing was analysed.", file=out)
        return 1
    analysis = prepare(dataset)
    print(f"{dataset.description} — extract date {dataset.extract_date.isoformat()}", file=out)
    for problem in warnings(dataset.problems):
        print(f"warning: {problem}", file=out)
    print("\nFlow of records (records in, removed by each rule, analysed):", file=out)
    print(analysis.flow_text(), file=out)
    print("\nThe data are valid.", file=out)
    return 0


def run_synthesize(out_dir: Path, *, seed: int | None, out: TextIO, structural: bool = False) -> int:
    """``synthesize``: write the data set and print what was written.

    Default: the reconstruction (``data/synthetic``); ``structural`` or a ``seed``: the structural
    simulation of that seed (default seed if none), whose true effect is known."""
    from psm.newchance.synthetic import EXTRACT_DATE, write_reconstruction, write_synthetic

    if structural or seed is not None:
        data = write_synthetic(out_dir, seed)
        kind = f"structural simulation, seed {data.seed}"
    else:
        data = write_reconstruction(out_dir)
        kind = "reconstruction of the published tables"
    out.write(
        f"Wrote SYNTHETIC New Chance data ({kind}) to {out_dir}:\n"
        f"  referrals.csv          {len(data.referrals):5d} referrals\n"
        f"  police_offences.csv    {len(data.police):5d} offences of "
        f"{data.police['person_id'].nunique()} persons\n"
        f"  dataset.yaml           extract date {EXTRACT_DATE.isoformat()}, synthetic: true\n"
    )
    return 0


def run_report(
    data_dir: Path,
    *,
    out_dir: Path,
    mapping: Path | None,
    extract_date: dt.date | None,
    min_count: int,
    out: TextIO,
    jobs: int = 2,
) -> int:
    """``report``: progress to ``out``; 0 on success, 1 on a data, report or notebook error (printed
    without a traceback)."""
    from psm.errors import PSMError
    from psm.newchance.report.build import build_report
    from psm.newchance.report.runner import NotebookExecutionError

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        build_report(
            data_dir, out_dir, mapping=mapping, extract_date=extract_date,
            min_count=min_count, progress=say, jobs=jobs,
        )  # fmt: skip
    except PSMError as error:  # DataValidationError, ReportError, OutputFolderError, NotebookExecutionError...
        say(f"error: {error}")
        if isinstance(error, NotebookExecutionError) and error.kept is not None:
            say(f"The executed part is in {error.kept}; the earlier report (if any) was left as it was.")
        return 1
    except KeyboardInterrupt:
        say(f"interrupted: no report written; {out_dir} was left as it was.")
        return 130
    return 0


def run_simulate(out_dir: Path | None, *, seeds: int, first_seed: int, out: TextIO) -> int:
    """``simulate``: the simulation study over ``seeds`` seeds from ``first_seed``; per-seed rows are
    written after every seed (a re-run resumes), then the summary, printed as a markdown table."""
    import pandas as pd

    from psm.newchance.analysis import simulation_study as study

    folder = Path(out_dir) if out_dir is not None else study.DATA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    runs_path, summary_path = folder / study.RUNS_FILE, folder / study.SUMMARY_FILE
    wanted = range(first_seed, first_seed + seeds)
    done = pd.read_csv(runs_path) if runs_path.exists() else None
    if done is not None:
        done = done[done["seed"].isin(wanted)]

    def save(frame: pd.DataFrame) -> None:
        frame.to_csv(runs_path, index=False, float_format="%.6g", lineterminator="\n")

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    rows = study.run_study(wanted, done=done, progress=say, checkpoint=save)
    save(rows)
    summary = study.summarise(rows)
    summary.to_csv(summary_path, float_format="%.6g", lineterminator="\n")
    say(f"\nWrote {runs_path} ({rows['seed'].nunique()} seeds) and {summary_path}:\n")
    say(study.markdown_table(summary))
    return 0


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_strip(notebooks: Sequence[Path], *, out: TextIO) -> int:
    """``strip``: remove outputs and execution counts (default: every packaged notebook)."""
    from psm.newchance.report.build import default_notebook_dir
    from psm.newchance.report.runner import strip_file

    paths = list(notebooks) or sorted(default_notebook_dir().glob("*.ipynb"))
    for path in paths:
        print(f"{'stripped' if strip_file(path) else 'clean   '} {path}", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verb == "validate":
        return run_validate(args.data_dir, mapping=args.mapping, extract_date=args.extract_date, out=sys.stdout)
    if args.verb == "synthesize":
        return run_synthesize(args.out, seed=args.seed, out=sys.stdout, structural=args.structural)
    if args.verb == "report":
        previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
        try:
            return run_report(
                args.data_dir,
                out_dir=args.out,
                mapping=args.mapping,
                extract_date=args.extract_date,
                min_count=args.min_count,
                jobs=args.jobs,
                out=sys.stdout,
            )
        finally:
            signal.signal(signal.SIGTERM, previous)
    if args.verb == "simulate":
        return run_simulate(args.out, seeds=args.seeds, first_seed=args.first_seed, out=sys.stdout)
    if args.verb == "strip":
        return run_strip(args.notebooks, out=sys.stdout)
    raise AssertionError(args.verb)  # argparse rejects unknown verbs
