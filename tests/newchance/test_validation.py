"""A corpus of broken data folders, each giving the expected message; all problems in one pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from newchance_builders import OFFENCE, REFERRAL, offence, referral, write_csv, write_dataset
from psm.errors import PSMError
from psm.newchance.inputs.problems import DataValidationError
from psm.newchance.inputs.dataset import load_dataset


def _valid(folder: Path) -> Path:
    return write_dataset(folder, [referral(), referral()], [offence(), offence()])


def _rewrite_referrals(folder: Path, rows: list[dict], columns: list[str] | None = None, **fmt) -> None:
    write_csv(folder / "referrals.csv", rows, columns or list(REFERRAL), **fmt)


def _problems(folder: Path, **kwargs) -> list:
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder, **kwargs)
    assert isinstance(info.value, PSMError)
    return info.value.problems


# (case, defect applied to a valid folder, substrings expected in the one problem reported)
CASES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("missing column",
     lambda f: _rewrite_referrals(f, [referral()], [c for c in REFERRAL if c != "referral_date"]),
     ["referrals.csv, column 'referral_date'", "required column is missing", "mapping"]),
    ("misspelt column suggests the close name",
     lambda f: (f / "referrals.csv").write_text((f / "referrals.csv").read_text().replace("referral_date", "referal_date", 1)),
     ["column 'referral_date'", "required column is missing", "did you mean 'referal_date'"]),
    ("unparseable dates",
     lambda f: _rewrite_referrals(f, [referral(referral_date="31/02/2019"), referral(referral_date="05/31/2019"),
                                      referral(referral_date="1/6/19")]),
     ["column 'referral_date'", "not a date", "3 rows (lines 2, 3, 4)", "'31/02/2019', '05/31/2019', '1/6/19'",
      "DD/MM/YYYY"]),
    ("ages outside 0-120",
     lambda f: _rewrite_referrals(f, [referral(age="130"), referral(age="-1"), referral(age="40")]),
     ["column 'age'", "values outside 0–120", "2 rows (lines 2, 3)", "'130', '-1'", "whole numbers 0–120"]),
    ("age not a number",
     lambda f: _rewrite_referrals(f, [referral(age="thirty")]),
     ["column 'age'", "not a whole number", "line 2", "'thirty'"]),
    ("unknown codes",
     lambda f: _rewrite_referrals(f, [referral(ethnic_appearance="IC9"), referral(ethnic_appearance="Black")]),
     ["column 'ethnic_appearance'", "unknown codes", "1 row (line 2)", "'IC9'",
      "white_north_european, white_south_european, black", "(empty = unknown)", "--mapping"]),
    ("duplicate ids",
     lambda f: _rewrite_referrals(f, [referral(referral_id="R1"), referral(referral_id="R1"), referral()]),
     ["column 'referral_id'", "duplicate IDs", "2 rows (lines 2, 3)", "'R1'"]),
    ("negative counts",
     lambda f: _rewrite_referrals(f, [referral(offences_12m_before="-2")]),
     ["column 'offences_12m_before'", "negative counts", "line 2", "'-2'", "whole numbers 0 or more"]),
    ("empty required cell",
     lambda f: _rewrite_referrals(f, [referral(), referral(engagement_level="")]),
     ["column 'engagement_level'", "empty cells in a required column", "1 row (line 3)"]),
    ("reoffended yes without a date",
     lambda f: _rewrite_referrals(f, [referral(reoffended="yes", reoffence_date="", reoffence_count="1")]),
     ["column 'reoffence_date'", "reoffended is 'yes' but reoffence_date is empty", "line 2"]),
    ("reoffended no with a date",
     lambda f: _rewrite_referrals(f, [referral(reoffended="no", reoffence_date="2019-07-01")]),
     ["reoffended is 'no' but a reoffence_date is given", "'2019-07-01'"]),
    ("reoffended yes with count 0",
     lambda f: _rewrite_referrals(f, [referral(reoffended="yes", reoffence_date="2019-07-01", reoffence_count="0")]),
     ["reoffended is 'yes' but reoffence_count is 0"]),
    ("date after the extract date",
     lambda f: _rewrite_referrals(f, [referral(referral_date="2020-02-01")]),
     ["column 'referral_date'", "dates after the extract date 2020-01-10", "'2020-02-01'", "--extract-date"]),
    ("empty file",
     lambda f: (f / "referrals.csv").write_bytes(b""),
     ["referrals.csv: the file is empty"]),
    ("header but no rows",
     lambda f: _rewrite_referrals(f, []),
     ["referrals.csv: the file has a header but no data rows"]),
    ("semicolon delimiter",
     lambda f: _rewrite_referrals(f, [referral()], delimiter=";"),
     ["referrals.csv: the header looks semicolon-delimited", "comma-separated"]),
    ("tab delimiter",
     lambda f: write_csv(f / "police_offences.csv", [offence()], list(OFFENCE), delimiter="\t"),
     ["police_offences.csv: the header looks tab-delimited"]),
    ("wrong encoding",
     lambda f: _rewrite_referrals(f, [referral(index_offence="Théft")], encoding="cp1252"),
     ["referrals.csv: not UTF-8 text", "byte 0xe9 on line 2", "UTF-8"]),
    ("ragged row",
     lambda f: (f / "referrals.csv").write_text((f / "referrals.csv").read_text() + "a,b\n" + "x," * 30 + "\n"),
     ["referrals.csv: cannot be parsed as CSV"]),
    ("missing file",
     lambda f: (f / "police_offences.csv").unlink(),
     ["police_offences.csv: file not found"]),
    ("no extract date",
     lambda f: write_dataset(f, [referral()], [offence()], extract_date=None),
     ["dataset.yaml, column 'extract_date'", "not given", "never inferred", "--extract-date"]),
    ("unknown setting in dataset.yaml",
     lambda f: write_dataset(f, [referral()], [offence()], extract=" 2020-01-10"),
     ["dataset.yaml, column 'extract'", "unknown setting"]),
    ("unknown rule setting",
     lambda f: write_dataset(f, [referral()], [offence()], rules={"min_agee": 18}),
     ["rules.min_agee", "unknown rule setting"]),
]


@pytest.mark.parametrize(("defect", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_folder_gives_the_expected_message(tmp_path: Path, defect, expected: list[str]) -> None:
    folder = _valid(tmp_path / "data")
    defect(folder)
    problems = _problems(folder)
    assert len(problems) == 1, [str(p) for p in problems]
    for text in expected:
        assert text in str(problems[0])


def test_valid_folder_loads_and_types_columns(tmp_path: Path) -> None:
    ds = load_dataset(_valid(tmp_path / "data"))
    assert ds.extract_date == dt.date(2020, 1, 10)
    assert ds.referrals["referral_date"].dtype.kind == "M" and ds.referrals["age"].dtype == float
    assert list(ds.referrals.index) == [2, 3]  # file line numbers


def test_every_problem_of_every_file_in_one_error(tmp_path: Path) -> None:
    folder = _valid(tmp_path / "data")
    _rewrite_referrals(folder, [referral(age="200", ethnic_appearance="martian")] * 1 + [referral(referral_date="x")])
    write_csv(folder / "police_offences.csv", [offence(offence_id="O1"), offence(offence_id="O1", age="-4")],
              [c for c in OFFENCE if c != "offence_description"])
    problems = _problems(folder)
    found = {(p.file, p.column, p.check) for p in problems}
    assert found == {
        ("referrals.csv", "age", "range"),
        ("referrals.csv", "ethnic_appearance", "code"),
        ("referrals.csv", "referral_date", "date"),
        ("police_offences.csv", "offence_description", "missing_column"),
        ("police_offences.csv", "offence_id", "field_uniqueness"),
        ("police_offences.csv", "age", "range"),
    }
    report = str(DataValidationError(problems))
    assert report.startswith("6 problems found in the supplied data:")


def test_many_bad_rows_show_the_first_few_and_a_count(tmp_path: Path) -> None:
    folder = _valid(tmp_path / "data")
    _rewrite_referrals(folder, [referral(age=str(200 + i)) for i in range(12)])
    (problem,) = _problems(folder)
    assert "12 rows (lines 2, 3, 4, 5, 6, … (7 more))" in str(problem)
    assert "'200', '201', '202', '203', '204', … (7 more)" in str(problem)
    assert problem.rows == tuple(range(2, 14))


def test_warnings_do_not_stop_the_run(tmp_path: Path) -> None:
    folder = _valid(tmp_path / "data")
    _rewrite_referrals(folder, [referral(), referral(reoffended="yes", reoffence_date="2019-05-01",
                                                     reoffence_count="1"), referral(reoffended="Unknown")])
    ds = load_dataset(folder)
    messages = [str(p) for p in ds.problems]
    assert {p.severity for p in ds.problems} == {"warning"}
    assert any("reoffence_date before referral_date" in m and "line 3" in m for m in messages)
    assert any("reoffending status unknown" in m and "line 4" in m for m in messages)


def test_extract_date_argument_overrides_and_is_checked(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "data", [referral(referral_date="2019-06-01")], [offence()], extract_date=None)
    assert load_dataset(folder, extract_date=dt.date(2019, 12, 1)).extract_date == dt.date(2019, 12, 1)
    (problem,) = _problems(folder, extract_date=dt.date(2019, 1, 1))
    assert "dates after the extract date 2019-01-01" in str(problem)


def test_utf8_byte_order_mark_and_uk_dates_are_accepted(tmp_path: Path) -> None:
    folder = _valid(tmp_path / "data")
    _rewrite_referrals(folder, [referral(referral_date="01/06/2019"), referral(referral_date="2 Jul 2019")],
                       encoding="utf-8-sig")
    ds = load_dataset(folder)
    assert ds.referrals["referral_date"].dt.strftime("%Y-%m-%d").tolist() == ["2019-06-01", "2019-07-02"]
    assert "referral_id" in ds.referrals.columns


def test_raw_files_are_not_modified(tmp_path: Path) -> None:
    folder = _valid(tmp_path / "data")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    from psm.newchance.preparation.prepare import prepare

    prepare(load_dataset(folder), equal_follow_up=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
