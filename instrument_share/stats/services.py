"""Utilisation figures, computed by SQL aggregation.

Definitions (also in the README):
- open hours: weekly opening hours over the period's days (statutory
  holidays closed, make-up working days open with the weekday they stand
  for), minus blackouts within opening hours;
- booked hours: confirmed and completed bookings, clipped to the period;
- used hours (有效机时): the hours recorded by the manager; for a completed
  booking without a record, its booked hours;
- external hours (对外服务机时): used hours of bookers who are not staff of
  the owning institution; sharing rate (共享率) = external ÷ used;
- utilisation = booked ÷ open; no-show rate = no-shows ÷ (bookings + no-shows);
- bookings and revenue count bookings that start in the period (revenue:
  the cost of completed ones), so a booking is never counted twice;
- quota attainment: used hours from 1 January to the period's end against
  1,400 h (general purpose) or 800 h (special purpose) scaled to the part
  of the year elapsed;
- entrusted-testing orders (stats/orders.py) count in the period of their
  report: orders, order revenue (the quotes), its voucher part and the
  median turnaround in working days. An order's machine time, entered with
  the report, is effective and external service time of the instrument on
  the report day: it adds to used and external hours (so to the sharing
  rate and the quota), never to booked hours, which are the calendar's.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain
from operator import attrgetter

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy.orm import selectinload

from ..accounts.models import Firm, Institution, User
from ..accounts.policy import Scope
from ..accounts.services import list_cities as _list_cities
from ..booking.calendar import effective_weekday, opening_windows
from ..booking.conflicts import MAX_OCCUPIED_SPAN
from ..booking.models import Blackout, Booking, BookingStatus
from ..catalogue.models import Category, Instrument, QuotaClass
from ..errors import N_, ValidationFailed
from ..extensions import db
from ..orders.models import Order
from ..sql import dialect, epoch_seconds, greatest, least
from ..timeutil import platform_today, platform_zone
from . import orders as order_stats
from . import rollups
from .models import (
    WEEKDAYS,
    DailyFigures,
    InstitutionMonthlyFigures,
    MonthlyFigures,
    WeeklyOpenMinutes,
    YearlyFigures,
)

GROUPS = ("city", "institution", "category", "instrument", "month")
QUOTA_HOURS = {QuotaClass.GENERAL: 1400, QuotaClass.SPECIAL: 800}
MAX_PERIOD = timedelta(days=731)
USAGE_REACH = timedelta(days=1)  # recorded usage lies within a day of the booking


@dataclass
class Period:
    first: date
    last: date  # inclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), platform_zone())

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), platform_zone())

    def days(self):
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)


def make_period(first: date, last: date) -> Period:
    """The period from its first to its last day, both given (the API's
    schema requires them, the dashboard has its default)."""
    if last < first:
        raise ValidationFailed(N_("The period is not valid."), {"to": [N_("The end must be after the start.")]})
    if last - first > MAX_PERIOD:
        raise ValidationFailed(N_("The period is not valid."), {"to": [N_("At most two years at a time.")]})
    return Period(first, last)


CENT, RATIO_PLACES, HOUR = Decimal("0.01"), Decimal("0.0001"), Decimal(3600)  # a Decimal divides faster by a Decimal


@dataclass
class Figures:
    """A group's figures in whole units (minutes, seconds, cents), summed
    exactly; hours, yuan and ratios are made from the sums once, in
    `as_dict` (each ratio from the two integers: one rounding)."""
    open_minutes: int = 0
    booked_seconds: int = 0
    used_seconds: int = 0
    external_seconds: int = 0
    bookings: int = 0
    no_shows: int = 0
    revenue_cents: int = 0
    voucher_cents: int = 0
    instruments: int = 0
    orders: int = 0
    order_cents: int = 0
    order_voucher_cents: int = 0
    order_seconds: int = 0
    turnarounds: list[int] = field(default_factory=list)  # working days, one per timed order

    @property
    def used_hours(self) -> Decimal:
        return Decimal(self.used_seconds) / 3600

    def add(self, other: Figures) -> None:
        for name in ADDITIVE:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.turnarounds.extend(other.turnarounds)

    @classmethod
    def total(cls, items: list[Figures]) -> Figures:
        """The sum of many figures: each field summed in one pass of C-level
        iteration (a dashboard sums 20,000 instruments several ways)."""
        result = cls()
        for name in ADDITIVE:
            setattr(result, name, sum(map(attrgetter(name), items)))
        result.turnarounds = list(chain.from_iterable(map(attrgetter("turnarounds"), items)))
        return result

    def add_order(self, order: order_stats.ReportedOrder) -> None:
        """A delivered order; its machine time is external service time."""
        seconds = (order.machine_minutes or 0) * 60
        self.orders += 1
        self.order_cents += _cents(order.amount)
        self.order_voucher_cents += _cents(order.voucher_amount)
        self.order_seconds += seconds
        self.used_seconds += seconds
        self.external_seconds += seconds
        if order.turnaround_days is not None:
            self.turnarounds.append(order.turnaround_days)

    def as_dict(self, **head) -> dict:
        """The figures as shown, after `head` (a row's key and labels: one
        dict made, not two; a by-instrument table makes 20,000). Money of
        orders is made only when there is some."""
        booked, open_minutes, used, external = (self.booked_seconds, self.open_minutes, self.used_seconds,
                                                self.external_seconds)
        revenue, vouchers, orders = self.revenue_cents, self.voucher_cents, self.orders
        return {
            **head,
            "open_hours": _hours(open_minutes * 60), "booked_hours": _hours(booked),
            "used_hours": _hours(used), "external_hours": _hours(external),
            "utilisation": _ratio(booked, open_minutes * 60), "sharing_rate": _ratio(external, used),
            "bookings": self.bookings, "no_shows": self.no_shows,
            "no_show_rate": _ratio(self.no_shows, self.bookings + self.no_shows),
            "revenue": _yuan(revenue), "voucher_revenue": _yuan(vouchers),
            "voucher_share": _ratio(vouchers, revenue),
            "instruments": self.instruments,
            "orders": orders,
            "order_revenue": _yuan(self.order_cents) if orders else NO_MONEY,
            "order_voucher_revenue": _yuan(self.order_voucher_cents) if orders else NO_MONEY,
            "order_hours": _hours(self.order_seconds) if orders else NO_MONEY,
            "median_turnaround_days": order_stats.median(self.turnarounds) if self.turnarounds else None,
        }


def _hours(seconds: int) -> Decimal:
    return (Decimal(seconds) / HOUR).quantize(CENT)


def _yuan(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _ratio(part: int, whole: int) -> Decimal:
    return (Decimal(part) / whole).quantize(RATIO_PLACES) if whole else NO_RATIO


def _cents(amount) -> int:
    return int((amount or 0) * 100)


NO_RATIO, NO_MONEY = Decimal(0), Decimal("0.00")


ADDITIVE = ("open_minutes", "booked_seconds", "used_seconds", "external_seconds", "bookings", "no_shows",
            "revenue_cents", "voucher_cents", "instruments", "orders", "order_cents", "order_voucher_cents",
            "order_seconds")


def list_cities():
    """The nine cities in corridor order, read once per request (or job):
    reference data, which a dashboard otherwise read four times."""
    if not has_app_context():
        return _list_cities()
    if "stats_cities" not in g:
        g.stats_cities = _list_cities()
    return g.stats_cities


def _in_scope(scope: Scope) -> list:
    """The conditions on Instrument alone of the scope: a statement joins
    the institutions only for their columns (the join made SQLite read the
    corridor's 20,000 instruments in institution order, not as stored:
    half of the instruments' part of a year by instrument, issue #20)."""
    return _owned_in_scope(scope, Instrument.institution_id)


def _owned_in_scope(scope: Scope, institution_id) -> list:
    """The conditions of the scope on a column of institution ids."""
    conditions = []
    if scope.institution_id is not None:
        conditions.append(institution_id == scope.institution_id)
    if scope.city is not None:
        conditions.append(institution_id.in_(sa.select(Institution.id).where(Institution.city_code == scope.city)))
    return conditions


def _instruments_in_scope(scope: Scope):
    return sa.select(Instrument.id).where(*_in_scope(scope))


def _weekday_counts(days, open_on_holidays: bool) -> Counter:
    return Counter(w for w in (effective_weekday(d, open_on_holidays) for d in days) if w is not None)


def _open_minutes_over(days: list[date]) -> sa.ColumnElement:
    """An instrument's opening minutes over the days, in a statement that has
    Instrument and OPEN_MINUTES: each weekday's open minutes times how many
    of the days open with that weekday's hours."""
    regular, holidays_open = _weekday_counts(days, False), _weekday_counts(days, True)

    def minutes(counts: Counter):
        terms = [OPEN_MINUTES.c[name] * counts[n] for n, name in enumerate(WEEKDAYS) if counts[n]]
        return sum(terms[1:], terms[0]) if terms else sa.literal(0)

    return sa.case((Instrument.open_on_holidays.is_(True), minutes(holidays_open)), else_=minutes(regular))


def _open_minutes(scope: Scope, days: list[date]) -> dict[int, int]:
    """Opening minutes per instrument over the days (one statement)."""
    query = _scoped(sa.select(OPEN_MINUTES.c.instrument_id, _open_minutes_over(days))
                    .join(Instrument, OPEN_MINUTES.c.instrument_id == Instrument.id), scope, OPEN_MINUTES.c.instrument_id)
    return {instrument_id: int(minutes or 0) for instrument_id, minutes in db.session.execute(query)}


def _blackout_minutes(scope: Scope, period: Period) -> dict[int, int]:
    """Minutes of opening hours that blackouts take away, each minute once (a
    loop over blackouts, which are few)."""
    rows = db.session.scalars(
        sa.select(Blackout).where(Blackout.instrument_id.in_(_instruments_in_scope(scope)),
                                  Blackout.start < period.end, Blackout.end > period.start)
        .options(selectinload(Blackout.instrument).selectinload(Instrument.opening_hours))
    ).all()
    instruments = {blackout.instrument_id: blackout.instrument for blackout in rows}
    lost: dict[int, int] = defaultdict(int)
    for instrument_id, start, end in rollups.blackout_union([(b.instrument_id, b.start, b.end) for b in rows]):
        start, end = max(start, period.start), min(end, period.end)
        for opens, closes in opening_windows(instruments[instrument_id], start, end):  # each overlaps it
            overlap = min(closes, end) - max(opens, start)
            lost[instrument_id] += int(overlap.total_seconds() // 60)
    return lost


def _booking_sums(scope: Scope, period: Period):
    """Booked, used and external seconds, bookings, no-shows, revenue, grouped
    by instrument, in one query."""
    p0, p1 = period.start.timestamp(), period.end.timestamp()
    start, end = epoch_seconds(Booking.start), epoch_seconds(Booking.end)
    clipped = greatest(least(end, p1) - greatest(start, p0), 0)
    used_clipped = greatest(least(epoch_seconds(Booking.used_end), p1) - greatest(epoch_seconds(Booking.used_start), p0), 0)
    used = sa.case((Booking.used_start.is_not(None), used_clipped), else_=clipped)
    active = Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.COMPLETED))
    completed = Booking.status == BookingStatus.COMPLETED
    # External use is all use less the staff's own, which is rare: a booking's
    # used time is then worked out once for most rows, not twice.
    staff = sa.and_(User.institution_id.is_not(None), User.institution_id == Instrument.institution_id)
    inside = sa.and_(Booking.start >= period.start, Booking.start < period.end)
    query = (
        sa.select(
            Booking.instrument_id,
            sa.func.sum(sa.case((active, clipped), else_=0)),
            sa.func.sum(sa.case((completed, used), else_=0)),
            sa.func.sum(sa.case((sa.and_(completed, staff), used), else_=0)),
            sa.func.count(sa.case((sa.and_(active, inside), 1))),
            sa.func.count(sa.case((sa.and_(Booking.status == BookingStatus.NO_SHOW, inside), 1))),
            sa.func.sum(sa.case((sa.and_(completed, inside), sa.type_coerce(Booking.cost, sa.BigInteger)), else_=0)),
            sa.func.sum(sa.case((sa.and_(completed, inside), sa.type_coerce(Booking.voucher_amount, sa.BigInteger)),
                                else_=0)),
        )
        .select_from(Booking)
        .join(Instrument, Booking.instrument_id == Instrument.id)
        .join(User, Booking.user_id == User.id)
        # Recorded usage may lie up to a day outside the booked time
        # (booking.usage.record_usage): a booking booked just outside the
        # period may have used time inside it.
        .where(Booking.instrument_id.in_(_instruments_in_scope(scope)),
               Booking.start >= period.start - MAX_OCCUPIED_SPAN - USAGE_REACH,
               Booking.start < period.end + USAGE_REACH, Booking.end > period.start - USAGE_REACH)
        .group_by(Booking.instrument_id)
    )
    result = {}
    for instrument_id, booked_s, used_s, staff_s, bookings, no_shows, revenue, vouchers in db.session.execute(query):
        # Whole seconds: times are whole seconds, and the float arithmetic of
        # the epoch (SQLite's julianday) must not tip a ratio's rounding. An
        # instrument here has rows, and each sum's CASE an ELSE: none is NULL.
        used = round(used_s)
        result[instrument_id] = Figures(
            booked_seconds=round(booked_s), used_seconds=used, external_seconds=used - round(staff_s),
            bookings=bookings, no_shows=no_shows, revenue_cents=int(revenue), voucher_cents=int(vouchers))
    return result


