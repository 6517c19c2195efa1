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

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..accounts.models import Firm, Institution, User
from ..accounts.policy import Scope
from ..accounts.services import list_cities
from ..booking.calendar import effective_weekday, opening_windows
from ..booking.conflicts import MAX_OCCUPIED_SPAN
from ..booking.models import Blackout, Booking, BookingStatus
from ..catalogue.models import Category, Instrument, OpeningHours, QuotaClass
from ..errors import N_, ValidationFailed
from ..extensions import db
from ..orders.models import Order
from ..sql import epoch_seconds, greatest, least, local_month
from ..timeutil import platform_zone
from . import orders as order_stats

GROUPS = ("city", "institution", "category", "instrument", "month")
QUOTA_HOURS = {QuotaClass.GENERAL: 1400, QuotaClass.SPECIAL: 800}
MAX_PERIOD = timedelta(days=731)


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


def make_period(first: date | None, last: date | None) -> Period:
    errors = {}
    if first is None:
        errors["from"] = [N_("Give the first day of the period.")]
    if last is None:
        errors["to"] = [N_("Give the last day of the period.")]
    if not errors and last < first:
        errors["to"] = [N_("The end must be after the start.")]
    if not errors and last - first > MAX_PERIOD:
        errors["to"] = [N_("At most two years at a time.")]
    if errors:
        raise ValidationFailed(N_("The period is not valid."), errors)
    return Period(first, last)


CENT, RATIO_PLACES = Decimal("0.01"), Decimal("0.0001")


def _ratio(a: Decimal, b: Decimal) -> Decimal:
    return (a / b).quantize(RATIO_PLACES) if b else Decimal(0)


@dataclass
class Figures:
    open_hours: Decimal = Decimal(0)
    booked_hours: Decimal = Decimal(0)
    used_hours: Decimal = Decimal(0)
    external_hours: Decimal = Decimal(0)
    bookings: int = 0
    no_shows: int = 0
    revenue: Decimal = Decimal("0.00")
    voucher_revenue: Decimal = Decimal("0.00")
    instruments: int = 0
    orders: int = 0
    order_revenue: Decimal = Decimal("0.00")
    order_voucher_revenue: Decimal = Decimal("0.00")
    order_hours: Decimal = Decimal(0)
    turnarounds: list[int] = field(default_factory=list)  # working days, one per timed order

    def add(self, other: Figures) -> None:
        # Spelt out: this runs once per instrument for every grouped figure.
        self.open_hours += other.open_hours
        self.booked_hours += other.booked_hours
        self.used_hours += other.used_hours
        self.external_hours += other.external_hours
        self.bookings += other.bookings
        self.no_shows += other.no_shows
        self.revenue += other.revenue
        self.voucher_revenue += other.voucher_revenue
        self.instruments += other.instruments
        self.orders += other.orders
        self.order_revenue += other.order_revenue
        self.order_voucher_revenue += other.order_voucher_revenue
        self.order_hours += other.order_hours
        self.turnarounds.extend(other.turnarounds)

    def add_order(self, order: order_stats.ReportedOrder) -> None:
        """A delivered order; its machine time is external service time."""
        hours = Decimal(order.machine_minutes or 0) / 60
        self.orders += 1
        self.order_revenue += order.amount or 0
        self.order_voucher_revenue += order.voucher_amount or 0
        self.order_hours += hours
        self.used_hours += hours
        self.external_hours += hours
        if order.turnaround_days is not None:
            self.turnarounds.append(order.turnaround_days)

    def as_dict(self) -> dict:
        return {
            "open_hours": self.open_hours.quantize(CENT), "booked_hours": self.booked_hours.quantize(CENT),
            "used_hours": self.used_hours.quantize(CENT), "external_hours": self.external_hours.quantize(CENT),
            "utilisation": _ratio(self.booked_hours, self.open_hours),
            "sharing_rate": _ratio(self.external_hours, self.used_hours),
            "bookings": self.bookings, "no_shows": self.no_shows,
            "no_show_rate": _ratio(Decimal(self.no_shows), Decimal(self.bookings + self.no_shows)),
            "revenue": self.revenue.quantize(CENT),
            "voucher_revenue": self.voucher_revenue.quantize(CENT),
            "voucher_share": _ratio(self.voucher_revenue, self.revenue),
            "instruments": self.instruments,
            "orders": self.orders, "order_revenue": self.order_revenue.quantize(CENT),
            "order_voucher_revenue": self.order_voucher_revenue.quantize(CENT),
            "order_hours": self.order_hours.quantize(CENT),
            "median_turnaround_days": order_stats.median(self.turnarounds),
        }


