"""Malformed files that used to be mis-read (or raised a traceback) are refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from newchance_builders import REFERRAL, offence, referral, write_csv, write_dataset
from psm.newchance.inputs import io as inputs_io
from psm.newchance.inputs.dataset import load_dataset
from psm.newchance.inputs.problems import DataValidationError


def _folder(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "data", [referral(), referral()], [offence(), offence()])


def _messages(folder: Path) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        load_dataset(folder)
    return [str(p) for p in info.value.problems]


def test_a_duplicated_column_name_is_refused_not_renamed(tmp_path):
    folder = _folder(tmp_path)
    columns = [*REFERRAL, "age"]
    write_csv(folder / "referrals.csv", [{**referral(), "age": "30"}], columns)
    (message,) = _messages(folder)
    assert "referrals.csv, column 'age': column name(s) appear more than once" in message


@pytest.mark.parametrize(("supplied", "expected"), [("ethnicity", "ethnic_appearance"),
                                                    ("Mental Health Need", "mental_health_need")])
def test_a_misnamed_optional_column_is_an_error_naming_the_expected_one(tmp_path, supplied, expected):
    folder = _folder(tmp_path)
    text = (folder / "referrals.csv").read_text().replace(expected, supplied, 1)
    (folder / "referrals.csv").write_text(text)
    (message,) = _messages(folder)
    assert f"column '{supplied.lower()}': unrecognised column; it looks like the expected column '{expected}'" in message
    assert f"rename it '{expected}'" in message


def test_an_unrelated_extra_column_is_a_warning_only(tmp_path):
    folder = _folder(tmp_path)
    write_csv(folder / "referrals.csv", [{**referral(), "officer_team": "A"}], [*REFERRAL, "officer_team"])
    loaded = load_dataset(folder)
    assert [p.check for p in loaded.problems if p.column == "officer_team"] == ["unrecognised_column"]


@pytest.mark.parametrize("date", ["2300-01-01", "01/01/1600"])
def test_dates_outside_the_calendar_range_are_invalid_not_tracebacks(tmp_path, date):
    folder = _folder(tmp_path)
    write_csv(folder / "referrals.csv", [referral(referral_date=date)])
    (message,) = _messages(folder)
    assert "column 'referral_date'" in message and f"'{date}'" in message


def test_line_numbers_count_quoted_newlines_and_blank_lines(tmp_path):
    folder = _folder(tmp_path)
    write_csv(folder / "referrals.csv", [referral(index_offence="Theft\nfrom a shop"), referral(age="150")])
    text = (folder / "referrals.csv").read_text()
    header, rest = text.split("\n", 1)
    (folder / "referrals.csv").write_text(header + "\n\n" + rest)  # a blank line 2; the first row spans 3-4
    (message,) = _messages(folder)
    assert "column 'age': values outside 0–120 — 1 row (line 5)" in message


def test_every_ragged_row_is_reported(tmp_path):
    folder = _folder(tmp_path)
    text = (folder / "referrals.csv").read_text()
    (folder / "referrals.csv").write_text(text + "a,b\n" + "x," * 30 + "\n")
    (message,) = _messages(folder)
    assert "2 row(s) do not have the header's 17 fields (line 4: 2 fields; line 5: 31 fields)" in message


def test_utf16_is_named(tmp_path):
    folder = _folder(tmp_path)
    text = (folder / "referrals.csv").read_text()
    (folder / "referrals.csv").write_bytes(text.encode("utf-16"))
    (message,) = _messages(folder)
    assert "UTF-16" in message and "Latin-1" not in message


def test_an_overlong_line_is_refused_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs_io, "MAX_LINE", 1000)
    folder = _folder(tmp_path)
    (folder / "referrals.csv").write_text("referral_id," + "x" * 5000 + "\n")
    (message,) = _messages(folder)
    assert "line 1 has 5,012 characters (at most 1,000 expected)" in message


def test_an_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs_io, "MAX_BYTES", 100)
    folder = _folder(tmp_path)
    (message,) = [m for m in _messages(folder) if "referrals.csv" in m]
    assert "larger than a referral or offence file can be" in message


@pytest.mark.parametrize("name", ["../elsewhere.csv", "/etc/passwd", "sub/../../x.csv"])
def test_files_outside_the_data_folder_are_refused(tmp_path, name):
    folder = write_dataset(tmp_path / "data", [referral()], [offence()])
    (folder / "dataset.yaml").write_text((folder / "dataset.yaml").read_text() + f"referrals: {name}\n")
    (message,) = _messages(folder)
    assert f"dataset.yaml, column 'referrals': not a file inside the data folder: '{name}'" in message


def test_a_symbolic_link_out_of_the_data_folder_is_refused(tmp_path):
    folder = write_dataset(tmp_path / "data", [referral()], [offence()])
    (folder / "dataset.yaml").write_text((folder / "dataset.yaml").read_text() + "police: linked.csv\n")
    (tmp_path / "outside.csv").write_text((folder / "police_offences.csv").read_text())
    (folder / "linked.csv").symlink_to(tmp_path / "outside.csv")
    (message,) = _messages(folder)
    assert "column 'police': not a file inside the data folder: 'linked.csv'" in message


def test_a_mapping_of_the_wrong_shape_is_a_problem_not_a_traceback(tmp_path):
    folder = write_dataset(tmp_path / "data", [referral()], [offence()], mapping="map.yaml")
    (folder / "map.yaml").write_text("referrals: [age, ethnicity]\npolice:\n  columns: [x]\n")
    messages = _messages(folder)
    assert any("map.yaml, column 'referrals': wrong shape: list" in m for m in messages)
    assert any("map.yaml, column 'police.columns': wrong shape: list" in m for m in messages)
