"""The raw schema of the New Chance inputs, in code (documented in ``docs/data.md``).

Two files: the programme's referral file (treatment group, one row per referral)
and the police extract (comparison group, one row per recorded offence). Each
column has a type, whether it is required, and for coded columns the allowed
codes and the code an empty cell stands for. ``tests/newchance/test_schema.py``
reads the tables of ``docs/data.md`` and checks that they agree with this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "text", "date", "integer", "code"]

ETHNIC_APPEARANCE = (
    "white_north_european",
    "white_south_european",
    "black",
    "asian",
    "east_asian",
    "middle_eastern",
    "unknown",
)
EMPLOYMENT_STATUS = ("unemployed", "employed", "no_data")
NEED = ("yes", "no", "not_assessed")
ENGAGEMENT_LEVEL = ("ongoing", "did_not_engage", "one_appointment_only")
ENGAGEMENT_LENGTH = (
    "did_not_engage",
    "one_appointment_only",
    "up_to_3_months",
    "3_to_6_months",
    "over_6_months",
)
REOFFENDED = ("yes", "no", "unknown")

AGE_RANGE = (0, 120)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a raw file.

    ``required``: ``"yes"`` (column present and every cell filled), ``"no"``
    (column may be absent, cells may be empty) or ``"conditional"`` (column
    present; whether a cell must be filled depends on another column, checked
    in :mod:`psm.newchance.inputs.validation`). ``codes``: allowed codes (code columns);
    ``empty``: the code an empty cell means; ``minimum``/``maximum``: bounds of
    integer columns; ``unique``: no two rows share a value.
    """

    name: str
    type: ColumnType
    required: Literal["yes", "no", "conditional"] = "yes"
    codes: tuple[str, ...] = ()
    empty: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    unique: bool = False

    @property
    def must_exist(self) -> bool:
        return self.required != "no"

    @property
    def must_be_filled(self) -> bool:
        return self.required == "yes"


@dataclass(frozen=True)
class FileSchema:
    """A raw file: its role (``"referrals"`` or ``"police"``), its row key and columns."""

    role: Literal["referrals", "police"]
    key: str
    index_date: str
    columns: tuple[ColumnSpec, ...]

    def __getitem__(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _age() -> ColumnSpec:
    return ColumnSpec("age", "integer", minimum=AGE_RANGE[0], maximum=AGE_RANGE[1])


def _person_fields() -> tuple[ColumnSpec, ...]:
    return (
        ColumnSpec("ethnic_appearance", "code", "no", ETHNIC_APPEARANCE, empty="unknown"),
        ColumnSpec("employment_status", "code", "no", EMPLOYMENT_STATUS, empty="no_data"),
    )


def _need_fields() -> tuple[ColumnSpec, ...]:
    return (
        ColumnSpec("substance_misuse_need", "code", "no", NEED, empty="not_assessed"),
        ColumnSpec("mental_health_need", "code", "no", NEED, empty="not_assessed"),
    )


def _count(name: str, required: Literal["yes", "no"] = "yes") -> ColumnSpec:
    return ColumnSpec(name, "integer", required, minimum=0)


REFERRALS = FileSchema(
    role="referrals",
    key="referral_id",
    index_date="referral_date",
    columns=(
        ColumnSpec("referral_id", "string", unique=True),
        ColumnSpec("person_id", "string"),
        ColumnSpec("referral_date", "date"),
        _age(),
        *_person_fields(),
        ColumnSpec("engagement_level", "code", codes=ENGAGEMENT_LEVEL),
        ColumnSpec("engagement_length", "code", codes=ENGAGEMENT_LENGTH),
        *_need_fields(),
        ColumnSpec("index_offence", "text"),
        _count("offending_history_total"),
        _count("offences_12m_before"),
        _count("offences_12m_after", "no"),
        ColumnSpec("reoffended", "code", codes=REOFFENDED),
        ColumnSpec("reoffence_date", "date", "conditional"),
        _count("reoffence_count", "no"),
    ),
)

POLICE = FileSchema(
    role="police",
    key="offence_id",
    index_date="offence_date",
    columns=(
        ColumnSpec("offence_id", "string", unique=True),
        ColumnSpec("person_id", "string"),
        ColumnSpec("offence_date", "date"),
        ColumnSpec("offence_description", "text"),
        _age(),
        *_person_fields(),
        *_need_fields(),
        _count("offending_history_total"),
    ),
)

SCHEMAS: dict[str, FileSchema] = {"referrals": REFERRALS, "police": POLICE}
