"""Builders of small hand-made data folders in the raw schema (docs/data.md), shared by the tests."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import yaml

_ids = itertools.count(1)

REFERRAL = {
    "referral_id": "R0", "person_id": "T0", "referral_date": "2019-06-01", "age": "30",
    "ethnic_appearance": "white_north_european", "employment_status": "unemployed",
    "engagement_level": "ongoing", "engagement_length": "up_to_3_months",
    "substance_misuse_need": "yes", "mental_health_need": "no", "index_offence": "Theft from a shop",
    "offending_history_total": "5", "offences_12m_before": "2", "offences_12m_after": "1",
    "reoffended": "no", "reoffence_date": "", "reoffence_count": "0",
}
OFFENCE = {
    "offence_id": "O0", "person_id": "C0", "offence_date": "2015-05-10", "offence_description": "Common assault",
    "age": "25", "ethnic_appearance": "black", "employment_status": "no_data",
    "substance_misuse_need": "not_assessed", "mental_health_need": "yes", "offending_history_total": "7",
}


def referral(**values: str) -> dict[str, str]:
    n = next(_ids)
    return {**REFERRAL, "referral_id": f"R{n}", "person_id": f"T{n}", **values}


def offence(**values: str) -> dict[str, str]:
    n = next(_ids)
    return {**OFFENCE, "offence_id": f"O{n}", "person_id": f"C{n}", **values}


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None, **fmt) -> Path:
    columns = columns or list((rows or [REFERRAL])[0])
    with path.open("w", newline="", encoding=fmt.pop("encoding", "utf-8")) as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", **fmt)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_dataset(folder: Path, referrals: list[dict], police: list[dict], *, extract_date: str | None = "2020-01-10",
                  **config: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "referrals.csv", referrals, list(REFERRAL))
    write_csv(folder / "police_offences.csv", police, list(OFFENCE))
    settings = {"description": "hand-made test data", "synthetic": True, **config}
    if extract_date is not None:
        settings["extract_date"] = extract_date
    (folder / "dataset.yaml").write_text(yaml.safe_dump(settings))
    return folder
