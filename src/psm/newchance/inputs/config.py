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


_ALLOWED_CATEGORIES = tuple(DEFAULT_CRIME_KEYWORDS)
_DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))


def rules_from_config(config: object, label: str = "dataset.yaml") -> tuple[PreparationRules, list[Problem]]:
    """Build :class:`PreparationRules` from the ``rules:`` section, checked against its schema.

    Every bad setting is a problem naming the key (``rules.min_age``...), what was found and what is
    allowed; all are reported together, and the defaults are returned alongside (the caller stops on
    errors). Checked: the section is a mapping with known keys; ``crime_keywords`` maps the categories
    Violent/Property to non-empty lists of non-empty texts (a single text would be read letter by
    letter); ``start_window`` is two ISO dates, first <= last, within 1900–2100; ``min_age`` is a
    whole number 0–120; ``referral_cutoff`` an ISO date in the same range.
    """
    if config is None:
        return PreparationRules(), []
    if not isinstance(config, dict):
        return PreparationRules(), [_problem(label, "rules", f"must be a mapping of settings, not {config!r}",
                                             "rules: {crime_keywords: ..., start_window: ..., min_age: ..., referral_cutoff: ...}")]
    known = {f.name for f in fields(PreparationRules)}
    problems = [_problem(label, f"rules.{key}", f"unknown rule setting {key!r}", ", ".join(sorted(known)))
                for key in config if key not in known]
    kwargs: dict[str, object] = {}
    if "crime_keywords" in config:
        kwargs["crime_keywords"] = _keywords(config["crime_keywords"], label, problems)
    if "start_window" in config:
        window = config["start_window"]
        if not isinstance(window, (list, tuple)) or len(window) != 2:
            problems.append(_problem(label, "rules.start_window", f"must be a list of two dates, not {window!r}",
                                     "[YYYY-MM-DD, YYYY-MM-DD] (first and last day)"))
        else:
            first, last = (_date(d, f"rules.start_window[{i}]", label, problems) for i, d in enumerate(window))
            if first and last and first > last:
                problems.append(_problem(label, "rules.start_window", f"first day {first} is after the last day {last}",
                                         "first <= last"))
            elif first and last:
                kwargs["start_window"] = (first, last)
    if "min_age" in config:
        age = config["min_age"]
        if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 120:
            problems.append(_problem(label, "rules.min_age", f"not a whole number of years 0–120: {age!r}", "e.g. 18"))
        else:
            kwargs["min_age"] = age
    if config.get("referral_cutoff") is not None:
        kwargs["referral_cutoff"] = _date(config["referral_cutoff"], "rules.referral_cutoff", label, problems)
    if problems:
        return PreparationRules(), problems
    return PreparationRules(**kwargs), problems  # type: ignore[arg-type]


def _problem(label: str, key: str, message: str, allowed: str) -> Problem:
    return Problem(label, key, "bad_setting", message, allowed=allowed)


def _keywords(value: object, label: str, problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not value:
        problems.append(_problem(label, "rules.crime_keywords", f"must map categories to keyword lists, not {value!r}",
                                 f"categories {', '.join(_ALLOWED_CATEGORIES)}, each with a list of keywords"))
        return {}
    result = {}
    for category, words in value.items():
        key = f"rules.crime_keywords.{category}"
        if category not in _ALLOWED_CATEGORIES:
            problems.append(_problem(label, key, f"unknown offence category {category!r}",
                                     f"{', '.join(_ALLOWED_CATEGORIES)} (anything else is Other)"))
        elif not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            problems.append(_problem(label, key, f"must be a list of keywords, not {words!r}",
                                     f"[keyword, keyword, ...] (e.g. [{', '.join(DEFAULT_CRIME_KEYWORDS[category][:2])}])"))
        else:
            result[category] = tuple(w.strip() for w in words)
    return result


def _date(value: object, key: str, label: str, problems: list[Problem]) -> dt.date | None:
    if isinstance(value, dt.datetime) or not isinstance(value, (dt.date, str)):
        problems.append(_problem(label, key, f"not a date: {value!r}", "YYYY-MM-DD"))
        return None
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    except ValueError:
        problems.append(_problem(label, key, f"not a valid ISO date: {value!r}", "YYYY-MM-DD"))
        return None
    if not _DATE_RANGE[0] <= day <= _DATE_RANGE[1]:
        problems.append(_problem(label, key, f"date {day} outside {_DATE_RANGE[0]}–{_DATE_RANGE[1]}", "a date in that range"))
        return None
    return day
