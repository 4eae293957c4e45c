"""Reoffending outcomes, follow-up windows and their eligibility.

Windows (``follow_up_windows`` in ``published_tables.yaml``): "total" (any
reoffence by the extract date) and 30, 60, 90 days, 6 and 12 months from the
index date (referral date; comparison: start offence date).

* Reoffended within window w: first reoffence date <= index date + w (day 30
  counts for "30d"; same-day reoffences count). Month windows add calendar
  months (``pd.DateOffset``; 31 Aug + 6 months = 28/29 Feb).
* Eligible for w: index date + w <= extract date, i.e. the whole window is
  observed. For the day windows the evaluation's cut-offs are calendar months
  (extract 10 Jan 2020: 30 days — referrals up to 10 Dec 2019; 60 days — 10 Nov;
  90 days — 10 Oct; 6 months — 10 Jul; 12 months — 10 Jan 2019, all
  inclusive), which ``index + 30 days`` alone does not reproduce (it would keep
  11 Dec). So a day window also requires index + 1, 2, 3 calendar months <=
  extract date: eligibility = both, which reproduces the published cut-offs
  and still guarantees a fully observed window in every month of the year.
* Not eligible: ``reoffended_<w>`` is NaN and the person is left out of that
  window's analysis only.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd


class Window(str):
    """A window name (a ``str``: ``"30d"``) carrying its length.

    ``days`` or ``months``: the outcome horizon; ``eligibility_months``: the
    calendar-month cut-off also required for eligibility (see module notes).
    ``"total"`` has neither: everyone is followed to the extract date. ``label`` is the window as the
    published tables print it (``"30 days"``).
    """

    days: int | None
    months: int | None
    eligibility_months: int | None
    label: str

    def __new__(cls, name: str, *, days: int | None = None, months: int | None = None,
                eligibility_months: int | None = None, label: str) -> Window:
        window = super().__new__(cls, name)
        window.days, window.months, window.label = days, months, label
        window.eligibility_months = eligibility_months if eligibility_months is not None else months
        return window

    @property
    def is_total(self) -> bool:
        return self.days is None and self.months is None

    def end(self, index_dates: pd.Series) -> pd.Series:
        """Last day of the window for each index date (NaT for "total")."""
        if self.days is not None:
            return index_dates + pd.Timedelta(days=self.days)
        if self.months is not None:
            return index_dates + pd.DateOffset(months=self.months)
        return pd.Series(pd.NaT, index=index_dates.index, dtype=index_dates.dtype)

    def eligibility_end(self, index_dates: pd.Series) -> pd.Series:
        """The date that must not be after the extract date for the person to be eligible."""
        end = self.end(index_dates)
        if self.eligibility_months is None or self.is_total:
            return end
        return np.maximum(end, index_dates + pd.DateOffset(months=self.eligibility_months))


WINDOWS: tuple[Window, ...] = (
    Window("total", label="total"),
    Window("30d", days=30, eligibility_months=1, label="30 days"),
    Window("60d", days=60, eligibility_months=2, label="60 days"),
    Window("90d", days=90, eligibility_months=3, label="90 days"),
    Window("6m", months=6, label="6 months"),
    Window("12m", months=12, label="12 months"),
)


def eligible(index_dates: pd.Series, extract_date: dt.date, window: Window) -> pd.Series:
    """Whether each person's window ``window`` is fully observed by ``extract_date``."""
    if window.is_total:
        return index_dates <= pd.Timestamp(extract_date)
    return window.eligibility_end(index_dates) <= pd.Timestamp(extract_date)


def reoffended_within(index_dates: pd.Series, reoffence_dates: pd.Series, window: Window) -> pd.Series:
    """1.0 if the first reoffence falls within the window (inclusive), else 0.0 (not yet masked)."""
    reoffended = reoffence_dates.notna()
    if not window.is_total:
        reoffended &= reoffence_dates <= window.end(index_dates)
    return reoffended.astype(float)


def outcome_columns(index_dates: pd.Series, reoffence_dates: pd.Series, reoffence_counts: pd.Series,
                    extract_date: dt.date) -> pd.DataFrame:
    """``reoffended_<w>``, ``eligible_<w>`` for every window, counts, days to first reoffence, follow-up."""
    out = pd.DataFrame(index=index_dates.index)
    for window in WINDOWS:
        ok = eligible(index_dates, extract_date, window)
        out[f"reoffended_{window}"] = reoffended_within(index_dates, reoffence_dates, window).where(ok)
        out[f"eligible_{window}"] = ok.astype(bool)
    out["reoffence_count"] = reoffence_counts.astype(float)
    out["days_to_reoffence"] = (reoffence_dates - index_dates).dt.days.astype(float)
    out["follow_up_days"] = (pd.Timestamp(extract_date) - index_dates).dt.days.astype(float)
    return out


def reoffended_by(data: pd.DataFrame, horizon_days: float | pd.Series) -> pd.Series:
    """Reoffended within ``horizon_days`` of the index date; NaN where follow-up is shorter.

    For equal follow-up: a scalar (e.g. the treated median follow-up) or, after
    matching, a Series aligned to ``data.index`` giving each control the
    follow-up of the treated person she is matched to (per-pair truncation).
    Needs ``days_to_reoffence`` and ``follow_up_days``.
    """
    horizon = pd.Series(horizon_days, index=data.index, dtype=float)
    within = (data["days_to_reoffence"] <= horizon).astype(float)
    return within.where(data["follow_up_days"] >= horizon)


EqualFollowUp = Literal["median", "max"] | bool


def follow_up_horizon(data: pd.DataFrame, how: EqualFollowUp) -> float | None:
    """The treated group's follow-up statistic used for equal follow-up (``True`` = ``"median"``)."""
    if how is False or how is None:
        return None
    statistic = "median" if how is True else how
    if statistic not in ("median", "max"):
        raise ValueError(f"equal_follow_up must be False, True, 'median' or 'max', not {how!r}")
    treated = data.loc[data["treated"] == 1, "follow_up_days"]
    return float(getattr(treated, statistic)())


def equalise_total(data: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """Comparison group's "total" outcome observed only up to ``horizon`` days; treated unchanged.

    The published "total" compares controls followed about 4.6 years with
    treated followed 10 days to 3.6 years (docs/evaluation.md §5). With the
    treated median as horizon, every control is followed as long as the
    typical treated person; per-pair truncation after matching is available
    through :func:`reoffended_by`.
    """
    out = data.copy()
    control = out["treated"] == 0
    truncated = reoffended_by(out.loc[control], horizon)
    out.loc[control, "reoffended_total"] = truncated
    out.loc[control, "eligible_total"] = truncated.notna()
    return out