def _reported_orders(scope: Scope, period: Period, orders=None) -> dict[int, list[order_stats.ReportedOrder]]:
    """The orders reported in the period on instruments in scope, by
    instrument; from `orders` (fetched once for a longer span) when given."""
    if orders is None:
        orders = order_stats.reported_orders(period.start, period.end,
                                             Order.instrument_id.in_(_instruments_in_scope(scope)))
    found: dict[int, list[order_stats.ReportedOrder]] = defaultdict(list)
    for order in orders:
        if period.start <= order.reported_at < period.end and (
                scope.city is None or order.instrument_city == scope.city):
            found[order.instrument_id].append(order)
    return found


def scope_orders(scope: Scope, start: datetime, end: datetime) -> list[order_stats.ReportedOrder]:
    """The orders reported in `[start, end)` that the scope's figures or
    flows count (one statement): on its instruments, and for a city also
    those its firms ordered elsewhere (flows)."""
    return order_stats.reported_orders(start, end, *_flow_filter(scope, Firm.city_code, Instrument.institution_id,
                                                                  Institution.city_code))


# --- roll-ups (stats/rollups.py): whole days before today ------------------------------------

ROLLED, MONTHLY = DailyFigures.__table__, MonthlyFigures.__table__
BY_INSTITUTION = InstitutionMonthlyFigures.__table__
OPEN_MINUTES = WeeklyOpenMinutes.__table__
YEARLY = YearlyFigures.__table__


