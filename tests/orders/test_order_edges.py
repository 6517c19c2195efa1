"""Edges of the order transitions (orders/services.py), found by mutation
testing (issue #21, README "Mutation testing"): what each refusal says and
names, the bounds the services check themselves (the API's schemas check
most of them first), who each event and ledger movement names, the lapse
job's batches and the overdue list. Through the services, as a request
would call them (committed, or rolled back when refused), and the API; on
both engines."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from instrument_share.db_types import to_money
from instrument_share.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ServiceError,
    ValidationFailed,
)
from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage
from instrument_share.orders import services
from instrument_share.orders.models import Order
from instrument_share.timeutil import platform_today
from instrument_share.vouchers.models import VoucherEntry

from ..test_statement_counts import counted
from .test_order_money import _quoted, _report
from .test_orders import PDF, order_body

INSTITUTION_ONLY = "Only the institution's managers do this."
FIRM_ONLY = "Only the ordering firm does this."
NOT_AT_THIS_STEP = "The order is no longer at this step: reload it to see where it is."


def _id(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def refused(action) -> ServiceError:
    """The refusal `action` raises; rolled back, as a request would be."""
    with pytest.raises(ServiceError) as caught:
        action()
    db.session.rollback()
    return caught.value


def said(refusal: ServiceError) -> tuple:
    return type(refusal), refusal.message, refusal.fields


def done(action):
    result = action()
    db.session.commit()
    return result


def last_event(world, url) -> tuple:
    event = world["firm"].get(url).json["events"][-1]
    return event["action"], event["actor"], event["details"]


def _reported(world, amount="1200", **body) -> str:
    url = _quoted(world, amount=amount, **body)
    assert world["firm"].post(f"{url}/accept").status_code == 200
    assert _report(world, url).status_code == 200
    return url


# -- rating --------------------------------------------------------------------


def test_a_rating_is_checked_by_the_service_and_names_its_fields(world, app_context):
    url = _reported(world)
    engineer = world["engineer"]
    rating_only = {"rating": ["From 1 (very poor) to 5 (very satisfied)."]}
    for rating in (0, 6, True, "5", 4.0, None):
        refusal = refused(lambda rating=rating: services.rate_order(engineer, _id(url), rating))
        assert said(refusal) == (ValidationFailed, "The rating could not be accepted.", rating_only), rating
    too_long = refused(lambda: services.rate_order(engineer, _id(url), 3, "好" * 2001))
    assert said(too_long) == (ValidationFailed, "The rating could not be accepted.", {"comment": ["Too long."]})
    both = refused(lambda: services.rate_order(engineer, _id(url), 9, "好" * 2001))
    assert both.fields == {**rating_only, "comment": ["Too long."]}
    manager = refused(lambda: services.rate_order(world["manager"], _id(url), 3))
    assert said(manager) == (PermissionDenied, FIRM_ONLY, {})
    assert world["firm"].get(url).json["status"] == "reported"  # the refusals changed nothing

    rated = done(lambda: services.rate_order(engineer, _id(url), 1))
    assert (rated.status, rated.rating, rated.rating_comment) == ("closed", 1, "")
    assert last_event(world, url) == ("closed", engineer.name, {"rating": 1})
    again = refused(lambda: services.rate_order(engineer, _id(url), 2))
    assert said(again) == (Conflict, NOT_AT_THIS_STEP, {})


def test_a_comment_of_2000_characters_is_kept_as_cleaned(world, app_context):
    url = _reported(world)
    comment = "很快" * 1000
    rated = done(lambda: services.rate_order(world["engineer"], _id(url), 5, f"  {comment}  "))
    assert (rated.rating, rated.rating_comment) == (5, comment)
    db.session.expire_all()
    assert db.session.get(Order, _id(url)).rating_comment == comment


# -- declining, rejecting --------------------------------------------------------


def test_a_decline_says_why_in_at_most_2000_characters(world, app_context):
    url = _quoted(world)
    manager = world["manager"]
    for reason, fields in (("", {"reason": ["Say why, for the firm."]}),
                           ("  \n ", {"reason": ["Say why, for the firm."]}),
                           ("因" * 2001, {"reason": ["Too long."]})):
        refusal = refused(lambda reason=reason: services.decline_order(manager, _id(url), reason))
        assert said(refusal) == (ValidationFailed, "The order could not be declined.", fields), reason[:3]
    firm = refused(lambda: services.decline_order(world["engineer"], _id(url), "不做了"))
    assert said(firm) == (PermissionDenied, INSTITUTION_ONLY, {})
    reason = "因" * 2000
    declined = done(lambda: services.decline_order(manager, _id(url), reason))
    assert (declined.status, declined.decline_reason) == ("declined", reason)
    assert last_event(world, url) == ("declined", manager.name, {"reason": reason})


def test_a_declined_order_gives_the_voucher_its_money_back_in_the_managers_name(world, app_context):
    voucher = world["voucher"]["id"]
    url = _quoted(world, amount="400", voucher_id=voucher)
    world["firm"].post(f"{url}/accept")
    done(lambda: services.decline_order(world["manager"], _id(url), "样品未送达"))
    moves = db.session.execute(sa.select(VoucherEntry.kind, VoucherEntry.amount, VoucherEntry.actor_id).where(
        VoucherEntry.order_id == _id(url)).order_by(VoucherEntry.id)).all()
    assert moves == [("hold", Decimal("200.00"), world["engineer"].id),
                     ("release", Decimal("200.00"), world["manager"].id)]


def test_a_rejected_quote_is_the_firms_event_and_refused_to_the_lab(world, app_context):
    url = _quoted(world)
    answer = world["lab"].post(f"{url}/reject")
    assert answer.status_code == 403 and answer.json["message"] == FIRM_ONLY
    assert world["firm"].post(f"{url}/reject").json["status"] == "rejected"
    assert last_event(world, url) == ("rejected", world["engineer"].name, {})


# -- the report file -------------------------------------------------------------


def test_who_may_not_have_the_report_and_a_report_not_there_yet_say_so(world, app_context):
    url = _quoted(world)
    world["firm"].post(f"{url}/accept")
    early = world["firm"].get(f"{url}/report")
    assert early.status_code == 404 and early.json["message"] == "The report is not there yet."
    assert _report(world, url).status_code == 200
    bureau = world["bureau"].get(f"{url}/report")  # sees the order, not its results
    assert world["bureau"].get(url).status_code == 200
    assert bureau.status_code == 404 and bureau.json["message"] == "No such order."


# -- the jobs: lapsed quotes, overdue orders ---------------------------------------


_numbers = iter(range(1, 1_000_000))


def _stored(firm_user, instrument, **fields) -> dict:
    """An order's row as the steps before would have left it (no events)."""
    return {"number": f"WT-2001-{next(_numbers):06d}", "instrument_id": instrument.id,
            "institution_id": instrument.institution_id, "firm_id": firm_user.firm_id, "user_id": firm_user.id,
            "title": "物相分析", **fields}


