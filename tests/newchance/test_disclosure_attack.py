"""The disclosure attack: a small supplied data set goes through every notebook of the report, then a
hostile reader tries to recover a count below the threshold from what was published, by each route
of docs/disclosure.md. Every attempt must fail.

The data: the first 60 referrals of ``data/synthetic`` with its police extract, marked
``synthetic: false`` (so the report treats them as supplied). The notebooks' code cells run in this
process (no kernel): every table written, every frame displayed, every figure drawn and every line
printed is collected and attacked.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shutil
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from psm.newchance.analysis import descriptives as d
from psm.newchance.inputs.dataset import load_dataset
from psm.newchance.report.build import find_notebooks

matplotlib.use("Agg")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
K = 10
SMALL = re.compile(r"(?<![\w.<])(?:n|N)\s*(?:=|:)?\s*([1-9])(?![\d.])")


def _supplied_copy(folder: Path, referrals: int = 60) -> Path:
    source = ROOT / "data" / "synthetic"
    folder.mkdir(parents=True)
    frame = pd.read_csv(source / "referrals.csv", dtype=str, keep_default_na=False)
    frame.head(referrals).to_csv(folder / "referrals.csv", index=False)
    shutil.copy(source / "police_offences.csv", folder / "police_offences.csv")
    lines = (source / "dataset.yaml").read_text().splitlines()
    lines = [line.replace("synthetic: true", "synthetic: false") for line in lines if not line.startswith("synthetic_seed")]
    (folder / "dataset.yaml").write_text("\n".join(lines) + "\n")
    return folder


def _run_in_process(path: Path, parameters: dict) -> tuple[list, str]:
    """Execute a notebook's code cells here; return (displayed objects, printed text)."""
    import IPython.display

    shown: list = []
    namespace: dict = {"display": shown.append, "__name__": "__main__"}
    printed = io.StringIO()
    original = IPython.display.display
    IPython.display.display = shown.append
    try:
        with contextlib.redirect_stdout(printed):
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type != "code":
                    continue
                code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
                if "parameters" in cell.metadata.get("tags", []):
                    exec(code, namespace)  # noqa: S102 (the project's own notebooks)
                    namespace.update(parameters)
                    continue
                tree = ast.parse(code)
                last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                exec(compile(tree, path.name, "exec"), namespace)  # noqa: S102
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), path.name, "eval"), namespace)  # noqa: S307
                    if value is not None:
                        shown.append(value)
    finally:
        IPython.display.display = original
    return shown, printed.getvalue()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("attack")
    data = _supplied_copy(base / "data")
    out = base / "out"
    out.mkdir()
    shown, printed = {}, {}
    for path in find_notebooks():
        parameters = {"data_dir": str(data), "mapping": None, "extract_date": None, "seed": 1, "min_count": K,
                      "out_dir": str(out), "notebook_name": path.stem}
        shown[path.stem], printed[path.stem] = _run_in_process(path, parameters)
    truth = d.referral_population(load_dataset(data))
    return out, shown, printed, truth


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {p.relative_to(out / "tables").with_suffix("").as_posix(): pd.read_csv(p, dtype=str, keep_default_na=False)
            for p in sorted((out / "tables").rglob("*.csv"))}


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _hidden(value: str) -> bool:
    return value == f"<{K}"


def _small(value: float | None) -> bool:
    return value is not None and 1 <= value < K and float(value).is_integer()


#: The attacker's own list of columns that count people (not the implementation's).
PEOPLE = re.compile(r"^(count|n|n_0|n_1|N|missing|reoffended(_0|_1)?|removed|remaining|units|treatment|comparison|"
                    r".*off support.*|n_treated_off_support|treated matched|n_treated_matched|.*distinct controls.*|"
                    r"dropped.*|estimation sample|N \(eligible\)|n_estimation|excluded_rows|events|observed .*)$")


# -- route 1: small numbers shown directly --------------------------------------------------------


def test_no_count_of_people_below_the_threshold_is_printed_in_any_table(report):
    out, *_ = report
    found = []
    for name, table in _tables(out).items():
        for column in table.columns:
            if PEOPLE.match(column):
                found += [f"{name}.{column}={v}" for v in table[column] if _small(_number(v))]
    assert found == []


def test_the_age_statement_of_a_small_group_hides_its_size(report):
    out, *_ = report
    statements = _tables(out)["01_descriptives/age_statements"].set_index("statement")
    assert statements.loc["Under 30: Black", "N"] == f"<{K}"  # 7 Black women among the 60 referrals


