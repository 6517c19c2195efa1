"""Orders of entrusted testing, their samples and history, and the files
people upload (reports), kept in the database so every web host serves them."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Firm, Institution, User
from ..catalogue.models import Instrument
from ..db_types import Money, UTCDateTime, sql_list
from ..extensions import db
from ..timeutil import utcnow
from ..vouchers.models import Voucher


class OrderStatus(StrEnum):
    """API.md, "Entrusted testing"."""

    SUBMITTED = "submitted"
    QUOTED = "quoted"
    ACCEPTED = "accepted"
    RECEIVED = "received"
    REPORTED = "reported"
    CLOSED = "closed"
    DECLINED = "declined"    # by the institution, with a reason
    WITHDRAWN = "withdrawn"  # by the firm, before the samples were received
    REJECTED = "rejected"    # the firm refused the quote


class StoredFile(db.Model):
    """An uploaded file (a report): its bytes in the database, loaded only when served."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.Integer)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {sql_list(OrderStatus)}", name="status"),
        sa.CheckConstraint("quote_amount IS NULL OR quote_amount > 0", name="quote_amount"),
        sa.CheckConstraint("turnaround_days IS NULL OR turnaround_days BETWEEN 1 AND 365", name="turnaround"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        sa.CheckConstraint("voucher_amount >= 0 AND firm_pays >= 0", name="money"),
        sa.CheckConstraint("voucher_amount = 0 OR voucher_id IS NOT NULL", name="voucher_part"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)  # WT-2026-483920
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("firms.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    requirements: Mapped[str] = mapped_column(sa.Text, default="")
    desired_by: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(16), default=OrderStatus.SUBMITTED, index=True)
    quote_amount: Mapped[Decimal | None] = mapped_column(Money)
    turnaround_days: Mapped[int | None] = mapped_column(sa.Integer)
    quote_note: Mapped[str] = mapped_column(sa.Text, default="")
    quote_valid_until: Mapped[date | None] = mapped_column(sa.Date)
    decline_reason: Mapped[str] = mapped_column(sa.Text, default="")
    received_on: Mapped[date | None] = mapped_column(sa.Date)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    report_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    machine_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    rating: Mapped[int | None] = mapped_column(sa.Integer)
    rating_comment: Mapped[str] = mapped_column(sa.Text, default="")
    # The voucher the firm chose (at submission or acceptance); it holds its
    # part of the quote from acceptance and spends it with the report.
    voucher_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vouchers.id"), index=True)
    voucher_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    firm_pays: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    instrument: Mapped[Instrument] = relationship()
    institution: Mapped[Institution] = relationship()
    firm: Mapped[Firm] = relationship()
    user: Mapped[User] = relationship()
    report_file: Mapped[StoredFile | None] = relationship()
    voucher: Mapped[Voucher | None] = relationship()
    samples: Mapped[list[OrderSample]] = relationship(
        order_by="OrderSample.position", cascade="all, delete-orphan", back_populates="order")
    events: Mapped[list[OrderEvent]] = relationship(
        order_by="OrderEvent.id", cascade="all, delete-orphan", back_populates="order")


class OrderSample(db.Model):
    __tablename__ = "order_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(12, 3))
    unit: Mapped[str] = mapped_column(sa.String(20))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    hazards: Mapped[str] = mapped_column(sa.Text, default="")

    order: Mapped[Order] = relationship(back_populates="samples")


class OrderEvent(db.Model):
    """The order's history: who did what, when (shown as a timeline)."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(20))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
