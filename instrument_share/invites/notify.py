"""Booking changes become e-mails in the outbox (same transaction), composed
by the delivery run from what the booking looked like at the change.

The booker gets an invite (METHOD:REQUEST) when a booking is confirmed,
approved or moved, a cancellation (METHOD:CANCEL) when it is cancelled,
rejected or lapses, and a plain "request received" while it is pending; the
institution's managers hear of every request waiting for them.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..accounts.models import Role, User
from ..booking.ics import booking_calendar
from ..booking.models import Booking, BookingAction, BookingStatus
from ..errors import N_
from ..extensions import db
from ..mail.models import OutboxMessage
from ..mail.outbox import Undeliverable, compose, enqueue_many_to_compose
from ..web import local_name

# event -> (calendar method or None, subject)
EVENTS = {
    BookingAction.REQUESTED: (None, N_("Booking request received: %(instrument)s")),
    BookingAction.CONFIRMED: ("REQUEST", N_("Booking confirmed: %(instrument)s")),
    BookingAction.APPROVED: ("REQUEST", N_("Booking approved: %(instrument)s")),
    BookingAction.RESCHEDULED: ("REQUEST", N_("Booking moved: %(instrument)s")),
    BookingAction.CANCELLED: ("CANCEL", N_("Booking cancelled: %(instrument)s")),
    BookingAction.REJECTED: ("CANCEL", N_("Booking not approved: %(instrument)s")),
    BookingAction.LAPSED: ("CANCEL", N_("Booking lapsed without approval: %(instrument)s")),
}


def bookings_changed(bookings: list[Booking], event: str) -> None:
    """Queue the mails booking events cause: the booker's for each booking,
    and for a request that waits for approval, the institution's managers'."""
    managers: dict[int, list[User]] = {}
    subjects: dict[tuple, str] = {}  # a series' mails share their subjects

    def subject(recipient: User, text: str, booking: Booking) -> str:
        key = (recipient.language, text, booking.instrument_id)
        if key not in subjects:
            with force_locale(recipient.language):
                subjects[key] = _(text, instrument=local_name(booking.instrument))
        return subjects[key]

    messages = []
    for booking in bookings:
        method, text = EVENTS[event]
        if event == BookingAction.RESCHEDULED and booking.status == BookingStatus.PENDING:
            method = None  # a moved request waits for approval again; the invite comes then
        messages.append(_mail(booking, booking.user, event, method, subject(booking.user, text, booking)))
        if booking.status == BookingStatus.PENDING and event in (BookingAction.REQUESTED, BookingAction.RESCHEDULED):
            institution_id = booking.instrument.institution_id
            if institution_id not in managers:
                managers[institution_id] = _managers(institution_id)
            for manager in managers[institution_id]:
                messages.append(_mail(booking, manager, "approval_needed", None,
                                      subject(manager, N_("Approval needed: %(instrument)s"), booking),
                                      template="mail/approval_needed"))
    enqueue_many_to_compose(messages)


def _managers(institution_id: int) -> list[User]:
    return db.session.scalars(
        sa.select(User).where(User.role == Role.MANAGER, User.active.is_(True),
                              User.institution_id == institution_id)
    ).all()


def queue_mail(booking: Booking, recipient: User, event: str, method: str | None, subject: str,
               template: str = "mail/booking") -> None:
    """Queue one booking mail; what it says is fixed now, its bytes are made
    by the delivery run (`compose_booking_mail`)."""
    enqueue_many_to_compose([_mail(booking, recipient, event, method, subject, template)])


def _mail(booking: Booking, recipient: User, event: str, method: str | None, subject: str,
          template: str = "mail/booking") -> dict:
    if booking.id is None:
        db.session.flush()  # a new booking needs its id for the key
    return {
        "key": f"booking:{booking.id}:{event}:{booking.sequence}:{recipient.email}",
        "kind": event,
        "recipient": recipient.email,
        "subject": subject,
        "booking_id": booking.id,
        "compose_from": {"template": template, "event": event, "method": method,
                         "recipient_id": recipient.id, "language": recipient.language,
                         "booking": _snapshot(booking)},
    }


# What a booking mail shows that a later change could alter.
SNAPSHOT_FIELDS = ("start", "end", "status", "sequence", "purpose", "cost", "voucher_amount",
                   "firm_pays", "decision_reason")


def _snapshot(booking: Booking) -> dict:
    values = {}
    for name in SNAPSHOT_FIELDS:
        value = getattr(booking, name)
        values[name] = value.isoformat() if isinstance(value, datetime) else (
            str(value) if isinstance(value, Decimal) else value)
    return values


class BookingAsOf:
    """A booking as it was when the mail was queued: the snapshot's fields,
    and the rest (instrument, booker, id) from the booking itself."""

    def __init__(self, booking: Booking, snapshot: dict):
        self._booking = booking
        self._values = {
            "start": datetime.fromisoformat(snapshot["start"]),
            "end": datetime.fromisoformat(snapshot["end"]),
            "cost": Decimal(snapshot["cost"]),
            "voucher_amount": Decimal(snapshot["voucher_amount"]),
            "firm_pays": Decimal(snapshot["firm_pays"]),
            **{name: snapshot[name] for name in ("status", "sequence", "purpose", "decision_reason")},
        }

    def __getattr__(self, name):
        values = self.__dict__["_values"]
        return values[name] if name in values else getattr(self.__dict__["_booking"], name)


def compose_booking_mail(message: OutboxMessage) -> str:
    """The RFC 5322 text of a queued booking mail, in its recipient's language."""
    plan = message.compose_from
    booking = db.session.get(Booking, message.booking_id) if message.booking_id else None
    recipient = db.session.get(User, plan["recipient_id"])
    if booking is None or recipient is None:
        raise Undeliverable("the booking or the recipient of this mail no longer exists")
    booking = BookingAsOf(booking, plan["booking"])
    method, template = plan["method"], plan["template"]
    # The language at queueing time, which the subject is already in.
    language = plan.get("language", recipient.language)
    context = {"booking": booking, "recipient": recipient, "event": plan["event"], "method": method}
    with force_locale(language):
        return compose(
            recipient=message.recipient, subject=message.subject, message_id=message.message_id,
            text=render_template(f"{template}.txt", **context),
            html=render_template(f"{template}.html", **context),
            calendar=booking_calendar(booking, method, language) if method else None,
            method=method,
        ).as_string()
