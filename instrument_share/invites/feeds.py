"""Subscribable calendars: each user's bookings, and each instrument's busy time."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Event

from ..accounts.models import User
from ..booking.ics import booking_event, feed_calendar, platform_host
from ..booking.models import ACTIVE_STATUSES, Blackout, Booking, BookingStatus
from ..catalogue.models import Instrument
from ..extensions import db
from ..timeutil import utcnow
from ..web import local_name

FEED_PAST = timedelta(days=180)
BUSY_PAST, BUSY_AHEAD = timedelta(days=7), timedelta(days=120)


def user_feed(user: User, now: datetime | None = None) -> tuple[bytes, datetime | None]:
    """The user's active and completed bookings from 180 days back, and the
    time of the latest change (for Last-Modified)."""
    now = now or utcnow()
    bookings = db.session.scalars(
        sa.select(Booking).where(
            Booking.user_id == user.id,
            Booking.status.in_((*ACTIVE_STATUSES, BookingStatus.COMPLETED)),
            Booking.end > now - FEED_PAST,
        ).order_by(Booking.start)
    ).all()
    with force_locale(user.language):
        events = []
        for booking in bookings:
            event = booking_event(booking)
            event["dtstamp"].dt = booking.updated_at  # stable: the body changes only with the data
            events.append(event)
        body = feed_calendar(_("G60 Shared Instruments"), events)  # the calendar's name in the subscriber's language
    last = max((b.updated_at for b in bookings), default=None)
    return body, last


def instrument_busy_feed(instrument: Instrument, now: datetime | None = None) -> bytes:
    """Busy time only: no booker, no purpose."""
    now = now or utcnow()
    start, end = now - BUSY_PAST, now + BUSY_AHEAD
    bookings = db.session.execute(
        sa.select(Booking.id, Booking.start, Booking.end, Booking.updated_at).where(
            Booking.instrument_id == instrument.id, Booking.status.in_(ACTIVE_STATUSES),
            Booking.end > start, Booking.start < end,
        ).order_by(Booking.start)
    ).all()
    blackouts = db.session.execute(
        sa.select(Blackout.id, Blackout.start, Blackout.end, Blackout.created_at).where(
            Blackout.instrument_id == instrument.id, Blackout.end > start, Blackout.start < end)
    ).all()
    host = platform_host()
    events = []
    for kind, rows, summary in (("busy", bookings, "已预约 Booked"), ("blackout", blackouts, "维护 Maintenance")):
        for row in rows:
            event = Event()
            event.add("uid", f"{kind}-{row[0]}@{host}")
            event.add("dtstamp", row[3])
            event.add("dtstart", row[1])
            event.add("dtend", row[2])
            event.add("summary", summary)
            event.add("transp", "OPAQUE")
            events.append(event)
    with force_locale("zh_CN"):
        return feed_calendar(local_name(instrument), events)