def split(period: Period, today: date | None = None) -> tuple[Period | None, Period | None]:
    """The period's days before today (read from the roll-ups) and from today
    on (read from the raw rows); either may be None."""
    today = today or platform_today()
    rolled = Period(period.first, min(period.last, today - timedelta(days=1))) if period.first < today else None
    raw = Period(max(period.first, today), period.last) if period.last >= today else None
    return rolled, raw


def _scoped(query, scope: Scope, instrument_column):
    if scope.institution_id is None and scope.city is None:
        return query
    return query.where(instrument_column.in_(_instruments_in_scope(scope)))


def _figures_of(booked, used, staff, bookings, no_shows, revenue, vouchers) -> Figures:
    used = int(used or 0)
    return Figures(booked_seconds=int(booked or 0), used_seconds=used, external_seconds=used - int(staff or 0),
                   bookings=int(bookings or 0), no_shows=int(no_shows or 0), revenue_cents=int(revenue or 0),
                   voucher_cents=int(vouchers or 0))


def _month_key(table, column):
    """The month of a row, to group by: the monthly rows' own `month`; the
    first day of a daily row's month (ISO text on SQLite). Read back as
    'YYYY-MM' (`by_month`): formatting 240,000 rows of a year in SQL
    (PostgreSQL's to_char) took longer than summing them."""
    if table is not ROLLED:
        return column
    if dialect() == "postgresql":
        return sa.cast(sa.func.date_trunc("month", column), sa.Date)
    return sa.func.substr(column, 1, 7) + "-01"


def _cover(period: Period, years: bool = False) -> list[tuple[int, str, date, date]]:
    """The period's days as (sign, grain, first, last) ranges of the monthly
    rows (grain "month", first days of months) and of the daily ones ("day"):
    its whole months from the monthly rows; a month mostly inside it whole,
    less its days outside; a month mostly outside it by its days inside. A
    year is then its months and at most half a month of days at each end.
    With `years` (rows per instrument), a calendar year mostly inside it is
    read from the yearly rows (grain "year", 1 January to 31 December), less
    the months and days of the year outside it, covered the same way: a
    year to the end of November is its year's row less December's."""
    if not years:
        return _months_cover(period)
    parts: list[tuple[int, str, date, date]] = []
    for year in range(period.first.year, period.last.year + 1):
        year_first, year_last = date(year, 1, 1), date(year, 12, 31)
        first, last = max(year_first, period.first), min(year_last, period.last)
        if ((last - first).days + 1) * 2 <= (year_last - year_first).days + 1:
            parts += _months_cover(Period(first, last))
            continue
        parts.append((1, "year", year_first, year_last))
        for outside in (Period(year_first, first - timedelta(days=1)), Period(last + timedelta(days=1), year_last)):
            if outside.first <= outside.last:
                parts += [(-sign, grain, *days) for sign, grain, *days in _months_cover(outside)]
    return parts


def _months_cover(period: Period) -> list[tuple[int, str, date, date]]:
    """`_cover` without the yearly rows."""
    parts: list[tuple[int, str, date, date]] = []
    month = period.first.replace(day=1)
    while month <= period.last:
        following = (month + timedelta(days=32)).replace(day=1)
        first, last = max(month, period.first), min(following - timedelta(days=1), period.last)
        inside, length = (last - first).days + 1, (following - month).days
        if inside * 2 > length:
            if parts and parts[-1][:2] == (1, "month") and parts[-1][3] == month - timedelta(days=1):
                parts[-1] = (1, "month", parts[-1][2], following - timedelta(days=1))
            else:
                parts.append((1, "month", month, following - timedelta(days=1)))
            if first > month:
                parts.append((-1, "day", month, first - timedelta(days=1)))
            if last < following - timedelta(days=1):
                parts.append((-1, "day", last + timedelta(days=1), following - timedelta(days=1)))
        else:
            parts.append((1, "day", first, last))
        month = following
    return parts


