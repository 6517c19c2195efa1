"""Sending the outbox: claim under a lease, renew it per message, send
outside any transaction, mark each message as soon as it is sent.

A run claims a small batch (BATCH messages) under a lease: `status =
'sending'`, `claimed_at = now`, in one short write transaction (PostgreSQL
`FOR UPDATE SKIP LOCKED`; SQLite one writer). A lease lasts
MAIL_LEASE_SECONDS from `claimed_at`; another run may take the message
only once it has run out. The lease is the pair (message, claimed_at):
just before sending, the run renews it in its own short write transaction,
`UPDATE … SET claimed_at = :now WHERE id = :id AND status = 'sending' AND
claimed_at = :ours`. No row changed means another run has taken the
message since (a re-claim always writes a later `claimed_at` than the one
that ran out, so an old lease can never be renewed) and this run skips it.
Each outcome (sent, refused, composed) is written right after it happens,
in its own short transaction; no write transaction is ever open while we
talk to SMTP. So a slow relay only makes the rest of a batch pass to
another run; a message being sent is never taken, as long as one message
is sent within the lease (smtplib gives up on a silent server after 30 s
a command; the lease is 5 minutes by default).

Booking mails are composed after the claim and their bytes stored before
the first send. A run that dies between the SMTP server's acceptance and
the "sent" mark leaves a lease that runs out and the message is sent
again: the same bytes with the same Message-ID, so mail clients show it
once.
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
from ..extensions import db
from ..text import address_for_output
from ..timeutil import utcnow
from .models import MessageStatus, OutboxMessage
from .outbox import Undeliverable

MAX_ATTEMPTS = 8
UNDELIVERABLE = "undeliverable"  # its booking or recipient is gone: dead at once
SMTP_DOWN = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPHeloError,
             smtplib.SMTPAuthenticationError)  # the server, not the message: the run stops
BATCH = 10
SMTP_TIMEOUT = 30  # seconds a silent server is waited for, per command


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, at most six hours."""
    return min(timedelta(minutes=2 ** (attempts - 1)), timedelta(hours=6))


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0  # claimed, but another run took it after our lease ran out

    def __str__(self) -> str:
        text = f"sent {self.sent}, failed {self.failed} (will retry), dead {self.dead}"
        return text + (f", skipped {self.skipped} (taken over by another run)" if self.skipped else "")


@dataclass
class Claimed:
    """A message this run holds: `lease` is the `claimed_at` it last wrote."""

    pk: int
    recipient: str
    message_id: str
    raw: str | None
    lease: datetime


def _clock(now: datetime) -> datetime:
    # A run given a `now` (the scheduler's fire time, a test's moment) never
    # writes a lease earlier than the real time.
    return max(now, utcnow())


def _claim(clock: datetime, lease: timedelta, batch: int, include_waiting: bool,
           tried: set[int] = frozenset()) -> list[Claimed]:
    """Take up to `batch` due messages (queued, or sending under a lease that
    has run out) for this run, in one short write transaction; never one of
    `tried` (this run had it already)."""
    begin_write_transaction()
    due = sa.or_(
        OutboxMessage.status == MessageStatus.QUEUED,
        sa.and_(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.claimed_at < clock - lease),
    )
    if not include_waiting:
        due = sa.and_(due, OutboxMessage.next_attempt_at <= clock)
    if tried:
        due = sa.and_(due, OutboxMessage.id.not_in(sorted(tried)))
    query = sa.select(OutboxMessage).where(due).order_by(OutboxMessage.id).limit(batch)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = db.session.scalars(query).all()
    for row in rows:
        row.status, row.claimed_at = MessageStatus.SENDING, clock
    claimed = [Claimed(row.id, row.recipient, row.message_id, row.raw, clock) for row in rows]
    db.session.commit()
    return claimed


def _ours(message: Claimed):
    """The clause that finds the message only while this run's lease holds."""
    return sa.and_(OutboxMessage.id == message.pk, OutboxMessage.status == MessageStatus.SENDING,
                   OutboxMessage.claimed_at == message.lease)


