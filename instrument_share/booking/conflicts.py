"""The one conflict checker: used by the web form, the API, rescheduling and
recurring series alike. Intervals are half-open `[start, end)` everywhere."""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa

from ..catalogue.models import Instrument, OpeningHours
from ..extensions import db
from .calendar import closed_intervals
from .models import ACTIVE_STATUSES, Blackout, Booking

# The longest slot a booking can hold: instruments allow at most 7 days per
# booking plus at most one day of buffer (CHECK constraints on instruments).
# Bounding the search by it keeps the query to the bookings near the
# request, however long the history.
MAX_OCCUPIED_SPAN = timedelta(days=8)


def active_sql(status=None):
    """`status IN ('pending', 'confirmed')` with the statuses written into
    the SQL, not bound: so written it is the condition of the partial index
    `ix_bookings_active_instrument_id_start` (active bookings only, by
    instrument and start, with their occupied end), which a query can use
    only when it repeats the condition (SQLite always, PostgreSQL once it
    plans a prepared statement generically). With bound statuses both
    engines walked the `(instrument_id, start)` index over every booking of
    the window, completed and cancelled ones too, and read each row for
    its status: the refusal grew with the history (issue #20)."""
    return (Booking.status if status is None else status).in_([sa.literal_column(f"'{name}'")
                                                               for name in ACTIVE_STATUSES])


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals overlap when each starts before the other ends."""
    return a_start < b_end and b_start < a_end


def overlaps_sql(column_start, column_end, start: datetime, end: datetime):
    """The same rule as `overlaps`, as a SQL condition."""
    return sa.and_(column_start < end, column_end > start)


@dataclass(frozen=True)
class Obstacle:
    """What stands in a request's way; never says who booked."""

    start: datetime
    end: datetime
    kind: str  # "booking", "blackout" or "closed"


def busy_bookings(
    instrument_id: int, start: datetime, end: datetime, exclude_ids: tuple[int, ...] = ()
) -> list[tuple[datetime, datetime]]:
    """Occupied slots `[start, occupied_until)` of active bookings touching the range."""
    query = sa.select(Booking.start, Booking.occupied_until).where(
        Booking.instrument_id == instrument_id,
        active_sql(),
        Booking.start >= start - MAX_OCCUPIED_SPAN,
        overlaps_sql(Booking.start, Booking.occupied_until, start, end),
    )
    if exclude_ids:
        query = query.where(Booking.id.not_in(exclude_ids))
    return [(row.start, row.occupied_until) for row in db.session.execute(query.order_by(Booking.start))]


