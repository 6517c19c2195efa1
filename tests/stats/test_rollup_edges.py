"""Edges of the statistics roll-ups that mutation testing of
stats/rollups.py found untested (issue #21, `mutation/run.py
stats/rollups.py`): through rebuild, never the mutated line itself."""
from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from instrument_share.booking.models import Blackout, Booking
from instrument_share.extensions import db
from instrument_share.stats import rollups
from instrument_share.stats.models import DailyFigures

from .test_rollups import _one_booking, at


@contextmanager
def _change_in_flight(app, change: Callable[[], None]) -> Iterator[list[str]]:
    """Runs `change` on a thread in an app context of its own: flushed, then
    held uncommitted for 1.5 s while the block runs (the block begins once
    the flush is done), then committed. Yields the errors the change raised;
    the thread has finished when the block is left."""
    flushed, errors = threading.Event(), []

    def run():
        with app.app_context():
            try:
                change()
                db.session.flush()
                flushed.set()
                clock.sleep(1.5)  # the block has begun meanwhile
                db.session.commit()
            except Exception as error:  # noqa: BLE001
                errors.append(repr(error)[:300])
                flushed.set()
            finally:
                db.session.remove()

    writer = threading.Thread(target=run)
    writer.start()
    assert flushed.wait(timeout=30)
    try:
        yield errors
    finally:
        writer.join(timeout=60)


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


def test_a_change_rolled_back_after_its_flush_leaves_no_trace_in_the_months(make, app_context):
    """A transaction that flushed a booking's change (its day's row written,
    its month's delta kept for the commit) and then rolled back, as a
    request that fails after a flush does: the next transaction commits
    only its own change, so the monthly and yearly rows stay the sums of
    the daily ones and nothing is left pending in the session."""
    day = date(2026, 9, 29)
    first = _one_booking(make, at(day, 600), at(day, 720))
    second = _one_booking(make, at(day + timedelta(days=1), 600), at(day + timedelta(days=1), 660))
    first.status = "cancelled"
    db.session.flush()
    assert rollups.uncommitted(db.session)
    db.session.rollback()
    assert not rollups.uncommitted(db.session)
    second.cost = second.cost * 2
    second.firm_pays = second.cost
    db.session.commit()
    whole = (date(2026, 9, 1), date(2026, 10, 31))
    assert rollups.months_drift(*whole) == []
    monthly = db.session.execute(sa.select(rollups.MONTHLY.c.bookings, rollups.MONTHLY.c.revenue_cents)).all()
    assert sorted(monthly) == [(1, 10000), (1, 20000)]


def test_a_rebuild_in_a_session_of_its_own_writes_more_than_one_batch_of_rows(make, app_context):
    """More than 5,000 daily rows in one month (28 instruments, six firm
    cities, 31 days), rebuilt in a session of its own (as the migration
    does): every row is written once, none is lost between two batches."""
    cities = ("hangzhou", "jinhua", "hefei", "wuhu", "suzhou", "jiaxing")
    users = [make.user(firm=make.firm(city_code=city)) for city in cities]
    instruments = [make.instrument(hours=[(d, 0, 24 * 60) for d in range(7)]) for _ in range(28)]
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    rows = []
    for offset in range(31):
        for instrument in instruments:
            for hour, user in enumerate(users, start=8):
                start = at(first + timedelta(days=offset), hour * 60)
                end = start + timedelta(minutes=30)
                rows.append({"instrument_id": instrument.id, "user_id": user.id, "firm_id": user.firm_id,
                             "start": start, "end": end, "occupied_until": end, "status": "confirmed",
                             "purpose": "x", "cost": Decimal("1.00"), "firm_pays": Decimal("1.00")})
    db.session.execute(sa.insert(Booking), rows)
    db.session.commit()
    expected = rollups.compute(first, last)
    assert len(expected) == 31 * 28 * 6 > 5000
    own = Session(bind=db.engine)
    try:
        rollups.rebuild(first, last, session=own)
        own.commit()
    finally:
        own.close()
    db.session.rollback()
    assert rollups.stored(first, last) == expected


