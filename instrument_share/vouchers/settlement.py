"""The settlement list: voucher money redeemed, by issuing city and by
the institution that provided the service (the joint office's and the
bureaus' 兑付 figures, on the statistics pages, in the API and in reports)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ..accounts.models import Institution
from ..accounts.policy import Scope
from ..booking.models import Booking
from ..catalogue.models import Instrument
from ..extensions import db
from .models import EntryKind, Voucher, VoucherEntry

# Orders of entrusted testing sit above vouchers in the package layers: the
# ledger names them by id, and this query sees only the columns it needs.
ORDERS = sa.table("orders", sa.column("id"), sa.column("institution_id"))


def _captures(scope: Scope, provider: sa.ColumnElement, service: sa.Select, when: sa.ColumnElement,
              start: datetime, end: datetime) -> sa.Select:
    """Captured voucher money per issuing city and providing institution, for
    the services `service` joins in, dated by `when`."""
    query = (
        service.add_columns(Voucher.issuing_city, Institution.id, Institution.name, Institution.city_code,
                            sa.func.sum(sa.type_coerce(VoucherEntry.amount, sa.BigInteger)),
                            sa.func.count(VoucherEntry.id))
        .join(Voucher, VoucherEntry.voucher_id == Voucher.id)
        .join(Institution, provider == Institution.id)
        .where(VoucherEntry.kind == EntryKind.CAPTURE, when >= start, when < end)
        .group_by(Voucher.issuing_city, Institution.id, Institution.name, Institution.city_code)
    )
    if scope.institution_id is not None:
        query = query.where(Institution.id == scope.institution_id)
    elif scope.city is not None:
        query = query.where(Voucher.issuing_city == scope.city)
    return query


def voucher_settlement(scope: Scope, start: datetime, end: datetime) -> dict:
    """Voucher money redeemed (captured) from `start` to before `end`, per
    issuing city and providing institution: the settlement list. Bookings
    count by their start, orders of entrusted testing by their report (the
    capture), as claims take them. City bureaus see what their vouchers paid;
    managers what their institution received."""
    bookings = _captures(
        scope, Instrument.institution_id,
        sa.select().select_from(VoucherEntry).join(Booking, VoucherEntry.booking_id == Booking.id)
        .join(Instrument, Booking.instrument_id == Instrument.id), Booking.start, start, end)
    orders = _captures(
        scope, ORDERS.c.institution_id,
        sa.select().select_from(VoucherEntry).join(ORDERS, VoucherEntry.order_id == ORDERS.c.id),
        VoucherEntry.at, start, end)
    cells: dict[tuple, dict] = {}
    for kind, query in (("bookings", bookings), ("orders", orders)):
        for issuing_city, institution_id, name, provider_city, fen, count in db.session.execute(query):
            cell = cells.setdefault((issuing_city, institution_id), {
                "issuing_city": issuing_city, "institution_id": institution_id, "institution": name,
                "provider_city": provider_city, "amount": Decimal("0.00"), "bookings": 0, "orders": 0})
            cell["amount"] += (Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01"))
            cell[kind] += count
    rows = [cells[key] for key in sorted(cells)]
    by_city, by_institution = defaultdict(Decimal), {}
    for row in rows:
        by_city[row["issuing_city"]] += row["amount"]
        entry = by_institution.setdefault(row["institution_id"], {
            "institution_id": row["institution_id"], "institution": row["institution"], "amount": Decimal("0.00")})
        entry["amount"] += row["amount"]
    return {
        "rows": rows,
        "by_issuing_city": [{"issuing_city": c, "amount": a} for c, a in by_city.items()],
        "by_institution": list(by_institution.values()),
        "total": sum((r["amount"] for r in rows), Decimal("0.00")),
    }