def test_no_small_n_in_captions_titles_legends_or_printed_text(report):
    out, shown, printed, _ = report
    import json

    texts = [entry["caption"] for entry in json.loads((out / "manifest.json").read_text())["entries"]] if (
        out / "manifest.json").exists() else []
    parts = sorted((out / ".manifest").glob("*.json")) if (out / ".manifest").exists() else []
    for part in parts:
        texts += [entry["caption"] for entry in json.loads(part.read_text())["entries"]]
    for objects in shown.values():
        for fig in (o for o in objects if isinstance(o, Figure)):
            texts += [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    texts += printed.values()
    assert texts
    assert [t for t in texts if SMALL.search(t)] == []


def test_support_tables_are_not_printed(report):
    _, _, printed, _ = report
    assert "Off support" not in printed["03_matching"]


def test_every_displayed_frame_is_the_protected_one(report):
    _, shown, _, _ = report
    for section, objects in shown.items():
        for frame in (o for o in objects if isinstance(o, pd.DataFrame)):
            for column in frame.columns:
                if PEOPLE.match(str(column)):
                    values = [_number(v) for v in frame[column]]
                    assert not any(_small(v) for v in values), (section, column)


# -- route 2: differencing ------------------------------------------------------------------------


def test_flow_removed_cannot_be_recovered_from_remaining(report):
    out, *_ = report
    flow = _tables(out)["00_data/flow"]
    for _, chain in flow.groupby(["file", "window"], sort=False):
        remaining = [_number(v) for v in chain["remaining"]]
        removed = list(chain["removed"])
        for i, value in enumerate(removed):
            if _hidden(value):
                assert i == 0 or remaining[i - 1] is None or remaining[i] is None, chain
        hidden = sum(_hidden(v) for v in removed)
        assert hidden != 1, chain  # one hidden removal = start - end - the others


def test_significance_tests_publish_no_statistic_beside_a_hidden_count(report):
    out, *_ = report
    tests = _tables(out)["02_reoffending/significance_tests"]
    statistics = ["rate_0", "rate_1", "difference", "t", "chi2", "p", "p_chi2", "p_fisher"]
    for _, row in tests.iterrows():
        if any(_hidden(row[c]) for c in ("n_0", "n_1", "reoffended_0", "reoffended_1")):
            assert all(not _number(row[c]) and row[c] != "0" for c in statistics), row.to_dict()
        # the two groups add up: never one of a pair hidden alone
        for pair in (("n_0", "n_1"), ("reoffended_0", "reoffended_1")):
            assert _hidden(row[pair[0]]) == _hidden(row[pair[1]]), row.to_dict()


def test_categories_never_hide_a_single_cell(report):
    out, *_ = report
    for name, table in _tables(out).items():
        if not name.startswith("01_descriptives/") or "count" not in table.columns:
            continue
        keys = [c for c in table.columns if c not in ("count", "percent", "N", "published")]
        groups = table.groupby(keys[:-1], sort=False) if len(keys) > 1 else [(None, table)]
        for _, group in groups:
            assert sum(_hidden(v) for v in group["count"]) != 1, name


def test_complements_of_printed_counts_are_not_small(report):
    out, *_ = report
    for name, table in _tables(out).items():
        for count in ("count", "reoffended"):
            if count in table.columns and "N" in table.columns:
                for c, n in zip(table[count], table["N"], strict=True):
                    c, n = _number(c), _number(n)
                    if c is not None and n is not None:
                        assert not _small(n - c), (name, c, n)


def test_off_support_counts_cannot_be_differenced_from_matched_counts(report):
    out, *_ = report
    notes = _tables(out)["03_matching/sample_notes"]
    for _, row in notes.iterrows():
        assert _hidden(row["treated off support"]) == _hidden(row["treated matched"]), row.to_dict()


def test_survival_shares_imply_no_small_count(report):
    out, *_ = report
    table = _tables(out)["05_robustness/time_to_reoffence"]
    shares = [c for c in table.columns if c.startswith("not reoffended by day")]
    for _, row in table.iterrows():
        people, before = float(row["weighted"]), 0.0
        for column in shares:
            share = _number(row[column])
            if share is None:
                continue
            events = round((1 - share) * people)
            assert not _small(events - before) and not _small(people - events), row.to_dict()
            before = events


def test_effect_rates_imply_no_small_number_of_reoffenders(report):
    out, *_ = report
    tables = _tables(out)
    treated = tables["00_data/window_sizes"].set_index("window")["treatment"]
    effects = tables["03_matching/table_2"]
    for _, row in effects.iterrows():
        n = _number(treated[row["window"]])
        for column in ("treated", "control"):
            rate = _number(row[column])
            if rate is not None and n is not None and (column == "treated" or row["stage"] == "after_matching"):
                assert not _small(round(rate * n)) and not _small(n - round(rate * n)), row.to_dict()


# -- route 3: extremes ------------------------------------------------------------------------------


def test_no_minimum_or_maximum_of_individuals(report):
    out, _, _, truth = report
    summary = _tables(out)["01_descriptives/offending_and_age_summary"]
    assert set(summary["min"]) == {"not shown"} and set(summary["max"]) == {"not shown"}
    oldest = float(truth["age"].max())
    age = summary[summary["variable"].str.startswith("Age")].iloc[0]
    assert oldest not in {_number(v) for v in age}


# -- route 4: figures -------------------------------------------------------------------------------


def _figures(shown: dict) -> dict[str, list[Figure]]:
    return {s: [o for o in objects if isinstance(o, Figure)] for s, objects in shown.items()}


def test_bar_charts_do_not_scale_their_axes_to_hidden_bars(report):
    _, shown, _, _ = report
    for figure in _figures(shown)["01_descriptives"] + _figures(shown)["02_reoffending"]:
        for ax in figure.axes:
            if ax.patches:
                assert ax.get_ylim() == (0.0, 100.0)


def test_kaplan_meier_has_no_censoring_ticks_and_every_step_holds_enough_events(report):
    _, shown, _, truth = report
    (km,) = [f for f in _figures(shown)["05_robustness"] if "reoffence" in f.axes[0].get_title()]
    ax = km.axes[0]
    assert not [line for line in ax.lines if line.get_marker() not in ("None", None, "")]
    for line in ax.lines:
        x, y = line.get_xdata(), line.get_ydata()
        assert all(float(t) % 30 == 0 for t in x)  # a coarse grid, not people's days
        drops = -np.diff(np.asarray(y, float))
        # each drop is >= K of about 59 people: at least K/59 of the curve
        assert all(drop == 0 or drop >= K / 59 - 1e-9 for drop in drops)


def test_score_histograms_have_no_bar_of_one_to_k_minus_one_units(report):
    _, shown, _, _ = report
    (scores,) = [f for f in _figures(shown)["03_matching"] if f.axes[0].get_title() == "Before matching"]
    before = scores.axes[0]
    heights = [abs(bar.get_height()) for container in before.containers for bar in container]
    assert heights and not [h for h in heights if 1 <= h < K and float(h).is_integer()]



# -- route 5: rates of few people in combined tables and the specification grid -------------------
# The total outcome of the 60 referrals (29 of the 59 treated reoffend) is not a small number at the
# default threshold. At a threshold of 40 it is, whatever the split (two parts of 59 cannot both
# reach 40), so the same data, reported with --min-count 40, show whether tables built from several
# effects (the published beside the equal follow-up, the grid) still hide the rates that stand for
# too few people.

STRICT = 40


@pytest.fixture(scope="module")
def strict_report(tmp_path_factory):
    base = tmp_path_factory.mktemp("attack_strict")
    data = _supplied_copy(base / "data")
    out = base / "out"
    out.mkdir()
    shown = {}
    for path in find_notebooks():
        if path.stem in ("00_data", "03_matching", "05_robustness"):
            parameters = {"data_dir": str(data), "mapping": None, "extract_date": None, "seed": 1,
                          "min_count": STRICT, "out_dir": str(out), "notebook_name": path.stem}
            shown[path.stem], _ = _run_in_process(path, parameters)
    return _tables(out), shown


def _strict_hidden(value: str) -> bool:
    return value == f"<{STRICT}"


def _few(events: float, people: float) -> bool:
    return any(1 <= x < STRICT for x in (events, people - events))


def test_the_equal_follow_up_table_hides_rates_of_few_people(strict_report):
    tables, _ = strict_report
    treated = _number(tables["00_data/window_sizes"].set_index("window")["treatment"]["total"])
    combined = tables["03_matching/total_equal_follow_up"]
    table_2 = tables["03_matching/table_2"].set_index(["window", "stage"])
    assert _strict_hidden(table_2.loc[("total", "after_matching"), "treated"])  # the attack has a target
    for _, row in combined.iterrows():  # the treated of the window, before and after matching (no caliper)
        rate = _number(row["treated"])
        assert rate is None or not _few(round(rate * treated), treated), row.to_dict()
    published = combined[combined["follow_up"] == "published follow-up"].set_index(["window", "stage"])
    for key, row in published.iterrows():  # what Table 2 hides is hidden beside it too
        for column in ("treated", "control", "difference", "se", "t"):
            assert _strict_hidden(row[column]) == _strict_hidden(table_2.loc[key, column]), (key, column)


def test_the_specification_grid_hides_effects_whose_rates_stand_for_few_people(strict_report):
    tables, shown = strict_report
    grid = tables["05_robustness/specification_grid"]
    table_2 = tables["03_matching/table_2"].set_index(["window", "stage"])
    published = grid[grid["published"] == "True"].iloc[0]
    assert _strict_hidden(table_2.loc[("total", "after_matching"), "difference"])
    assert _strict_hidden(published["att"]), published.to_dict()  # not Table 2's hidden ATT given back
    assert {"treated", "control"} <= set(grid.columns)  # the grid says which rates its ATTs compare
    for _, row in grid.iterrows():
        people = _number(row["n_treated_matched"])
        for column in ("treated", "control"):
            rate = _number(row[column])
            assert rate is None or people is None or not _few(round(rate * people), people), row.to_dict()
        if any(_strict_hidden(row[c]) for c in ("treated", "control")):
            assert all(_number(row[c]) is None for c in ("att", "se", "ci_low", "ci_high", "p")), row.to_dict()
    # the forest plot draws the rows the table shows, no more (a hidden ATT is not read off the figure)
    (forest,) = [f for f in _figures(shown)["05_robustness"] if f.axes[0].get_title().startswith("Specification grid")]
    drawn = sum(len(line.get_xdata()) for line in forest.axes[0].lines if line.get_marker() in ("o", "D"))
    assert drawn == sum(_number(v) is not None for v in grid["att"]) < len(grid)
