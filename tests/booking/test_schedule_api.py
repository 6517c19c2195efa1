"""Availability, opening hours, blackouts and the free-time search."""
from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import iso
from .test_conflicts import book


def test_availability_shows_busy_kinds_and_free_time(api, client, make, day):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id, buffer_minutes=15)
    booker = api.as_user(make.user())
    assert book(booker, instrument, iso(day, "10:00"), iso(day, "11:00")).status_code == 201
    api.as_user(manager).post(f"/api/v1/instruments/{instrument.id}/blackouts",
                              json={"start": iso(day, "14:00"), "end": iso(day, "15:00"), "reason": "校准"})
    response = client.get(f"/api/v1/instruments/{instrument.id}/availability",
                          query_string={"from": iso(day, "00:00"), "to": iso(day + timedelta(days=1), "00:00")})
    assert response.status_code == 200
    assert response.json["busy"] == [
        {"start": iso(day, "00:00"), "end": iso(day, "09:00"), "kind": "closed"},
        {"start": iso(day, "10:00"), "end": iso(day, "11:15"), "kind": "booking"},
        {"start": iso(day, "14:00"), "end": iso(day, "15:00"), "kind": "blackout"},
        {"start": iso(day, "17:00"), "end": iso(day + timedelta(days=1), "00:00"), "kind": "closed"},
    ]
    assert response.json["free"] == [
        {"start": iso(day, "09:00"), "end": iso(day, "10:00")},
        {"start": iso(day, "11:15"), "end": iso(day, "14:00")},
        {"start": iso(day, "15:00"), "end": iso(day, "17:00")},
    ]
    assert "purpose" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [{}, {"from": "2026-12-01T00:00:00+08:00"}, {"from": "x", "to": "y"},
     {"from": "2026-12-02T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"},
     {"from": "2026-01-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"}],
)
def test_availability_bad_ranges(client, make, query):
    instrument = make.instrument()
    response = client.get(f"/api/v1/instruments/{instrument.id}/availability", query_string=query)
    assert response.status_code == 422


def test_availability_unknown_instrument(client):
    response = client.get("/api/v1/instruments/999/availability",
                          query_string={"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"})
    assert response.status_code == 404


def test_opening_hours_replace_merge_and_refuse(api, client, make):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    mgr = api.as_user(manager)
    url = f"/api/v1/instruments/{instrument.id}/opening-hours"
    rows = [{"weekday": 0, "open": "08:30", "close": "11:30"}, {"weekday": 0, "open": "11:30", "close": "17:00"},
            {"weekday": 5, "open": "09:00", "close": "24:00"}]
    response = mgr.put(url, json=rows)
    assert response.status_code == 200
    assert response.json == [{"weekday": 0, "open": "08:30", "close": "17:00"},
                             {"weekday": 5, "open": "09:00", "close": "24:00"}]
    assert client.get(f"/api/v1/instruments/{instrument.id}").json["opening_hours"] == response.json
    for bad in ([{"weekday": 7, "open": "09:00", "close": "10:00"}],
                [{"weekday": 1, "open": "10:00", "close": "09:00"}],
                [{"weekday": 1, "open": "25:00", "close": "26:00"}],
                [{"weekday": 1, "open": "09:00", "close": "12:00"}, {"weekday": 1, "open": "11:00", "close": "13:00"}],
                {"weekday": 1}):
        assert mgr.put(url, json=bad).status_code == 422, bad
    assert api.as_user(make.user(role="manager")).put(url, json=rows).status_code == 403
    assert api.as_user(make.user()).put(url, json=rows).status_code == 403
    assert client.put(url, json=rows).status_code == 401
    assert client.get(f"/api/v1/instruments/{instrument.id}").json["opening_hours"] == response.json