def _renew(message: Claimed, clock: datetime) -> bool:
    """Renew this run's lease just before sending, in its own transaction;
    False if another run has taken the message (it is skipped)."""
    begin_write_transaction()
    changed = db.session.execute(
        sa.update(OutboxMessage).where(_ours(message)).values(claimed_at=clock)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if changed:
        message.lease = clock
    return bool(changed)


def _mark_sent(message: Claimed, clock: datetime, report: DeliveryReport) -> None:
    """The server accepted it: sent, whoever holds the lease now (a run that
    took it over then finds it sent and skips it)."""
    report.sent += 1
    begin_write_transaction()
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message.pk, OutboxMessage.status == MessageStatus.SENDING)
        .values(status=MessageStatus.SENT, sent_at=clock, last_error="", claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _fail(row: OutboxMessage, error: str, clock: datetime, report: DeliveryReport) -> None:
    """One attempt failed: back off, or dead after MAX_ATTEMPTS (at once when
    there is nothing left to send)."""
    row.claimed_at = None
    row.attempts += 1
    row.last_error = error
    if row.attempts >= MAX_ATTEMPTS or error.startswith(UNDELIVERABLE):
        row.status = MessageStatus.DEAD
        report.dead += 1
    else:
        row.status, row.next_attempt_at = MessageStatus.QUEUED, clock + backoff(row.attempts)
        report.failed += 1


def _record_failure(message: Claimed, error: str, clock: datetime, report: DeliveryReport) -> None:
    begin_write_transaction()
    row = db.session.scalar(sa.select(OutboxMessage).where(_ours(message)).with_for_update())
    if row is not None:  # else another run holds it now and records its own outcome
        _fail(row, error, clock, report)
    db.session.commit()


def _release(messages: list[Claimed]) -> None:
    """Give back what this run claimed and never tried (the server went down,
    or something unexpected ended the run): queued again, due as before."""
    db.session.rollback()
    if not messages:
        return
    begin_write_transaction()
    for message in messages:
        db.session.execute(
            sa.update(OutboxMessage).where(_ours(message)).values(status=MessageStatus.QUEUED, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


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
            smtp = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=SMTP_TIMEOUT,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=SMTP_TIMEOUT)
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
        # A row queued before addresses were cleaned at the door may hold a
        # line break: the envelope gets the address as the headers have it.
        self.smtp.sendmail(envelope_from, [address_for_output(recipient) or recipient], raw)  # 7-bit: see outbox.compose


def deliver_due(now: datetime | None = None, include_waiting: bool = False, *,
                batch: int = BATCH, lease: timedelta | None = None) -> DeliveryReport:
    """Send what is due (with `include_waiting`, also what waits out its
    back-off), a batch at a time, until nothing is due or the server is down.
    `lease` defaults to MAIL_LEASE_SECONDS."""
    now = now or utcnow()
    lease = lease or timedelta(seconds=float(current_app.config["MAIL_LEASE_SECONDS"]))
    report = DeliveryReport()
    tried: set[int] = set()  # with include_waiting, a message refused now is due again at once: once a run
    while True:
        claimed = _claim(_clock(now), lease, batch, include_waiting, tried)
        if not claimed:
            return report
        tried.update(message.pk for message in claimed)
        ready = _compose_claimed(claimed, now, report)
        if not _send(ready, now, report):
            return report


def _send(ready: list[Claimed], now: datetime, report: DeliveryReport) -> bool:
    """Send the batch one message at a time, each under a freshly renewed
    lease; False when the server is down (the rest is given back untried)."""
    pending = list(ready)
    try:
        with Transport(current_app.config, current_app.instance_path) as transport:
            while pending:
                message = pending[0]
                if not _renew(message, _clock(now)):
                    pending.pop(0)
                    report.skipped += 1
                    continue
                try:
                    transport.send(message.recipient, message.message_id, message.raw)
                except OSError as error:  # smtplib's errors are OSErrors too
                    pending.pop(0)
                    _record_failure(message, _describe(error), _clock(now), report)
                    if isinstance(error, smtplib.SMTPException) and not isinstance(error, SMTP_DOWN):
                        # This message refused (550 …): the rest go on. Taken
                        # once for a server down, which gave the batch back
                        # (found by a surviving mutant).
                        continue
                    # Down or refusing us: the rest of the batch is given
                    # back untried for the next run.
                    return False
                pending.pop(0)  # accepted: if marking it fails, its lease runs out (same Message-ID)
                _mark_sent(message, _clock(now), report)
        return True
    finally:
        _release(pending)


def _compose_claimed(claimed: list[Claimed], now: datetime, report: DeliveryReport) -> list[Claimed]:
    """The claimed messages with their bytes. Booking mails not yet composed
    are composed here (outside any writer lock) and their bytes stored, while
    the lease holds, before anything is sent, so every later attempt sends
    exactly these bytes. A message that cannot be composed is recorded and
    left out: its booking or recipient is gone (dead at once), or composing
    failed (a bug: logged, and retried like a refused message)."""
    ready, composed, failures = [], [], []
    for message in claimed:
        if message.raw is not None:
            ready.append(message)
            continue
        try:
            message.raw = _compose(message.pk)
        except Undeliverable as error:
            failures.append((message, f"{UNDELIVERABLE}: {error}"))
            continue
        except Exception as error:  # one bad message must not stall the queue
            current_app.logger.exception("composing outbox message %s failed", message.pk)
            failures.append((message, f"compose failed: {_describe(error)}"[:2000]))
            continue
        composed.append(message)
    if not (composed or failures):
        return ready
    begin_write_transaction()
    for message in composed:
        stored = db.session.execute(
            sa.update(OutboxMessage).where(_ours(message), OutboxMessage.raw.is_(None))
            .values(raw=message.raw).execution_options(synchronize_session=False)
        ).rowcount
        if stored:
            ready.append(message)
        else:  # another run took it meanwhile, and composes and sends its own
            report.skipped += 1
    for message, error in failures:
        row = db.session.scalar(sa.select(OutboxMessage).where(_ours(message)).with_for_update())
        if row is not None:
            _fail(row, error, _clock(now), report)
    db.session.commit()
    return sorted(ready, key=lambda message: message.pk)


COMPOSER = "instrument_share.mail_composer"


def _compose(message_pk: int) -> str:
    """Compose a mail queued as `compose_from` (a read only), with the
    composer create_app registered (invites.notify.compose_booking_mail):
    mail sits below the packages whose mails it composes."""
    try:
        return current_app.extensions[COMPOSER](db.session.get(OutboxMessage, message_pk))
    finally:
        db.session.rollback()  # read-only; ends the read transaction


def resend(message_pk: int) -> OutboxMessage | None:
    """Put a dead (or queued) message back in the queue, due now. A message
    being sent is left to the run that holds it (None, as for a sent one)."""
    begin_write_transaction()
    row = db.session.get(OutboxMessage, message_pk)
    if row is None or row.status not in (MessageStatus.DEAD, MessageStatus.QUEUED):
        return None
    row.status, row.attempts, row.next_attempt_at, row.last_error = MessageStatus.QUEUED, 0, utcnow(), ""
    db.session.flush()
    return row
