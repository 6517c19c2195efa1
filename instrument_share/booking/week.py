"""The week calendar of an instrument page: cells of free and busy time."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..catalogue.models import Instrument
from ..extensions import db
from ..timeutil import platform_zone
from .availability import availability
from .calendar import holiday_name
from .conflicts import MAX_OCCUPIED_SPAN
from .models import ACTIVE_STATUSES, Booking


@dataclass
class Cell:
    start: datetime
    end: datetime
    state: str  # free, booking, blackout, closed, notice (too soon to book), past
    booking: Booking | None = None  # for the instrument's managers: whose booking it is
    first: bool = False  # the booking's first cell (where its booker is named)


@dataclass
class Day:
    date: date
    holiday: str | None
    cells: list[Cell] = field(default_factory=list)
    # (start, end, end of a usual-length booking from start) of each free gap
    free: list[tuple[datetime, datetime, datetime]] = field(default_factory=list)


@dataclass
class Week:
    monday: date
    rows: list[time]
    days: list[Day]

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _row_range(instrument: Instrument) -> tuple[int, int]:
    """First and last minute shown: the instrument's earliest opening and
    latest closing across the week, to the hour; office hours when unset."""
    if not instrument.opening_hours:
        return 8 * 60, 18 * 60
    first = min(h.open_minute for h in instrument.opening_hours) // 60 * 60
    last = -(-max(h.close_minute for h in instrument.opening_hours) // 60) * 60
    return first, last


def shown_bookings(instrument: Instrument, monday: date) -> list[Booking]:
    """The week's active bookings with their bookers and firms, for the
    instrument's managers' calendar (one statement)."""
    start = datetime.combine(monday, time(), platform_zone())
    return list(db.session.scalars(
        sa.select(Booking).where(Booking.instrument_id == instrument.id, Booking.status.in_(ACTIVE_STATUSES),
                                 Booking.start > start - MAX_OCCUPIED_SPAN, Booking.start < start + timedelta(days=7),
                                 Booking.occupied_until > start)
        .options(joinedload(Booking.user).joinedload(User.firm)).order_by(Booking.start)))


def build_week(instrument: Instrument, monday: date, now: datetime, bookings: list[Booking] = ()) -> Week:
    """Seven days of cells; each cell takes the state of whatever covers it,
    the worst first: past, inside the booking notice, closed, blackout,
    booking, else free. A booked cell names its booking when `bookings`
    (shown_bookings: managers only) holds it."""
    zone = platform_zone()
    start = datetime.combine(monday, time(), zone)
    end = start + timedelta(days=7)
    found = availability(instrument, start, end)
    first, last = _row_range(instrument)
    step = 30 if last - first <= 14 * 60 else 60
    rows = [time(m // 60, m % 60) for m in range(first, last, step)]
    rank = {"closed": 0, "blackout": 1, "booking": 2}
    # The conflict checker refuses a start before this (rules.check_interval).
    bookable_from = now + timedelta(hours=instrument.advance_notice_hours)
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        midnight = datetime.combine(day, time(), zone)
        entry = Day(date=day, holiday=holiday_name(day))
        for minute in range(first, last, step):
            cell_start = midnight + timedelta(minutes=minute)
            cell_end = cell_start + timedelta(minutes=step)
            covering = [b["kind"] for b in found["busy"] if b["start"] < cell_end and b["end"] > cell_start]
            if cell_start < now:
                state = "past"
            elif cell_start < bookable_from:
                state = "notice"
            elif covering:
                state = min(covering, key=rank.__getitem__)
            else:
                state = "free"
            cell = Cell(cell_start, cell_end, state)
            if state == "booking":
                cell.booking = next((b for b in bookings if b.start < cell_end and b.occupied_until > cell_start), None)
                cell.first = cell.booking is not None and cell.booking.start >= cell_start
            entry.cells.append(cell)
        usual = timedelta(minutes=max(instrument.min_booking_minutes, 60))
        entry.free = [
            (s, e, min(e, s + usual))
            for s, e in ((max(f["start"], bookable_from).astimezone(zone), f["end"].astimezone(zone))
                         for f in found["free"])
            if s.date() == day and e > s
        ]
        days.append(entry)
    return Week(monday=monday, rows=rows, days=days)
