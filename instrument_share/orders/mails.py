"""Every step of an order mails the other side, in the recipient's language:
the firm's user who ordered, or the institution's active managers."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..accounts.models import Role, User
from ..extensions import db
from ..mail.outbox import enqueue

SUBJECTS = {
    "submitted": _l("New order for entrusted testing %(number)s: %(title)s"),
    "quoted": _l("Your order %(number)s has a quote"),
    "declined": _l("Your order %(number)s was declined"),
    "accepted": _l("Order %(number)s: the quote was accepted; the samples are on their way"),
    "rejected": _l("Order %(number)s: the quote was rejected"),
    "withdrawn": _l("Order %(number)s was withdrawn by the firm"),
    "received": _l("Order %(number)s: your samples arrived"),
    "reported": _l("Order %(number)s: the report is ready"),
    "closed": _l("Order %(number)s was rated and closed"),
}


def _send(order, event: str, recipients: list[User]) -> None:
    for person in recipients:
        with force_locale(person.language):
            subject = str(SUBJECTS[event]) % {"number": order.number, "title": order.title}
            text = render_template("mail/order_event.txt", order=order, event=event, recipient=person)
            # The HTML part shows the same text, escaped: what people typed
            # (a title, a note) never becomes markup (found by review).
            enqueue(key=f"order:{order.id}:{event}:{len(order.events)}:{person.id}", kind=f"order_{event}",
                    recipient=person.email, subject=subject, text=text,
                    html=render_template("mail/order_event.html", body=text))


def to_firm(order, event: str) -> None:
    if order.user.active:
        _send(order, event, [order.user])


def to_institution(order, event: str) -> None:
    managers = db.session.scalars(sa.select(User).where(
        User.role == Role.MANAGER, User.institution_id == order.institution_id, User.active).order_by(User.id))
    _send(order, event, list(managers))
