"""The instrument editor on the web (issue #16): managers publish and edit
the full record, grouped as the NRII record is; errors stand beside their
fields in the reader's language, and a refused form changes nothing."""
from __future__ import annotations

import re

import sqlalchemy as sa

from instrument_share.catalogue.models import Instrument, InstrumentEvent
from instrument_share.extensions import db

from ..conftest import Browser, csrf_token_from

RECORD = {
    "name": "场发射扫描电子显微镜", "name_en": "Field-emission SEM", "category": "analytical-electron-optics",
    "model": "SU8220", "manufacturer": "日立", "country_of_origin": "日本", "original_value": "512.30",
    "commissioned_on": "2019-06-01", "location": "材料楼 103", "status": "normal", "quota_class": "general",
    "description": "冷场发射，适合纳米材料形貌观察。", "specifications": "分辨率 0.8 nm（15 kV）",
    "functions": "形貌观察、能谱分析", "services": "委托测试与自主上机", "hourly_rate": "450.00",
    "reference_fees": "每小时 450 元", "sharing_rules": "校外用户需培训", "accepts_vouchers": "y",
    "contact_name": "王老师", "contact_phone": "0571-88880000", "contact_email": "sem@uni.example",
    "min_booking_minutes": "60", "max_booking_minutes": "240", "buffer_minutes": "15",
    "advance_notice_hours": "24", "requires_approval": "y",
}


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Instrument.id)))


def _feedback(page: str, field: str) -> str:
    """The error text shown right after the named field's input."""
    match = re.search(rf'name="{field}"[^>]*>(?:</textarea>|.*?</select>)?\s*<div class="invalid-feedback">([^<]*)</div>',
                      page, re.S)
    assert match, f"no error beside {field}"
    return match.group(1)


def test_a_manager_publishes_an_instrument_and_firms_find_it(browser, client, make, app_context):
    institution = make.institution()
    make.user(role="manager", institution_id=institution.id, email="mgr@editor.example")
    browser.login("mgr@editor.example")
    page = client.get("/manage/instruments/new").get_data(as_text=True)
    for group in ("基本信息", "技术指标", "主要功能", "服务内容", "收费标准", "共享规定", "联系人", "预约规则"):
        assert group in page, group
    assert 'name="institution_id"' not in page  # a manager publishes for their own institution

    response = browser.submit("/manage/instruments/new", RECORD)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    instrument = db.session.scalar(sa.select(Instrument).where(Instrument.model == "SU8220"))
    assert response.headers["Location"].endswith(f"/manage/instruments/{instrument.id}")
    assert instrument.institution_id == institution.id
    assert (instrument.name_en, str(instrument.hourly_rate), str(instrument.original_value)) == (
        "Field-emission SEM", "450.00", "512.30")
    assert (instrument.contact_email, instrument.buffer_minutes, instrument.requires_approval,
            instrument.open_on_holidays) == ("sem@uni.example", 15, True, False)
    assert instrument.commissioned_on.isoformat() == "2019-06-01"
    assert [e.action for e in db.session.scalars(
        sa.select(InstrumentEvent).where(InstrumentEvent.instrument_id == instrument.id))] == ["created"]
    found = client.get("/api/v1/instruments?q=扫描电镜").get_json()["items"]
    assert [item["id"] for item in found] == [instrument.id]


