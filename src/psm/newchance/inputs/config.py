"""The configuration of a data folder's preparation rules (the ``rules:`` section of ``dataset.yaml``).

Read at the input boundary, so that a bad setting is reported with the other problems of the folder;
the rules themselves are applied in :mod:`psm.newchance.preparation.rules`. The rule ids name every
exclusion in the exclusion log, the flow table and the validation warnings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

from psm.newchance.inputs.problems import Problem

# Exclusion rule ids (the exclusion log and the flow table use these).
RULE_UNDER_18 = "under_18_at_index"
RULE_REFERRAL_AFTER_CUTOFF = "treatment_referral_after_cutoff"
RULE_REOFFENDING_UNKNOWN = "treatment_reoffending_unknown"
RULE_REOFFENCE_BEFORE_INDEX = "treatment_reoffence_before_referral"
RULE_REPEAT_REFERRAL = "treatment_repeat_referral"
RULE_NO_START_OFFENCE = "comparison_no_offence_in_start_window"
RULE_ALSO_REFERRED = "comparison_also_referred"

#: Published keyword lists (section 3.2.1). Order = precedence when a description matches several.
DEFAULT_CRIME_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Violent": ("violence", "robbery", "assault", "wounding with intent", "bodily harm"),
    "Property": ("theft", "burglary", "shoplifting"),
}


def _last_day_of_previous_month(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class PreparationRules:
    """Configuration of the rules (``rules:`` in ``dataset.yaml``); defaults = the evaluation.

    * ``crime_keywords``: category -> keywords; the first category (in order)
      with a matching keyword wins; no match gives ``"Other"``.
    * ``start_window``: first and last day (inclusive) in which a comparison
      person's start offence is sought (6–31 May 2015).
    * ``min_age``: people younger at the index date are removed (18).
    * ``referral_cutoff``: last referral date kept; ``None`` = the last day of
      the month before the extract month (extract 10 Jan 2020 -> 31 Dec 2019,
      i.e. January 2020 referrals removed, as published).
    """

    crime_keywords: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_CRIME_KEYWORDS))
    start_window: tuple[dt.date, dt.date] = (dt.date(2015, 5, 6), dt.date(2015, 5, 31))
    min_age: int = 18
    referral_cutoff: dt.date | None = None

    def cutoff(self, extract_date: dt.date) -> dt.date:
        return self.referral_cutoff or _last_day_of_previous_month(extract_date)


def rules_from_config(config: dict | None, label: str = "dataset.yaml") -> tuple[PreparationRules, list[Problem]]:
    """Build :class:`PreparationRules` from the ``rules:`` section; unknown or ill-typed keys are problems."""
    config = dict(config or {})
    known = {f.name for f in fields(PreparationRules)}
    problems = [
        Problem(label, f"rules.{key}", "unknown_key", f"unknown rule setting {key!r}", allowed=", ".join(sorted(known)))
        for key in config
        if key not in known
    ]
    kwargs = {}
    try:
        if "crime_keywords" in config:
            kwargs["crime_keywords"] = {str(k): tuple(str(w) for w in v) for k, v in config["crime_keywords"].items()}
        if "start_window" in config:
            first, last = (_as_date(d) for d in config["start_window"])
            kwargs["start_window"] = (first, last)
        if "min_age" in config:
            kwargs["min_age"] = int(config["min_age"])
        if config.get("referral_cutoff") is not None:
            kwargs["referral_cutoff"] = _as_date(config["referral_cutoff"])
    except (TypeError, ValueError, AttributeError) as exc:
        problems.append(Problem(label, "rules", "bad_setting", f"cannot read the rules section: {exc}",
                                allowed="see docs/data.md, 'Preparation rules'"))
        return PreparationRules(), problems
    return PreparationRules(**kwargs), problems


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