def _instruments_in_scope(scope: Scope):
    query = sa.select(Instrument.id).join(Institution, Instrument.institution_id == Institution.id)
    if scope.institution_id is not None:
        query = query.where(Instrument.institution_id == scope.institution_id)
    if scope.city is not None:
        query = query.where(Institution.city_code == scope.city)
    return query


def _weekday_counts(days, open_on_holidays: bool) -> Counter:
    return Counter(w for w in (effective_weekday(d, open_on_holidays) for d in days) if w is not None)


def _open_minutes(scope: Scope, days: list[date]) -> dict[int, int]:
    """Opening minutes per instrument over the days (one grouped query)."""
    regular, holidays_open = _weekday_counts(days, False), _weekday_counts(days, True)

    def per_weekday(counts: Counter):
        return sa.case(*((OpeningHours.weekday == w, counts.get(w, 0)) for w in range(7)), else_=0)

    days_of_weekday = sa.case((Instrument.open_on_holidays.is_(True), per_weekday(holidays_open)),
                              else_=per_weekday(regular))
    rows = db.session.execute(
        sa.select(OpeningHours.instrument_id,
                  sa.func.sum((OpeningHours.close_minute - OpeningHours.open_minute) * days_of_weekday))
        .join(Instrument, OpeningHours.instrument_id == Instrument.id)
        .where(OpeningHours.instrument_id.in_(_instruments_in_scope(scope)))
        .group_by(OpeningHours.instrument_id)
    )
    return {instrument_id: int(minutes or 0) for instrument_id, minutes in rows}


