"""Edges of the conflict checker that mutation testing found untested
(issue #21, `make mutation`): a booking inside a series' span that ends
exactly as a later occurrence starts, what a 409 says about the slot in the
way, blackouts of other instruments, and availability at the edges of the
asked range. Through the API, on both engines."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from .conftest import SHANGHAI, at, iso, workday
from .test_conflicts import book

ALWAYS_OPEN = [(d, 0, 1440) for d in range(7)]


@pytest.mark.parametrize("buffer", [0, 15])
def test_series_back_to_back_with_a_booking_inside_the_series(api, make, day, buffer):
    """A booking on the series' second day, 11:00–12:00, holds its slot until
    12:00 plus the buffer. Daily occurrences may start right when that slot
    ends, or end (with their own buffer) right when it starts; a minute more
    either way is a conflict of that occurrence alone, naming the slot.
    Unlike a booking next to the series' first occurrence, this one lies
    inside the span the checker reads for the whole series, so only the
    half-open comparison of each occurrence keeps the touching ones free."""
    instrument = make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True, buffer_minutes=buffer)
    second = day + timedelta(days=1)
    other = api.as_user(make.user())
    assert book(other, instrument, iso(second, "11:00"), iso(second, "12:00")).status_code == 201
    slot = {"start": iso(second, "11:00"), "end": (at(second, "12:00") + timedelta(minutes=buffer)).isoformat(),
            "kind": "booking"}
    user = api.as_user(make.user())
    minute, gap = timedelta(minutes=1), timedelta(minutes=buffer)

    def series(start, end):
        return book(user, instrument, start.isoformat(), end.isoformat(), recurrence="FREQ=DAILY;COUNT=3")

    after_start = at(day, "12:00") + gap
    before_end = at(day, "11:00") - gap
    for start, end in [(after_start - minute, after_start + timedelta(hours=1)),  # starts a minute early
                       (before_end - timedelta(hours=1), before_end + minute)]:  # ends a minute late
        refused = series(start, end)
        assert refused.status_code == 409, refused.json
        occurrence = {"start": (start + timedelta(days=1)).isoformat(), "end": (end + timedelta(days=1)).isoformat()}
        assert refused.json["conflicts"] == [{**slot, "occurrence": occurrence}]

    after = series(after_start, after_start + timedelta(hours=1))
    assert after.status_code == 201, after.json
    before = series(before_end - timedelta(hours=1), before_end)
    assert before.status_code == 201, before.json
    assert [o["start"] for o in after.json["occurrences"]] == [
        (after_start + timedelta(days=n)).isoformat() for n in range(3)]
    assert [o["end"] for o in before.json["occurrences"]] == [
        (before_end + timedelta(days=n)).isoformat() for n in range(3)]


def test_each_instrument_has_a_calendar_of_its_own(api, make, day):
    """Another instrument's bookings and blackouts block nothing here, whichever
    was created first; this one's blackouts are all named, in time order (they
    may overlap: the inner one was created first)."""
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    neighbour = make.instrument(institution_id=manager.institution_id)  # created later: a larger id
    mgr = api.as_user(manager)
    for target, start, end in [(instrument, "14:00", "15:00"), (instrument, "13:00", "16:00"),
                               (neighbour, "10:00", "12:00")]:
        created = mgr.post(f"/api/v1/instruments/{target.id}/blackouts",
                           json={"start": iso(day, start), "end": iso(day, end), "reason": "维护"})
        assert created.status_code == 201, created.json
    client = api.as_user(make.user())
    for target, start, end in [(neighbour, "09:00", "10:00"), (instrument, "09:00", "10:00"),
                               (instrument, "10:00", "12:00"), (neighbour, "13:00", "16:00")]:
        response = book(client, target, iso(day, start), iso(day, end))
        assert response.status_code == 201, (target.id, start, response.json)
    refused = book(client, instrument, iso(day, "12:30"), iso(day, "16:30"))
    assert refused.status_code == 409
    assert refused.json["conflicts"] == [
        {"start": iso(day, "13:00"), "end": iso(day, "16:00"), "kind": "blackout"},
        {"start": iso(day, "14:00"), "end": iso(day, "15:00"), "kind": "blackout"},
    ]
    assert book(client, neighbour, iso(day, "11:00"), iso(day, "12:00")).json["conflicts"] == [
        {"start": iso(day, "10:00"), "end": iso(day, "12:00"), "kind": "blackout"}]


def test_availability_shows_only_what_lies_in_the_asked_range(api, client, make, day):
    """Bookings and blackouts that end as the range starts, start as it
    ends, or lie further away are not in it; those across an edge are cut
    at it."""
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    booker = api.as_user(make.user())
    # The next working day (found failing on a Friday: a Saturday is closed).
    next_day = workday((day - datetime.now(SHANGHAI).date()).days + 1)
    for d, start, end in [(day, "09:00", "10:00"), (day, "15:00", "16:00"), (next_day, "10:00", "11:00")]:
        assert book(booker, instrument, iso(d, start), iso(d, end)).status_code == 201
    for d, start, end in [(day, "12:00", "13:00"), (next_day, "14:00", "15:00")]:
        assert api.as_user(manager).post(f"/api/v1/instruments/{instrument.id}/blackouts", json={
            "start": iso(d, start), "end": iso(d, end), "reason": "校准"}).status_code == 201

    def availability(start, end):
        response = client.get(f"/api/v1/instruments/{instrument.id}/availability",
                              query_string={"from": iso(day, start), "to": iso(day, end)})
        assert response.status_code == 200
        return response.json

    for start, end in [("10:00", "12:00"), ("13:00", "15:00")]:
        assert availability(start, end) == {"busy": [], "free": [{"start": iso(day, start), "end": iso(day, end)}]}
    assert availability("09:30", "12:30") == {
        "busy": [{"start": iso(day, "09:30"), "end": iso(day, "10:00"), "kind": "booking"},
                 {"start": iso(day, "12:00"), "end": iso(day, "12:30"), "kind": "blackout"}],
        "free": [{"start": iso(day, "10:00"), "end": iso(day, "12:00")}],
    }
