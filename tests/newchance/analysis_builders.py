"""A small analysis file with the contract's columns, for tests of the analyses and tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from psm.newchance.preparation.outcomes import WINDOWS
from psm.newchance.preparation.prepare import AnalysisFile


def make_file(n: int = 240, seed: int = 3) -> AnalysisFile:
    """A small analysis file with the contract's columns; treatment depends on the covariates."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 60, n).astype(float)
    ethnicity = rng.binomial(1, 0.3, n).astype(float)
    substance = rng.binomial(1, 0.3, n).astype(float)
    mh = rng.binomial(1, 0.45, n).astype(float)
    employment = rng.binomial(1, 0.3, n).astype(float)
    offence_type = rng.choice([1.0, 2.0, 3.0], n, p=[0.55, 0.11, 0.34])
    history = rng.poisson(20, n).astype(float)
    index = 0.02 * (age - 33) - 0.4 * substance + 0.3 * mh + 0.01 * (history - 20)
    treated = (rng.random(n) < 1 / (1 + np.exp(-index))).astype(int)
    data = pd.DataFrame(
        {
            "treated": treated,
            "index_date": pd.Timestamp("2018-01-01"),
            "age": age,
            "ethnicity": ethnicity,
            "substance_marker": substance,
            "mh_marker": mh,
            "employment": employment,
            "offence_type": offence_type,
            "offending_history": history,
        },
        index=pd.Index([f"p{i}" for i in range(n)], name="person"),
    )
    follow_up = rng.integers(20, 1700, n).astype(float)
    days = {"total": 0, "30d": 30, "60d": 60, "90d": 90, "6m": 182, "12m": 365}
    for w in WINDOWS:
        eligible = follow_up >= days[w]  # nested windows, as eligibility by follow-up makes them
        y = rng.binomial(1, np.where(treated == 1, 0.25, 0.4)).astype(float)
        data[f"eligible_{w}"] = eligible
        data[f"reoffended_{w}"] = np.where(eligible, y, np.nan)
    reoffended = data["reoffended_total"] == 1
    data["follow_up_days"] = follow_up
    data["days_to_reoffence"] = np.where(reoffended, np.floor(rng.random(n) * follow_up) + 1, np.nan)
    data["reoffence_count"] = np.where(reoffended, 1 + rng.poisson(1.0, n), 0).astype(float)
    return AnalysisFile(data, pd.DataFrame(), pd.DataFrame(), dt.date(2020, 1, 10), True, "test file")
