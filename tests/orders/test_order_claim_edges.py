"""Edges of claims on orders' voucher money that mutation testing found
untested (issue #21, `make mutation`): an order's capture is claimed by its
own institution only, for the period in which its report came, from the
first instant of the first day to the last of the last. Through the
services, on both engines."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from instrument_share.errors import Conflict
from instrument_share.extensions import db
from instrument_share.vouchers import claims
from instrument_share.vouchers.models import VoucherEntry

from .test_order_money import _quoted, _report

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date.today() - timedelta(days=20)


def _captured_at(world, moment: datetime) -> int:
    """An order paid half by the voucher, reported; its capture moved to `moment`."""
    url = _quoted(world, amount="100", voucher_id=world["voucher"]["id"])
    assert world["firm"].post(f"{url}/accept").status_code == 200
    assert _report(world, url).status_code == 200
    order_id = int(url.rsplit("/", 1)[1])
    entry = db.session.scalar(sa.select(VoucherEntry).where(VoucherEntry.order_id == order_id,
                                                            VoucherEntry.kind == "capture"))
    entry.at = moment
    db.session.commit()
    return entry.id


def _claimed(manager, first: date, last: date) -> list[int]:
    try:
        claim = claims.file_claim(manager, "jinhua", first, last)
    except Conflict:
        db.session.rollback()
        return []
    db.session.commit()
    return [line.entry_id for line in claim.lines]


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(days=1) - timedelta(microseconds=1)])
def test_an_orders_capture_is_claimed_for_the_day_its_report_came(world, make, app_context, offset):
    entry = _captured_at(world, datetime.combine(DAY, time(), SHANGHAI) + offset)
    assert _claimed(make.user(role="manager"), DAY, DAY) == []  # another institution's manager
    assert _claimed(world["manager"], DAY - timedelta(days=3), DAY - timedelta(days=1)) == []
    assert _claimed(world["manager"], DAY + timedelta(days=1), DAY + timedelta(days=3)) == []
    assert _claimed(world["manager"], DAY, DAY) == [entry]
