"""Entrusted-testing orders in the statistics (issue #18; README,
"Statistics (definitions)").

- An order counts when its service was delivered: reported or closed. It
  is dated by the moment its report was uploaded (its `reported` event),
  read in the platform zone, so an order counts once, in the period and
  the month of its report.
- Its revenue is the quoted fee; its voucher part the voucher money on it.
- Its turnaround is the working days from the day the samples arrived to
  the report day (Chinese holidays off, make-up days on, as
  `orders.services.add_working_days`). A report given on a day off counts
  as given on the next working day: an order is then on time exactly when
  its turnaround is at most the quoted one (`due_on`). Groups show the
  median.
- Its machine time, entered by the manager with the report, is external
  service time on the instrument on the report day (see services.py).

One query fetches the period's orders, one row each (orders are few
beside bookings); the working days are counted in Python, where the
holiday calendar is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ..accounts.models import Firm, Institution
from ..booking.calendar import effective_weekday
from ..catalogue.models import Instrument
from ..extensions import db
from ..orders.models import Order, OrderEvent, OrderStatus
from ..timeutil import to_platform

COUNTED = (OrderStatus.REPORTED, OrderStatus.CLOSED)
REPORTED = "reported"  # the event written when the report is uploaded
HALF = Decimal("0.1")


@dataclass
class ReportedOrder:
    instrument_id: int
    firm_city: str
    instrument_city: str
    received_on: date | None
    reported_at: datetime
    amount: Decimal
    voucher_amount: Decimal
    machine_minutes: int | None
    turnaround_days: int | None = None

    @property
    def reported_on(self) -> date:
        return to_platform(self.reported_at).date()


def _working(day: date) -> bool:
    weekday = effective_weekday(day)
    return weekday is not None and weekday < 5


def turnaround_days(received_on: date, reported_on: date) -> int:
    """Working days from receipt to report (one order; see the module's docstring)."""
    return _turnarounds([(received_on, reported_on)])[0]


def _turnarounds(pairs: list[tuple[date, date]]) -> list[int]:
    """Turnarounds of many (received, reported) pairs with one walk over the
    calendar: working days in (received, reported], plus one when the report
    day itself is a day off (it counts as the next working day)."""
    if not pairs:
        return []
    first = min(min(pair) for pair in pairs)
    last = max(max(pair) for pair in pairs)
    through: dict[date, int] = {}  # working days from `first` (excluded) to the day
    count, day = 0, first
    while day <= last:
        if day > first and _working(day):
            count += 1
        through[day] = count
        day += timedelta(days=1)
    result = []
    for received, reported in pairs:
        days = through[reported] - through[received]
        if reported > received and not _working(reported):
            days += 1
        result.append(max(days, 0))
    return result


def _reported_in(query: sa.Select, start: datetime, end: datetime) -> sa.Select:
    """`query` over Order, narrowed to the orders that count in `[start, end)`:
    delivered, dated by their report's event (the module's docstring)."""
    return (query.join(OrderEvent, sa.and_(OrderEvent.order_id == Order.id, OrderEvent.action == REPORTED))
            .where(Order.status.in_(COUNTED), OrderEvent.at >= start, OrderEvent.at < end))


def reported_orders(start: datetime, end: datetime, *conditions) -> list[ReportedOrder]:
    """Orders whose report was uploaded in `[start, end)` and that the
    `conditions` (on Order, Instrument, Institution, Firm) select, each with
    its turnaround."""
    columns = sa.select(Order.instrument_id, Firm.city_code, Institution.city_code, Order.received_on,
                        OrderEvent.at, Order.quote_amount, Order.voucher_amount, Order.machine_minutes)
    query = (
        _reported_in(columns.select_from(Order), start, end)
        .join(Firm, Order.firm_id == Firm.id)
        .join(Instrument, Order.instrument_id == Instrument.id)
        .join(Institution, Instrument.institution_id == Institution.id)
        .where(*conditions)
    )
    rows = [ReportedOrder(*row) for row in db.session.execute(query)]
    timed = [row for row in rows if row.received_on is not None]
    for row, days in zip(timed, _turnarounds([(r.received_on, r.reported_on) for r in timed]), strict=True):
        row.turnaround_days = days
    return rows


def machine_seconds(start: datetime, end: datetime) -> sa.Subquery:
    """Per instrument (`instrument_id`, `seconds`), the machine time of the
    orders `reported_orders(start, end)` finds: what they add to its used
    hours (the quota table's, summed by the database)."""
    seconds = sa.func.sum(sa.func.coalesce(Order.machine_minutes, 0) * 60).label("seconds")
    return _reported_in(sa.select(Order.instrument_id, seconds), start, end).group_by(Order.instrument_id).subquery()


def median(values: list[int]) -> Decimal | None:
    """The median, to one decimal (the mean of the middle two for an even
    count); None for no values (no order is not a turnaround of zero)."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[middle]).quantize(HALF)
    return (Decimal(ordered[middle - 1] + ordered[middle]) / 2).quantize(HALF)