def _grouped_arms() -> bool:
    """Whether each range is summed on its own before the ranges are summed
    together. SQLite: yes, each in its index's order as it streams, then a
    few rows each. PostgreSQL: no, one hash aggregate of every row: its sum
    of a bigint is a numeric, and summing each range, then the sums again,
    took three times as long (a month less half a month plus half a month of
    every instrument: 137 against 42 ms)."""
    return dialect() != "postgresql"


def _cover_selects(period: Period, monthly, columns, keys, where=lambda table, select: select,
                   yearly=None) -> list:
    """One SELECT per range of `_cover(period)`, from `monthly` (a table
    keyed by month), `yearly` (keyed by year, if given) or the daily rows:
    `columns(table)` the summed columns (None for a zero), `keys(table)` the
    labelled grouping, `where(table, select)` any further condition; each
    value negated for a range taken away. Grouped by the keys where `_grouped_arms`, else its rows,
    which the caller sums; a range of one month or one year is not grouped
    by the instrument alone, which keys one row of it (SQLite sorted the
    20,000 rows to group them again)."""
    selects = []
    for part_sign, grain, first, last in _cover(period, years=yearly is not None):
        negated = part_sign < 0
        table = {"year": yearly, "month": monthly, "day": ROLLED}[grain]
        when = table.c[grain]  # each table's date column is named for its grain
        grouping = keys(table)
        one_month = (first.year, first.month) == (last.year, last.month)  # whole months merge across years
        one_row_each = ((grain == "year" or (grain == "month" and one_month))
                        and len(grouping) == 1 and grouping[0].element is table.c.get("instrument_id"))
        grouped = _grouped_arms() and not one_row_each
        values = []
        for index, column in enumerate(columns(table)):
            if column is None:
                value = sa.literal_column("0")
            else:
                value = sa.func.sum(column) if grouped else column
                value = -value if negated else value
            values.append(value.label(f"v{index}"))
        # A year's rows by equality: in the key's order, so grouped as they stream.
        within = (when == first,) if grain == "year" else (when >= first, when <= last)
        select = where(table, sa.select(*grouping, *values).where(*within))
        selects.append(select.group_by(*(key.element for key in grouping)) if grouped else select)
    return selects


def _rolled_query(scope: Scope, ranges: dict[str, Period], used_only: tuple[str, ...] = ()) -> sa.Select:
    """The statement of `_rolled`: per instrument `k`, the sums of
    rollups.FIELDS for each range in turn."""
    parts = []
    for index, (name, period) in enumerate(ranges.items()):
        def columns(table, name=name):
            return [table.c[f] if name not in used_only or f == "used_seconds" else None for f in rollups.FIELDS]

        def keys(table):
            return [table.c.instrument_id.label("k")]

        for select in _cover_selects(period, MONTHLY, columns, keys,
                                     lambda table, select: _scoped(select, scope, table.c.instrument_id),
                                     yearly=YEARLY):
            parts.append(select.add_columns(sa.literal_column(str(index)).label("r")))
    if len(parts) == 1 and _grouped_arms():  # one range (a month, whole months): grouped once, not again
        rows = parts[0].subquery()
        return sa.select(rows.c.k, *(sa.cast(column, sa.BigInteger).label(f"{rollups.FIELDS[position]}_0")
                                     for position, column in enumerate(list(rows.c)[1:-1])))
    rows = sa.union_all(*parts).subquery()
    names = list(rows.c)[1:-1]
    columns = []
    for index in range(len(ranges)):
        for position, column in enumerate(names):
            # Whole numbers back as int (PostgreSQL's sum of a bigint is a numeric: a Decimal a value)
            columns.append(sa.cast(sa.func.sum(column if len(ranges) == 1 else sa.case((rows.c.r == index, column),
                                                                                        else_=0)), sa.BigInteger)
                           .label(f"{rollups.FIELDS[position]}_{index}"))
    return sa.select(rows.c.k, *columns).group_by(rows.c.k)


def _used_query(scope: Scope, ytd: Period) -> sa.Select:
    """Per instrument (`k`), the used seconds (`used_seconds_0`) of `ytd`, a
    year to one of its days, over whole days: ending in the second half of
    the year, its year's row less the months and days after it (20,000 rows
    and a month or so of them instead of up to 220,000 monthly rows)."""
    rows = sa.union_all(*_cover_selects(
        ytd, MONTHLY, lambda table: [table.c.used_seconds], lambda table: [table.c.instrument_id.label("k")],
        lambda table, select: _scoped(select, scope, table.c.instrument_id), yearly=YEARLY)).subquery()
    return sa.select(rows.c.k, sa.cast(sa.func.sum(rows.c.v0), sa.BigInteger).label("used_seconds_0")).group_by(
        rows.c.k)


def _rolled(scope: Scope, ranges: dict[str, Period], used_only: tuple[str, ...] = ()) -> dict[str, dict]:
    """Roll-up sums for each named range of whole days, grouped by
    instrument, in one statement:
    {name: {key: (Figures, blackout minutes)}}. The ranges named in
    `used_only` sum used hours alone (the quota table's)."""
    width = len(rollups.FIELDS)
    result: dict[str, dict] = {name: {} for name in ranges}
    for row in db.session.execute(_rolled_query(scope, ranges, used_only)):
        for index, name in enumerate(ranges):
            values = row[1 + index * width:1 + (index + 1) * width]
            if any(values):
                result[name][row[0]] = (_figures_of(*values[:-1]), int(values[-1] or 0))
    return result


