"""Voucher pages: granting (single and CSV), paying part of a booking, claims."""
from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from instrument_share.booking.models import Booking
from instrument_share.extensions import db
from instrument_share.vouchers.models import Voucher

from ..conftest import csrf_token_from

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


def test_bureau_grants_singly_and_from_csv(browser, client, make, app_context):
    make.user(role="city_admin", city_code="jinhua", email="bureau@jh.example")
    first, second = make.firm(city_code="jinhua"), make.firm(city_code="jinhua")
    outsider = make.firm(city_code="hefei")
    browser.login("bureau@jh.example")
    page = client.get("/vouchers/").get_data(as_text=True)
    token = csrf_token_from(page)
    assert first.name in page and outsider.name not in page
    client.post("/vouchers/grant", data={"csrf_token": token, "firm_id": first.id, "amount": "2000",
                                         "max_share": "0.5", "expires_on": NEXT_YEAR})
    assert db.session.scalar(sa.select(sa.func.count(Voucher.id))) == 1
    bad_csv = f"uscc,amount\n{second.uscc},1000\n{outsider.uscc},500\n".encode()
    response = client.post("/vouchers/grant-csv", data={
        "csrf_token": token, "max_share": "0.5", "expires_on": NEXT_YEAR,
        "file": (io.BytesIO(bad_csv), "grants.csv")}, content_type="multipart/form-data", follow_redirects=True)
    assert "未发放" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Voucher.id))) == 1  # every line or none
    good_csv = f"{first.uscc},1000.50\n{second.uscc},800\n".encode()
    client.post("/vouchers/grant-csv", data={
        "csrf_token": token, "max_share": "0.3", "expires_on": NEXT_YEAR,
        "file": (io.BytesIO(good_csv), "grants.csv")}, content_type="multipart/form-data")
    amounts = sorted(db.session.scalars(sa.select(Voucher.amount)).all())
    assert amounts == [Decimal("800.00"), Decimal("1000.50"), Decimal("2000.00")]
    assert client.post("/vouchers/grant", data={"firm_id": first.id}).status_code == 400  # no CSRF token


def test_firm_pays_part_with_a_voucher_from_the_booking_form(browser, client, api, make, day, app_context):
    bureau = make.user(role="city_admin", city_code="jinhua")
    user = make.user(email="eng@firm.example")
    instrument = make.instrument(hourly_rate=Decimal("300.00"))
    voucher = api.as_user(bureau).post("/api/v1/vouchers", json={
        "firm_id": user.firm_id, "amount": "1000.00", "expires_on": NEXT_YEAR, "max_share": "0.5"}).json
    browser.login("eng@firm.example")
    page = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    assert f'value="{voucher["id"]}"' in page
    response = client.post(f"/instruments/{instrument.id}/book", data={
        "csrf_token": csrf_token_from(page), "start": f"{day}T10:00", "end": f"{day}T12:00",
        "purpose": "SEM", "voucher_id": str(voucher["id"]), "confirm": "1"})
    assert response.status_code == 302
    booking = db.session.scalar(sa.select(Booking))
    assert (booking.cost, booking.voucher_amount, booking.firm_pays) == (
        Decimal("600.00"), Decimal("300.00"), Decimal("300.00"))
    listing = client.get("/vouchers/").get_data(as_text=True)
    assert "¥700.00" in listing and "冻结" in listing


def test_vouchers_page_needs_sign_in_and_refuses_wrong_roles(browser, client, make):
    assert client.get("/vouchers/").status_code == 302
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    token = csrf_token_from(client.get("/vouchers/").get_data(as_text=True))
    firm = make.firm()
    assert client.post("/vouchers/grant", data={"csrf_token": token, "firm_id": firm.id, "amount": "1",
                                                "max_share": "0.5", "expires_on": NEXT_YEAR}).status_code == 403
    assert client.post("/vouchers/claims", data={"csrf_token": token, "issuing_city": "jinhua",
                                                 "from": "2026-01-01", "to": "2026-01-31"}).status_code == 403
