"""docs/data.md and psm.newchance.inputs.schema describe the same raw files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from psm.newchance.inputs.schema import POLICE, REFERRALS, ColumnSpec, FileSchema

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"
TYPES = {"string": "string", "date": "date", "integer": "integer", "integer ≥ 0": "integer", "code": "code",
         "free text": "text"}


def _table(heading: str) -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("| `")]
    return [[cell.strip() for cell in ln.strip().strip("|").split("|")] for ln in lines]


def _doc_spec(row: list[str], referral_codes: dict[str, ColumnSpec]) -> dict:
    name, kind, required, allowed = row
    name = name.strip("`")
    kind = TYPES[kind]
    spec = {"name": name, "type": kind,
            "required": {"yes": "yes", "no": "no"}.get(required, "conditional")}
    if kind == "code":
        if allowed.startswith("as in the referral file"):
            ref = referral_codes[name]
            spec["codes"], spec["empty"] = ref.codes, ref.empty
        else:
            codes_part, _, empty_part = allowed.partition("empty =")
            spec["codes"] = tuple(re.findall(r"`([^`]+)`", codes_part))
            found = re.findall(r"`([^`]+)`", empty_part)
            spec["empty"] = found[0] if found else None
    if kind == "integer":
        bounds = re.search(r"(\d+)–(\d+)", allowed)
        spec["minimum"], spec["maximum"] = (int(bounds[1]), int(bounds[2])) if bounds else (0, None)
    return spec


def _code_spec(column: ColumnSpec) -> dict:
    spec = {"name": column.name, "type": column.type, "required": column.required}
    if column.type == "code":
        spec["codes"], spec["empty"] = column.codes, column.empty
    if column.type == "integer":
        spec["minimum"], spec["maximum"] = column.minimum, column.maximum
    return spec


@pytest.mark.parametrize(("heading", "schema"), [("Referral file", REFERRALS), ("Police extract", POLICE)])
def test_docs_tables_match_schema_module(heading: str, schema: FileSchema) -> None:
    referral_codes = {c.name: c for c in REFERRALS.columns}
    documented = [_doc_spec(row, referral_codes) for row in _table(heading)]
    assert [d["name"] for d in documented] == list(schema.names)
    assert documented == [_code_spec(c) for c in schema.columns]


def test_ids_are_unique_keys() -> None:
    assert REFERRALS[REFERRALS.key].unique and POLICE[POLICE.key].unique
    assert [c.name for c in REFERRALS.columns if c.unique] == ["referral_id"]
