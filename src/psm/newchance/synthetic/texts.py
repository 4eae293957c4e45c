"""Step 3 and 5 of the simulation: police-style offence descriptions and the two raw files.

The referral file (one row per referral) and the police extract (one row per recorded offence) are
written in the raw schema of supplied data, with the codings and free text a real extract has.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from psm.newchance.synthetic.design import N_JANUARY_2020, START_WINDOW
from psm.newchance.synthetic.people import adjust_sum


# --- offence descriptions ----------------------------------------------------------------------
# Police-style wording. The category is what the report's keyword rule gives (section 3.2.1):
# note the traps a keyword search falls into, kept on purpose: "Harassment without violence"
# is Violent, "Handling stolen goods" and GBH wordings without the listed phrases are Other.
# Texts matching both a Violent and a Property keyword are marked "both".
OFFENCE_TEXTS: Mapping[str, tuple[str, ...]] = {
    "violent": (
        "Assault occasioning actual bodily harm",
        "ASSAULT BY BEATING",
        "Common assault",
        "common assault - domestic related",
        "Assault on emergency worker (police constable)",
        "Racially or religiously aggravated common assault",
        "Robbery of personal property",
        "Wounding with intent to do grievous bodily harm",
        "Causing bodily harm by wanton or furious driving",
        "Violence without injury",
        "Harassment without violence",
        "Threats to kill / violence with injury",
    ),
    "property": (
        "Theft from shop",
        "SHOPLIFTING",
        "Shoplifting - goods under 200 pounds",
        "theft from the person",
        "Theft of pedal cycle",
        "Theft by employee",
        "Burglary - dwelling",
        "Burglary other than a dwelling",
        "Attempted burglary",
        "Theft from motor vehicle",
        "Making off without payment after theft of fuel",
    ),
    "other": (
        "Criminal damage to property valued under 5000 pounds",
        "Possession of cannabis",
        "POSSESSION OF CONTROLLED DRUG - CLASS A",
        "Drink driving - excess alcohol",
        "Public order offence - section 5",
        "Fraud by false representation",
        "Handling stolen goods",
        "Possession of an offensive weapon in a public place",
        "Breach of restraining order",
        "Drunk and disorderly",
        "Obstruct / resist a police constable",
        "Malicious communications",
        "Affray",
        "Criminal Damage - other",
    ),
    "both": (
        "Robbery - theft of mobile phone",
        "Burglary with assault on occupier",
        "Assault and theft from the person",
    ),
}
BOTH_CATEGORY = "violent"  # category a "both" text counts towards (keyword rule precedence)
N_BOTH = 10                # "both" texts among the violent index offences of each group


# --- raw files ---------------------------------------------------------------------------------
def offence_texts(rng: np.random.Generator, categories: Sequence[str], n_both: int) -> list[str]:
    """A police wording for each category; ``n_both`` of the BOTH_CATEGORY ones match two categories."""
    categories = np.asarray(categories, dtype=object)
    both_slots = rng.permutation(np.flatnonzero(categories == BOTH_CATEGORY))[:n_both]
    texts = [str(rng.choice(OFFENCE_TEXTS[c])) for c in categories]
    for i in both_slots:
        texts[i] = str(rng.choice(OFFENCE_TEXTS["both"]))
    return texts


def _code_style(rng: np.random.Generator, values: np.ndarray, empty_for: str, p_empty: float) -> list[str]:
    """Write codes as an extract would: mostly canonical, some as words ("Not assessed",
    "No Data"), and ``empty_for`` sometimes as an empty cell (the schema's meaning of empty)."""
    out = []
    for v in values:
        r = rng.uniform()
        words = str(v).replace("_", " ")
        if v == empty_for and r < p_empty:
            out.append("")
        elif r > 0.9:
            out.append(words.title())
        elif r > 0.75:
            out.append(words.capitalize())
        else:
            out.append(str(v))
    return out


def referral_file(rng: np.random.Generator, people: pd.DataFrame) -> pd.DataFrame:
    n = len(people)
    invalid = np.flatnonzero(~people["analysed"].to_numpy())[N_JANUARY_2020:]
    days = people["days_to_reoffence"].to_numpy()
    reoffended = np.where(np.isfinite(days), "yes", "no").astype(object)
    reoffence_date = [d + dt.timedelta(days=int(x)) if np.isfinite(x) else None for d, x in zip(people["index_date"], days)]
    count = np.where(np.isfinite(days), 1 + np.array([len(x) for x in people["later_days"]]), 0).astype(object)
    # the three invalid entries: one reoffence dated before the referral, two of unknown status
    reoffended[invalid[0]] = "yes"
    reoffence_date[invalid[0]] = people["index_date"].iloc[invalid[0]] - dt.timedelta(days=23)
    count[invalid[0]] = 1
    for i in invalid[1:]:
        reoffended[i], reoffence_date[i], count[i] = "unknown", None, None
    after12 = [
        str(int(np.isfinite(d) and d <= 365) + sum(1 for x in later if x <= 365)) for d, later in zip(days, people["later_days"])
    ]
    history = people["history"].to_numpy()
    cap = np.minimum(7, history - 1)
    before12 = adjust_sum(rng, rng.poisson(0.14 * history + 0.3) + 0.5, round(3.2 * len(people)), 0, cap)
    frame = pd.DataFrame(
        {
            "referral_id": [f"NC{1000 + i:05d}" for i in range(n)],
            "person_id": people["person_id"],
            "referral_date": [d.isoformat() for d in people["index_date"]],
            "age": people["age"],
            "ethnic_appearance": people["ethnic_appearance"],
            "employment_status": _code_style(rng, people["employment_status"].to_numpy(), "no_data", 0.3),
            "engagement_level": people["engagement_level"],
            "engagement_length": people["engagement_length"],
            "substance_misuse_need": _code_style(rng, people["substance_misuse_need"].to_numpy(), "not_assessed", 0.25),
            "mental_health_need": _code_style(rng, people["mental_health_need"].to_numpy(), "not_assessed", 0.25),
            "index_offence": people["index_offence"],
            "offending_history_total": history,
            "offences_12m_before": before12,
            "offences_12m_after": after12,
            "reoffended": reoffended,
            "reoffence_date": [d.isoformat() if d else "" for d in reoffence_date],
            "reoffence_count": ["" if c is None else str(c) for c in count],
        }
    )
    frame.loc[invalid[1:], "offences_12m_after"] = ""
    return frame.sort_values(["referral_date", "referral_id"], kind="stable").reset_index(drop=True)


def _earlier_offence_days(rng: np.random.Generator, history: int, first_day_back: int) -> list[int]:
    """Days before the start offence of the earlier offences that fall inside the extract (from 2014)."""
    n = min(history - 1, rng.poisson(0.12 * history))
    return sorted((int(d) for d in rng.integers(first_day_back, max(500, first_day_back + 200), size=n)), reverse=True)


def years_before(date: dt.date, years: int) -> dt.date:
    """The same day ``years`` earlier; 29 February falls back to 28 February in a non-leap year."""
    year = date.year - years
    if date.month == 2 and date.day == 29 and not calendar.isleap(year):
        return date.replace(year=year, day=28)
    return date.replace(year=year)


def _police_rows(rng: np.random.Generator, person: pd.Series) -> list[dict]:
    """All extract rows of one person: earlier offences, the start offence, later offences."""
    start = person["index_date"]
    dob = years_before(start, int(person["age"])) - dt.timedelta(days=int(rng.integers(1, 364)))
    first_back = (start - START_WINDOW[0]).days + 3  # earlier offences end before 4 May 2015
    earlier = [start - dt.timedelta(days=d) for d in _earlier_offence_days(rng, int(person["history"]), first_back)]
    later = []
    if np.isfinite(person["days_to_reoffence"]):
        later = [start + dt.timedelta(days=int(d)) for d in [person["days_to_reoffence"], *person["later_days"]]]
    if person.get("reason") == "no_start_offence":  # keep this person out of the start window
        later = [d for d in later if not (START_WINDOW[0] - dt.timedelta(days=2) <= d <= START_WINDOW[1] + dt.timedelta(days=2))]
    dates = [*earlier, start, *later]
    history0 = int(person["history"]) - len(earlier) - 1
    categories = list(rng.choice(["other", "violent", "property"], size=len(dates), p=[0.5, 0.15, 0.35]))
    categories[len(earlier)] = person["crime_type"]
    rows = []
    for k, (date, category) in enumerate(zip(dates, categories)):
        rows.append(
            {
                "person_id": person["person_id"],
                "offence_date": date,
                "offence_description": person["index_offence"] if date == start else offence_texts(rng, [category], 0)[0],
                "age": _age_on(dob, date),
                "ethnic_appearance": person["ethnic_appearance"],
                "employment_status": person["employment_status"],
                "substance_misuse_need": person["substance_misuse_need"],
                "mental_health_need": person["mental_health_need"],
                "offending_history_total": history0 + k + 1,
            }
        )
    return rows


def _age_on(dob: dt.date, day: dt.date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def person_streams(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """One child generator per person: a person's extract rows then depend on her own characteristics only."""
    return list(rng.spawn(n))


def police_file(rng: np.random.Generator, people: pd.DataFrame, per_person: bool = False) -> pd.DataFrame:
    """The police extract of ``people``. ``per_person``: draw each person's rows from her own stream
    (:func:`person_streams`), so that the order of first appearance (and of the prepared comparison
    group) depends on each person's own history only, not on everyone drawn before her."""
    streams = person_streams(rng, len(people)) if per_person else [rng] * len(people)
    rows = [row for (_, person), stream in zip(people.iterrows(), streams) for row in _police_rows(stream, person)]
    frame = pd.DataFrame(rows).sort_values(["offence_date", "person_id"], kind="stable").reset_index(drop=True)
    for column, empty in (("employment_status", "no_data"), ("substance_misuse_need", "not_assessed"),
                          ("mental_health_need", "not_assessed")):
        frame[column] = _code_style(rng, frame[column].to_numpy(), empty, 0.3)
    frame.insert(0, "offence_id", [f"WMP{15000000 + 37 * i:09d}" for i in range(len(frame))])
    frame["offence_date"] = [d.strftime("%d/%m/%Y") for d in frame["offence_date"]]  # UK day-first
    return frame
