"""Synthetic New Chance data: a seeded structural simulation in the raw schema.

The real evaluation data are confidential police and programme records. This
module writes a stand-in that goes through exactly the same path as supplied
data (``docs/data.md``): a referral file (the treatment group, one row per
referral) and a police extract (one row per recorded offence, from which the
comparison group is built), plus ``dataset.yaml``. Nothing here is real.

Structure of the simulation (one seed drives everything, through
:class:`numpy.random.SeedSequence` child streams):

1. **Person characteristics.** For each group the covariates the published
   analysis matched on are allocated *by construction* to exact counts, so
   that the prepared analysis file reproduces the unmatched means of Table 1
   (ethnicity, substance and MH markers, employment, offence type) and the
   counts of the report (421 referrals, 410 treated, 362 comparison, window
   Ns 769/758/742/710/610). Which person gets which value is random but not
   independent: a latent "need" factor ranks persons before allocation, so
   substance and MH needs, unemployment and long offending histories go
   together. Ages and offending histories are drawn from skewed
   distributions and nudged by one year / one offence until their sums hit
   the published means.
2. **Referral (selection on observables).** The two groups differ in their
   covariate distributions exactly as Table 1 reports (more non-White and MH
   needs, fewer substance needs among the referred); equivalently the
   propensity is ``P(T=1 | x) = pi f_T(x) / (pi f_T(x) + (1 - pi) f_C(x))``.
   The same covariates drive reoffending, so the unmatched comparison is
   confounded and matching has work to do.
3. **Index offence** as police free text (:data:`OFFENCE_TEXTS`), classified by
   the keyword rule of the report (violence, robbery, assault, wounding with
   intent, causing bodily harm -> Violent; theft, burglary, shoplifting ->
   Property; the rest Other).
4. **Reoffending.** Time to first reoffence follows a proportional-hazards
   cure model (a "promotion time" model): the cumulative hazard is
   ``H_i(t) = exp(eta_i) * G(t)`` with ``G`` the Weibull distribution function
   ``G(t) = 1 - exp(-(t / scale) ** shape)``, so that

   ``P(reoffence by day t) = 1 - exp(-exp(eta_i) * G(t))``

   and a share ``exp(-exp(eta_i))`` never reoffends.
   ``eta_i = b0 + b' x_i`` and the programme multiplies the hazard of a
   treated woman by ``exp(tau_i)`` in the first six months (``tau_e`` if she
   engaged, ``tau_n`` if not) and by ``exp(tau_i + tau_w)`` afterwards (the
   support wanes), i.e. ``H_i(t) = exp(eta_i) * (exp(tau_i) G(min(t, c)) +
   exp(tau_i + tau_w) (G(t) - G(c))+)`` with ``c`` = 182 days. Event times are drawn by inversion with stratified uniforms (a
   random permutation of ``(k + v_k) / n``), which keeps the realised rates
   close to their expectation. Later offences follow a Poisson process whose
   rate rises with the same needs. Times are kept a few days away from the
   window limits (30, 60, 90 days, 6 and 12 months) so that the outcome of a
   person does not depend on whether a window is read as ``<`` or ``<=``.
5. **Files.** Referral dates avoid the per-window cut-off dates by a few days
   for the same reason; the comparison start offences lie inside
   6-31 May 2015 and non-start offences keep clear of its ends.

The constants of step 4 (:data:`OUTCOME_MODEL`) were fitted once, offline, to
the before-matching reoffending rates of Table 2 and the joint-file text
(``scripts/calibrate_synthetic.py`` re-runs the fit and the seed
search); the default seed :data:`DEFAULT_SEED` is the first seed whose
realisation meets every rate target with a margin. The true effects of the
simulation are computed by :func:`true_effects`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import yaml

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
    "run_synthesize_command",
    "simulate_people",
    "synthesize",
    "true_effects",
    "write_synthetic",
]

DEFAULT_SEED = 396  # first seed of the offline search meeting every rate target within 1.05 pp
EXTRACT_DATE = dt.date(2020, 1, 10)
START_WINDOW = (dt.date(2015, 5, 6), dt.date(2015, 5, 31))
DESCRIPTION = (
    "SYNTHETIC New Chance data (not real people): a seeded structural simulation calibrated to the "
    "published tables of the University of Birmingham evaluation (2020)."
)

# --- counts by construction -------------------------------------------------------------------
# Treated analysed (410) by referral-date stratum; the upper limit of each stratum is a
# per-window cut-off of Table 2 ("Treatment file up to 10th December 2019" etc.). The window Ns
# minus 362 controls give 410, 407, 396, 380, 348, 248 treated, hence these stratum sizes.
# Each stratum: (first day, last day, number of analysed referrals, number of them non-White).
REFERRAL_STRATA: tuple[tuple[dt.date, dt.date, int, int], ...] = (
    (dt.date(2016, 6, 1), dt.date(2019, 1, 10), 248, 76),   # eligible for every window
    (dt.date(2019, 1, 11), dt.date(2019, 7, 10), 100, 29),  # up to 6 months
    (dt.date(2019, 7, 11), dt.date(2019, 10, 10), 32, 10),  # up to 90 days
    (dt.date(2019, 10, 11), dt.date(2019, 11, 10), 16, 4),  # up to 60 days
    (dt.date(2019, 11, 11), dt.date(2019, 12, 10), 11, 3),  # up to 30 days
    (dt.date(2019, 12, 11), dt.date(2019, 12, 31), 3, 1),   # total only
)
CUTOFF_GUARD_DAYS = 4  # no referral within this many days of a stratum limit
N_JANUARY_2020 = 8     # referrals 1-9 January 2020, removed by preparation (421 - 410 - 3)
N_COMPARISON = 362
N_UNDER_18 = 14        # comparison-window offenders under 18, removed by preparation
N_NO_START = 40        # police-extract persons without an offence in 6-31 May 2015

# Table 1 unmatched means turned into counts (treated of 410, comparison of 362).
TREATED_COUNTS = {
    "substance_yes": 103,   # 0.2512 -> 0.25
    "mh_yes": 193,          # 0.4707 -> 0.47
    "employed_or_no_data": 119,  # 0.2902 -> 0.29 (published PSM coding; see README)
    "violent": 45,
    "property": 135,        # offence type mean 1 + (45 + 2*135)/410 = 1.768 -> 1.77
    "age_sum": 13546,       # 33.04 * 410
    "history_sum": 9524,    # 23.23 * 410
}
COMPARISON_COUNTS = {
    "non_white": 76,        # 0.2099 -> 0.21
    "substance_yes": 123,   # 0.3398 -> 0.34
    "mh_yes": 152,          # 0.4199 -> 0.42
    "employed_or_no_data": 101,  # 0.2790 -> 0.28
    "violent": 40,
    "property": 130,        # 1 + (40 + 260)/362 = 1.829 -> 1.83
    "age_sum": 11932,       # 32.96 * 362
    "history_sum": 9007,    # 24.88 * 362
}

ENGAGEMENT_LEVELS = {"ongoing": 200, "did_not_engage": 177, "one_appointment_only": 44}  # of 421
N_OVER_6_MONTHS = 17        # 4% of 421
N_3_TO_6_MONTHS = 58

WINDOW_LIMIT_DAYS = (30, 60, 90, 182, 365)
WANING_DAY = 182  # the programme's effect on the hazard changes after six months
WINDOW_GUARD = {30: 2, 60: 2, 90: 2, 182: 4, 365: 4}  # days kept clear around each limit


# --- offence descriptions ----------------------------------------------------------------------
# Police-style wording. The category is what the report's keyword rule gives (section 3.2.1):
# note the traps a keyword search falls into, kept on purpose: "Harassment without violence"
# is Violent, "Handling stolen goods" and GBH wordings without the listed phrases are Other.
# Texts matching both a Violent and a Property keyword are marked "both".
OFFENCE_TEXTS: Mapping[str, tuple[str, ...]] = {
    "violent": (
        "Assault occasioning actual bodily harm",
        "ASSAULT BY BEATING",
        "Common assault",
        "common assault - domestic related",
        "Assault on emergency worker (police constable)",
        "Racially or religiously aggravated common assault",
        "Robbery of personal property",
        "Wounding with intent to do grievous bodily harm",
        "Causing bodily harm by wanton or furious driving",
        "Violence without injury",
        "Harassment without violence",
        "Threats to kill / violence with injury",
    ),
    "property": (
        "Theft from shop",
        "SHOPLIFTING",
        "Shoplifting - goods under 200 pounds",
        "theft from the person",
        "Theft of pedal cycle",
        "Theft by employee",
        "Burglary - dwelling",
        "Burglary other than a dwelling",
        "Attempted burglary",
        "Theft from motor vehicle",
        "Making off without payment after theft of fuel",
    ),
    "other": (
        "Criminal damage to property valued under 5000 pounds",
        "Possession of cannabis",
        "POSSESSION OF CONTROLLED DRUG - CLASS A",
        "Drink driving - excess alcohol",
        "Public order offence - section 5",
        "Fraud by false representation",
        "Handling stolen goods",
        "Possession of an offensive weapon in a public place",
        "Breach of restraining order",
        "Drunk and disorderly",
        "Obstruct / resist a police constable",
        "Malicious communications",
        "Affray",
        "Criminal Damage - other",
    ),
    "both": (
        "Robbery - theft of mobile phone",
        "Burglary with assault on occupier",
        "Assault and theft from the person",
    ),
}
BOTH_CATEGORY = "violent"  # category a "both" text counts towards (keyword rule precedence)
N_BOTH = 10                # "both" texts among the violent index offences of each group


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


@dataclass(frozen=True)
class SyntheticData:
    """One realisation: the two raw files, the dataset configuration and the hidden truth.

    ``people`` has one row per simulated person (both files) with the latent quantities the
    files do not show: ``analysed`` (expected to survive preparation), ``eta0`` (linear
    predictor without treatment), ``tau`` (treatment log hazard ratio, 0 for comparison),
    ``follow_up_days`` and the realised ``days_to_reoffence``.
    """

    referrals: pd.DataFrame
    police: pd.DataFrame
    dataset: dict
    people: pd.DataFrame
    seed: int
    model: OutcomeModel


# --- small allocation helpers -----------------------------------------------------------------
def _allocate(rng: np.random.Generator, labels: Mapping[str, int], score: np.ndarray | None = None) -> np.ndarray:
    """Exactly ``labels[k]`` persons get label ``k``.

    Without ``score`` the persons are a random permutation; with it, persons
    ranked by ``score + Gumbel noise`` (descending) take the labels in the order
    given, so a higher score makes the first label more likely while the counts
    stay exact.
    """
    pool = np.repeat(np.array(list(labels), dtype=object), list(labels.values()))
    n = len(pool)
    noise = rng.gumbel(size=n)
    order = np.argsort(-(noise if score is None else np.asarray(score, float) + noise), kind="stable")
    out = np.empty(n, dtype=object)
    out[order] = pool
    return out


def _adjust_sum(rng: np.random.Generator, values: np.ndarray, target: int, lo, hi) -> np.ndarray:
    """Rescale ``values`` to integers and move single units until they sum to ``target`` within [lo, hi].

    ``lo`` and ``hi`` may be scalars or per-element arrays.
    """
    values = np.clip(np.rint(values * target / values.sum()), lo, hi).astype(int)
    while (diff := target - int(values.sum())) != 0:
        step = 1 if diff > 0 else -1
        movable = np.flatnonzero((values + step >= lo) & (values + step <= hi))
        if movable.size == 0:
            raise ValueError(f"cannot reach the sum {target} within the bounds")
        chosen = rng.choice(movable, size=min(abs(diff), movable.size), replace=False)
        values[chosen] += step
    return values


def _dates_in(rng: np.random.Generator, first: dt.date, last: dt.date, n: int, guard: int = 0) -> list[dt.date]:
    """``n`` random dates from ``first + guard`` to ``last - guard`` (inclusive), sorted."""
    span = (last - first).days - 2 * guard
    offsets = np.sort(rng.integers(0, span + 1, size=n))
    return [first + dt.timedelta(days=int(guard + o)) for o in offsets]


def _stratified_uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random permutation of ``(k + v_k) / n``, k = 0..n-1, v_k ~ U(0, 1)."""
    return rng.permutation((np.arange(n) + rng.uniform(size=n)) / n)


