"""Daily roll-ups of the statistics (issue #20; README, "Statistics (roll-ups)")."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class DailyFigures(db.Model):
    """Per day (platform zone), instrument and booking firm's city ('' for a
    booker without a firm): the additive figures every statistic is built
    from. Derived data, always equal to what `stats.rollups.compute` finds in
    the raw rows; kept current in the transaction of every change and rebuilt
    by `flask stats rebuild`. Blackout minutes sit on the row of city ''.
    No foreign key: a roll-up row never stops a change of what it sums."""

    __tablename__ = "stats_daily"
    __table_args__ = ({"sqlite_with_rowid": False},)  # clustered by day: a period is one range

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    firm_city: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    booked_seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0)   # confirmed and completed
    used_seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0)     # completed: recorded, else booked
    staff_seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0)    # the part used by the owner's staff
    bookings: Mapped[int] = mapped_column(sa.Integer, default=0)            # confirmed and completed, by start
    no_shows: Mapped[int] = mapped_column(sa.Integer, default=0)            # by start
    revenue_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)    # completed, by start
    voucher_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)    # its voucher part
    lost_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)        # opening minutes blackouts take


class MonthlyFigures(db.Model):
    """The daily figures summed per calendar month (`month`: its first day)
    and instrument, over every booker's city: a year of an instrument is
    twelve rows instead of hundreds. Kept by the same deltas as the daily
    rows, in the same transaction, and derived from them by a rebuild.
    Stored in (instrument, month) order: a period's months of every
    instrument are read in the order they are grouped."""

    __tablename__ = "stats_monthly"
    __table_args__ = ({"sqlite_with_rowid": False},)

    instrument_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    # Seconds as 32-bit integers (a month is 2.7 million seconds): PostgreSQL
    # sums those in 64 bits, a bigint in numeric (a year of 20,000
    # instruments: 118 against 169 ms).
    booked_seconds: Mapped[int] = mapped_column(sa.Integer, default=0)
    used_seconds: Mapped[int] = mapped_column(sa.Integer, default=0)
    staff_seconds: Mapped[int] = mapped_column(sa.Integer, default=0)
    bookings: Mapped[int] = mapped_column(sa.Integer, default=0)
    no_shows: Mapped[int] = mapped_column(sa.Integer, default=0)
    revenue_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    voucher_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    lost_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)


class MonthlyFlows(db.Model):
    """What the flow matrix needs, per month, owning institution and booking
    firm's city (bookers with a firm only): a few thousand rows a year for
    the whole corridor. Instruments never change institution
    (catalogue.manage refuses it), so a row never has to move."""

    __tablename__ = "stats_flows_monthly"

    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    firm_city: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    booked_seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    bookings: Mapped[int] = mapped_column(sa.Integer, default=0)
    revenue_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
