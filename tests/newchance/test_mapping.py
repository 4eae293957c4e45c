"""Mapping files: other column names and codes map onto the schema; bad mappings are reported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from newchance_builders import offence, referral, write_dataset
from psm.newchance.inputs.dataset import load_dataset
from psm.newchance.inputs.mapping import apply_mapping, load_mapping, normalise_codes, parse_mapping
from psm.newchance.inputs.schema import REFERRALS


def test_codes_are_case_and_space_insensitive() -> None:
    out = normalise_codes(pd.Series([" Not Assessed", "White - North European", "YES", None]))
    assert out.tolist()[:3] == ["not_assessed", "white_north_european", "yes"] and pd.isna(out.iloc[3])


def test_mapping_renames_and_translates() -> None:
    mapping, problems = parse_mapping({"referrals": {
        "columns": {"referral_date": "Date of Referral ", "ethnic_appearance": "Ethnic Appearance"},
        "codes": {"ethnic_appearance": {"white_north_european": ["IC1"], "black": "IC3"}}}})
    assert problems == []
    frame = pd.DataFrame({"date of referral": ["2019-01-01"], "ethnic appearance": ["ic1 "], "age": ["30"]})
    out = apply_mapping(frame, REFERRALS, mapping)
    assert list(out.columns) == ["referral_date", "ethnic_appearance", "age"]
    assert out["ethnic_appearance"].tolist() == ["white_north_european"]


def test_bad_mapping_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump({"referals": {}, "police": {
        "columns": {"offence_dat": "Date"}, "codes": {"age": {}, "ethnic_appearance": {"white": ["IC1"]}}}}))
    _, problems = load_mapping(path)
    assert [(p.column, p.check) for p in problems] == [
        (None, "unknown_key"), ("police.columns", "unknown_column"), ("police.codes", "unknown_column"),
        ("police.codes.ethnic_appearance", "unknown_code")]
    assert "not a schema code: 'white'" in str(problems[-1]) and "white_north_european" in str(problems[-1])


def test_supplied_extract_with_mapping_equals_schema_extract(tmp_path: Path) -> None:
    rows = [referral(referral_id="R1", person_id="T1", ethnic_appearance="black")]
    police = [offence(offence_id="O1", person_id="C1")]
    plain = load_dataset(write_dataset(tmp_path / "plain", rows, police))
    renamed = [{("Ethnicity" if k == "ethnic_appearance" else k): ("IC3" if k == "ethnic_appearance" else v)
                for k, v in r.items()} for r in rows]
    folder = tmp_path / "mapped"
    write_dataset(folder, rows, police, mapping="mapping.yaml")
    pd.DataFrame(renamed).to_csv(folder / "referrals.csv", index=False)
    (folder / "mapping.yaml").write_text(yaml.safe_dump({"referrals": {
        "columns": {"ethnic_appearance": "Ethnicity"}, "codes": {"ethnic_appearance": {"black": ["IC3"]}}}}))
    mapped = load_dataset(folder)
    pd.testing.assert_frame_equal(mapped.referrals[plain.referrals.columns], plain.referrals)
