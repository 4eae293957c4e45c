"""Steps 1 and 2 of the simulation: the people of both groups and their covariates, allocated to
exact published counts, with a latent need factor that makes needs go together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from psm.newchance.synthetic.design import (
    COMPARISON_COUNTS,
    COMPARISON_SHARES,
    CUTOFF_GUARD_DAYS,
    ENGAGEMENT_LEVELS,
    EXTRACT_DATE,
    N_3_TO_6_MONTHS,
    N_COMPARISON,
    N_JANUARY_2020,
    N_NO_START,
    N_OVER_6_MONTHS,
    N_UNDER_18,
    REFERRAL_STRATA,
    START_WINDOW,
    TREATED_COUNTS,
    TREATED_SHARES,
)
from psm.newchance.synthetic.outcomes import OutcomeModel


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


def adjust_sum(rng: np.random.Generator, values: np.ndarray, target: int, lo, hi) -> np.ndarray:
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


# --- person characteristics -------------------------------------------------------------------
def _ages(rng: np.random.Generator, n: int, target_sum: int, *, force_range: bool) -> np.ndarray:
    """Skewed adult ages (18 + Gamma(2.2, 6.9)) in 18-76, nudged to sum to ``target_sum``.

    With ``force_range`` the youngest is 18 and the oldest 76, the published range.
    """
    lo, hi = 18, 76
    ages = adjust_sum(rng, lo + rng.gamma(2.2, 6.9, size=n), target_sum, lo, hi)
    return _pin_range(rng, ages, target_sum, lo, hi) if force_range else ages


def _pin_range(rng: np.random.Generator, values: np.ndarray, target_sum: int, lo: int, hi: int) -> np.ndarray:
    """Set the smallest value to ``lo`` and the largest to ``hi``; re-nudge the others (strictly inside)."""
    lo_i, hi_i = np.full(values.size, lo + 1), np.full(values.size, hi - 1)
    smallest, largest = np.argmin(values), np.argmax(values)
    lo_i[smallest] = hi_i[smallest] = lo
    lo_i[largest] = hi_i[largest] = hi
    return adjust_sum(rng, values.astype(float), target_sum, lo_i, hi_i)


def _histories(rng: np.random.Generator, age: np.ndarray, need: np.ndarray, target_sum: int, hi: int) -> np.ndarray:
    """Total known offences (1 to ``hi``, both taken): Gamma-Poisson growing with age and need,
    nudged to the sum."""
    mean = np.exp(0.5 * need) * (age - 15.0) ** 0.8
    raw = 1 + rng.poisson(rng.gamma(1.3, mean / 1.3))
    return _pin_range(rng, adjust_sum(rng, raw.astype(float), target_sum, 1, hi), target_sum, 1, hi)


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


# --- the two groups ----------------------------------------------------------------------------
def treated_people(rng: np.random.Generator, model: OutcomeModel) -> pd.DataFrame:
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


def comparison_people(rng: np.random.Generator) -> pd.DataFrame:
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


def not_analysed_police_people(rng: np.random.Generator) -> pd.DataFrame:
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
