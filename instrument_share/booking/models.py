"""Bookings, their history, blackouts and recurring series."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Firm, User
from ..catalogue.models import Instrument
from ..db_types import Money, UTCDateTime, sql_list
from ..extensions import db
from ..timeutil import utcnow


class BookingStatus(StrEnum):
    """Where a booking stands; stored as its value."""

    PENDING = "pending"  # waiting for a manager's approval; holds its slot
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # by the booker, a manager, a blackout or a lapse
    COMPLETED = "completed"
    NO_SHOW = "no_show"


BOOKING_STATUSES = tuple(BookingStatus)
# Statuses that hold their slot: the conflict checker, the PostgreSQL
# exclusion constraint and the SQLite triggers all use exactly this list.
ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)
ACTIVE_INDEX = "ix_bookings_active_instrument_id_start"  # of the active bookings, by instrument and start
ACTIVE_SQL = "status IN ({})".format(", ".join(f"'{status}'" for status in ACTIVE_STATUSES))
# Statuses a service took place in (usage may be recorded).
TOOK_PLACE = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


class BookingAction(StrEnum):
    """What a booking's history records (BookingEvent.action); the mails a
    booking change causes are named the same, with `REQUESTED` for a new
    booking waiting for approval and `CONFIRMED` for one booked at once."""

    CREATED = "created"
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHECKED_IN = "checked_in"
    USAGE_RECORDED = "usage_recorded"
    RATED = "rated"
    NO_SHOW = "no_show"
    COMPLETED = "completed"
    LAPSED = "lapsed"


class ServiceMode(StrEnum):
    """How a booking was served: 占用共享, 技术共享, 委托共享, 远程共享."""

    SELF_OPERATED = "self_operated"
    GUIDED = "guided"
    COMMISSIONED = "commissioned"
    REMOTE = "remote"


SERVICE_MODES = tuple(ServiceMode)
# 非常满意 … 极差, stored 5 … 1
RATINGS = (5, 4, 3, 2, 1)


class BookingSeries(db.Model):
    """A recurring booking: one row per occurrence hangs off it."""

    __tablename__ = "booking_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    rrule: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Booking(db.Model):
    """One reservation of an instrument for `[start, end)`.

    `occupied_until` is `end` plus the instrument's changeover buffer at the
    time of booking: the slot the booking holds for everybody.
    """

    lock_before_change = True  # changed only under lock() (database.py)
    __tablename__ = "bookings"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {sql_list(BookingStatus)}", name="status"),
        sa.CheckConstraint('"end" > start', name="positive_length"),
        sa.CheckConstraint('occupied_until >= "end"', name="occupied_after_end"),
        sa.CheckConstraint(
            f"service_mode IS NULL OR service_mode IN {sql_list(ServiceMode)}", name="service_mode"
        ),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        sa.CheckConstraint("used_end IS NULL OR used_end > used_start", name="usage"),
        sa.CheckConstraint("cost >= 0 AND voucher_amount >= 0 AND firm_pays >= 0", name="money"),
        sa.Index("ix_bookings_instrument_id_start", "instrument_id", "start"),
        # The "my bookings" page reads a firm's bookings in (start, id) order
        # (booking.services.my_bookings_parts; the id for PostgreSQL, whose
        # index has no row id in it), and asks whether the booker booked for
        # no firm or another, the firm read from the index.
        sa.Index("ix_bookings_firm_id_start", "firm_id", "start", "id"),
        sa.Index("ix_bookings_user_id_start_firm_id", "user_id", "start", "firm_id"),
        # The close-bookings and reminder jobs find bookings by status and
        # start; without it each run scanned the whole history in the write lock.
        sa.Index("ix_bookings_status_start", "status", "start"),
        # Active bookings only, with their occupied end: the conflict
        # checker, suggestions, next_free and the free-time search probe it,
        # so their cost does not grow with the completed and cancelled
        # history. Queries repeat its condition word for word
        # (conflicts.active_sql): SQLite uses a partial index only then.
        sa.Index(ACTIVE_INDEX, "instrument_id", "start", "occupied_until",
                 sqlite_where=sa.text(ACTIVE_SQL), postgresql_where=sa.text(ACTIVE_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    firm_id: Mapped[int | None] = mapped_column(sa.ForeignKey("firms.id"))
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking_series.id"), index=True)
    voucher_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vouchers.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    occupied_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(12))
    purpose: Mapped[str] = mapped_column(sa.Text, default="")
    cost: Mapped[Decimal] = mapped_column(Money)
    voucher_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    firm_pays: Mapped[Decimal] = mapped_column(Money)
    # iCalendar SEQUENCE: rises on every change a calendar must see.
    sequence: Mapped[int] = mapped_column(sa.Integer, default=0)
    decision_reason: Mapped[str] = mapped_column(sa.Text, default="")
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    service_mode: Mapped[str | None] = mapped_column(sa.String(16))
    used_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rating_comment: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    instrument: Mapped[Instrument] = relationship()
    user: Mapped[User] = relationship()
    firm: Mapped[Firm | None] = relationship()
    series: Mapped[BookingSeries | None] = relationship()
    events: Mapped[list[BookingEvent]] = relationship(
        order_by="BookingEvent.id", back_populates="booking", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def hours(self) -> Decimal:
        return Decimal((self.end - self.start).total_seconds()) / 3600

    @property
    def used_hours(self) -> Decimal | None:
        if self.used_start is None or self.used_end is None:
            return None
        return Decimal((self.used_end - self.used_start).total_seconds()) / 3600


class BookingEvent(db.Model):
    """The history of a booking: who did what, when, with what details."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        sa.ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(20))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Blackout(db.Model):
    """Time an instrument cannot be booked: maintenance, repair, calibration."""

    __tablename__ = "blackouts"
    __table_args__ = (
        sa.CheckConstraint('"end" > start', name="positive_length"),
        sa.Index("ix_blackouts_instrument_id_end", "instrument_id", "end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    instrument: Mapped[Instrument] = relationship()