def _add(*rows: dict) -> list[int]:
    orders = [Order(**row) for row in rows]
    db.session.add_all(orders)
    db.session.commit()
    return [order.id for order in orders]


def test_a_lapsed_quote_keeps_its_last_valid_day_in_the_event(world, app_context):
    url = _quoted(world)
    valid_until = db.session.get(Order, _id(url)).quote_valid_until
    assert done(lambda: services.lapse_quotes(valid_until)) == 0  # still valid that day
    assert done(lambda: services.lapse_quotes(valid_until + timedelta(days=1))) == 1
    assert last_event(world, url) == ("lapsed", None, {"valid_until": valid_until.isoformat()})


def test_quotes_lapse_500_at_a_time_in_the_order_they_were_sent(world, make, app_context):
    """Each call is one short transaction of at most 500; the job calls again."""
    quiet = make.user(email="gone@firm.example")  # no mail: deactivated, alone in its firm …
    quiet.active = False
    instrument = make.instrument()  # … and an institution without managers
    today = platform_today()
    db.session.execute(sa.insert(Order), [_stored(
        quiet, instrument, status="quoted", quote_amount=Decimal("100.00"), turnaround_days=3,
        quote_valid_until=today - timedelta(days=1 + n % 3), firm_pays=Decimal("100.00")) for n in range(501)])
    db.session.commit()
    first_id = db.session.scalar(sa.select(sa.func.min(Order.id)))
    assert done(lambda: services.lapse_quotes(today)) == 500
    left = db.session.scalars(sa.select(Order.id).where(Order.status == "quoted")).all()
    assert left == [first_id + 500]  # the newest waits for the next call
    assert done(lambda: services.lapse_quotes(today)) == 1
    assert done(lambda: services.lapse_quotes(today)) == 0


