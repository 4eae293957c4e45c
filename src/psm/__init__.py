"""psm — propensity-score matching, faithful to Stata's psmatch2 and pstest.

Stages, each returning a small immutable result object::

    fit_propensity  ->  match  ->  balance / effect  ->  sensitivity

See the README for a tour and ``docs/`` for the formulas and their sources.
"""

from psm.errors import (
    ColumnNotFoundError,
    ConstantCovariateError,
    EmptyGroupError,
    InvalidTreatmentError,
    InvalidValuesError,
    MissingValuesError,
    NoControlsOnSupportError,
    PSMError,
    SeparationError,
    SingularDesignError,
)
from psm.sensitivity import (
    MHBounds,
    McNemarBounds,
    matched_set_counts,
    mcnemar_bounds,
    mh_bounds,
    pair_outcomes,
    weighted_counts,
)
from psm.survival import (
    FrequencyComparison,
    KaplanMeier,
    LogRankTest,
    event_frequency,
    kaplan_meier,
    log_rank_test,
    plot_kaplan_meier,
    time_to_event,
)

__version__ = "0.1.0"

__all__ = [
    "ColumnNotFoundError",
    "ConstantCovariateError",
    "EmptyGroupError",
    "InvalidTreatmentError",
    "InvalidValuesError",
    "MissingValuesError",
    "NoControlsOnSupportError",
    "PSMError",
    "SeparationError",
    "SingularDesignError",
    # sensitivity (Rosenbaum bounds)
    "MHBounds",
    "McNemarBounds",
    "matched_set_counts",
    "mcnemar_bounds",
    "mh_bounds",
    "pair_outcomes",
    "weighted_counts",
    # survival / frequency outcomes
    "FrequencyComparison",
    "KaplanMeier",
    "LogRankTest",
    "event_frequency",
    "kaplan_meier",
    "log_rank_test",
    "plot_kaplan_meier",
    "time_to_event",
]
