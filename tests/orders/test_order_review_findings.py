"""Findings of the red-team review of entrusted testing (2026-11-30), each
reproduced first, on both engines; and the concurrency the issue names:
two managers quoting at once, a firm withdrawing while the manager receives."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from instrument_share.accounts.services import issue_token
from instrument_share.extensions import db
from instrument_share.integrity import violations
from instrument_share.mail.models import OutboxMessage
from instrument_share.orders.models import Order
from instrument_share.vouchers.models import Voucher

from ..served import http_json, served
from .test_order_money import _quoted, _report


def _balance(voucher_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.get(Voucher, voucher_id).balance


def _id(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def test_accepting_is_refused_when_the_voucher_part_shown_changed_meanwhile(world, sign_in, app_context):
    """Finding 1: the page said the voucher pays ¥600; a colleague spent the
    voucher before the click; the acceptance went through with ¥100."""
    voucher = world["voucher"]["id"]
    first = _quoted(world, amount="1200", voucher_id=voucher)
    other = _quoted(world, amount="1800", voucher_id=voucher)
    person = sign_in(world["engineer"].email)
    page = person.page(f"/orders/{_id(first)}")
    assert "pays ¥600.00 of this quote" in page
    fields = dict(re.findall(r'<input[^>]*name="(amount|turnaround_days|version|seen_parts)"[^>]*value="([^"]*)"',
                             page))
    assert fields["seen_parts"] == f"{voucher}:600.00" and fields["version"] == "1"
    assert world["firm"].post(f"{other}/accept").status_code == 200  # ¥900 of ¥1,000 now held
    refused = person.post(f"/orders/{_id(first)}/accept", {"voucher_id": str(voucher), **fields},
                          follow_redirects=True)
    assert "part of the quote changed since you saw it" in refused.get_data(as_text=True)
    assert world["firm"].get(first).json["status"] == "quoted" and _balance(voucher) == Decimal("100.00")
    api = world["firm"].post(f"{first}/accept", json={"voucher_amount": "600.00"})
    assert api.status_code == 409 and world["firm"].get(first).json["status"] == "quoted"
    fresh = person.page(f"/orders/{_id(first)}")
    fields = dict(re.findall(r'<input[^>]*name="(amount|turnaround_days|version|seen_parts)"[^>]*value="([^"]*)"',
                             fresh))
    accepted = person.post(f"/orders/{_id(first)}/accept", {"voucher_id": str(voucher), **fields})
    assert accepted.status_code == 302
    assert world["firm"].get(first).json["voucher_amount"] == "100.00"  # the figure the new page showed
    assert violations() == []


def test_a_new_quote_with_the_same_price_but_other_terms_is_not_accepted_unseen(world, app_context):
    """Finding 3: the note changed, the price not; acceptance went through."""
    url = _quoted(world, amount="800")
    seen = world["firm"].get(url).json["quote"]
    assert seen["version"] == 1
    world["lab"].post(f"{url}/quote", json={"amount": "800", "turnaround_days": 3, "note": "样品检测后不退还"})
    refused = world["firm"].post(f"{url}/accept", json={"amount": seen["amount"], "version": seen["version"]})
    assert refused.status_code == 409 and world["firm"].get(url).json["status"] == "quoted"
    assert world["firm"].post(f"{url}/accept", json={"version": 2}).status_code == 200


def test_the_institution_can_end_an_accepted_or_received_order_and_the_voucher_gets_its_money_back(world,
                                                                                                   app_context):
    """Finding 2: after acceptance only a report ended an order, and it spent the voucher."""
    voucher = world["voucher"]["id"]
    never_came = _quoted(world, amount="400", voucher_id=voucher)
    untestable = _quoted(world, amount="600", voucher_id=voucher)
    for url in (never_came, untestable):
        world["firm"].post(f"{url}/accept")
    world["lab"].post(f"{untestable}/receive")
    assert _balance(voucher) == Decimal("500.00")
    for url, reason in ((never_came, "样品 30 天未送达"), (untestable, "样品已潮解，无法测试")):
        declined = world["lab"].post(f"{url}/decline", json={"reason": reason})
        assert declined.status_code == 200 and declined.json["status"] == "declined", declined.json
        assert (declined.json["voucher_amount"], declined.json["firm_pays"]) == ("0.00", declined.json["quote"]["amount"])
    assert _balance(voucher) == Decimal("1000.00") and violations() == []
    reported = _quoted(world, amount="300")
    world["firm"].post(f"{reported}/accept")
    _report(world, reported)
    assert world["lab"].post(f"{reported}/decline", json={"reason": "x"}).status_code == 409  # the report is out


def test_a_unicode_digit_on_the_accept_form_is_refused_not_a_500(world, sign_in, app_context):
    """Finding 4: int("²") raised on the accept form."""
    url = _quoted(world)
    person = sign_in(world["engineer"].email)
    answer = person.post(f"/orders/{_id(url)}/accept", {"voucher_id": "0", "amount": "1200.00",
                                                        "turnaround_days": "²", "version": "¹"})
    assert answer.status_code in (302, 409, 422)
    assert world["firm"].get(url).json["status"] == "quoted"


def test_when_the_orderer_is_deactivated_the_firms_colleagues_are_told(world, make, app_context):
    """Finding 5: quotes reached nobody at the firm and lapsed unseen."""
    colleague = make.user(email="colleague@firm.example", firm=world["engineer"].firm)
    order = world["firm"].post("/api/v1/orders", json={
        "instrument_id": world["xrd"].id, "title": "物相", "samples": [{"name": "粉", "quantity": 1, "unit": "g"}]})
    world["engineer"].active = False
    db.session.commit()
    world["lab"].post(f"/api/v1/orders/{order.json['id']}/quote", json={"amount": "100", "turnaround_days": 2})
    recipients = db.session.scalars(sa.select(OutboxMessage.recipient).where(
        OutboxMessage.kind == "order_quoted")).all()
    assert recipients == [colleague.email]


def test_a_lapse_event_names_no_actor_as_null(world, app_context):
    """Finding 6: the `actor` key was missing from a job's event."""
    from datetime import datetime, time

    from instrument_share.scheduler.jobs import JOBS
    from instrument_share.timeutil import platform_zone

    url = _quoted(world)
    valid_until = db.session.get(Order, _id(url)).quote_valid_until
    JOBS["close-orders"].function(datetime.combine(valid_until + timedelta(days=1), time(1), platform_zone()))
    last = world["firm"].get(url).json["events"][-1]
    assert last["action"] == "lapsed" and "actor" in last and last["actor"] is None


