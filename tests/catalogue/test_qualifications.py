"""Qualifications (培训上机资格, issue #16): a firm user books a self-service
instrument only while qualified for it; managers grant by e-mail, with an
expiry, and revoke; the booking form says so before anything is typed."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from instrument_share.booking.models import Booking
from instrument_share.catalogue.models import InstrumentEvent, Qualification
from instrument_share.extensions import db

from ..booking.conftest import iso, workday
from ..conftest import Browser, csrf_token_from


def _book(client, instrument, day, hours=("10:00", "11:00"), **extra):
    return client.post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, hours[0]), "end": iso(day, hours[1]),
        "purpose": "形貌观察", **extra})


def _bookings() -> int:
    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


def test_a_firm_user_books_a_self_service_instrument_only_while_qualified(api, make, app_context):
    institution = make.institution()
    manager = make.user(role="manager", institution_id=institution.id)
    sem = make.instrument(institution_id=institution.id, self_service=True, max_booking_minutes=480)
    engineer = make.user(email="engineer@firm.example")
    as_engineer, as_manager = api.as_user(engineer), api.as_user(manager)
    first, later = workday(3), workday(10)

    refused = _book(as_engineer, sem, first)
    assert refused.status_code == 422
    assert "qualification" in refused.get_json()["fields"]
    assert _bookings() == 0
    assert _book(as_manager, sem, first, ("13:00", "14:00")).status_code == 201  # staff are not asked

    granted = as_manager.post(f"/api/v1/instruments/{sem.id}/qualifications",
                              json={"email": "Engineer@Firm.example", "expires_on": (later - timedelta(days=1)).isoformat()})
    assert granted.status_code == 201, granted.get_json()
    body = granted.get_json()
    assert body["user"] == {"id": engineer.id, "name": engineer.name, "email": "engineer@firm.example"}
    assert body["expires_on"] == (later - timedelta(days=1)).isoformat()
    booked = _book(as_engineer, sem, first)
    assert booked.status_code == 201
    # Valid through its last day, not beyond: a later day, a series reaching past it, a move past it.
    assert _book(as_engineer, sem, later).status_code == 422
    assert _book(as_engineer, sem, first, ("15:00", "16:00"),
                 recurrence="FREQ=WEEKLY;COUNT=3").status_code == 422
    moved = as_engineer.patch(f"/api/v1/bookings/{booked.get_json()['id']}",
                              json={"start": iso(later, "10:00"), "end": iso(later, "11:00")})
    assert moved.status_code == 422 and "qualification" in moved.get_json()["fields"]
    assert as_engineer.get("/api/v1/me/qualifications").get_json()["total"] == 1

    # Granted again without an end, then revoked: refused again.
    assert as_manager.post(f"/api/v1/instruments/{sem.id}/qualifications",
                           json={"email": "engineer@firm.example"}).status_code == 201
    assert _book(as_engineer, sem, later).status_code == 201
    listed = as_manager.get(f"/api/v1/instruments/{sem.id}/qualifications").get_json()
    assert [item["user"]["email"] for item in listed["items"]] == ["engineer@firm.example"]
    assert as_manager.delete(f"/api/v1/qualifications/{listed['items'][0]['id']}").status_code == 204
    assert _book(as_engineer, sem, later, ("13:00", "14:00")).status_code == 422
    assert as_engineer.get("/api/v1/me/qualifications").get_json()["total"] == 0
    trail = [e.action for e in db.session.scalars(
        sa.select(InstrumentEvent).where(InstrumentEvent.instrument_id == sem.id).order_by(InstrumentEvent.id))]
    assert trail == ["qualification_granted", "qualification_granted", "qualification_revoked"]


def test_an_instrument_that_is_not_self_service_asks_nobody(api, make, app_context):
    sem = make.instrument(self_service=False)
    assert _book(api.as_user(make.user()), sem, workday(3)).status_code == 201


def test_grants_are_refused_with_a_reason_and_change_nothing(api, make, app_context):
    institution = make.institution()
    manager = make.user(role="manager", institution_id=institution.id)
    elsewhere = make.user(role="manager")
    sem = make.instrument(institution_id=institution.id, self_service=True)
    make.user(email="engineer@firm.example")
    as_manager = api.as_user(manager)
    url = f"/api/v1/instruments/{sem.id}/qualifications"
    unknown = as_manager.post(url, json={"email": "nobody@firm.example"})
    assert unknown.status_code == 422 and "email" in unknown.get_json()["fields"]
    past = as_manager.post(url, json={"email": "engineer@firm.example", "expires_on": "2020-01-01"})
    assert past.status_code == 422 and "expires_on" in past.get_json()["fields"]
    assert api.as_user(elsewhere).post(url, json={"email": "engineer@firm.example"}).status_code == 403
    assert api.as_user(elsewhere).get(url).status_code == 403
    assert as_manager.post("/api/v1/instruments/999999/qualifications",
                           json={"email": "engineer@firm.example"}).status_code == 404
    assert as_manager.delete("/api/v1/qualifications/999999").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Qualification.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(InstrumentEvent.id))) == 0


def test_the_booking_form_says_who_may_book_before_anything_is_typed(app, browser, client, make, app_context):
    institution = make.institution()
    make.user(role="manager", institution_id=institution.id, email="mgr@uni.example")
    sem = make.instrument(institution_id=institution.id, self_service=True, contact_name="王老师",
                          contact_phone="0571-88880000", next_training_on=workday(7))
    make.user(email="engineer@firm.example")
    browser.login("engineer@firm.example")
    page = client.get(f"/instruments/{sem.id}").get_data(as_text=True)
    assert 'id="qualification-needed"' in page and "王老师" in page and "0571-88880000" in page
    assert f"{workday(7).year}年{workday(7).month}月{workday(7).day}日" in page  # the next training

    manager = app.test_client()
    Browser(manager).login("mgr@uni.example")
    desk = f"/manage/instruments/{sem.id}"
    desk_page = manager.get(desk).get_data(as_text=True)  # the grant form lives on the desk page
    assert "还没有人取得上机资格" in desk_page
    token = csrf_token_from(desk_page)
    response = manager.post(f"{desk}/qualifications", data={
        "email": "engineer@firm.example", "expires_on": "", "csrf_token": token})
    assert response.status_code == 302
    assert 'id="qualification-needed"' not in client.get(f"/instruments/{sem.id}").get_data(as_text=True)
    assert "已取得上机资格的仪器" in client.get("/profile").get_data(as_text=True)

    refused = manager.post(f"{desk}/qualifications", data={
        "email": "nobody@firm.example", "csrf_token": token})
    assert refused.status_code == 422 and "没有使用此邮箱的用户" in refused.get_data(as_text=True)
    qualification_id = db.session.scalar(sa.select(Qualification.id))
    revoked = manager.post(f"/manage/qualifications/{qualification_id}/delete",
                           data={"csrf_token": token})
    assert revoked.status_code == 302
    assert 'id="qualification-needed"' in client.get(f"/instruments/{sem.id}").get_data(as_text=True)


def test_an_asset_number_names_one_instrument_of_its_institution(api, make, app_context):
    first, second = make.institution(), make.institution()
    as_admin = api.as_user(make.user(role="admin"))
    record = {"name": "X射线衍射仪", "category": "analytical-electron-optics", "asset_no": "ZJU-2019-0042"}
    assert as_admin.post("/api/v1/instruments", json={**record, "institution_id": first.id}).status_code == 201
    again = as_admin.post("/api/v1/instruments", json={**record, "institution_id": first.id})
    assert again.status_code == 422 and "asset_no" in again.get_json()["fields"]
    created = as_admin.post("/api/v1/instruments", json={**record, "institution_id": second.id})
    assert created.status_code == 201 and created.get_json()["asset_no"] == "ZJU-2019-0042"