# --- person characteristics -------------------------------------------------------------------
def _ages(rng: np.random.Generator, n: int, target_sum: int, *, force_range: bool) -> np.ndarray:
    """Skewed adult ages (18 + Gamma(2.2, 6.9)) in 18-76, nudged to sum to ``target_sum``.

    With ``force_range`` the youngest is 18 and the oldest 76, the published range.
    """
    lo, hi = 18, 76
    ages = _adjust_sum(rng, lo + rng.gamma(2.2, 6.9, size=n), target_sum, lo, hi)
    return _pin_range(rng, ages, target_sum, lo, hi) if force_range else ages


def _pin_range(rng: np.random.Generator, values: np.ndarray, target_sum: int, lo: int, hi: int) -> np.ndarray:
    """Set the smallest value to ``lo`` and the largest to ``hi``; re-nudge the others (strictly inside)."""
    lo_i, hi_i = np.full(values.size, lo + 1), np.full(values.size, hi - 1)
    smallest, largest = np.argmin(values), np.argmax(values)
    lo_i[smallest] = hi_i[smallest] = lo
    lo_i[largest] = hi_i[largest] = hi
    return _adjust_sum(rng, values.astype(float), target_sum, lo_i, hi_i)


def _histories(rng: np.random.Generator, age: np.ndarray, need: np.ndarray, target_sum: int, hi: int) -> np.ndarray:
    """Total known offences (1 to ``hi``, both taken): Gamma-Poisson growing with age and need,
    nudged to the sum."""
    mean = np.exp(0.5 * need) * (age - 15.0) ** 0.8
    raw = 1 + rng.poisson(rng.gamma(1.3, mean / 1.3))
    return _pin_range(rng, _adjust_sum(rng, raw.astype(float), target_sum, 1, hi), target_sum, 1, hi)


