"""The dashboard of a period before today is summed by the database
(stats/overview.py); of a period reaching today, per instrument in Python.
Both give the same page (issue #20)."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from instrument_share.accounts.models import User
from instrument_share.booking.models import Booking
from instrument_share.extensions import db
from instrument_share.stats import services
from instrument_share.stats.dashboard import SHOWN_ROWS, dashboard

from .test_rollups import FAR, _random_changes, _random_history, at


def assert_both_paths_alike(users, first: date, last: date) -> None:
    for user in users:
        viewer = db.session.get(User, user.id)
        by_database = dashboard(viewer, FAR, first, last, None)  # every day before "today"
        per_instrument = dashboard(viewer, first, first, last, None)  # today its first day
        assert services.split(by_database.period, FAR)[1] is None
        assert services.split(per_instrument.period, first)[1] is not None
        assert by_database == per_instrument, user.role
        assert len(by_database.least_used) == min(SHOWN_ROWS, by_database.by_city["totals"]["instruments"])


def test_the_dashboard_summed_by_the_database_is_the_one_made_per_instrument(make, app_context):
    rng = random.Random(60)
    first, days = date(2026, 9, 20), 25
    instruments, institutions, bookings = _random_history(make, rng, first, days)
    for _ in range(SHOWN_ROWS + 3):  # more than a list shows, ties at zero among them
        make.instrument(institution=institutions[rng.randrange(3)])
    special = make.instrument(institution=institutions[1], quota_class="special")
    # Booked, never open: utilisation zero, told apart by booked hours (the later one booked less).
    closed = [make.instrument(institution=institutions[2], hours=[]) for _ in range(2)]
    user = make.user()
    # Above its quota (800 h a year, 630 h by mid-October), the others below theirs.
    times = [(closed[0], at(first + timedelta(days=1), 600), 3), (closed[1], at(first + timedelta(days=1), 600), 1)]
    times += [(special, at(date(2026, 8, 1) + timedelta(days=3 * n), 0), 72) for n in range(10)]
    for instrument, start, hours in times:
        db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start,
                               end=start + timedelta(hours=hours), occupied_until=start + timedelta(hours=hours),
                               status="completed", purpose="x", cost=Decimal("1.00"), firm_pays=Decimal("1.00")))
    db.session.commit()
    viewers = [make.user(role="admin"), make.user(role="city_admin", city_code="hangzhou"),
               make.user(role="manager", institution_id=institutions[1].id),
               make.user(role="manager", institution_id=institutions[2].id)]
    assert_both_paths_alike(viewers, first, first + timedelta(days=days - 1))
    october = dashboard(db.session.get(User, viewers[0].id), FAR, first, first + timedelta(days=days - 1), None)
    assert special.id not in {row["id"] for row in october.quota}
    hefei = dashboard(db.session.get(User, viewers[3].id), FAR, first, first + timedelta(days=days - 1), None)
    least = [int(row["key"]) for row in hefei.least_used]
    assert least.index(closed[1].id) < least.index(closed[0].id)
    assert october.quota_count == october.by_city["totals"]["instruments"] - 1
    _random_changes(rng, instruments, bookings, first, days, 40)
    assert_both_paths_alike(viewers, first, first + timedelta(days=days - 1))
    assert_both_paths_alike(viewers[:1], first + timedelta(days=4), first + timedelta(days=9))