def test_bookings_made_through_the_service_count_once_as_made_and_once_as_changed(make, app_context):
    """create_booking writes its bookings (a series in one statement) past
    the flush: the roll-ups add each as it is written, its firm's city and
    owner included; an approval and a cancellation after it are flushes,
    counted as changes, never as new bookings again."""
    from instrument_share.booking import services as booking

    always = [(d, 0, 24 * 60) for d in range(7)]
    instrument = make.instrument(hours=always, max_booking_minutes=1440)
    approved = make.instrument(hours=always, requires_approval=True)
    manager = make.user(role="manager", institution_id=approved.institution_id)
    user = make.user(firm=make.firm(city_code="hefei"))
    first, last = date(2026, 10, 12), date(2026, 10, 18)
    now = at(first, 0) - timedelta(days=7)
    (night,) = booking.create_booking(user, instrument.id, at(first, 22 * 60), at(first, 26 * 60), "x", now=now)
    series = booking.create_booking(user, instrument.id, at(first + timedelta(days=2), 600),
                                    at(first + timedelta(days=2), 720), "x", recurrence="FREQ=DAILY;COUNT=3",
                                    now=now)
    (pending,) = booking.create_booking(user, approved.id, at(first, 600), at(first, 660), "x", now=now)
    db.session.commit()
    assert len(series) == 3
    stored = rollups.stored(first, last)
    assert stored == rollups.compute(first, last)
    assert {key[2] for key in stored} == {"hefei"}
    assert sum(values[3] for values in stored.values()) == 4  # the pending one counts once approved
    booking.approve_booking(db.session.get(Booking, pending.id), db.session.get(type(manager), manager.id))
    db.session.commit()
    booking.cancel_booking(db.session.get(Booking, series[1].id), db.session.get(type(user), user.id), now=now)
    db.session.commit()
    stored = rollups.stored(first, last)
    assert stored == rollups.compute(first, last)
    assert sum(values[3] for values in stored.values()) == 4
    assert sum(values[0] for values in stored.values()) == (4 + 2 + 2 + 1) * 3600
    assert rollups.months_drift(first, last) == []
    assert night.id


def test_the_command_rebuilds_every_day_from_two_before_the_first_to_two_after_the_last(
        make, app, app_context, caplog):
    """`flask stats rebuild` without dates: the days it covers are counted in
    the platform's zone, from two days before the day of the first start to
    two after the day of the last end (a booking from 01:00 to 15:00 in
    Shanghai, 17:00 to 07:00 in UTC, is one day, not two). It replaces
    everything and reports no drift: the weekly open minutes it empties
    first are not a drift."""
    _one_booking(make, at(date(2026, 10, 14), 60), at(date(2026, 10, 14), 15 * 60))
    result = app.test_cli_runner().invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0 and "Rebuilt the roll-ups of 5 days." in result.output
    assert [record.getMessage() for record in caplog.records if "drift" in record.getMessage()] == []
    db.session.rollback()
    october = (date(2026, 10, 1), date(2026, 10, 31))
    assert rollups.stored(*october) == rollups.compute(*october) != {}


