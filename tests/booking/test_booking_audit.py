"""The bookings' trail (issue #8): who created, moved, approved, rejected,
cancelled, checked in, recorded usage; what changed; shown to the
instrument's managers and admins on the booking page and the instrument's
history page."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from instrument_share import formats
from instrument_share.booking.models import Booking, BookingEvent
from instrument_share.booking.usage import close_past_bookings
from instrument_share.extensions import db

from ..conftest import csrf_token_from
from .conftest import iso
from .test_conflicts import book


def events(booking_id: int) -> list[BookingEvent]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(BookingEvent).where(BookingEvent.booking_id == booking_id).order_by(BookingEvent.id)
    ).all()


def past_booking(instrument, user, start, **kw) -> Booking:
    booking = Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start,
                      end=start + timedelta(hours=2), occupied_until=start + timedelta(hours=2),
                      status="confirmed", purpose="x", cost=600, firm_pays=600, **kw)
    db.session.add(booking)
    db.session.commit()
    return booking


def test_each_action_records_its_actor_and_changes(api, make, day, app_context):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id, requires_approval=True)
    engineer = make.user()
    firm, mgr = api.as_user(engineer), api.as_user(manager)
    first = book(firm, instrument, iso(day, "10:00"), iso(day, "11:00")).json
    second = book(firm, instrument, iso(day, "13:00"), iso(day, "14:00")).json
    assert mgr.post(f"/api/v1/bookings/{first['id']}/approve").status_code == 200
    assert firm.patch(f"/api/v1/bookings/{first['id']}",
                      json={"start": iso(day, "11:00"), "end": iso(day, "12:00")}).status_code == 200
    assert firm.post(f"/api/v1/bookings/{first['id']}/cancel", json={"reason": "样品未到"}).status_code == 200
    assert mgr.post(f"/api/v1/bookings/{second['id']}/reject", json={"reason": "样品不符合要求"}).status_code == 200

    created, approved, moved, cancelled = events(first["id"])
    assert (created.action, created.actor_id) == ("created", engineer.id)
    assert created.details == {"status": "pending", "start": iso(day, "10:00"), "end": iso(day, "11:00")}
    assert (approved.action, approved.actor_id) == ("approved", manager.id)
    assert (moved.action, moved.actor_id) == ("rescheduled", engineer.id)
    assert moved.details == {"old": {"start": iso(day, "10:00"), "end": iso(day, "11:00")},
                             "new": {"start": iso(day, "11:00"), "end": iso(day, "12:00")},
                             "status": "pending", "previous_status": "confirmed"}
    assert (cancelled.action, cancelled.actor_id) == ("cancelled", engineer.id)
    assert cancelled.details == {"reason": "样品未到", "previous_status": "pending"}
    rejected = events(second["id"])[-1]
    assert (rejected.action, rejected.actor_id, rejected.details["reason"]) == ("rejected", manager.id, "样品不符合要求")


def test_check_in_usage_and_no_show(api, make, app_context):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    engineer = make.user()
    now = datetime.now(UTC)
    soon = past_booking(instrument, engineer, now + timedelta(minutes=10))
    assert api.as_user(manager).post(f"/api/v1/bookings/{soon.id}/check-in").status_code == 200
    (checked_in,) = events(soon.id)
    assert (checked_in.action, checked_in.actor_id) == ("checked_in", manager.id)

    done = past_booking(instrument, engineer, now - timedelta(days=2))
    mgr = api.as_user(manager)
    first = {"start": done.start.isoformat(), "end": (done.start + timedelta(hours=1)).isoformat(),
             "service_mode": "guided"}
    corrected = {**first, "end": (done.start + timedelta(hours=2)).isoformat(), "service_mode": "commissioned"}
    assert mgr.post(f"/api/v1/bookings/{done.id}/usage", json=first).status_code == 200
    assert mgr.post(f"/api/v1/bookings/{done.id}/usage", json=corrected).status_code == 200
    recorded, correction = events(done.id)
    assert (recorded.action, recorded.actor_id) == ("usage_recorded", manager.id)
    assert recorded.details["service_mode"] == "guided" and recorded.details["previous_status"] == "confirmed"
    assert "previous" not in recorded.details
    assert correction.details["service_mode"] == "commissioned"
    assert correction.details["previous"]["service_mode"] == "guided"
    assert correction.details["previous"]["end"] == recorded.details["end"]

    missed = past_booking(instrument, engineer, now - timedelta(days=1))
    close_past_bookings(now)
    db.session.commit()
    (no_show,) = events(missed.id)
    assert (no_show.action, no_show.actor_id) == ("no_show", None)  # the system did it


def test_managers_see_the_full_trail_firms_keep_theirs(browser, client, api, make, day, app_context):
    manager = make.user(role="manager", email="mgr@uni.example", name="王老师")
    instrument = make.instrument(institution_id=manager.institution_id, requires_approval=True)
    engineer = make.user(email="eng@firm.example", name="李工")
    make.user(role="manager", email="other@uni.example")
    make.user(role="admin", email="office@g60.example")
    firm = api.as_user(engineer)
    booking = book(firm, instrument, iso(day, "10:00"), iso(day, "11:00"), purpose="<script>x</script>").json
    api.as_user(manager).post(f"/api/v1/bookings/{booking['id']}/approve")
    firm.patch(f"/api/v1/bookings/{booking['id']}", json={"start": iso(day, "14:00"), "end": iso(day, "15:00")})
    firm.post(f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "<img src=x onerror=alert(1)>"})
    url = f"/bookings/{booking['id']}"

    assert client.get(url).status_code == 302  # anonymous: to sign in
    browser.login("mgr@uni.example")
    html = client.get(url).get_data(as_text=True)
    assert "王老师" in html and "mgr@uni.example" in html and "eng@firm.example" in html
    with force_locale("zh_CN"):  # 2026年12月4日周五 10:00–11:00 → 2026年12月4日周五 14:00–15:00
        moved = f"{formats.time_range(iso(day, '10:00'), iso(day, '11:00'))} → " \
                f"{formats.time_range(iso(day, '14:00'), iso(day, '15:00'))}"
    assert moved in html and "年" in moved
    assert "已确认 → 待审核" in html  # the firm's move needs approval again
    assert "待审核 → 已取消 · &lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    history = client.get(f"/manage/instruments/{instrument.id}/history?of=bookings").get_data(as_text=True)
    assert f'href="/bookings/{booking["id"]}"' in history and "王老师" in history and "李工" in history
    assert "<script>x" not in history
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})

    browser.login("office@g60.example")
    assert "mgr@uni.example" in client.get(url).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})

    browser.login("eng@firm.example")
    own = client.get(url).get_data(as_text=True)
    assert "已通过" in own and "王老师" in own  # as before: the firm sees its booking's history
    assert "mgr@uni.example" not in own  # but not the staff's addresses
    assert client.get(f"/manage/instruments/{instrument.id}/history?of=bookings").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})

    browser.login("other@uni.example")
    assert client.get(url).status_code == 404
    assert client.get(f"/manage/instruments/{instrument.id}/history?of=bookings").status_code == 403
