"""Time helpers for booking tests: real working days a few days ahead."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from instrument_share.booking.calendar import effective_weekday

SHANGHAI = ZoneInfo("Asia/Shanghai")


def workday(days_ahead: int = 3) -> date:
    """The first ordinary working day (Mon–Fri, not a holiday) at least `days_ahead` away."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=days_ahead)
    while day.weekday() > 4 or effective_weekday(day) != day.weekday():
        day += timedelta(days=1)
    return day


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), SHANGHAI)


def iso(day: date, hhmm: str) -> str:
    return at(day, hhmm).isoformat()


@pytest.fixture
def firm_user(make):
    return make.user(role="firm")


@pytest.fixture
def sem(make):
    """Open Mon–Fri 09:00–17:00, 30 min to 8 h, no buffer, a day's notice, ¥300/h."""
    return make.instrument(name="扫描电子显微镜", min_booking_minutes=30, max_booking_minutes=480)