def _covariates(
    rng: np.random.Generator, n: int, counts: Mapping[str, int], non_white: np.ndarray, *, max_history: int,
    force_age_range: bool = False,
) -> pd.DataFrame:
    """Persons of one group, every published mean met by construction (``counts``)."""
    need = rng.standard_normal(n)  # the latent "need" factor
    age = _ages(rng, n, counts["age_sum"], force_range=force_age_range)
    substance = _allocate(rng, {1: counts["substance_yes"], 0: n - counts["substance_yes"]}, 1.2 * need)
    mh = _allocate(rng, {1: counts["mh_yes"], 0: n - counts["mh_yes"]}, 0.8 * need)
    employed_or_nd = _allocate(
        rng, {0: n - counts["employed_or_no_data"], 1: counts["employed_or_no_data"]}, 0.8 * need
    )
    crime = _allocate(
        rng,
        {"property": counts["property"], "violent": counts["violent"],
         "other": n - counts["property"] - counts["violent"]},
        0.3 * substance.astype(float),
    )
    history = _histories(rng, age, need, counts["history_sum"], max_history)
    return pd.DataFrame(
        {
            "need": need,
            "age": age,
            "non_white": non_white.astype(int),
            "substance": substance.astype(int),
            "mh": mh.astype(int),
            "unemployed": 1 - employed_or_nd.astype(int),
            "crime_type": crime.astype(str),
            "history": history,
        }
    )


