"""psm.fit_propensity: probit/logit MLE, dummy expansion, formulas and typed errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import psm
from offender_data import offenders
from psm.errors import (
    ColumnNotFoundError,
    ConstantCovariateError,
    EmptyGroupError,
    InvalidTreatmentError,
    MissingValuesError,
    SeparationError,
    SingularDesignError,
)


def test_probit_and_logit_equal_statsmodels_fit():
    d = offenders()
    x = sm.add_constant(
        d[["age", "marker", "history"]].assign(
            **{"offence[T.property]": (d.offence == "property") * 1.0, "offence[T.violent]": (d.offence == "violent") * 1.0}
        )
    )
    for link, model in (("probit", sm.Probit), ("logit", sm.Logit)):
        ref = model(d.treated, x.astype(float)).fit(disp=False)
        pm = psm.fit_propensity(d, "treated", ["age", "marker", "offence", "history"], link=link)
        ours = pm.params.rename({"Intercept": "const"})
        pd.testing.assert_series_equal(ours[ref.params.index], ref.params, check_names=False, rtol=1e-6)
        assert np.allclose(pm.bse.rename({"Intercept": "const"})[ref.bse.index], ref.bse, rtol=1e-5)
        assert np.allclose(pm.score, ref.predict(), rtol=1e-9)
        assert np.allclose(pm.linear_predictor, x.astype(float) @ ref.params, rtol=1e-9)
        assert pm.link == link


@pytest.mark.parametrize("link", ["probit", "logit"])
def test_coefficients_and_standard_errors_equal_statsmodels_newton_to_1e8(link):
    d = offenders(n=3000, seed=11)
    x = pd.DataFrame({
        "Intercept": 1.0, "age": d.age, "marker": d.marker * 1.0, "history": d.history * 1.0,
        "offence[T.property]": (d.offence == "property") * 1.0, "offence[T.violent]": (d.offence == "violent") * 1.0,
    })
    ref = (sm.Probit if link == "probit" else sm.Logit)(d.treated * 1.0, x).fit(method="newton", disp=False)
    pm = psm.fit_propensity(d, "treated", ["age", "marker", "history", "offence"], link=link)
    assert (pm.params - ref.params).abs().max() <= 1e-8
    assert np.allclose(pm.bse, ref.bse, rtol=1e-8, atol=0)
    assert np.allclose(pm.linear_predictor, ref.fittedvalues, rtol=0, atol=1e-8)
    assert (pm.result.params - ref.params).abs().max() <= 1e-8  # statsmodels restarted at our estimate
    assert pm.nobs == 3000


@pytest.mark.parametrize("link", ["probit", "logit"])
def test_saturated_binary_model_by_hand(link):
    # one 0/1 covariate: the MLE fits the two cell proportions exactly.
    # x=0: 2 of 8 treated (p0 = 1/4); x=1: 6 of 8 treated (p1 = 3/4)
    d = pd.DataFrame({"x": [0] * 8 + [1] * 8, "t": [1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]})
    pm = psm.fit_propensity(d, "t", ["x"], link=link)
    inv = stats.norm.ppf if link == "probit" else (lambda p: np.log(p / (1 - p)))
    # probit: b0 = Phi^-1(1/4) = -0.6745, b1 = Phi^-1(3/4) - Phi^-1(1/4) = 1.349
    # logit:  b0 = log(1/3) = -1.0986, b1 = log(3) - log(1/3) = 2.1972
    assert pm.params["Intercept"] == pytest.approx(inv(0.25), abs=1e-7)
    assert pm.params["x"] == pytest.approx(inv(0.75) - inv(0.25), abs=1e-7)
    assert pm.score.to_numpy() == pytest.approx([0.25] * 8 + [0.75] * 8, abs=1e-9)


def test_string_column_reference_is_first_sorted_level_and_can_be_chosen():
    d = offenders()
    pm = psm.fit_propensity(d, "treated", ["age", "offence"])
    assert pm.reference == {"offence": "other"}
    assert pm.design_columns == ("Intercept", "age", "offence[T.property]", "offence[T.violent]")
    chosen = psm.fit_propensity(d, "treated", ["age", "offence"], reference={"offence": "violent"})
    assert chosen.design_columns[2:] == ("offence[T.other]", "offence[T.property]")
    # same model, other parametrisation: identical fitted scores
    assert np.allclose(pm.score, chosen.score, atol=1e-9)
    assert chosen.params["offence[T.other]"] == pytest.approx(-pm.params["offence[T.violent]"], abs=1e-6)


def test_category_dtype_uses_its_first_category_and_numeric_codes_can_be_expanded():
    d = offenders()
    d["offence"] = pd.Categorical(d.offence, categories=["violent", "property", "other"])
    assert psm.fit_propensity(d, "treated", ["offence"]).reference == {"offence": "violent"}
    d["code"] = d.offence.map({"other": 1, "violent": 2, "property": 3}).astype(int)
    as_number = psm.fit_propensity(d, "treated", ["code"])
    assert as_number.design_columns == ("Intercept", "code")  # published 1/2/3 coding
    as_levels = psm.fit_propensity(d, "treated", ["code"], categorical=["code"])
    assert as_levels.design_columns == ("Intercept", "code[T.2]", "code[T.3]")
    assert as_levels.reference == {"code": 1}


def test_formula_equals_list_form():
    d = offenders()
    listed = psm.fit_propensity(d, "treated", ["age", "marker", "offence"])
    formula = psm.fit_propensity(d, "treated", "treated ~ age + marker + C(offence)")
    rhs_only = psm.fit_propensity(d, "treated", "age + marker + C(offence)")
    assert np.allclose(listed.score, formula.score, atol=1e-10)
    assert np.allclose(formula.score, rhs_only.score, atol=1e-12)
    assert formula.params["C(offence)[T.violent]"] == pytest.approx(listed.params["offence[T.violent]"], rel=1e-7)


def test_summary_states_link_and_reference():
    text = str(psm.fit_propensity(offenders(), "treated", ["age", "offence"]).summary())
    assert "probit" in text and "psmatch2 default" in text and "offence='other'" in text


# --------------------------------------------------------------------- errors


def test_dummy_level_with_only_treated_is_separation_naming_it():
    d = offenders()
    d.loc[d.offence == "violent", "treated"] = 1
    with pytest.raises(SeparationError, match=r"offence == 'violent': all \d+ row\(s\) are treated"):
        psm.fit_propensity(d, "treated", ["age", "offence"])


def test_binary_marker_value_with_only_controls_is_separation():
    d = offenders()
    d.loc[d.marker == 1, "treated"] = 0
    with pytest.raises(SeparationError, match=r"marker == 1: all \d+ row\(s\) are controls"):
        psm.fit_propensity(d, "treated", ["age", "marker"])


def test_two_valued_non_integer_column_is_checked_for_separation():
    d = offenders()
    d["dose"] = np.where(d.marker == 1, 0.7, 0.3)
    d.loc[d.dose == 0.7, "treated"] = 1
    with pytest.raises(SeparationError, match=r"dose == 0.7: all \d+ row\(s\) are treated"):
        psm.fit_propensity(d, "treated", ["age", "dose"])


def test_a_third_value_close_to_an_end_makes_a_column_not_binary():
    d = offenders()
    d["flag"] = np.where(d.age > 30, 1.0, 0.0)
    d.loc[d.flag == 1, "treated"] = 1
    d.loc["p0", ["flag", "treated"]] = [1.0, 1]
    with pytest.raises(SeparationError, match=r"flag == 1: all \d+ row\(s\) are treated"):
        psm.fit_propensity(d, "treated", ["history", "flag"])
    d.loc["p0", ["flag", "treated"]] = [1 - 1e-9, 0]  # a control just below 1: three values, no such cell
    psm.fit_propensity(d, "treated", ["history", "flag"])


def test_continuous_complete_separation_names_the_column():
    d = offenders()
    d["treated"] = (d.age > 32).astype(int)
    with pytest.raises(SeparationError, match="'age'"):
        psm.fit_propensity(d, "treated", ["age", "history"])


def test_collinear_columns_are_named():
    d = offenders()
    d["total"] = d.marker + d.history
    with pytest.raises(SingularDesignError) as info:
        psm.fit_propensity(d, "treated", ["age", "marker", "history", "total"])
    message = str(info.value)
    assert all(name in message for name in ("'marker'", "'history'", "'total'"))
    assert "'age'" not in message.split("combination of")[-1]


def test_constant_covariate_is_named():
    d = offenders().assign(region=5.0, area="north")
    with pytest.raises(ConstantCovariateError, match="'region'"):
        psm.fit_propensity(d, "treated", ["age", "region"])
    with pytest.raises(ConstantCovariateError, match="'area'"):
        psm.fit_propensity(d, "treated", ["age", "area"])


def test_missing_values_listed_per_column_and_dropna_reports_count():
    d = offenders()
    d.loc[["p3", "p9"], "age"] = np.nan
    d.loc[["p9", "p12"], "offence"] = None
    d["treated"] = d.treated.astype(float)
    d.loc["p20", "treated"] = np.nan
    with pytest.raises(MissingValuesError) as info:
        psm.fit_propensity(d, "treated", ["age", "offence"])
    assert info.value.rows == {"treated": ["p20"], "age": ["p3", "p9"], "offence": ["p9", "p12"]}
    pm = psm.fit_propensity(d, "treated", ["age", "offence"], dropna=True)
    assert pm.n_dropped == 4 and set(pm.dropped) == {"p3", "p9", "p12", "p20"}
    assert pm.score[["p3", "p9", "p12", "p20"]].isna().all()
    assert pm.score.drop(["p3", "p9", "p12", "p20"]).notna().all()
    assert pm.nobs == len(d) - 4


def test_bad_treatment_coding_and_empty_group():
    d = offenders()
    d.loc["p5", "treated"] = 2
    with pytest.raises(InvalidTreatmentError, match="p5"):
        psm.fit_propensity(d, "treated", ["age"])
    d["treated"] = 1
    with pytest.raises(EmptyGroupError, match="control"):
        psm.fit_propensity(d, "treated", ["age"])


def test_unknown_columns_reported_together_with_close_matches():
    d = offenders()
    with pytest.raises(ColumnNotFoundError) as info:
        psm.fit_propensity(d, "treatd", ["agee", "marker"])
    assert info.value.missing == ["treatd", "agee"]
    assert "age" in info.value.suggestions["agee"]
    with pytest.raises(ColumnNotFoundError, match="histry"):
        psm.fit_propensity(d, "treated", "age + histry")


def test_invalid_options():
    d = offenders()
    with pytest.raises(ValueError, match="link"):
        psm.fit_propensity(d, "treated", ["age"], link="cloglog")
    with pytest.raises(ValueError, match="left-hand side"):
        psm.fit_propensity(d, "treated", "marker ~ age")
    with pytest.raises(ValueError, match="reference"):
        psm.fit_propensity(d, "treated", ["age", "offence"], reference={"offence": "arson"})
