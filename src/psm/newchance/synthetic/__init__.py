"""Synthetic New Chance data in the raw schema of the supplied files: a seeded structural simulation with
a known true effect, and the reconstruction (``data/synthetic``) that rearranges the default seed's people
so that the published specification reproduces the published tables.

The stages of the simulation are modules: :mod:`~psm.newchance.synthetic.design` (the published counts
the data are built to), :mod:`~psm.newchance.synthetic.people` (people and covariates),
:mod:`~psm.newchance.synthetic.outcomes` (the reoffending process), :mod:`~psm.newchance.synthetic.texts`
(offence descriptions and the raw files), :mod:`~psm.newchance.synthetic.simulation` (one seeded
realisation, written to a folder, and its true effects) and :mod:`~psm.newchance.synthetic.reconstruction`
(the stored rearrangement). The names below are the public interface.
"""

from psm.newchance.synthetic.design import EXTRACT_DATE
from psm.newchance.synthetic.outcomes import (
    OUTCOME_MODEL,
    OutcomeModel,
    cumulative_hazard,
    linear_predictor,
    reoffence_probability,
)
from psm.newchance.synthetic.reconstruction import reconstruct, write_reconstruction
from psm.newchance.synthetic.simulation import (
    DEFAULT_SEED,
    SyntheticData,
    assemble,
    simulate_people,
    synthesize,
    true_effects,
    write_folder,
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
    "assemble",
    "cumulative_hazard",
    "linear_predictor",
    "reconstruct",
    "reoffence_probability",
    "simulate_people",
    "synthesize",
    "true_effects",
    "write_folder",
    "write_reconstruction",
    "write_synthetic",
]
