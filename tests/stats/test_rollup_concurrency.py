"""Roll-ups under concurrent writers (issue #20): many transactions on their
own connections change bookings of one instrument and day at once; each
adds its own difference to the same roll-up row (`x = x + excluded.x`), so
none is lost under PostgreSQL's read committed (record_usage locks only its
booking, not the instrument). On SQLite the writers take turns."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from instrument_share.booking.models import Booking
from instrument_share.booking.usage import record_usage
from instrument_share.extensions import db
from instrument_share.stats import rollups
from instrument_share.timeutil import platform_zone

WRITERS = 12


def test_concurrent_usage_records_on_one_instrument_and_day_lose_nothing(app, make):
    day = datetime.now(platform_zone()).date() - timedelta(days=3)
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id, hours=[(d, 0, 24 * 60) for d in range(7)])
    firm_user = make.user()
    midnight = datetime.combine(day, time(), platform_zone())
    bookings = [Booking(instrument=instrument, user=firm_user, firm_id=firm_user.firm_id,
                        start=midnight + timedelta(hours=h), end=midnight + timedelta(hours=h, minutes=50),
                        occupied_until=midnight + timedelta(hours=h, minutes=50), status="confirmed", purpose="x",
                        cost=Decimal("100.00"), firm_pays=Decimal("100.00")) for h in range(WRITERS)]
    db.session.add_all(bookings)
    db.session.commit()
    ids, manager_id = [b.id for b in bookings], manager.id
    start_together = threading.Barrier(WRITERS)

    def write(index: int) -> None:
        with app.app_context():  # a session and a connection of its own
            from instrument_share.accounts.models import User

            user = db.session.get(User, manager_id)
            booking = db.session.get(Booking, ids[index])
            used_start = booking.start + timedelta(minutes=5)
            start_together.wait(timeout=30)
            record_usage(booking, user, used_start, used_start + timedelta(minutes=30 + index), "guided")
            db.session.commit()
            db.session.remove()

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    db.session.expire_all()
    stored = rollups.stored(day, day)
    assert stored == rollups.compute(day, day)
    (key, figures), = stored.items()
    named = dict(zip(rollups.FIELDS, figures, strict=True))
    assert named["used_seconds"] == sum((30 + index) * 60 for index in range(WRITERS))
    assert (named["bookings"], named["revenue_cents"]) == (WRITERS, WRITERS * 10000)
    assert key == (day, instrument.id, "jinhua") and isinstance(day, date)
    assert rollups.months_drift(day, day) == []  # the month's row and flow added every writer's part too
