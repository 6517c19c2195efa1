"""Booking changes become e-mails in the outbox (same transaction).

The booker gets an invite (METHOD:REQUEST) when a booking is confirmed,
approved or moved, a cancellation (METHOD:CANCEL) when it is cancelled,
rejected or lapses, and a plain "request received" while it is pending; the
institution's managers hear of every request waiting for them.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..accounts.models import User
from ..booking.models import Booking
from ..errors import N_
from ..extensions import db
from ..labels import local_name
from ..mail.outbox import enqueue
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
        queue_mail(booking, user, f"{event}", method, _(subject, instrument=local_name(booking.instrument)))
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
    context = {"booking": booking, "recipient": recipient, "event": event, "method": method}
    with force_locale(recipient.language):
        _enqueue(booking, recipient, event, method, subject, template, context)


def _enqueue(booking, recipient, event, method, subject, template, context) -> None:
    enqueue(
        key=f"booking:{booking.id}:{event}:{booking.sequence}:{recipient.email}",
        kind=event,
        recipient=recipient.email,
        subject=subject,
        text=render_template(f"{template}.txt", **context),
        html=render_template(f"{template}.html", **context),
        calendar=booking_calendar(booking, method, recipient.language) if method else None,
        method=method,
        booking_id=booking.id,
    )