def _split(rng: np.random.Generator, pool: np.ndarray, share: float, n_group: int, labels: tuple[str, str]) -> np.ndarray:
    """Among the persons in ``pool`` (bool), exactly ``round(share * n_group)`` get ``labels[0]``."""
    out = np.full(pool.size, None, dtype=object)
    k = min(int(round(share * n_group)), int(pool.sum()))
    out[pool] = _allocate(rng, {labels[0]: k, labels[1]: int(pool.sum()) - k})
    return out


def _raw_codes(rng: np.random.Generator, people: pd.DataFrame, shares: Mapping[str, float]) -> pd.DataFrame:
    """Raw categories behind the PSM codes (ethnic appearance, employment, needs).

    ``shares`` are shares of the whole group, met exactly: ``employed`` (taken from the persons
    coded Employed-or-No-data, the rest "no_data"), ``substance_not_assessed`` and
    ``mh_not_assessed`` (taken from those coded 0 = No/Not assessed, the rest "no").
    """
    n = len(people)
    white = rng.choice(["white_north_european", "white_south_european"], size=n, p=[0.96, 0.04])
    other = rng.choice(["black", "asian", "east_asian", "middle_eastern"], size=n, p=[0.42, 0.44, 0.06, 0.08])
    ethnic = np.where(people["non_white"] == 1, other, white)
    code_1 = (people["unemployed"] == 0).to_numpy()
    employment = np.where(code_1, _split(rng, code_1, shares["employed"], n, ("employed", "no_data")), "unemployed")
    out = {"ethnic_appearance": ethnic, "employment_status": employment}
    for column, marker in (("substance_misuse_need", "substance"), ("mental_health_need", "mh")):
        no = (people[marker] == 0).to_numpy()
        out[column] = np.where(no, _split(rng, no, shares[f"{marker}_not_assessed"], n, ("not_assessed", "no")), "yes")
    return pd.DataFrame(out, index=people.index)


# Shares of the whole group behind the PSM codes. Treated: section 3.2 where it does not
# contradict Table 1 (10% employed, "almost 40%" not assessed for substance misuse, 42% for MH).
# Comparison: not published; police markers are more often missing than programme assessments.
TREATED_SHARES = {"employed": 0.10, "substance_not_assessed": 0.39, "mh_not_assessed": 0.42}
COMPARISON_SHARES = {"employed": 0.11, "substance_not_assessed": 0.33, "mh_not_assessed": 0.30}


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


def _simulate_outcomes(rng: np.random.Generator, people: pd.DataFrame, model: OutcomeModel) -> pd.DataFrame:
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