def blackouts_between(instrument_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    query = sa.select(Blackout.start, Blackout.end).where(
        Blackout.instrument_id == instrument_id, overlaps_sql(Blackout.start, Blackout.end, start, end)
    )
    return [(row.start, row.end) for row in db.session.execute(query.order_by(Blackout.start))]


class Hours(NamedTuple):
    """One row of weekly opening hours, as `opening_windows` reads it."""

    weekday: int
    open_minute: int
    close_minute: int


class CalendarRows(NamedTuple):
    bookings: list[tuple[datetime, datetime]]  # active, `(start, occupied_until)`, in order of start
    blackouts: list[tuple[datetime, datetime]]  # in order of start
    hours: list[Hours] | None  # weekly opening hours, when asked for


@lru_cache(maxsize=8)
def _calendar_statement(exclude: bool, read_hours: bool):
    """One instrument's active bookings touching [low, booked_until), its
    blackouts touching [low, high) and (`read_hours`) its weekly hours, as
    one statement: built once, run with each call's values. The bookings
    are read from the partial index of active bookings, starting from
    `from_start` (`low` less the longest slot a booking can hold): a window
    around the request, whatever the history."""
    instrument_id, low = sa.bindparam("instrument_id"), sa.bindparam("low")
    nothing = sa.cast(sa.null(), sa.SmallInteger)  # typed: PostgreSQL matches a union's columns pairwise
    bookings = sa.select(sa.literal_column("0"), Booking.start, Booking.occupied_until, nothing, nothing, nothing).where(
        Booking.instrument_id == instrument_id, active_sql(), Booking.start >= sa.bindparam("from_start"),
        overlaps_sql(Booking.start, Booking.occupied_until, low, sa.bindparam("booked_until")))
    if exclude:
        bookings = bookings.where(Booking.id.not_in(sa.bindparam("exclude_ids", expanding=True)))
    parts = [bookings, sa.select(sa.literal_column("1"), Blackout.start, Blackout.end, nothing, nothing, nothing).where(
        Blackout.instrument_id == instrument_id, overlaps_sql(Blackout.start, Blackout.end, low, sa.bindparam("high")))]
    if read_hours:
        parts.append(sa.select(sa.literal_column("2"), sa.null(), sa.null(), OpeningHours.weekday,
                               OpeningHours.open_minute, OpeningHours.close_minute)
                     .where(OpeningHours.instrument_id == instrument_id))
    return sa.union_all(*parts)


def calendar_rows(instrument_id: int, low: datetime, high: datetime, booked_until: datetime | None = None,
                  exclude_ids: tuple[int, ...] = (), read_hours: bool = False) -> CalendarRows:
    """What stands in the way in a window, in one statement: active bookings
    touching `[low, booked_until)` (default: `high`), blackouts touching
    `[low, high)`, and with `read_hours` the weekly opening hours."""
    values = {"instrument_id": instrument_id, "low": low, "high": high, "from_start": low - MAX_OCCUPIED_SPAN,
              "booked_until": booked_until or high}
    if exclude_ids:
        values["exclude_ids"] = list(exclude_ids)
    bookings, blackouts, hours = [], [], []
    rows = db.session.connection().execute(_calendar_statement(bool(exclude_ids), read_hours), values)
    for kind, start, end, weekday, open_minute, close_minute in rows:
        if kind == 2:
            hours.append(Hours(weekday, open_minute, close_minute))
        else:
            (bookings if kind == 0 else blackouts).append((start, end))
    bookings.sort()
    blackouts.sort()
    return CalendarRows(bookings, blackouts, hours if read_hours else None)


def closed_obstacles(instrument: Instrument, intervals: list[tuple[datetime, datetime]]) -> list[list[Obstacle]]:
    """For each requested `[start, end)`, its parts outside opening hours.
    They depend on the instrument's hours and the holiday calendar only, so
    a booking works them out before it takes the write lock."""
    return [[Obstacle(s, e, "closed") for s, e in closed_intervals(instrument, start, end)]
            for start, end in intervals]


def find_conflicts(
    instrument: Instrument,
    intervals: list[tuple[datetime, datetime]],
    exclude_ids: tuple[int, ...] = (),
    closed: list[list[Obstacle]] | None = None,
) -> list[list[Obstacle]]:
    """For each requested `[start, end)`, the obstacles in its way (empty: free).

    A request holds `[start, end + buffer)` against other bookings, and needs
    `[start, end)` free of blackouts and inside opening hours (`closed`, when
    the caller has worked it out already). One statement reads the bookings
    and blackouts of a window around the request (a whole series' span),
    whatever the instrument's history.
    """
    if closed is None:
        closed = closed_obstacles(instrument, intervals)
    if not intervals:
        return []
    buffer = timedelta(minutes=instrument.buffer_minutes)
    low = min(start for start, _ in intervals)
    high = max(end for _, end in intervals) + buffer
    bookings, blackouts, _ = calendar_rows(instrument.id, low, high, exclude_ids=exclude_ids)
    starts = [b_start for b_start, _ in bookings]  # in order of start
    result = []
    for (start, end), closed_parts in zip(intervals, closed, strict=True):
        # Only bookings starting in [start − the longest slot, end + buffer) can overlap.
        near = bookings[bisect_left(starts, start - MAX_OCCUPIED_SPAN):bisect_left(starts, end + buffer)]
        found = [
            Obstacle(b_start, b_end, "booking")
            for b_start, b_end in near
            if overlaps(start, end + buffer, b_start, b_end)
        ]
        found += [
            Obstacle(b_start, b_end, "blackout")
            for b_start, b_end in blackouts
            if overlaps(start, end, b_start, b_end)
        ]
        found += closed_parts
        result.append(found)
    return result
