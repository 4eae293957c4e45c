"""prepare(): the analysis file, its exclusion log and a flow table that reconciles on every input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newchance_builders import OFFENCE, REFERRAL, offence, referral, write_dataset
from psm.newchance.inputs.dataset import Dataset, load_dataset, typed_frame
from psm.newchance.preparation.outcomes import WINDOWS
from psm.newchance.preparation.prepare import COLUMNS, prepare
from psm.newchance.inputs.config import PreparationRules
from psm.newchance.inputs.schema import POLICE, REFERRALS


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    referrals = [
        referral(referral_id="R1", person_id="T1", referral_date="2019-06-01", reoffended="yes", reoffence_date="2019-07-01",
                 reoffence_count="2", index_offence="Robbery and theft"),
        referral(referral_id="R2", person_id="T2", referral_date="10/12/2019", ethnic_appearance="", employment_status=""),
        referral(referral_id="R3", person_id="T3", referral_date="2020-01-02"),                                   # January 2020
        referral(referral_id="R4", person_id="T4", reoffended="unknown"),
        referral(referral_id="R5", person_id="T5", referral_date="2019-06-01", reoffended="yes", reoffence_date="2019-05-31",
                 reoffence_count="1"),                                                           # before referral
        referral(referral_id="R6", person_id="T1", referral_date="2019-08-01"),                                   # repeat referral
        referral(referral_id="R7", person_id="T6", age="17"),
    ]
    police = [
        offence(person_id="C1", offence_id="O1", offence_date="2015-05-06", offence_description="Shoplifting"),
        offence(person_id="C1", offence_id="O2", offence_date="2015-05-06"),                   # same day: not a reoffence
        offence(person_id="C1", offence_id="O3", offence_date="2015-06-05"),                   # day 30
        offence(person_id="C1", offence_id="O4", offence_date="2017-01-01"),
        offence(person_id="C2", offence_id="O5", offence_date="31/05/2015", ethnic_appearance="unknown"),
        offence(person_id="C3", offence_id="O6", offence_date="2015-05-05"),                   # before window
        offence(person_id="C3", offence_id="O7", offence_date="2015-06-01"),                   # after window
        offence(person_id="C4", offence_id="O8", offence_date="2015-05-20", age="17"),
        offence(person_id="T2", offence_id="O9", offence_date="2015-05-20"),                   # later referred
    ]
    return write_dataset(tmp_path / "data", referrals, police)


def test_analysis_file_rows_and_columns(folder: Path) -> None:
    af = prepare(load_dataset(folder))
    assert list(af.data.columns) == COLUMNS
    assert af.data.index.tolist() == ["T1", "T2", "C1", "C2"]
    assert af.data["treated"].tolist() == [1, 1, 0, 0]
    assert af.data["group"].tolist() == ["treatment", "treatment", "comparison", "comparison"]
    assert af.extract_date == dt.date(2020, 1, 10) and af.synthetic


def test_covariates_in_published_codings(folder: Path) -> None:
    data = prepare(load_dataset(folder)).data
    assert data["crime_type"].tolist() == ["Violent", "Property", "Property", "Violent"]
    assert data["offence_type"].tolist() == [2.0, 3.0, 3.0, 2.0]
    np.testing.assert_array_equal(data["ethnicity"].to_numpy(), [0.0, np.nan, 1.0, np.nan])
    assert data["ethnic_appearance"].tolist() == ["white_north_european", "unknown", "black", "unknown"]
    assert data["employment"].tolist() == [0.0, 1.0, 1.0, 1.0]          # T2 empty -> no_data -> 1
    assert data["employment_status"].tolist()[:2] == ["unemployed", "no_data"]
    assert data["substance_marker"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert data["mh_marker"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert data["offending_history"].tolist() == [5.0, 5.0, 7.0, 7.0]
    assert data["engagement_level"].iloc[2:].isna().all() and data["offences_12m_before"].iloc[2:].isna().all()


def test_outcomes_of_both_groups(folder: Path) -> None:
    data = prepare(load_dataset(folder)).data
    t1, t2, c1, c2 = (data.loc[k] for k in ["T1", "T2", "C1", "C2"])
    assert (t1["reoffended_total"], t1["reoffended_30d"], t1["days_to_reoffence"], t1["reoffence_count"]) == (1, 1, 30, 2)
    assert np.isnan(t1["reoffended_12m"]) and not t1["eligible_12m"]     # June 2019 + 12 months > extract
    assert t2["eligible_30d"] and not t2["eligible_60d"] and t2["reoffence_count"] == 0
    assert (c1["reoffended_30d"], c1["days_to_reoffence"], c1["reoffence_count"]) == (1, 30, 2)
    assert (c2["reoffended_total"], c2["reoffence_count"]) == (0, 0) and np.isnan(c2["days_to_reoffence"])
    assert c1["follow_up_days"] == (pd.Timestamp("2020-01-10") - pd.Timestamp("2015-05-06")).days


def test_exclusion_log_names_every_removed_record(folder: Path) -> None:
    af = prepare(load_dataset(folder))
    removed = af.exclusions[af.exclusions["window"] == "all"]
    assert removed[["file", "record", "rule"]].values.tolist() == [
        ["referrals.csv", "R3", "treatment_referral_after_cutoff"],
        ["referrals.csv", "R4", "treatment_reoffending_unknown"],
        ["referrals.csv", "R5", "treatment_reoffence_before_referral"],
        ["referrals.csv", "R7", "under_18_at_index"],
        ["referrals.csv", "R6", "treatment_repeat_referral"],
        ["police_offences.csv", "C3", "comparison_no_offence_in_start_window"],
        ["police_offences.csv", "C4", "under_18_at_index"],
        ["police_offences.csv", "T2", "comparison_also_referred"],
    ]
    assert removed.loc[removed["record"] == "R5", "detail"].item() == "2019-05-31 < 2019-06-01"
    ineligible = af.exclusions[af.exclusions["window"] == "12m"]
    assert ineligible["record"].tolist() == ["T1", "T2"]


def test_flow_table_reconciles_by_hand(folder: Path) -> None:
    flow = prepare(load_dataset(folder)).flow
    referrals = flow[(flow["file"] == "referrals.csv") & (flow["window"] == "all")]
    assert referrals["remaining"].tolist() == [7, 6, 5, 4, 3, 2, 2]
    assert referrals["removed"].dropna().tolist() == [1, 1, 1, 1, 1]
    police = flow[(flow["file"] == "police_offences.csv") & (flow["window"] == "all")]
    assert police["remaining"].tolist() == [9, 5, 4, 3, 2, 2]      # 9 offence rows, 5 people
    both = flow[flow["file"] == "both"].set_index("window")["remaining"]
    assert both.to_dict() == {"total": 4, "30d": 4, "60d": 3, "90d": 3, "6m": 3, "12m": 2}


def test_equal_follow_up_option(folder: Path) -> None:
    ds = load_dataset(folder)
    published, equal = prepare(ds), prepare(ds, equal_follow_up=True)
    horizon = float(np.median(published.data.loc[published.data["treated"] == 1, "follow_up_days"]))
    assert equal.follow_up_horizon == horizon and equal.equal_follow_up == "median"
    assert published.equal_follow_up is None
    # C1 first reoffended on day 30 (< horizon): still 1; treated rows identical
    assert equal.data.loc["C1", "reoffended_total"] == 1.0
    pd.testing.assert_frame_equal(equal.data.iloc[:2], published.data.iloc[:2])


def test_start_window_and_cutoff_from_dataset_yaml(tmp_path: Path) -> None:
    referrals = [referral(referral_date="2019-11-20"), referral(referral_date="2019-12-01")]
    police = [offence(offence_date="2015-05-02"), offence(offence_date="2015-05-20")]
    folder = write_dataset(tmp_path / "d", referrals, police,
                           rules={"start_window": ["2015-05-01", "2015-05-10"], "referral_cutoff": "2019-11-30"})
    af = prepare(load_dataset(folder))
    assert af.data["treated"].tolist() == [1, 0]
    assert sorted(af.exclusions.loc[af.exclusions["window"] == "all", "rule"]) == [
        "comparison_no_offence_in_start_window", "treatment_referral_after_cutoff"]


# --- the flow reconciles on arbitrary valid inputs -------------------------------------------------

_day = st.dates(dt.date(2015, 4, 20), dt.date(2020, 1, 10))


@st.composite
def _raw(draw):
    n_ref, n_off = draw(st.integers(1, 12)), draw(st.integers(1, 15))
    refs = []
    for i in range(n_ref):
        day = draw(st.dates(dt.date(2016, 6, 1), dt.date(2020, 1, 10)))
        status = draw(st.sampled_from(["yes", "no", "unknown"]))
        re_day = draw(st.dates(day - dt.timedelta(days=20), dt.date(2020, 1, 10))) if status == "yes" else None
        refs.append({**REFERRAL, "referral_id": f"R{i}", "person_id": f"T{draw(st.integers(0, n_ref))}",
                     "referral_date": day.isoformat(), "age": str(draw(st.integers(16, 70))), "reoffended": status,
                     "reoffence_date": re_day.isoformat() if re_day else None,
                     "reoffence_count": "1" if status == "yes" else "0"})
    offs = [{**OFFENCE, "offence_id": f"O{i}", "person_id": f"C{draw(st.integers(0, 5))}",
             "offence_date": draw(_day).isoformat(), "age": str(draw(st.integers(15, 60)))} for i in range(n_off)]
    return pd.DataFrame(refs, dtype="string"), pd.DataFrame(offs, dtype="string")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_raw(), st.sampled_from([False, True, "max"]))
def test_flow_reconciles_on_generated_inputs(raw, equal) -> None:
    referrals, police = raw
    ds = Dataset(typed_frame(referrals, REFERRALS), typed_frame(police, POLICE), dt.date(2020, 1, 10), "generated",
                 True, PreparationRules(), {"referrals": "r.csv", "police": "p.csv"}, (), Path("."))
    af = prepare(ds, equal_follow_up=equal)       # prepare itself raises if the flow does not reconcile
    log = af.exclusions
    treated = int(af.data["treated"].sum())
    assert len(referrals) == treated + int(((log["file"] == "r.csv") & (log["window"] == "all")).sum())
    people = police["person_id"].nunique()
    assert people == len(af.data) - treated + int(((log["file"] == "p.csv") & (log["window"] == "all")).sum())
    for w in WINDOWS:
        both = af.flow[(af.flow["file"] == "both") & (af.flow["window"] == w)]["remaining"].item()
        assert both == int(af.data[f"eligible_{w}"].sum()) == int(af.data[f"reoffended_{w}"].notna().sum())
    assert af.data.index.is_unique


def _same_day_folder(tmp_path: Path) -> Path:
    referrals = [
        referral(person_id="T1", referral_date="2019-06-01", reoffended="yes", reoffence_date="2019-06-01",
                 reoffence_count="1"),                                        # same day, nothing else
        referral(person_id="T2", referral_date="2019-06-01", reoffended="yes", reoffence_date="2019-06-01",
                 reoffence_count="3"),                                        # same day, later ones undated
        referral(person_id="T3", referral_date="2019-06-01", reoffended="yes", reoffence_date="2019-06-11",
                 reoffence_count="1"),
    ]
    police = [
        offence(person_id="C1", offence_id="O1", offence_date="2015-05-06"),
        offence(person_id="C1", offence_id="O2", offence_date="2015-05-06"),  # second record on the start date
        offence(person_id="C1", offence_id="O3", offence_date="2015-06-05"),
    ]
    return write_dataset(tmp_path / "same_day", referrals, police)


def test_same_day_rule_is_the_same_for_both_groups(tmp_path: Path) -> None:
    dataset = load_dataset(_same_day_folder(tmp_path))
    not_counted = prepare(dataset)
    data = not_counted.data
    assert data.loc["T1", "reoffended_total"] == 0 and data.loc["T1", "reoffence_count"] == 0
    assert "T2" not in data.index  # its later reoffences have no dates: logged, removed
    log = not_counted.exclusions
    t2_referral = dataset.referrals.loc[dataset.referrals["person_id"] == "T2", "referral_id"].tolist()
    assert log.loc[log["rule"] == "treatment_same_day_reoffence_later_dates_unknown", "record"].tolist() == t2_referral
    assert data.loc["T3", "days_to_reoffence"] == 10
    assert (data.loc["C1", "days_to_reoffence"], data.loc["C1", "reoffence_count"]) == (30, 1)
    counted = prepare(dataset, same_day="counted").data
    assert (counted.loc["T1", "days_to_reoffence"], counted.loc["T1", "reoffended_30d"]) == (0, 1)
    assert counted.loc["T2", "reoffence_count"] == 3
    assert (counted.loc["C1", "days_to_reoffence"], counted.loc["C1", "reoffence_count"]) == (0, 2)
    with pytest.raises(ValueError, match="same_day"):
        prepare(dataset, same_day="sometimes")


def test_crime_precedence_option_reaches_the_analysis_file(folder: Path) -> None:
    dataset = load_dataset(folder)
    # T1's "Robbery and theft" matches Violent and Property
    assert prepare(dataset).data.loc["T1", "crime_type"] == "Violent"
    assert prepare(dataset, crime_precedence="last_wins").data.loc["T1", "crime_type"] == "Property"
