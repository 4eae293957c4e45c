"""psm.teffects_psmatch against Stata's printed ``teffects psmatch`` output.

Reference: Stata 18 SE log of C. Mendez, "Treatment Effects in Stata: A Beginner's Tour of
Six Estimators with the Maternal Smoking and Birth Weight Case Study" (2026),
https://carlos-mendez.org/post/stata_matching/analysis.log, on cattaneo2.dta (Cattaneo
2010; tests/data/cattaneo2.csv, see tests/data/README.md):

    . teffects psmatch (bweight) (mbsmoke mmarried mage fage medu prenatal1)
    Treatment model: logit          Matches: requested = 1, max = 16
    ATE   |  -229.4492   25.88746    -8.86   0.000    -280.1877   -178.7107
    . teffects psmatch (bweight) (mbsmoke mmarried mage fage medu prenatal1), atet
    ATET  |  -224.5927   30.55147    -7.35   0.000    -284.4725   -164.7129
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psm

DATA = Path(__file__).parent / "data" / "cattaneo2.csv"
COVARIATES = ["mmarried", "mage", "fage", "medu", "prenatal1"]

STATA = {
    # estimand: (coefficient, AI robust std. err., z, lower, upper)
    "ATE": (-229.4492, 25.88746, -8.86, -280.1877, -178.7107),
    "ATET": (-224.5927, 30.55147, -7.35, -284.4725, -164.7129),
}


@pytest.fixture(scope="module")
def cattaneo2() -> pd.DataFrame:
    return pd.read_csv(DATA)


def printed(value: float, digits: int = 7) -> float:
    return float(f"{value:.{digits}g}")


@pytest.mark.parametrize("estimand", ["ATE", "ATET"])
def test_reproduces_stata_to_the_printed_digits(cattaneo2, estimand):
    res = psm.teffects_psmatch(cattaneo2, "bweight", "mbsmoke", COVARIATES, estimand=estimand)
    coef, se, z, lo, hi = STATA[estimand]
    assert printed(res.estimate) == coef
    assert printed(res.se) == se
    assert round(res.z, 2) == z
    assert tuple(printed(v) for v in res.ci()) == (lo, hi)
    assert res.n_matches == (1, 16)
    assert res.nobs == 4642
    assert res.model.link == "logit"


def test_summary_prints_stata_layout(cattaneo2):
    text = psm.teffects_psmatch(cattaneo2, "bweight", "mbsmoke", COVARIATES).summary()
    assert "Estimator      : propensity-score matching     Matches: requested =          1" in text
    assert "max =         16" in text
    assert "-229.4492   25.88746    -8.86   0.000    -280.1877   -178.7107" in text


def test_att_alias_and_adjustment_direction(cattaneo2):
    atet = psm.teffects_psmatch(cattaneo2, "bweight", "mbsmoke", COVARIATES, estimand="ATT")
    assert atet.estimand == "ATET"
    assert printed(atet.estimate) == STATA["ATET"][0]
    # the ATET adjustment may raise the SE (AI 2016 p. 794); here it does
    assert atet.se > atet.se_ai2006


def test_invalid_options_are_refused(cattaneo2):
    with pytest.raises(ValueError, match="estimand"):
        psm.teffects_psmatch(cattaneo2, "bweight", "mbsmoke", COVARIATES, estimand="ATC")
    with pytest.raises(ValueError, match="vce_k"):
        psm.teffects_psmatch(cattaneo2, "bweight", "mbsmoke", COVARIATES, vce_k=0)


def test_caliper_without_a_match_stops_as_stata_does():
    d = pd.DataFrame({"t": [0, 0, 0, 1, 1, 1, 0, 1], "x": [0.0, 1, 2, 3, 4, 9, 5, 2.5], "y": np.arange(8.0)})
    with pytest.raises(ValueError, match="no match within caliper"):
        psm.teffects_psmatch(d, "y", "t", ["x"], caliper=1e-4)
    res = psm.teffects_psmatch(d, "y", "t", ["x"], caliper=1.0)
    assert np.isfinite(res.se)


def test_overlap_violation_is_reported():
    x = np.r_[np.linspace(-1, 1, 10), 40.0]
    d = pd.DataFrame({"t": [0, 1] * 5 + [1], "x": x, "y": np.arange(11.0)})
    d.loc[0, "t"], d.loc[1, "t"] = 1, 0
    with pytest.raises(ValueError, match="overlap"):
        psm.teffects_psmatch(d, "y", "t", ["x"])


def test_missing_values_are_listed_or_dropped(cattaneo2):
    d = cattaneo2.astype({"bweight": float, "mage": float})
    d.loc[[3, 10], "bweight"] = np.nan
    d.loc[20, "mage"] = np.nan
    with pytest.raises(psm.MissingValuesError):
        psm.teffects_psmatch(d, "bweight", "mbsmoke", COVARIATES)
    res = psm.teffects_psmatch(d, "bweight", "mbsmoke", COVARIATES, dropna=True)
    assert res.nobs == 4642 - 3
    ref = psm.teffects_psmatch(d.drop(index=[3, 10, 20]), "bweight", "mbsmoke", COVARIATES)
    assert res.estimate == ref.estimate and res.se == ref.se
