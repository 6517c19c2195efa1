"""Opening hours with China's holidays and make-up working days."""
from __future__ import annotations

from datetime import date

import pytest

from instrument_share.booking.calendar import closed_intervals, effective_weekday, opening_windows

from .conftest import at


@pytest.mark.parametrize(
    ("day", "open_on_holidays", "expected"),
    [
        (date(2026, 12, 1), False, 1),  # an ordinary Tuesday
        (date(2026, 10, 1), False, None),  # National Day
        (date(2026, 10, 1), True, 3),  # open on holidays: Thursday's hours
        (date(2026, 10, 6), False, None),  # substituted day off (for Sunday 20 Sept)
        (date(2026, 9, 20), False, 1),  # Sunday make-up day works as Tuesday 6 Oct
        (date(2026, 2, 14), False, 4),  # Saturday make-up day works as Friday 20 Feb
        (date(2026, 12, 5), False, 5),  # an ordinary Saturday keeps Saturday's hours
        (date(2027, 10, 1), False, None),  # statutory days are known beyond the schedule
    ],
)
def test_effective_weekday(app_context, day, open_on_holidays, expected):
    assert effective_weekday(day, open_on_holidays) == expected


def test_make_up_day_opens_with_weekday_hours(make):
    instrument = make.instrument()  # Mon–Fri 09:00–17:00
    windows = opening_windows(instrument, at(date(2026, 9, 20), "00:00"), at(date(2026, 9, 21), "00:00"))
    assert windows == [(at(date(2026, 9, 20), "09:00"), at(date(2026, 9, 20), "17:00"))]
    assert opening_windows(instrument, at(date(2026, 10, 1), "00:00"), at(date(2026, 10, 2), "00:00")) == []


def test_windows_merge_across_midnight(make):
    instrument = make.instrument(hours=[(0, 18 * 60, 1440), (1, 0, 8 * 60)])
    monday = date(2026, 11, 30)
    windows = opening_windows(instrument, at(monday, "20:00"), at(date(2026, 12, 1), "06:00"))
    assert windows == [(at(monday, "18:00"), at(date(2026, 12, 1), "08:00"))]
    assert closed_intervals(instrument, at(monday, "20:00"), at(date(2026, 12, 1), "06:00")) == []


def test_closed_parts(make):
    instrument = make.instrument()
    tuesday = date(2026, 12, 1)
    assert closed_intervals(instrument, at(tuesday, "08:00"), at(tuesday, "18:00")) == [
        (at(tuesday, "08:00"), at(tuesday, "09:00")),
        (at(tuesday, "17:00"), at(tuesday, "18:00")),
    ]
