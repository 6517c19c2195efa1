"""Booking pages: the week calendar, the form, my bookings, the manager desk."""
from __future__ import annotations

import re

import sqlalchemy as sa

from instrument_share.booking.models import Blackout, Booking
from instrument_share.extensions import db

from ..conftest import csrf_token_from
from .conftest import iso
from .test_conflicts import book


def local(day, hhmm):
    return f"{day.isoformat()}T{hhmm}"


def test_week_calendar_shows_free_and_busy(api, client, make, day):
    instrument = make.instrument()
    assert book(api.as_user(make.user()), instrument, iso(day, "10:00"), iso(day, "11:00")).status_code == 201
    html = client.get(f"/instruments/{instrument.id}?week={day.isoformat()}").get_data(as_text=True)
    assert f'data-start="{local(day, "09:30")}"' in html  # free cell
    assert f'data-start="{local(day, "10:00")}"' not in html  # booked
    assert "cell-booking" in html and "cell-closed" in html
    assert "day-list" in html  # the narrow-screen list
    assert 'src="/static/calendar.js"' in html
    assert client.get(f"/instruments/{instrument.id}?week=not-a-date").status_code == 200


def test_week_calendar_offers_nothing_inside_the_booking_notice(client, make, day):
    # Thirty days' notice: the whole week of `day` is too soon, so no cell
    # may invite a booking the conflict checker would refuse.
    instrument = make.instrument(advance_notice_hours=24 * 30)
    html = client.get(f"/instruments/{instrument.id}?week={day.isoformat()}").get_data(as_text=True)
    assert "cell-notice" in html
    assert f'data-start="{local(day, "09:30")}"' not in html
    assert 'class="cell cell-free"' not in html


def test_book_through_the_form(browser, client, make, day, app_context):
    instrument = make.instrument()
    user = make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    page = client.get(f"/instruments/{instrument.id}?start={local(day, '10:00')}&end={local(day, '11:00')}")
    html = page.get_data(as_text=True)
    assert f'value="{local(day, "10:00")}"' in html  # the free cell link fills the form
    response = client.post(f"/instruments/{instrument.id}/book", data={
        "csrf_token": csrf_token_from(html), "start": local(day, "10:00"), "end": local(day, "11:00"),
        "purpose": "涂层截面形貌", "weeks": "1", "confirm": "1"})
    assert response.status_code == 302
    booking = db.session.scalar(sa.select(Booking))
    assert booking.user_id == user.id and booking.status == "confirmed"
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "涂层截面形貌" in detail and "已确认" in detail
    mine = client.get("/bookings").get_data(as_text=True)
    assert instrument.name in mine


