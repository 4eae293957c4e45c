"""Step 4 of the simulation: the reoffending process (a proportional-hazards cure model).

Formulas in :mod:`psm.newchance.synthetic.simulation`; the constants (:data:`OUTCOME_MODEL`) were
fitted offline by ``scripts/calibrate_synthetic.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psm.newchance.synthetic.design import WANING_DAY, WINDOW_GUARD


@dataclass(frozen=True)
class OutcomeModel:
    """Constants of the reoffending process (see the module docstring for the formulas).

    ``coef`` are log hazard ratios for the covariates (``young`` = age < 25,
    ``log_history`` = log(offending history) centred at log 20); ``tau_engaged``
    and ``tau_not_engaged`` the log hazard ratios of the programme in the first
    :data:`WANING_DAY` days, ``tau_waning`` added to them afterwards; ``repeat_*``
    the Poisson rate (per year) of offences after the first reoffence,
    ``repeat_rate * exp(repeat_need * (substance + mh))``.
    """

    intercept: float
    shape: float
    scale: float
    tau_engaged: float
    tau_not_engaged: float
    tau_waning: float = 0.0
    coef: Mapping[str, float] = field(default_factory=dict)
    repeat_rate: float = 1.2
    repeat_need: float = 0.35


# Fitted offline by scripts/calibrate_synthetic.py (least squares of the expected
# before-matching rates of Table 2 / the joint-file text; covariate effects fixed a priori from
# the sub-group control rates of the sub-group table: substance 0.79, MH 0.66, White 0.49,
# unemployed 0.53 against 0.445 overall).
OUTCOME_MODEL = OutcomeModel(
    intercept=-1.6743,
    shape=0.8301,
    scale=388.87,
    tau_engaged=-0.8104,
    tau_not_engaged=-0.6103,
    tau_waning=0.4422,
    coef={
        "substance": 1.2,
        "mh": 0.6,
        "non_white": -0.6,
        "unemployed": 0.6,
        "young": 0.3,
        "log_history": 0.25,
        "property": 0.2,
    },
)


def _stratified_uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random permutation of ``(k + v_k) / n``, k = 0..n-1, v_k ~ U(0, 1)."""
    return rng.permutation((np.arange(n) + rng.uniform(size=n)) / n)


# --- reoffending -------------------------------------------------------------------------------
def linear_predictor(people: pd.DataFrame, model: OutcomeModel) -> np.ndarray:
    """``eta0 = b0 + b' x`` (without the treatment term)."""
    x = {
        "substance": people["substance"],
        "mh": people["mh"],
        "non_white": people["non_white"],
        "unemployed": people["unemployed"],
        "young": (people["age"] < 25).astype(int),
        "log_history": np.log(people["history"]) - np.log(20.0),
        "property": (people["crime_type"] == "property").astype(int),
    }
    eta = np.full(len(people), model.intercept)
    for name, beta in model.coef.items():
        eta = eta + beta * np.asarray(x[name], dtype=float)
    return eta


def _weibull_cdf(days, model: OutcomeModel) -> np.ndarray:
    return 1.0 - np.exp(-((np.asarray(days, float) / model.scale) ** model.shape))


def cumulative_hazard(eta0: np.ndarray, tau: np.ndarray, tau_late: np.ndarray, days, model: OutcomeModel) -> np.ndarray:
    """``H(t) = exp(eta0) * (exp(tau) G(min(t, c)) + exp(tau_late) (G(t) - G(c))+)``, c = WANING_DAY."""
    g_c = _weibull_cdf(WANING_DAY, model)
    g = _weibull_cdf(days, model)
    return np.exp(eta0) * (np.exp(tau) * np.minimum(g, g_c) + np.exp(tau_late) * np.maximum(g - g_c, 0.0))


def reoffence_probability(eta0, tau, tau_late, days, model: OutcomeModel) -> np.ndarray:
    """``P(first reoffence by day t) = 1 - exp(-H(t))`` (see :func:`cumulative_hazard`)."""
    return 1.0 - np.exp(-cumulative_hazard(eta0, tau, tau_late, days, model))


def _first_reoffence_days(u: np.ndarray, eta0, tau, tau_late, model: OutcomeModel) -> np.ndarray:
    """Invert the model: the day with ``P(T <= t) = u`` (inf if the person never reoffends)."""
    target = -np.log1p(-u)
    early = np.exp(eta0 + tau)
    h_c = early * _weibull_cdf(WANING_DAY, model)
    g = np.where(target <= h_c, target / early, _weibull_cdf(WANING_DAY, model) + (target - h_c) / np.exp(eta0 + tau_late))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = model.scale * (-np.log1p(-np.minimum(g, 1.0))) ** (1.0 / model.shape)
    t = np.where(g >= 1.0, np.inf, t)
    days = np.maximum(np.ceil(t), 1.0)
    for limit, guard in WINDOW_GUARD.items():  # keep clear of window limits, same side
        below = (days >= limit - guard) & (days <= limit)
        above = (days > limit) & (days <= limit + guard)
        days = np.where(below, limit - guard - 1, np.where(above, limit + guard + 1, days))
    return days


def _later_offence_days(rng: np.random.Generator, first: float, follow_up: int, rate: float) -> list[int]:
    """Days of offences after the first reoffence: Poisson process, ``rate`` per year."""
    if not np.isfinite(first):
        return []
    n = rng.poisson(rate * (follow_up - first) / 365.25)
    return sorted(int(d) for d in rng.integers(int(first) + 1, follow_up, size=n)) if follow_up - first > 1 else []


def simulate_outcomes(rng: np.random.Generator, people: pd.DataFrame, model: OutcomeModel) -> pd.DataFrame:
    eta0 = linear_predictor(people, model)
    tau, tau_late = people["tau"].to_numpy(), people["tau_late"].to_numpy()
    days = _first_reoffence_days(_stratified_uniform(rng, len(people)), eta0, tau, tau_late, model)
    days = np.where(days < people["follow_up_days"].to_numpy(), days, np.inf)
    rate = model.repeat_rate * np.exp(model.repeat_need * (people["substance"] + people["mh"]).to_numpy())
    later = [_later_offence_days(rng, d, int(f), r) for d, f, r in zip(days, people["follow_up_days"], rate)]
    return people.assign(
        eta0=eta0,
        days_to_reoffence=np.where(np.isfinite(days), days, np.nan),
        later_days=later,
    )
