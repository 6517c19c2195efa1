"""Every API route is listed here with who may call it anonymously; a new
route that is not listed fails this test (the first column of the
permission matrix; the role columns live beside each feature's tests)."""
from __future__ import annotations

import re

# (method, rule) -> status an anonymous caller gets with an empty body.
ANONYMOUS = {
    ("POST", "/api/v1/tokens"): 422,
    ("GET", "/api/v1/me"): 401,
    ("POST", "/api/v1/me/feed-token"): 401,
    ("GET", "/api/v1/cities"): 200,
    ("GET", "/api/v1/institutions"): 200,
    ("GET", "/api/v1/categories"): 200,
    ("GET", "/api/v1/instruments"): 200,
    ("POST", "/api/v1/instruments"): 401,
    ("GET", "/api/v1/instruments/<int:instrument_id>"): 404,
    ("PATCH", "/api/v1/instruments/<int:instrument_id>"): 401,
    ("GET", "/api/v1/instruments/<int:instrument_id>/availability"): 422,
    ("PUT", "/api/v1/instruments/<int:instrument_id>/opening-hours"): 401,
    ("POST", "/api/v1/instruments/<int:instrument_id>/blackouts"): 401,
    ("DELETE", "/api/v1/blackouts/<int:blackout_id>"): 401,
    ("POST", "/api/v1/bookings"): 401,
    ("GET", "/api/v1/bookings"): 401,
    ("GET", "/api/v1/bookings/<int:booking_id>"): 401,
    ("PATCH", "/api/v1/bookings/<int:booking_id>"): 401,
    ("POST", "/api/v1/bookings/<int:booking_id>/cancel"): 401,
    ("POST", "/api/v1/bookings/<int:booking_id>/approve"): 401,
    ("POST", "/api/v1/bookings/<int:booking_id>/reject"): 401,
    ("POST", "/api/v1/bookings/<int:booking_id>/check-in"): 401,
    ("POST", "/api/v1/bookings/<int:booking_id>/usage"): 401,
    ("POST", "/api/v1/bookings/<int:booking_id>/rating"): 401,
    ("GET", "/api/v1/bookings/<int:booking_id>/ics"): 401,
    ("POST", "/api/v1/users/<int:user_id>/lift-suspension"): 401,
    ("GET", "/api/v1/stats/utilisation"): 401,
    ("GET", "/api/v1/stats/flows"): 401,
    ("GET", "/api/v1/stats/vouchers"): 401,
    ("POST", "/api/v1/vouchers"): 401,
    ("GET", "/api/v1/vouchers"): 401,
    ("POST", "/api/v1/vouchers/<int:voucher_id>/revoke"): 401,
    ("POST", "/api/v1/voucher-claims"): 401,
    ("GET", "/api/v1/voucher-claims"): 401,
    ("POST", "/api/v1/voucher-claims/<int:claim_id>/lines/<int:line_id>"): 401,
    ("POST", "/api/v1/voucher-claims/<int:claim_id>/paid"): 401,
    ("GET", "/api/v1/openapi.json"): 200,
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield method, rule.rule


def test_every_api_route_is_in_the_table(app):
    assert set(_routes(app)) == set(ANONYMOUS)


def test_anonymous_callers_get_the_listed_answer_in_the_error_shape(client):
    for (method, rule), expected in ANONYMOUS.items():
        path = re.sub(r"<int:\w+>", "999999", rule)
        response = client.open(path, method=method, json={} if method != "GET" else None)
        assert response.status_code == expected, (method, rule, response.status_code)
        if expected >= 400:
            assert set(response.json) >= {"error", "message", "fields"}, (method, rule)


def test_a_session_cookie_never_authorises_a_change(browser, client, make):
    make.user(role="admin", email="office@g60.example")
    browser.login("office@g60.example")
    for method, rule in ANONYMOUS:
        if method == "GET" or rule == "/api/v1/tokens":
            continue
        path = re.sub(r"<int:\w+>", "999999", rule)
        response = client.open(path, method=method, json={})
        assert response.status_code == 401, (method, rule, response.status_code)
