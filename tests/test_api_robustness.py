"""What the API fuzzing (test_api_fuzz.py) found, one focused case each:
odd input gets a clear 4xx and changes nothing, and the OpenAPI document
declares what the API really answers."""
from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from instrument_share.db_types import MAX_ID
from instrument_share.extensions import db
from instrument_share.text import LINE_PATTERN, TEXT_PATTERN
from instrument_share.vouchers.models import Voucher

HUGE = "40101227447989306501627904"  # far beyond any database integer


@pytest.mark.parametrize("method, url", [
    ("get", f"/api/v1/instruments/{HUGE}"),
    ("get", f"/api/v1/instruments/{HUGE}/availability?from=2026-12-01T09:00:00Z&to=2026-12-01T10:00:00Z"),
    ("get", f"/api/v1/bookings/{HUGE}"),
    ("get", f"/api/v1/bookings/{HUGE}/ics"),
    ("patch", f"/api/v1/bookings/{HUGE}"),
    ("post", f"/api/v1/bookings/{HUGE}/approve"),
    ("delete", f"/api/v1/blackouts/{HUGE}"),
    ("post", f"/api/v1/vouchers/{HUGE}/revoke"),
    ("post", f"/api/v1/users/{MAX_ID + 1}/lift-suspension"),
])
def test_an_id_too_large_for_the_database_is_not_found(make, api, method, url):
    admin = api.as_user(make.user("admin"))
    response = getattr(admin, method)(url)
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.get_json()["error"] == "not_found"


def test_an_id_too_large_on_a_page_is_not_found(client):
    assert client.get(f"/instruments/{HUGE}").status_code == 404


