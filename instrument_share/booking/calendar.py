"""When an instrument is open: weekly hours, China's holidays and make-up days.

The `holidays` package carries the State Council's schedule: statutory days
off, the substituted days off, and the weekend days that become working
days (调休). A make-up working day opens with the hours of the weekday whose
day off it pays for.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from ..catalogue.models import Instrument
from ..timeutil import platform_zone

SUBSTITUTED_FROM = re.compile(r"substituted from (\d\d)/(\d\d)/(\d{4})")


@lru_cache(maxsize=16)
def _china_year(year: int) -> tuple[frozenset[date], dict[date, int]]:
    """Closed days, and make-up working days mapped to the weekday they work as."""
    calendar = holidays.China(years=year, language="en_US")
    closed = frozenset(calendar)
    makeup: dict[date, int] = {}
    for day, name in calendar.items():
        for match in SUBSTITUTED_FROM.finditer(name):
            month, dom, yr = (int(g) for g in match.groups())
            makeup[date(yr, month, dom)] = day.weekday()
    for day in calendar.weekend_workdays:
        makeup.setdefault(day, 0)
    return closed, makeup


def warm() -> None:
    """Load this year's and next year's holidays now: the `holidays` package
    reads its China calendar on first use (about half a second), which must
    not happen inside a booking's write lock."""
    this_year = datetime.now().year
    _china_year(this_year)
    _china_year(this_year + 1)


def effective_weekday(day: date, open_on_holidays: bool = False) -> int | None:
    """The weekday whose hours apply on `day`, or None when it is a day off."""
    closed, makeup = _china_year(day.year)
    if day in makeup:
        return makeup[day]
    if day in closed and not open_on_holidays:
        return None
    return day.weekday()


def holiday_name(day: date) -> str | None:
    closed, _ = _china_year(day.year)
    if day not in closed:
        return None
    return holidays.China(years=day.year, language="zh_CN").get(day)


def weekly_hours(instrument: Instrument) -> dict[int, list[tuple[int, int]]]:
    hours: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row in instrument.opening_hours:
        hours[row.weekday].append((row.open_minute, row.close_minute))
    return hours


def opening_windows(
    instrument: Instrument, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Open intervals touching `[start, end)`, merged where one day's closing
    meets the next day's opening, as aware datetimes in the platform zone."""
    zone = platform_zone()
    hours = weekly_hours(instrument)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    windows: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        weekday = effective_weekday(day, instrument.open_on_holidays)
        if weekday is not None:
            midnight = datetime.combine(day, time(), zone)
            for open_minute, close_minute in sorted(hours.get(weekday, ())):
                opens = midnight + timedelta(minutes=open_minute)
                closes = midnight + timedelta(minutes=close_minute)
                if windows and windows[-1][1] >= opens:
                    windows[-1] = (windows[-1][0], max(windows[-1][1], closes))
                else:
                    windows.append((opens, closes))
        day += timedelta(days=1)
    return [(s, e) for s, e in windows if s < end and e > start]


def closed_intervals(
    instrument: Instrument, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of `[start, end)` outside opening hours."""
    closed = []
    cursor = start
    for opens, closes in opening_windows(instrument, start, end):
        if opens > cursor:
            closed.append((cursor, min(opens, end)))
        cursor = max(cursor, closes)
    if cursor < end:
        closed.append((cursor, end))
    return closed