# --- the two groups ----------------------------------------------------------------------------
def _treated_people(rng: np.random.Generator, model: OutcomeModel) -> pd.DataFrame:
    n = sum(s[2] for s in REFERRAL_STRATA)
    non_white = np.concatenate(
        [_allocate(rng, {1: k, 0: m - k}).astype(int) for (_, _, m, k) in REFERRAL_STRATA]
    )
    dates = [d for (a, b, m, _) in REFERRAL_STRATA for d in _dates_in(rng, a, b, m, CUTOFF_GUARD_DAYS)]
    people = _covariates(rng, n, TREATED_COUNTS, non_white, max_history=78, force_age_range=True)
    people = people.assign(index_date=dates, analysed=True)
    extra = _covariates(rng, N_JANUARY_2020 + 3, _scaled(TREATED_COUNTS, n, N_JANUARY_2020 + 3),
                        _allocate(rng, {1: 3, 0: N_JANUARY_2020}).astype(int), max_history=78)
    extra_dates = _dates_in(rng, dt.date(2020, 1, 2), dt.date(2020, 1, 9), N_JANUARY_2020) + _dates_in(
        rng, dt.date(2017, 1, 1), dt.date(2018, 12, 31), 3
    )
    extra = extra.assign(index_date=extra_dates, analysed=False)
    people = pd.concat([people, extra], ignore_index=True)
    people = pd.concat([people, _raw_codes(rng, people, TREATED_SHARES)], axis=1)
    people.loc[len(people) - 1, "ethnic_appearance"] = "unknown"  # one removed referral, ethnicity not recorded
    engagement_score = -0.6 * people["substance"] - 0.4 * (people["age"] < 25) + 0.3 * (people["unemployed"] == 0)
    people["engagement_level"] = _allocate(rng, ENGAGEMENT_LEVELS, engagement_score.to_numpy())
    people["group"] = "treatment"
    people["follow_up_days"] = [(EXTRACT_DATE - d).days for d in people["index_date"]]
    engaged = people["engagement_level"] == "ongoing"
    people["tau"] = np.where(engaged, model.tau_engaged, model.tau_not_engaged)
    people["tau_late"] = people["tau"] + model.tau_waning
    people["engagement_length"] = _engagement_length(rng, people)
    return people


def _scaled(counts: Mapping[str, int], n_from: int, n_to: int) -> dict[str, int]:
    return {k: int(round(v * n_to / n_from)) for k, v in counts.items()}


def _engagement_length(rng: np.random.Generator, people: pd.DataFrame) -> np.ndarray:
    """Non-engagers keep their level; the ongoing split by length, limited by their follow-up."""
    length = people["engagement_level"].to_numpy(dtype=object).copy()
    ongoing = np.flatnonzero(length == "ongoing")
    follow = people["follow_up_days"].to_numpy()[ongoing]
    score = np.where(follow > 200, 0.0, -np.inf) + rng.gumbel(size=ongoing.size)
    order = ongoing[np.argsort(-score, kind="stable")]
    length[order[:N_OVER_6_MONTHS]] = "over_6_months"
    rest = order[N_OVER_6_MONTHS:]
    rest = rest[np.argsort(-(np.where(people["follow_up_days"].to_numpy()[rest] > 100, 0.0, -np.inf)
                             + rng.gumbel(size=rest.size)), kind="stable")]
    length[rest[:N_3_TO_6_MONTHS]] = "3_to_6_months"
    length[rest[N_3_TO_6_MONTHS:]] = "up_to_3_months"
    return length


def _comparison_people(rng: np.random.Generator) -> pd.DataFrame:
    n = N_COMPARISON
    non_white = _allocate(rng, {1: COMPARISON_COUNTS["non_white"], 0: n - COMPARISON_COUNTS["non_white"]})
    people = _covariates(rng, n, COMPARISON_COUNTS, non_white.astype(int), max_history=100)
    people["index_date"] = _dates_in(rng, START_WINDOW[0], START_WINDOW[1], n, guard=1)
    people = pd.concat([people, _raw_codes(rng, people, COMPARISON_SHARES)], axis=1)
    return people.assign(
        analysed=True,
        group="comparison",
        follow_up_days=[(EXTRACT_DATE - d).days for d in people["index_date"]],
        tau=0.0,
        tau_late=0.0,
        engagement_level=None,
        engagement_length=None,
    )


