"""psm — propensity-score matching, faithful to Stata's psmatch2 and pstest.

Stages, each returning a small immutable result object::

    fit_propensity  ->  match  ->  balance / effect  ->  mh_bounds, kaplan_meier, ...

Each function's docstring gives its formulas and their sources (ado lines, papers, R code);
the README has a tour, ``docs/decisions.md`` the judgement calls of the New Chance reproduction.
"""

from psm import datasets, plots
from psm.balance import BalanceTable, balance
from psm.errors import (
    ColumnNotFoundError,
    ConstantCovariateError,
    CovariateTypeError,
    EmptyGroupError,
    InvalidTreatmentError,
    InvalidValuesError,
    InvalidWeightsError,
    MissingValuesError,
    NoControlsOnSupportError,
    PSMError,
    SeparationError,
    SingularDesignError,
)
from psm.bootstrap import BootstrapSE, bootstrap_se
from psm.effects import Effect, EffectRow, effect
from psm.kernel import KernelMatching, kernel_match
from psm.mahalanobis import mahalanobis_match
from psm.matching import Matching, match
from psm.propensity import PropensityModel, fit_propensity
from psm.psmatch2 import PSMatch2Result, psmatch2
from psm.summary import Summary
from psm.support import common_support
from psm.teffects import TeffectsResult, teffects_psmatch
from psm.matched_sets import component_counts, matched_set_counts, pair_outcomes, weighted_counts
from psm.sensitivity import MHBounds, McNemarBounds, mcnemar_bounds, mh_bounds
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
    "BalanceTable",
    "BootstrapSE",
    "bootstrap_se",
    "balance",
    "datasets",
    "plots",
    "ColumnNotFoundError",
    "ConstantCovariateError",
    "CovariateTypeError",
    "Effect",
    "EffectRow",
    "EmptyGroupError",
    "InvalidTreatmentError",
    "InvalidValuesError",
    "InvalidWeightsError",
    "KernelMatching",
    "Matching",
    "MissingValuesError",
    "NoControlsOnSupportError",
    "PSMatch2Result",
    "PSMError",
    "PropensityModel",
    "SeparationError",
    "SingularDesignError",
    "Summary",
    "common_support",
    "effect",
    "fit_propensity",
    "kernel_match",
    "mahalanobis_match",
    "match",
    "psmatch2",
    "TeffectsResult",
    "teffects_psmatch",
    # sensitivity (Rosenbaum bounds)
    "MHBounds",
    "McNemarBounds",
    "component_counts",
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
