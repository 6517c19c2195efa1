"""Every form refuses a post without its CSRF token, and text people type is
shown as text on every page that shows it."""
from __future__ import annotations

import re

import sqlalchemy as sa

from instrument_share.extensions import db

from .booking.conftest import iso
from .booking.test_conflicts import book

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SCRIPT = '<script>alert("g60")</script>'
ATTRIBUTE = '"><img src=x onerror=alert(1)>'


def _form_routes(app):
    """(method, rule) of every changing route outside the bearer-token API."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint.endswith("static"):
            continue
        for method in sorted(rule.methods & CHANGING):
            yield method, rule.rule


def _row_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def test_every_form_refuses_a_post_without_or_with_a_forged_token(app, browser, client, make, api, day,
                                                                 app_context):
    # A signed-in admin may do almost anything, so only the token can stop these.
    instrument = make.instrument()
    firm_user = make.user()
    booking = book(api.as_user(firm_user), instrument, iso(day, "10:00"), iso(day, "11:00")).json
    make.user(role="admin", email="office@g60.example")
    browser.login("office@g60.example")
    ids = {"instrument_id": instrument.id, "booking_id": booking["id"], "user_id": firm_user.id}
    routes = list(_form_routes(app))
    assert len(routes) >= 20, routes  # the forms are found, not an empty loop
    before = _row_counts()
    for method, rule in routes:
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), rule)
        for data in ({}, {"csrf_token": "forged"}):
            response = client.open(path, method=method, data=data)
            assert response.status_code == 400, (method, rule, data, response.status_code)
            assert "表单已过期" in response.get_data(as_text=True), (method, rule)
    db.session.remove()
    assert _row_counts() == before


def test_text_people_type_is_shown_as_text_everywhere(browser, client, make, api, day, app_context):
    institution = make.institution(name=f"研究院{SCRIPT}")
    instrument = make.instrument(institution=institution, name=f"质谱仪{SCRIPT}",
                                 model=ATTRIBUTE, location=SCRIPT, description=ATTRIBUTE)
    firm = make.firm(name=f"公司{SCRIPT}")
    booker = make.user(email="eng@firm.example", name=f"李工{ATTRIBUTE}", firm=firm)
    created = book(api.as_user(booker), instrument, iso(day, "10:00"), iso(day, "11:00"),
                   purpose=f"{SCRIPT}{ATTRIBUTE}")
    assert created.status_code == 201, created.json
    booking_id = created.json["id"]
    make.user(role="manager", email="mgr@inst.example", institution_id=institution.id)
    make.user(role="admin", email="office@g60.example")

    def shown(url: str) -> str:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        html = response.get_data(as_text=True)
        for payload in (SCRIPT, ATTRIBUTE, "onerror=alert(1)>"):
            assert payload not in html, (url, payload)
        return html

    pages = {"/search?q=质谱": "质谱仪", f"/instruments/{instrument.id}": "质谱仪",
             f"/institutions/{institution.id}": "质谱仪"}
    for url, expected in pages.items():
        assert expected in shown(url)
    browser.login("eng@firm.example")
    assert "&lt;script&gt;" in shown(f"/bookings/{booking_id}")
    assert "质谱仪" in shown("/bookings")
    client.post("/logout", data={"csrf_token": _token(client)})
    browser.login("mgr@inst.example")
    for url in ("/manage/", f"/bookings/{booking_id}", f"/manage/instruments/{instrument.id}/history?of=bookings"):
        assert "&lt;script&gt;" in shown(url), url
    client.post("/logout", data={"csrf_token": _token(client)})
    browser.login("office@g60.example")
    assert "质谱仪" in shown("/stats/")


def _token(client) -> str:
    from .conftest import csrf_token_from

    return csrf_token_from(client.get("/").get_data(as_text=True))


def test_numbers_too_large_for_an_id_are_not_errors(browser, client, make):
    huge = "99999999999999999999"
    instrument = make.instrument()
    make.user(role="admin", email="office@g60.example")
    browser.login("office@g60.example")
    for url in (f"/search?page={huge}", f"/search?institution={huge}", f"/manage/?institution={huge}",
                f"/manage/audit?institution={huge}", f"/manage/audit?page={huge}",
                f"/manage/instruments/{instrument.id}/history?page={huge}",
                f"/institutions/{instrument.institution_id}?page={huge}", f"/instruments/{huge}"):
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
