"""Mapping an extract's own column names and codes onto the schema (YAML, no code changes).

Format (see ``docs/data.md``)::

    referrals:
      columns: {schema_name: "Name In File"}
      codes: {schema_column: {schema_code: ["supplied value", ...]}}
    police: {...}

Supplied and synthetic data go through :func:`apply_mapping` alike (an empty
mapping still normalises names and codes). Names are compared after
stripping and lower-casing; codes after :func:`normalise_codes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from psm.newchance.inputs.problems import Problem
from psm.newchance.inputs.schema import SCHEMAS, FileSchema


@dataclass(frozen=True)
class Mapping:
    """``columns[role][schema_name] = supplied name``; ``codes[role][column][supplied] = schema code``."""

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    codes: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)


def normalise_name(name: object) -> str:
    return str(name).strip().lower()


def normalise_codes(values: pd.Series) -> pd.Series:
    """Strip, lower-case and join words with ``_``: ``" Not Assessed"`` -> ``"not_assessed"``."""
    return values.astype("string").str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)


def load_mapping(path: Path | None) -> tuple[Mapping, list[Problem]]:
    """Read and check a mapping file; ``None`` gives the empty mapping."""
    if path is None:
        return Mapping(), []
    label = path.name
    if not path.is_file():
        return Mapping(), [Problem(label, None, "file_missing", f"mapping file not found: {path}")]
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
        return Mapping(), [Problem(label, None, "yaml", f"not a readable YAML file: {exc}")]
    return parse_mapping(content, label)


def parse_mapping(content: object, label: str = "mapping") -> tuple[Mapping, list[Problem]]:
    """Check the structure of a loaded mapping and build a :class:`Mapping`."""
    if not isinstance(content, dict):
        return Mapping(), [Problem(label, None, "yaml", "must be a mapping with keys 'referrals' and/or 'police'")]
    problems = [
        Problem(label, None, "unknown_key", f"unknown section {key!r}", allowed=", ".join(SCHEMAS))
        for key in content
        if key not in SCHEMAS
    ]
    columns: dict[str, dict[str, str]] = {}
    codes: dict[str, dict[str, dict[str, str]]] = {}
    for role, section in content.items():
        if role not in SCHEMAS:
            continue
        schema = SCHEMAS[role]
        section = section or {}
        shape = _shape_problems(section, role, label)
        if shape:
            problems += shape
            continue
        columns[role], found = _column_section(section.get("columns") or {}, schema, label)
        problems += found
        codes[role], found = _code_section(section.get("codes") or {}, schema, label)
        problems += found
    return Mapping(columns, codes), problems


def _shape_problems(section: object, role: str, label: str) -> list[Problem]:
    """A section must be ``{columns: {schema name: file name}, codes: {column: {code: [synonyms]}}}``."""
    def problem(key: str, found: object, allowed: str) -> Problem:
        return Problem(label, key, "bad_mapping", f"wrong shape: {type(found).__name__} {found!r:.60}", allowed=allowed)

    if not isinstance(section, dict):
        return [problem(role, section, "a mapping with keys 'columns' and/or 'codes'")]
    problems = [problem(f"{role}.{key}", section[key], "columns, codes") for key in section if key not in ("columns", "codes")]
    columns, codes = section.get("columns") or {}, section.get("codes") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        problems.append(problem(f"{role}.columns", columns, "schema name: the file's column name (text)"))
    if not isinstance(codes, dict) or not all(isinstance(v, dict) or v is None for v in codes.values()):
        problems.append(problem(f"{role}.codes", codes, "column: {code: [the file's spellings]}"))
    elif not all(isinstance(s, (str, int, float, list)) for v in codes.values() for s in (v or {}).values()):
        problems.append(problem(f"{role}.codes", codes, "code: a spelling or a list of spellings"))
    return problems


def _column_section(section: dict, schema: FileSchema, label: str) -> tuple[dict[str, str], list[Problem]]:
    unknown = [name for name in section if name not in schema.names]
    problems = [
        Problem(label, f"{schema.role}.columns", "unknown_column", f"not a schema column: {name!r}",
                allowed=", ".join(schema.names))
        for name in unknown
    ]
    return {name: normalise_name(src) for name, src in section.items() if name not in unknown}, problems


def _code_section(section: dict, schema: FileSchema, label: str) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    problems: list[Problem] = []
    result: dict[str, dict[str, str]] = {}
    coded = [c.name for c in schema.columns if c.type == "code"]
    for column, synonyms in section.items():
        if column not in coded:
            problems.append(Problem(label, f"{schema.role}.codes", "unknown_column",
                                    f"not a coded schema column: {column!r}", allowed=", ".join(coded)))
            continue
        allowed = schema[column].codes
        table: dict[str, str] = {}
        for code, supplied in (synonyms or {}).items():
            if code not in allowed:
                problems.append(Problem(label, f"{schema.role}.codes.{column}", "unknown_code",
                                        f"not a schema code: {code!r}", allowed=", ".join(allowed)))
                continue
            values = supplied if isinstance(supplied, list) else [supplied]
            keys = normalise_codes(pd.Series([str(v) for v in values], dtype="string"))
            table.update(dict.fromkeys(keys.tolist(), code))
        result[column] = table
    return result, problems


def rename_columns(frame: pd.DataFrame, schema: FileSchema, mapping: Mapping) -> pd.DataFrame:
    """The frame with the mapping's supplied column names replaced by schema names."""
    renames = {src: name for name, src in mapping.columns.get(schema.role, {}).items()}
    return frame.rename(columns=renames)


def translate_codes(frame: pd.DataFrame, schema: FileSchema, mapping: Mapping) -> pd.DataFrame:
    """Code columns normalised (:func:`normalise_codes`) and translated by the mapping's synonyms."""
    out = frame.copy()
    for column in schema.columns:
        if column.type != "code" or column.name not in out.columns:
            continue
        codes = normalise_codes(out[column.name])
        synonyms = mapping.codes.get(schema.role, {}).get(column.name, {})
        out[column.name] = codes.replace(synonyms) if synonyms else codes
    return out


def apply_mapping(frame: pd.DataFrame, schema: FileSchema, mapping: Mapping) -> pd.DataFrame:
    """Rename columns to schema names and normalise/translate codes; returns a new frame."""
    return translate_codes(rename_columns(frame, schema, mapping), schema, mapping)
