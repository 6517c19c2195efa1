"""The platform's invariants, written down once and checked in SQL.

The model-based test checks them after every step, the concurrency storm
after its run, and an operator with `flask integrity` at any time. Each is
one query that lists the rows breaking it, on both engines:

- no_overlap: no two active bookings of an instrument overlap, buffer
  included (`[start, occupied_until)`);
- booking_money: every booking's voucher part and firm part add up to its cost;
- voucher_balance: each voucher's balance equals the sum of its ledger's
  deltas and lies in [0, amount];
- holds: what the ledger still holds for a booking (held − released −
  captured) is never negative, is the booking's voucher part while the
  booking is active, and is nothing once it is not; the booking's voucher
  part is what is held plus what was captured;
- capture_once: a booking's (an order's) money is captured at most once,
  and a capture is in at most one claim;
- order_money: an order's voucher part and firm part add up to its quote;
- order_holds: what the ledger holds for an order of entrusted testing is
  never negative, is its voucher part while the order is accepted or in the
  lab, and nothing otherwise; once reported, its voucher part is what was
  captured; an order that ended without a report spent nothing;
- outbox_keys: every outbox message's idempotency key is unique.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .booking.models import ACTIVE_STATUSES, Booking
from .extensions import db
from .mail.models import OutboxMessage
from .orders.models import Order, OrderStatus
from .vouchers.models import EntryKind, Voucher, VoucherClaimLine, VoucherEntry


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


def _overlaps() -> list[Violation]:
    # Ordered by start, a booking overlaps an earlier one exactly when it
    # starts before the latest `occupied_until` of those before it.
    reach = sa.func.max(Booking.occupied_until).over(
        partition_by=Booking.instrument_id,
        order_by=(Booking.start, Booking.id),
        rows=(None, -1),
    )
    ordered = (
        sa.select(Booking.id, Booking.instrument_id, Booking.start, reach.label("reach"))
        .where(Booking.status.in_(ACTIVE_STATUSES))
        .subquery()
    )
    rows = db.session.execute(
        sa.select(ordered.c.id, ordered.c.instrument_id).where(ordered.c.start < ordered.c.reach)
    )
    return [Violation("no_overlap", f"booking {row.id} overlaps an earlier active booking of instrument "
                      f"{row.instrument_id}") for row in rows]


def _booking_money() -> list[Violation]:
    rows = db.session.execute(sa.select(Booking.id).where(Booking.voucher_amount + Booking.firm_pays != Booking.cost))
    return [Violation("booking_money", f"booking {row.id}: voucher part + firm part != cost") for row in rows]


def _cents(expression):
    return sa.func.coalesce(sa.func.sum(sa.type_coerce(expression, sa.BigInteger)), 0)


def _voucher_balances() -> list[Violation]:
    ledger = (
        sa.select(VoucherEntry.voucher_id, _cents(VoucherEntry.delta).label("total"))
        .group_by(VoucherEntry.voucher_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Voucher.id, sa.type_coerce(Voucher.balance, sa.BigInteger).label("balance"),
                  sa.type_coerce(Voucher.amount, sa.BigInteger).label("amount"),
                  sa.func.coalesce(ledger.c.total, 0).label("total"))
        .outerjoin(ledger, ledger.c.voucher_id == Voucher.id)
    )
    found = []
    for row in rows:
        if row.balance != row.total:
            found.append(Violation("voucher_balance", f"voucher {row.id}: balance {row.balance / 100:.2f} "
                                   f"!= ledger {row.total / 100:.2f}"))
        if not 0 <= row.balance <= row.amount:
            found.append(Violation("voucher_balance", f"voucher {row.id}: balance outside [0, amount]"))
    return found


def _holds() -> list[Violation]:
    signed = sa.case(
        (VoucherEntry.kind == EntryKind.HOLD, VoucherEntry.amount),
        (VoucherEntry.kind.in_((EntryKind.RELEASE, EntryKind.CAPTURE)), -VoucherEntry.amount),
        else_=0,
    )
    captured = sa.case((VoucherEntry.kind == EntryKind.CAPTURE, VoucherEntry.amount), else_=0)
    ledger = (
        sa.select(VoucherEntry.booking_id, _cents(signed).label("held"), _cents(captured).label("captured"))
        .where(VoucherEntry.booking_id.is_not(None))
        .group_by(VoucherEntry.booking_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Booking.id, Booking.status, sa.type_coerce(Booking.voucher_amount, sa.BigInteger).label("part"),
                  sa.func.coalesce(ledger.c.held, 0).label("held"),
                  sa.func.coalesce(ledger.c.captured, 0).label("captured"))
        .outerjoin(ledger, ledger.c.booking_id == Booking.id)
        .where(sa.or_(ledger.c.booking_id.is_not(None), Booking.voucher_amount != 0))
    )
    found = []
    for row in rows:
        active = row.status in ACTIVE_STATUSES
        if row.held < 0:
            found.append(Violation("holds", f"booking {row.id}: released more than was held"))
        elif active and row.held != row.part:
            found.append(Violation("holds", f"booking {row.id} ({row.status}): holds {row.held / 100:.2f}, "
                                   f"its voucher part is {row.part / 100:.2f}"))
        elif not active and row.held != 0:
            found.append(Violation("holds", f"booking {row.id} ({row.status}) still holds {row.held / 100:.2f}"))
        if row.part != row.held + row.captured:
            found.append(Violation("holds", f"booking {row.id}: voucher part != held + captured"))
    return found


def _captures() -> list[Violation]:
    twice = db.session.execute(
        sa.select(VoucherEntry.booking_id).where(VoucherEntry.kind == EntryKind.CAPTURE,
                                                 VoucherEntry.booking_id.is_not(None))
        .group_by(VoucherEntry.booking_id).having(sa.func.count() > 1)
    )
    found = [Violation("capture_once", f"booking {row.booking_id} captured more than once") for row in twice]
    claimed = db.session.execute(
        sa.select(VoucherClaimLine.entry_id).group_by(VoucherClaimLine.entry_id).having(sa.func.count() > 1)
    )
    found += [Violation("capture_once", f"capture {row.entry_id} claimed more than once") for row in claimed]
    return found


def _order_money() -> list[Violation]:
    rows = db.session.execute(sa.select(Order.number).where(
        Order.quote_amount.is_not(None), Order.voucher_amount + Order.firm_pays != Order.quote_amount))
    return [Violation("order_money", f"order {row.number}: voucher part + firm part != quote") for row in rows]


HOLDING_ORDERS = (OrderStatus.ACCEPTED, OrderStatus.RECEIVED)
REPORTED_ORDERS = (OrderStatus.REPORTED, OrderStatus.CLOSED)


def _order_holds() -> list[Violation]:
    signed = sa.case(
        (VoucherEntry.kind == EntryKind.HOLD, VoucherEntry.amount),
        (VoucherEntry.kind.in_((EntryKind.RELEASE, EntryKind.CAPTURE)), -VoucherEntry.amount),
        else_=0,
    )
    captured = sa.case((VoucherEntry.kind == EntryKind.CAPTURE, VoucherEntry.amount), else_=0)
    ledger = (
        sa.select(VoucherEntry.order_id, _cents(signed).label("held"), _cents(captured).label("captured"),
                  sa.func.count().filter(VoucherEntry.kind == EntryKind.CAPTURE).label("captures"))
        .where(VoucherEntry.order_id.is_not(None))
        .group_by(VoucherEntry.order_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Order.number, Order.status, sa.type_coerce(Order.voucher_amount, sa.BigInteger).label("part"),
                  sa.func.coalesce(ledger.c.held, 0).label("held"),
                  sa.func.coalesce(ledger.c.captured, 0).label("captured"),
                  sa.func.coalesce(ledger.c.captures, 0).label("captures"))
        .outerjoin(ledger, ledger.c.order_id == Order.id)
        .where(sa.or_(ledger.c.order_id.is_not(None), Order.voucher_amount != 0))
    )
    found = []
    for row in rows:
        if row.held < 0:
            found.append(Violation("order_holds", f"order {row.number}: released more than was held"))
        elif row.status in HOLDING_ORDERS and (row.held, row.captured) != (row.part, 0):
            found.append(Violation("order_holds", f"order {row.number} ({row.status}): holds {row.held / 100:.2f} "
                                   f"and captured {row.captured / 100:.2f}, its voucher part is {row.part / 100:.2f}"))
        elif row.status not in HOLDING_ORDERS and row.held != 0:
            found.append(Violation("order_holds", f"order {row.number} ({row.status}) still holds "
                                   f"{row.held / 100:.2f}"))
        elif row.status not in (*HOLDING_ORDERS, *REPORTED_ORDERS) and row.captured != 0:
            found.append(Violation("order_holds", f"order {row.number} ({row.status}) spent voucher money "
                                   "without a report"))
        if row.part != row.held + row.captured:
            found.append(Violation("order_holds", f"order {row.number}: voucher part != held + captured"))
        if row.captures > 1:
            found.append(Violation("capture_once", f"order {row.number} captured more than once"))
    return found


def _outbox_keys() -> list[Violation]:
    rows = db.session.execute(
        sa.select(OutboxMessage.idempotency_key).group_by(OutboxMessage.idempotency_key)
        .having(sa.func.count() > 1)
    )
    return [Violation("outbox_keys", f"key {row.idempotency_key} queued more than once") for row in rows]


CHECKS = (_overlaps, _booking_money, _voucher_balances, _holds, _captures, _order_money, _order_holds,
          _outbox_keys)


def violations() -> list[Violation]:
    """Every row that breaks an invariant (empty: all hold)."""
    return [violation for check in CHECKS for violation in check()]