def test_the_joint_office_publishes_for_the_institution_it_picks(browser, client, make, app_context):
    make.institution()
    chosen = make.institution(name="合肥测试研究院")
    make.user(role="admin", email="office@editor.example")
    browser.login("office@editor.example")
    assert "合肥测试研究院" in client.get("/manage/instruments/new").get_data(as_text=True)
    response = browser.submit("/manage/instruments/new", {**RECORD, "institution_id": str(chosen.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(Instrument.institution_id).where(Instrument.model == "SU8220")) == chosen.id


def test_bad_fields_are_named_beside_them_in_either_language_and_nothing_is_published(
        app, browser, client, make, app_context):
    institution = make.institution()
    make.user(role="manager", institution_id=institution.id, email="mgr@editor.example")
    browser.login("mgr@editor.example")
    before = _count()
    bad = {**RECORD, "name": " ", "hourly_rate": "-5", "category": "no-such-class", "contact_email": "x" * 200,
           "min_booking_minutes": "20000"}
    response = browser.submit("/manage/instruments/new", bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field in ("name", "hourly_rate", "category", "contact_email", "min_booking_minutes"):
        assert re.search(r"[\u4e00-\u9fff]", _feedback(page, field)), (field, _feedback(page, field))
    assert "<details" in page and "open" in page
    assert _count() == before

    # A rule across fields (the service's): the shortest booking above the longest.
    english = app.test_client()
    Browser(english).login("mgr@editor.example")
    Browser(english).english()
    response = Browser(english).submit("/manage/instruments/new",
                                       {**RECORD, "min_booking_minutes": "300", "max_booking_minutes": "60"})
    assert response.status_code == 422
    assert _feedback(response.get_data(as_text=True), "max_booking_minutes") == "At least the minimum booking length."
    assert _count() == before


def test_a_manager_edits_the_record_and_status_and_the_trail_says_what_changed(
        api, browser, client, make, app_context):
    institution = make.institution()
    make.user(role="manager", institution_id=institution.id, email="mgr@editor.example")
    instrument = make.instrument(institution_id=institution.id, name="X射线衍射仪", hourly_rate="200.00")
    browser.login("mgr@editor.example")
    page = client.get(f"/manage/instruments/{instrument.id}").get_data(as_text=True)
    assert 'value="X射线衍射仪"' in page and f'action="/manage/instruments/{instrument.id}/hours"' in page
    form = {**RECORD, "name": "X射线衍射仪（粉末）", "model": instrument.model, "status": "awaiting_repair",
            "hourly_rate": "260.00"}
    response = browser.submit(f"/manage/instruments/{instrument.id}", form)
    assert response.status_code == 302
    db.session.expire_all()
    instrument = db.session.get(Instrument, instrument.id)
    assert (instrument.name, instrument.status, str(instrument.hourly_rate)) == (
        "X射线衍射仪（粉末）", "awaiting_repair", "260.00")
    event = db.session.scalar(sa.select(InstrumentEvent).where(InstrumentEvent.instrument_id == instrument.id))
    assert event.action == "status_changed"  # one edit, one event: the status marks it
    assert event.changes["name"] == ["X射线衍射仪", "X射线衍射仪（粉末）"]
    assert event.changes["hourly_rate"] == ["200.00", "260.00"]
    assert "X射线衍射仪（粉末）" in client.get(f"/manage/instruments/{instrument.id}/history").get_data(as_text=True)
    firm_user = make.user()
    refused = api.as_user(firm_user).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": "2031-03-04T09:00:00+08:00", "end": "2031-03-04T10:00:00+08:00",
        "purpose": "测试"})
    assert refused.status_code in (409, 422)


def test_others_may_not_open_or_save_the_editor(app, browser, client, make, app_context):
    institution = make.institution()
    instrument = make.instrument(institution_id=institution.id, name="核磁共振波谱仪")
    make.user(role="manager", email="elsewhere@editor.example")
    make.user(email="firm@editor.example")
    for email in ("elsewhere@editor.example", "firm@editor.example"):
        visitor = app.test_client()
        Browser(visitor).login(email)
        token = csrf_token_from(visitor.get("/").get_data(as_text=True))
        assert visitor.get(f"/manage/instruments/{instrument.id}").status_code == 403
        assert visitor.get("/manage/instruments/new").status_code == (
            200 if email.startswith("elsewhere") else 403)
        saved = visitor.post(f"/manage/instruments/{instrument.id}", data={**RECORD, "csrf_token": token})
        assert saved.status_code == 403
    assert app.test_client().post("/manage/instruments/new", data=RECORD).status_code in (302, 400)
    db.session.expire_all()
    assert db.session.get(Instrument, instrument.id).name == "核磁共振波谱仪"


def test_of_two_managers_saving_from_stale_pages_the_second_is_told(app, make, app_context):
    """Found by review: the last of two stale saves overwrote the first."""
    institution = make.institution()
    for email in ("a@editor.example", "b@editor.example"):
        make.user(role="manager", institution_id=institution.id, email=email)
    instrument = make.instrument(institution_id=institution.id, name="热重分析仪", hourly_rate="100.00")
    first, second = app.test_client(), app.test_client()
    pages = {}
    for client, email in ((first, "a@editor.example"), (second, "b@editor.example")):
        Browser(client).login(email)
        page = client.get(f"/manage/instruments/{instrument.id}").get_data(as_text=True)
        version = re.search(r'name="version" type="hidden" value="([^"]+)"', page).group(1)
        pages[email] = {"csrf_token": csrf_token_from(page), "version": version}
    form = {**RECORD, "name": "热重分析仪", "model": instrument.model}
    saved = first.post(f"/manage/instruments/{instrument.id}", data={**form, **pages["a@editor.example"],
                                                                     "hourly_rate": "150.00"})
    assert saved.status_code == 302
    stale = second.post(f"/manage/instruments/{instrument.id}", data={**form, **pages["b@editor.example"],
                                                                      "hourly_rate": "90.00"})
    assert stale.status_code == 409 and "重新加载" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert str(db.session.get(Instrument, instrument.id).hourly_rate) == "150.00"