def _instrument_sums(scope: Scope, periods: dict[str, Period], today: date | None, used_only: tuple[str, ...] = ()
                     ) -> dict[str, tuple[dict[int, Figures], dict[int, int]]]:
    """Booking figures and blackout minutes per instrument for each named
    period: roll-ups for its days before today (one statement for all the
    periods), the raw rows for the rest."""
    parts = {name: split(p, today) for name, p in periods.items()}
    rolled_ranges = {name: rolled for name, (rolled, _) in parts.items() if rolled is not None}
    rolled = _rolled(scope, rolled_ranges, used_only=used_only) if rolled_ranges else {}
    result = {}
    raw_reads: dict[tuple[date, date], tuple] = {}  # periods ending alike share their days from today
    for name, (_, raw) in parts.items():
        sums: dict[int, Figures] = {}
        lost: dict[int, int] = defaultdict(int)
        for instrument_id, (figures, minutes) in rolled.get(name, {}).items():
            sums[instrument_id] = figures
            lost[instrument_id] += minutes
        if raw is not None:
            if (raw.first, raw.last) not in raw_reads:
                raw_reads[(raw.first, raw.last)] = (_booking_sums(scope, raw), _blackout_minutes(scope, raw))
            raw_sums, raw_lost = raw_reads[(raw.first, raw.last)]
            for instrument_id, figures in raw_sums.items():
                sums.setdefault(instrument_id, Figures()).add(figures)
            for instrument_id, minutes in raw_lost.items():
                lost[instrument_id] += minutes
        result[name] = (sums, lost)
    return result


@dataclass
class InstrumentRow:
    id: int
    name: str
    name_en: str
    institution_id: int
    institution: str
    institution_en: str
    city: str
    category: str
    quota_class: str
    figures: Figures = field(default_factory=Figures)


def instruments_over(scope: Scope, periods: dict[str, Period], today: date | None = None, orders=None,
                     without_open: tuple[str, ...] = ()) -> dict[str, list[InstrumentRow]]:
    """Every instrument in scope, idle ones included, with its figures, for
    each of several periods (a dashboard's), with one read of the
    instruments, of the roll-ups and of the orders (`orders`: already
    fetched for a span covering every period). The periods named in
    `without_open` are for the quota table: used hours and orders only (from
    the roll-ups; the raw part of today on is whole), no open hours."""
    sums = _instrument_sums(scope, periods, today, used_only=without_open)
    if orders is None:
        orders = scope_orders(scope, min(p.start for p in periods.values()), max(p.end for p in periods.values()))
    rows = db.session.connection().execute(  # Core: 20,000 rows without the ORM's handling
        sa.select(Instrument.id, Instrument.name, Instrument.name_en, Instrument.institution_id,
                  Institution.name, Institution.name_en, Institution.city_code, Instrument.category_code,
                  Instrument.quota_class)
        .join(Institution, Instrument.institution_id == Institution.id)
        .where(*_in_scope(scope))
        .order_by(Instrument.id)
    ).all()
    result = {}
    for name, period in periods.items():
        open_minutes = {} if name in without_open else _open_minutes(scope, list(period.days()))
        booked, lost = sums[name]
        reported = _reported_orders(scope, period, orders)
        items = []
        for row in rows:
            item = InstrumentRow(*row)
            figures = booked.get(item.id) or Figures()
            figures.open_minutes = max(0, open_minutes.get(item.id, 0) - lost.get(item.id, 0))
            figures.instruments = 1
            for order in reported.get(item.id, ()):
                figures.add_order(order)
            item.figures = figures
            items.append(item)
        result[name] = items
    return result


def _labels(group_by: str) -> dict:
    if group_by == "city":
        return {c.code: (c.name, c.name_en) for c in list_cities()}
    if group_by == "category":
        return {c.code: (c.name, c.name_en) for c in db.session.scalars(sa.select(Category))}
    return {}


def utilisation(scope: Scope, period: Period, group_by: str, today: date | None = None) -> dict:
    """Rows of figures grouped by city, institution, category, instrument or
    month, and the totals. Instruments without bookings count too."""
    return utilisations(scope, period, (group_by,), today)[group_by]


def utilisations(scope: Scope, period: Period, group_bys, today: date | None = None,
                 instruments: list[InstrumentRow] | None = None, orders=None) -> dict[str, dict]:
    """`utilisation` for several groupings at once (a dashboard's), from one
    computation of the instruments' figures."""
    for group_by in group_bys:
        if group_by not in GROUPS:
            raise ValidationFailed(N_("Unknown grouping."),
                                   {"group_by": [N_("One of city, institution, category, instrument, month.")]})
    result = {}
    for group_by in group_bys:
        if group_by == "month":
            result[group_by] = by_month(scope, period, today, orders)
            continue
        if instruments is None and group_by in SQL_GROUPS and split(period, today)[1] is None:
            result[group_by] = _grouped_in_sql(scope, period, group_by, orders)
            continue
        if instruments is None:
            instruments = instruments_over(scope, {"period": period}, today, orders)["period"]
        result[group_by] = _grouped(instruments, group_by)
    return result


SQL_GROUPS = {"city": Institution.city_code, "category": Instrument.category_code,
              "institution": Instrument.institution_id, "instrument": Instrument.id}


def _grouped_in_sql(scope: Scope, period: Period, group_by: str, orders=None) -> dict:
    """`_grouped` for a period of whole days before today, summed by the
    database: each instrument's roll-ups and open minutes joined to it and
    summed per group, so that no row per instrument comes back (20,000 in
    the corridor); the same integers as the rows per instrument, so the
    same figures. Orders (few) are added per group here."""
    key = SQL_GROUPS[group_by]
    opening = sa.func.coalesce(_open_minutes_over(list(period.days())), 0)
    if group_by in ("city", "institution"):
        query = _grouped_by_institution(scope, period, group_by, opening)
    else:
        sums = _rolled_query(scope, {"period": period}).subquery()
        open_minutes = greatest(opening - sa.func.coalesce(sums.c.lost_minutes_0, 0), 0)
        values = [open_minutes, *(sa.func.coalesce(sums.c[f"{name}_0"], 0) for name in rollups.BOOKING_FIELDS)]
        if group_by == "instrument":  # a row each: nothing to sum
            columns = [key, Instrument.name, Instrument.name_en, sa.literal_column("1"), *values]
        else:  # by category, labelled from the categories' table (_table)
            columns = [key, sa.null(), sa.null(), sa.func.count(Instrument.id),
                       *(sa.cast(sa.func.sum(value), sa.BigInteger) for value in values)]
        query = (
            sa.select(*columns)
            .select_from(Instrument)
            .outerjoin(sums, sums.c.k == Instrument.id)
            .outerjoin(OPEN_MINUTES, OPEN_MINUTES.c.instrument_id == Instrument.id)
            .where(*_in_scope(scope)))
        if group_by != "instrument":
            query = query.group_by(key)
    groups = {}
    # Through Core: the ORM's result handling of 20,000 rows (by instrument) cost a tenth of the call.
    # Every value is a whole number, none NULL (coalesced, or a sum of them).
    for group, name, name_en, count, open_minutes, booked, used, staff, bookings, no_shows, revenue, vouchers in (
            db.session.connection().execute(query).all()):  # fetched at once: faster than row by row
        groups[group] = (Figures(open_minutes=open_minutes, booked_seconds=booked, used_seconds=used,
                                 external_seconds=used - staff, bookings=bookings, no_shows=no_shows,
                                 revenue_cents=revenue, voucher_cents=vouchers, instruments=count), (name, name_en))
    if orders is None:
        orders = scope_orders(scope, period.start, period.end)
    reported = [order for by_instrument in _reported_orders(scope, period, orders).values() for order in by_instrument]
    if reported:
        owners = dict(db.session.execute(
            sa.select(Instrument.id, key).join(Institution, Instrument.institution_id == Institution.id)
            .where(Instrument.id.in_({order.instrument_id for order in reported}))).all())
        for order in reported:
            groups[owners[order.instrument_id]][0].add_order(order)
    return _table(group_by, groups)


