"""The reconstruction: the structural simulation rearranged so that the published tables come out.

:func:`psm.newchance.synthetic.simulation.synthesize` draws people from a model with a known effect;
its matched tables (Table 1 after matching, A1–A5, Table 2 after matching, the sub-group table) are
whatever the draw gives. The reconstruction keeps every person of the default seed
(:data:`~psm.newchance.synthetic.simulation.DEFAULT_SEED`) and every published count and unmatched
mean, and *rearranges* who has which characteristic: an offline search
(``scripts/reconstruct_synthetic.py``) permuted, within each group, the values of each matching
covariate (with its raw code) and the reoffending histories (among the treated: within the engaged and
the non-engaged, so that the rates of section 3.4.1 stay), so that the published specification reproduces
as many published cells as it can. A permutation within a group changes no group mean, variance or
count, but changes the propensity scores, the matches and the matched outcomes.

The search's outcome is stored in ``psm/newchance/data/reconstruction.yaml``: for each movable
characteristic, the permutation of the analysed people of each group (people in the order of
:func:`~psm.newchance.synthetic.simulation.simulate_people`; entry ``k`` is the person whose value the
``k``-th person takes). :func:`reconstruct` applies it and writes the files with the default seed's
text, file and id streams, so the folder is deterministic and regenerates in seconds.

Because outcomes and covariates were moved between people, the reconstruction has **no known true
effect**: :func:`psm.newchance.synthetic.simulation.true_effects` describes the structural simulation
only (``synthesize --structural``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from psm.newchance.synthetic.simulation import DEFAULT_SEED, SyntheticData, assemble, simulate_people, write_folder

MOVABLE: dict[str, tuple[str, ...]] = {
    "age": ("age",),
    "ethnicity": ("non_white", "ethnic_appearance"),
    "substance_marker": ("substance", "substance_misuse_need"),
    "mh_marker": ("mh", "mental_health_need"),
    "employment": ("unemployed", "employment_status"),
    "offence_type": ("crime_type",),
    "offending_history": ("history",),
    "reoffending": ("days_to_reoffence", "later_days"),
}
"""What the search may move between two people of a group -> the columns of the people frame that move
together (a matching covariate with its raw code; the first reoffence with the later offences)."""

GROUPS = ("treatment", "comparison")
MOVES_FILE = "reconstruction.yaml"
DESCRIPTION = (
    "SYNTHETIC New Chance data (not real people): a reconstruction - the structural simulation of the "
    "default seed with its people's characteristics rearranged so that the published specification "
    "reproduces the published tables of the University of Birmingham evaluation (2020)."
)
COMMAND = "python -m psm.newchance synthesize"


def _moves_path() -> Path:
    return Path(str(resources.files("psm.newchance") / "data" / MOVES_FILE))


def load_moves() -> dict:
    """The stored search outcome: ``{"cells": int, "permutations": {group: {movable: [int, ...]}}}``."""
    return yaml.safe_load(_moves_path().read_text(encoding="utf-8"))


def write_moves(permutations: dict[str, dict[str, list[int]]], cells: int, note: str = "") -> Path:
    """Store permutations (``{group: {movable: source positions}}``, identities left out) for :func:`reconstruct`."""
    for group, perms in permutations.items():
        for name, perm in perms.items():
            if name not in MOVABLE or sorted(perm) != list(range(len(perm))):
                raise ValueError(f"{group}/{name}: not a movable characteristic's permutation")
    body = {"cells": int(cells), "note": note, "permutations": permutations}
    text = "# Written by scripts/reconstruct_synthetic.py; read by psm.newchance.synthetic.reconstruction.\n"
    text += yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=100000)
    path = _moves_path()
    path.write_text(text, encoding="utf-8")
    return path


def rearrange(people: pd.DataFrame, permutations: dict[str, dict[str, list[int]]]) -> pd.DataFrame:
    """``people`` with each group's analysed people taking the values of the permuted people."""
    out = people.copy()
    for group, perms in permutations.items():
        rows = np.flatnonzero(((people["group"] == group) & people["analysed"]).to_numpy())
        for name, perm in perms.items():
            perm = np.asarray(perm, dtype=int)
            if len(perm) != len(rows):
                raise ValueError(f"{group}/{name}: permutation of {len(perm)} people, the group has {len(rows)}")
            for column in MOVABLE[name]:
                values = people[column].to_numpy(dtype=object if column == "later_days" else None)
                position = out.columns.get_loc(column)
                out.iloc[rows, position] = pd.Series(list(values[rows[perm]]), dtype=object).to_numpy() \
                    if column == "later_days" else values[rows[perm]]
    return out


def reconstruct(permutations: dict[str, dict[str, list[int]]] | None = None) -> SyntheticData:
    """The reconstruction: the default seed's people rearranged by ``permutations`` (default: the stored
    ones; ``{}`` gives the default seed's people with the reconstruction's file layout). Each comparison
    woman's extract rows come from her own random stream, so the prepared file's order follows from
    the people alone (the matching breaks tied scores by that order)."""
    people = simulate_people(DEFAULT_SEED)
    permutations = load_moves()["permutations"] if permutations is None else permutations
    return assemble(rearrange(people, permutations), DEFAULT_SEED, description=DESCRIPTION, record_seed=False,
                    per_person=True)


def write_reconstruction(out_dir: Path) -> SyntheticData:
    """Write the reconstruction into ``out_dir`` (the committed ``data/synthetic``)."""
    return write_folder(reconstruct(), out_dir, command=COMMAND)
