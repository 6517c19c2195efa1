"""Double booking is impossible: concurrent requests at a served app."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from instrument_share.accounts.services import issue_token
from instrument_share.booking.models import Booking
from instrument_share.errors import Conflict
from instrument_share.extensions import db

from ..served import http_json, served
from .conftest import at

REQUESTS = 32


def test_concurrent_overlapping_requests_book_no_overlap(app, make, day):
    instrument = make.instrument(buffer_minutes=10, max_booking_minutes=480)
    users = [make.user() for _ in range(4)]
    tokens = []
    for user in users:
        token, _ = issue_token(user.email, "bench-key-4471")
        tokens.append(token)
    db.session.commit()
    instrument_id = instrument.id
    # 32 one-hour requests starting every 15 minutes from 09:00: each
    # overlaps its neighbours, so at most one in four can succeed.
    wanted = [(at(day, "09:00") + timedelta(minutes=15 * k)) for k in range(REQUESTS)]
    wanted = [(s, s + timedelta(hours=1)) for s in wanted if s + timedelta(hours=1) <= at(day, "17:00")]
    wanted = (wanted * 2)[:REQUESTS]  # every slot asked for twice

    with served(app) as base:
        def attempt(index):
            start, end = wanted[index]
            return http_json("POST", f"{base}/api/v1/bookings", {
                "instrument_id": instrument_id, "start": start.isoformat(), "end": end.isoformat(),
                "purpose": f"并发测试 {index}"}, token=tokens[index % len(tokens)])

        with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            results = list(pool.map(attempt, range(REQUESTS)))

    statuses = [status for status, _ in results]
    assert set(statuses) <= {201, 409}, statuses
    won = [wanted[i] for i, (status, _) in enumerate(results) if status == 201]
    assert won
    buffer = timedelta(minutes=10)
    for i, (s1, e1) in enumerate(won):
        for s2, e2 in won[i + 1:]:
            assert not (s1 < e2 + buffer and s2 < e1 + buffer), "overlap among successes"
    for i, (status, _) in enumerate(results):
        if status == 409:
            s, e = wanted[i]
            assert any(s < e2 + buffer and s2 < e + buffer for s2, e2 in won), "refused though free"
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(Booking.start, Booking.occupied_until).where(Booking.instrument_id == instrument_id)
        .order_by(Booking.start)
    ).all()
    assert len(rows) == len(won)
    for (_, first_end), (second_start, _) in zip(rows, rows[1:], strict=False):
        assert first_end <= second_start


def test_the_database_guard_becomes_a_409(make, day):
    """PostgreSQL's exclusion constraint and SQLite's triggers refuse the same
    overlap, and the booking service turns either refusal into a 409."""
    from instrument_share.booking.services import _flush_guarded

    instrument = make.instrument()
    user = make.user()

    def overlapping(start: datetime) -> Booking:
        return Booking(instrument=instrument, user=user, start=start, end=start + timedelta(hours=1),
                       occupied_until=start + timedelta(hours=1), status="confirmed", purpose="x",
                       cost=0, firm_pays=0)

    db.session.add(overlapping(at(day, "10:00")))
    db.session.commit()
    db.session.add(overlapping(at(day, "10:30")))
    with pytest.raises(Conflict):
        _flush_guarded()
    db.session.rollback()
    db.session.add(overlapping(at(day, "10:30")))
    with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"):
        db.session.commit()
    db.session.rollback()
    cancelled = overlapping(at(day, "10:30"))
    cancelled.status = "cancelled"
    db.session.add(cancelled)
    db.session.commit()  # inactive bookings do not hold the slot