def test_form_conflict_shows_suggestions_and_errors(browser, client, api, make, day, app_context):
    instrument = make.instrument()
    book(api.as_user(make.user()), instrument, iso(day, "10:00"), iso(day, "12:00"))
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    token = csrf_token_from(client.get(f"/instruments/{instrument.id}").get_data(as_text=True))
    response = client.post(f"/instruments/{instrument.id}/book", data={
        "csrf_token": token, "start": local(day, "11:00"), "end": local(day, "12:00"), "purpose": "XRD",
        "confirm": "1"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "所选时间已被占用" in html
    assert "suggestion" in html and local(day, "12:00") in html
    bad = client.post(f"/instruments/{instrument.id}/book", data={
        "csrf_token": token, "start": local(day, "11:00"), "end": local(day, "10:00"), "purpose": "XRD"})
    assert bad.status_code == 422
    assert "结束时间必须晚于开始时间" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 1
    assert client.post(f"/instruments/{instrument.id}/book", data={
        "start": local(day, "14:00"), "end": local(day, "15:00"), "purpose": "XRD"}).status_code == 400


def test_booking_needs_sign_in(client, make, day):
    instrument = make.instrument()
    html = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert "/login?next=" in html
    response = client.post(f"/instruments/{instrument.id}/book", data={})
    assert response.status_code in (302, 400)


def test_cancel_and_reschedule_from_pages(browser, client, make, day, app_context):
    instrument = make.instrument()
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    token = csrf_token_from(client.get(f"/instruments/{instrument.id}").get_data(as_text=True))
    client.post(f"/instruments/{instrument.id}/book", data={
        "csrf_token": token, "start": local(day, "10:00"), "end": local(day, "11:00"), "purpose": "SEM",
        "confirm": "1"})
    booking = db.session.scalar(sa.select(Booking))
    moved = client.post(f"/bookings/{booking.id}/reschedule", data={
        "csrf_token": token, "start": local(day, "13:00"), "end": local(day, "14:00")})
    assert moved.status_code == 302
    db.session.refresh(booking)
    assert booking.sequence == 1
    client.post(f"/bookings/{booking.id}/cancel", data={"csrf_token": token, "reason": "计划变更"})
    db.session.refresh(booking)
    assert booking.status == "cancelled" and booking.decision_reason == "计划变更"
    history = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "已改期" in history and "计划变更" in history


def test_others_cannot_see_or_act_on_a_booking(browser, client, api, make, day):
    instrument = make.instrument()
    booking = book(api.as_user(make.user()), instrument, iso(day, "10:00"), iso(day, "11:00")).json
    make.user(email="other@firm.example")
    browser.login("other@firm.example")
    assert client.get(f"/bookings/{booking['id']}").status_code == 404
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    for action in ("cancel", "approve", "reject", "check-in", "usage", "rating", "reschedule"):
        assert client.post(f"/bookings/{booking['id']}/{action}", data={"csrf_token": token}).status_code == 404


def test_manager_desk_approves_and_rejects(browser, client, api, make, day, app_context):
    manager = make.user(role="manager", email="mgr@uni.example")
    instrument = make.instrument(institution_id=manager.institution_id, requires_approval=True)
    firm = api.as_user(make.user())
    first = book(firm, instrument, iso(day, "10:00"), iso(day, "11:00")).json
    second = book(firm, instrument, iso(day, "13:00"), iso(day, "14:00")).json
    browser.login("mgr@uni.example")
    html = client.get("/manage/").get_data(as_text=True)
    assert "待审核" in html and instrument.name in html
    token = csrf_token_from(html)
    client.post(f"/bookings/{first['id']}/approve", data={"csrf_token": token, "next": "/manage/"})
    response = client.post(f"/bookings/{second['id']}/reject", data={"csrf_token": token, "reason": "", "next": "/manage/"})
    assert response.headers["Location"] == "/manage/"
    assert "请说明拒绝原因" in client.get("/manage/").get_data(as_text=True)
    client.post(f"/bookings/{second['id']}/reject", data={"csrf_token": token, "reason": "样品不符"})
    statuses = dict(db.session.execute(sa.select(Booking.id, Booking.status)).all())
    assert statuses == {first["id"]: "confirmed", second["id"]: "rejected"}


def test_manager_schedule_page(browser, client, api, make, day, app_context):
    manager = make.user(role="manager", email="mgr@uni.example")
    instrument = make.instrument(institution_id=manager.institution_id)
    booking = book(api.as_user(make.user()), instrument, iso(day, "10:00"), iso(day, "11:00")).json
    browser.login("mgr@uni.example")
    url = f"/manage/instruments/{instrument.id}"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    form = {"csrf_token": token, "open-0-0": "08:30", "close-0-0": "12:00", "open-0-1": "13:00", "close-0-1": "17:30"}
    assert client.post(f"{url}/hours", data=form).status_code == 302
    db.session.refresh(instrument)
    assert [(h.weekday, h.open_minute, h.close_minute) for h in instrument.opening_hours] == [(0, 510, 720), (0, 780, 1050)]
    bad = client.post(f"{url}/hours", data={**form, "close-0-0": "07:00"}, follow_redirects=True)
    assert "开放时间未保存" in bad.get_data(as_text=True)
    blackout = {"csrf_token": token, "start": local(day, "09:00"), "end": local(day, "12:00"), "reason": "维护"}
    refused = client.post(f"{url}/blackouts", data=blackout)
    assert refused.status_code == 409 and "这些预约落在停机时段内" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Blackout.id))) == 0
    assert client.post(f"{url}/blackouts", data={**blackout, "cancel_bookings": "y"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking["id"]).status == "cancelled"
    blackout_id = db.session.scalar(sa.select(Blackout.id))
    assert client.post(f"/manage/blackouts/{blackout_id}/delete", data={"csrf_token": token}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Blackout.id))) == 0


