"""Date and number parsing: ISO and UK day-first only, nothing guessed."""

from __future__ import annotations

import pandas as pd
import pytest

from psm.newchance.inputs.io import parse_dates, parse_integers


@pytest.mark.parametrize(("text", "iso"), [
    ("2015-05-06", "2015-05-06"), ("06/05/2015", "2015-05-06"), ("6/5/2015", "2015-05-06"),
    ("31-05-2015", "2015-05-31"), ("31.05.2015", "2015-05-31"), ("6 May 2015", "2015-05-06"),
    ("06-May-2015", "2015-05-06"), ("6 september 2015", "2015-09-06"), ("2019-12-10 00:00:00", "2019-12-10"),
    ("29/02/2020", "2020-02-29"),
])
def test_accepted_dates(text: str, iso: str) -> None:
    assert parse_dates(pd.Series([text])).iloc[0] == pd.Timestamp(iso)


@pytest.mark.parametrize("text", ["05/31/2015", "06/05/15", "2015/31/05", "29/02/2019", "31/04/2015", "May 6 2015",
                                  "6 Foo 2015", "yesterday", "", None])
def test_rejected_dates(text) -> None:
    assert pd.isna(parse_dates(pd.Series([text], dtype=object)).iloc[0])


def test_ambiguous_dates_are_read_day_first() -> None:
    assert parse_dates(pd.Series(["03/04/2019"])).iloc[0] == pd.Timestamp("2019-04-03")


def test_integers() -> None:
    out = parse_integers(pd.Series(["7", "-2", "+3", "2.5", "1e3", "", None, "x"], dtype=object))
    assert out.iloc[:3].tolist() == [7.0, -2.0, 3.0] and out.iloc[3:].isna().all()
