"""Smaller holes of issue #13 (finding 11): off-site `next` redirects, cached
private pages, links built from a forged Host header."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from .booking.conftest import iso
from .conftest import csrf_token_from

PLATFORM_URL = "https://share.g60.example"

# Each would send the browser to evil.example (or was let through by the old
# check in booking/views.py): browsers drop tabs and line breaks, read `\` as
# `/`, and take `//host` for another site.
HOSTILE_NEXT = [
    "https://evil.example/x", "http:evil.example", "//evil.example", "///evil.example", "/\\evil.example",
    "\\\\evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example",
    " //evil.example", "/ /evil.example", "/\x00/evil.example", "/\u200b/evil.example",
    "/\u3000/evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%5Cevil.example",
    "/%09/evil.example", "/%252F/evil.example", "javascript:alert(1)", "evil.example",
]
GOOD_NEXT = "/search?q=sem"


def _off_site(location: str) -> bool:
    return "evil" in location or not location.startswith("/") or location.startswith(("//", "/\\"))


@pytest.fixture
def signed_in_firm(app, browser, client, api, make, day):
    """A signed-in firm user with one booking; the CSRF token of their session."""
    user = make.user(email="eng@firm.example")
    instrument = make.instrument()
    booking = api.as_user(user).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "XRD"}).json
    browser.login("eng@firm.example")
    return booking["id"], csrf_token_from(client.get("/").get_data(as_text=True))


def _form_routes(app, booking_id: int) -> list[str]:
    """Every form route that takes `next`: the booking actions, the language
    switch, the confirmation mail's resend (where present)."""
    routes = [f"/bookings/{booking_id}/{action}"
              for action in ("cancel", "approve", "reject", "check-in", "usage", "rating")]
    routes.append("/language/en")
    if "accounts.resend_confirmation" in app.view_functions:
        routes.append("/profile/verify-email")
    return routes


def test_next_on_forms_never_leaves_the_site(app, client, signed_in_firm):
    booking_id, token = signed_in_firm
    for route in _form_routes(app, booking_id):
        forbidden = route.endswith(("/approve", "/reject"))  # the managers' buttons: a 403, no redirect
        for target in HOSTILE_NEXT:
            response = client.post(route, data={"csrf_token": token, "next": target})
            assert response.status_code == (403 if forbidden else 302), (route, target)
            assert not _off_site(response.headers.get("Location", "/")), (route, target, response.headers["Location"])
        if not forbidden:
            response = client.post(route, data={"csrf_token": token, "next": GOOD_NEXT})
            assert response.headers["Location"] == GOOD_NEXT, route


def test_next_on_login_never_leaves_the_site(client, make):
    make.user(email="eng@firm.example")
    for target in [*HOSTILE_NEXT, GOOD_NEXT]:
        page = client.get("/login").get_data(as_text=True)
        response = client.post("/login", query_string={"next": target}, data={
            "email": "eng@firm.example", "password": "bench-key-4471", "csrf_token": csrf_token_from(page)})
        assert response.status_code == 302, target
        location = response.headers["Location"]
        assert location == GOOD_NEXT if target == GOOD_NEXT else not _off_site(location), (target, location)


def test_only_one_redirect_check_in_the_code():
    """Every `next` goes through web.safe_next_url: no view reads it raw."""
    import instrument_share

    package = Path(instrument_share.__file__).parent
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for match in re.finditer(r"""\.get\(["']next["']\)""", text):
            assert text[:match.start()].rstrip().endswith("safe_next_url(request.form") or \
                text[:match.start()].rstrip().endswith("safe_next_url(request.args"), (source, match.start())


def test_private_pages_are_never_stored(client, browser, api, make):
    instrument = make.instrument()
    anonymous = client.get(f"/instruments/{instrument.id}")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")  # public and cacheable
    user = make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    for url in ("/profile", "/", f"/instruments/{instrument.id}", "/bookings", "/vouchers/"):
        response = client.get(url)
        assert response.status_code == 200, url
        directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= directives, url
    static = client.get("/static/site.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
    token_api = api.as_user(user)
    answer = token_api.get("/api/v1/bookings")
    assert "no-store" in answer.headers["Cache-Control"]


def test_links_come_from_platform_url_not_the_host_header(make_app, make, day):
    from .factories import ApiClient

    user, instrument = make.user(email="eng@firm.example"), make.instrument()
    app = make_app(PLATFORM_URL=PLATFORM_URL)
    client = app.test_client()
    api = ApiClient(client, app).as_user(user)
    forged = {"Authorization": f"Bearer {api.token}", "Host": "evil.example"}
    created = client.post("/api/v1/bookings", headers=forged, json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"), "purpose": "XRD"})
    assert created.status_code == 201, created.json
    booking_id = created.json["id"]
    assert created.json["ics_url"] == f"{PLATFORM_URL}/api/v1/bookings/{booking_id}/ics"
    assert client.get(f"/api/v1/bookings/{booking_id}", headers=forged).json["ics_url"].startswith(PLATFORM_URL + "/")
    listed = client.get("/api/v1/bookings", headers=forged).json["items"]
    assert [b["ics_url"] for b in listed] == [f"{PLATFORM_URL}/api/v1/bookings/{booking_id}/ics"]
    feed = client.post("/api/v1/me/feed-token", headers=forged).json
    assert "evil" not in str(feed) and f"{PLATFORM_URL}/feeds/" in str(feed)
