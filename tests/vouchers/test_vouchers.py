"""Vouchers: issuing, spending a share of each fee, the ledger, refusals."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from instrument_share.extensions import db
from instrument_share.vouchers.models import Voucher, VoucherEntry
from instrument_share.vouchers.services import ledger_balance

from ..booking.conftest import iso
from ..served import http_json, served

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


@pytest.fixture
def setup(make):
    bureau = make.user(role="city_admin", city_code="jinhua")
    firm_user = make.user()  # a firm of Jinhua
    instrument = make.instrument(hourly_rate=Decimal("300.00"))  # an institution in Hangzhou
    return {"bureau": bureau, "firm_user": firm_user, "instrument": instrument}


def issue(api, bureau, firm_id, amount="1000.00", share="0.5", expires=NEXT_YEAR):
    return api.as_user(bureau).post("/api/v1/vouchers", json={
        "firm_id": firm_id, "amount": amount, "expires_on": expires, "max_share": share})


def book(client, instrument, day, start, end, voucher_id=None):
    body = {"instrument_id": instrument.id, "start": iso(day, start), "end": iso(day, end), "purpose": "SEM"}
    if voucher_id is not None:
        body["voucher_id"] = voucher_id
    return client.post("/api/v1/bookings", json=body)


def test_issue_and_list(api, make, setup):
    response = issue(api, setup["bureau"], setup["firm_user"].firm_id, "5000", 0.5)
    assert response.status_code == 201, response.json
    voucher = response.json
    assert (voucher["amount"], voucher["balance"], voucher["max_share"], voucher["issuing_city"], voucher["status"]) == (
        "5000.00", "5000.00", "0.5000", "jinhua", "active")
    assert api.as_user(setup["firm_user"]).get("/api/v1/vouchers").json["total"] == 1
    assert api.as_user(make.user()).get("/api/v1/vouchers").json["total"] == 0  # another firm
    assert api.as_user(make.user(role="city_admin", city_code="hefei")).get("/api/v1/vouchers").json["total"] == 0
    assert api.as_user(make.user(role="admin")).get("/api/v1/vouchers").json["total"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-5"}, "amount"), ({"amount": "0"}, "amount"), ({"amount": "1e12"}, "amount"),
        ({"amount": "12.345"}, "amount"), ({"amount": "lots"}, "amount"), ({"amount": "NaN"}, "amount"),
        ({"max_share": "0"}, "max_share"), ({"max_share": "1.5"}, "max_share"), ({"max_share": "-0.2"}, "max_share"),
        ({"expires": "2020-01-01"}, "expires_on"), ({"firm_id": 999999}, "firm_id"),
    ],
)
def test_bad_vouchers_are_refused(api, setup, change, field):
    args = {"amount": "1000.00", "share": "0.5", "expires": NEXT_YEAR, "firm_id": setup["firm_user"].firm_id}
    args.update({"share" if k == "max_share" else k: v for k, v in change.items()})
    response = issue(api, setup["bureau"], args["firm_id"], args["amount"], args["share"], args["expires"])
    assert response.status_code == 422, response.json
    assert field in response.json["fields"]
    assert db.session.scalar(sa.select(sa.func.count(Voucher.id))) == 0


def test_who_may_issue(api, make, setup):
    other_city_firm = make.firm(city_code="hefei")
    assert issue(api, setup["bureau"], other_city_firm.id).status_code == 403  # another city's firm
    assert issue(api, setup["firm_user"], setup["firm_user"].firm_id).status_code == 403
    assert issue(api, make.user(role="manager"), setup["firm_user"].firm_id).status_code == 403
    assert issue(api, make.user(role="admin"), other_city_firm.id).status_code == 201


def test_spend_hold_capture_release(api, make, setup, day, app_context):
    firm = api.as_user(setup["firm_user"])
    voucher = issue(api, setup["bureau"], setup["firm_user"].firm_id, "1000.00", "0.5").json
    booked = book(firm, setup["instrument"], day, "10:00", "12:00", voucher["id"])  # ¥600
    assert booked.status_code == 201, booked.json
    assert (booked.json["cost"], booked.json["voucher_amount"], booked.json["firm_pays"]) == ("600.00", "300.00", "300.00")
    second = book(firm, setup["instrument"], day, "13:00", "17:00", voucher["id"]).json  # ¥1200: 600 share, 700 left
    assert (second["voucher_amount"], second["firm_pays"]) == ("600.00", "600.00")
    third = book(firm, setup["instrument"], day, "09:00", "10:00", voucher["id"]).json  # ¥300: 150 share, 100 left
    assert (third["voucher_amount"], third["firm_pays"]) == ("100.00", "200.00")
    empty = book(firm, setup["instrument"], day + timedelta(days=1), "09:00", "10:00", voucher["id"])
    assert empty.status_code == 422 and "voucher_id" in empty.json["fields"]
    assert firm.post(f"/api/v1/bookings/{second['id']}/cancel", json={}).json["voucher_amount"] == "0.00"
    balance = firm.get("/api/v1/vouchers").json["items"][0]["balance"]
    assert balance == "600.00" and ledger_balance(voucher["id"]) == Decimal("600.00")

    # Completion captures the share of the hours actually used.
    from instrument_share.booking.models import Booking
    from instrument_share.booking.usage import record_usage

    booking = db.session.get(Booking, booked.json["id"])
    booking.start, booking.end = booking.start - timedelta(days=30), booking.end - timedelta(days=30)
    booking.occupied_until = booking.end
    db.session.commit()
    manager = make.user(role="manager", institution_id=setup["instrument"].institution_id)
    record_usage(booking, manager, booking.start, booking.start + timedelta(hours=1), "guided",
                 now=datetime.now(UTC))
    db.session.commit()
    assert (booking.voucher_amount, booking.firm_pays) == (Decimal("150.00"), Decimal("450.00"))
    kinds = db.session.scalars(sa.select(VoucherEntry.kind).where(VoucherEntry.booking_id == booking.id)
                               .order_by(VoucherEntry.id)).all()
    assert kinds == ["hold", "capture", "release"]
    db.session.expire_all()
    stored = db.session.get(Voucher, voucher["id"])
    assert stored.balance == ledger_balance(voucher["id"]) == Decimal("750.00")


@pytest.mark.parametrize("case", ["other_firm", "expired", "not_accepted", "related_party"])
def test_refusals_when_spending(api, make, setup, day, app_context, case):
    voucher = issue(api, setup["bureau"], setup["firm_user"].firm_id).json
    spender, instrument = setup["firm_user"], setup["instrument"]
    if case == "other_firm":
        spender = make.user()
    elif case == "expired":
        stored = db.session.get(Voucher, voucher["id"])
        stored.expires_on = date.today() - timedelta(days=1)
        db.session.commit()
    elif case == "not_accepted":
        instrument = make.instrument(accepts_vouchers=False)
    else:  # a colleague of the firm is also staff of the instrument's institution
        make.user(firm=setup["firm_user"].firm, institution_id=instrument.institution_id)
    response = book(api.as_user(spender), instrument, day, "10:00", "11:00", voucher["id"])
    assert response.status_code == 422 and "voucher_id" in response.json["fields"]
    db.session.expire_all()
    assert db.session.get(Voucher, voucher["id"]).balance == Decimal("1000.00")


def test_concurrent_spending_never_goes_negative(app, api, make, setup, day, app_context):
    voucher = issue(api, setup["bureau"], setup["firm_user"].firm_id, "450.00", "0.5").json
    instruments = [make.instrument(hourly_rate=Decimal("300.00")) for _ in range(8)]
    token = api.as_user(setup["firm_user"]).token
    ids = [i.id for i in instruments]
    with served(app) as base:
        def attempt(instrument_id):
            return http_json("POST", f"{base}/api/v1/bookings", {
                "instrument_id": instrument_id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
                "purpose": "并发", "voucher_id": voucher["id"]}, token=token)

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(attempt, ids))
    assert {status for status, _ in results} <= {201, 422}
    held = sum(Decimal(body["voucher_amount"]) for status, body in results if status == 201)
    assert held == Decimal("450.00")  # three bookings of ¥150 each; the rest were refused
    db.session.expire_all()
    stored = db.session.get(Voucher, voucher["id"])
    assert stored.balance == Decimal("0.00") == ledger_balance(voucher["id"])


def test_settlement_list(api, make, setup, day, app_context):
    from instrument_share.booking.models import Booking
    from instrument_share.booking.usage import record_usage

    voucher = issue(api, setup["bureau"], setup["firm_user"].firm_id, "1000.00", "0.5").json
    booked = book(api.as_user(setup["firm_user"]), setup["instrument"], day, "10:00", "12:00", voucher["id"]).json
    booking = db.session.get(Booking, booked["id"])
    booking.start, booking.end = booking.start - timedelta(days=30), booking.end - timedelta(days=30)
    booking.occupied_until = booking.end
    db.session.commit()
    manager = make.user(role="manager", institution_id=setup["instrument"].institution_id)
    record_usage(booking, manager, booking.start, booking.end, "self_operated", now=datetime.now(UTC))
    db.session.commit()
    start = booking.start.date()
    period = {"from": (start - timedelta(days=1)).isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    admin = api.as_user(make.user(role="admin"))
    body = admin.get("/api/v1/stats/vouchers", query_string=period).json
    assert body["total"] == "300.00"
    assert body["rows"][0]["issuing_city"] == "jinhua" and body["rows"][0]["provider_city"] == "hangzhou"
    assert body["by_issuing_city"] == [{"issuing_city": "jinhua", "amount": "300.00"}]
    assert api.as_user(setup["bureau"]).get("/api/v1/stats/vouchers", query_string=period).json["total"] == "300.00"
    other = api.as_user(make.user(role="city_admin", city_code="hefei"))
    assert other.get("/api/v1/stats/vouchers", query_string=period).json["total"] == "0.00"
    assert api.as_user(manager).get("/api/v1/stats/vouchers", query_string=period).json["total"] == "300.00"
    csv_text = admin.get("/api/v1/stats/vouchers", query_string={**period, "format": "csv"}).get_data(as_text=True)
    assert "金华" in csv_text and "300.00" in csv_text  # cities by their names in the reader's language
    codes = admin.get("/api/v1/stats/vouchers", query_string={**period, "format": "csv", "headers": "codes"})
    assert codes.get_data(as_text=True).lstrip("\ufeff").startswith("issuing_city,") and "jinhua" in codes.get_data(as_text=True)
    assert api.as_user(setup["firm_user"]).get("/api/v1/stats/vouchers", query_string=period).status_code == 403
    # The voucher's part of revenue in the utilisation figures and the monthly city report.
    figures = admin.get("/api/v1/stats/utilisation", query_string={**period, "group_by": "city"}).json["totals"]
    assert (figures["revenue"], figures["voucher_revenue"], figures["voucher_share"]) == ("600.00", "300.00", "0.5000")
    from email import message_from_string, policy

    from instrument_share.mail.models import OutboxMessage
    from instrument_share.scheduler.reports import monthly_city_report
    from instrument_share.stats.services import Period

    monthly_city_report(datetime.now(UTC), Period(start - timedelta(days=1), start + timedelta(days=1)))
    db.session.commit()
    # Jinhua's bureau's report (the Hefei bureau made above gets one too, and rows have no order).
    raw = db.session.scalar(sa.select(OutboxMessage.raw).where(OutboxMessage.kind == "monthly-city-report",
                                                               OutboxMessage.recipient == setup["bureau"].email))
    text = message_from_string(raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "创新券兑付金额：¥300.00" in text


def test_claims_are_filed_once_reviewed_and_paid(api, make, setup, day, app_context):
    from instrument_share.booking.models import Booking
    from instrument_share.booking.usage import record_usage

    voucher = issue(api, setup["bureau"], setup["firm_user"].firm_id, "1000.00", "0.5").json
    firm = api.as_user(setup["firm_user"])
    ids = [book(firm, setup["instrument"], day, s, e, voucher["id"]).json["id"] for s, e in (("10:00", "11:00"), ("13:00", "14:00"))]
    manager_user = make.user(role="manager", institution_id=setup["instrument"].institution_id)
    for booking_id in ids:
        booking = db.session.get(Booking, booking_id)
        booking.start, booking.end = booking.start - timedelta(days=30), booking.end - timedelta(days=30)
        booking.occupied_until = booking.end
        db.session.commit()
        record_usage(booking, manager_user, booking.start, booking.end, "guided", now=datetime.now(UTC))
        db.session.commit()
    first = db.session.get(Booking, ids[0]).start.date()
    period = {"issuing_city": "jinhua", "from": (first - timedelta(days=2)).isoformat(),
              "to": (first + timedelta(days=2)).isoformat()}
    manager = api.as_user(manager_user)
    assert firm.post("/api/v1/voucher-claims", json=period).status_code == 403
    claim = manager.post("/api/v1/voucher-claims", json=period)
    assert claim.status_code == 201, claim.json
    assert (claim.json["total"], len(claim.json["lines"])) == ("300.00", 2)
    again = manager.post("/api/v1/voucher-claims", json=period)
    assert again.status_code == 409  # each line can be claimed once
    claim_id, (line1, line2) = claim.json["id"], claim.json["lines"]
    hefei = api.as_user(make.user(role="city_admin", city_code="hefei"))
    assert hefei.post(f"/api/v1/voucher-claims/{claim_id}/lines/{line1['id']}", json={"approve": True}).status_code == 404
    bureau = api.as_user(setup["bureau"])
    assert manager.post(f"/api/v1/voucher-claims/{claim_id}/lines/{line1['id']}", json={"approve": True}).status_code == 403
    assert bureau.post(f"/api/v1/voucher-claims/{claim_id}/paid", json={"paid_on": "2026-12-20"}).status_code == 409
    assert bureau.post(f"/api/v1/voucher-claims/{claim_id}/lines/{line2['id']}", json={"approve": False}).status_code == 422
    bureau.post(f"/api/v1/voucher-claims/{claim_id}/lines/{line1['id']}", json={"approve": True})
    decided = bureau.post(f"/api/v1/voucher-claims/{claim_id}/lines/{line2['id']}",
                          json={"approve": False, "reason": "发票不符"}).json
    assert decided["approved"] == "150.00"
    assert bureau.post(f"/api/v1/voucher-claims/{claim_id}/lines/{line1['id']}", json={"approve": False, "reason": "x"}).status_code == 409
    paid = bureau.post(f"/api/v1/voucher-claims/{claim_id}/paid", json={"paid_on": "2026-12-20"})
    assert paid.status_code == 200 and paid.json["paid_on"] == "2026-12-20"
    assert bureau.get("/api/v1/voucher-claims").json["total"] == 1
    assert hefei.get("/api/v1/voucher-claims").json["total"] == 0


def test_revoke(api, make, setup, day, app_context):
    voucher = issue(api, setup["bureau"], setup["firm_user"].firm_id, "1000.00", "0.5").json
    firm = api.as_user(setup["firm_user"])
    held = book(firm, setup["instrument"], day, "10:00", "11:00", voucher["id"]).json  # ¥150 held
    other_bureau = api.as_user(make.user(role="city_admin", city_code="hefei"))
    # Another city's bureau cannot see this voucher at all (404, its existence
    # not revealed); the holder sees it but may not revoke it (403).
    assert other_bureau.post(f"/api/v1/vouchers/{voucher['id']}/revoke").status_code == 404
    assert firm.post(f"/api/v1/vouchers/{voucher['id']}/revoke").status_code == 403
    revoked = api.as_user(setup["bureau"]).post(f"/api/v1/vouchers/{voucher['id']}/revoke")
    assert revoked.status_code == 200
    assert (revoked.json["status"], revoked.json["balance"]) == ("revoked", "0.00")
    assert ledger_balance(voucher["id"]) == Decimal("0.00")
    assert api.as_user(setup["bureau"]).post(f"/api/v1/vouchers/{voucher['id']}/revoke").status_code == 422
    refused = book(firm, setup["instrument"], day, "13:00", "14:00", voucher["id"])
    assert refused.status_code == 422 and "voucher_id" in refused.json["fields"]
    assert firm.get(f"/api/v1/bookings/{held['id']}").json["voucher_amount"] == "150.00"  # held money stays
    firm.post(f"/api/v1/bookings/{held['id']}/cancel", json={})
    db.session.expire_all()
    assert db.session.get(Voucher, voucher["id"]).balance == Decimal("0.00") == ledger_balance(voucher["id"])
