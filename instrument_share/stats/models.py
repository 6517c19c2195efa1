"""Daily roll-ups of the statistics (issue #20; README, "Statistics (roll-ups)")."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import UTCDateTime
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
    instrument are read in the order they are grouped. Indexed in (month,
    instrument) order with every figure: a month of every instrument (the
    dashboard's) is a range of that index, not a scan of every month; and
    the months with blackout minutes alone (the trend's)."""

    __tablename__ = "stats_monthly"
    __table_args__ = (
        sa.Index("ix_stats_monthly_month_figures", "month", "instrument_id", "booked_seconds", "used_seconds",
                 "staff_seconds", "bookings", "no_shows", "revenue_cents", "voucher_cents", "lost_minutes"),
        sa.Index("ix_stats_monthly_lost", "month", "instrument_id", "lost_minutes",
                 sqlite_where=sa.text("lost_minutes <> 0"), postgresql_where=sa.text("lost_minutes <> 0")),
        {"sqlite_with_rowid": False},
    )

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


class InstitutionMonthlyFigures(db.Model):
    """The booking figures summed per calendar month, owning institution and
    booker's firm city ('' for a booker without a firm): the corridor's
    month is about 5,000 rows instead of 20,000 instruments'. The trend by
    month and the groupings by city and institution read them (with the
    instruments' blackout minutes), the flow matrix their rows with a city.
    Instruments never change institution
    (catalogue.manage refuses it), so a row never has to move."""

    __tablename__ = "stats_institution_monthly"
    __table_args__ = ({"sqlite_with_rowid": False},)  # clustered by month: a period is one range

    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    firm_city: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    booked_seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # may pass 2^31
    used_seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    staff_seconds: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    bookings: Mapped[int] = mapped_column(sa.Integer, default=0)
    no_shows: Mapped[int] = mapped_column(sa.Integer, default=0)
    revenue_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    voucher_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class YearlyFigures(db.Model):
    """The monthly figures summed per calendar year (`year`: 1 January) and
    instrument: a period of more than half a year is its year's row less
    the months and days outside it (`services._cover`), so a year of the
    corridor is 20,000 rows and a month or two of them instead of 240,000
    monthly rows (a year by instrument spent most of its SQL summing those);
    the quota's "used since 1 January" likewise. Kept by the monthly rows'
    deltas at commit, after them, blackout minutes set from them; derived
    from them by every rebuild."""

    __tablename__ = "stats_yearly"
    __table_args__ = ({"sqlite_with_rowid": False},)  # a year of every instrument is one range

    year: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    # A year is 31.6 million seconds: 32 bits, as the monthly rows (PostgreSQL
    # sums those in 64 bits, a bigint in numeric).
    booked_seconds: Mapped[int] = mapped_column(sa.Integer, default=0)
    used_seconds: Mapped[int] = mapped_column(sa.Integer, default=0)
    staff_seconds: Mapped[int] = mapped_column(sa.Integer, default=0)
    bookings: Mapped[int] = mapped_column(sa.Integer, default=0)
    no_shows: Mapped[int] = mapped_column(sa.Integer, default=0)
    revenue_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    voucher_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    lost_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # OpeningHours.weekday 0 to 6


class WeeklyOpenMinutes(db.Model):
    """Per instrument, the minutes it is open on each weekday (its weekly
    hours summed): a period's opening minutes are then its days' weekday
    counts times these, one row an instrument instead of its hours summed
    at each read (20,000 instruments: 45 → 10 ms on SQLite). Derived data,
    kept by the roll-ups' flush listener in the transaction that changes the
    hours, rebuilt with the roll-ups and checked by the nightly rebuild. An
    instrument without a row is never open."""

    __tablename__ = "stats_open_minutes"

    instrument_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    mon: Mapped[int] = mapped_column(sa.Integer, default=0)
    tue: Mapped[int] = mapped_column(sa.Integer, default=0)
    wed: Mapped[int] = mapped_column(sa.Integer, default=0)
    thu: Mapped[int] = mapped_column(sa.Integer, default=0)
    fri: Mapped[int] = mapped_column(sa.Integer, default=0)
    sat: Mapped[int] = mapped_column(sa.Integer, default=0)
    sun: Mapped[int] = mapped_column(sa.Integer, default=0)


class StatsVersion(db.Model):
    """One row: a random token replaced by every transaction that changes
    what a statistic of whole past days shows (a booking's figures on a day
    before today, an instrument, institution, firm, order, blackout or
    opening hours; a rebuild). A dashboard of such days is computed once per
    token and process (stats/dashboard.py); random, not a counter, so that a
    database emptied and filled again never meets an old token."""

    __tablename__ = "stats_version"

    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(sa.String(32))


class StatsDayVersion(db.Model):
    """A random token per day, replaced by every transaction that changes a
    booking's figures on that day (up to the writer's today): a dashboard
    of whole past days is kept per token of `stats_version` and of each day
    it reads, so that the day's bookings, used and recorded all day long,
    leave a page of the days before kept (stats/dashboard.py)."""

    __tablename__ = "stats_day_version"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(32))


class StatsPage(db.Model):
    """A dashboard of whole past days made by the scheduler (stats/pages.py)
    for the scopes whose pages are costly to make on a reader's request (the
    corridor, each city), shared by every web worker: its figures as JSON,
    the statistics' versions they were made at (`tokens`, a digest of
    `stats_version` and the days' tokens), and when the scheduler last found
    them current (`checked_at`). Derived data: emptied or lost, pages are made
    again on request and by the next run."""

    __tablename__ = "stats_page"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    tokens: Mapped[str] = mapped_column(sa.String(64))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(sa.Text)