def _overdue_day(institution_id: int, make, count: int) -> dict:
    """`count` received orders of other firms on other instruments of the
    manager's institution, due on days before today in an order unlike their ids' (some on the same day)."""
    today = platform_today()
    rows = []
    for n in range(count):
        instrument = make.instrument(institution_id=institution_id)
        rows.append(_stored(make.user(), instrument, status="received", quote_amount=Decimal("100.00"),
                            turnaround_days=3, received_on=today - timedelta(days=30),
                            due_on=today - timedelta(days=(2, 1, 3, 1, 2)[n % 5]), firm_pays=Decimal("100.00")))
    return dict(zip(_add(*rows), (row["due_on"] for row in rows), strict=True))


def test_overdue_orders_come_most_overdue_first_and_of_one_institution_if_asked(world, make, app_context):
    today = platform_today()
    due = _overdue_day(world["manager"].institution_id, make, 5)
    elsewhere = make.user("manager")
    other_instrument = make.instrument(institution_id=elsewhere.institution_id)
    [other] = _add(_stored(make.user(), other_instrument, status="received", quote_amount=Decimal("1.00"),
                           turnaround_days=1, due_on=today - timedelta(days=2), firm_pays=Decimal("1.00")))
    _add(_stored(make.user(), other_instrument, status="received", quote_amount=Decimal("1.00"),
                 turnaround_days=1, due_on=today, firm_pays=Decimal("1.00")))  # due today: not overdue
    expected = sorted(due, key=lambda order_id: (due[order_id], order_id))
    assert [order.id for order in services.overdue_orders(today)] == sorted(
        [*expected, other], key=lambda order_id: (due.get(order_id, today - timedelta(days=2)), order_id))
    mine = services.overdue_orders(today, world["manager"].institution_id)
    assert [order.id for order in mine] == expected
    assert [order.id for order in services.overdue_orders(today, elsewhere.institution_id)] == [other]
    assert services.overdue_orders(today, make.user("manager").institution_id) == []


def test_the_overdue_mail_costs_as_many_statements_for_one_order_as_for_three(world, make, app_context):
    from datetime import datetime, time

    from instrument_share.scheduler.jobs import JOBS
    from instrument_share.timeutil import platform_zone

    today, institution_id = platform_today(), world["manager"].institution_id
    costs = []
    for day, count in ((today, 1), (today + timedelta(days=1), 3)):
        _overdue_day(institution_id, make, count)
        db.session.expunge_all()
        with counted() as statements:
            assert JOBS["mail-overdue-orders"].function(datetime.combine(day, time(8, 30), platform_zone())) == 1
        costs.append(len(statements))
    assert costs[0] == costs[1]
    texts = db.session.scalars(sa.select(OutboxMessage.raw).where(OutboxMessage.kind == "orders_overdue")).all()
    assert len(texts) == 2


# -- receiving, the report -------------------------------------------------------


def test_turnarounds_of_several_working_days_skip_weekends_and_holidays():
    assert services.add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)  # Monday → Monday
    assert services.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)  # after National Day, a make-up Saturday
    assert services.add_working_days(date(2026, 11, 27), 0) == date(2026, 11, 27)


def test_each_step_refuses_the_other_side_in_words(world, app_context):
    url = _quoted(world)
    assert world["lab"].post(f"{url}/withdraw").json["message"] == FIRM_ONLY
    assert world["firm"].post(f"{url}/accept").status_code == 200
    refused_receive = world["firm"].post(f"{url}/receive")
    assert refused_receive.status_code == 403 and refused_receive.json["message"] == INSTITUTION_ONLY
    early = world["lab"].client.post(f"{url}/report", headers=world["lab"]._headers(),
                                     data={"file": (__import__("io").BytesIO(PDF), "r.pdf")})
    assert early.status_code == 409 and early.json["message"] == NOT_AT_THIS_STEP
    by_firm = world["firm"].client.post(f"{url}/report", headers=world["firm"]._headers(),
                                        data={"file": (__import__("io").BytesIO(PDF), "r.pdf")})
    assert by_firm.status_code == 403 and by_firm.json["message"] == INSTITUTION_ONLY
    received = world["lab"].post(f"{url}/receive").json
    assert last_event(world, url) == ("received", world["manager"].name, {"due_on": received["due_on"]})
    firm_upload = refused(lambda: services.upload_report(world["engineer"], _id(url), PDF))
    assert said(firm_upload) == (PermissionDenied, INSTITUTION_ONLY, {})


