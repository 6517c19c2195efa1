"""Putting e-mails in the outbox, inside the caller's transaction."""
from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..text import address_for_output, line_for_output, text_for_output
from ..timeutil import utcnow
from .models import OutboxMessage


class Undeliverable(Exception):
    """A queued message has nothing left to be about (its booking or its
    recipient is gone): composing it raises this and it is dead at once."""


def mail_domain() -> str:
    return urlsplit(current_app.config["PLATFORM_URL"]).hostname or "instrument-share.example"


def compose(
    *, recipient: str, subject: str, text: str, html: str, message_id: str,
    calendar: bytes | None = None, method: str | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> EmailMessage:
    """RFC 6047 layout: multipart/mixed of a multipart/alternative (text, HTML,
    text/calendar with its METHOD) and the same calendar as an .ics file."""
    # Quoted-printable keeps every part 7-bit, so any SMTP server relays it
    # and line lengths stay within RFC 5321; SMTP policy writes CRLF.
    # Headers are single lines and bodies clean text whatever the stored rows
    # hold (text.py), so composing never fails on a name or an address.
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = address_for_output(recipient) or line_for_output(recipient)
    message["Subject"] = line_for_output(subject)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    message.set_content(text_for_output(text), cte="quoted-printable")
    message.add_alternative(text_for_output(html), subtype="html", cte="quoted-printable")
    if calendar is not None:
        message.add_alternative(
            calendar.decode("utf-8"), subtype="calendar", params={"method": method},
            cte="quoted-printable",
        )
        message.add_attachment(
            calendar, maintype="application", subtype="ics", filename="invite.ics",
            params={"method": method},
        )
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        if maintype == "text":
            message.add_attachment(data.decode("utf-8"), subtype=subtype, filename=filename,
                                   charset="utf-8", cte="base64")
        else:
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def already_queued(key: str) -> bool:
    return db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None


def enqueue(
    *, key: str, kind: str, recipient: str, subject: str, text: str, html: str,
    calendar: bytes | None = None, method: str | None = None, booking_id: int | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> OutboxMessage | None:
    """Add a composed message to the outbox in the current transaction; a key
    already queued (the same change notified twice) adds nothing. Flushes only.
    The message is composed either way, so that whether a mail was already
    queued does not show in the time an answer takes (a password reset)."""
    recipient = address_for_output(recipient) or line_for_output(recipient)  # one line for SMTP
    message_id = make_msgid(domain=mail_domain())
    message = compose(recipient=recipient, subject=subject, text=text, html=html,
                      message_id=message_id, calendar=calendar, method=method,
                      attachments=attachments)
    if already_queued(key):
        return None
    row = OutboxMessage(
        idempotency_key=key, message_id=message_id, kind=kind, recipient=recipient,
        subject=subject, raw=message.as_string(), booking_id=booking_id,
    )
    db.session.add(row)
    db.session.flush()
    return row


def enqueue_to_compose(*, key: str, kind: str, recipient: str, subject: str, booking_id: int,
                       compose_from: dict) -> None:
    """Add a message the delivery run composes (see `delivery._compose_claimed`): only
    a small row is written in the caller's transaction."""
    enqueue_many_to_compose([{"key": key, "kind": kind, "recipient": recipient, "subject": subject,
                              "booking_id": booking_id, "compose_from": compose_from}])


def enqueue_many_to_compose(messages: list[dict]) -> None:
    """`enqueue_to_compose` for many messages (a series, a blackout's
    cancellations): keys already queued are found in one query."""
    keys = [message["key"] for message in messages]
    queued = {row.idempotency_key for row in db.session.new if isinstance(row, OutboxMessage)}
    with db.session.no_autoflush:
        for chunk in range(0, len(keys), 500):
            queued.update(db.session.scalars(sa.select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.in_(keys[chunk:chunk + 500]))))
    domain = mail_domain()
    rows = []
    for message in messages:
        if message["key"] in queued:
            continue
        queued.add(message["key"])
        recipient = message["recipient"]
        rows.append({
            "idempotency_key": message["key"], "message_id": make_msgid(domain=domain), "kind": message["kind"],
            "recipient": address_for_output(recipient) or line_for_output(recipient),
            "subject": message["subject"], "booking_id": message["booking_id"],
            "compose_from": message["compose_from"], "created_at": utcnow(), "next_attempt_at": utcnow(),
        })
    if rows:  # one statement for all: a series queues a mail per occurrence
        db.session.execute(sa.insert(OutboxMessage), rows)
