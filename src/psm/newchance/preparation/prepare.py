"""From validated raw data to the analysis file of the evaluation (Part B, section 3.4).

``prepare(dataset)`` applies the preparation rules of :mod:`psm.newchance.preparation.rules`
in the published order, logs every removal, derives the covariates in their
PSM codings and the outcomes of every window, and returns an
:class:`AnalysisFile`. The column names of ``AnalysisFile.data`` are a contract
(see CONTRACTS.md). Nothing is written to disk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from psm.newchance.inputs.dataset import Dataset
from psm.newchance.preparation.exclusions import ExclusionLog, check_flow, flow_table
from psm.newchance.preparation.outcomes import WINDOWS, EqualFollowUp, equalise_total, follow_up_horizon, outcome_columns
from psm.newchance.inputs.config import (
    RULE_ALSO_REFERRED,
    RULE_NO_START_OFFENCE,
    RULE_REFERRAL_AFTER_CUTOFF,
    RULE_REOFFENCE_BEFORE_INDEX,
    RULE_REOFFENDING_UNKNOWN,
    RULE_REPEAT_REFERRAL,
    RULE_UNDER_18,
    PreparationRules,
)
from psm.newchance.preparation.rules import (
    also_referred,
    classify_crime_type,
    comparison_start_offences,
    offence_type_code,
    recode_employment,
    recode_ethnicity,
    recode_marker,
    referral_after_cutoff,
    reoffence_before_index,
    reoffending_unknown,
    repeat_referral,
    under_age,
)

COLUMNS = [
    "treated", "group", "index_date",
    "age", "ethnicity", "employment", "substance_marker", "mh_marker", "offence_type", "offending_history",
    "ethnic_appearance", "employment_status", "substance_misuse_need", "mental_health_need", "crime_type",
    "engagement_level", "engagement_length", "offences_12m_before", "offences_12m_after",
    *[f"{kind}_{w}" for w in WINDOWS for kind in ("reoffended", "eligible")],
    "reoffence_count", "days_to_reoffence", "follow_up_days",
]
COVARIATES = ["age", "ethnicity", "substance_marker", "mh_marker", "employment", "offence_type", "offending_history"]


@dataclass(frozen=True)
class AnalysisFile:
    """The joint treatment and comparison file, with its exclusion log and flow table.

    ``data``: one row per person, index = ``person_id`` (name ``person``).
    ``exclusions``: file, record, rule, detail, window. ``flow``: file, window,
    step, rule, removed, remaining. ``equal_follow_up``: the option used
    (``None`` = as published); ``follow_up_horizon``: days the comparison
    group's "total" outcome was truncated to.
    """

    data: pd.DataFrame
    exclusions: pd.DataFrame
    flow: pd.DataFrame
    extract_date: dt.date
    synthetic: bool
    description: str
    equal_follow_up: str | None = None
    follow_up_horizon: float | None = None

    def window(self, window: str) -> pd.DataFrame:
        """The people analysed for follow-up window ``window``."""
        return self.data[self.data[f"eligible_{window}"]]

    def flow_text(self) -> str:
        """The flow table as aligned text (for the command line)."""
        shown = self.flow.assign(removed=self.flow["removed"].astype(object).where(self.flow["removed"].notna(), ""))
        return shown.drop(columns="rule").to_string(index=False)


SAME_DAY = ("not_counted", "counted")
"""Whether an offence dated on the index date counts as a reoffence, one rule for both groups."""

RULE_SAME_DAY_UNDATED = "treatment_same_day_reoffence_later_dates_unknown"


def prepare(dataset: Dataset, equal_follow_up: EqualFollowUp = False, *, same_day: str = "not_counted",
            crime_precedence: str = "violent_first") -> AnalysisFile:
    """Apply the rules, derive covariates and outcomes, and reconcile the flow.

    ``equal_follow_up``: ``False`` (as published), ``True``/``"median"`` or
    ``"max"``: the comparison group's "total" outcome observed only up to the
    treated group's median / maximum follow-up (:func:`outcomes.equalise_total`).

    ``same_day`` (:data:`SAME_DAY`), the same rule for both groups:

    * ``"not_counted"`` (default): an offence on the index date is not a reoffence. For a comparison
      woman a second police record on the day of her start offence is most likely the same
      incident; for a treated woman, a first reoffence dated on her referral day is then dropped: with
      no other reoffence she has not reoffended; with others, whose dates the referral file does not
      give, her outcome cannot be placed in the windows and she is removed (rule
      ``treatment_same_day_reoffence_later_dates_unknown``, logged, shown in the flow only when it
      removes someone).
    * ``"counted"``: both groups count it, at day 0 (for the comparison group, every record on the
      start date other than the start offence itself).

    The evaluation applied neither rule to both groups: its treated file counts same-day reoffences,
    its comparison group could not. ``crime_precedence``: see
    :func:`psm.newchance.preparation.rules.classify_crime_type`.
    """
    if same_day not in SAME_DAY:
        raise ValueError(f"same_day must be one of {SAME_DAY}, got {same_day!r}")
    log = ExclusionLog()
    rules = dataset.rules
    referral_file, police_file = dataset.files["referrals"], dataset.files["police"]
    treated = _treatment_group(dataset.referrals, rules, dataset.extract_date, log, referral_file,
                               same_day, crime_precedence)
    people_in = dataset.police["person_id"].nunique()
    comparison = _comparison_group(dataset.police, dataset.referrals["person_id"], rules, log, police_file,
                                   same_day, crime_precedence)
    data = pd.concat([treated, comparison])
    data.index.name = "person"
    data = pd.concat([data, outcome_columns(data["index_date"], data.pop("reoffence_date"),
                                            data.pop("reoffence_count"), dataset.extract_date)], axis=1)
    horizon = follow_up_horizon(data, equal_follow_up)
    if horizon is not None:
        data = equalise_total(data, horizon)
    data = data[COLUMNS]
    files = {referral_file: data["treated"] == 1, police_file: data["treated"] == 0}
    _log_ineligible(data, files, log)
    records_in = {referral_file: len(dataset.referrals), police_file: people_in}
    flow = flow_table(log, {referral_file: (records_in[referral_file], "referrals in"),
                            police_file: (people_in, "people in")},
                      list(WINDOWS), notes={police_file: ("offence records in (rows)", len(dataset.police))})
    exclusions = log.frame()
    check_flow(flow, exclusions, records_in, {
        file: {"all": int(rows.sum()), **{w: int((rows & data[f"eligible_{w}"]).sum()) for w in WINDOWS}}
        for file, rows in files.items()
    })
    how = None if horizon is None else ("median" if equal_follow_up is True else str(equal_follow_up))
    return AnalysisFile(data, exclusions, flow, dataset.extract_date, dataset.synthetic, dataset.description,
                        how, horizon)


def _covariates(frame: pd.DataFrame, description: pd.Series, rules: PreparationRules,
                crime_precedence: str) -> pd.DataFrame:
    """PSM codings and raw categories shared by both groups (psm_codings, markers_binary)."""
    crime_type = classify_crime_type(description, rules.crime_keywords, crime_precedence)
    return pd.DataFrame({
        "age": frame["age"].astype(float),
        "ethnicity": recode_ethnicity(frame["ethnic_appearance"]),
        "employment": recode_employment(frame["employment_status"]),
        "substance_marker": recode_marker(frame["substance_misuse_need"]),
        "mh_marker": recode_marker(frame["mental_health_need"]),
        "offence_type": offence_type_code(crime_type),
        "offending_history": frame["offending_history_total"].astype(float),
        "ethnic_appearance": frame["ethnic_appearance"],
        "employment_status": frame["employment_status"],
        "substance_misuse_need": frame["substance_misuse_need"],
        "mental_health_need": frame["mental_health_need"],
        "crime_type": crime_type,
    }, index=frame.index)


def _treatment_group(referrals: pd.DataFrame, rules: PreparationRules, extract_date: dt.date,
                     log: ExclusionLog, file: str, same_day: str, crime_precedence: str) -> pd.DataFrame:
    """Referrals after the published removals, one row per person (treatment_* data_rules)."""
    cutoff = rules.cutoff(extract_date)
    r = referrals

    def remove(frame: pd.DataFrame, mask: pd.Series, rule: str, step: str, detail: pd.Series) -> pd.DataFrame:
        return log.remove(frame, mask, file=file, rule=rule, step=step, record=frame["referral_id"], detail=detail)

    r = remove(r, referral_after_cutoff(r["referral_date"], cutoff), RULE_REFERRAL_AFTER_CUTOFF,
               f"referral after {cutoff.isoformat()} (insufficient follow-up)", r["referral_date"].dt.date)
    r = remove(r, reoffending_unknown(r["reoffended"]), RULE_REOFFENDING_UNKNOWN, "reoffending status unknown",
               r["reoffended"])
    r = remove(r, reoffence_before_index(r["reoffence_date"], r["referral_date"]), RULE_REOFFENCE_BEFORE_INDEX,
               "reoffence date before referral date",
               r["reoffence_date"].dt.date.astype(str) + " < " + r["referral_date"].dt.date.astype(str))
    r = remove(r, under_age(r["age"], rules.min_age), RULE_UNDER_18, f"under {rules.min_age} at referral",
               r["age"].astype(int).astype(str))
    r = remove(r, repeat_referral(r), RULE_REPEAT_REFERRAL, "later referral of a person already included",
               r["person_id"])
    if same_day == "not_counted":
        r = _drop_same_day_reoffence(r, remove)
    out = _covariates(r, r["index_offence"], rules, crime_precedence)
    out.insert(0, "treated", 1)
    out.insert(1, "group", "treatment")
    out.insert(2, "index_date", r["referral_date"])
    out["engagement_level"] = r["engagement_level"]
    out["engagement_length"] = r["engagement_length"]
    out["offences_12m_before"] = r["offences_12m_before"]
    out["offences_12m_after"] = r["offences_12m_after"]
    out["reoffence_date"] = r["reoffence_date"]
    out["reoffence_count"] = r["reoffence_count"].where(r["reoffended"] != "no", 0.0)
    return out.set_axis(r["person_id"].astype(str).to_numpy())


def _drop_same_day_reoffence(r: pd.DataFrame, remove) -> pd.DataFrame:
    """``same_day="not_counted"`` for the treated: a first reoffence on the referral date is not one."""
    same = (r["reoffence_date"].dt.normalize() == r["referral_date"].dt.normalize()).fillna(False)
    count = pd.to_numeric(r["reoffence_count"], errors="coerce")
    undated = same & (count > 1)
    if undated.any():
        r = remove(r, undated, RULE_SAME_DAY_UNDATED,
                   "first reoffence on the referral date, later reoffences undated", count.astype(str))
        same, count = same[r.index], count[r.index]
    r = r.copy()
    r.loc[same, "reoffended"] = "no"
    r.loc[same, "reoffence_date"] = pd.NaT
    r.loc[same, "reoffence_count"] = 0
    return r


def _comparison_group(police: pd.DataFrame, referred: pd.Series, rules: PreparationRules,
                      log: ExclusionLog, file: str, same_day: str, crime_precedence: str) -> pd.DataFrame:
    """One row per woman: her start offence and later offences (control_* data_rules).

    Reoffences: her offences dated after the start date; with ``same_day="counted"`` also her other
    records on the start date itself (the start offence excluded).
    """
    people = police.drop_duplicates("person_id").set_index("person_id", drop=False)
    start = comparison_start_offences(police, rules.start_window)
    first, last = rules.start_window
    people = log.remove(people, ~people.index.isin(start.index), file=file, rule=RULE_NO_START_OFFENCE,
                        step=f"no offence between {first:%d %b %Y} and {last:%d %b %Y}", record=people["person_id"],
                        detail="no start offence")
    start = start.loc[people.index]
    start["person_id"] = start.index
    start = log.remove(start, under_age(start["age"], rules.min_age), file=file, rule=RULE_UNDER_18,
                       step=f"under {rules.min_age} at the start offence", record=start["person_id"],
                       detail=start["age"].astype(int).astype(str))
    start = log.remove(start, also_referred(start.index, referred), file=file, rule=RULE_ALSO_REFERRED,
                       step="also in the referral file (not untreated)", record=start["person_id"],
                       detail="person_id in the referral file")
    later = police.merge(start[["offence_date", "offence_id"]].rename(columns={"offence_date": "start",
                                                                                "offence_id": "start_id"}),
                         left_on="person_id", right_index=True)
    after = later["offence_date"] > later["start"]
    if same_day == "counted":
        after |= (later["offence_date"] == later["start"]) & (later["offence_id"] != later["start_id"])
    later = later[after].groupby("person_id")["offence_date"]
    out = _covariates(start, start["offence_description"], rules, crime_precedence)
    out.insert(0, "treated", 0)
    out.insert(1, "group", "comparison")
    out.insert(2, "index_date", start["offence_date"])
    for column in ("engagement_level", "engagement_length"):
        out[column] = np.nan
    out["offences_12m_before"] = np.nan
    out["offences_12m_after"] = np.nan
    out["reoffence_date"] = later.min().reindex(start.index)
    out["reoffence_count"] = later.size().reindex(start.index).fillna(0).astype(float)
    return out.set_axis(start.index.astype(str))


def _log_ineligible(data: pd.DataFrame, files: dict[str, pd.Series], log: ExclusionLog) -> None:
    for window in WINDOWS:
        for file, rows in files.items():
            log.remove(data, rows & ~data[f"eligible_{window}"], file=file, rule=f"not_eligible_{window}",
                       step=f"not eligible for {window}", record=pd.Series(data.index, index=data.index),
                       detail=data["index_date"].dt.date.astype(str), window=window)
