"""Retiring an instrument from sharing (已停用, issue #16): it keeps its
page and history, takes no new booking and leaves search; while bookings
lie ahead it cannot be retired; it can come back."""
from __future__ import annotations

import sqlalchemy as sa

from instrument_share.catalogue.models import Instrument, InstrumentEvent
from instrument_share.extensions import db

from ..conftest import Browser, csrf_token_from
from .conftest import iso, workday


def _book(api, user, instrument, day, hours=("10:00", "11:00")):
    return api.as_user(user).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, hours[0]), "end": iso(day, hours[1]), "purpose": "测试"})


def test_a_retired_instrument_keeps_its_page_takes_no_booking_and_leaves_search(api, app, browser, client, make,
                                                                               app_context):
    institution = make.institution()
    make.user(role="manager", institution_id=institution.id, email="mgr@retire.example")
    sem = make.instrument(institution_id=institution.id, name="扫描电子显微镜")
    engineer = make.user()
    booked = _book(api, engineer, sem, workday(3))
    assert booked.status_code == 201
    browser.login("mgr@retire.example")
    token = csrf_token_from(client.get(f"/manage/instruments/{sem.id}").get_data(as_text=True))

    refused = client.post(f"/manage/instruments/{sem.id}/retire", data={"csrf_token": token}, follow_redirects=True)
    assert "还有预约" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Instrument, sem.id).retired_on is None

    assert api.as_user(engineer).post(f"/api/v1/bookings/{booked.get_json()['id']}/cancel", json={}).status_code == 200
    assert client.post(f"/manage/instruments/{sem.id}/retire", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Instrument, sem.id).retired_on is not None
    event = db.session.scalar(sa.select(InstrumentEvent).where(InstrumentEvent.action == "status_changed"))
    assert event.changes["retired_on"][0] is None
    later = _book(api, engineer, sem, workday(5))
    assert later.status_code == 422 and "instrument_id" in later.get_json()["fields"]
    assert api.get("/api/v1/instruments?q=扫描电镜").get_json()["total"] == 0
    page = app.test_client().get(f"/instruments/{sem.id}")
    assert page.status_code == 200 and "已停用" in page.get_data(as_text=True)
    assert api.get(f"/api/v1/instruments/{sem.id}").get_json()["retired_on"] is not None

    assert client.post(f"/manage/instruments/{sem.id}/reinstate", data={"csrf_token": token}).status_code == 302
    assert _book(api, engineer, sem, workday(5)).status_code == 201
    assert api.get("/api/v1/instruments?q=扫描电镜").get_json()["total"] == 1


def test_only_the_instruments_managers_retire_it(app, make, app_context):
    sem = make.instrument()
    for email, role in (("other@retire.example", "manager"), ("firm@retire.example", "firm")):
        make.user(email=email, role=role)
        visitor = app.test_client()
        Browser(visitor).login(email)
        token = csrf_token_from(visitor.get("/").get_data(as_text=True))
        assert visitor.post(f"/manage/instruments/{sem.id}/retire", data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Instrument, sem.id).retired_on is None