def _grouped_by_institution(scope: Scope, period: Period, group_by: str, opening) -> sa.Select:
    """`_grouped_in_sql`'s statement by city or institution: the booking
    figures from the institutions' monthly rows (`_rolled_by`: a year of the
    corridor is some 60,000 rows instead of 240,000 instruments' months);
    the open minutes per instrument less its own blackout minutes (from the
    instruments' months that have any, a partial index, and the daily rows
    at the edges), at least zero, summed per institution: an instrument's
    blackouts must not take its neighbours' open hours (found by review)."""
    sums = _rolled_by(scope, period, "institution").subquery()
    lost_parts = _cover_selects(
        period, MONTHLY, lambda table: [table.c.lost_minutes], lambda table: [table.c.instrument_id.label("k")],
        lambda table, select: _scoped(select.where(table.c.lost_minutes != 0), scope, table.c.instrument_id))
    lost_rows = sa.union_all(*lost_parts).subquery()
    lost = sa.select(lost_rows.c.k, sa.func.sum(lost_rows.c.v0).label("minutes")).group_by(lost_rows.c.k).subquery()
    per_institution = (
        sa.select(Instrument.institution_id.label("id"), sa.func.count(Instrument.id).label("n"),
                  sa.func.sum(greatest(opening - sa.func.coalesce(lost.c.minutes, 0), 0)).label("minutes"))
        .select_from(Instrument)
        .outerjoin(OPEN_MINUTES, OPEN_MINUTES.c.instrument_id == Instrument.id)
        .outerjoin(lost, lost.c.k == Instrument.id)
        .where(*_in_scope(scope)).group_by(Instrument.institution_id).subquery())
    key = Institution.city_code if group_by == "city" else Institution.id
    values = [per_institution.c.minutes, *(sa.func.coalesce(sums.c[name], 0) for name in rollups.BOOKING_FIELDS)]
    return (sa.select(key, sa.func.min(Institution.name), sa.func.min(Institution.name_en),
                      sa.cast(sa.func.sum(per_institution.c.n), sa.BigInteger),
                      *(sa.cast(sa.func.sum(value), sa.BigInteger) for value in values))
            .select_from(per_institution).join(Institution, Institution.id == per_institution.c.id)
            .outerjoin(sums, sums.c.k == per_institution.c.id).group_by(key))


def _table(group_by: str, groups: dict) -> dict:
    """The rows and totals of a grouping from {key: (Figures, (name, name_en))}:
    an institution and an instrument by their own names, a city and a
    category by the reference tables'; cities in corridor order,
    institutions and instruments by id, categories by code."""
    labels = _labels(group_by)
    # Every city and category a group can have is in `labels` (foreign keys).
    order = {"city": list(labels).index}  # the others by their keys themselves: ids, codes
    rows = []
    for group in sorted(groups, key=order.get(group_by)):
        figures, names = groups[group]
        label = names if group_by in ("institution", "instrument") else labels[group]
        rows.append(figures.as_dict(key=str(group), label=label[0], label_en=label[1]))
    return {"rows": rows, "totals": Figures.total([figures for figures, _ in groups.values()]).as_dict()}


def instrument_row(item: InstrumentRow) -> dict:
    """An instrument's row of the by-instrument table."""
    return item.figures.as_dict(key=str(item.id), label=item.name, label_en=item.name_en)


def use_key(booked_seconds: int, open_minutes: int) -> tuple[float, int]:
    """How used an instrument is, for ranking: its utilisation exactly (the
    quotient of the two integers, as the database's float division gives
    it too), then its booked time."""
    return (booked_seconds / (open_minutes * 60) if open_minutes else 0.0), booked_seconds


def by_use(instruments: list[InstrumentRow]) -> list[InstrumentRow]:
    """The instruments from the least used to the most (`use_key`), ties by
    id (the instruments come in id order)."""
    return sorted(instruments, key=lambda item: use_key(item.figures.booked_seconds, item.figures.open_minutes))


def _grouped(instruments: list[InstrumentRow], group_by: str) -> dict:
    if group_by == "instrument":  # each its own group: no sum to make
        return _table(group_by, {item.id: (item.figures, (item.name, item.name_en)) for item in instruments})
    key_of = {"institution": attrgetter("institution_id"), "city": attrgetter("city"),
              "category": attrgetter("category")}[group_by]
    members: dict = {}
    for item in instruments:
        found = members.get(key_of(item))
        if found is None:
            found = members[key_of(item)] = (item, [])
        found[1].append(item.figures)
    return _table(group_by, {key: (Figures.total(figures), (first.institution, first.institution_en))
                             for key, (first, figures) in members.items()})


def _months(period: Period) -> list[tuple[str, list[date]]]:
    months: dict[str, list[date]] = {}
    for day in period.days():
        months.setdefault(day.strftime("%Y-%m"), []).append(day)
    return list(months.items())


