"""What the API fuzzing (test_api_fuzz.py) found, one focused case each:
odd input gets a clear 4xx and changes nothing, and the OpenAPI document
declares what the API really answers."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from instrument_share.db_types import MAX_ID
from instrument_share.extensions import db
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
    assert paths["/api/v1/bookings"]["post"]["responses"]["409"]["$ref"].endswith("/Conflict")
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
