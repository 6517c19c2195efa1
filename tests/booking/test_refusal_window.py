"""A refusal's suggestions at the edges of the window they read (issue #20).

The conflict path reads a bounded window around the request: bookings from
the longest slot before it, blackouts in it, the buffer's reach after it.
Each test builds a calendar whose right answer depends on an edge of that
window and compares the 409's suggestions with a brute-force oracle: every
slot of the requested length on the 15-minute grid in the suggestion window
(two weeks either side of the request, after the advance notice, before the
booking horizon), asked of the conflict checker one by one; one candidate
per run of free slots (the one nearest the request), the five nearest."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from instrument_share.booking.availability import SUGGESTION_HORIZON
from instrument_share.booking.conflicts import _calendar_statement, find_conflicts
from instrument_share.booking.models import Booking
from instrument_share.booking.rules import BOOKING_HORIZON
from instrument_share.extensions import db
from instrument_share.timeutil import isoformat_platform

from .conftest import SHANGHAI, at, iso
from .test_conflicts import book

ALWAYS_OPEN = [(d, 0, 1440) for d in range(7)]
STEP = timedelta(minutes=15)


def put(instrument, user, start, end, status="confirmed"):
    """A booking written straight to the table (as history is), holding its buffer."""
    db.session.add(Booking(instrument=instrument, user=user, start=start, end=end,
                           occupied_until=end + timedelta(minutes=instrument.buffer_minutes), status=status,
                           purpose="history", cost=0, firm_pays=0))
    db.session.commit()


def oracle(instrument, start, end, now, limit=5):
    """The suggestions by brute force (see the module's docstring)."""
    length = end - start
    low = max(now + timedelta(hours=instrument.advance_notice_hours), start - SUGGESTION_HORIZON)
    high = min(end + SUGGESTION_HORIZON, now + BOOKING_HORIZON + length)
    moment = datetime.fromtimestamp(-(-low.timestamp() // STEP.total_seconds()) * STEP.total_seconds(), UTC)
    grid = []
    while moment + length <= high:
        grid.append(moment)
        moment += STEP
    free = [s for s, found in zip(grid, find_conflicts(instrument, [(s, s + length) for s in grid]), strict=True)
            if not found]
    runs, candidates = [], []
    for moment in free:
        if runs and moment - runs[-1][-1] == STEP:
            runs[-1].append(moment)
        else:
            runs.append([moment])
    for run in runs:
        wanted = min(max(start, run[0]), run[-1])
        candidates.append((abs((wanted - start).total_seconds()), wanted))
    return [{"start": isoformat_platform(s), "end": isoformat_platform(s + length)}
            for _, s in sorted(candidates)[:limit]]


def refused(client, instrument, start, end, **extra):
    response = book(client, instrument, start.isoformat(), end.isoformat(), **extra)
    assert response.status_code == 409, response.json
    return response.json["suggestions"]


def test_a_far_future_request_gets_no_suggestion_beyond_the_horizon(api, make):
    """A year ahead, the window's far edge lies past the booking horizon:
    the free time after a booking that reaches beyond it is not offered
    (a booking there would be refused), the free time before it is."""
    instrument = make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True, max_booking_minutes=7 * 1440)
    user = make.user()
    now = datetime.now(UTC)
    request = (now + BOOKING_HORIZON - timedelta(days=1)).astimezone(SHANGHAI).replace(minute=0, second=0,
                                                                                      microsecond=0)
    put(instrument, user, request - timedelta(days=4), request + timedelta(days=2))
    suggestions = refused(api.as_user(user), instrument, request, request + timedelta(hours=1))
    before = request - timedelta(days=4)
    assert suggestions == [{"start": isoformat_platform(before - timedelta(hours=1)), "end": isoformat_platform(before)}]
    assert suggestions == oracle(instrument, request, request + timedelta(hours=1), now)


def test_a_booking_begun_before_the_window_still_holds_its_time(api, make, day):
    """A seven-day booking that began six days before the suggestion window
    still holds its first day; the rest of the window is booked back to
    back but for its very last hour, where the only suggestion is."""
    instrument = make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True, max_booking_minutes=7 * 1440)
    user = make.user()
    request = at(day + timedelta(days=20), "10:00")
    low, high = request - SUGGESTION_HORIZON, request + timedelta(hours=1) + SUGGESTION_HORIZON
    put(instrument, user, low - timedelta(days=6), low + timedelta(days=1))
    moment = low + timedelta(days=1)
    while moment < high - timedelta(hours=1):
        until = min(moment + timedelta(days=7), high - timedelta(hours=1))
        put(instrument, user, moment, until)
        moment = until
    put(instrument, user, high, high + timedelta(days=1))  # right after the window
    suggestions = refused(api.as_user(user), instrument, request, request + timedelta(hours=1))
    assert suggestions == [{"start": isoformat_platform(high - timedelta(hours=1)), "end": isoformat_platform(high)}]
    assert suggestions == oracle(instrument, request, request + timedelta(hours=1), datetime.now(UTC))


def test_long_buffers_at_both_edges_of_the_window(api, make, day):
    """A day of buffer: a booking just past the window's end still keeps a
    slot's buffer out of it, one just before its start still holds the
    window's first day; cancelled and completed ones hold nothing."""
    instrument = make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True, buffer_minutes=1440,
                                 max_booking_minutes=7 * 1440)
    user = make.user()
    request = at(day + timedelta(days=20), "10:00")
    low, high = request - SUGGESTION_HORIZON, request + timedelta(hours=1) + SUGGESTION_HORIZON
    put(instrument, user, low - timedelta(hours=2), low)  # its buffer holds [low, low + 1 day)
    put(instrument, user, request - timedelta(hours=3), request + timedelta(hours=3))
    put(instrument, user, high + timedelta(hours=12), high + timedelta(hours=13))  # past the window, in a buffer's reach
    for days in range(-13, 14, 3):  # some history that holds nothing
        start = request + timedelta(days=days, hours=5)
        put(instrument, user, start, start + timedelta(hours=2), status="cancelled")
    # Busy 20 hours every third day: with the buffers, three hours of starts free between.
    for days in (-12, -9, -6, -3, 3, 6, 9, 12):
        start = request + timedelta(days=days)
        put(instrument, user, start, start + timedelta(hours=20))
    suggestions = refused(api.as_user(user), instrument, request, request + timedelta(hours=1))
    assert suggestions == oracle(instrument, request, request + timedelta(hours=1), datetime.now(UTC))
    assert len(suggestions) == 5
    assert all(find_conflicts(instrument, [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]))])
               == [[]] for s in suggestions)


