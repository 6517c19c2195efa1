"""Sending the outbox: claim, send outside any transaction, mark.

Claims are exclusive (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite one writer
transaction), so two delivery runs never send the same message. Booking
mails are composed after the claim and their bytes stored before the first
send. A run that dies between the SMTP server's acceptance and the "sent"
mark leaves a claim that expires after CLAIM_TIMEOUT and is sent again,
the same bytes with the same Message-ID, so mail clients show it once.
"""
from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..database import begin_write_transaction
from ..db_types import utcnow
from ..extensions import db
from .models import OutboxMessage
from .outbox import Undeliverable

MAX_ATTEMPTS = 8
UNTRIED = "untried"
UNDELIVERABLE = "undeliverable"  # its booking or recipient is gone: dead at once
SERVER_DOWN = (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError,
               smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError)
CLAIM_TIMEOUT = timedelta(minutes=10)
BATCH = 50


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, at most six hours."""
    return min(timedelta(minutes=2 ** (attempts - 1)), timedelta(hours=6))


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, failed {self.failed} (will retry), dead {self.dead}"


def _claim(now: datetime, include_waiting: bool) -> list[tuple[int, str, str, str | None]]:
    """Mark due messages as being sent by this run; return (id, recipient,
    message_id, raw), raw being None for a message still to be composed."""
    begin_write_transaction()
    due = sa.or_(
        OutboxMessage.status == "queued",
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - CLAIM_TIMEOUT),
    )
    if not include_waiting:
        due = sa.and_(due, OutboxMessage.next_attempt_at <= now)
    query = sa.select(OutboxMessage).where(due).order_by(OutboxMessage.id).limit(BATCH)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = db.session.scalars(query).all()
    for row in rows:
        row.status, row.claimed_at = "sending", now
    claimed = [(row.id, row.recipient, row.message_id, row.raw) for row in rows]
    db.session.commit()
    return claimed


class Transport:
    """SMTP when MAIL_SERVER is set, else .eml files under instance/mail/."""

    def __init__(self, config: dict, instance_path: str):
        self.config = config
        self.folder = Path(instance_path) / "mail"
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException):
                self.smtp.quit()

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if cfg["MAIL_USE_SSL"]:
            smtp = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=30)
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        return smtp

    def send(self, recipient: str, message_id: str, raw: str) -> None:
        if not self.config["MAIL_SERVER"]:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = message_id.strip("<>").replace("@", "_at_").replace("/", "_")
            (self.folder / f"{name}.eml").write_text(raw, encoding="ascii", newline="")
            return
        if self.smtp is None:
            self.smtp = self._connect()
        sender = self.config["MAIL_DEFAULT_SENDER"]
        envelope_from = sender.split("<")[-1].rstrip(">").strip()
        self.smtp.sendmail(envelope_from, [recipient], raw)  # 7-bit: see outbox.compose


def deliver_due(now: datetime | None = None, include_waiting: bool = False) -> DeliveryReport:
    """Send what is due (with `include_waiting`, also what waits out its back-off)."""
    now = now or utcnow()
    report = DeliveryReport()
    while True:
        # Each batch is claimed at its own time, so a long run's later
        # batches never look like expired claims to another run.
        claimed = _claim(max(now, utcnow()), include_waiting)
        if not claimed:
            return report
        outcomes: dict[int, str | None] = {pk: UNTRIED for pk, *_ in claimed}
        ready = _compose_claimed(claimed, outcomes)
        server_down = False
        try:
            with Transport(current_app.config, current_app.instance_path) as transport:
                for message_pk, recipient, message_id, raw in ready:
                    try:
                        transport.send(recipient, message_id, raw)
                        outcomes[message_pk] = None
                    except SERVER_DOWN as error:
                        # Down or refusing us: this message counts an attempt, the
                        # rest of the batch is released untried for the next run.
                        outcomes[message_pk] = f"{type(error).__name__}: {error}"[:2000]
                        server_down = True
                        break
                    except smtplib.SMTPException as error:  # this message refused
                        outcomes[message_pk] = f"{type(error).__name__}: {error}"[:2000]
        finally:
            _record(outcomes, now, report)
        if server_down:
            return report


def _compose_claimed(claimed, outcomes: dict[int, str | None]) -> list[tuple[int, str, str, str]]:
    """The claimed messages with their bytes. Booking mails not yet composed
    are composed here (outside any writer lock) and their bytes stored before
    anything is sent, so every later attempt sends exactly these bytes. A
    message that cannot be composed is marked in `outcomes` and left out:
    its booking or recipient is gone (dead at once), or composing failed (a
    bug: logged, and retried like a refused message)."""
    ready, composed = [], {}
    for message_pk, recipient, message_id, raw in claimed:
        if raw is None:
            try:
                raw = composed[message_pk] = _compose(message_pk)
            except Undeliverable as error:
                outcomes[message_pk] = f"{UNDELIVERABLE}: {error}"
                continue
            except Exception as error:  # one bad message must not stall the queue
                current_app.logger.exception("composing outbox message %s failed", message_pk)
                outcomes[message_pk] = f"compose failed: {type(error).__name__}: {error}"[:2000]
                continue
        ready.append((message_pk, recipient, message_id, raw))
    if composed:
        begin_write_transaction()
        for row in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(composed))):
            row.raw = composed[row.id]
        db.session.commit()
    return ready


def _compose(message_pk: int) -> str:
    """Compose a booking mail queued as `compose_from` (a read only)."""
    from ..invites.notify import (
        compose_booking_mail,  # mail is below invites; only this call goes up
    )

    try:
        return compose_booking_mail(db.session.get(OutboxMessage, message_pk))
    finally:
        db.session.rollback()  # read-only; ends the read transaction


def _record(outcomes: dict[int, str | None], now: datetime, report: DeliveryReport) -> None:
    begin_write_transaction()
    for row in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(outcomes))):
        error = outcomes[row.id]
        row.claimed_at = None
        if error == UNTRIED:
            row.status = "queued"
            continue
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, ""
            report.sent += 1
            continue
        row.attempts += 1
        row.last_error = error
        if row.attempts >= MAX_ATTEMPTS or error.startswith(UNDELIVERABLE):
            row.status = "dead"
            report.dead += 1
        else:
            row.status, row.next_attempt_at = "queued", now + backoff(row.attempts)
            report.failed += 1
    db.session.commit()


def resend(message_pk: int) -> OutboxMessage | None:
    """Put a dead (or any unsent) message back in the queue, due now."""
    begin_write_transaction()
    row = db.session.get(OutboxMessage, message_pk)
    if row is None or row.status == "sent":
        return None
    row.status, row.attempts, row.next_attempt_at, row.last_error = "queued", 0, utcnow(), ""
    db.session.flush()
    return row
