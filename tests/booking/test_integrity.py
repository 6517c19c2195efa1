"""Issue #13, found from outside: each finding as a test on both engines.

1. a series with INTERVAL=0 stored five bookings of one slot (SQLite);
2. parallel cancels of a voucher-paid booking released its hold four times
   (PostgreSQL);
3. an RRULE that never matches walked dateutil to year 9999 inside the
   write lock;
11. usage could be recorded (and voucher money captured) before the start.
And the guards that make these hold by construction: the database refuses
overlaps on both engines, and a change to a booking that was not read under
its lock raises.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from instrument_share.accounts.services import issue_token
from instrument_share.booking.models import Booking
from instrument_share.catalogue.models import Instrument
from instrument_share.database import begin_write_transaction, lock, lock_all, lock_row
from instrument_share.extensions import db
from instrument_share.integrity import violations
from instrument_share.vouchers.models import Voucher, VoucherEntry

from ..served import http_json, served
from .conftest import at, iso

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


def booking_body(instrument, day, start="10:00", end="11:00", **extra):
    return {"instrument_id": instrument.id, "start": iso(day, start), "end": iso(day, end),
            "purpose": "SEM 形貌", **extra}


def count_bookings() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;INTERVAL=0;COUNT=5",           # finding 1: five times the same slot
    "FREQ=WEEKLY;INTERVAL=-1;COUNT=3",
    "FREQ=DAILY;BYMONTHDAY=32;COUNT=2",        # finding 3: never matches, walked to 9999
    "FREQ=MONTHLY;BYMONTHDAY=0;COUNT=2",
    "FREQ=WEEKLY;BYDAY=+99MO;COUNT=3",         # finding 9: IndexError
    "FREQ=WEEKLY;BYDAY=2MO;COUNT=3",           # an ordinal needs MONTHLY
    "FREQ=MONTHLY;BYDAY=0MO;COUNT=3",
    "FREQ=DAILY;COUNT=0",
    "FREQ=DAILY;COUNT=53",
    "FREQ=DAILY;COUNT=99999999999999999999",
    "FREQ=DAILY;COUNT=3;COUNT=4",
    "FREQ=DAILY;COUNT=3;UNTIL=20991231",
    "FREQ=DAILY;UNTIL=20991231",               # beyond the year's horizon
    "FREQ=YEARLY;COUNT=2",
    "FREQ=DAILY;BYSETPOS=1;COUNT=2",
    "FREQ=DAILY;BYWEEKNO=1;COUNT=2",
    "FREQ=DAILY;BYYEARDAY=1;COUNT=2",
    "FREQ=WEEKLY;WKST=XX;COUNT=2",
    "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=12",     # only 7 such days a year: the rest beyond the horizon
])
def test_unsafe_or_unbounded_rules_are_refused_before_anything_is_written(api, make, sem, day, app_context, rule):
    user = make.user()
    response = api.as_user(user).post("/api/v1/bookings", json=booking_body(sem, day, recurrence=rule))
    assert response.status_code == 422, response.json
    assert "recurrence" in response.json["fields"]
    assert count_bookings() == 0


def test_a_series_that_would_overlap_itself_is_refused(api, make, day, app_context):
    # Open around the clock, two-day bookings, daily: each occurrence would
    # cover the next. Refused as a whole; nothing stored.
    instrument = make.instrument(hours=[(d, 0, 1440) for d in range(7)], max_booking_minutes=2880,
                                 open_on_holidays=True, buffer_minutes=30)
    user = make.user()
    body = {"instrument_id": instrument.id, "start": iso(day, "10:00"),
            "end": (at(day, "10:00") + timedelta(days=2)).isoformat(), "purpose": "长时间测试",
            "recurrence": "FREQ=DAILY;COUNT=3"}
    response = api.as_user(user).post("/api/v1/bookings", json=body)
    assert response.status_code == 422 and "recurrence" in response.json["fields"], response.json
    # Back to back is fine, but not within the buffer.
    body["end"] = (at(day, "10:00") + timedelta(hours=23, minutes=30)).isoformat()
    assert api.as_user(user).post("/api/v1/bookings", json=body).status_code == 201
    assert count_bookings() == 3
    assert violations() == []


def test_series_back_to_back_with_an_existing_booking(api, make, sem, day, app_context):
    """Half-open everywhere: occurrences that end as another booking starts,
    or start as it ends, are free; one minute more is a conflict."""
    other = api.as_user(make.user())
    assert other.post("/api/v1/bookings", json=booking_body(sem, day, "11:00", "12:00")).status_code == 201
    user = api.as_user(make.user())
    before = user.post("/api/v1/bookings", json=booking_body(sem, day, "10:00", "11:00",
                                                             recurrence="FREQ=WEEKLY;COUNT=2"))
    after = user.post("/api/v1/bookings", json=booking_body(sem, day, "12:00", "13:00",
                                                            recurrence="FREQ=WEEKLY;COUNT=2"))
    assert (before.status_code, after.status_code) == (201, 201), (before.json, after.json)
    clash = user.post("/api/v1/bookings", json=booking_body(sem, day, "09:00", "11:01",
                                                            recurrence="FREQ=WEEKLY;COUNT=2"))
    assert clash.status_code == 409
    week_later = (at(day, "09:00") + timedelta(days=7)).isoformat()
    assert {c["occurrence"]["start"] for c in clash.json["conflicts"]} == {iso(day, "09:00"), week_later}


def _raw_booking(instrument, user, start: datetime, hours: float = 1, status="confirmed", **extra) -> Booking:
    end = start + timedelta(hours=hours)
    return Booking(instrument=instrument, user=user, start=start, end=end, occupied_until=end, status=status,
                   purpose="x", cost=0, firm_pays=0, **extra)


def test_the_database_refuses_overlapping_active_bookings_on_both_engines(make, day, app_context):
    """The last guard: whatever the checker says, two active bookings of an
    instrument never overlap (PostgreSQL: exclusion constraint; SQLite:
    triggers), on insert and on update, buffer included."""
    instrument, user = make.instrument(), make.user()
    first = _raw_booking(instrument, user, at(day, "10:00"))
    first.occupied_until = at(day, "11:15")  # a 15-minute buffer
    db.session.add(first)
    db.session.commit()
    refused = [
        _raw_booking(instrument, user, at(day, "10:30")),
        _raw_booking(instrument, user, at(day, "09:00"), hours=1.01),
        _raw_booking(instrument, user, at(day, "11:00")),            # inside the buffer
        _raw_booking(instrument, user, at(day, "10:00") - timedelta(days=6), hours=24 * 7),  # long, from before
        _raw_booking(instrument, user, at(day, "10:00"), status="pending"),
    ]
    for booking in refused:
        db.session.add(booking)
        with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
            db.session.commit()
        db.session.rollback()
    allowed = [
        _raw_booking(instrument, user, at(day, "09:00")),            # ends as it starts
        _raw_booking(instrument, user, at(day, "11:15")),            # starts as its buffer ends
        _raw_booking(instrument, user, at(day, "10:30"), status="cancelled"),
        _raw_booking(make.instrument(), user, at(day, "10:30")),     # another instrument
    ]
    db.session.add_all(allowed)
    db.session.commit()
    moved = allowed[0]
    moved.start, moved.end = at(day, "09:30"), at(day, "10:30")
    moved.occupied_until = moved.end
    with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
        db.session.commit()
    db.session.rollback()
    revived = db.session.get(Booking, allowed[2].id)
    revived.status = "confirmed"
    with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
        db.session.commit()
    db.session.rollback()
    too_long = _raw_booking(instrument, user, at(day, "10:00") + timedelta(days=20), hours=24 * 8 + 1)
    db.session.add(too_long)
    with pytest.raises(IntegrityError, match="occupied_span"):
        db.session.commit()
    db.session.rollback()
    assert violations() == []


def test_a_change_to_a_booking_not_read_under_its_lock_is_refused(app, make, day):
    """The locking rule by construction: a session of the application (not a
    test fixture's) that changes a booking it did not `lock()` raises."""
    instrument, user = make.instrument(), make.user()
    db.session.add(_raw_booking(instrument, user, at(day, "10:00")))
    db.session.commit()
    with app.app_context():
        booking = db.session.scalars(sa.select(Booking)).one()
        booking.purpose = "changed outside any write transaction"
        if db.engine.dialect.name == "sqlite":
            with pytest.raises(RuntimeError, match="outside begin_write_transaction"):
                db.session.flush()
        db.session.rollback()
        begin_write_transaction()
        booking = db.session.scalars(sa.select(Booking)).one()
        booking.purpose = "changed on a copy read without its lock"
        with pytest.raises(RuntimeError, match="without lock"):
            db.session.flush()
        db.session.rollback()
        booking = lock(Booking, booking.id)
        booking.purpose = "changed under the lock"
        db.session.commit()
        assert db.session.get(Booking, booking.id).purpose == "changed under the lock"


@pytest.mark.parametrize("locker", ["lock_row", "lock", "lock_all"])
def test_a_locked_instrument_lets_its_bookings_change(app, make, day, locker):
    """Found by the storm on PostgreSQL: a blackout (the instrument's row,
    then its bookings in id order) and a cancel of one of those bookings
    (its row, updated twice: status, then the voucher's part) deadlocked and
    the blackout answered 500. A row's second UPDATE in one transaction
    checks its foreign keys again, taking KEY SHARE on the instrument's row,
    which FOR UPDATE blocks. Rows are locked FOR NO KEY UPDATE (no key ever
    changes), which foreign-key checks pass."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: a second connection waits for the lock holder's commit")
    instrument, user = make.instrument(), make.user()
    booking = _raw_booking(instrument, user, at(day, "10:00"))
    db.session.add(booking)
    db.session.commit()
    booking_id, instrument_id = booking.id, instrument.id
    with app.app_context():  # the blackout's transaction holds the instrument
        if locker == "lock_row":
            lock_row("instruments", instrument_id)
        elif locker == "lock":
            lock(Instrument, instrument_id)
        else:
            lock_all(sa.select(Instrument).where(Instrument.id == instrument_id))
        with db.engine.connect() as cancel:  # the cancel's, on a connection of its own
            cancel.execute(sa.text("SET LOCAL lock_timeout = '3s'"))  # a wait fails the test
            for purpose in ("cancelled", "voucher part given back"):
                cancel.execute(sa.text("UPDATE bookings SET purpose = :p WHERE id = :id"),
                               {"p": purpose, "id": booking_id})
            cancel.rollback()
        db.session.rollback()


def test_parallel_cancels_release_a_voucher_hold_once(app, api, make, day, app_context):
    """Finding 2: twelve parallel cancels of one voucher-paid booking. One
    wins; the others see it cancelled (409); one release; the balance is
    what it was before the booking; the firm's other booking still cancels."""
    bureau = make.user(role="city_admin", city_code="jinhua")
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("300.00"))
    voucher = api.as_user(bureau).post("/api/v1/vouchers", json={
        "firm_id": firm_user.firm_id, "amount": "1000.00", "expires_on": NEXT_YEAR, "max_share": "0.5"}).json
    firm = api.as_user(firm_user)
    paid = firm.post("/api/v1/bookings", json=booking_body(instrument, day, "10:00", "12:00",
                                                           voucher_id=voucher["id"])).json
    other = firm.post("/api/v1/bookings", json=booking_body(instrument, day, "13:00", "14:00",
                                                            voucher_id=voucher["id"])).json
    assert (paid["voucher_amount"], other["voucher_amount"]) == ("300.00", "150.00")
    tokens = [issue_token(firm_user.email, "bench-key-4471")[0] for _ in range(12)]
    db.session.commit()

    with served(app) as base, ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(
            lambda token: http_json("POST", f"{base}/api/v1/bookings/{paid['id']}/cancel", {}, token=token),
            tokens))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 11, results
    db.session.expire_all()
    releases = db.session.scalar(sa.select(sa.func.count(VoucherEntry.id)).where(
        VoucherEntry.booking_id == paid["id"], VoucherEntry.kind == "release"))
    assert releases == 1
    assert db.session.get(Voucher, voucher["id"]).balance == Decimal("850.00")
    assert violations() == []
    assert firm.post(f"/api/v1/bookings/{other['id']}/cancel", json={}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Voucher, voucher["id"]).balance == Decimal("1000.00")
    assert violations() == []