def test_numbers_too_large_in_a_query_or_body_are_refused(make, api):
    admin = api.as_user(make.user("admin"))
    response = admin.get(f"/api/v1/bookings?instrument={HUGE}")
    assert response.status_code == 422
    assert "instrument" in response.get_json()["fields"]
    response = admin.get(f"/api/v1/cities?page={HUGE}")
    assert response.status_code == 422
    response = admin.post("/api/v1/vouchers", json={
        "firm_id": int(HUGE), "amount": "100.00", "expires_on": "2030-01-01", "max_share": "0.5"})
    assert response.status_code == 422
    assert "firm_id" in response.get_json()["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Voucher.id))) == 0


@pytest.mark.parametrize("moment", ["0002-01-10T00:01:00Z", "1770-10-20T04:36:16-16:04", "9999-12-31T23:59:59Z"])
def test_times_outside_the_platforms_years_are_refused(make, api, moment):
    instrument = make.instrument()
    response = api.client.get(
        f"/api/v1/instruments/{instrument.id}/availability?from={moment}&to=2026-12-01T10:00:00Z")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "from" in response.get_json()["fields"]


@pytest.mark.parametrize("query", ["from=9999-12-31&to=9999-12-31", "from=0454-12-08&to=0455-01-01"])
def test_statistics_periods_outside_the_platforms_years_are_refused(make, api, query):
    admin = api.as_user(make.user("admin"))
    response = admin.get(f"/api/v1/stats/utilisation?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)


def test_the_openapi_document_declares_errors_money_and_public_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    # Decimal strings ("350.00") are documented as strings, not numbers.
    assert spec["components"]["schemas"]["Booking"]["properties"]["cost"]["type"] == "string"
    # A 409 carries what stands in the way and nearby free time.
    conflict = spec["components"]["schemas"]["ConflictError"]
    assert {"error", "message", "conflicts", "suggestions"} <= set(conflict["required"])
    # (POST /bookings has its own copy of the Conflict answer: its link books the first suggestion.)
    conflict_answer = paths["/api/v1/bookings"]["post"]["responses"]["409"]
    assert conflict_answer["content"]["application/json"]["schema"]["$ref"].endswith("/ConflictError")
    assert "suggestions/0/start" in spec["components"]["links"]["suggestion.create_booking"]["requestBody"]["start"]
    # Statistics come as JSON, CSV or XLSX.
    tables = paths["/api/v1/stats/flows"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv"} <= set(tables)
    # Reading the catalogue needs no token; everything else names 401 and 403.
    assert paths["/api/v1/cities"]["get"]["security"] == []
    assert paths["/api/v1/tokens"]["post"]["security"] == []
    assert {"401", "429"} <= set(paths["/api/v1/tokens"]["post"]["responses"])
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = set(operation["responses"])
            assert "default" not in responses, (method, path)
            if operation.get("security") != []:
                assert {"401", "403"} <= responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "422"} <= responses, (method, path)


# Issue #13, finding 9: bodies and text that used to end in a 500. Each is
# refused in the one error shape (API.md, "Errors") and changes nothing.

def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _bookings() -> int:
    from instrument_share.booking.models import Booking

    db.session.remove()  # a fresh read, not the test session's cache
    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert set(body) >= {"error", "message", "fields"} and body["error"] == code, body
    return body


@pytest.fixture
def booker(make, api):
    """A firm user's API client and a bookable instrument."""
    return api.as_user(make.user("firm")), make.instrument()


def _raw_post(client, url: str, body: str):
    return client.client.post(url, data=body.encode("utf-8", "surrogatepass"),
                              content_type="application/json", headers=client._headers())


def _booking_body(instrument_id: int, day, **extra) -> dict:
    from .booking.conftest import iso

    return {"instrument_id": instrument_id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
            "purpose": "XRD 物相分析", **extra}


def _a_monday():
    from .booking.conftest import workday

    ahead = 3
    while workday(ahead).weekday() != 0:
        ahead += 1
    return workday(ahead)


@pytest.mark.parametrize("rule", ["FREQ=WEEKLY;BYDAY=+99MO;COUNT=3", "FREQ=MONTHLY;BYDAY=+99MO;COUNT=3",
                                  "FREQ=MONTHLY;BYDAY=-99MO;COUNT=3"])
def test_a_byday_ordinal_out_of_range_is_refused(booker, rule):
    """MONTHLY;BYDAY=+99MO raised IndexError in dateutil (a 500); WEEKLY ignored
    the ordinal and booked. RFC 5545: no ordinal with WEEKLY, 1 to 5 with MONTHLY."""
    client, instrument = booker
    # A Monday: the rule's first occurrence is the booking's own start.
    response = client.post("/api/v1/bookings", json=_booking_body(instrument.id, _a_monday(), recurrence=rule))
    body = _assert_error(response, 422, "validation")
    assert "recurrence" in body["fields"]
    assert _bookings() == 0


def test_json_nested_50000_deep_is_refused(booker):
    client, _instrument = booker
    response = _raw_post(client, "/api/v1/bookings", "[" * 50_000 + "]" * 50_000)
    body = _assert_error(response, 400, "bad_request")
    assert "nested" in body["message"]
    # Deep inside a value that looks like a booking, too.
    response = _raw_post(client, "/api/v1/bookings", '{"purpose": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001)
    _assert_error(response, 400, "bad_request")
    assert _bookings() == 0


@pytest.mark.parametrize("number", ["1" * 5000, "-" + "9" * 5000, "0." + "1" * 5000, "1e" + "9" * 5000])
def test_a_number_of_thousands_of_digits_is_refused(booker, day, number):
    client, instrument = booker
    body = _json(_booking_body(instrument.id, day)).replace(f'"instrument_id": {instrument.id}',
                                                              f'"instrument_id": {number}')
    response = _raw_post(client, "/api/v1/bookings", body)
    assert "number longer" in _assert_error(response, 400, "bad_request")["message"]
    assert _bookings() == 0


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_numbers_json_cannot_hold_are_refused(make, api, number):
    admin = api.as_user(make.user("admin"))
    firm = make.firm()
    response = _raw_post(admin, "/api/v1/vouchers", f'{{"firm_id": {firm.id}, "amount": {number}, '
                         '"expires_on": "2030-01-01", "max_share": 0.5}')
    _assert_error(response, 400, "bad_request")
    assert db.session.scalar(sa.select(sa.func.count(Voucher.id))) == 0


@pytest.mark.parametrize("where", ["value", "key", "nested"])
def test_a_lone_surrogate_is_refused(booker, day, where):
    client, instrument = booker
    text = _json(_booking_body(instrument.id, day))
    text = {
        "value": text.replace('"XRD 物相分析"', '"XRD \\ud800"'),
        "key": text.replace('"purpose"', '"\\udfff"'),
        "nested": text.replace('"XRD 物相分析"', '["\\ud83d"]'),
    }[where]
    response = _raw_post(client, "/api/v1/bookings", text)
    assert "surrogate" in _assert_error(response, 400, "bad_request")["message"]
    assert _bookings() == 0


def test_a_surrogate_pair_is_text(booker, day):
    """Escaped pairs are ordinary characters (here an emoji), not lone surrogates."""
    client, instrument = booker
    text = _json(_booking_body(instrument.id, day)).replace('"XRD 物相分析"', '"XRD \\ud83d\\ude00"')
    response = _raw_post(client, "/api/v1/bookings", text)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["purpose"] == "XRD \U0001F600"


@pytest.mark.parametrize("purpose", ["铜\x00粉", "\x00", "a\x1bb", "a\x7fb", "a\x85b"])
def test_nul_and_control_characters_in_text_are_refused_naming_the_field(booker, day, purpose):
    client, instrument = booker
    response = client.post("/api/v1/bookings", json=_booking_body(instrument.id, day, purpose=purpose))
    body = _assert_error(response, 422, "validation")
    assert list(body["fields"]) == ["purpose"] and "control characters" in body["fields"]["purpose"][0]
    assert _bookings() == 0


def test_nul_in_query_strings_is_refused(make, api):
    admin = api.as_user(make.user("admin"))
    for url in ("/api/v1/institutions?city=hang%00zhou", "/api/v1/instruments?category=%00",
                "/api/v1/stats/utilisation?from=2026-01-01&to=2026-01-31&city=%00"):
        body = _assert_error(admin.get(url), 422, "validation")
        assert body["fields"], url
    # The search text is what a person types: a NUL counts as a space.
    assert admin.get("/api/v1/instruments?q=%E8%B4%A8%00%E8%B0%B1").status_code == 200


def _request_bodies(spec: dict):
    """(method, path, body schema) of every operation that takes a JSON body."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                yield method, path, content["application/json"]["schema"]


def _url(path: str) -> str:
    return path.replace("{", "").replace("}", "").replace("instrument_id", "1").replace(
        "booking_id", "1").replace("claim_id", "1").replace("line_id", "1").replace("voucher_id", "1").replace(
        "order_id", "1")


def test_every_json_body_is_read_strictly(make, api, client):
    """Each operation with a body refuses what Python's json would choke on, before anything else."""
    admin = api.as_user(make.user("admin"))
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = list(_request_bodies(spec))
    assert len(operations) >= 10
    for method, path, _schema in operations:
        for body in ("[" * 5000, '{"a": ' + "7" * 5000 + "}", '{"a": NaN}', '{"a": "\\udc00"}'):
            response = admin.client.open(_url(path), method=method.upper(), data=body,
                                         content_type="application/json", headers=admin._headers())
            _assert_error(response, 400, "bad_request")


def _string_properties(spec: dict, schema: dict, path: tuple = ()):
    """(path, property) of every string in a body schema; a path is a tuple of
    names, "[]" standing for the items of an array."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") == "array":
        yield from _string_properties(spec, schema["items"], (*path, "[]"))
        return
    for name, prop in schema.get("properties", {}).items():
        if prop.get("readOnly"):
            continue
        if "$ref" in prop or prop.get("type") in ("object", "array"):
            yield from _string_properties(spec, prop, (*path, name))
        elif prop.get("type") == "string" and prop.get("format") not in ("date", "date-time", "decimal"):
            yield (*path, name), prop


def _body_with(path: tuple, value):
    """The smallest body that puts `value` at `path`."""
    if not path:
        return value
    inner = _body_with(path[1:], value)
    return [inner] if path[0] == "[]" else {path[0]: inner}


DECIMALS = {"amount", "voucher_amount", "max_share", "hourly_rate", "original_value", "quantity"}


def test_every_text_field_of_every_body_refuses_nul_naming_the_field(make, api, client):
    """A standing check: a new string field that is a plain fields.String fails here."""
    admin = api.as_user(make.user("admin"))
    spec = client.get("/api/v1/openapi.json").get_json()
    checked = []
    for method, path, schema in _request_bodies(spec):
        for where, prop in _string_properties(spec, schema):
            name = where[-1]
            if name in ("password", "current_password", "new_password") or name in DECIMALS:
                continue  # a secret (hashed, never stored), or an amount the service reads as a Decimal
            assert prop.get("pattern") in (LINE_PATTERN, TEXT_PATTERN), (path, where, prop)
            response = admin.client.open(_url(path), method=method.upper(), json=_body_with(where, "a\x00b"),
                                         headers=admin._headers())
            body = _assert_error(response, 422, "validation")
            flat = _json(body["fields"])
            named = f'"{name}"' in flat or f"'{name}'" in flat  # nested messages come as text
            assert named and "control characters" in flat, (path, where, body)
            checked.append(f"{method} {path} {'.'.join(where)}")
    assert len(checked) >= 30, checked


def test_the_apps_json_provider_reads_as_strictly(app):
    """request.get_json() anywhere in the app reads as the API's bodies do;
    Flask's own callers still pass their hooks."""
    with pytest.raises(ValueError, match="nested"):
        app.json.loads("[" * 100 + "]" * 100)
    with pytest.raises(ValueError, match="surrogate"):
        app.json.loads('["\\ud800"]')
    assert app.json.loads(b'{"a": 1}', object_hook=sorted) == ["a"]


# Issue #13: what the stateful phase of the API fuzzing found (test_api_fuzz.py).

def test_a_refused_series_names_its_occurrences_as_the_document_says(booker, day, client):
    """A recurring booking refused with 409 says, per obstacle, which occurrence
    it stands in the way of; the document's ObstacleRange had no `occurrence`
    (and allows no other property), so the answer broke its own schema."""
    user_client, instrument = booker
    assert user_client.post("/api/v1/bookings", json=_booking_body(instrument.id, day)).status_code == 201
    response = user_client.post("/api/v1/bookings",
                                json=_booking_body(instrument.id, day, recurrence="FREQ=DAILY;COUNT=2"))
    body = _assert_error(response, 409, "conflict")
    first = _booking_body(instrument.id, day)
    assert {"start": first["start"], "end": first["end"]} in [c["occurrence"] for c in body["conflicts"]]
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    obstacle, time_range = schemas["ObstacleRange"], schemas["TimeRange"]
    assert obstacle["additionalProperties"] is False
    for conflict in body["conflicts"]:
        assert set(conflict) <= set(obstacle["properties"]), conflict
        assert set(conflict["occurrence"]) == set(time_range["properties"])
    assert obstacle["properties"]["occurrence"]["allOf"] == [{"$ref": "#/components/schemas/TimeRange"}]
    assert _bookings() == 1


@pytest.mark.parametrize("bound, found", [
    ("1.5803319581880654e+308", {"1.00", "1.01"}),  # was a 500: too large for the money column
    ("92233720368547758.08", {"1.00", "1.01"}),
    ("1.005", {"1.00"}),  # the column's half-up rounding made it 1.01
    ("1.01", {"1.00", "1.01"}),
    ("0.999", set()),
])
def test_a_rate_bound_is_compared_to_the_fen_whatever_its_size(make, client, bound, found):
    institution = make.institution()
    for rate in ("1.00", "1.01"):
        make.instrument(institution=institution, hourly_rate=Decimal(rate))
    response = client.get(f"/api/v1/instruments?institution={institution.id}&max_rate={quote(bound)}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {item["hourly_rate"] for item in response.get_json()["items"]} == found