def _not_analysed_police_people(rng: np.random.Generator) -> pd.DataFrame:
    """Under-18s with a May-2015 offence, and persons without a start offence in the window."""
    young = pd.DataFrame(
        {"age": rng.integers(14, 17, size=N_UNDER_18), "reason": "under_18",
         "index_date": _dates_in(rng, START_WINDOW[0], START_WINDOW[1], N_UNDER_18, guard=1)}
    )
    before = _dates_in(rng, dt.date(2015, 4, 20), dt.date(2015, 5, 4), N_NO_START // 4)
    after = _dates_in(rng, dt.date(2015, 6, 2), dt.date(2015, 6, 30), N_NO_START // 4)
    later = _dates_in(rng, dt.date(2016, 1, 1), dt.date(2019, 6, 30), N_NO_START - len(before) - len(after))
    outside = pd.DataFrame(
        {"age": rng.integers(19, 55, size=N_NO_START), "reason": "no_start_offence",
         "index_date": before + after + later}
    )
    people = pd.concat([young, outside], ignore_index=True)
    n = len(people)
    people["need"] = rng.standard_normal(n)
    people["non_white"] = (rng.uniform(size=n) < 0.21).astype(int)
    people["substance"] = (rng.uniform(size=n) < 0.3).astype(int)
    people["mh"] = (rng.uniform(size=n) < 0.4).astype(int)
    people["unemployed"] = (rng.uniform(size=n) < 0.7).astype(int)
    people["crime_type"] = rng.choice(["other", "violent", "property"], size=n, p=[0.53, 0.11, 0.36])
    people["history"] = 1 + rng.poisson(np.maximum(people["age"] - 13, 1))
    people = pd.concat([people, _raw_codes(rng, people, COMPARISON_SHARES)], axis=1)
    return people.assign(
        analysed=False, group="comparison", tau=0.0, tau_late=0.0, engagement_level=None, engagement_length=None,
        follow_up_days=[(EXTRACT_DATE - d).days for d in people["index_date"]],
    )


# --- raw files ---------------------------------------------------------------------------------
def _offence_texts(rng: np.random.Generator, categories: Sequence[str], n_both: int) -> list[str]:
    """A police wording for each category; ``n_both`` of the BOTH_CATEGORY ones match two categories."""
    categories = np.asarray(categories, dtype=object)
    both_slots = rng.permutation(np.flatnonzero(categories == BOTH_CATEGORY))[:n_both]
    texts = [str(rng.choice(OFFENCE_TEXTS[c])) for c in categories]
    for i in both_slots:
        texts[i] = str(rng.choice(OFFENCE_TEXTS["both"]))
    return texts


def _code_style(rng: np.random.Generator, values: np.ndarray, empty_for: str, p_empty: float) -> list[str]:
    """Write codes as an extract would: mostly canonical, some as words ("Not assessed",
    "No Data"), and ``empty_for`` sometimes as an empty cell (the schema's meaning of empty)."""
    out = []
    for v in values:
        r = rng.uniform()
        words = str(v).replace("_", " ")
        if v == empty_for and r < p_empty:
            out.append("")
        elif r > 0.9:
            out.append(words.title())
        elif r > 0.75:
            out.append(words.capitalize())
        else:
            out.append(str(v))
    return out


def _referral_file(rng: np.random.Generator, people: pd.DataFrame) -> pd.DataFrame:
    n = len(people)
    invalid = np.flatnonzero(~people["analysed"].to_numpy())[N_JANUARY_2020:]
    days = people["days_to_reoffence"].to_numpy()
    reoffended = np.where(np.isfinite(days), "yes", "no").astype(object)
    reoffence_date = [d + dt.timedelta(days=int(x)) if np.isfinite(x) else None for d, x in zip(people["index_date"], days)]
    count = np.where(np.isfinite(days), 1 + np.array([len(x) for x in people["later_days"]]), 0).astype(object)
    # the three invalid entries: one reoffence dated before the referral, two of unknown status
    reoffended[invalid[0]] = "yes"
    reoffence_date[invalid[0]] = people["index_date"].iloc[invalid[0]] - dt.timedelta(days=23)
    count[invalid[0]] = 1
    for i in invalid[1:]:
        reoffended[i], reoffence_date[i], count[i] = "unknown", None, None
    after12 = [
        str(int(np.isfinite(d) and d <= 365) + sum(1 for x in later if x <= 365)) for d, later in zip(days, people["later_days"])
    ]
    history = people["history"].to_numpy()
    cap = np.minimum(7, history - 1)
    before12 = _adjust_sum(rng, rng.poisson(0.14 * history + 0.3) + 0.5, round(3.2 * len(people)), 0, cap)
    frame = pd.DataFrame(
        {
            "referral_id": [f"NC{1000 + i:05d}" for i in range(n)],
            "person_id": people["person_id"],
            "referral_date": [d.isoformat() for d in people["index_date"]],
            "age": people["age"],
            "ethnic_appearance": people["ethnic_appearance"],
            "employment_status": _code_style(rng, people["employment_status"].to_numpy(), "no_data", 0.3),
            "engagement_level": people["engagement_level"],
            "engagement_length": people["engagement_length"],
            "substance_misuse_need": _code_style(rng, people["substance_misuse_need"].to_numpy(), "not_assessed", 0.25),
            "mental_health_need": _code_style(rng, people["mental_health_need"].to_numpy(), "not_assessed", 0.25),
            "index_offence": people["index_offence"],
            "offending_history_total": history,
            "offences_12m_before": before12,
            "offences_12m_after": after12,
            "reoffended": reoffended,
            "reoffence_date": [d.isoformat() if d else "" for d in reoffence_date],
            "reoffence_count": ["" if c is None else str(c) for c in count],
        }
    )
    frame.loc[invalid[1:], "offences_12m_after"] = ""
    return frame.sort_values(["referral_date", "referral_id"], kind="stable").reset_index(drop=True)


def _earlier_offence_days(rng: np.random.Generator, history: int, first_day_back: int) -> list[int]:
    """Days before the start offence of the earlier offences that fall inside the extract (from 2014)."""
    n = min(history - 1, rng.poisson(0.12 * history))
    return sorted((int(d) for d in rng.integers(first_day_back, max(500, first_day_back + 200), size=n)), reverse=True)


def _police_rows(rng: np.random.Generator, person: pd.Series) -> list[dict]:
    """All extract rows of one person: earlier offences, the start offence, later offences."""
    start = person["index_date"]
    dob = start.replace(year=start.year - int(person["age"])) - dt.timedelta(days=int(rng.integers(1, 364)))
    first_back = (start - START_WINDOW[0]).days + 3  # earlier offences end before 4 May 2015
    earlier = [start - dt.timedelta(days=d) for d in _earlier_offence_days(rng, int(person["history"]), first_back)]
    later = []
    if np.isfinite(person["days_to_reoffence"]):
        later = [start + dt.timedelta(days=int(d)) for d in [person["days_to_reoffence"], *person["later_days"]]]
    if person.get("reason") == "no_start_offence":  # keep this person out of the start window
        later = [d for d in later if not (START_WINDOW[0] - dt.timedelta(days=2) <= d <= START_WINDOW[1] + dt.timedelta(days=2))]
    dates = [*earlier, start, *later]
    history0 = int(person["history"]) - len(earlier) - 1
    categories = list(rng.choice(["other", "violent", "property"], size=len(dates), p=[0.5, 0.15, 0.35]))
    categories[len(earlier)] = person["crime_type"]
    rows = []
    for k, (date, category) in enumerate(zip(dates, categories)):
        rows.append(
            {
                "person_id": person["person_id"],
                "offence_date": date,
                "offence_description": person["index_offence"] if date == start else _offence_texts(rng, [category], 0)[0],
                "age": _age_on(dob, date),
                "ethnic_appearance": person["ethnic_appearance"],
                "employment_status": person["employment_status"],
                "substance_misuse_need": person["substance_misuse_need"],
                "mental_health_need": person["mental_health_need"],
                "offending_history_total": history0 + k + 1,
            }
        )
    return rows


def _age_on(dob: dt.date, day: dt.date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def _police_file(rng: np.random.Generator, people: pd.DataFrame) -> pd.DataFrame:
    rows = [row for _, person in people.iterrows() for row in _police_rows(rng, person)]
    frame = pd.DataFrame(rows).sort_values(["offence_date", "person_id"], kind="stable").reset_index(drop=True)
    for column, empty in (("employment_status", "no_data"), ("substance_misuse_need", "not_assessed"),
                          ("mental_health_need", "not_assessed")):
        frame[column] = _code_style(rng, frame[column].to_numpy(), empty, 0.3)
    frame.insert(0, "offence_id", [f"WMP{15000000 + 37 * i:09d}" for i in range(len(frame))])
    frame["offence_date"] = [d.strftime("%d/%m/%Y") for d in frame["offence_date"]]  # UK day-first
    return frame


# --- public API --------------------------------------------------------------------------------
def _streams(seed: int) -> list[np.random.Generator]:
    """Independent generators: people, outcomes, texts, referral file, police file, ids."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]


def simulate_people(seed: int, model: OutcomeModel = OUTCOME_MODEL) -> pd.DataFrame:
    """Steps 1, 2 and 4 of the simulation: persons, their covariates, index dates and outcomes."""
    people_rng, outcome_rng = _streams(seed)[:2]
    treated = _treated_people(people_rng, model)
    comparison = pd.concat([_comparison_people(people_rng), _not_analysed_police_people(people_rng)], ignore_index=True)
    people = pd.concat([treated, comparison], ignore_index=True)
    return _simulate_outcomes(outcome_rng, people, model)


def synthesize(seed: int | None = None, model: OutcomeModel = OUTCOME_MODEL) -> SyntheticData:
    """Simulate one data set (deterministic given ``seed``; default :data:`DEFAULT_SEED`)."""
    seed = DEFAULT_SEED if seed is None else int(seed)
    people = simulate_people(seed, model)
    text_rng, file_rng, police_rng, id_rng = _streams(seed)[2:]
    people["index_offence"] = ""
    for group, n_both in (("treatment", N_BOTH), ("comparison", N_BOTH)):
        mask = (people["group"] == group).to_numpy()
        people.loc[mask, "index_offence"] = _offence_texts(text_rng, people.loc[mask, "crime_type"].tolist(), n_both)
    ids = id_rng.choice(np.arange(100000, 999999), size=len(people), replace=False)
    people["person_id"] = [("NC-" if g == "treatment" else "WMP-") + f"{i:06d}" for g, i in zip(people["group"], ids)]

    referrals = _referral_file(file_rng, people[people["group"] == "treatment"].reset_index(drop=True))
    police = _police_file(police_rng, people[people["group"] == "comparison"].reset_index(drop=True))
    dataset = {
        "description": DESCRIPTION,
        "synthetic": True,
        "synthetic_seed": seed,
        "extract_date": EXTRACT_DATE,
        "referrals": "referrals.csv",
        "police": "police_offences.csv",
    }
    return SyntheticData(referrals, police, dataset, people, seed, model)


def write_synthetic(out_dir: Path, seed: int | None = None) -> SyntheticData:
    """Write ``referrals.csv``, ``police_offences.csv`` and ``dataset.yaml`` into ``out_dir``."""
    data = synthesize(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data.referrals.to_csv(out_dir / "referrals.csv", index=False, lineterminator="\n")
    data.police.to_csv(out_dir / "police_offences.csv", index=False, lineterminator="\n")
    header = f"# Synthetic data written by `python -m psm.newchance synthesize --seed {data.seed}`.\n"
    (out_dir / "dataset.yaml").write_text(header + yaml.safe_dump(data.dataset, sort_keys=False), encoding="utf-8")
    return data


def true_effects(data: SyntheticData) -> pd.DataFrame:
    """The simulated truth: ATT per window, from the model's probabilities (no sampling noise).

    For treated person i eligible for window w (follow-up at least w days), the effect is
    ``F(w | eta0_i, tau_i) - F(w | eta0_i, 0)`` (:func:`reoffence_probability`); the ATT is its
    mean over the eligible treated.
    ``total`` uses each person's own follow-up (index date to extract date); the column
    ``published_contrast`` gives, for ``total`` only, what the published comparison estimates
    when every control is followed for the comparison group's ~4.6 years: mean
    ``F(f_i | treated) - F(f_control | untreated)`` over the treated, which mixes the effect with
    the unequal follow-up (inconsistencies.md section 5). For the windows it equals the ATT.
    """
    people = data.people[data.people["analysed"]]
    treated = people[people["group"] == "treatment"]
    control_follow_up = float(people.loc[people["group"] == "comparison", "follow_up_days"].mean())
    rows = []
    for window, days in (("total", None), *zip(("30d", "60d", "90d", "6m", "12m"), WINDOW_LIMIT_DAYS)):
        eligible = treated if days is None else treated[treated["follow_up_days"] > days]
        horizon = eligible["follow_up_days"].to_numpy() if days is None else days
        eta0, tau, tau_late = (eligible[c].to_numpy() for c in ("eta0", "tau", "tau_late"))
        p1 = reoffence_probability(eta0, tau, tau_late, horizon, data.model)
        p0 = reoffence_probability(eta0, 0.0, 0.0, horizon, data.model)
        p0_published = reoffence_probability(eta0, 0.0, 0.0, control_follow_up if days is None else days, data.model)
        rows.append(
            {"window": window, "n_treated": len(eligible), "treated_rate": p1.mean(),
             "counterfactual_rate": p0.mean(), "att": (p1 - p0).mean(),
             "published_contrast": (p1 - p0_published).mean()}
        )
    return pd.DataFrame(rows).set_index("window")


def run_synthesize_command(out_dir: Path, *, seed: int | None, out: TextIO) -> int:
    """CLI ``synthesize``: write the data set and print what was written."""
    data = write_synthetic(out_dir, seed)
    out.write(
        f"Wrote SYNTHETIC New Chance data (seed {data.seed}) to {out_dir}:\n"
        f"  referrals.csv          {len(data.referrals):5d} referrals\n"
        f"  police_offences.csv    {len(data.police):5d} offences of "
        f"{data.police['person_id'].nunique()} persons\n"
        f"  dataset.yaml           extract date {EXTRACT_DATE.isoformat()}, synthetic: true\n"
    )
    return 0
