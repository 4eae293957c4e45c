"""Offender-like test data shared by the score-model and one-call tests."""

import numpy as np
import pandas as pd
from scipy import stats


def offenders(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Age, a 0/1 marker, a three-level offence type and a history count; treatment from a probit
    on all four (so every covariate matters), indexed by string labels."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "age": rng.normal(32, 9, n).round(1),
            "marker": rng.integers(0, 2, n),
            "offence": rng.choice(["violent", "property", "other"], n),
            "history": rng.poisson(2, n),
        },
        index=[f"p{i}" for i in range(n)],
    )
    index = -1.2 + 0.03 * (d.age - 32) + 0.4 * d.marker + 0.1 * d.history + 0.3 * (d.offence == "violent")
    d["treated"] = (rng.random(n) < stats.norm.cdf(index)).astype(int)
    return d
