"""The institution's resource timeline (issue #16): /manage/schedule and
GET /api/v1/institutions/{id}/schedule show its instruments side by side
with who booked them; other institutions and other roles are refused."""
from __future__ import annotations

from datetime import timedelta

from instrument_share.booking.models import Blackout, Booking
from instrument_share.extensions import db

from .booking.conftest import at, workday
from .conftest import Browser


def _booking(instrument, user, start, hours=2, status="confirmed"):
    booking = Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start,
                      end=start + timedelta(hours=hours), occupied_until=start + timedelta(hours=hours),
                      status=status, purpose="形貌观察", cost=100, firm_pays=100)
    db.session.add(booking)
    db.session.commit()
    return booking


def _world(make):
    """Two instruments of one institution (an SEM and an NMR) and one
    elsewhere, each with bookings on one working day, and a blackout."""
    day = workday(5)
    institution = make.institution(name="浙江测试大学")
    manager = make.user(role="manager", institution_id=institution.id, email="mgr@timeline.example")
    sem = make.instrument(institution_id=institution.id, name="扫描电子显微镜", category_code="analytical-electron-optics")
    nmr = make.instrument(institution_id=institution.id, name="核磁共振波谱仪", category_code="analytical-spectroscopy")
    elsewhere = make.instrument(name="外校仪器")
    firm = make.firm(name="嘉兴光电科技有限公司")
    engineer = make.user(firm=firm, name="张工", email="zhang@timeline.example")
    rows = {
        "confirmed": _booking(sem, engineer, at(day, "09:00")),
        "pending": _booking(sem, engineer, at(day, "13:00"), status="pending"),
        "staff": _booking(nmr, manager, at(day, "10:00"), hours=1),
        "cancelled": _booking(nmr, engineer, at(day, "14:00"), status="cancelled"),
        "elsewhere": _booking(elsewhere, engineer, at(day, "09:00")),
        "next_day": _booking(sem, engineer, at(day + timedelta(days=1), "09:00")),
    }
    db.session.add(Blackout(instrument=nmr, start=at(day, "15:00"), end=at(day, "17:00"), reason="液氦补充"))
    db.session.commit()
    return day, institution, manager, rows


def test_the_schedule_api_names_who_booked_for_the_institutions_managers(api, make, app_context):
    day, institution, manager, rows = _world(make)
    url = (f"/api/v1/institutions/{institution.id}/schedule"
           f"?from={day}T00:00:00%2B08:00&to={day + timedelta(days=1)}T00:00:00%2B08:00")
    answer = api.as_user(manager).get(url)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert [i["name"] for i in body["instruments"]] == ["扫描电子显微镜", "核磁共振波谱仪"]
    by_id = {b["id"]: b for b in body["bookings"]}
    assert set(by_id) == {rows["confirmed"].id, rows["pending"].id, rows["staff"].id}
    confirmed = by_id[rows["confirmed"].id]
    assert confirmed["booker"] == {"id": rows["confirmed"].user_id, "name": "张工", "email": "zhang@timeline.example"}
    assert confirmed["firm"]["name"] == "嘉兴光电科技有限公司" and by_id[rows["staff"].id]["firm"] is None
    assert confirmed["start"].startswith(f"{day}T09:00") and by_id[rows["pending"].id]["status"] == "pending"
    assert [b["reason"] for b in body["blackouts"]] == ["液氦补充"]

    assert api.as_user(make.user(role="admin")).get(url).status_code == 200
    for outsider in (make.user(role="manager"), make.user(), make.user(role="city_admin", city_code="hangzhou")):
        assert api.as_user(outsider).get(url).status_code == 403
    too_long = url.replace(f"to={day + timedelta(days=1)}", f"to={day + timedelta(days=40)}")
    assert api.as_user(manager).get(too_long).status_code == 422
    backwards = url.replace(f"to={day + timedelta(days=1)}", f"to={day - timedelta(days=1)}")
    assert api.as_user(manager).get(backwards).status_code == 422
    assert api.as_user(manager).get(url.replace(f"/{institution.id}/", "/999999/")).status_code == 404


