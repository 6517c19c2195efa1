"""The outbox: every e-mail is a row first, written with the change that causes it."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import UTCDateTime, sql_list
from ..extensions import db
from ..timeutil import utcnow


class MessageStatus(StrEnum):
    """Where an outbox message stands."""

    QUEUED = "queued"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a delivery run under a lease
    SENT = "sent"
    DEAD = "dead"  # gave up after its attempts, or nothing left to send it about


MESSAGE_STATUSES = tuple(MessageStatus)


class OutboxMessage(db.Model):
    """One e-mail, composed once: retries send the very same bytes and Message-ID.

    Booking mails are queued as `compose_from` (what the booking looked like
    at the change) and composed by the first delivery run, which keeps the
    booking request itself cheap; other mails arrive composed.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {sql_list(MessageStatus)}", name="status"),
        sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "booking:12:invite:3:li@firm.example": the same change never mails twice.
    idempotency_key: Mapped[str] = mapped_column(sa.String(300), unique=True)
    message_id: Mapped[str] = mapped_column(sa.String(300), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    raw: Mapped[str | None] = mapped_column(sa.Text)  # the whole RFC 5322 message, once composed
    compose_from: Mapped[dict | None] = mapped_column(sa.JSON)
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=MessageStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
