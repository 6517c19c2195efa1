"""The instruments' audit trail (issue #8): every change through the API and
the manager's pages leaves one row with its actor and [old, new] values;
the history pages show it to the institution's managers and admins only."""
from __future__ import annotations

import sqlalchemy as sa

from instrument_share.booking.models import BookingEvent
from instrument_share.catalogue import manage
from instrument_share.catalogue.models import InstrumentEvent
from instrument_share.extensions import db

from ..booking.conftest import iso
from ..booking.test_conflicts import book
from ..conftest import csrf_token_from
from .test_manage_api import RECORD


def trail(instrument_id: int) -> list[InstrumentEvent]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(InstrumentEvent).where(InstrumentEvent.instrument_id == instrument_id).order_by(InstrumentEvent.id)
    ).all()


def test_publishing_and_editing_through_the_api(api, make, app_context):
    manager = make.user(role="manager")
    admin = make.user(role="admin")
    mgr = api.as_user(manager)
    instrument_id = mgr.post("/api/v1/instruments", json=RECORD).json["id"]
    created, hours = trail(instrument_id)
    assert (created.action, created.actor_id) == ("created", manager.id)
    assert created.changes["name"] == [None, "场发射透射电子显微镜"]
    assert created.changes["hourly_rate"] == [None, "900.00"]
    assert created.changes["commissioned_on"] == [None, "2022-06-01"]
    assert created.changes["requires_approval"] == [None, True]
    assert created.changes["institution_id"] == [None, manager.institution_id]
    assert created.at is not None
    assert (hours.action, hours.actor_id) == ("opening_hours_changed", manager.id)
    assert hours.changes == {"opening_hours": [[], [[0, "09:00", "17:00"]]]}

    assert mgr.patch(f"/api/v1/instruments/{instrument_id}", json={"hourly_rate": "950", "name": "透射电镜"}).status_code == 200
    changed = trail(instrument_id)[-1]
    assert (changed.action, changed.actor_id) == ("changed", manager.id)
    assert changed.changes == {"hourly_rate": ["900.00", "950.00"], "name": ["场发射透射电子显微镜", "透射电镜"]}

    assert api.as_user(admin).patch(f"/api/v1/instruments/{instrument_id}",
                                    json={"status": "awaiting_scrap", "buffer_minutes": 0}).status_code == 200
    retired = trail(instrument_id)[-1]
    assert (retired.action, retired.actor_id) == ("status_changed", admin.id)
    assert retired.changes == {"status": ["normal", "awaiting_scrap"], "buffer_minutes": [30, 0]}

    # Nothing changed, or nothing valid: no row.
    assert mgr.patch(f"/api/v1/instruments/{instrument_id}", json={"name": "透射电镜"}).status_code == 200
    assert mgr.patch(f"/api/v1/instruments/{instrument_id}", json={"name": "新名字", "hourly_rate": "-1"}).status_code == 422
    assert api.as_user(make.user(role="manager")).patch(
        f"/api/v1/instruments/{instrument_id}", json={"name": "别人的"}).status_code == 403
    assert len(trail(instrument_id)) == 4
    refused = mgr.post("/api/v1/instruments", json={**RECORD, "hourly_rate": "cheap"})
    assert refused.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(InstrumentEvent.id))) == 4


def test_opening_hours_and_blackouts_through_the_api(api, make, day, app_context):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    assert trail(instrument.id) == []  # made directly (like the demo loader): no trail
    mgr = api.as_user(manager)
    rows = [{"weekday": day.weekday(), "open": "08:30", "close": "17:00"}]
    assert mgr.put(f"/api/v1/instruments/{instrument.id}/opening-hours", json=rows).status_code == 200
    assert mgr.put(f"/api/v1/instruments/{instrument.id}/opening-hours", json=rows).status_code == 200  # same again
    (hours,) = trail(instrument.id)
    assert hours.action == "opening_hours_changed" and hours.actor_id == manager.id
    old, new = hours.changes["opening_hours"]
    assert old == [[d, "09:00", "17:00"] for d in range(5)] and new == [[day.weekday(), "08:30", "17:00"]]

    booking = book(api.as_user(make.user()), instrument, iso(day, "10:00"), iso(day, "11:00")).json
    body = {"start": iso(day, "09:00"), "end": iso(day, "12:00"), "reason": "故障维修", "cancel_bookings": True}
    blackout = mgr.post(f"/api/v1/instruments/{instrument.id}/blackouts", json=body).json
    assert mgr.delete(f"/api/v1/blackouts/{blackout['id']}").status_code == 204
    _, added, removed = trail(instrument.id)
    assert (added.action, added.actor_id) == ("blackout_added", manager.id)
    assert added.changes == {"blackout_id": [None, blackout["id"]], "start": [None, iso(day, "09:00")],
                             "end": [None, iso(day, "12:00")], "reason": [None, "故障维修"],
                             "cancelled_bookings": [None, [booking["id"]]]}
    assert (removed.action, removed.actor_id) == ("blackout_removed", manager.id)
    assert removed.changes["reason"] == ["故障维修", None] and removed.changes["start"] == [iso(day, "09:00"), None]
    cancelled = db.session.scalars(sa.select(BookingEvent).where(BookingEvent.booking_id == booking["id"])
                                   .order_by(BookingEvent.id)).all()[-1]
    assert (cancelled.action, cancelled.actor_id) == ("cancelled", manager.id)
    assert cancelled.details["reason"] == "blackout: 故障维修"
    # A refused blackout (bookings in the way) leaves no row.
    book(api.as_user(make.user()), instrument, iso(day, "14:00"), iso(day, "15:00"))
    assert mgr.post(f"/api/v1/instruments/{instrument.id}/blackouts",
                    json={**body, "start": iso(day, "13:00"), "end": iso(day, "16:00"), "cancel_bookings": False}
                    ).status_code == 409
    assert len(trail(instrument.id)) == 3


