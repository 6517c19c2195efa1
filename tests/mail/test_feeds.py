"""Calendar feeds: a secret per-user URL, and a public busy-only feed per instrument."""
from __future__ import annotations

import icalendar
from ical.calendar_stream import IcsCalendarStream

from ..booking.conftest import iso
from ..conftest import csrf_token_from


def test_user_feed_lists_bookings_and_supports_conditional_get(api, client, make, day):
    booker = make.user(email="li@firm.example")
    as_booker = api.as_user(booker)
    booking = as_booker.post("/api/v1/bookings", json={
        "instrument_id": make.instrument(name="原子力显微镜").id, "start": iso(day, "10:00"),
        "end": iso(day, "11:00"), "purpose": "表面粗糙度"}).json
    url = as_booker.get("/api/v1/me").json["feed_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = client.get(f"/{path}")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    assert "method" not in calendar
    assert str(calendar["refresh-interval"].to_ical(), "ascii") == "PT1H"
    [event] = calendar.walk("VEVENT")
    assert str(event["uid"]).startswith(f"booking-{booking['id']}@")
    assert IcsCalendarStream.calendar_from_ics(response.get_data(as_text=True)).events[0].summary.startswith("原子力显微镜")
    again = client.get(f"/{path}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    since = client.get(f"/{path}", headers={"If-Modified-Since": response.headers["Last-Modified"]})
    assert since.status_code == 304
    # A cancelled booking leaves the feed.
    as_booker.post(f"/api/v1/bookings/{booking['id']}/cancel", json={})
    assert icalendar.Calendar.from_ical(client.get(f"/{path}").data).walk("VEVENT") == []


def test_reset_token_and_wrong_tokens(api, client, make):
    user = make.user()
    other = make.user()
    as_user = api.as_user(user)
    old = as_user.get("/api/v1/me").json["feed_url"].split("/feeds/")[1]
    new = as_user.post("/api/v1/me/feed-token").json["feed_url"].split("/feeds/")[1]
    assert old != new
    assert client.get(f"/feeds/{old}").status_code == 404
    assert client.get(f"/feeds/{new}").status_code == 200
    other_token = api.as_user(other).get("/api/v1/me").json["feed_url"].split("/feeds/")[1]
    forged = f"{user.id}-{other_token.split('-', 1)[1]}"
    for bad in (forged, "nonsense.ics", f"{user.id}-.ics", "0-abc.ics", "999999-abc.ics"):
        assert client.get(f"/feeds/{bad}").status_code == 404, bad
    assert client.post("/api/v1/me/feed-token").status_code == 401


def test_profile_shows_and_resets_the_feed(browser, client, make):
    make.user(email="li@firm.example")
    browser.login("li@firm.example")
    page = client.get("/profile").get_data(as_text=True)
    assert 'href="webcal://' in page and "/feeds/" in page
    old = page.split('id="feed-url" readonly value="')[1].split('"')[0]
    client.post("/profile/feed-token", data={"csrf_token": csrf_token_from(page)})
    new_page = client.get("/profile").get_data(as_text=True)
    new = new_page.split('id="feed-url" readonly value="')[1].split('"')[0]
    assert new != old
    assert client.get("/" + old.split("://", 1)[1].split("/", 1)[1]).status_code == 404
    assert client.post("/profile/feed-token", data={}).status_code == 400


def test_instrument_feed_shows_busy_time_only(api, client, make, day):
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id)
    booker = make.user(email="secret-firm@firm.example", name="保密工程师")
    api.as_user(booker).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "机密样品"})
    api.as_user(manager).post(f"/api/v1/instruments/{instrument.id}/blackouts",
                              json={"start": iso(day, "14:00"), "end": iso(day, "15:00"), "reason": "内部维护"})
    response = client.get(f"/feeds/instruments/{instrument.id}.ics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for secret in ("secret-firm", "保密工程师", "机密样品", "内部维护", "ATTENDEE", "mailto:"):
        assert secret not in text
    summaries = sorted(str(e["summary"]) for e in icalendar.Calendar.from_ical(response.data).walk("VEVENT"))
    assert summaries == ["已预约 Booked", "维护 Maintenance"]
    assert client.get("/feeds/instruments/999999.ics").status_code == 404