def test_usage_is_recorded_only_once_the_booking_has_started(api, make, day, app_context):
    """Finding 11: recording usage of a booking still ahead captured its
    voucher money early. Refused (409), nothing captured."""
    bureau = make.user(role="city_admin", city_code="jinhua")
    manager = make.user(role="manager")
    firm_user = make.user()
    instrument = make.instrument(institution_id=manager.institution_id)
    voucher = api.as_user(bureau).post("/api/v1/vouchers", json={
        "firm_id": firm_user.firm_id, "amount": "1000.00", "expires_on": NEXT_YEAR, "max_share": "0.5"}).json
    booking = api.as_user(firm_user).post("/api/v1/bookings", json=booking_body(
        instrument, day, voucher_id=voucher["id"])).json
    now = datetime.now(UTC).replace(microsecond=0)
    usage = {"start": (now - timedelta(hours=2)).isoformat(), "end": (now - timedelta(hours=1)).isoformat(),
             "service_mode": "guided"}
    # Usage near a future booking, ending in the past: only "not started" can refuse it.
    db.session.execute(sa.update(Booking).where(Booking.id == booking["id"]).values(
        start=now + timedelta(hours=2), end=now + timedelta(hours=3), occupied_until=now + timedelta(hours=3)))
    db.session.commit()
    response = api.as_user(manager).post(f"/api/v1/bookings/{booking['id']}/usage", json=usage)
    assert response.status_code == 409, response.json
    db.session.expire_all()
    assert db.session.get(Booking, booking["id"]).status == "confirmed"
    assert db.session.scalar(sa.select(sa.func.count(VoucherEntry.id)).where(VoucherEntry.kind == "capture")) == 0