def test_manager_forms_write_the_trail_and_the_page_shows_it(browser, client, make, day, app_context):
    manager = make.user(role="manager", email="mgr@uni.example", name="王老师")
    instrument = make.instrument(institution_id=manager.institution_id,
                                 name='<script>alert("x")</script>电镜')
    browser.login("mgr@uni.example")
    url = f"/manage/instruments/{instrument.id}"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    assert client.post(f"{url}/hours", data={"csrf_token": token, "open-1-0": "10:00", "close-1-0": "16:00"}).status_code == 302
    blackout = {"csrf_token": token, "start": f"{day.isoformat()}T09:00", "end": f"{day.isoformat()}T12:00",
                "reason": "<b>维护</b>"}
    assert client.post(f"{url}/blackouts", data=blackout).status_code == 302
    manage.update_instrument(manager, instrument.id, {"name": "<img src=x onerror=alert(1)>", "status": "awaiting_repair"})
    db.session.commit()
    assert [e.action for e in trail(instrument.id)] == ["opening_hours_changed", "blackout_added", "status_changed"]
    assert all(e.actor_id == manager.id for e in trail(instrument.id))

    browser.english()  # the labels below are new; English needs no catalogue
    schedule_page = client.get(url).get_data(as_text=True)
    assert f'href="/manage/instruments/{instrument.id}/history"' in schedule_page
    page = client.get(f"{url}/history")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "王老师" in html and "mgr@uni.example" in html
    assert "Opening hours changed" in html and "Tue 10:00–16:00" in html
    assert "Blackout added" in html and "Operating status changed" in html and "Normal → Awaiting repair" in html
    assert "&lt;b&gt;维护&lt;/b&gt;" in html and "<b>维护" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and '<script>alert("x")' not in html
    desk = client.get("/manage/").get_data(as_text=True)
    assert f'href="/manage/instruments/{instrument.id}/history"' in desk and 'href="/manage/audit"' in desk


def test_history_pages_refuse_others(browser, client, make):
    manager = make.user(role="manager", email="mgr@uni.example")
    own = make.instrument(institution_id=manager.institution_id)
    other = make.instrument()
    make.user(email="eng@firm.example")
    make.user(role="city_admin", email="bureau@city.example")
    make.user(role="admin", email="office@g60.example")
    manage.update_instrument(manager, own.id, {"model": "OWN-1"})
    manage.update_instrument(make.user(role="manager", institution_id=other.institution_id), other.id,
                             {"model": "OTHER-1"})
    db.session.commit()
    for url in (f"/manage/instruments/{own.id}/history", "/manage/audit"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    for email in ("eng@firm.example", "bureau@city.example"):
        browser.login(email)
        assert client.get(f"/manage/instruments/{own.id}/history").status_code == 403
        assert client.get(f"/manage/instruments/{own.id}/history?of=bookings").status_code == 403
        assert client.get("/manage/audit").status_code == 403
        client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    browser.login("mgr@uni.example")
    assert client.get(f"/manage/instruments/{other.id}/history").status_code == 403
    assert client.get(f"/manage/instruments/{other.id}/history?of=bookings").status_code == 403
    assert client.get("/manage/instruments/999999/history").status_code == 404
    assert "OWN-1" in client.get(f"/manage/instruments/{own.id}/history").get_data(as_text=True)
    mine = client.get(f"/manage/audit?institution={other.institution_id}").get_data(as_text=True)
    assert "OWN-1" in mine and "OTHER-1" not in mine  # a manager cannot widen the list
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    browser.login("office@g60.example")
    assert "OTHER-1" in client.get(f"/manage/instruments/{other.id}/history").get_data(as_text=True)
    everything = client.get("/manage/audit").get_data(as_text=True)
    assert "OWN-1" in everything and "OTHER-1" in everything
    narrowed = client.get(f"/manage/audit?institution={other.institution_id}").get_data(as_text=True)
    assert "OTHER-1" in narrowed and "OWN-1" not in narrowed


def test_history_pages_page_through_the_trail(browser, client, make, app_context):
    manager = make.user(role="manager", email="mgr@uni.example")
    instrument = make.instrument(institution_id=manager.institution_id)
    for n in range(55):
        manage.update_instrument(manager, instrument.id, {"model": f"MODEL-{n:02d}"})
    db.session.commit()
    browser.login("mgr@uni.example")
    url = f"/manage/instruments/{instrument.id}/history"
    first = client.get(url).get_data(as_text=True)
    assert "MODEL-54" in first and "MODEL-04" in first and "MODEL-03" not in first
    assert "1 / 2" in first and "page=2" in first
    second = client.get(f"{url}?page=2").get_data(as_text=True)
    assert "MODEL-00" in second and "MODEL-03" in second and "MODEL-05" not in second
    for page in ("99999999999999999999999", "-3", "x"):
        assert client.get(f"{url}?page={page}").status_code == 200
        assert client.get(f"/manage/audit?page={page}").status_code == 200
    assert "MODEL-00" in client.get(f"{url}?page=99999999999999999999999").get_data(as_text=True)
