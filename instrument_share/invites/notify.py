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

from ..accounts.models import User
from ..booking.models import Booking
from ..errors import N_
from ..extensions import db
from ..labels import local_name
from ..mail.models import OutboxMessage
from ..mail.outbox import Undeliverable, compose, enqueue_to_compose
from .ics import booking_calendar

# event -> (calendar method or None, subject)
EVENTS = {
    "requested": (None, N_("Booking request received: %(instrument)s")),
    "confirmed": ("REQUEST", N_("Booking confirmed: %(instrument)s")),
    "approved": ("REQUEST", N_("Booking approved: %(instrument)s")),
    "rescheduled": ("REQUEST", N_("Booking moved: %(instrument)s")),
    "cancelled": ("CANCEL", N_("Booking cancelled: %(instrument)s")),
    "rejected": ("CANCEL", N_("Booking not approved: %(instrument)s")),
    "lapsed": ("CANCEL", N_("Booking lapsed without approval: %(instrument)s")),
}


def booking_changed(booking: Booking, event: str) -> None:
    """Queue the mails one booking event causes."""
    method, subject = EVENTS[event]
    if event == "rescheduled" and booking.status == "pending":
        method = None  # a moved request waits for approval again; the invite comes then
    user = booking.user
    with force_locale(user.language):
        queue_mail(booking, user, event, method, _(subject, instrument=local_name(booking.instrument)))
    if booking.status == "pending" and event in ("requested", "rescheduled"):
        for manager in _managers(booking):
            with force_locale(manager.language):
                queue_mail(booking, manager, "approval_needed", None,
                           _("Approval needed: %(instrument)s", instrument=local_name(booking.instrument)),
                           template="mail/approval_needed")


def _managers(booking: Booking) -> list[User]:
    return db.session.scalars(
        sa.select(User).where(User.role == "manager", User.active.is_(True),
                              User.institution_id == booking.instrument.institution_id)
    ).all()


def queue_mail(booking: Booking, recipient: User, event: str, method: str | None, subject: str,
               template: str = "mail/booking") -> None:
    """Queue one booking mail; what it says is fixed now, its bytes are made
    by the delivery run (`compose_booking_mail`)."""
    db.session.flush()  # a new booking needs its id for the key
    enqueue_to_compose(
        key=f"booking:{booking.id}:{event}:{booking.sequence}:{recipient.email}",
        kind=event,
        recipient=recipient.email,
        subject=subject,
        booking_id=booking.id,
        compose_from={"template": template, "event": event, "method": method,
                      "recipient_id": recipient.id, "language": recipient.language,
                      "booking": _snapshot(booking)},
    )


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
