"""Booking workflow and refusals through the API."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from instrument_share.booking.models import Booking, BookingEvent
from instrument_share.extensions import db

from ..conftest import csrf_token_from
from .conftest import iso
from .test_conflicts import book


def _bookings():
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


def test_create_returns_the_contract(api, make, sem, day, app_context):
    client = api.as_user(make.user())
    response = book(client, sem, iso(day, "10:00"), iso(day, "11:30"))
    assert response.status_code == 201
    body = response.json
    for key in ("id", "instrument_id", "start", "end", "status", "purpose", "cost",
                "voucher_amount", "firm_pays", "ics_url"):
        assert key in body
    assert (body["status"], body["cost"], body["voucher_amount"], body["firm_pays"]) == (
        "confirmed", "450.00", "0.00", "450.00")
    assert body["ics_url"].endswith(f"/api/v1/bookings/{body['id']}/ics")
    ics = client.get(f"/api/v1/bookings/{body['id']}/ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert f"UID:booking-{body['id']}@".encode() in ics.data
    stored = db.session.get(Booking, body["id"])
    assert stored.start == datetime.fromisoformat(iso(day, "10:00")).astimezone(UTC)
    assert [e.action for e in stored.events] == ["created"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "{d}T10:00:00+08:00"}, "end"),  # end = start
        ({"end": "{d}T09:00:00+08:00"}, "end"),  # end before start
        ({"end": "{d}T10:10:00+08:00"}, "end"),  # shorter than 30 minutes
        ({"end": "{d}T19:00:00+08:00"}, "end"),  # longer than 8 hours
        ({"start": "yesterday"}, "start"),
        ({"start": "0001-01-01T10:00:00+08:00", "end": "0001-01-01T11:00:00+08:00"}, "start"),
        ({"start": "9999-12-31T22:00:00-05:00", "end": "9999-12-31T23:00:00-05:00"}, "start"),
        ({"start": "2020-01-06T10:00:00+08:00", "end": "2020-01-06T11:00:00+08:00"}, "start"),
        ({"start": "2031-01-06T10:00:00+08:00", "end": "2031-01-06T11:00:00+08:00"}, "start"),
        ({"instrument_id": 999999}, "instrument_id"),
        ({"instrument_id": "abc"}, "instrument_id"),
        ({"purpose": "x" * 100_000}, "purpose"),
        ({"purpose": ""}, "purpose"),
        ({"recurrence": "FREQ=WEEKLY"}, "recurrence"),
        ({"recurrence": "FREQ=DAILY;COUNT=5000"}, "recurrence"),
        ({"recurrence": "FREQ=WEEKLY;UNTIL=20401231"}, "recurrence"),
        ({"recurrence": "FREQ=SECONDLY;COUNT=3"}, "recurrence"),
        ({"recurrence": "nonsense"}, "recurrence"),
        ({"recurrence": "FREQ=WEEKLY;COUNT=2;DTSTART=20200101"}, "recurrence"),
        ({"voucher_id": 1}, "voucher_id"),
    ],
)
def test_bad_requests_are_422_and_write_nothing(api, make, sem, day, app_context, change, field):
    client = api.as_user(make.user())
    body = {"instrument_id": sem.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
            "purpose": "XRD of thin films"}
    body.update({k: v.format(d=day) if isinstance(v, str) else v for k, v in change.items()})
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "validation"
    assert field in response.json["fields"]
    assert _bookings() == 0


def test_advance_notice(api, make, app_context):
    instrument = make.instrument(hours=[(d, 0, 1440) for d in range(7)], advance_notice_hours=24)
    client = api.as_user(make.user())
    soon = datetime.now(UTC) + timedelta(hours=2)
    response = book(client, instrument, soon.isoformat(), (soon + timedelta(hours=1)).isoformat())
    assert response.status_code == 422 and "start" in response.json["fields"]


def test_malformed_json_and_missing_auth(api, client, make, sem, day):
    assert client.post("/api/v1/bookings", json={"instrument_id": sem.id}).status_code == 401
    authed = api.as_user(make.user())
    response = authed.client.post("/api/v1/bookings", data="{", content_type="application/json",
                                  headers=authed._headers())
    assert response.status_code == 400 and response.json["error"] == "bad_request"


def test_out_of_service_instrument(api, make, day):
    broken = make.instrument(status="awaiting_repair")
    response = book(api.as_user(make.user()), broken, iso(day, "10:00"), iso(day, "11:00"))
    assert response.status_code == 422 and "instrument_id" in response.json["fields"]


def test_city_admin_may_not_book(api, make, sem, day):
    response = book(api.as_user(make.user(role="city_admin")), sem, iso(day, "10:00"), iso(day, "11:00"))
    assert response.status_code == 403


def test_other_users_bookings_are_invisible_and_untouchable(api, make, sem, day):
    owner = api.as_user(make.user())
    booking = book(owner, sem, iso(day, "10:00"), iso(day, "11:00")).json
    stranger = api.as_user(make.user())
    other_manager = api.as_user(make.user(role="manager"))
    for client in (stranger, other_manager):
        assert client.get(f"/api/v1/bookings/{booking['id']}").status_code == 404
        assert client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}).status_code == 404
        assert client.patch(f"/api/v1/bookings/{booking['id']}",
                            json={"start": iso(day, "12:00"), "end": iso(day, "13:00")}).status_code == 404
        assert client.get(f"/api/v1/bookings/{booking['id']}/ics").status_code == 404
        assert client.get("/api/v1/bookings").json["total"] == 0
    assert owner.get(f"/api/v1/bookings/{booking['id']}").json["status"] == "confirmed"


def test_approval_flow(api, make, day, app_context):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id, requires_approval=True)
    firm = api.as_user(make.user())
    mgr = api.as_user(manager)
    first = book(firm, instrument, iso(day, "10:00"), iso(day, "11:00")).json
    second = book(firm, instrument, iso(day, "13:00"), iso(day, "14:00")).json
    assert first["status"] == second["status"] == "pending"
    assert firm.post(f"/api/v1/bookings/{first['id']}/approve").status_code == 403
    assert mgr.get("/api/v1/bookings?status=pending").json["total"] == 2
    approved = mgr.post(f"/api/v1/bookings/{first['id']}/approve")
    assert approved.json["status"] == "confirmed" and approved.json["sequence"] == 1
    assert mgr.post(f"/api/v1/bookings/{first['id']}/approve").status_code == 409
    assert mgr.post(f"/api/v1/bookings/{second['id']}/reject", json={}).status_code == 422
    rejected = mgr.post(f"/api/v1/bookings/{second['id']}/reject", json={"reason": "样品不符合要求"})
    assert (rejected.json["status"], rejected.json["decision_reason"]) == ("rejected", "样品不符合要求")
    assert book(firm, instrument, iso(day, "13:00"), iso(day, "14:00")).status_code == 201
    # A manager's own booking on an instrument of their institution needs no approval.
    assert book(mgr, instrument, iso(day, "15:00"), iso(day, "16:00")).json["status"] == "confirmed"
    actions = db.session.scalars(
        sa.select(BookingEvent.action).where(BookingEvent.booking_id == first["id"]).order_by(BookingEvent.id)
    ).all()
    assert actions == ["created", "approved"]


def test_firm_reschedule_of_approved_booking_needs_approval_again(api, make, day):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id, requires_approval=True)
    firm = api.as_user(make.user())
    booking = book(firm, instrument, iso(day, "10:00"), iso(day, "11:00")).json
    api.as_user(manager).post(f"/api/v1/bookings/{booking['id']}/approve")
    moved = firm.patch(f"/api/v1/bookings/{booking['id']}", json={"start": iso(day, "12:00"), "end": iso(day, "13:00")})
    assert moved.json["status"] == "pending" and moved.json["sequence"] == 2


def test_usage_rating_and_history(api, make, app_context):
    from instrument_share.booking.usage import record_usage

    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    firm_user = make.user()
    past_start = datetime.now(UTC) - timedelta(days=2)
    booking = Booking(instrument=instrument, user=firm_user, firm_id=firm_user.firm_id, start=past_start,
                      end=past_start + timedelta(hours=2), occupied_until=past_start + timedelta(hours=2),
                      status="confirmed", purpose="x", cost=600, firm_pays=600)
    db.session.add(booking)
    db.session.commit()
    firm = api.as_user(firm_user)
    mgr = api.as_user(manager)
    usage = {"start": past_start.isoformat(), "end": (past_start + timedelta(hours=1, minutes=30)).isoformat(),
             "service_mode": "guided"}
    assert firm.post(f"/api/v1/bookings/{booking.id}/usage", json=usage).status_code == 403
    assert firm.post(f"/api/v1/bookings/{booking.id}/rating", json={"rating": 5}).status_code == 409
    bad = mgr.post(f"/api/v1/bookings/{booking.id}/usage", json={**usage, "service_mode": "telepathy"})
    assert bad.status_code == 422
    recorded = mgr.post(f"/api/v1/bookings/{booking.id}/usage", json=usage)
    assert recorded.status_code == 200, recorded.json
    assert recorded.json["status"] == "completed" and recorded.json["service_mode"] == "guided"
    assert firm.post(f"/api/v1/bookings/{booking.id}/rating", json={"rating": 9}).status_code == 422
    assert api.as_user(make.user()).post(f"/api/v1/bookings/{booking.id}/rating", json={"rating": 5}).status_code == 404
    assert firm.post(f"/api/v1/bookings/{booking.id}/rating", json={"rating": 4, "comment": "满意"}).json["rating"] == 4
    assert record_usage  # the API used the same service


def test_no_shows_suspend_and_a_manager_lifts(api, make, app_context):
    from instrument_share.booking.usage import close_past_bookings

    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    user = make.user()
    now = datetime.now(UTC)
    for n in range(3):
        start = now - timedelta(days=3 + n)
        db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start,
                               end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                               status="confirmed", purpose="x", cost=0, firm_pays=0))
    db.session.commit()
    counts = close_past_bookings(now)
    db.session.commit()
    assert counts["no_show"] == 3
    db.session.refresh(user)
    assert user.booking_suspended_at is not None
    day = now + timedelta(days=3)
    refused = book(api.as_user(user), instrument, day.isoformat(), (day + timedelta(hours=1)).isoformat())
    assert refused.status_code == 403
    assert api.as_user(make.user(role="manager")).post(f"/api/v1/users/{user.id}/lift-suspension").status_code == 403
    assert api.as_user(user).post(f"/api/v1/users/{user.id}/lift-suspension").status_code == 403
    assert api.as_user(manager).post(f"/api/v1/users/{user.id}/lift-suspension").status_code == 204
    db.session.refresh(user)
    assert user.booking_suspended_at is None
    assert close_past_bookings(now) == {"no_show": 0, "completed": 0, "lapsed": 0}


def test_close_past_bookings_rules(make, app_context):
    from instrument_share.booking.usage import close_past_bookings

    user = make.user()
    now = datetime.now(UTC)

    def add(start, status="confirmed", checked_in=False):
        b = Booking(instrument=make.instrument(), user=user, start=start, end=start + timedelta(hours=2),
                    occupied_until=start + timedelta(hours=2), status=status, purpose="x", cost=0,
                    firm_pays=0, checked_in_at=start if checked_in else None)
        db.session.add(b)
        return b

    grace_not_over = add(now - timedelta(minutes=59))
    no_show = add(now - timedelta(minutes=61))
    running = add(now - timedelta(hours=1, minutes=30), checked_in=True)
    finished = add(now - timedelta(hours=3), checked_in=True)
    lapsed = add(now - timedelta(minutes=5), status="pending")
    db.session.commit()
    assert close_past_bookings(now) == {"no_show": 1, "completed": 1, "lapsed": 1}
    db.session.commit()
    statuses = [b.status for b in (grace_not_over, no_show, running, finished, lapsed)]
    assert statuses == ["confirmed", "no_show", "confirmed", "completed", "cancelled"]


def test_lifting_a_suspension_does_not_reveal_which_users_exist(api, browser, client, make):
    firm_user = make.user(email="eng@firm.example")
    other = make.user()
    firm = api.as_user(firm_user)
    for user_id in (other.id, 999_999):  # one that exists, one that does not
        assert firm.post(f"/api/v1/users/{user_id}/lift-suspension").status_code == 403
    bureau = api.as_user(make.user(role="city_admin"))
    assert bureau.post("/api/v1/users/999999/lift-suspension").status_code == 403
    assert api.as_user(make.user(role="admin")).post("/api/v1/users/999999/lift-suspension").status_code == 404
    browser.login("eng@firm.example")
    token = csrf_token_from(client.get("/bookings").get_data(as_text=True))
    for user_id in (other.id, 999_999):
        assert client.post(f"/manage/users/{user_id}/lift", data={"csrf_token": token}).status_code == 403
