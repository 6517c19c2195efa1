"""Innovation vouchers (创新券) and their ledger."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Firm
from ..booking.models import Booking
from ..db_types import Money, UTCDateTime, sql_list
from ..extensions import db
from ..timeutil import platform_today, utcnow


class VoucherStatus(StrEnum):
    """A voucher is spendable (active) until its bureau revokes it; expiry is a date, not a status."""

    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"  # never stored: what `state_on` says after the expiry date


VOUCHER_STATUSES = (VoucherStatus.ACTIVE, VoucherStatus.REVOKED)


class EntryKind(StrEnum):
    """A ledger movement (see VoucherEntry)."""

    GRANT = "grant"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    REVOKE = "revoke"


ENTRY_KINDS = tuple(EntryKind)


class Voucher(db.Model):
    """An allowance a city bureau grants a firm; spendable at any corridor institution.

    `balance` is what is still available: the sum of the ledger's deltas,
    kept on the row so that a CHECK makes a negative balance impossible.
    """

    lock_before_change = True  # changed only under lock() (database.py)
    __tablename__ = "vouchers"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount"),
        sa.CheckConstraint("balance >= 0 AND balance <= amount", name="balance"),
        sa.CheckConstraint("max_share > 0 AND max_share <= 10000", name="max_share"),
        sa.CheckConstraint(f"status IN {sql_list(VOUCHER_STATUSES)}", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("firms.id"), index=True)
    issuing_city: Mapped[str] = mapped_column(sa.ForeignKey("cities.code"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal] = mapped_column(Money)
    expires_on: Mapped[date] = mapped_column(sa.Date)
    # The largest share of any fee the voucher may pay, in basis points (5000 = 50%).
    max_share_bp: Mapped[int] = mapped_column("max_share", sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(10), default=VoucherStatus.ACTIVE)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    firm: Mapped[Firm] = relationship()
    entries: Mapped[list[VoucherEntry]] = relationship(order_by="VoucherEntry.id", back_populates="voucher")

    @property
    def max_share(self) -> Decimal:
        return (Decimal(self.max_share_bp) / 10000).quantize(Decimal("0.0001"))

    def state_on(self, day: date) -> str:
        if self.status == VoucherStatus.REVOKED:
            return VoucherStatus.REVOKED
        return VoucherStatus.EXPIRED if day > self.expires_on else VoucherStatus.ACTIVE

    @property
    def state_today(self) -> str:
        """Active, expired or revoked on the platform's today."""
        return self.state_on(platform_today())


class VoucherEntry(db.Model):
    """One movement: `delta` changes the available balance; `amount` is the money moved.

    grant +amount; hold −held; release +released; capture 0 (the held money
    becomes spent, `amount` says how much); revoke −what was left.
    """

    __tablename__ = "voucher_entries"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {sql_list(EntryKind)}", name="kind"),
        # A movement serves one booking or one order of entrusted testing, never both.
        sa.CheckConstraint("booking_id IS NULL OR order_id IS NULL", name="one_service"),
        # The settlement list reads a city's vouchers' captures with their
        # service and amount from the index alone, not row by row.
        sa.Index("ix_voucher_entries_voucher_id_kind", "voucher_id", "kind", "booking_id", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(sa.ForeignKey("vouchers.id"))
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id"), index=True)
    # No ORM relationship: orders sit above vouchers (the order package reads its entries).
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    delta: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    voucher: Mapped[Voucher] = relationship(back_populates="entries")
    # Set on a booking not yet written: its id comes with the same flush.
    booking: Mapped[Booking | None] = relationship()


class ClaimLineStatus(StrEnum):
    """The issuing city's bureau decides each line of a claim."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


CLAIM_LINE_STATUSES = tuple(ClaimLineStatus)


class VoucherClaim(db.Model):
    """兑付申请: a providing institution claims captured voucher money from one issuing city."""

    lock_before_change = True  # changed only under lock() (database.py)
    __tablename__ = "voucher_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    issuing_city: Mapped[str] = mapped_column(sa.ForeignKey("cities.code"), index=True)
    period_from: Mapped[date] = mapped_column(sa.Date)
    period_to: Mapped[date] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_on: Mapped[date | None] = mapped_column(sa.Date)

    lines: Mapped[list[VoucherClaimLine]] = relationship(order_by="VoucherClaimLine.id", back_populates="claim")

    @property
    def total(self) -> Decimal:
        """The money claimed: every line."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def approved(self) -> Decimal:
        """The money the issuing city's bureau approved."""
        return sum((line.amount for line in self.lines if line.status == ClaimLineStatus.APPROVED), Decimal("0.00"))


class VoucherClaimLine(db.Model):
    """One captured amount in a claim; a capture can be claimed once (unique)."""

    lock_before_change = True  # changed only under lock() (database.py)
    __tablename__ = "voucher_claim_lines"
    __table_args__ = (sa.CheckConstraint(f"status IN {sql_list(ClaimLineStatus)}", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("voucher_claims.id"), index=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("voucher_entries.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(sa.String(10), default=ClaimLineStatus.PENDING)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    claim: Mapped[VoucherClaim] = relationship(back_populates="lines")
    entry: Mapped[VoucherEntry] = relationship()