def test_a_checked_in_booking_completed_by_the_close_job_spends_its_voucher_money(api, make, day, app_context):
    """Found by the long model-based run: a voucher-paid booking that was
    checked in and then completed by the close-bookings job (no usage
    recorded) kept its hold for ever; neither captured nor released."""
    from instrument_share.booking.usage import check_in, close_past_bookings

    bureau = make.user(role="city_admin", city_code="jinhua")
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("300.00"))
    voucher = api.as_user(bureau).post("/api/v1/vouchers", json={
        "firm_id": firm_user.firm_id, "amount": "1000.00", "expires_on": NEXT_YEAR, "max_share": "0.5"}).json
    made = api.as_user(firm_user).post("/api/v1/bookings", json=booking_body(
        instrument, day, "10:00", "12:00", voucher_id=voucher["id"])).json
    assert made["voucher_amount"] == "300.00"
    booking = db.session.get(Booking, made["id"])
    check_in(booking, db.session.get(type(firm_user), firm_user.id), now=at(day, "09:45"))
    db.session.commit()
    counts = close_past_bookings(at(day, "12:30"))
    db.session.commit()
    assert counts["completed"] == 1
    db.session.expire_all()
    assert db.session.get(Booking, made["id"]).status == "completed"
    assert db.session.scalar(sa.select(VoucherEntry.amount).where(
        VoucherEntry.booking_id == made["id"], VoucherEntry.kind == "capture")) == Decimal("300.00")
    assert db.session.get(Voucher, voucher["id"]).balance == Decimal("700.00")
    assert violations() == []