def _pdf(size: int, tail: int = 1) -> bytes:
    """A PDF of `size` bytes whose end-of-file mark is followed by `tail` bytes."""
    head = b"%PDF-1.4\n"
    return head + b"0" * (size - len(head) - 5 - tail) + b"%%EOF" + b"\n" * tail


def test_a_report_is_a_pdf_of_at_most_20_mb_by_its_content(world, app_context):
    manager = world["manager"]
    url = _quoted(world)
    world["firm"].post(f"{url}/accept")
    world["lab"].post(f"{url}/receive")
    not_pdf = {"file": ["Upload the report as a PDF file."]}
    for data in (b"%PDF-1.4\n1 0 obj << >> endobj\n", b"1 0 obj << >> endobj\n%%EOF\n", _pdf(5000, tail=2044)):
        refusal = refused(lambda data=data: services.upload_report(manager, _id(url), data))
        assert said(refusal) == (ValidationFailed, "The report could not be accepted.", not_pdf), data[-8:]
    big = services.MAX_REPORT_BYTES
    assert big == 20 * 1024 * 1024
    too_big = refused(lambda: services.upload_report(manager, _id(url), _pdf(big + 1)))
    assert said(too_big) == (ValidationFailed, "The report could not be accepted.", {"file": ["At most 20 MB."]})
    minutes = {"machine_minutes": ["Minutes between 1 and 100,000."]}
    for wrong in (0, -5, 100_001):
        refusal = refused(lambda wrong=wrong: services.upload_report(manager, _id(url), PDF, wrong))
        assert said(refusal) == (ValidationFailed, "The report could not be accepted.", minutes), wrong
    both = refused(lambda: services.upload_report(manager, _id(url), b"GIF89a", 0))
    assert both.fields == {**not_pdf, **minutes}

    data = _pdf(big, tail=2043)  # exactly 20 MB, the mark 2,048 bytes from the end
    reported = done(lambda: services.upload_report(manager, _id(url), data, 1))
    assert (reported.status, reported.machine_minutes, reported.report_file.size) == ("reported", 1, big)
    assert reported.report_file.created_by_id == manager.id
    assert last_event(world, url) == ("reported", manager.name, {"size": big})


def test_a_report_takes_at_most_100000_machine_minutes_or_none(world, app_context):
    for minutes in (100_000, None):
        url = _quoted(world)
        world["firm"].post(f"{url}/accept")
        world["lab"].post(f"{url}/receive")
        reported = done(lambda url=url, minutes=minutes: services.upload_report(world["manager"], _id(url), PDF,
                                                                                minutes))
        assert (reported.status, reported.machine_minutes) == ("reported", minutes)


# -- the lists -----------------------------------------------------------------


def test_orders_are_listed_newest_first_and_those_sent_together_by_their_ids(world, app_context):
    from datetime import UTC, datetime

    ids = [world["firm"].post("/api/v1/orders", json=order_body(world["xrd"])).json["id"] for _ in range(4)]
    moments = [datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 1, 1, 9, tzinfo=UTC),
               datetime(2026, 2, 1, 9, tzinfo=UTC), datetime(2026, 2, 1, 9, tzinfo=UTC)]
    for order_id, moment in zip(ids, moments, strict=True):
        db.session.get(Order, order_id).created_at = moment
    db.session.commit()
    for side in ("firm", "lab", "bureau"):
        listed = world[side].get("/api/v1/orders").json["items"]
        assert [order["id"] for order in listed] == [ids[0], ids[3], ids[2], ids[1]], side