def test_blackout_over_bookings_refused_unless_cancelled(api, make, day):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    booker = api.as_user(make.user())
    booking = book(booker, instrument, iso(day, "10:00"), iso(day, "11:00")).json
    mgr = api.as_user(manager)
    url = f"/api/v1/instruments/{instrument.id}/blackouts"
    body = {"start": iso(day, "09:00"), "end": iso(day, "12:00"), "reason": "故障维修"}
    refused = mgr.post(url, json=body)
    assert refused.status_code == 409
    assert refused.json["conflicts"] == [{"start": iso(day, "10:00"), "end": iso(day, "11:00"), "kind": "booking"}]
    assert booker.get(f"/api/v1/bookings/{booking['id']}").json["status"] == "confirmed"
    created = mgr.post(url, json={**body, "cancel_bookings": True})
    assert created.status_code == 201
    cancelled = booker.get(f"/api/v1/bookings/{booking['id']}").json
    assert cancelled["status"] == "cancelled" and "故障维修" in cancelled["decision_reason"]
    assert api.as_user(make.user(role="manager")).delete(f"/api/v1/blackouts/{created.json['id']}").status_code == 403
    assert booker.delete(f"/api/v1/blackouts/{created.json['id']}").status_code == 403
    assert mgr.delete(f"/api/v1/blackouts/{created.json['id']}").status_code == 204
    assert mgr.delete(f"/api/v1/blackouts/{created.json['id']}").status_code == 404
    assert mgr.post(url, json={**body, "end": iso(day, "08:00")}).status_code == 422


def test_free_search_finds_only_instruments_free_for_the_whole_interval(api, client, make, day):
    manager = make.user(role="manager")
    booked = make.instrument(institution_id=manager.institution_id, name="质谱仪-已约")
    buffered = make.instrument(name="质谱仪-换样", buffer_minutes=30)
    blacked = make.instrument(institution_id=manager.institution_id, name="质谱仪-维护")
    closed_early = make.instrument(name="质谱仪-半天", hours=[(d, 9 * 60, 12 * 60) for d in range(5)])
    broken = make.instrument(name="质谱仪-待修", status="awaiting_repair")
    free = make.instrument(name="质谱仪-空闲")
    booker = api.as_user(make.user())
    assert book(booker, booked, iso(day, "11:00"), iso(day, "12:00")).status_code == 201
    assert book(booker, buffered, iso(day, "15:15"), iso(day, "16:00")).status_code == 201
    api.as_user(manager).post(f"/api/v1/instruments/{blacked.id}/blackouts",
                              json={"start": iso(day, "13:00"), "end": iso(day, "13:30"), "reason": ""})
    response = client.get("/api/v1/instruments", query_string={
        "q": "质谱仪", "free_from": iso(day, "10:00"), "free_to": iso(day, "15:00")})
    assert response.status_code == 200
    assert {i["name"] for i in response.json["items"]} == {"质谱仪-空闲"}
    later = client.get("/api/v1/instruments", query_string={
        "q": "质谱仪", "free_from": iso(day, "14:00"), "free_to": iso(day, "15:00")}).json
    assert {i["name"] for i in later["items"]} == {"质谱仪-空闲", "质谱仪-已约", "质谱仪-维护"}
    assert closed_early.id and broken.id and free.id
    weekend = day + timedelta(days=(5 - day.weekday()) % 7 or 7)
    sat = client.get("/api/v1/instruments", query_string={
        "q": "质谱仪", "free_from": iso(weekend, "10:00"), "free_to": iso(weekend, "11:00")}).json
    assert sat["total"] == 0


@pytest.mark.parametrize(
    "query",
    [{"free_from": "2026-12-01T10:00:00+08:00"},
     {"free_to": "2026-12-01T10:00:00+08:00"},
     {"free_from": "2026-12-01T10:00:00+08:00", "free_to": "2026-12-01T09:00:00+08:00"},
     {"free_from": "2026-12-01T10:00:00+08:00", "free_to": "2026-12-31T09:00:00+08:00"},
     {"free_from": "soon", "free_to": "later"}],
)
def test_free_search_bad_input(client, query):
    response = client.get("/api/v1/instruments", query_string=query)
    assert response.status_code == 422
