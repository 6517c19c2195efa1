"""Edges of the statistics roll-ups that mutation testing of
stats/rollups.py found untested (issue #21, `mutation/run.py
stats/rollups.py`): through rebuild, never the mutated line itself."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from instrument_share.booking.models import Blackout
from instrument_share.extensions import db
from instrument_share.stats import rollups
from instrument_share.stats.models import DailyFigures

from .test_rollups import _one_booking, at


def test_a_rebuild_in_a_session_of_its_own_writes_in_that_sessions_transaction(make, app_context):
    """`rebuild(session=...)` (a migration's session, on a connection of its
    own) writes the rebuilt days through that session: nothing of it shows
    until that session commits, and then every row of the range is what the
    raw rows give, an instrument open round the clock booked across two
    midnights included."""
    first, last = date(2026, 9, 28), date(2026, 10, 2)
    _one_booking(make, at(first, 22 * 60), at(date(2026, 9, 30), 2 * 60))
    _one_booking(make, at(date(2026, 10, 1), 9 * 60), at(date(2026, 10, 1), 11 * 60), status="confirmed")
    expected = rollups.compute(first, last)
    assert len(expected) == 4
    db.session.execute(sa.delete(DailyFigures.__table__))
    db.session.commit()
    own = Session(bind=db.engine)
    try:
        assert rollups.rebuild(first, last, session=own) == []
        db.session.rollback()
        assert rollups.stored(first, last) == {}  # not yet committed by its own session
        own.commit()
    finally:
        own.close()
    db.session.rollback()
    assert rollups.stored(first, last) == expected


def test_a_bulk_rebuild_of_nothing_covers_no_day(app_context):
    assert rollups.rebuild_all() == 0
    db.session.commit()
    assert rollups.stored(date(2000, 1, 1), date(2100, 1, 1)) == {}


def test_a_bulk_rebuild_covers_a_blackout_with_no_booking_around_it_every_day_of_it(make, app_context):
    """A history of one blackout of five days and nothing else: rebuild_all
    covers its days (to the day it ends on, at midnight) and two more at
each end, and stores the minutes it
    takes on each of its days, its first and last included, in a session
    of its own as in the app's."""
    instrument = make.instrument(hours=[(d, 0, 24 * 60) for d in range(7)], open_on_holidays=True)
    start, end = at(date(2026, 9, 21), 0), at(date(2026, 9, 26), 0)  # five whole days, all open
    db.session.add(Blackout(instrument=instrument, start=start, end=end, reason="维护"))
    db.session.commit()
    whole = (date(2026, 9, 1), date(2026, 10, 31))
    expected = rollups.compute(*whole)
    assert sorted(key[0] for key in expected) == [date(2026, 9, 21 + n) for n in range(5)]
    assert rollups.rebuild_all() == 10  # 19 to 28 September
    db.session.commit()
    assert rollups.stored(*whole) == expected
    own = Session(bind=db.engine)
    try:
        assert rollups.rebuild_all(session=own) == 10
        own.commit()
    finally:
        own.close()
    db.session.rollback()
    assert rollups.stored(*whole) == expected
    assert rollups.months_drift(*whole) == [] and rollups.derive_open_minutes(check=True) == []


def test_a_bulk_rebuild_in_a_zone_with_summer_time_puts_each_booking_on_its_own_day(make, app_context, monkeypatch):
    """Where the platform zone changes its offset near the history (Berlin,
    29 March 2026), rebuild_all rebuilds a month at a time, days cut in the
    zone itself: the booking just after midnight in summer time stays on its
    day, though the history starts in winter time and goes on for weeks of
    summer time."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    monkeypatch.setitem(current_app.config, "PLATFORM_TIMEZONE", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    for start in (datetime(2026, 3, 26, 12, 0, tzinfo=berlin), datetime(2026, 4, 2, 0, 15, tzinfo=berlin),
                  datetime(2026, 5, 20, 12, 0, tzinfo=berlin)):
        _one_booking(make, start, start + timedelta(minutes=30), status="confirmed")
    db.session.execute(sa.delete(DailyFigures.__table__))
    db.session.commit()
    assert rollups.rebuild_all() == 60  # 24 March to 22 May
    db.session.commit()
    stored = rollups.stored(date(2026, 3, 1), date(2026, 5, 31))
    assert sorted(key[0] for key in stored) == [date(2026, 3, 26), date(2026, 4, 2), date(2026, 5, 20)]
    assert stored == rollups.compute(date(2026, 3, 1), date(2026, 5, 31))


def test_a_check_in_a_session_of_its_own_finds_what_drifted_in_it_in_every_month_and_logs_each(
        make, app_context, caplog):
    """`rebuild(check=True, session=...)` compares what that session reads
    (its own changes not yet committed) with the raw rows, over a range of
    more than one month (rebuilt a month at a time): a drift in each month
    is found, logged as it is and repaired in that session."""
    first, last = date(2026, 9, 1), date(2026, 10, 20)
    _one_booking(make, at(date(2026, 9, 3), 600), at(date(2026, 9, 3), 720))
    _one_booking(make, at(date(2026, 10, 14), 600), at(date(2026, 10, 14), 720))
    expected = rollups.compute(first, last)
    own = Session(bind=db.engine)
    try:
        own.execute(sa.update(DailyFigures.__table__).values(bookings=DailyFigures.bookings + 1))
        found = rollups.rebuild(first, last, check=True, session=own)
        own.commit()
    finally:
        own.close()
    daily = [item for item in found if "day" in item]
    assert [(item["day"], item["expected"]["bookings"], item["found"]["bookings"]) for item in daily] == [
        ("2026-09-03", 1, 2), ("2026-10-14", 1, 2)]
    logged = [record.getMessage() for record in caplog.records if "roll-up drift" in record.getMessage()]
    assert [message for message in logged if message.startswith("statistics roll-up drift: ")] == [
        f"statistics roll-up drift: {item}" for item in daily]
    db.session.rollback()
    assert rollups.stored(first, last) == expected