def test_the_order_list_costs_as_many_statements_for_one_order_as_for_three(world, make, api, app_context):
    """Each order of another firm, on an instrument of another institution,
    reported: its samples, events and their actors, firm, instrument,
    institution and report come with the page."""
    costs = []
    for count in (1, 3):
        for _ in range(count):
            manager = make.user("manager")
            instrument = make.instrument(institution_id=manager.institution_id)
            engineer = make.user(firm=make.firm(city_code="jinhua"))
            firm, lab = api.as_user(engineer), api.as_user(manager)
            order = firm.post("/api/v1/orders", json=order_body(instrument)).json
            url = f"/api/v1/orders/{order['id']}"
            lab.post(f"{url}/quote", json={"amount": "100", "turnaround_days": 2})
            firm.post(f"{url}/accept")
            _report({"lab": lab}, url)
        with counted() as statements:
            listed = world["bureau"].get("/api/v1/orders?per_page=50").json
        assert {order["status"] for order in listed["items"]} == {"reported"}
        assert all(order["report"] and order["events"][-1]["actor"] for order in listed["items"])
        costs.append(len(statements))
    assert listed["total"] == 4 and costs[0] == costs[1]


# -- sending an order --------------------------------------------------------------


def _sample(**more) -> dict:
    return {"name": "粉末", "quantity": "1", "unit": "g", **more}


def _submit(world, **more):
    body = {"instrument_id": world["xrd"].id, "title": "物相分析", "requirements": "全谱",
            "samples": [_sample()], **more}
    return services.submit_order(world["engineer"], **body)


def test_an_order_is_checked_by_the_service_and_names_each_field(world, app_context):
    cannot = "The order could not be accepted."
    required, too_long = ["Required: give some visible text."], ["Too long."]
    cases = [
        ({"title": " \u200b "}, {"title": required}),
        ({"title": "题" * 201}, {"title": too_long}),
        ({"title": "a\tb"}, {"title": ["Must not contain control characters such as NUL or tab."]}),
        ({"requirements": "要" * 4001}, {"requirements": too_long}),
        ({"requirements": "a\x00b"},
         {"requirements": ["Must not contain control characters such as NUL (tab and line breaks are fine)."]}),
        ({"samples": []}, {"samples": ["List between 1 and 50 samples."]}),
        ({"samples": [_sample()] * 51}, {"samples": ["List between 1 and 50 samples."]}),
        ({"samples": "粉末"}, {"samples": ["List between 1 and 50 samples."]}),
        ({"samples": ["粉末"]}, {"samples.1.name": required, "samples.1.unit": required,
                                "samples.1.quantity": ["A quantity above zero, with at most three decimals."]}),
        ({"samples": [_sample(), _sample(name="", unit="克" * 21, description="述" * 2001, hazards="a\x07")]},
         {"samples.2.name": required, "samples.2.unit": too_long, "samples.2.description": too_long,
          "samples.2.hazards": ["Must not contain control characters such as NUL (tab and line breaks are fine)."]}),
        ({"samples": [_sample(hazards="险" * 2001)]}, {"samples.1.hazards": too_long}),
        ({"samples": [_sample(name="名" * 201, unit="a\nb")]},
         {"samples.1.name": too_long, "samples.1.unit": ["Must be a single line, without line breaks."]}),
    ]
    for more, fields in cases:
        refusal = refused(lambda more=more: _submit(world, **more))
        assert said(refusal) == (ValidationFailed, cannot, fields), fields
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0

    longest = done(lambda: _submit(world, title="题" * 200, requirements="要" * 4000, samples=[
        _sample(name="名" * 200, unit="克" * 20, description="述" * 2000, hazards="险" * 2000)] * 50))
    assert (longest.title, longest.requirements) == ("题" * 200, "要" * 4000)
    assert len(longest.samples) == 50 and longest.samples[49].position == 50
    first = longest.samples[0]
    assert (first.name, first.unit, first.description, first.hazards) == ("名" * 200, "克" * 20, "述" * 2000, "险" * 2000)


def test_an_order_number_has_six_random_digits_and_twenty_tries(world, app_context, monkeypatch):
    import secrets

    draws = []

    def largest(bound: int) -> int:
        draws.append(bound)
        return bound - 1

    monkeypatch.setattr(secrets, "randbelow", largest)
    first = done(lambda: _submit(world))
    assert first.number == f"WT-{platform_today().year}-999999" and draws == [1_000_000]
    draws.clear()
    taken = refused(lambda: _submit(world))  # every draw finds that number taken
    assert said(taken) == (Conflict, "No order number is free just now; try again.", {})
    assert len(draws) == 20
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1


