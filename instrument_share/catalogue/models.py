"""Categories, instruments and their opening hours."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import City, Institution, User  # noqa: F401 (relationships name them)
from ..db_types import Money, UTCDateTime, sql_list
from ..extensions import db
from ..timeutil import format_minute, utcnow


# 运行状态 as NRII records it; the first two may be booked.
class InstrumentStatus(StrEnum):
    """运行状态; stored as its value."""

    NORMAL = "normal"  # 正常
    STANDBY = "standby"  # 待机
    OCCASIONAL_FAULT = "occasional_fault"  # 偶有故障
    FREQUENT_FAULT = "frequent_fault"  # 故障频繁
    AWAITING_REPAIR = "awaiting_repair"  # 待修
    AWAITING_SCRAP = "awaiting_scrap"  # 待报废


INSTRUMENT_STATUSES = tuple(InstrumentStatus)
BOOKABLE_STATUSES = (InstrumentStatus.NORMAL, InstrumentStatus.STANDBY, InstrumentStatus.OCCASIONAL_FAULT)


class QuotaClass(StrEnum):
    """The Ministry's quota an instrument is measured against (1,400 h or 800 h a year)."""

    GENERAL = "general"
    SPECIAL = "special"


QUOTA_CLASSES = tuple(QuotaClass)
# What the audit trail of an instrument records (InstrumentEvent.action).
INSTRUMENT_ACTIONS = (
    "created", "changed", "status_changed", "opening_hours_changed", "blackout_added", "blackout_removed",
    "qualification_granted", "qualification_revoked", "photo_added", "photo_removed",
)


class Category(db.Model):
    """A class of the national classification of large instruments."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(100))
    parent_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("categories.code"), index=True
    )
    sort_order: Mapped[int] = mapped_column(sa.Integer)

    parent: Mapped[Category | None] = relationship(remote_side=[code])


# The columns a search filters, joins and sorts by (search/services.py, free_time.py).
SEARCH_COLUMNS = ("id", "retired_on", "status", "institution_id", "category_code", "name", "hourly_rate",
                  "accepts_vouchers", "buffer_minutes", "open_on_holidays")


class Instrument(db.Model):
    """A shared large instrument: the NRII record plus its booking settings."""

    __tablename__ = "instruments"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {sql_list(InstrumentStatus)}", name="status"),
        sa.CheckConstraint(f"quota_class IN {sql_list(QuotaClass)}", name="quota_class"),
        sa.CheckConstraint("hourly_rate >= 0", name="hourly_rate"),
        sa.CheckConstraint(
            "min_booking_minutes > 0 AND max_booking_minutes >= min_booking_minutes",
            name="booking_length",
        ),
        sa.CheckConstraint("buffer_minutes >= 0", name="buffer"),
        # The conflict checker searches back MAX_OCCUPIED_SPAN (8 days) from a
        # request: a booking may last at most 7 days plus 1 day of buffer.
        sa.CheckConstraint("max_booking_minutes <= 10080", name="max_booking_week"),
        sa.CheckConstraint("buffer_minutes <= 1440", name="buffer_day"),
        sa.CheckConstraint("advance_notice_hours >= 0", name="advance_notice"),
        # 资产编号, the key of bulk import: unique within the institution when given.
        sa.Index("ux_instruments_institution_id_asset_no", "institution_id", "asset_no", unique=True,
                 sqlite_where=sa.text("asset_no <> ''"), postgresql_where=sa.text("asset_no <> ''")),
        # What a search reads of each matching instrument, so that it never
        # reads the record's long texts (on SQLite, past them into overflow
        # pages: 8.4 → 5.2 ms for 3,000 matches at 20,000 instruments).
        sa.Index("ix_instruments_search", *SEARCH_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    category_code: Mapped[str] = mapped_column(sa.ForeignKey("categories.code"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    asset_no: Mapped[str] = mapped_column(sa.String(60), default="")
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    model: Mapped[str] = mapped_column(sa.String(120), default="")
    manufacturer: Mapped[str] = mapped_column(sa.String(120), default="")
    country_of_origin: Mapped[str] = mapped_column(sa.String(40), default="")
    original_value: Mapped[Decimal | None] = mapped_column(Money)  # 万元
    commissioned_on: Mapped[date | None] = mapped_column(sa.Date)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    specifications: Mapped[str] = mapped_column(sa.Text, default="")
    functions: Mapped[str] = mapped_column(sa.Text, default="")
    services: Mapped[str] = mapped_column(sa.Text, default="")
    reference_fees: Mapped[str] = mapped_column(sa.Text, default="")
    sharing_rules: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default=InstrumentStatus.NORMAL)
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_name: Mapped[str] = mapped_column(sa.String(60), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(120), default="")
    hourly_rate: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    min_booking_minutes: Mapped[int] = mapped_column(sa.Integer, default=30)
    max_booking_minutes: Mapped[int] = mapped_column(sa.Integer, default=480)
    buffer_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)
    advance_notice_hours: Mapped[int] = mapped_column(sa.Integer, default=24)
    requires_approval: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    accepts_vouchers: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Takes orders for entrusted testing (委托测试): samples in, a report out.
    accepts_orders: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    open_on_holidays: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Firm users run it themselves only once qualified (培训上机资格, qualifications.py).
    self_service: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    next_training_on: Mapped[date | None] = mapped_column(sa.Date)
    # 已停用: retired from sharing on this day (manage.py); its history stays, no new bookings.
    retired_on: Mapped[date | None] = mapped_column(sa.Date)
    quota_class: Mapped[str] = mapped_column(sa.String(10), default=QuotaClass.GENERAL)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    institution: Mapped[Institution] = relationship()
    category: Mapped[Category] = relationship()
    photos: Mapped[list[InstrumentPhoto]] = relationship(
        order_by="InstrumentPhoto.id", cascade="all, delete-orphan", back_populates="instrument",
    )
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        order_by="(OpeningHours.weekday, OpeningHours.open_minute)",
        cascade="all, delete-orphan",
        back_populates="instrument",
    )

    @property
    def contact(self) -> dict[str, str]:
        return {"name": self.contact_name, "phone": self.contact_phone, "email": self.contact_email}

    @property
    def city_code(self) -> str:
        return self.institution.city_code

    @property
    def in_service(self) -> bool:
        """Bookable as far as the instrument goes: a bookable operating
        status and not retired (the SQL form is `in_service_condition`)."""
        return self.status in BOOKABLE_STATUSES and self.retired_on is None


def in_service_condition():
    """`Instrument.in_service` in SQL."""
    return sa.and_(Instrument.status.in_(BOOKABLE_STATUSES), Instrument.retired_on.is_(None))


class OpeningHours(db.Model):
    """One weekly opening interval; minutes from midnight, close may be 1440."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        sa.CheckConstraint(
            "open_minute >= 0 AND close_minute <= 1440 AND close_minute > open_minute",
            name="interval",
        ),
        # "Open on this weekday from … to …" is answered from the index alone
        # (the free-time search asks it of thousands of instruments at once).
        sa.Index("ix_opening_hours_instrument_id_weekday", "instrument_id", "weekday", "open_minute", "close_minute"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)  # Monday = 0
    open_minute: Mapped[int] = mapped_column(sa.SmallInteger)
    close_minute: Mapped[int] = mapped_column(sa.SmallInteger)

    @property
    def open(self) -> str:
        return format_minute(self.open_minute)

    @property
    def close(self) -> str:
        return format_minute(self.close_minute)

    instrument: Mapped[Instrument] = relationship(back_populates="opening_hours")


