"""The SQL condition "this instrument is free for all of [start, end)", so a
search filters free instruments in one query instead of a loop over them."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from ..booking.calendar import effective_weekday
from ..booking.conflicts import MAX_OCCUPIED_SPAN, active_sql, overlaps_sql
from ..booking.models import Blackout, Booking
from ..catalogue.models import Instrument, OpeningHours, in_service_condition
from ..db_types import UTCDateTime
from ..sql import plus_minutes
from ..timeutil import platform_zone

MAX_FREE_SEARCH_SPAN = timedelta(days=7)
MAX_BUFFER = timedelta(minutes=1440)  # the instruments table's CHECK


def _day_segments(start: datetime, end: datetime):
    """(date, first minute, last minute) for each platform day `[start, end)` touches."""
    zone = platform_zone()
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = local_start.date()
    while True:
        midnight = datetime.combine(day, time(), zone)
        seg_start = max(local_start, midnight)
        seg_end = min(local_end, midnight + timedelta(days=1))
        if seg_start >= seg_end:
            break
        yield day, int((seg_start - midnight).total_seconds() // 60), int(
            -(-(seg_end - midnight).total_seconds() // 60)
        )
        day += timedelta(days=1)


def free_window(start: datetime, end: datetime) -> tuple[tuple, dict]:
    """The free-time condition for `[start, end)` as its shape (for each
    platform day touched: whether it opens on a regular day, and, where a
    holiday or make-up day makes the two differ, for instruments open on
    holidays) and the values of its parameters. `free_condition(shape)`
    builds the SQL once per shape; the values go with each execution."""
    days, values = [], {"free_start": start, "free_end": end,
                        "booked_from": start - MAX_OCCUPIED_SPAN, "booked_until": end + MAX_BUFFER}
    for number, (day, first, last) in enumerate(_day_segments(start, end)):
        regular, on_holidays = effective_weekday(day, False), effective_weekday(day, True)
        values.update({f"free_first_{number}": first, f"free_last_{number}": last,
                       f"free_weekday_{number}": regular, f"free_holiday_weekday_{number}": on_holidays})
        days.append((regular is not None,) if regular == on_holidays
                    else (regular is not None, on_holidays is not None))
    return tuple(days), values


def _open_on(number: int, opens: bool, holiday: bool = False):
    if not opens:
        return sa.false()
    weekday = f"free_holiday_weekday_{number}" if holiday else f"free_weekday_{number}"
    return _found(sa.select(sa.literal(1)).where(
        OpeningHours.instrument_id == Instrument.id,
        OpeningHours.weekday == sa.bindparam(weekday),
        OpeningHours.open_minute <= sa.bindparam(f"free_first_{number}"),
        OpeningHours.close_minute >= sa.bindparam(f"free_last_{number}"),
    ))


def _found(select):
    """"There is such a row", asked of each instrument through its index.
    A scalar subquery, not EXISTS: PostgreSQL turns an EXISTS into a join,
    and then hashed the opening hours of all 20,000 instruments for the
    2,700 a text matched (9 ms of a 21 ms search). Bookings and blackouts
    stay EXISTS: probing them row by row was slower (45 ms), as the index
    range of a booking's start holds 8 days of them."""
    return select.limit(1).scalar_subquery().is_not(None)


def free_condition(days: tuple):
    """Open (holidays and make-up days included), bookable status, no
    blackout, and no active booking within the instrument's buffer, for the
    shape `free_window` gives (its values bound at execution)."""
    opening = []
    for number, day in enumerate(days):
        if len(day) == 1:
            opening.append(_open_on(number, *day))
        else:
            regular, on_holidays = day
            opening.append(sa.or_(
                sa.and_(Instrument.open_on_holidays.is_(False), _open_on(number, regular)),
                sa.and_(Instrument.open_on_holidays.is_(True), _open_on(number, on_holidays, holiday=True)),
            ))
    start, end = sa.bindparam("free_start", type_=UTCDateTime()), sa.bindparam("free_end", type_=UTCDateTime())
    # A new booking holds [start, end + buffer) with the instrument's own
    # buffer (at most a day): the index narrows by the longest buffer, the
    # exact bound is checked on the few rows left.
    booked = sa.exists().where(
        Booking.instrument_id == Instrument.id,
        active_sql(),  # so that the index of active bookings answers (booking/models.py)
        Booking.start >= sa.bindparam("booked_from", type_=UTCDateTime()),
        Booking.start < sa.bindparam("booked_until", type_=UTCDateTime()),
        Booking.occupied_until > start,
        Booking.start < plus_minutes(end, Instrument.buffer_minutes),
    )
    blacked_out = sa.exists().where(
        Blackout.instrument_id == Instrument.id, overlaps_sql(Blackout.start, Blackout.end, start, end)
    )
    return sa.and_(in_service_condition(), *opening, ~booked, ~blacked_out)