def test_an_order_of_another_party_is_not_found_by_any_kind_of_id(world, make, api, app_context):
    url = _quoted(world)
    stranger = api.as_user(make.user())
    answer = stranger.get(url)
    assert answer.status_code == 404 and answer.json["message"] == "No such order."
    for ident in (str(_id(url)), float(_id(url)), None):
        refusal = refused(lambda ident=ident: services.get_order(ident, world["engineer"]))
        assert said(refusal) == (NotFound, "No such order.", {}), ident
    assert services.get_order(_id(url), world["engineer"]).id == _id(url)


# -- quoting ---------------------------------------------------------------------


def test_a_quote_is_checked_by_the_service_and_names_each_field(world, app_context):
    from instrument_share.db_types import MAX_MONEY

    order = done(lambda: _submit(world))
    manager, today = world["manager"], platform_today()
    cannot = "The quote could not be accepted."
    amount, days = ["An amount above zero."], ["Between 1 and 365 working days."]
    cases = [
        (("0", 3), {}, {"amount": amount}),
        (("-1", 3), {}, {"amount": amount}),
        (("0.004", 3), {}, {"amount": amount}),  # ¥0.00 once rounded
        ((MAX_MONEY + Decimal("0.01"), 3), {}, {"amount": amount}),
        (("十元", 3), {}, {"amount": amount}),
        (("100", 0), {}, {"turnaround_days": days}),
        (("100", 366), {}, {"turnaround_days": days}),
        (("100", True), {}, {"turnaround_days": days}),
        (("100", "3"), {}, {"turnaround_days": days}),
        (("100", 3), {"note": "注" * 2001}, {"note": ["Too long."]}),
        (("100", 3), {"note": "a\x00"},
         {"note": ["Must not contain control characters such as NUL (tab and line breaks are fine)."]}),
        (("100", 3), {"valid_until": today - timedelta(days=1)}, {"valid_until": ["This day is in the past."]}),
        (("0", 400), {"note": "注" * 2001}, {"amount": amount, "turnaround_days": days, "note": ["Too long."]}),
    ]
    for args, more, fields in cases:
        refusal = refused(lambda args=args, more=more: services.quote_order(manager, order.id, *args, **more))
        assert said(refusal) == (ValidationFailed, cannot, fields), (args, more)
    firm = refused(lambda: services.quote_order(world["engineer"], order.id, "100", 3))
    assert said(firm) == (PermissionDenied, INSTITUTION_ONLY, {})

    quoted = done(lambda: services.quote_order(manager, order.id, "100", 1))
    assert (quoted.quote_amount, quoted.turnaround_days, quoted.quote_note) == (Decimal("100.00"), 1, "")
    assert quoted.quote_valid_until == today + timedelta(days=14)
    for amount_, days_, note in ((MAX_MONEY, 365, "注" * 2000), ("0.01", 200, "含数据分析")):
        quoted = done(lambda a=amount_, d=days_, n=note: services.quote_order(manager, order.id, a, d, n, today))
        assert (quoted.quote_amount, quoted.turnaround_days, quoted.quote_note, quoted.quote_valid_until) == (
            to_money(amount_), days_, note, today)
    url = f"/api/v1/orders/{order.id}"
    assert last_event(world, url) == ("quoted", manager.name, {
        "amount": "0.01", "turnaround_days": 200, "valid_until": today.isoformat()})
    accepted = world["firm"].post(f"{url}/accept", json={"version": 3})  # valid until today: still valid
    assert accepted.status_code == 200 and accepted.json["firm_pays"] == "0.01"


# -- accepting -------------------------------------------------------------------


