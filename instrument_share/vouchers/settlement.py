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


def voucher_settlement(scope: Scope, start: datetime, end: datetime) -> dict:
    """Voucher money redeemed (captured) for services that started from
    `start` to before `end`, per issuing city and providing institution: the settlement list.
    City bureaus see what their vouchers paid; managers what their
    institution received."""
    query = (
        sa.select(Voucher.issuing_city, Institution.id, Institution.name, Institution.city_code,
                  sa.func.sum(sa.type_coerce(VoucherEntry.amount, sa.BigInteger)), sa.func.count(VoucherEntry.id))
        .select_from(VoucherEntry)
        .join(Voucher, VoucherEntry.voucher_id == Voucher.id)
        .join(Booking, VoucherEntry.booking_id == Booking.id)
        .join(Instrument, Booking.instrument_id == Instrument.id)
        .join(Institution, Instrument.institution_id == Institution.id)
        .where(VoucherEntry.kind == EntryKind.CAPTURE, Booking.start >= start, Booking.start < end)
        .group_by(Voucher.issuing_city, Institution.id, Institution.name, Institution.city_code)
        .order_by(Voucher.issuing_city, Institution.id)
    )
    if scope.institution_id is not None:
        query = query.where(Institution.id == scope.institution_id)
    elif scope.city is not None:
        query = query.where(Voucher.issuing_city == scope.city)
    rows, by_city, by_institution = [], defaultdict(Decimal), {}
    for issuing_city, institution_id, name, provider_city, fen, count in db.session.execute(query):
        amount = (Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01"))
        rows.append({"issuing_city": issuing_city, "institution_id": institution_id, "institution": name,
                     "provider_city": provider_city, "amount": amount, "bookings": count})
        by_city[issuing_city] += amount
        entry = by_institution.setdefault(institution_id, {"institution_id": institution_id,
                                                           "institution": name, "amount": Decimal("0.00")})
        entry["amount"] += amount
    return {
        "rows": rows,
        "by_issuing_city": [{"issuing_city": c, "amount": a} for c, a in by_city.items()],
        "by_institution": list(by_institution.values()),
        "total": sum((r["amount"] for r in rows), Decimal("0.00")),
    }
