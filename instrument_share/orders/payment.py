"""What a voucher pays for an order of entrusted testing, on the same ledger
as bookings: the voucher's part of the quote (at most its max share, at
most its balance) is held when the firm accepts, spent (captured) when the
report is uploaded, and given back when the order ends without a report.

Locks are taken in the order bookings use: the order's row first (the
service function), then the voucher's. A movement of an order carries its
`order_id`; what an order still holds is read from the ledger under the
voucher's lock, so a second release or capture finds nothing to move.
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ..accounts.models import User
from ..database import lock
from ..errors import N_, Conflict
from ..extensions import db
from ..timeutil import platform_today
from ..vouchers.models import EntryKind, Voucher, VoucherEntry, VoucherStatus
from ..vouchers.services import locked_for_spending, parts_of
from .models import Order

NOTHING = Decimal("0.00")


def voucher_part(voucher: Voucher, amount: Decimal) -> Decimal:
    """The voucher's part of a fee of `amount`: max share of it, at most the balance."""
    return parts_of(voucher, [amount])[0]


def order_ledger(order_id: int) -> tuple[Decimal, Decimal]:
    """(still held, captured) for one order, as the ledger rows say."""
    db.session.flush()
    held = sa.case(
        (VoucherEntry.kind == EntryKind.HOLD, VoucherEntry.amount),
        (VoucherEntry.kind.in_((EntryKind.RELEASE, EntryKind.CAPTURE)), -VoucherEntry.amount),
        else_=0,
    )
    captured = sa.case((VoucherEntry.kind == EntryKind.CAPTURE, VoucherEntry.amount), else_=0)
    row = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.type_coerce(held, sa.BigInteger)), 0),
                  sa.func.coalesce(sa.func.sum(sa.type_coerce(captured, sa.BigInteger)), 0))
        .where(VoucherEntry.order_id == order_id)
    ).one()
    return tuple((Decimal(int(value)) / 100).quantize(Decimal("0.01")) for value in row)


def _move(voucher: Voucher, order: Order, kind: str, delta: Decimal, amount: Decimal, actor: User | None) -> None:
    voucher.balance = voucher.balance + delta
    db.session.add(VoucherEntry(voucher_id=voucher.id, order_id=order.id, kind=kind, delta=delta, amount=amount,
                                actor_id=actor.id if actor else None))


def hold(order: Order, voucher_id: int, actor: User, expected: Decimal | None = None) -> None:
    """At acceptance: the voucher (checked again under its lock: active today,
    money left) holds its part of the quote; the firm pays the rest. With
    `expected` (the part the firm saw), a different part is refused (409):
    another payment spent the voucher meanwhile."""
    voucher = locked_for_spending(voucher_id, platform_today())
    part = voucher_part(voucher, order.quote_amount)
    if expected is not None and part != expected:
        raise Conflict(N_("The voucher's part of the quote changed since you saw it: read the new figures "
                          "before accepting."))
    order.voucher_id = voucher.id
    if part > 0:
        _move(voucher, order, EntryKind.HOLD, -part, part, actor)
    order.voucher_amount, order.firm_pays = part, order.quote_amount - part
    db.session.flush()


def capture(order: Order, actor: User) -> None:
    """With the report the held money is spent: one capture, claimable like a booking's."""
    if order.voucher_id is None:
        return
    voucher = lock(Voucher, order.voucher_id)
    held, captured = order_ledger(order.id)
    if held > 0:
        _move(voucher, order, EntryKind.CAPTURE, NOTHING, held, actor)
    order.voucher_amount = captured + max(held, NOTHING)
    order.firm_pays = order.quote_amount - order.voucher_amount
    db.session.flush()


def release(order: Order, actor: User | None) -> None:
    """The order ends without a report: what it still holds goes back to the
    voucher (and, if the bureau revoked the voucher meanwhile, is withdrawn
    with the rest of it, as for bookings)."""
    if order.voucher_id is None:
        return
    voucher = lock(Voucher, order.voucher_id)
    held, captured = order_ledger(order.id)
    if held > 0:
        _move(voucher, order, EntryKind.RELEASE, held, held, actor)
        if voucher.status == VoucherStatus.REVOKED:
            _move(voucher, order, EntryKind.REVOKE, -held, held, actor)
    order.voucher_amount = captured
    if order.quote_amount is not None:
        order.firm_pays = order.quote_amount - captured
    db.session.flush()