def test_the_timeline_page_draws_each_instrument_with_its_bookings_and_blackouts(app, browser, client, make,
                                                                                 app_context):
    day, institution, manager, rows = _world(make)
    browser.login("mgr@timeline.example")
    page = client.get(f"/manage/schedule?day={day}").get_data(as_text=True)
    wide = page[page.index('id="timeline"'):page.index('id="timeline-list"')]
    assert wide.index("扫描电子显微镜") < wide.index("核磁共振波谱仪") and "外校仪器" not in page
    assert f'data-booking="{rows["confirmed"].id}"' in wide and f'/bookings/{rows["confirmed"].id}"' in wide
    assert f'class="tl-booking tl-pending" data-booking="{rows["pending"].id}"' in wide  # marked
    assert "嘉兴光电科技有限公司" in wide and "液氦补充" in wide
    assert f'data-booking="{rows["cancelled"].id}"' not in page and f'data-booking="{rows["next_day"].id}"' not in page
    # 09:00–11:00 of a day: 37.5% from the left, 8.333% wide.
    assert 'x="37.500%" y="3" width="8.333%"' in wide
    assert '<rect class="tl-open" x="37.5%" y="0" width="33.333%"' in wide  # open 09:00–17:00, grey around
    phone = page[page.index('id="timeline-list"'):]
    assert "09:00–11:00 · 张工 · 嘉兴光电科技有限公司" in phone

    week = client.get(f"/manage/schedule?day={day}&view=week").get_data(as_text=True)
    assert f'data-booking="{rows["next_day"].id}"' in week
    only_nmr = client.get(f"/manage/schedule?day={day}&category=analytical-spectroscopy").get_data(as_text=True)
    assert "核磁共振波谱仪" in only_nmr and "扫描电子显微镜" not in only_nmr
    pending = client.get(f"/manage/schedule?day={day}&status=pending").get_data(as_text=True)
    assert f'data-booking="{rows["pending"].id}"' in pending and f'data-booking="{rows["confirmed"].id}"' not in pending
    assert client.get("/manage/schedule?day=not-a-day&status=nonsense&view=year").status_code == 200

    outsider = app.test_client()
    make.user(email="firm@timeline.example")
    Browser(outsider).login("firm@timeline.example")
    assert outsider.get("/manage/schedule").status_code == 403


def test_the_week_calendar_names_bookers_to_the_instruments_managers_only(app, browser, client, make, app_context):
    day, institution, manager, rows = _world(make)
    sem = rows["confirmed"].instrument
    browser.login("mgr@timeline.example")
    page = client.get(f"/instruments/{sem.id}?week={day}").get_data(as_text=True)
    assert f'href="/bookings/{rows["confirmed"].id}" data-booking="{rows["confirmed"].id}"' in page
    assert "嘉兴光电科技有限公司" in page and 'title="张工 · 嘉兴光电科技有限公司' in page
    for visitor_email in ("other@timeline.example", "zhang2@timeline.example"):
        make.user(email=visitor_email, role="manager" if visitor_email.startswith("other") else "firm")
        visitor = app.test_client()
        Browser(visitor).login(visitor_email)
        seen = visitor.get(f"/instruments/{sem.id}?week={day}").get_data(as_text=True)
        assert "data-booking=" not in seen and "嘉兴光电科技有限公司" not in seen and "cell-booking" in seen


def test_the_weeks_bookings_are_read_through_the_institutions_instruments(make, app_context):
    """Issue #19: the timeline read the whole platform's week through
    `(status, start)` to keep its institution's (20 ms of the demo's 36 ms
    week page); it reads its instruments' through `(instrument_id, start)`
    whatever the status and leaves out those not shown, with the same rows."""
    from datetime import datetime, time

    import sqlalchemy as sa

    from instrument_share.desk.timeline import institution_schedule
    from instrument_share.timeutil import platform_zone

    day, institution, manager, rows = _world(make)
    start = datetime.combine(day, time(), platform_zone())
    sent = []

    def keep(conn, cursor, text, parameters, context, executemany):
        sent.append((text, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        schedule = institution_schedule(manager, institution.id, start, start + timedelta(days=7))
        pending = institution_schedule(manager, institution.id, start, start + timedelta(days=7), status="pending")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    shown = sorted(row.id for bookings in schedule.bookings.values() for row in bookings)
    assert shown == sorted(rows[name].id for name in ("confirmed", "pending", "staff", "next_day"))
    assert [row.id for bookings in pending.bookings.values() for row in bookings] == [rows["pending"].id]
    if db.engine.dialect.name == "sqlite":
        text, parameters = next((text, parameters) for text, parameters in sent if "FROM bookings" in text)
        plan = " ".join(row[-1] for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {text}",
                                                                                  parameters))
        assert "ix_bookings_instrument_id_start" in plan and "ix_bookings_status_start" not in plan, plan