def _open_minutes_by_month(scope: Scope, months: list[tuple[str, list[date]]]) -> dict[str, int]:
    """Opening minutes of every instrument in scope per month: one statement
    (the minutes of each weekday, for instruments open on holidays or not)."""
    query = _scoped(
        sa.select(Instrument.open_on_holidays, *(sa.func.sum(OPEN_MINUTES.c[name]) for name in WEEKDAYS))
        .join(Instrument, OPEN_MINUTES.c.instrument_id == Instrument.id)
        .group_by(Instrument.open_on_holidays),
        scope, OPEN_MINUTES.c.instrument_id)
    minutes = {(weekday, bool(on_holidays)): int(total or 0)
               for on_holidays, *totals in db.session.execute(query) for weekday, total in enumerate(totals)}
    result = {}
    for month, days in months:
        total = 0
        for on_holidays in (False, True):
            for weekday, count in _weekday_counts(days, on_holidays).items():
                total += count * minutes.get((weekday, on_holidays), 0)
        result[month] = total
    return result


def _rolled_by(scope: Scope, period: Period, by: str) -> sa.Select:
    """Per month or per institution (`by`; the key `k`), the sums of
    rollups.FIELDS over whole days: the booking figures from the
    institutions' monthly rows (a corridor's month is some 5,000 of them,
    not 20,000 instruments'), the blackout minutes from the instruments'
    months that have any (a partial index), the daily rows for the rest
    (`_cover`); one statement."""
    owners = BY_INSTITUTION.c.institution_id
    owned = sa.and_(sa.true(), *_owned_in_scope(scope, owners))
    grouped, selects = _grouped_arms(), []
    for sign, grain, first, last in _cover(period):
        if grain == "month":
            parts = [(BY_INSTITUTION, BY_INSTITUTION.c.month, rollups.BOOKING_FIELDS, owned),
                     (MONTHLY, MONTHLY.c.month, ("lost_minutes",),
                      MONTHLY.c.lost_minutes != 0)]  # in these words: SQLite then uses the partial index
        else:
            parts = [(ROLLED, ROLLED.c.day, rollups.FIELDS, sa.true())]
        for table, when, names, condition in parts:
            sums = []
            for name in rollups.FIELDS:
                value = (sa.func.sum(table.c[name]) if grouped else table.c[name]) if name in names else None
                sums.append(sa.literal_column("0") if value is None else value if sign > 0 else -value)
            if by == "month":
                key = _month_key(table, when)
            else:
                key = owners if table is BY_INSTITUTION else Instrument.institution_id
            select = sa.select(key.label("k"), *(value.label(f"v{i}") for i, value in enumerate(sums))).where(
                when >= first, when <= last, condition)
            if table is not BY_INSTITUTION:
                select = _scoped(select, scope, table.c.instrument_id)
                if by != "month":
                    select = select.join(Instrument, table.c.instrument_id == Instrument.id)
            selects.append(select.group_by(key) if grouped else select)
    rows = sa.union_all(*selects).subquery()
    return (sa.select(rows.c.k, *(sa.cast(sa.func.sum(column), sa.BigInteger).label(name)
                                  for column, name in zip(list(rows.c)[1:], rollups.FIELDS, strict=True)))
            .group_by(rows.c.k))


def by_month(scope: Scope, period: Period, today: date | None = None, orders=None) -> dict:
    """One row per calendar month: a booking counts in the month it starts
    (bookings, no-shows, revenue), its hours in the months they fall in; an
    order in the month of its report."""
    months = _months(period)
    rolled, raw = split(period, today)
    sums: dict[str, Figures] = defaultdict(Figures)
    lost: dict[str, int] = defaultdict(int)
    if rolled is not None:
        for month, *values in db.session.execute(_rolled_by(scope, rolled, "month")):
            sums[str(month)[:7]].add(_figures_of(*values[:-1]))  # a month as 'YYYY-MM'
            lost[str(month)[:7]] += int(values[-1] or 0)
    if raw is not None:
        for month, days in _months(raw):
            part = Period(days[0], days[-1])
            for figures in _booking_sums(scope, part).values():
                sums[month].add(figures)
            lost[month] += sum(_blackout_minutes(scope, part).values())
    for instrument_orders in _reported_orders(scope, period, orders).values():
        for order in instrument_orders:
            sums[order.reported_on.strftime("%Y-%m")].add_order(order)
    open_minutes = _open_minutes_by_month(scope, months)
    rows, totals = [], Figures()
    for month, _days in months:
        figures = sums.get(month, Figures())
        figures.open_minutes = max(0, open_minutes[month] - lost[month])
        totals.add(figures)
        rows.append(figures.as_dict(key=month, label=month, label_en=month))
    return {"rows": rows, "totals": totals.as_dict()}


def _flow_filter(scope: Scope, firm_city, instrument_institution, instrument_city) -> list:
    if scope.institution_id is not None:
        # An institution and a city (an admin may ask for both): its
        # instruments in that city, none if it is of another, as every figure.
        return [instrument_institution == scope.institution_id,
                *([instrument_city == scope.city] if scope.city is not None else [])]
    if scope.city is not None:
        return [sa.or_(firm_city == scope.city, instrument_city == scope.city)]
    return []


def flows(scope: Scope, period: Period, today: date | None = None, orders=None) -> dict:
    """Hours, bookings and revenue from firms of each city (rows) to
    instruments of each city (columns): the 9 × 9 matrix, with the orders
    reported in the period and their revenue. A city bureau sees the flows
    its city takes part in, as consumer or as provider."""
    codes = [c.code for c in list_cities()]
    cells: dict = defaultdict(lambda: {"hours": Decimal(0), "bookings": 0, "revenue": Decimal("0.00"),
                                       "orders": 0, "order_revenue": Decimal("0.00")})
    seconds: dict = defaultdict(Decimal)
    bookings: dict = defaultdict(int)
    cents: dict = defaultdict(int)
    rolled, raw = split(period, today)
    if rolled is not None:
        for from_city, to_city, booked, count, revenue in db.session.execute(_rolled_flows(scope, rolled)):
            seconds[(from_city, to_city)] += Decimal(int(booked or 0))
            bookings[(from_city, to_city)] += int(count or 0)
            cents[(from_city, to_city)] += int(revenue or 0)
    if raw is not None:
        for cell, (booked, count, revenue) in _raw_flows(scope, raw).items():
            seconds[cell] += booked
            bookings[cell] += count
            cents[cell] += revenue
    for cell in set(seconds) | set(bookings) | set(cents):
        cells[cell].update({"hours": (seconds[cell] / 3600).quantize(CENT), "bookings": bookings[cell],
                            "revenue": (Decimal(cents[cell]) / 100).quantize(CENT)})
    if orders is None:
        orders = order_stats.reported_orders(
            period.start, period.end, *_flow_filter(scope, Firm.city_code, Instrument.institution_id,
                                                    Institution.city_code))
    else:
        orders = [order for order in orders if period.start <= order.reported_at < period.end]
    for order in orders:
        cell = cells[(order.firm_city, order.instrument_city)]
        cell["orders"] += 1
        cell["order_revenue"] = (cell["order_revenue"] + (order.amount or 0)).quantize(CENT)
    return {"cities": codes,
            "rows": [{"from": a, "to": b, **cells[(a, b)]} for a in codes for b in codes]}


