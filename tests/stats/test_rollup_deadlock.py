"""Found by review: the monthly roll-up row is shared by every change of
one instrument and month (the flow's by an institution's instruments), and
a transaction may add deltas in more than one flush (close_past_bookings:
the no-shows, then the finished bookings). Written at each flush, the
housekeeping held the month's row from its first flush and wanted a daily
row that a usage record (its daily row, then the month's) held: on
PostgreSQL a deadlock, one of the two aborted. The months are now written
at commit, after every daily row (rollups._write_months)."""
from __future__ import annotations

import threading
import time as clock
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from instrument_share.booking import usage
from instrument_share.booking.models import Booking
from instrument_share.database import is_postgres
from instrument_share.extensions import db
from instrument_share.timeutil import platform_zone


@pytest.mark.parametrize("shared", ["month of one instrument", "flows of one institution"])
def test_housekeeping_and_a_usage_record_do_not_deadlock(app, make, monkeypatch, shared):
    if not is_postgres():
        pytest.skip("SQLite has one writer")
    now = datetime.now(platform_zone()).replace(microsecond=0)
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id, hours=[(d, 0, 24 * 60) for d in range(7)])
    other = make.instrument(institution_id=manager.institution_id, hours=[(d, 0, 24 * 60) for d in range(7)])
    # The month's row: a no-show of a firm of another city on the instrument. The flows' row: a no-show
    # of a firm of the same city on another instrument of the institution.
    one_instrument = shared.startswith("month")
    users = [make.user(firm=make.firm(city_code=city))
             for city in ("hefei" if one_instrument else "jinhua", "jinhua", "jinhua")]

    def booking(user, start, minutes, on=None, **kw):
        end = start + timedelta(minutes=minutes)
        return Booking(instrument=on or instrument, user=user, firm_id=user.firm_id, start=start, end=end,
                       occupied_until=end, status="confirmed", purpose="x",
                       cost=Decimal("100.00"), firm_pays=Decimal("100.00"), **kw)

    # Started, not yet a no-show (within the hour's grace): its usage is recorded.
    recorded = booking(users[2], now - timedelta(minutes=50), 60)
    # Checked in and over, on the same day, instrument and firm city: completed by the housekeeping.
    finished = booking(users[1], now - timedelta(minutes=110), 20, checked_in_at=now - timedelta(minutes=110))
    # A no-show of a firm in another city (another daily row, the same month's row): the first flush.
    no_show = booking(users[0], now - timedelta(minutes=85), 15, on=None if one_instrument else other)
    if len({b.start.date() for b in (recorded, finished, no_show)} | {now.date()}) > 1:
        pytest.skip("too close to midnight in the platform zone")
    db.session.add_all([no_show, finished, recorded])
    db.session.commit()
    recorded_id, manager_id = recorded.id, manager.id
    first_flush_done, usage_started = threading.Event(), threading.Event()
    errors: list = []
    original = usage.suspend_if_due

    def suspend_after_the_usage_record_waits(user, now):
        first_flush_done.set()
        usage_started.wait(timeout=10)
        clock.sleep(1.5)  # the usage record now waits for the month's row
        return original(user, now)

    monkeypatch.setattr(usage, "suspend_if_due", suspend_after_the_usage_record_waits)

    def housekeeping():
        with app.app_context():
            try:
                usage.close_past_bookings()
                db.session.commit()
            except Exception as error:  # noqa: BLE001
                errors.append(("housekeeping", repr(error)[:300]))
            finally:
                db.session.remove()

    def record():
        from instrument_share.accounts.models import User

        with app.app_context():
            try:
                first_flush_done.wait(timeout=10)
                user = db.session.get(User, manager_id)
                target = db.session.get(Booking, recorded_id)
                usage_started.set()
                usage.record_usage(target, user, target.start, target.start + timedelta(minutes=30), "guided")
                db.session.commit()
            except Exception as error:  # noqa: BLE001
                errors.append(("usage", repr(error)[:300]))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=housekeeping), threading.Thread(target=record)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
