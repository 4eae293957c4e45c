"""The fixed design of the synthetic data: counts by construction, dates, strata and shares.

Every number here is a published count or share of the evaluation (or derived from them), so that the
prepared analysis file reproduces the report's counts and unmatched means; see
:mod:`psm.newchance.synthetic.simulation` for how they are used.
"""

from __future__ import annotations

import datetime as dt


EXTRACT_DATE = dt.date(2020, 1, 10)
START_WINDOW = (dt.date(2015, 5, 6), dt.date(2015, 5, 31))  # the comparison group's start offences

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



# Shares of the whole group behind the PSM codes. Treated: section 3.2 where it does not
# contradict Table 1 (10% employed, "almost 40%" not assessed for substance misuse, 42% for MH).
# Comparison: not published; police markers are more often missing than programme assessments.
TREATED_SHARES = {"employed": 0.10, "substance_not_assessed": 0.39, "mh_not_assessed": 0.42}
COMPARISON_SHARES = {"employed": 0.11, "substance_not_assessed": 0.33, "mh_not_assessed": 0.30}
