"""Mail for the account tests: read from the outbox, or delivered to a real
SMTP server (aiosmtpd) and read from there."""
from __future__ import annotations

import re
from email import message_from_string, policy

import sqlalchemy as sa

from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage

from ..mail.conftest import smtp  # noqa: F401 (the mail tests' SMTP server, a fixture here too)

LINK = re.compile(r"https?://\S+/verify-email/[A-Za-z0-9_.\-]+")


def body_text(message) -> str:
    return message.get_body(("plain",)).get_content()


def outbox(app, kind: str | None = None) -> list[tuple[str, str, str]]:
    """(recipient, subject, plain text) of every queued mail, oldest first."""
    with app.app_context():
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        rows = db.session.scalars(query).all()
        found = [(r.recipient, r.subject, body_text(message_from_string(r.raw, policy=policy.default)))
                 for r in rows]
        db.session.remove()
    return found


def link_in(text: str) -> str:
    """The path of the confirmation link in a mail's text."""
    match = LINK.search(text)
    assert match, text
    return "/verify-email/" + match.group(0).rsplit("/verify-email/", 1)[1]