def test_an_acceptance_says_what_it_could_not_read_and_what_changed(world, app_context):
    url = _quoted(world, amount="1200")
    firm = world["firm"]
    for body, field in (({"amount": "一千二"}, "amount"), ({"voucher_amount": "六百"}, "voucher_amount"),
                        ({"amount": "1200.00", "voucher_amount": "NaN?"}, "voucher_amount")):
        answer = firm.post(f"{url}/accept", json=body)
        assert answer.status_code == 422, body
        assert (answer.json["message"], answer.json["fields"]) == (
            "The acceptance could not be read.", {field: ["An amount in yuan."]}), body
    changed = firm.post(f"{url}/accept", json={"amount": "1000"})
    assert changed.status_code == 409 and changed.json["message"] == (
        "The institution changed its quote meanwhile: read the new one before accepting.")
    no_voucher = firm.post(f"{url}/accept", json={"voucher_id": None, "voucher_amount": "5.00"})
    assert no_voucher.status_code == 409 and no_voucher.json["message"] == (
        "The voucher's part of the quote changed since you saw it: read the new figures before accepting.")
    lab = world["lab"].post(f"{url}/accept")
    assert lab.status_code == 403 and lab.json["message"] == FIRM_ONLY
    assert firm.get(url).json["status"] == "quoted"  # the refusals accepted nothing
    db.session.get(Order, _id(url)).quote_valid_until = platform_today() - timedelta(days=1)
    db.session.commit()
    lapsed = firm.post(f"{url}/accept")
    assert lapsed.status_code == 409 and lapsed.json["message"] == (
        "The quote has lapsed; ask the institution for a new one.")


def test_an_accepted_event_names_the_firms_user_and_the_amounts(world, app_context):
    voucher = world["voucher"]["id"]
    with_voucher = _quoted(world, amount="1200", voucher_id=voucher)
    assert world["firm"].post(f"{with_voucher}/accept", json={"voucher_amount": "600.00"}).status_code == 200
    assert last_event(world, with_voucher) == ("accepted", world["engineer"].name,
                                               {"amount": "1200.00", "voucher_amount": "600.00"})
    plain = _quoted(world, amount="80.5")
    assert world["firm"].post(f"{plain}/accept", json={"voucher_amount": "0.00"}).status_code == 200
    assert last_event(world, plain) == ("accepted", world["engineer"].name,
                                        {"amount": "80.50", "voucher_amount": "0.00"})


def test_a_withdrawal_is_the_firms_event(world, app_context):
    url = _quoted(world)
    assert world["firm"].post(f"{url}/withdraw").json["status"] == "withdrawn"
    assert last_event(world, url) == ("withdrawn", world["engineer"].name, {})


def test_who_may_order_what_and_an_order_keeps_what_was_sent(world, make, app_context):
    cannot = "The order could not be accepted."
    manager = refused(lambda: services.submit_order(world["manager"], world["xrd"].id, "物相", "", [_sample()]))
    assert said(manager) == (PermissionDenied, "Orders are sent by firms.", {})
    unconfirmed = make.user(email_verified=False)
    early = refused(lambda: services.submit_order(unconfirmed, world["xrd"].id, "物相", "", [_sample()]))
    assert said(early) == (PermissionDenied, "Confirm your e-mail address before ordering: open the link in the "
                                             "mail we sent you, or have it sent again from your profile page.", {})
    closed = make.instrument(institution_id=world["manager"].institution_id, accepts_orders=False)
    for instrument_id, message in ((str(world["xrd"].id), "No such instrument."), (10**9, "No such instrument."),
                                   (closed.id, "This instrument takes no orders for entrusted testing.")):
        refusal = refused(lambda instrument_id=instrument_id: _submit(world, instrument_id=instrument_id))
        assert said(refusal) == (ValidationFailed, cannot, {"instrument_id": [message]}), instrument_id
    past = refused(lambda: _submit(world, desired_by=platform_today() - timedelta(days=1)))
    assert said(past) == (ValidationFailed, cannot, {"desired_by": ["This day is in the past."]})
    for quantity in ("0", "-0.001", "1e9", "1.0005", "Infinity", None):
        refusal = refused(lambda quantity=quantity: _submit(world, samples=[_sample(quantity=quantity)]))
        assert refusal.fields == {"samples.1.quantity": ["A quantity above zero, with at most three decimals."]}

    order = done(lambda: _submit(world, requirements="  XRD 全谱  ", desired_by=platform_today(),
                                 samples=[_sample(quantity="999999999.999"), _sample(quantity="0.001")]))
    assert (order.status, order.requirements, order.desired_by) == ("submitted", "XRD 全谱", platform_today())
    assert [sample.quantity for sample in order.samples] == [Decimal("999999999.999"), Decimal("0.001")]
    assert last_event(world, f"/api/v1/orders/{order.id}") == ("submitted", world["engineer"].name, {})
