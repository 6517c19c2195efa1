"""The one conflict checker: used by the web form, the API, rescheduling and
recurring series alike. Intervals are half-open `[start, end)` everywhere."""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..catalogue.models import Instrument
from ..extensions import db
from .calendar import closed_intervals
from .models import ACTIVE_STATUSES, Blackout, Booking

# The longest slot a booking can hold: instruments allow at most 7 days per
# booking plus at most one day of buffer (CHECK constraints on instruments).
# Bounding the search by it keeps the query on the (instrument_id, start)
# index to the bookings near the request, however long the history.
MAX_OCCUPIED_SPAN = timedelta(days=8)


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
        Booking.status.in_(ACTIVE_STATUSES),
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
    the caller has worked it out already). One query for bookings and one for
    blackouts cover a whole series.
    """
    if closed is None:
        closed = closed_obstacles(instrument, intervals)
    if not intervals:
        return []
    buffer = timedelta(minutes=instrument.buffer_minutes)
    low = min(start for start, _ in intervals)
    high = max(end for _, end in intervals) + buffer
    bookings = busy_bookings(instrument.id, low, high, exclude_ids)
    blackouts = blackouts_between(instrument.id, low, high)
    starts = [b_start for b_start, _ in bookings]  # in order: the query sorts them
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
