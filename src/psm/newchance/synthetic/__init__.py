"""Synthetic New Chance data: a seeded structural simulation written in the raw schema of the supplied
files, with a known true effect.

The stages of the simulation are modules: :mod:`~psm.newchance.synthetic.design` (the published counts
the data are built to), :mod:`~psm.newchance.synthetic.people` (people and covariates),
:mod:`~psm.newchance.synthetic.outcomes` (the reoffending process), :mod:`~psm.newchance.synthetic.texts`
(offence descriptions and the raw files) and :mod:`~psm.newchance.synthetic.simulation` (one seeded
realisation, written to a folder, and its true effects). The names below are the public interface.
"""

from psm.newchance.synthetic.design import EXTRACT_DATE
from psm.newchance.synthetic.outcomes import (
    OUTCOME_MODEL,
    OutcomeModel,
    cumulative_hazard,
    linear_predictor,
    reoffence_probability,
)
from psm.newchance.synthetic.simulation import (
    DEFAULT_SEED,
    SyntheticData,
    simulate_people,
    synthesize,
    true_effects,
    write_synthetic,
)
from psm.newchance.synthetic.texts import OFFENCE_TEXTS

__all__ = [
    "DEFAULT_SEED",
    "EXTRACT_DATE",
    "OFFENCE_TEXTS",
    "OUTCOME_MODEL",
    "OutcomeModel",
    "SyntheticData",
    "cumulative_hazard",
    "linear_predictor",
    "reoffence_probability",
    "simulate_people",
    "synthesize",
    "true_effects",
    "write_synthetic",
]
