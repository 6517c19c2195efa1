"""The boundaries of the one conflict checker, through the public API."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from instrument_share.booking.services import create_booking
from instrument_share.errors import Conflict

from .conftest import at, iso


def book(client, instrument, start, end, purpose="SEM imaging of coatings", **extra):
    return client.post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": start, "end": end, "purpose": purpose, **extra
    })


@pytest.mark.parametrize(
    ("buffer", "start", "end", "free"),
    [
        (0, "12:00", "13:00", True),  # touching the end
        (0, "09:00", "10:00", True),  # touching the start
        (0, "11:59", "13:00", False),  # one minute over the end
        (0, "09:00", "10:01", False),  # one minute over the start
        (0, "10:30", "11:30", False),  # inside
        (0, "09:30", "12:30", False),  # around
        (0, "10:00", "12:00", False),  # the same
        (15, "12:00", "13:00", False),  # inside the buffer after it
        (15, "12:15", "13:00", True),  # right after the buffer
        (15, "09:00", "10:00", False),  # its own buffer runs into the next start
        (15, "09:00", "09:45", True),  # its own buffer ends at the next start
    ],
)
def test_boundaries(api, make, day, buffer, start, end, free):
    instrument = make.instrument(buffer_minutes=buffer)
    client = api.as_user(make.user())
    assert book(client, instrument, iso(day, "10:00"), iso(day, "12:00")).status_code == 201
    response = book(client, instrument, iso(day, start), iso(day, end))
    assert response.status_code == (201 if free else 409), response.json
    if not free:
        assert response.json["error"] == "conflict"
        assert {c["kind"] for c in response.json["conflicts"]} == {"booking"}


@pytest.mark.parametrize(
    ("start", "end", "free"),
    [
        ("{d}T02:00:00Z", "{d}T03:00:00Z", False),  # 10:00–11:00 in Shanghai, sent in UTC
        ("{d}T04:00:00Z", "{d}T05:00:00Z", True),  # 12:00–13:00 in Shanghai
        ("{d}T13:00:00+09:00", "{d}T14:00:00+09:00", True),  # 12:00–13:00 in Shanghai
        ("{d}T12:59:00+09:00", "{d}T14:00:00+09:00", False),
        ("{d}T12:00:00", "{d}T13:00:00", True),  # naive: the platform zone
        ("{d}T11:00:00", "{d}T13:00:00", False),
        ("{d}T04:00:00+00:00", "{d}T05:00:00+00:00", True),
    ],
)
def test_time_zones_and_naive_times(api, make, day, start, end, free):
    instrument = make.instrument()
    client = api.as_user(make.user())
    assert book(client, instrument, iso(day, "10:00"), iso(day, "12:00")).status_code == 201
    response = book(client, instrument, start.format(d=day), end.format(d=day))
    assert response.status_code == (201 if free else 409), response.json
    if free:
        assert response.json["start"].endswith("+08:00")


def test_closed_hours_and_holidays(api, make, day, app_context):
    instrument = make.instrument()
    user = make.user()
    client = api.as_user(user)
    response = book(client, instrument, iso(day, "16:00"), iso(day, "18:00"))
    assert response.status_code == 409
    assert response.json["conflicts"] == [
        {"start": iso(day, "17:00"), "end": iso(day, "18:00"), "kind": "closed"}
    ]
    # National Day 2026 (a Thursday), booked a week before it: the clock is
    # set, so the test does not depend on which holiday is next.
    holiday = date(2026, 10, 1)
    week_before = at(holiday, "10:00") - timedelta(days=7)
    with pytest.raises(Conflict) as refused:
        create_booking(user, instrument.id, at(holiday, "10:00"), at(holiday, "11:00"), "国庆", now=week_before)
    assert [c["kind"] for c in refused.value.extra["conflicts"]] == ["closed"]
    open_anyway = make.instrument(open_on_holidays=True)
    made = create_booking(user, open_anyway.id, at(holiday, "10:00"), at(holiday, "11:00"), "国庆", now=week_before)
    assert made[0].status == "confirmed"


def test_across_midnight_and_midnight_edges(api, make, day):
    always = [(d, 0, 1440) for d in range(7)]
    instrument = make.instrument(hours=always, max_booking_minutes=1440)
    client = api.as_user(make.user())
    next_day = day + timedelta(days=1)
    assert book(client, instrument, iso(day, "22:00"), iso(next_day, "02:00")).status_code == 201
    assert book(client, instrument, iso(next_day, "02:00"), iso(next_day, "04:00")).status_code == 201
    assert book(client, instrument, iso(day, "20:00"), iso(day, "22:00")).status_code == 201
    assert book(client, instrument, iso(next_day, "00:00"), iso(next_day, "01:00")).status_code == 409
    assert book(client, instrument, iso(day, "23:00"), iso(next_day, "00:00")).status_code == 409
    other = make.instrument(hours=always)
    assert book(client, other, iso(day, "00:00"), iso(day, "02:00")).status_code == 201
    assert book(client, other, iso(day, "22:00"), iso(next_day, "00:00")).status_code == 201


def test_blackout_blocks(api, make, day):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    response = api.as_user(manager).post(
        f"/api/v1/instruments/{instrument.id}/blackouts",
        json={"start": iso(day, "13:00"), "end": iso(day, "15:00"), "reason": "年度维护"},
    )
    assert response.status_code == 201
    client = api.as_user(make.user())
    blocked = book(client, instrument, iso(day, "14:00"), iso(day, "16:00"))
    assert blocked.status_code == 409
    assert blocked.json["conflicts"] == [{"start": iso(day, "13:00"), "end": iso(day, "15:00"), "kind": "blackout"}]
    assert book(client, instrument, iso(day, "15:00"), iso(day, "16:00")).status_code == 201


def test_conflict_suggests_nearest_free_slots_of_the_same_length(api, make, day):
    instrument = make.instrument()
    client = api.as_user(make.user())
    assert book(client, instrument, iso(day, "09:00"), iso(day, "12:00")).status_code == 201
    assert book(client, instrument, iso(day, "13:00"), iso(day, "14:00")).status_code == 201
    response = book(client, instrument, iso(day, "10:00"), iso(day, "12:00"))
    suggestions = response.json["suggestions"]
    assert 1 <= len(suggestions) <= 5
    assert suggestions[0] == {"start": iso(day, "14:00"), "end": iso(day, "16:00")}
    for s in suggestions:
        assert book(client, instrument, s["start"], s["end"]).status_code == 201
        break
    # Each suggestion lasts two hours, and none reveals who booked.
    assert "user" not in str(response.json) and "purpose" not in str(response.json)


def test_pending_booking_holds_its_slot(api, make, day):
    instrument = make.instrument(requires_approval=True)
    client = api.as_user(make.user())
    first = book(client, instrument, iso(day, "10:00"), iso(day, "12:00"))
    assert first.status_code == 201 and first.json["status"] == "pending"
    assert book(client, instrument, iso(day, "11:00"), iso(day, "13:00")).status_code == 409


def test_cancel_then_rebook(api, make, day):
    instrument = make.instrument()
    client = api.as_user(make.user())
    first = book(client, instrument, iso(day, "10:00"), iso(day, "12:00")).json
    assert client.post(f"/api/v1/bookings/{first['id']}/cancel", json={}).json["status"] == "cancelled"
    assert book(client, instrument, iso(day, "10:00"), iso(day, "12:00")).status_code == 201


def test_reschedule_never_conflicts_with_itself(api, make, day):
    instrument = make.instrument()
    client = api.as_user(make.user())
    booking = book(client, instrument, iso(day, "10:00"), iso(day, "12:00")).json
    moved = client.patch(f"/api/v1/bookings/{booking['id']}", json={"start": iso(day, "11:00"), "end": iso(day, "13:00")})
    assert moved.status_code == 200, moved.json
    assert (moved.json["start"], moved.json["end"], moved.json["sequence"]) == (iso(day, "11:00"), iso(day, "13:00"), 1)
    assert moved.json["cost"] == "600.00"
    other = book(client, instrument, iso(day, "14:00"), iso(day, "15:00")).json
    onto_other = client.patch(f"/api/v1/bookings/{booking['id']}", json={"start": iso(day, "14:00"), "end": iso(day, "16:00")})
    assert onto_other.status_code == 409
    assert client.get(f"/api/v1/bookings/{booking['id']}").json["start"] == iso(day, "11:00")
    assert other["id"]


def test_series_all_or_nothing(api, make, day):
    instrument = make.instrument()
    client = api.as_user(make.user())
    third = day + timedelta(weeks=2)
    assert book(client, instrument, iso(third, "10:30"), iso(third, "11:00")).status_code == 201
    response = book(client, instrument, iso(day, "10:00"), iso(day, "12:00"), recurrence="FREQ=WEEKLY;COUNT=4")
    assert response.status_code == 409
    assert [c["occurrence"]["start"] for c in response.json["conflicts"]] == [iso(third, "10:00")]
    listing = client.get("/api/v1/bookings").json
    assert listing["total"] == 1  # nothing of the series was written

    created = book(client, instrument, iso(day, "14:00"), iso(day, "16:00"), recurrence="FREQ=WEEKLY;COUNT=4")
    assert created.status_code == 201, created.json
    starts = [o["start"] for o in created.json["occurrences"]]
    assert starts == [iso(day + timedelta(weeks=n), "14:00") for n in range(4)]
    assert len({o["series_id"] for o in created.json["occurrences"]}) == 1


def test_suspended_user_may_not_book(api, make, day, app_context):
    from datetime import UTC, datetime

    from instrument_share.extensions import db

    user = make.user()
    user.booking_suspended_at = datetime.now(UTC)
    db.session.commit()
    response = book(api.as_user(user), make.instrument(), iso(day, "10:00"), iso(day, "11:00"))
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"


def test_at(day):
    assert at(day, "10:00").utcoffset() == timedelta(hours=8)
