"""iCalendar for bookings: one stable UID per booking, SEQUENCE rising.

Invites (iTIP, RFC 5546) carry METHOD:REQUEST or METHOD:CANCEL; the
`.ics` download and the feeds carry no METHOD. Times are written in UTC, so
no VTIMEZONE is needed and every client shows them in its own zone.

Every stored text goes through text.py's output functions: a row written
before the text rules (a line break in an e-mail address, a control
character in a name) still gives a valid calendar.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText

from ..formats import money
from ..text import address_for_output, line_for_output, text_for_output
from ..timeutil import utcnow
from ..web import local_name
from .models import Booking, BookingStatus

PRODID = "-//G60 Corridor//instrument-share//ZH"


def platform_host() -> str:
    return urlsplit(current_app.config["PLATFORM_URL"]).hostname or "instrument-share.example"


def booking_uid(booking: Booking) -> str:
    return f"booking-{booking.id}@{platform_host()}"


def organizer_address() -> str:
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    return sender.split("<")[-1].rstrip(">").strip()


def _address(value: str | None) -> str | None:
    """A stored e-mail address as a mailto: URI, or None when what is stored
    holds no address."""
    address = address_for_output(value)
    return f"mailto:{address}" if address else None


def _calendar(method: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def booking_event(booking: Booking, *, cancelled: bool | None = None) -> Event:
    """The booking as a VEVENT in the current locale (force_locale to choose)."""
    instrument = booking.instrument
    institution = instrument.institution
    if cancelled is None:
        cancelled = booking.status in (BookingStatus.CANCELLED, BookingStatus.REJECTED)
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("sequence", booking.sequence)
    event.add("dtstamp", utcnow())
    event.add("dtstart", booking.start)
    event.add("dtend", booking.end)
    line = line_for_output
    instrument_name, institution_name = line(local_name(instrument)), line(local_name(institution))
    event.add("summary", f"{instrument_name} · {institution_name}")
    event.add("location", " ".join(p for p in (institution_name, line(instrument.location)) if p))
    # The labels outside the f-strings: Babel's extractor does not look inside one.
    contact, voucher, firm_pays = _("Contact"), _("voucher"), _("firm pays")
    lines = [
        _("Instrument") + f": {instrument_name} ({line(instrument.manufacturer)} {line(instrument.model)})",
        _("Institution") + f": {institution_name}",
        _("Location") + f": {line(instrument.location)}",
        f"{contact}: {line(instrument.contact_name)} {line(instrument.contact_phone)} "
        f"{line(instrument.contact_email)}".strip(),
        _("Purpose") + f": {text_for_output(booking.purpose)}",
        _("Cost") + f": {money(booking.cost)} ({voucher} {money(booking.voucher_amount)}, "
        f"{firm_pays} {money(booking.firm_pays)})",
    ]
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if cancelled else
              "TENTATIVE" if booking.status == BookingStatus.PENDING else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{organizer_address()}")
    organizer.params["cn"] = vText(_("G60 Shared Instruments"))
    event.add("organizer", organizer)
    booker = _address(booking.user.email)
    if booker:
        attendee = vCalAddress(booker)
        attendee.params.update({"cn": vText(_param(booking.user.name)), "role": vText("REQ-PARTICIPANT"),
                                "partstat": vText("ACCEPTED"), "rsvp": vText("FALSE")})
        event.add("attendee", attendee)
    contact_address = _address(instrument.contact_email)
    if contact_address:
        contact = vCalAddress(contact_address)
        contact.params.update({"cn": vText(_param(instrument.contact_name or instrument.contact_email)),
                               "role": vText("NON-PARTICIPANT"), "rsvp": vText("FALSE")})
        event.add("attendee", contact)
    return event


def _param(value: str | None) -> str:
    """A parameter value (CN): one line, and no DQUOTE, which RFC 5545 cannot quote."""
    return line_for_output(value).replace('"', "'")


def booking_calendar(booking: Booking, method: str | None = None, language: str | None = None) -> bytes:
    """One booking as a calendar; with `method`, an iTIP message."""
    with force_locale(language or booking.user.language):
        calendar = _calendar(method)
        calendar.add_component(booking_event(booking, cancelled=True if method == "CANCEL" else None))
        return calendar.to_ical()


def feed_calendar(name: str, events: list[Event]) -> bytes:
    """A subscribable calendar: no METHOD, refreshed hourly."""
    calendar = _calendar()
    calendar.add("x-wr-calname", line_for_output(name))
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()