def test_a_bulk_rebuild_in_a_zone_with_summer_time_in_a_session_of_its_own(make, app_context, monkeypatch):
    """Where the bulk rebuild goes a month at a time (a zone that changes
    its offset near the history), a session of its own still does all of
    it: nothing shows until that session commits, then every day."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    monkeypatch.setitem(current_app.config, "PLATFORM_TIMEZONE", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    for start in (datetime(2026, 3, 26, 12, 0, tzinfo=berlin), datetime(2026, 4, 2, 0, 15, tzinfo=berlin)):
        _one_booking(make, start, start + timedelta(minutes=30), status="confirmed")
    spring = (date(2026, 3, 1), date(2026, 4, 30))
    expected = rollups.compute(*spring)
    db.session.execute(sa.delete(DailyFigures.__table__))
    db.session.commit()
    own = Session(bind=db.engine)
    try:
        assert rollups.rebuild_all(session=own) == 12  # 24 March to 4 April
        db.session.rollback()
        assert rollups.stored(*spring) == {}
        own.commit()
    finally:
        own.close()
    db.session.rollback()
    assert rollups.stored(*spring) == expected


def test_a_rebuild_in_a_session_of_its_own_reads_the_raw_rows_as_that_session_sees_them(make, app_context):
    """A migration that changes raw rows and rebuilds in its own transaction:
    the rebuilt days are those of the rows as changed there (a booking it
    cancelled counts no more), not as committed before."""
    day = date(2026, 9, 29)
    kept = _one_booking(make, at(day, 600), at(day, 720))
    cancelled = _one_booking(make, at(day + timedelta(days=1), 600), at(day + timedelta(days=1), 720))
    own = Session(bind=db.engine)
    try:
        own.execute(sa.update(Booking.__table__).where(Booking.__table__.c.id == cancelled.id)
                    .values(status="cancelled"))
        rollups.rebuild(day, day + timedelta(days=1), session=own)
        own.commit()
    finally:
        own.close()
    db.session.rollback()
    stored = rollups.stored(day, day + timedelta(days=1))
    assert stored == rollups.compute(day, day + timedelta(days=1))
    assert [key[0] for key in stored] == [day] and kept.id


def test_a_rebuild_of_more_than_a_month_checks_and_repairs_the_first_day_of_each_month_it_goes_by(
        make, app_context):
    """A range of 40 days is rebuilt a month at a time: a drift on the first
    day after the first 31 is found, whether the days before it drifted or
    not, and a rebuild without checking replaces that day too."""
    first, last = date(2026, 9, 1), date(2026, 10, 10)
    for day in (date(2026, 9, 3), date(2026, 10, 2), date(2026, 10, 3)):
        _one_booking(make, at(day, 600), at(day, 720))
    expected = rollups.compute(first, last)
    table = DailyFigures.__table__

    def drift_on(*days):
        db.session.execute(sa.update(table).where(table.c.day.in_(days)).values(bookings=table.c.bookings + 1))
        db.session.commit()

    drift_on(date(2026, 10, 2))
    found = rollups.rebuild(first, last, check=True)
    assert [item["day"] for item in found if "day" in item] == ["2026-10-02"]
    db.session.commit()
    assert rollups.stored(first, last) == expected
    drift_on(date(2026, 9, 3), date(2026, 10, 2))
    found = rollups.rebuild(first, last, check=True)
    assert [item["day"] for item in found if "day" in item] == ["2026-09-03", "2026-10-02"]
    db.session.commit()
    assert rollups.stored(first, last) == expected
    drift_on(date(2026, 9, 3), date(2026, 10, 2))
    rollups.rebuild(first, last)
    db.session.commit()
    assert rollups.stored(first, last) == expected


def test_the_command_without_check_replaces_the_weekly_open_minutes_and_reports_no_drift(make, app, app_context):
    """`flask stats rebuild --from`, without --check, replaces the days, the
    months (a drifted one included) and every instrument's weekly open
    minutes, and lists nothing: only a check reports what had drifted."""
    day = date(2026, 9, 29)
    _one_booking(make, at(day, 600), at(day, 720))
    open_minutes = rollups.OPEN_MINUTES
    before = db.session.execute(sa.select(open_minutes)).all()
    db.session.execute(sa.update(open_minutes).values(mon=open_minutes.c.mon + 60))
    db.session.execute(sa.update(rollups.MONTHLY).values(bookings=rollups.MONTHLY.c.bookings + 1))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["stats", "rebuild", "--from", "2026-09-29"])
    assert result.exit_code == 0
    assert result.output.splitlines() == ["Rebuilt the roll-ups of 2026-09-29 to 2026-09-29: 0 rows had drifted."]
    db.session.rollback()
    assert db.session.execute(sa.select(open_minutes)).all() == before
    assert rollups.months_drift(day, day) == []


def test_a_check_in_a_session_of_its_own_finds_the_months_that_drifted_there_and_no_others(
        make, app_context, caplog):
    """`rebuild(check=True, session=...)` of September: a monthly row that
    drifted in that session (not committed) is found, logged as it is and
    derived again; the months outside the range (November) are left as
    they are."""
    _one_booking(make, at(date(2026, 9, 3), 600), at(date(2026, 9, 3), 720))
    _one_booking(make, at(date(2026, 11, 5), 600), at(date(2026, 11, 5), 660))
    monthly = rollups.MONTHLY
    rows = db.session.execute(sa.select(monthly).order_by(monthly.c.month)).all()
    assert [row.month for row in rows] == [date(2026, 9, 1), date(2026, 11, 1)]
    own = Session(bind=db.engine)
    try:
        own.execute(sa.update(monthly).where(monthly.c.month == date(2026, 9, 1))
                    .values(bookings=monthly.c.bookings + 1))
        found = rollups.rebuild(date(2026, 9, 1), date(2026, 9, 30), check=True, session=own)
        own.commit()
    finally:
        own.close()
    drifted = [item for item in found if item.get("table") == "stats_monthly"]
    assert [(item["expected"]["bookings"], item["found"]["bookings"]) for item in drifted] == [(1, 2)]
    logged = [record.getMessage() for record in caplog.records if "monthly roll-up drift" in record.getMessage()]
    assert logged == [f"statistics monthly roll-up drift: {item}" for item in found if "table" in item]
    db.session.rollback()
    assert db.session.execute(sa.select(monthly).order_by(monthly.c.month)).all() == rows
    assert rollups.months_drift(date(2026, 9, 1), date(2026, 11, 30)) == []


def test_a_rebuild_waits_for_a_change_in_flight_and_keeps_it(app, make):
    """PostgreSQL: a usage record has added its delta to a day's row and not
    yet committed when `flask stats rebuild` of that day starts. The rebuild
    waits for it (it locks the roll-up tables against writers), reads the
    booking as recorded and keeps its used time; read before the commit,
    the rebuilt row would have overwritten the delta."""
    import pytest

    from instrument_share.accounts.models import User
    from instrument_share.booking.usage import record_usage
    from instrument_share.database import is_postgres

    if not is_postgres():
        pytest.skip("SQLite has one writer: the rebuild's write transaction waits for it anyway")
    day = date(2026, 9, 29)
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id, hours=[(d, 0, 24 * 60) for d in range(7)])
    user = make.user(firm=make.firm(city_code="jinhua"))
    booking = Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=at(day, 600),
                      end=at(day, 720), occupied_until=at(day, 720), status="confirmed", purpose="x",
                      cost=Decimal("100.00"), firm_pays=Decimal("100.00"))
    db.session.add(booking)
    db.session.commit()
    booking_id, manager_id = booking.id, manager.id

    def record():
        target = db.session.get(Booking, booking_id)
        record_usage(target, db.session.get(User, manager_id), target.start,
                     target.start + timedelta(minutes=45), "guided")

    with _change_in_flight(app, record) as errors:
        result = app.test_cli_runner().invoke(args=["stats", "rebuild", "--from", day.isoformat()])
    assert errors == [] and result.exit_code == 0, result.output
    with app.app_context():
        stored = rollups.stored(day, day)
        assert stored == rollups.compute(day, day)
        (figures,) = stored.values()
        assert figures[rollups.FIELDS.index("used_seconds")] == 45 * 60


def test_a_check_reports_a_row_that_should_not_be_there_and_one_that_is_missing_against_zeros(
        make, app_context):
    """A stored row for a day with nothing on it is reported as expected all
    zeros, a missing one as found all zeros, each with its day, instrument
    and firm city."""
    day = date(2026, 9, 29)
    booking = _one_booking(make, at(day, 600), at(day, 720))
    table = DailyFigures.__table__
    db.session.execute(sa.delete(table))
    db.session.execute(sa.insert(table).values(day=day + timedelta(days=1), instrument_id=booking.instrument_id,
                                               firm_city="jinhua", bookings=1))
    db.session.commit()
    found = rollups.rebuild(day, day + timedelta(days=1), check=True)
    zeros = dict.fromkeys(rollups.FIELDS, 0)
    booked = {**zeros, "booked_seconds": 7200, "used_seconds": 7200, "bookings": 1, "revenue_cents": 10000}
    assert [item for item in found if "day" in item] == [
        {"day": "2026-09-29", "instrument_id": booking.instrument_id, "firm_city": "jinhua", "expected": booked,
         "found": zeros},
        {"day": "2026-09-30", "instrument_id": booking.instrument_id, "firm_city": "jinhua", "expected": zeros,
         "found": {**zeros, "bookings": 1}}]


def test_a_check_reports_each_instruments_weekly_open_minutes_that_drifted_as_they_are(make, app_context, caplog):
    """The weekly open minutes: a lost row is reported as found all zeros,
    a wrong one with what was found, one of no instrument as expected all
    zeros, each under its table and instrument, and logged as it is
    reported."""
    lost, wrong = make.instrument(), make.instrument(hours=[(5, 8 * 60, 12 * 60)])
    open_minutes = rollups.OPEN_MINUTES
    db.session.execute(sa.delete(open_minutes).where(open_minutes.c.instrument_id == lost.id))
    db.session.execute(sa.update(open_minutes).where(open_minutes.c.instrument_id == wrong.id).values(sat=60))
    stray = wrong.id + 1000  # no such instrument
    db.session.execute(sa.insert(open_minutes).values(instrument_id=stray, mon=60, tue=0, wed=0, thu=0, fri=0,
                                                      sat=0, sun=0))
    db.session.commit()
    found = rollups.rebuild(date(2026, 9, 29), date(2026, 9, 29), check=True)
    weekdays = dict.fromkeys(rollups.WEEKDAYS, 0)
    assert found == [
        {"table": "stats_open_minutes", "key": [str(lost.id)],
         "expected": {**weekdays, **dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), 480)}, "found": weekdays},
        {"table": "stats_open_minutes", "key": [str(wrong.id)], "expected": {**weekdays, "sat": 240},
         "found": {**weekdays, "sat": 60}},
        {"table": "stats_open_minutes", "key": [str(stray)], "expected": weekdays, "found": {**weekdays, "mon": 60}}]
    assert [record.getMessage() for record in caplog.records if "drift" in record.getMessage()] == [
        f"statistics open minutes drift: {item}" for item in found]


def test_a_bulk_rebuild_waits_for_a_booking_in_flight_and_counts_it_once(app, make):
    """A bulk load leaves history without roll-ups, then `rebuild_all` runs
    while a booking on one of its days is flushed but not committed (its
    delta already written as a new roll-up row). The rebuild waits for it
    (PostgreSQL: the tables' lock), then counts both bookings once: it
    neither fails on the row the booking added nor loses it."""
    import pytest

    from instrument_share.accounts.models import User
    from instrument_share.database import is_postgres

    if not is_postgres():
        pytest.skip("SQLite has one writer: the rebuild's write transaction waits for it anyway")
    day = date(2026, 9, 29)
    loaded = _one_booking(make, at(day, 600), at(day, 660), status="confirmed")
    instrument_id, user_id = loaded.instrument_id, loaded.user_id
    db.session.execute(sa.delete(DailyFigures.__table__))  # loaded in bulk: no roll-ups yet
    db.session.commit()

    def book():
        user = db.session.get(User, user_id)
        db.session.add(Booking(instrument_id=instrument_id, user=user, firm_id=user.firm_id,
                               start=at(day, 720), end=at(day, 780), occupied_until=at(day, 780),
                               status="confirmed", purpose="x", cost=Decimal("50.00"),
                               firm_pays=Decimal("50.00")))

    with _change_in_flight(app, book) as errors:
        try:
            rollups.rebuild_all()
            db.session.commit()
        finally:
            db.session.rollback()
    assert errors == []
    stored = rollups.stored(day, day)
    assert stored == rollups.compute(day, day)
    (figures,) = stored.values()
    assert figures[rollups.FIELDS.index("bookings")] == 2