def test_manager_pages_refuse_others(browser, client, make):
    manager = make.user(role="manager", email="mgr@uni.example")
    other_instrument = make.instrument()
    make.user(email="eng@firm.example")
    assert client.get("/manage/").status_code == 302  # to sign in
    browser.login("eng@firm.example")
    assert client.get("/manage/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    browser.login("mgr@uni.example")
    assert client.get(f"/manage/instruments/{other_instrument.id}").status_code == 403
    token = csrf_token_from(client.get("/manage/").get_data(as_text=True))
    assert client.post(f"/manage/instruments/{other_instrument.id}/hours", data={"csrf_token": token}).status_code == 403
    assert manager.institution_id != other_instrument.institution_id


def test_action_forms_need_csrf(browser, client, api, make, day):
    instrument = make.instrument()
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    for url in (f"/instruments/{instrument.id}/book", "/bookings/1/cancel", "/bookings/1/reschedule",
                f"/manage/instruments/{instrument.id}/hours", "/manage/users/1/lift"):
        assert client.post(url, data={}).status_code == 400, url


def test_admin_desk_chooses_institution(browser, client, make):
    make.user(role="admin", email="office@g60.example")
    first = make.institution(name="甲大学")
    second = make.institution(name="乙大学")
    browser.login("office@g60.example")
    html = client.get(f"/manage/?institution={second.id}").get_data(as_text=True)
    assert re.search(r"管理台 · 乙大学", html)
    assert first.id


def test_the_form_shows_the_quote_before_anything_is_booked(browser, client, make, day, app_context):
    """Issue #17, "book with eyes open": the first POST shows the price, the
    firm's part and the status; only "confirm" books, and not if the times
    were changed after the quote."""
    instrument = make.instrument(requires_approval=True)
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    token = csrf_token_from(client.get(f"/instruments/{instrument.id}").get_data(as_text=True))
    form = {"csrf_token": token, "start": local(day, "10:00"), "end": local(day, "12:00"), "purpose": "XRD",
            "weeks": "2", "voucher_id": "0"}
    preview = client.post(f"/instruments/{instrument.id}/book", data=form)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="quote"' in html
    assert "¥600.00" in html and "¥1,200.00" in html  # each week, and the series
    assert "等待管理员审批" in html and 'id="quote-occurrences"' in html
    quoted = dict(re.findall(r'name="(quoted\w*)" value="([^"]*)"', html))  # what the quote showed
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    changed = client.post(f"/instruments/{instrument.id}/book",
                          data={**form, "end": local(day, "11:00"), **quoted, "confirm": "1"})
    assert changed.status_code == 200 and "¥300.00" in changed.get_data(as_text=True)  # a new quote, no booking
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    booked = client.post(f"/instruments/{instrument.id}/book", data={**form, **quoted, "confirm": "1"})
    assert booked.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 2


def test_cancel_asks_first_and_check_in_shows_only_when_it_can_be_used(api, browser, client, make, app_context):
    """Issue #17: the cancel button asks, saying what happens to the voucher
    money; the check-in button shows only from 30 minutes before the start."""
    from datetime import timedelta

    from instrument_share.booking.services import create_booking
    from instrument_share.timeutil import utcnow

    instrument = make.instrument(advance_notice_hours=0, open_on_holidays=True, hours=[(d, 0, 1440) for d in range(7)])
    user = make.user(email="eng@firm.example")
    soon = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=20)
    later = soon + timedelta(days=3)
    (now_booking,) = create_booking(user, instrument.id, soon, soon + timedelta(hours=1), "EDS")
    (later_booking,) = create_booking(user, instrument.id, later, later + timedelta(hours=1), "EDS")
    db.session.commit()
    browser.login("eng@firm.example")
    due = client.get(f"/bookings/{now_booking.id}").get_data(as_text=True)
    not_due = client.get(f"/bookings/{later_booking.id}").get_data(as_text=True)
    assert "/check-in" in due and "/check-in" not in not_due
    assert 'data-confirm="取消' in not_due and "取消开始前的预约不收取任何费用" in not_due
    assert 'data-confirm="取消' in client.get("/bookings").get_data(as_text=True)


def test_confirming_a_quote_that_no_longer_holds_books_nothing(browser, client, make, day, app_context):
    """Found by review: the manager raised the rate and asked for approval
    between the quote and "confirm", and the booking was made at the new
    price, pending, unseen. Now the new quote is shown instead."""
    from decimal import Decimal

    instrument = make.instrument(hourly_rate=Decimal("300.00"))
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    token = csrf_token_from(client.get(f"/instruments/{instrument.id}").get_data(as_text=True))
    form = {"csrf_token": token, "start": local(day, "10:00"), "end": local(day, "12:00"), "purpose": "XRD",
            "weeks": "1", "voucher_id": "0"}
    html = client.post(f"/instruments/{instrument.id}/book", data=form).get_data(as_text=True)
    hidden = dict(re.findall(r'name="(quoted\w*)" value="([^"]*)"', html))
    assert hidden["quoted_cost"] == "600.00" and hidden["quoted_status"] == "confirmed"
    instrument.hourly_rate, instrument.requires_approval = Decimal("900.00"), True
    db.session.commit()
    changed = client.post(f"/instruments/{instrument.id}/book", data={**form, **hidden, "confirm": "1"})
    page = changed.get_data(as_text=True)
    assert changed.status_code == 422 and "¥1,800.00" in page and "等待管理员审批" in page
    assert "自报价以来" in page
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_odd_history_filters_and_pages_are_not_500s(browser, client, make, app_context):
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    for query in ("page=99999999999999999999", "to=9999-12-31", "from_=0001-01-01", "from_=1969-12-31&to=2200-01-01",
                  "status=%00&instrument=abc"):
        assert client.get(f"/bookings?{query}").status_code == 200, query
        assert client.get(f"/bookings/export.csv?{query}").status_code == 200, query
    assert "1970" in client.get("/bookings?to=9999-12-31").get_data(as_text=True)  # said beside the field