def _blackout_minutes(scope: Scope, period: Period) -> dict[int, int]:
    """Minutes of opening hours that blackouts take away (a loop over blackouts, which are few)."""
    rows = db.session.scalars(
        sa.select(Blackout).where(Blackout.instrument_id.in_(_instruments_in_scope(scope)),
                                  Blackout.start < period.end, Blackout.end > period.start)
        .options(selectinload(Blackout.instrument).selectinload(Instrument.opening_hours))
    ).all()
    lost: dict[int, int] = defaultdict(int)
    for blackout in rows:
        start, end = max(blackout.start, period.start), min(blackout.end, period.end)
        for opens, closes in opening_windows(blackout.instrument, start, end):
            overlap = min(closes, end) - max(opens, start)
            lost[blackout.instrument_id] += max(0, int(overlap.total_seconds() // 60))
    return lost


def _booking_sums(scope: Scope, period: Period, group=None):
    """Booked, used and external seconds, bookings, no-shows, revenue, grouped
    by instrument (or by the given expression), in one query."""
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
    key = group if group is not None else Booking.instrument_id
    query = (
        sa.select(
            key.label("key"),
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
        .where(Booking.instrument_id.in_(_instruments_in_scope(scope)),
               Booking.start >= period.start - MAX_OCCUPIED_SPAN, Booking.start < period.end,
               Booking.end > period.start)
        .group_by(key)
    )
    result = {}
    for key_value, booked_s, used_s, staff_s, bookings, no_shows, revenue, vouchers in db.session.execute(query):
        used_hours = Decimal(str(used_s or 0)) / 3600
        result[key_value] = Figures(
            booked_hours=Decimal(str(booked_s or 0)) / 3600, used_hours=used_hours,
            external_hours=used_hours - Decimal(str(staff_s or 0)) / 3600, bookings=bookings,
            no_shows=no_shows, revenue=(Decimal(int(revenue or 0)) / 100),
            voucher_revenue=(Decimal(int(vouchers or 0)) / 100),
        )
    return result


def _reported_orders(scope: Scope, period: Period) -> dict[int, list[order_stats.ReportedOrder]]:
    """The orders reported in the period on instruments in scope, by instrument."""
    found: dict[int, list[order_stats.ReportedOrder]] = defaultdict(list)
    for order in order_stats.reported_orders(period.start, period.end,
                                             Order.instrument_id.in_(_instruments_in_scope(scope))):
        found[order.instrument_id].append(order)
    return found


@dataclass
class InstrumentRow:
    id: int
    name: str
    name_en: str
    institution_id: int
    institution: str
    city: str
    category: str
    quota_class: str
    figures: Figures = field(default_factory=Figures)


def instrument_figures(scope: Scope, period: Period) -> list[InstrumentRow]:
    """Every instrument in scope, idle ones included, with its figures."""
    days = list(period.days())
    open_minutes = _open_minutes(scope, days)
    lost = _blackout_minutes(scope, period)
    sums = _booking_sums(scope, period)
    orders = _reported_orders(scope, period)
    rows = db.session.execute(
        sa.select(Instrument.id, Instrument.name, Instrument.name_en, Instrument.institution_id,
                  Institution.name, Institution.city_code, Instrument.category_code, Instrument.quota_class)
        .join(Institution, Instrument.institution_id == Institution.id)
        .where(Instrument.id.in_(_instruments_in_scope(scope)))
        .order_by(Instrument.id)
    ).all()
    result = []
    for row in rows:
        item = InstrumentRow(*row)
        figures = sums.get(item.id, Figures())
        figures.open_hours = Decimal(max(0, open_minutes.get(item.id, 0) - lost.get(item.id, 0))) / 60
        figures.instruments = 1
        for order in orders.get(item.id, ()):
            figures.add_order(order)
        item.figures = figures
        result.append(item)
    return result


def _labels(group_by: str) -> dict:
    if group_by == "city":
        return {c.code: (c.name, c.name_en) for c in list_cities()}
    if group_by == "category":
        return {c.code: (c.name, c.name_en) for c in db.session.scalars(sa.select(Category))}
    return {}


def utilisation(scope: Scope, period: Period, group_by: str) -> dict:
    """Rows of figures grouped by city, institution, category, instrument or
    month, and the totals. Instruments without bookings count too."""
    return utilisations(scope, period, (group_by,))[group_by]


def utilisations(scope: Scope, period: Period, group_bys) -> dict[str, dict]:
    """`utilisation` for several groupings at once (a dashboard's), from one
    computation of the instruments' figures."""
    for group_by in group_bys:
        if group_by not in GROUPS:
            raise ValidationFailed(N_("Unknown grouping."),
                                   {"group_by": [N_("One of city, institution, category, instrument, month.")]})
    instruments = None
    result = {}
    for group_by in group_bys:
        if group_by == "month":
            result[group_by] = _by_month(scope, period)
            continue
        if instruments is None:
            instruments = instrument_figures(scope, period)
        result[group_by] = _grouped(instruments, group_by)
    return result


def _grouped(instruments: list[InstrumentRow], group_by: str) -> dict:
    labels = _labels(group_by)
    groups: dict = {}
    for item in instruments:
        if group_by == "instrument":
            key, label = item.id, (item.name, item.name_en)
        elif group_by == "institution":
            key, label = item.institution_id, (item.institution, item.institution)
        elif group_by == "city":
            key, label = item.city, labels.get(item.city, (item.city, item.city))
        else:
            key, label = item.category, labels.get(item.category, (item.category, item.category))
        entry = groups.get(key)
        if entry is None:
            entry = groups[key] = {"key": key, "label": label[0], "label_en": label[1], "figures": Figures()}
        entry["figures"].add(item.figures)
    totals = Figures()
    rows = []
    for entry in groups.values():
        totals.add(entry["figures"])
        rows.append({"key": str(entry["key"]), "label": entry["label"], "label_en": entry["label_en"],
                     **entry["figures"].as_dict()})
    order = {"city": lambda r: list(labels).index(r["key"]) if r["key"] in labels else 99}
    rows.sort(key=order.get(group_by, lambda r: r["key"] if group_by != "instrument" else int(r["key"])))
    return {"rows": rows, "totals": totals.as_dict()}


def _months(period: Period) -> list[tuple[str, list[date]]]:
    months: dict[str, list[date]] = {}
    for day in period.days():
        months.setdefault(day.strftime("%Y-%m"), []).append(day)
    return list(months.items())


def _by_month(scope: Scope, period: Period) -> dict:
    """One row per calendar month; a booking counts in the month it starts,
    an order in the month of its report."""
    offset = int(period.start.utcoffset().total_seconds() // 3600)
    sums = _booking_sums(scope, period, group=local_month(Booking.start, offset))
    for orders in _reported_orders(scope, period).values():
        for order in orders:
            sums.setdefault(order.reported_on.strftime("%Y-%m"), Figures()).add_order(order)
    rows, totals = [], Figures()
    for month, days in _months(period):
        open_minutes = sum(_open_minutes(scope, days).values())
        month_period = Period(days[0], days[-1])
        lost = sum(_blackout_minutes(scope, month_period).values())
        figures = sums.get(month, Figures())
        figures.open_hours = Decimal(max(0, open_minutes - lost)) / 60
        totals.add(figures)
        rows.append({"key": month, "label": month, "label_en": month, **figures.as_dict()})
    return {"rows": rows, "totals": totals.as_dict()}


def flows(scope: Scope, period: Period) -> dict:
    """Hours, bookings and revenue from firms of each city (rows) to
    instruments of each city (columns): the 9 × 9 matrix, with the orders
    reported in the period and their revenue. A city bureau sees the flows
    its city takes part in, as consumer or as provider."""
    p0, p1 = period.start.timestamp(), period.end.timestamp()
    clipped = greatest(least(epoch_seconds(Booking.end), p1) - greatest(epoch_seconds(Booking.start), p0), 0)
    active = Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.COMPLETED))
    starts_inside = sa.and_(Booking.start >= period.start, Booking.start < period.end)
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
               Booking.end > period.start)
        .group_by(Firm.city_code, Institution.city_code)
    )
    in_scope = []
    if scope.institution_id is not None:
        in_scope.append(Instrument.institution_id == scope.institution_id)
    elif scope.city is not None:
        in_scope.append(sa.or_(Firm.city_code == scope.city, Institution.city_code == scope.city))
    query = query.where(*in_scope)
    codes = [c.code for c in list_cities()]
    cells: dict = defaultdict(lambda: {"hours": Decimal(0), "bookings": 0, "revenue": Decimal("0.00"),
                                       "orders": 0, "order_revenue": Decimal("0.00")})
    for from_city, to_city, seconds, bookings, revenue in db.session.execute(query):
        cells[(from_city, to_city)].update({
            "hours": (Decimal(str(seconds or 0)) / 3600).quantize(Decimal("0.01")),
            "bookings": bookings, "revenue": (Decimal(int(revenue or 0)) / 100).quantize(Decimal("0.01")),
        })
    for order in order_stats.reported_orders(period.start, period.end, *in_scope):
        cell = cells[(order.firm_city, order.instrument_city)]
        cell["orders"] += 1
        cell["order_revenue"] = (cell["order_revenue"] + (order.amount or 0)).quantize(CENT)
    return {"cities": codes,
            "rows": [{"from": a, "to": b, **cells[(a, b)]} for a in codes for b in codes]}


def below_quota(scope: Scope, period: Period) -> list[dict]:
    """Instruments whose used hours since 1 January fall short of their quota
    scaled to the part of the year up to the period's end."""
    year_start = date(period.last.year, 1, 1)
    ytd = Period(year_start, period.last)
    elapsed = Decimal((period.last - year_start).days + 1) / Decimal(
        (date(period.last.year + 1, 1, 1) - year_start).days)
    result = []
    for item in instrument_figures(scope, ytd):
        expected = Decimal(QUOTA_HOURS[item.quota_class]) * elapsed
        used = item.figures.used_hours
        if used < expected:
            result.append({"id": item.id, "name": item.name, "name_en": item.name_en,
                           "institution": item.institution, "quota_class": item.quota_class,
                           "used_hours": used.quantize(Decimal("0.01")),
                           "expected_hours": expected.quantize(Decimal("0.01")),
                           "attainment": (used / expected).quantize(Decimal("0.0001")) if expected else Decimal(0)})
    result.sort(key=lambda r: r["attainment"])
    return result
