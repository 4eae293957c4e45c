"""Loading a data folder: ``dataset.yaml``, the two files, the mapping, validation, types.

``load_dataset`` is the one entry point to supplied (and synthetic) data. It
reads everything, collects every problem from every file in one pass, and
raises a single :class:`~psm.errors.DataValidationError` if any is an error.
Raw files are only read, never written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from psm.newchance.inputs.io import parse_dates, parse_integers, read_raw_csv
from psm.newchance.inputs.mapping import Mapping, load_mapping, rename_columns, translate_codes
from psm.newchance.inputs.problems import DataValidationError, Problem, errors
from psm.newchance.inputs.config import PreparationRules, rules_from_config
from psm.newchance.inputs.schema import SCHEMAS, FileSchema
from psm.newchance.inputs.validation import validate_frame

class _TextDates(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text and are checked here, so that an
    impossible date such as ``2020-13-45`` is reported by key instead of failing inside the parser."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

CONFIG_FILE = "dataset.yaml"
DEFAULT_FILES = {"referrals": "referrals.csv", "police": "police_offences.csv"}
CONFIG_KEYS = ("description", "synthetic", "synthetic_seed", "extract_date", "referrals", "police", "mapping", "rules")


@dataclass(frozen=True)
class Dataset:
    """Validated raw data, typed, with their configuration.

    ``referrals`` / ``police``: one row per raw row, index = file line number,
    schema column names; dates ``datetime64``, whole numbers ``float``, codes
    as strings with empty cells replaced by the column's ``empty`` code.
    ``problems`` holds the warnings found (errors would have raised).
    ``synthetic_seed``: for data written by :mod:`psm.newchance.synthetic.simulation`, the seed that
    regenerates them (and their simulated truth); None otherwise.
    """

    referrals: pd.DataFrame
    police: pd.DataFrame
    extract_date: dt.date
    description: str
    synthetic: bool
    rules: PreparationRules
    files: dict[str, str]
    problems: tuple[Problem, ...]
    data_dir: Path
    synthetic_seed: int | None = None


def load_dataset(
    data_dir: Path | str, mapping: Path | str | None = None, extract_date: dt.date | None = None
) -> Dataset:
    """Read, map, validate and type a data folder; raise ``DataValidationError`` listing every error.

    ``mapping`` and ``extract_date`` override ``dataset.yaml``. The extract date
    is required (from one or the other) and never inferred from the data.
    """
    data_dir = Path(data_dir)
    config, problems = read_config(data_dir)
    extract = extract_date or _config_date(config, problems)
    if extract is None and not any(p.column == "extract_date" for p in problems):  # not already reported as bad
        problems.append(Problem(CONFIG_FILE, "extract_date", "extract_date",
                                "the extract (data cut-off) date is not given; it is never inferred from the data",
                                allowed="extract_date: YYYY-MM-DD in dataset.yaml, or --extract-date YYYY-MM-DD"))
    mapping_path = Path(mapping) if mapping is not None else _config_path(data_dir, "mapping", config.get("mapping"), problems)
    file_mapping, found = load_mapping(mapping_path)
    problems += found
    rules, found = rules_from_config(config.get("rules"))
    problems += found
    synthetic = _config_synthetic(config, problems)
    frames, files = {}, {}
    for role, schema in SCHEMAS.items():
        name = str(config.get(role) or DEFAULT_FILES[role])
        files[role] = name
        if _config_path(data_dir, role, name, problems) is None:
            frames[role] = None
            continue
        frame, found = _load_file(data_dir / name, name, schema, file_mapping, extract)
        problems += found
        frames[role] = frame
    if errors(problems):
        raise DataValidationError(errors(problems))
    return Dataset(
        referrals=frames["referrals"],
        police=frames["police"],
        extract_date=extract,
        description=str(config.get("description") or data_dir.name),
        synthetic=synthetic,
        rules=rules,
        files=files,
        problems=tuple(problems),
        data_dir=data_dir,
        synthetic_seed=_config_seed(config, problems),
    )


def _config_synthetic(config: dict, problems: list[Problem]) -> bool:
    """``synthetic:`` must be a YAML boolean (``true``/``false``, unquoted). Anything else, the quoted
    string ``"no"`` included, is an error rather than a guess: reading it as true would publish real
    data unsuppressed under a SYNTHETIC banner. Absent means supplied (not synthetic) data."""
    value = config.get("synthetic", False)
    if isinstance(value, bool):
        return value
    problems.append(Problem(CONFIG_FILE, "synthetic", "synthetic", f"not a boolean: {value!r}",
                            allowed="synthetic: true or synthetic: false, without quotes (absent = false, supplied data)"))
    return False


def _config_seed(config: dict, problems: list[Problem]) -> int | None:
    seed = config.get("synthetic_seed")
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int):
        problems.append(Problem(CONFIG_FILE, "synthetic_seed", "synthetic_seed", f"not a whole number: {seed!r}",
                                allowed="synthetic_seed: a whole number (the generator's seed)", severity="warning"))
        return None
    return seed


def read_config(data_dir: Path) -> tuple[dict, list[Problem]]:
    """``dataset.yaml`` as a dict, and its problems (missing file, bad YAML, unknown keys)."""
    path = data_dir / CONFIG_FILE
    if not data_dir.is_dir():
        return {}, [Problem(str(data_dir), None, "no_folder", "data folder not found")]
    if not path.is_file():
        return {}, [Problem(CONFIG_FILE, None, "file_missing", f"not found in {data_dir}",
                            allowed="a dataset.yaml naming the files and the extract date (docs/data.md)")]
    try:
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDates) or {}  # noqa: S506 (a safe loader)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
        return {}, [Problem(CONFIG_FILE, None, "yaml", f"not a readable YAML file: {exc}")]
    if not isinstance(config, dict):
        return {}, [Problem(CONFIG_FILE, None, "yaml", "must be a mapping of settings")]
    problems = [Problem(CONFIG_FILE, str(key), "unknown_key", f"unknown setting {key!r}", allowed=", ".join(CONFIG_KEYS))
                for key in config if key not in CONFIG_KEYS]
    return config, problems


def _config_date(config: dict, problems: list[Problem]) -> dt.date | None:
    value = config.get("extract_date")
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    shown = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value
    day = None
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            pass
    if day is None or not dt.date(1900, 1, 1) <= day <= dt.date(2100, 12, 31):
        problems.append(Problem(CONFIG_FILE, "extract_date", "date", f"not a valid ISO date (a day, no time): {shown!r}",
                                allowed="YYYY-MM-DD between 1900-01-01 and 2100-12-31"))
        return None
    return day


def _config_path(data_dir: Path, key: str, value: object, problems: list[Problem]) -> Path | None:
    """A file named in dataset.yaml: a plain path inside the data folder (no absolute path, no ``..``,
    no symbolic link leading out of it), else a problem and None."""
    if value is None:
        return None
    text = str(value)
    path = data_dir / text
    inside = not Path(text).is_absolute() and ".." not in Path(text).parts
    if inside and data_dir.is_dir():
        inside = path.resolve().is_relative_to(data_dir.resolve())
    if not isinstance(value, str) or not inside:
        problems.append(Problem(CONFIG_FILE, key, "path", f"not a file inside the data folder: {value!r}",
                                allowed="a file name relative to the data folder (no absolute path, no '..', "
                                        "no link leading out of it)"))
        return None
    return path


def _load_file(path: Path, label: str, schema: FileSchema, mapping: Mapping,
               extract_date: dt.date | None) -> tuple[pd.DataFrame | None, list[Problem]]:
    frame, problems = read_raw_csv(path, label)
    if frame is None or frame.empty:
        return None, problems
    renamed = rename_columns(frame, schema, mapping)
    mapped = translate_codes(renamed, schema, mapping)
    problems += validate_frame(mapped, schema, label, extract_date, supplied=renamed)
    if errors(problems):
        return None, problems
    return typed_frame(mapped, schema), problems


def typed_frame(frame: pd.DataFrame, schema: FileSchema) -> pd.DataFrame:
    """Schema columns with their types; absent optional columns added as missing."""
    out = pd.DataFrame(index=frame.index)
    for spec in schema.columns:
        values = frame[spec.name] if spec.name in frame.columns else pd.Series(pd.NA, index=frame.index, dtype="string")
        if spec.type == "date":
            out[spec.name] = parse_dates(values)
        elif spec.type == "integer":
            out[spec.name] = parse_integers(values)
        elif spec.type == "code":
            out[spec.name] = values.fillna(spec.empty).astype(object) if spec.empty else values.astype(object)
        else:
            out[spec.name] = values.astype(object)
    return out