def _rolled_flows(scope: Scope, period: Period):
    """Booked seconds, bookings and revenue in cents per (firm city,
    instrument city) over whole days: the institutions' monthly rows for
    whole months, the daily rows for the rest (`_cover`), in one statement."""
    def columns(table):
        return [table.c.booked_seconds, table.c.bookings, table.c.revenue_cents]

    def keys(table):
        owner = BY_INSTITUTION.c.institution_id if table is BY_INSTITUTION else Instrument.institution_id
        return [table.c.firm_city.label("firm_city"), owner.label("institution_id")]

    def where(table, select):
        if table is not BY_INSTITUTION:
            select = select.join(Instrument, ROLLED.c.instrument_id == Instrument.id)
        return select.where(table.c.firm_city != "")  # bookers with a firm

    parts = _cover_selects(period, BY_INSTITUTION, columns, keys, where)
    rows = sa.union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    _, _, booked, count, revenue = rows.c
    return (
        sa.select(rows.c.firm_city, Institution.city_code, sa.func.sum(booked), sa.func.sum(count),
                  sa.func.sum(revenue))
        .select_from(rows).join(Institution, rows.c.institution_id == Institution.id)
        .where(*_flow_filter(scope, rows.c.firm_city, rows.c.institution_id, Institution.city_code))
        .group_by(rows.c.firm_city, Institution.city_code))


def _raw_flows(scope: Scope, period: Period) -> dict:
    """(seconds, bookings, revenue in cents) per (firm city, instrument city) from the raw bookings."""
    p0, p1 = period.start.timestamp(), period.end.timestamp()
    # Only bookings that overlap the period are read (below): their clipped time is more than nothing,
    # and one that starts at or after the period's start starts inside it.
    clipped = least(epoch_seconds(Booking.end), p1) - greatest(epoch_seconds(Booking.start), p0)
    active = Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.COMPLETED))
    starts_inside = Booking.start >= period.start
    query = (
        sa.select(Firm.city_code, Institution.city_code,
                  sa.func.sum(sa.case((active, clipped), else_=0)),
                  sa.func.count(sa.case((sa.and_(active, starts_inside), 1))),
                  sa.func.sum(sa.case((sa.and_(Booking.status == BookingStatus.COMPLETED, starts_inside),
                                       sa.type_coerce(Booking.cost, sa.BigInteger)), else_=0)))
        .select_from(Booking)
        .join(Firm, Booking.firm_id == Firm.id)
        .join(Instrument, Booking.instrument_id == Instrument.id)
        .join(Institution, Instrument.institution_id == Institution.id)
        .where(Booking.start >= period.start - MAX_OCCUPIED_SPAN, Booking.start < period.end,
               Booking.end > period.start,
               *_flow_filter(scope, Firm.city_code, Instrument.institution_id, Institution.city_code))
        .group_by(Firm.city_code, Institution.city_code)
    )
    # A group has rows, and each sum's CASE has an ELSE: no sum is NULL.
    return {(a, b): (Decimal(round(seconds)), int(count), int(revenue))
            for a, b, seconds, count, revenue in db.session.execute(query)}


def year_to_date(period: Period) -> Period:
    return Period(date(period.last.year, 1, 1), period.last)


def quota_days(period: Period) -> tuple[int, int]:
    """The days of the period's year up to its last day, and the year's days:
    an instrument is below quota when its used time since 1 January falls
    short of its yearly quota times their ratio."""
    year_start = date(period.last.year, 1, 1)
    return (period.last - year_start).days + 1, (date(period.last.year + 1, 1, 1) - year_start).days


def quota_row(item_id: int, name: str, name_en: str, institution: str, quota_class: str, used_seconds: int,
              elapsed_days: int, year_days: int) -> dict:
    """A row of the quota table."""
    used = Decimal(used_seconds) / 3600
    expected = Decimal(QUOTA_HOURS[quota_class]) * Decimal(elapsed_days) / Decimal(year_days)
    return {"id": item_id, "name": name, "name_en": name_en, "institution": institution, "quota_class": quota_class,
            "used_hours": used.quantize(Decimal("0.01")), "expected_hours": expected.quantize(Decimal("0.01")),
            "attainment": (used / expected).quantize(Decimal("0.0001")) if expected else Decimal(0)}


def below_quota(scope: Scope, period: Period, today: date | None = None,
                instruments: list[InstrumentRow] | None = None) -> list[dict]:
    """Instruments whose used hours since 1 January fall short of their quota
    scaled to the part of the year up to the period's end (`instruments`:
    their figures over that part of the year, when already computed), the
    least attained first (exactly, as integers compare; ties by id)."""
    elapsed_days, year_days = quota_days(period)
    if instruments is None:
        instruments = instruments_over(scope, {"ytd": year_to_date(period)}, today, without_open=("ytd",))["ytd"]

    def quota_seconds(item) -> int:  # the quota's seconds times the year's days
        return QUOTA_HOURS[item.quota_class] * 3600 * elapsed_days

    below = [item for item in instruments if item.figures.used_seconds * year_days < quota_seconds(item)]
    below.sort(key=lambda item: item.figures.used_seconds * year_days / quota_seconds(item))
    return [quota_row(item.id, item.name, item.name_en, item.institution, item.quota_class,
                      item.figures.used_seconds, elapsed_days, year_days) for item in below]
