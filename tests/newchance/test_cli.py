"""python -m psm.newchance validate: exit codes, output, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from newchance_builders import offence, referral, write_csv, write_dataset
from psm.newchance.cli import main


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "data", [referral(), referral(referral_date="2020-01-03")],
                         [offence(), offence(offence_date="2015-06-20")])


def test_valid_data_exit_0_and_flow_table(folder: Path, capsys) -> None:
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "The data are valid." in out
    assert "referral after 2019-12-31" in out and "analysed in window 12m" in out
    assert "no offence between 06 May 2015 and 31 May 2015" in out


def test_invalid_data_exit_1_with_report_and_no_traceback(folder: Path, capsys) -> None:
    write_csv(folder / "referrals.csv", [referral(age="150"), referral(reoffended="perhaps")])
    assert main(["validate", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert "2 problems found" in captured.out
    assert "column 'age': values outside 0–120 — 1 row (line 2); values: '150'" in captured.out
    assert "column 'reoffended': unknown codes — 1 row (line 3); values: 'perhaps'. Allowed: yes, no, unknown" in captured.out


def test_extract_date_option(folder: Path, capsys) -> None:
    (folder / "dataset.yaml").write_text(yaml.safe_dump({"description": "x"}))
    assert main(["validate", str(folder)]) == 1
    assert "extract (data cut-off) date is not given" in capsys.readouterr().out
    assert main(["validate", str(folder), "--extract-date", "2020-01-10"]) == 0


def test_mapping_option(folder: Path, tmp_path: Path, capsys) -> None:
    text = (folder / "referrals.csv").read_text().replace("referral_date", "Date of Referral", 1)
    (folder / "referrals.csv").write_text(text.replace("white_north_european", "IC1"))
    assert main(["validate", str(folder)]) == 1
    mapping = tmp_path / "map.yaml"
    mapping.write_text(yaml.safe_dump({"referrals": {"columns": {"referral_date": "Date of Referral"},
                                                     "codes": {"ethnic_appearance": {"white_north_european": ["IC1"]}}}}))
    assert main(["validate", str(folder), "--mapping", str(mapping)]) == 0


def test_missing_folder(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(tmp_path / "nowhere")]) == 1
    assert "data folder not found" in capsys.readouterr().out