class InstrumentEvent(db.Model):
    """The audit trail of an instrument: who did what, when, and what changed.

    `changes` maps each changed field to `[old, new]` (JSON values: amounts
    as strings, dates and times in ISO 8601); `actor_id` is empty for
    changes made by the system. Rows are written by catalogue/audit.py only,
    in the same transaction as the change.
    """

    __tablename__ = "instrument_events"
    __table_args__ = (
        sa.CheckConstraint(f"action IN {INSTRUMENT_ACTIONS!r}", name="action"),
        sa.Index("ix_instrument_events_instrument_id_id", "instrument_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(30))
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    instrument: Mapped[Instrument] = relationship()
    actor: Mapped[User | None] = relationship()


class Qualification(db.Model):
    """A user may run a self-service instrument alone (培训上机资格), until
    `expires_on` inclusive when set. Revoking deletes the row; the
    instrument's trail keeps both events."""

    __tablename__ = "qualifications"
    __table_args__ = (sa.UniqueConstraint("instrument_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    granted_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date)

    instrument: Mapped[Instrument] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def valid_on(self, day: date) -> bool:
        return self.expires_on is None or day <= self.expires_on


class InstrumentPhoto(db.Model):
    """A photo of an instrument as the platform serves it: re-encoded from
    the upload (photos.py) to a display size and a thumbnail, nothing of
    the original kept. Stored in the database, so that every web host
    serves it; the images are deferred, so listing photos reads no image."""

    __tablename__ = "instrument_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id", ondelete="CASCADE"), index=True)
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    display: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    thumbnail: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    instrument: Mapped[Instrument] = relationship(back_populates="photos")
