"""The pages of entrusted testing (issue #18, "Pages"), through the real app
and its test client: the button on the instrument page, the order form
with its sample rows, the firm's and the institution's lists, one order
with its timeline and each step as a form, the order desk, the workspace.
Every refusal is shown and changes nothing; the wrong side gets 403 and an
outsider 404. Pages are read in English: what they say does not move when
the Chinese translation is filled in."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from babel.dates import format_skeleton

from instrument_share.extensions import db
from instrument_share.orders.models import Order, OrderEvent, OrderSample, StoredFile
from instrument_share.orders.services import add_working_days
from instrument_share.timeutil import platform_today, utcnow
from instrument_share.vouchers.models import Voucher, VoucherEntry

from ..test_statement_counts import counted

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def parties(make):
    manager = make.user("manager", email="mgr@inst.example", name="张老师")
    xrd = make.instrument(institution_id=manager.institution_id, name="X射线衍射仪", accepts_vouchers=True)
    engineer = make.user(email="eng@firm.example", name="陈工")
    voucher = Voucher(firm_id=engineer.firm_id, issuing_city="jinhua", amount=Decimal("1000.00"),
                      balance=Decimal("1000.00"), expires_on=platform_today() + timedelta(days=365),
                      max_share_bp=5000)
    db.session.add(voucher)
    db.session.flush()
    db.session.add(VoucherEntry(voucher_id=voucher.id, kind="grant", delta=voucher.amount, amount=voucher.amount))
    db.session.commit()
    return {"manager": manager, "xrd": xrd, "engineer": engineer, "voucher": voucher}


@pytest.fixture
def firm(sign_in, parties):
    return sign_in("eng@firm.example")


@pytest.fixture
def lab(sign_in, parties):
    return sign_in("mgr@inst.example")


def sample_rows(*rows) -> dict:
    """The samples table as a browser posts it: every input of every row, empty ones too."""
    return {f"samples-{index}-{name}": row.get(name, "") for index, row in enumerate(rows)
            for name in ("name", "quantity", "unit", "description", "hazards")}


def order_form(instrument=None, **more) -> dict:
    return {"title": "锂电正极材料物相分析", "requirements": "XRD 全谱扫描，2θ 10–80°", "desired_by": "", "voucher_id": "0",
            **sample_rows({"name": "NCM811 粉末", "quantity": "3", "unit": "份", "hazards": "无"},
                          {},  # an empty row between two filled ones is left out
                          {"name": "LFP 极片", "quantity": "2", "unit": "片", "description": "涂布面朝上"}),
            **more}


def make_order(instrument, user, status="submitted", **fields) -> Order:
    """An order in any status, written directly (for the lists and the desk)."""
    quoted = status != "submitted"
    values = dict(instrument_id=instrument.id,
                  institution_id=instrument.institution_id, firm_id=user.firm_id, user_id=user.id,
                  title="物相分析", requirements="", status=status,
                  quote_amount=Decimal("800.00") if quoted else None, turnaround_days=3 if quoted else None,
                  quote_valid_until=platform_today() + timedelta(days=10) if quoted else None,
                  firm_pays=Decimal("800.00") if quoted else Decimal("0.00"),
                  samples=[OrderSample(position=1, name="粉末", quantity=Decimal("1"), unit="份")])
    values.update(fields)
    order = Order(**values)
    order.number = f"WT-2026-{db.session.scalar(sa.select(sa.func.count(Order.id))) + 100000:06d}"
    order.events = [OrderEvent(actor_id=user.id, action="submitted", details={})]
    db.session.add(order)
    db.session.commit()
    return order


def _order(order_id) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _invalid_fields(html: str) -> set[str]:
    """The names of the inputs the page marks invalid."""
    return set(re.findall(r'<(?:input|select|textarea)[^>]*class="[^"]*is-invalid[^"]*"[^>]*name="([^"]+)"', html)
               + re.findall(r'<(?:input|select|textarea)[^>]*name="([^"]+)"[^>]*class="[^"]*is-invalid', html))


# --- the instrument page and the order form ---------------------------------------------

def test_the_instrument_page_offers_entrusted_testing_to_firms_and_visitors(client, sign_in, make, parties,
                                                                             app_context):
    xrd = parties["xrd"]
    visitor = client.get(f"/instruments/{xrd.id}").get_data(as_text=True)
    assert f'href="/login?next=/instruments/{xrd.id}/order"' in visitor
    engineer = sign_in("eng@firm.example")
    page = engineer.page(f"/instruments/{xrd.id}")
    assert f'href="/instruments/{xrd.id}/order"' in page and 'id="entrusted-testing"' in page
    closed = make.instrument(institution_id=xrd.institution_id, accepts_orders=False)
    broken = make.instrument(institution_id=xrd.institution_id, status="awaiting_repair")
    for instrument in (closed, broken):
        assert 'id="entrusted-testing"' not in engineer.page(f"/instruments/{instrument.id}")
    assert 'id="entrusted-testing"' not in sign_in("mgr@inst.example").page(f"/instruments/{xrd.id}")


def test_a_firm_sends_an_order_from_the_form(firm, parties, app_context):
    xrd, voucher = parties["xrd"], parties["voucher"]
    form = firm.page(f"/instruments/{xrd.id}/order")
    assert form.count('class="sample-row"') == 3  # three rows drawn; the script adds more
    assert 'src="/static/order_form.js"' in form and 'id="add-sample-row"' in form and "<script>" not in form
    assert f'<option value="{voucher.id}">' in form and 'table-stack' in form
    response = firm.post(f"/instruments/{xrd.id}/order", order_form(voucher_id=str(voucher.id)))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    order = db.session.scalar(sa.select(Order))
    assert response.headers["Location"] == f"/orders/{order.id}"
    assert [(s.position, s.name, s.quantity) for s in order.samples] == [
        (1, "NCM811 粉末", Decimal("3.000")), (2, "LFP 极片", Decimal("2.000"))]
    assert order.voucher_id == voucher.id and order.status == "submitted"
    detail = firm.page(response.headers["Location"])
    assert f"Order {order.number} sent" in detail and "NCM811 粉末" in detail and "涂布面朝上" in detail
    assert 'data-action="submitted"' in detail and "Waiting for a quote" in detail
    assert 'id="voucher-chosen"' in detail and 'id="withdraw"' in detail and "data-confirm=" in detail
    assert 'id="quote-form"' not in detail  # the firm does not quote


def test_a_bad_order_is_shown_at_its_fields_and_rows_and_nothing_is_stored(firm, parties, app_context):
    xrd = parties["xrd"]
    url = f"/instruments/{xrd.id}/order"
    bad = order_form(title="", desired_by="2001-01-01", **sample_rows(
        {"name": "NCM811 粉末", "quantity": "3", "unit": "份"}, {},
        {"name": "LFP 极片", "quantity": "-2", "unit": ""}))
    response = firm.post(url, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    # the second filled sample is the third row: its problems are shown there
    assert _invalid_fields(html) == {"title", "desired_by", "samples-2-quantity", "samples-2-unit"}
    assert 'value="NCM811 粉末"' in html and 'value="-2"' in html  # what was typed is kept
    no_samples = firm.post(url, {"title": "x", "voucher_id": "0", **sample_rows({}, {}, {})})
    assert no_samples.status_code == 422 and "List between 1 and 50 samples." in no_samples.get_data(as_text=True)
    too_many = firm.post(url, order_form(**sample_rows(*[{"name": "x", "quantity": "1", "unit": "g"}] * 101)))
    assert too_many.status_code == 422
    not_a_voucher = firm.post(url, order_form(voucher_id="999999"))
    assert not_a_voucher.status_code == 422 and "voucher_id" in _invalid_fields(not_a_voucher.get_data(as_text=True))
    assert _count(Order) == 0 and _count(OrderSample) == 0


def test_who_may_not_order_gets_403_and_unknown_instruments_404(firm, lab, sign_in, make, parties, app_context):
    xrd = parties["xrd"]
    assert lab.get(f"/instruments/{xrd.id}/order").status_code == 403
    assert lab.post(f"/instruments/{xrd.id}/order", order_form()).status_code == 403
    assert firm.get("/instruments/999999/order").status_code == 404
    assert firm.post("/instruments/999999/order", order_form()).status_code == 404
    make.user(email="new@firm.example", email_verified=False)
    unconfirmed = sign_in("new@firm.example").post(f"/instruments/{xrd.id}/order", order_form())
    assert unconfirmed.status_code == 403 and "Confirm your e-mail address" in unconfirmed.get_data(as_text=True)
    closed = make.instrument(institution_id=xrd.institution_id, accepts_orders=False)
    assert 'id="no-orders"' in firm.page(f"/instruments/{closed.id}/order")
    refused = firm.post(f"/instruments/{closed.id}/order", order_form())
    assert refused.status_code == 422 and "takes no orders" in refused.get_data(as_text=True)
    assert _count(Order) == 0


# --- one order, step by step ---------------------------------------------------------------

def _sent(firm, parties, **more) -> Order:
    response = firm.post(f"/instruments/{parties['xrd'].id}/order", order_form(**more))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return db.session.scalar(sa.select(Order).order_by(Order.id.desc()))


def test_an_order_goes_from_the_form_to_a_rated_report_on_the_pages(firm, lab, parties, app_context):
    voucher = parties["voucher"]
    order = _sent(firm, parties, voucher_id=str(voucher.id))
    url = f"/orders/{order.id}"

    desk = lab.page("/manage/orders")
    assert order.number in desk and 'id="to-quote"' in desk
    page = lab.page(url)
    assert 'id="quote-form"' in page and 'id="decline"' in page and 'id="accept"' not in page
    quoted = lab.post(f"{url}/quote", {"amount": "1200", "turnaround_days": "5", "note": "含数据分析",
                                       "valid_until": ""})
    assert quoted.status_code == 302 and quoted.headers["Location"] == url
    assert _order(order.id).status == "quoted" and _order(order.id).quote_amount == Decimal("1200.00")

    page = firm.page(url)
    assert 'id="accept"' in page and "¥1,200.00" in page
    assert f'<option selected value="{voucher.id}">' in page  # the voucher chosen with the order
    assert "pays ¥600.00 of this quote" in page and 'id="voucher-part"' in page
    assert 'name="amount" type="hidden" value="1200.00"' in page
    accepted = firm.post(f"{url}/accept", {"voucher_id": str(voucher.id), "amount": "1200.00",
                                           "turnaround_days": "5"})
    assert accepted.status_code == 302
    done = _order(order.id)
    assert (done.status, done.voucher_amount, done.firm_pays) == ("accepted", Decimal("600.00"), Decimal("600.00"))
    assert 'id="voucher-amount"' in firm.page(url) and "Send your samples" in firm.page(url)

    assert 'id="to-receive"' in lab.page("/manage/orders")
    assert lab.post(f"{url}/receive").status_code == 302
    assert _order(order.id).due_on == add_working_days(platform_today(), 5)
    uploaded = lab.post(f"{url}/report", {"file": (io.BytesIO(PDF), "报告.pdf"), "machine_minutes": "90"},
                        content_type="multipart/form-data")
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)[:2000]
    assert _order(order.id).status == "reported" and _order(order.id).machine_minutes == 90

    page = firm.page(url)
    assert f'href="/orders/{order.id}/report"' in page and 'id="rate"' in page
    download = firm.get(f"{url}/report")
    assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{order.number}-report.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert lab.get(f"{url}/report").status_code == 200
    rated = firm.post(f"{url}/rate", {"rating": "5", "comment": "很快"})
    assert rated.status_code == 302
    closed = _order(order.id)
    assert (closed.status, closed.rating) == ("closed", 5)
    page = firm.page(url)
    assert re.findall(r'data-action="(\w+)"', page) == [
        "submitted", "quoted", "accepted", "received", "reported", "closed"]
    assert "Rated and closed" in page and "Very satisfied" in page and "张老师" in page
    assert order.number in lab.page("/manage/orders").split('id="ended"')[1]


def test_refused_steps_are_shown_and_change_nothing(firm, lab, sign_in, make, parties, app_context):
    order = _sent(firm, parties)
    url = f"/orders/{order.id}"
    bad_quote = lab.post(f"{url}/quote", {"amount": "lots", "turnaround_days": "400", "valid_until": "2001-01-01"})
    assert bad_quote.status_code == 422
    html = bad_quote.get_data(as_text=True)
    assert _invalid_fields(html) == {"amount", "turnaround_days", "valid_until"}
    assert 'value="lots"' in html
    assert lab.post(f"{url}/decline", {"reason": "   "}).status_code == 422
    assert _order(order.id).status == "submitted"

    # The wrong side: 403; an outsider: 404, for the page and every step.
    assert firm.post(f"{url}/quote", {"amount": "1", "turnaround_days": "1"}).status_code == 403
    assert lab.post(f"{url}/withdraw").status_code == 403
    make.user(email="other@firm.example")
    stranger = sign_in("other@firm.example")
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"{url}/report").status_code == 404
    for step in ("quote", "decline", "accept", "reject", "withdraw", "receive", "report", "rate"):
        assert stranger.post(f"{url}/{step}").status_code == 404, step
    assert stranger.get("/orders").status_code == 200 and order.number not in stranger.page("/orders")

    # A step the order is not at: flashed on the order, nothing done.
    nothing_yet = firm.post(f"{url}/accept", {"voucher_id": "0", "amount": "1", "turnaround_days": "1"},
                            follow_redirects=True)
    assert "no longer at this step" in nothing_yet.get_data(as_text=True)
    lab.post(f"{url}/quote", {"amount": "800", "turnaround_days": "3"})
    changed = firm.post(f"{url}/accept", {"voucher_id": "0", "amount": "500.00", "turnaround_days": "3"},
                        follow_redirects=True)
    assert "changed its quote" in changed.get_data(as_text=True) and _order(order.id).status == "quoted"
    bad_rating = firm.post(f"{url}/accept", {"voucher_id": "abc", "amount": "800.00", "turnaround_days": "3"})
    assert bad_rating.status_code == 422 and _order(order.id).status == "quoted"
    firm.post(f"{url}/accept", {"voucher_id": "0", "amount": "800.00", "turnaround_days": "3"})
    assert _order(order.id).voucher_amount == Decimal("0.00")
    lab.post(f"{url}/receive")
    again = lab.post(f"{url}/receive", follow_redirects=True)
    assert "no longer at this step" in again.get_data(as_text=True)
    not_pdf = lab.post(f"{url}/report", {"file": (io.BytesIO(b"<html>no</html>"), "r.pdf")},
                       content_type="multipart/form-data")
    assert not_pdf.status_code == 422 and "file" in _invalid_fields(not_pdf.get_data(as_text=True))
    no_file = lab.post(f"{url}/report", {"machine_minutes": "5"}, content_type="multipart/form-data")
    assert no_file.status_code == 422
    assert firm.post(f"{url}/withdraw", follow_redirects=True).status_code == 200
    assert _order(order.id).status == "received" and _count(StoredFile) == 0
    assert firm.get(f"{url}/report").status_code == 404  # not there yet


def test_a_firm_withdraws_or_rejects_and_the_institution_declines(firm, lab, parties, app_context):
    first, second, third = (_sent(firm, parties) for _n in range(3))
    page = firm.page(f"/orders/{first.id}")
    assert re.search(r'id="withdraw"\s+data-confirm="Withdraw order', page)
    assert firm.post(f"/orders/{first.id}/withdraw").status_code == 302
    assert _order(first.id).status == "withdrawn"
    lab.post(f"/orders/{second.id}/quote", {"amount": "100", "turnaround_days": "2"})
    assert 'data-confirm="Reject this quote?' in firm.page(f"/orders/{second.id}")
    assert firm.post(f"/orders/{second.id}/reject").status_code == 302 and _order(second.id).status == "rejected"
    assert lab.post(f"/orders/{third.id}/decline", {"reason": "样品含放射性"}).status_code == 302
    page = firm.page(f"/orders/{third.id}")
    assert 'id="decline-reason"' in page and "样品含放射性" in page and "Declined" in page
    assert 'id="withdraw"' not in page


# --- the lists, the desk, the workspace -----------------------------------------------------

def test_the_order_list_pages_filters_and_shows_each_side_its_own(firm, lab, sign_in, make, parties, app_context):
    xrd, engineer = parties["xrd"], parties["engineer"]
    for n in range(27):
        make_order(xrd, engineer, "quoted" if n % 3 == 0 else "submitted")
    first = firm.page("/orders")
    assert first.count("/orders/") - first.count('href="/orders/?') >= 25 and "27 orders" in first
    assert 'class="table table-sm align-middle table-stack"' in first and "1 / 2" in first
    assert firm.page("/orders?page=2").count('<td><a href="/orders/') == 2
    assert firm.page("/orders?page=99999999999999999999").count('<td><a href="/orders/') == 2  # the last page
    quoted = firm.page("/orders?status=quoted")
    assert quoted.count('<td><a href="/orders/') == 9 and "Accept or reject the quote" in quoted
    assert firm.page("/orders?status=nonsense").count('<td><a href="/orders/') == 25  # not a status: all
    assert "27 orders" in lab.page("/orders") and "<th>Firm</th>" in lab.page("/orders")
    make.user(role="city_admin", city_code="jinhua", email="bureau@jh.example")
    make.user(role="city_admin", city_code="hefei", email="bureau@hf.example")
    assert "27 orders" in sign_in("bureau@jh.example").page("/orders")  # the firm's city, read-only
    assert "0 orders" in sign_in("bureau@hf.example").page("/orders")


def test_the_desk_groups_orders_by_what_they_wait_for_and_flags_overdue_ones(firm, lab, make, parties,
                                                                              app_context):
    xrd, engineer = parties["xrd"], parties["engineer"]
    today = platform_today()
    late = make_order(xrd, engineer, "received", received_on=today - timedelta(days=10),
                      due_on=today - timedelta(days=1), title="迟了")
    on_time = make_order(xrd, engineer, "received", received_on=today, due_on=today + timedelta(days=3),
                         title="按时")
    waiting = make_order(xrd, engineer, "submitted", title="待报价")
    quoted = make_order(xrd, engineer, "quoted", title="已报价")
    accepted = make_order(xrd, engineer, "accepted", title="已接受")
    reported = make_order(xrd, engineer, "reported", title="已出报告")
    ended = make_order(xrd, engineer, "declined", title="已拒绝")
    elsewhere = make_order(make.instrument(), engineer, "submitted", title="别处的")
    page = lab.page("/manage/orders")
    sections = dict(re.findall(r'<table[^>]*id="([\w-]+)"[^>]*>(.*?)</table>', page, re.S))
    assert set(sections) == {"to-quote", "quoted", "to-receive", "in-testing", "reported", "ended"}
    for section, order in (("to-quote", waiting), ("quoted", quoted), ("to-receive", accepted),
                           ("reported", reported), ("ended", ended)):
        assert order.number in sections[section], section
    testing = sections["in-testing"]
    assert late.number in testing and on_time.number in testing
    rows = {number: row for row in re.findall(r"<tr>(.*?)</tr>", testing, re.S)
            for number in re.findall(r"WT-\d+-\d+", row)}
    assert "Overdue" in rows[late.number] and "Overdue" not in rows[on_time.number]  # said in words
    assert testing.index(late.number) < testing.index(on_time.number)  # the most overdue first
    assert elsewhere.number not in page and "table-stack" in page
    assert format_skeleton("yMMMEd", quoted.quote_valid_until, locale="en") in sections["quoted"]  # Thu, Dec 10, 2026
    assert firm.get("/manage/orders").status_code == 403
    assert lab.page("/manage/").count('href="/manage/orders"') >= 1  # linked from the desk and the menu
    assert 'href="/manage/orders"' in lab.page("/orders")
    detail = lab.page(f"/orders/{late.id}")
    assert "Overdue" in detail and 'id="upload-report"' in detail


def test_the_joint_office_chooses_the_institution_of_the_desk(sign_in, make, parties, app_context):
    xrd, engineer = parties["xrd"], parties["engineer"]
    first = make.instrument()  # another institution, made later: a higher id
    order_here = make_order(xrd, engineer, "submitted")
    order_there = make_order(first, engineer, "submitted")
    make.user(role="admin", email="office@g60.example")
    office = sign_in("office@g60.example")
    page = office.page(f"/manage/orders?institution={first.institution_id}")
    assert order_there.number in page and order_here.number not in page
    assert office.get("/manage/orders?institution=99999999999999999999").status_code == 200
    assert order_here.number in office.page(f"/manage/orders?institution={xrd.institution_id}")


def test_the_workspace_lists_the_firms_open_orders_and_what_to_do_next(firm, make, parties, app_context):
    xrd, engineer = parties["xrd"], parties["engineer"]
    make_order(xrd, engineer, "quoted", title="等我接受")
    make_order(xrd, engineer, "reported", title="等我评价")
    make_order(xrd, engineer, "closed", title="早已结束")
    make_order(xrd, make.user(), "submitted", title="别家的")
    page = firm.page("/workspace")
    section = page.split('id="orders"')[1].split("</section>")[0]
    assert "等我接受" in section and "等我评价" in section
    assert "早已结束" not in section and "别家的" not in section
    assert "Accept or reject the quote" in section and "Download the report and rate the service" in section
    assert 'href="/orders"' in page  # the menu and the section


def test_the_menu_leads_each_side_to_its_orders(firm, lab, app_context):
    assert '<a class="nav-link" href="/orders">' in firm.page("/")
    assert '<a class="nav-link" href="/manage/orders">' not in firm.page("/")
    assert '<a class="nav-link" href="/manage/orders">' in lab.page("/")
    assert '<a class="nav-link" href="/orders">' not in lab.page("/")


def test_order_pages_issue_the_same_statements_however_many_orders(firm, lab, make, parties, app_context):
    xrd, engineer = parties["xrd"], parties["engineer"]
    today = platform_today()

    def grow(size):
        for n in range(size):
            colleague = make.user(firm=engineer.firm)
            for status in ("submitted", "quoted", "accepted", "received", "reported", "closed"):
                order = make_order(xrd, colleague if n % 2 else engineer, status,
                                   due_on=today - timedelta(days=1) if status == "received" else None)
                order.events.append(OrderEvent(actor_id=colleague.id, action="quoted", details={},
                                               at=utcnow()))
        db.session.commit()

    def measure():
        counts = {}
        for who, url in ((firm, "/orders"), (lab, "/orders"), (lab, "/manage/orders"), (firm, "/workspace")):
            with counted() as statements:
                assert who.get(url).status_code == 200
            counts[(who is firm, url)] = len(statements)
        return counts

    grow(2)
    small = measure()
    grow(8)
    assert measure() == small


def test_what_people_type_is_shown_as_text_on_the_order_pages(firm, lab, parties, app_context):
    script, attribute = '<script>alert("g60")</script>', '"><img src=x onerror=alert(1)>'
    order = _sent(firm, parties, title=f"物相{script}", requirements=attribute,
                  **sample_rows({"name": f"粉末{attribute}", "quantity": "1", "unit": "g", "hazards": script}))
    lab.post(f"/orders/{order.id}/quote", {"amount": "100", "turnaround_days": "2", "note": script})
    for person, url in ((firm, f"/orders/{order.id}"), (firm, "/orders"), (firm, "/workspace"),
                        (lab, f"/orders/{order.id}"), (lab, "/manage/orders"), (lab, "/orders")):
        html = person.page(url)
        assert "物相&lt;script&gt;" in html, url
        for payload in (script, attribute, "onerror=alert(1)>"):
            assert payload not in html, (url, payload)


def test_a_voucher_chosen_with_the_order_that_can_no_longer_pay_is_not_offered(firm, lab, parties, app_context):
    voucher = parties["voucher"]
    order = _sent(firm, parties, voucher_id=str(voucher.id))
    lab.post(f"/orders/{order.id}/quote", {"amount": "100", "turnaround_days": "2"})
    assert f'<option selected value="{voucher.id}">' in firm.page(f"/orders/{order.id}")
    voucher.status = "revoked"
    db.session.commit()
    page = firm.page(f"/orders/{order.id}")
    assert not re.search(rf'<option[^>]*value="{voucher.id}"', page) and "can no longer pay" in page
    refused = firm.post(f"/orders/{order.id}/accept", {"voucher_id": str(voucher.id), "amount": "100.00",
                                                       "turnaround_days": "2"})
    assert refused.status_code == 422 and _order(order.id).status == "quoted"
    assert firm.post(f"/orders/{order.id}/accept", {"voucher_id": "0", "amount": "100.00",
                                                    "turnaround_days": "2"}).status_code == 302
    accepted = _order(order.id)
    assert (accepted.status, accepted.voucher_id, accepted.firm_pays) == ("accepted", None, Decimal("100.00"))