def test_a_series_gets_suggestions_around_its_first_blocked_occurrence(api, make, day):
    """A weekly series blocked only in its eighth week: the suggestions are
    read around that occurrence, seven weeks from the series' start, with
    its buffer and a blackout the next day."""
    instrument = make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True, buffer_minutes=30)
    user = make.user()
    eighth = day + timedelta(weeks=7)
    put(instrument, user, at(eighth, "09:00"), at(eighth, "12:00"))
    put(instrument, user, at(eighth, "13:00"), at(eighth, "17:00"))
    put(instrument, user, at(day, "13:00"), at(day, "14:00"), status="cancelled")
    client = api.as_user(user)
    manager = api.as_user(make.user(role="admin"))
    blackout = manager.post(f"/api/v1/instruments/{instrument.id}/blackouts", json={
        "start": iso(eighth + timedelta(days=1), "09:00"), "end": iso(eighth + timedelta(days=1), "17:00"),
        "reason": "年度维护"})
    assert blackout.status_code == 201, blackout.json
    response = book(client, instrument, iso(day, "10:00"), iso(day, "11:00"), recurrence="FREQ=WEEKLY;COUNT=10")
    assert response.status_code == 409, response.json
    assert {c["occurrence"]["start"] for c in response.json["conflicts"]} == {iso(eighth, "10:00")}
    suggestions = response.json["suggestions"]
    assert suggestions == oracle(instrument, at(eighth, "10:00"), at(eighth, "11:00"), datetime.now(UTC))
    assert suggestions[0] == {"start": iso(eighth, "07:30"), "end": iso(eighth, "08:30")}  # ends a buffer before 09:00
    assert not [s for s in suggestions if iso(eighth + timedelta(days=1), "09:00") < s["end"]
                and s["start"] < iso(eighth + timedelta(days=1), "17:00")]  # nothing in the blackout


def test_the_window_is_read_from_the_index_of_active_bookings(app_context):
    """The statuses are written into the statement (conflicts.active_sql):
    SQLite uses the partial index of active bookings only then; PostgreSQL
    reads an index of active bookings only (in a generic plan it can do so
    only then, README: booking rules), not the whole history's."""
    statement = _calendar_statement(False, True)
    values = {"instrument_id": 1, "low": datetime(2026, 1, 5, tzinfo=UTC), "high": datetime(2026, 1, 6, tzinfo=UTC),
              "from_start": datetime(2025, 12, 28, tzinfo=UTC), "booked_until": datetime(2026, 1, 6, tzinfo=UTC)}
    sent = []

    def keep(_conn, _cursor, text, parameters, *_):
        sent.append((text, parameters))

    connection = db.session.connection()
    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        connection.execute(statement, values).all()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    [(text, parameters)] = sent
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {text}", parameters))
    else:
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {text}", parameters))
        # On an empty table the exclusion constraint's index (also of active
        # bookings only) may be the cheaper: either shows the condition is matched.
        plan = plan.replace("ex_bookings_no_overlap", "ix_bookings_active_instrument_id_start")
    assert "ix_bookings_active_instrument_id_start" in plan and "ix_bookings_instrument_id_start" not in plan, plan
    db.session.rollback()


def test_a_quote_near_the_horizon_suggests_what_a_booking_would_get(api, make):
    """Found by review: the quote's suggestions ignored the booking horizon,
    offering the free time after a booking that reaches past it, where a
    booking is refused. The quote suggests what the 409 suggests."""
    instrument = make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True, max_booking_minutes=7 * 1440)
    user = make.user()
    now = datetime.now(UTC)
    request = (now + BOOKING_HORIZON - timedelta(days=1)).astimezone(SHANGHAI).replace(minute=0, second=0,
                                                                                      microsecond=0)
    put(instrument, user, request - timedelta(days=4), request + timedelta(days=2))
    client = api.as_user(user)
    quoted = client.post("/api/v1/bookings/quote", json={
        "instrument_id": instrument.id, "start": request.isoformat(),
        "end": (request + timedelta(hours=1)).isoformat(), "purpose": "XRD of a powder"})
    assert quoted.status_code == 200, quoted.json
    assert quoted.json["suggestions"] == refused(client, instrument, request, request + timedelta(hours=1))
