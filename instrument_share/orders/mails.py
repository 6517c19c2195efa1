"""Every step of an order mails the other side, in the recipient's language:
the firm's user who ordered, or the institution's active managers."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import current_app, render_template
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
    "lapsed": _l("Order %(number)s: the quote lapsed unaccepted"),
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
    """The firm's user who ordered; if that account was deactivated, the
    firm's other active users, who can act on the order (found by review:
    quotes reached nobody and lapsed unseen)."""
    if order.user.active:
        _send(order, event, [order.user])
        return
    _send(order, event, list(db.session.scalars(sa.select(User).where(
        User.role == Role.FIRM, User.firm_id == order.firm_id, User.active).order_by(User.id))))


def _managers(institution_id: int) -> list[User]:
    return list(db.session.scalars(sa.select(User).where(
        User.role == Role.MANAGER, User.institution_id == institution_id, User.active).order_by(User.id)))


def to_institution(order, event: str) -> None:
    _send(order, event, _managers(order.institution_id))


def overdue_to_institution(institution_id: int, orders: list, today: date) -> int:
    """The day's list of overdue orders to the institution's managers, once a
    day (the outbox key): a scheduler that runs twice sends nothing twice."""
    sent = 0
    for person in _managers(institution_id):
        with force_locale(person.language):
            subject = str(_l("%(count)s orders for entrusted testing are overdue")) % {"count": len(orders)}
            text = render_template("mail/orders_overdue.txt", orders=orders, today=today, recipient=person,
                                   url=current_app.config["PLATFORM_URL"].rstrip("/") + "/manage/orders")
            sent += enqueue(key=f"orders-overdue:{institution_id}:{today.isoformat()}:{person.id}",
                            kind="orders_overdue", recipient=person.email, subject=subject, text=text,
                            html=render_template("mail/order_event.html", body=text)) is not None
    return sent