def _tokens(email: str, count: int) -> list[str]:
    tokens = [issue_token(email, "bench-key-4471")[0] for _ in range(count)]
    db.session.commit()
    return tokens


def test_two_managers_quoting_at_once_leave_one_quote_and_two_events(app, world, make, app_context):
    second = make.user("manager", email="mgr2@inst.example", institution_id=world["manager"].institution_id)
    order = world["firm"].post("/api/v1/orders", json={
        "instrument_id": world["xrd"].id, "title": "物相", "samples": [{"name": "粉", "quantity": 1, "unit": "g"}]}).json
    tokens = _tokens(world["manager"].email, 4) + _tokens(second.email, 4)
    amounts = ["100", "200", "300", "400", "500", "600", "700", "800"]
    with served(app) as base, ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda pair: http_json(
            "POST", f"{base}/api/v1/orders/{order['id']}/quote", {"amount": pair[0], "turnaround_days": 3},
            token=pair[1]), zip(amounts, tokens, strict=True)))
    assert sorted(status for status, _ in results) == [200] * 8, results
    final = world["firm"].get(f"/api/v1/orders/{order['id']}").json
    quotes = [event for event in final["events"] if event["action"] == "quoted"]
    assert len(quotes) == 8 and final["quote"]["version"] == 8
    assert final["quote"]["amount"] == f"{Decimal(quotes[-1]['details']['amount']):.2f}"  # the last one stands
    assert violations() == []


def test_a_firm_withdrawing_while_the_manager_receives_gets_one_outcome(app, world, app_context):
    voucher = world["voucher"]["id"]
    urls = [_quoted(world, amount="200", voucher_id=voucher) for _ in range(4)]
    for url in urls:
        world["firm"].post(f"{url}/accept")
    firm_tokens, lab_tokens = _tokens(world["engineer"].email, 4), _tokens(world["manager"].email, 4)
    calls = [(f"{url}/withdraw", token) for url, token in zip(urls, firm_tokens, strict=True)] + \
            [(f"{url}/receive", token) for url, token in zip(urls, lab_tokens, strict=True)]
    with served(app) as base, ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda call: (call[0], http_json("POST", f"{base}{call[0]}", {}, token=call[1])),
                                calls))
    for url in urls:
        statuses = sorted(answer[0] for path, answer in results if path.startswith(url + "/"))
        assert statuses == [200, 409], (url, results)
        final = world["firm"].get(url).json
        assert final["status"] in ("withdrawn", "received")
        assert final["voucher_amount"] == ("0.00" if final["status"] == "withdrawn" else "100.00")
    held = sum(Decimal("100.00") for url in urls if world["firm"].get(url).json["status"] == "received")
    assert _balance(voucher) == Decimal("1000.00") - held
    assert violations() == []
