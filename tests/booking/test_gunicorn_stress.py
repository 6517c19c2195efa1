"""Double booking under load on a real gunicorn (issue #8).

32 clients × 50 booking attempts against gunicorn's sync workers as
deployed (README, "Deploying on PostgreSQL": `gunicorn -w 4`): 4 workers on
PostgreSQL, 2 on SQLite, over the database the `app` fixture migrated.
Afterwards no two active bookings of an instrument overlap, buffer
included, and every 201 is a row.
"""
from __future__ import annotations

import http.client
import json
import random
import resource
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from instrument_share.accounts.services import issue_token
from instrument_share.booking.models import ACTIVE_STATUSES, Booking
from instrument_share.extensions import db

from .conftest import SHANGHAI, at, workday

CLIENTS = 32
ATTEMPTS = 50
INSTRUMENTS = 8
DAYS = 5
USERS = 8
BUFFER_MINUTES = 10
LENGTHS = (30, 60, 90)  # minutes


def workdays(count: int) -> list:
    today = datetime.now(SHANGHAI).date()
    days = [workday(3)]
    while len(days) < count:
        days.append(workday((days[-1] - today).days + 1))
    return days


@pytest.mark.slow
def test_32_clients_x_50_attempts_on_gunicorn_leave_no_overlap(app, make, database_url, gunicorn):
    on_postgres = database_url.startswith("postgresql")
    workers = 4 if on_postgres else 2
    instruments = [make.instrument(buffer_minutes=BUFFER_MINUTES, max_booking_minutes=480)
                   for _ in range(INSTRUMENTS)]
    instrument_ids = [i.id for i in instruments]
    tokens = []
    for _ in range(USERS):
        user = make.user(role="firm")
        token, _ = issue_token(user.email, "bench-key-4471")
        tokens.append(token)
    db.session.commit()
    days = workdays(DAYS)

    # Every attempt: an instrument, a day, a start on the quarter hour from
    # 09:00 and a length that ends by 17:00: 3,240 distinct requests on 40
    # instrument-days that hold about 220 bookings, asked 32 at a time:
    # many races, mostly refusals, a fair number of successes.
    rng = random.Random(8)
    plans = []
    for client in range(CLIENTS):
        attempts = []
        for _ in range(ATTEMPTS):
            length = rng.choice(LENGTHS)
            latest = (17 * 60 - length - 9 * 60) // 15
            start = at(rng.choice(days), "09:00") + timedelta(minutes=15 * rng.randint(0, latest))
            attempts.append((rng.choice(instrument_ids), start, start + timedelta(minutes=length)))
        plans.append((tokens[client % USERS], attempts))

    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = gunicorn(workers)
    results: list[tuple[int, int, object, object, int | None]] = []
    failures: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(CLIENTS)

    def client(token, attempts):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        mine = []
        try:
            go.wait()
            for n, (instrument_id, start, end) in enumerate(attempts):
                body = json.dumps({"instrument_id": instrument_id, "start": start.isoformat(),
                                   "end": end.isoformat(), "purpose": f"压力测试 {n}"})
                try:
                    conn.request("POST", "/api/v1/bookings", body, {
                        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                    response = conn.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as error:
                    # A sync worker closes the connection after each answer;
                    # http.client reconnects by itself, so this is a real failure.
                    conn.close()
                    mine.append((0, instrument_id, start, end, None))
                    with lock:
                        failures.append(repr(error))
                    continue
                booking_id = json.loads(payload)["id"] if response.status == 201 else None
                if response.status not in (201, 409):
                    with lock:
                        failures.append(f"{response.status}: {payload[:300]!r}")
                mine.append((response.status, instrument_id, start, end, booking_id))
        finally:
            conn.close()
            with lock:
                results.extend(mine)

    threads = [threading.Thread(target=client, args=plan) for plan in plans]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    duration = time.monotonic() - began
    assert not any(t.is_alive() for t in threads), "clients still running"
    server.stop()  # gunicorn's CPU time (master and workers) counts once it is reaped
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)

    statuses = Counter(status for status, *_ in results)
    db.session.expire_all()
    overlaps = db.session.execute(sa.text(
        "SELECT count(*) FROM bookings a JOIN bookings b"
        " ON a.instrument_id = b.instrument_id AND a.id < b.id"
        " AND a.start < b.occupied_until AND b.start < a.occupied_until"
        " WHERE a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')"
    )).scalar_one()
    rows = db.session.execute(
        sa.select(Booking.id, Booking.instrument_id, Booking.start, Booking.end, Booking.occupied_until)
        .where(Booking.instrument_id.in_(instrument_ids), Booking.status.in_(ACTIVE_STATUSES))
    ).all()
    figures = (f"gunicorn {workers} sync workers on {'PostgreSQL' if on_postgres else 'SQLite'}: "
               f"{len(results)} attempts, {statuses[201]} booked (201), {statuses[409]} refused (409), "
               f"other {len(results) - statuses[201] - statuses[409]}, {overlaps} overlaps, "
               f"{duration:.1f} s ({len(results) / duration:.0f} requests/s), "
               f"gunicorn CPU {cpu:.1f} s ({1000 * cpu / len(results):.0f} ms a request)")
    print(figures)

    assert not failures, f"{len(failures)} answers neither 201 nor 409, e.g. {failures[:5]}\n{server.stderr()}"
    assert len(results) == CLIENTS * ATTEMPTS
    assert set(statuses) == {201, 409}, figures  # both outcomes, nothing else
    assert overlaps == 0, figures
    buffer = timedelta(minutes=BUFFER_MINUTES)
    assert all(occupied - end == buffer for _, _, _, end, occupied in rows)
    assert statuses[201] == len(rows), figures
    assert {r[4] for r in results if r[0] == 201} == {row.id for row in rows}
    # No false refusal: whatever was refused overlaps a booking that stands.
    standing: dict[int, list] = {}
    for _, instrument_id, start, _, occupied in rows:
        standing.setdefault(instrument_id, []).append((start, occupied))
    for status, instrument_id, start, end, _ in results:
        if status == 409:
            assert any(s < end + buffer and start < o for s, o in standing[instrument_id]), (
                f"refused though free: {instrument_id} {start}–{end}")
