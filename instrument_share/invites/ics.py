"""iCalendar events for bookings: one stable UID per booking, SEQUENCE rising."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar, Event

from ..booking.models import Booking
from ..db_types import utcnow

PRODID = "-//G60 Corridor//instrument-share//ZH"


def booking_uid(booking: Booking) -> str:
    host = urlsplit(current_app.config["PLATFORM_URL"]).hostname or "instrument-share"
    return f"booking-{booking.id}@{host}"


def booking_event(booking: Booking) -> Event:
    instrument = booking.instrument
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("sequence", booking.sequence)
    event.add("dtstamp", utcnow())
    event.add("dtstart", booking.start)
    event.add("dtend", booking.end)
    event.add("summary", f"{instrument.name} · {instrument.institution.name}")
    event.add("location", f"{instrument.institution.name} {instrument.location}".strip())
    event.add("description", booking.purpose)
    cancelled = booking.status in ("cancelled", "rejected")
    event.add("status", "CANCELLED" if cancelled else
              "TENTATIVE" if booking.status == "pending" else "CONFIRMED")
    return event


def booking_calendar(booking: Booking) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(booking_event(booking))
    return calendar.to_ical()
