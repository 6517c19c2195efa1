"""Vouchers pay for entrusted testing (issue #18, "Money"): the voucher's
part of the quote is held at acceptance, captured with the report, given
back on withdrawal; captures are in the settlement list and in claims like
booking captures; quotes lapse and overdue orders are mailed by the
scheduler. On both engines, through the API and the jobs."""
from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from instrument_share.accounts.services import issue_token
from instrument_share.extensions import db
from instrument_share.integrity import violations
from instrument_share.mail.models import OutboxMessage
from instrument_share.orders.models import Order
from instrument_share.scheduler.jobs import JOBS
from instrument_share.timeutil import platform_today, platform_zone
from instrument_share.vouchers.models import Voucher, VoucherEntry

from ..served import http_json, served
from .test_orders import PDF, order_body

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


def _quoted(world, amount="1200", **body) -> str:
    order = world["firm"].post("/api/v1/orders", json=order_body(world["xrd"], **body))
    assert order.status_code == 201, order.json
    url = f"/api/v1/orders/{order.json['id']}"
    quote = world["lab"].post(f"{url}/quote", json={"amount": amount, "turnaround_days": 3})
    assert quote.status_code == 200 and quote.json["firm_pays"] == f"{Decimal(amount):.2f}"
    return url


def _balance(voucher_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.get(Voucher, voucher_id).balance


def _report(world, url):
    world["lab"].post(f"{url}/receive")
    return world["lab"].client.post(f"{url}/report", headers=world["lab"]._headers(),
                                    data={"file": (io.BytesIO(PDF), "r.pdf")})


def test_a_voucher_holds_its_share_at_acceptance_and_spends_it_with_the_report(world, app_context):
    voucher = world["voucher"]
    url = _quoted(world, voucher_id=voucher["id"])
    assert _balance(voucher["id"]) == Decimal("1000.00")  # nothing held before the firm accepts
    accepted = world["firm"].post(f"{url}/accept", json={"amount": "1200.00"})
    assert accepted.status_code == 200, accepted.json
    assert (accepted.json["voucher_id"], accepted.json["voucher_amount"], accepted.json["firm_pays"]) == (
        voucher["id"], "600.00", "600.00")
    assert _balance(voucher["id"]) == Decimal("400.00")
    reported = _report(world, url)
    assert reported.status_code == 200 and reported.json["voucher_amount"] == "600.00"
    kinds = db.session.execute(sa.select(VoucherEntry.kind, VoucherEntry.amount).where(
        VoucherEntry.order_id == accepted.json["id"]).order_by(VoucherEntry.id)).all()
    assert kinds == [("hold", Decimal("600.00")), ("capture", Decimal("600.00"))]
    assert _balance(voucher["id"]) == Decimal("400.00")
    assert violations() == []

    today = platform_today().isoformat()
    settlement = world["bureau"].get(f"/api/v1/stats/vouchers?from={today}&to={today}").json
    assert settlement["total"] == "600.00" and settlement["rows"][0]["orders"] == 1
    claim = world["lab"].post("/api/v1/voucher-claims", json={"issuing_city": "jinhua", "from": today, "to": today})
    assert claim.status_code == 201, claim.json
    assert claim.json["total"] == "600.00"
    assert [(line["order_id"], line["booking_id"]) for line in claim.json["lines"]] == [(accepted.json["id"], None)]
    again = world["lab"].post("/api/v1/voucher-claims", json={"issuing_city": "jinhua", "from": today, "to": today})
    assert again.status_code == 409  # a capture is claimed once


def test_the_voucher_pages_name_the_order_a_movement_and_a_claim_line_paid(world, browser, client, app_context):
    url = _quoted(world, voucher_id=world["voucher"]["id"])
    world["firm"].post(f"{url}/accept")
    _report(world, url)
    today = platform_today().isoformat()
    world["lab"].post("/api/v1/voucher-claims", json={"issuing_city": "jinhua", "from": today, "to": today})
    order_id = int(url.rsplit("/", 1)[1])
    browser.login(world["manager"].email)
    page = client.get("/vouchers/").get_data(as_text=True)
    assert "委托测试订单 " + str(order_id) in page  # the claim's line
    browser.login(world["engineer"].email)
    page = client.get("/vouchers/").get_data(as_text=True)
    assert f'href="/orders/{order_id}"' in page  # the ledger's hold and capture link the order


def test_the_voucher_share_is_capped_by_the_balance_and_can_be_changed_or_dropped_at_acceptance(world, make, api,
                                                                                                app_context):
    voucher = world["voucher"]
    first = _quoted(world, amount="1800", voucher_id=voucher["id"])
    assert world["firm"].post(f"{first}/accept").json["voucher_amount"] == "900.00"  # the chosen one, kept
    second = _quoted(world, amount="1000", voucher_id=voucher["id"])
    capped = world["firm"].post(f"{second}/accept").json
    assert (capped["voucher_amount"], capped["firm_pays"]) == ("100.00", "900.00")  # what was left
    assert _balance(voucher["id"]) == Decimal("0.00")

    third = _quoted(world, voucher_id=None)
    empty = world["firm"].post(f"{third}/accept", json={"voucher_id": voucher["id"]})
    assert empty.status_code == 422 and "voucher_id" in empty.json["fields"]
    others = api.as_user(make.user(role="city_admin", city_code="jinhua")).post("/api/v1/vouchers", json={
        "firm_id": make.user().firm_id, "amount": "500.00", "expires_on": NEXT_YEAR, "max_share": "1"}).json
    foreign = world["firm"].post(f"{third}/accept", json={"voucher_id": others["id"]})
    assert foreign.status_code == 422 and "voucher_id" in foreign.json["fields"]
    assert world["firm"].get(third).json["status"] == "quoted"  # the refusals accepted nothing
    plain = world["firm"].post(f"{third}/accept", json={"voucher_id": None}).json
    assert (plain["status"], plain["voucher_id"], plain["firm_pays"]) == ("accepted", None, "1200.00")
    assert violations() == []


def test_a_withdrawn_order_gives_the_money_back_and_a_revoked_voucher_keeps_it_withdrawn(world, app_context):
    voucher = world["voucher"]
    url = _quoted(world, amount="400", voucher_id=voucher["id"])
    world["firm"].post(f"{url}/accept")
    assert _balance(voucher["id"]) == Decimal("800.00")
    withdrawn = world["firm"].post(f"{url}/withdraw").json
    assert (withdrawn["status"], withdrawn["voucher_amount"], withdrawn["firm_pays"]) == ("withdrawn", "0.00", "400.00")
    assert _balance(voucher["id"]) == Decimal("1000.00")

    second = _quoted(world, amount="400", voucher_id=voucher["id"])
    world["firm"].post(f"{second}/accept")
    assert world["bureau"].post(f"/api/v1/vouchers/{voucher['id']}/revoke").status_code == 200
    assert _balance(voucher["id"]) == Decimal("0.00")  # what is held stays with the order …
    world["firm"].post(f"{second}/withdraw")
    assert _balance(voucher["id"]) == Decimal("0.00")  # … and comes back only to be withdrawn
    assert violations() == []


def test_a_submitted_voucher_must_be_the_firms_own_and_usable(world, make, api, app_context):
    stranger_voucher = api.as_user(make.user(role="city_admin", city_code="jinhua")).post("/api/v1/vouchers", json={
        "firm_id": make.user().firm_id, "amount": "500.00", "expires_on": NEXT_YEAR, "max_share": "1"}).json
    refused = world["firm"].post("/api/v1/orders", json=order_body(world["xrd"], voucher_id=stranger_voucher["id"]))
    assert refused.status_code == 422 and list(refused.json["fields"]) == ["voucher_id"]
    no_vouchers = make.instrument(institution_id=world["manager"].institution_id, accepts_vouchers=False)
    refused = world["firm"].post("/api/v1/orders", json=order_body(no_vouchers, voucher_id=world["voucher"]["id"]))
    assert refused.status_code == 422 and list(refused.json["fields"]) == ["voucher_id"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def _run(job: str, now: datetime):
    return JOBS[job].function(now)


def test_a_quote_nobody_accepts_lapses_and_both_sides_are_told(world, app_context):
    url = _quoted(world)
    order_id = int(url.rsplit("/", 1)[1])
    valid_until = db.session.get(Order, order_id).quote_valid_until
    assert _run("close-orders", datetime.combine(valid_until, time(23), platform_zone())) == 0  # still valid that day
    assert _run("close-orders", datetime.combine(valid_until + timedelta(days=1), time(0, 5), platform_zone())) == 1
    assert _run("close-orders", datetime.combine(valid_until + timedelta(days=1), time(1, 5), platform_zone())) == 0
    order = world["firm"].get(url).json
    assert order["status"] == "rejected" and order["events"][-1]["action"] == "lapsed"
    kinds = db.session.scalars(sa.select(OutboxMessage.kind).where(OutboxMessage.kind == "order_lapsed")).all()
    assert len(kinds) == 2  # the firm's engineer and the institution's manager
    assert world["firm"].post(f"{url}/accept").status_code == 409


def test_overdue_orders_are_mailed_to_the_institution_once_a_day(world, app_context):
    url = _quoted(world)
    world["firm"].post(f"{url}/accept")
    due = world["lab"].post(f"{url}/receive").json["due_on"]
    due_day = datetime.fromisoformat(due).date()
    on_due_day = datetime.combine(due_day, time(8, 30), platform_zone())
    assert _run("mail-overdue-orders", on_due_day) == 0  # due today is not overdue
    day_after = on_due_day + timedelta(days=1)
    assert _run("mail-overdue-orders", day_after) == 1
    assert _run("mail-overdue-orders", day_after + timedelta(hours=2)) == 0  # once a day
    text = db.session.scalar(sa.select(OutboxMessage.raw).where(OutboxMessage.kind == "orders_overdue"))
    number = world["firm"].get(url).json["number"]
    assert number in text and world["manager"].email in text
    _report(world, url)
    assert _run("mail-overdue-orders", day_after + timedelta(days=1)) == 0  # reported: no longer overdue


def test_parallel_acceptances_never_hold_more_than_the_voucher_has(app, world, app_context):
    """Six orders of ¥700 accepted at the same moment with one voucher of
    ¥1,000 at 50%: each holds at most what is left when its turn comes (350,
    350, 300), the holds add up to exactly the grant, and the firms whose turn
    came after the money was gone are told so (422) and accept nothing: the
    price they would pay changed. On both engines."""
    voucher = world["voucher"]
    urls = [_quoted(world, amount="700", voucher_id=voucher["id"]) for _ in range(6)]
    tokens = [issue_token(world["engineer"].email, "bench-key-4471")[0] for _ in urls]
    db.session.commit()
    with served(app) as base, ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda pair: http_json("POST", f"{base}{pair[0]}/accept", {}, token=pair[1]),
                                zip(urls, tokens, strict=True)))
    assert sorted(status for status, _ in results) == [200] * 3 + [422] * 3, results
    parts = sorted(Decimal(body["voucher_amount"]) for status, body in results if status == 200)
    assert parts == [Decimal("300.00"), Decimal("350.00"), Decimal("350.00")]
    refused = [body for status, body in results if status == 422]
    assert all(list(body["fields"]) == ["voucher_id"] for body in refused)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Order.id)).where(Order.status == "quoted")) == 3
    assert _balance(voucher["id"]) == Decimal("0.00")
    assert violations() == []


def test_parallel_withdrawals_release_an_order_hold_once(app, world, app_context):
    voucher = world["voucher"]
    url = _quoted(world, amount="600", voucher_id=voucher["id"])
    world["firm"].post(f"{url}/accept")
    tokens = [issue_token(world["engineer"].email, "bench-key-4471")[0] for _ in range(8)]
    db.session.commit()
    with served(app) as base, ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda token: http_json("POST", f"{base}{url}/withdraw", {}, token=token), tokens))
    assert sorted(status for status, _ in results) == [200] + [409] * 7, results
    assert _balance(voucher["id"]) == Decimal("1000.00")
    assert violations() == []

