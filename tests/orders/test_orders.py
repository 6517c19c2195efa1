"""Entrusted testing (issue #18, API.md "Entrusted testing"): every
transition and refusal through the API, on both engines; the other side is
mailed at each step; the report is a PDF by its content and is served as
an attachment to the firm and the institution only."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage
from instrument_share.orders.models import Order
from instrument_share.orders.services import add_working_days
from instrument_share.timeutil import platform_today

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def order_body(instrument, **more):
    return {"instrument_id": instrument.id, "title": "锂电正极材料物相分析",
            "requirements": "XRD 全谱扫描，2θ 10–80°", "samples": [
                {"name": "NCM811 粉末", "quantity": "3", "unit": "份", "hazards": "无"},
                {"name": "LFP 极片", "quantity": 2, "unit": "片"}], **more}


@pytest.fixture
def parties(make, api):
    manager = make.user("manager", email="mgr@inst.example", name="张老师")
    xrd = make.instrument(institution_id=manager.institution_id, name="X射线衍射仪")
    engineer = make.user(email="eng@firm.example", name="陈工")
    return {"manager": manager, "xrd": xrd, "engineer": engineer,
            "firm": api.as_user(engineer), "lab": api.as_user(manager)}


def _kinds(app_context=None) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage.kind).order_by(OutboxMessage.id)))


def test_an_order_goes_from_samples_to_a_rated_report(parties, app_context):
    firm, lab = parties["firm"], parties["lab"]
    made = firm.post("/api/v1/orders", json=order_body(parties["xrd"]))
    assert made.status_code == 201, made.json
    order = made.json
    assert re.fullmatch(rf"WT-{platform_today().year}-\d{{6}}", order["number"])
    assert order["status"] == "submitted" and order["quote"] is None and len(order["samples"]) == 2
    assert order["samples"][0]["quantity"] == "3.000" and order["institution"]["id"] == parties["manager"].institution_id
    url = f"/api/v1/orders/{order['id']}"

    quoted = lab.post(f"{url}/quote", json={"amount": "1200", "turnaround_days": 5, "note": "含数据分析"})
    assert quoted.status_code == 200 and quoted.json["status"] == "quoted"
    assert quoted.json["quote"] == {"amount": "1200.00", "turnaround_days": 5, "note": "含数据分析",
                                    "valid_until": (platform_today() + timedelta(days=14)).isoformat(),
                                    "version": 1}
    accepted = firm.post(f"{url}/accept")
    assert accepted.json["status"] == "accepted" and accepted.json["firm_pays"] == "1200.00"
    received = lab.post(f"{url}/receive").json
    assert received["status"] == "received"
    assert received["due_on"] == add_working_days(platform_today(), 5).isoformat()

    report = lab.client.post(f"{url}/report?machine_minutes=90", headers=lab._headers(),
                             data={"file": (__import__("io").BytesIO(PDF), "报告.pdf")})
    assert report.status_code == 200, report.json
    assert report.json["status"] == "reported" and report.json["report"]["size"] == len(PDF)
    download = firm.get(f"{url}/report")
    assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    closed = firm.post(f"{url}/rate", json={"rating": 5, "comment": "很快"})
    assert closed.json["status"] == "closed" and closed.json["rating"] == 5
    assert [e["action"] for e in closed.json["events"]] == [
        "submitted", "quoted", "accepted", "received", "reported", "closed"]
    assert _kinds() == ["order_submitted", "order_quoted", "order_accepted", "order_received", "order_reported",
                        "order_closed"]  # each step mails the other side


def test_each_side_only_does_its_own_steps_and_others_see_nothing(parties, make, api, app_context):
    firm, lab = parties["firm"], parties["lab"]
    order = firm.post("/api/v1/orders", json=order_body(parties["xrd"])).json
    url = f"/api/v1/orders/{order['id']}"
    stranger = api.as_user(make.user())
    other_lab = api.as_user(make.user("manager"))
    for outsider in (stranger, other_lab):
        assert outsider.get(url).status_code == 404
        assert outsider.post(f"{url}/quote", json={"amount": "1", "turnaround_days": 1}).status_code == 404
    assert firm.post(f"{url}/quote", json={"amount": "1", "turnaround_days": 1}).status_code == 403
    assert lab.post(f"{url}/withdraw").status_code == 403
    assert firm.post(f"{url}/accept").status_code == 409  # nothing to accept yet
    assert lab.post(f"{url}/receive").status_code == 409
    assert stranger.get("/api/v1/orders").json["total"] == 0
    assert lab.get("/api/v1/orders").json["total"] == 1
    db.session.expire_all()
    assert db.session.get(Order, order["id"]).status == "submitted"  # refusals changed nothing


def test_bad_orders_and_reports_are_refused_with_their_fields(parties, make, app_context):
    firm, lab, xrd = parties["firm"], parties["lab"], parties["xrd"]
    closed = make.instrument(institution_id=parties["manager"].institution_id, accepts_orders=False)
    refused = firm.post("/api/v1/orders", json=order_body(closed))
    assert refused.status_code == 422 and list(refused.json["fields"]) == ["instrument_id"]
    bad_samples = firm.post("/api/v1/orders", json=order_body(xrd, samples=[{"name": "x", "quantity": "-1",
                                                                             "unit": "g"}]))
    assert bad_samples.status_code == 422 and "samples.1.quantity" in bad_samples.json["fields"]
    past = firm.post("/api/v1/orders", json=order_body(xrd, desired_by="2001-01-01"))
    assert past.status_code == 422 and "desired_by" in past.json["fields"]
    with_voucher = firm.post("/api/v1/orders", json=order_body(xrd, voucher_id=1))
    assert with_voucher.status_code == 422 and "voucher_id" in with_voucher.json["fields"]
    order = firm.post("/api/v1/orders", json=order_body(xrd)).json
    url = f"/api/v1/orders/{order['id']}"
    assert lab.post(f"{url}/decline", json={"reason": "   "}).status_code == 422
    lab.post(f"{url}/quote", json={"amount": "800", "turnaround_days": 3})
    firm.post(f"{url}/accept")
    lab.post(f"{url}/receive")
    import io

    forged = lab.client.post(f"{url}/report", headers=lab._headers(),
                             data={"file": (io.BytesIO(b"<html>not a pdf</html>"), "report.pdf")})
    assert forged.status_code == 422 and list(forged.json["fields"]) == ["file"]
    assert firm.post(f"{url}/withdraw").status_code == 409  # the samples are in the lab
    assert firm.get(f"{url}/report").status_code == 404  # not there yet
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1


def test_a_declined_order_says_why_and_a_lapsed_quote_cannot_be_accepted(parties, app_context):
    firm, lab = parties["firm"], parties["lab"]
    first = firm.post("/api/v1/orders", json=order_body(parties["xrd"])).json
    declined = lab.post(f"/api/v1/orders/{first['id']}/decline", json={"reason": "样品含放射性，本实验室无资质"})
    assert declined.json["status"] == "declined" and "放射性" in declined.json["decline_reason"]
    second = firm.post("/api/v1/orders", json=order_body(parties["xrd"])).json
    lab.post(f"/api/v1/orders/{second['id']}/quote", json={"amount": "500", "turnaround_days": 2})
    db.session.get(Order, second["id"]).quote_valid_until = platform_today() - timedelta(days=1)
    db.session.commit()
    lapsed = firm.post(f"/api/v1/orders/{second['id']}/accept")
    assert lapsed.status_code == 409 and "lapsed" in lapsed.json["message"]
    assert firm.post(f"/api/v1/orders/{second['id']}/reject").json["status"] == "rejected"


def test_turnaround_counts_working_days_with_holidays_and_make_up_days():
    # National Day 2025: 1–8 October off, Saturday 11 October a working day.
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_working_days(date(2025, 10, 10), 1) == date(2025, 10, 11)
    assert add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Friday → Monday


def test_what_people_type_never_becomes_markup_in_mails(parties, app_context):
    """Found by review: the HTML part included the text template unescaped."""
    from email import message_from_string
    from email import policy as mail_policy

    parties["firm"].post("/api/v1/orders", json=order_body(parties["xrd"], title='<a href="https://evil.example/">x</a>'))
    raw = db.session.scalar(sa.select(OutboxMessage.raw).where(OutboxMessage.kind == "order_submitted"))
    html = message_from_string(raw, policy=mail_policy.default).get_body(("html",)).get_content()
    assert '<a href="https://evil.example/">' not in html and "&lt;a href=" in html


def test_the_firm_accepts_only_the_quote_it_saw(parties, app_context):
    """Found by review: a quote replaced between reading and accepting was
    accepted unseen. With what it saw in the body, the firm gets a 409."""
    firm, lab = parties["firm"], parties["lab"]
    order = firm.post("/api/v1/orders", json=order_body(parties["xrd"])).json
    url = f"/api/v1/orders/{order['id']}"
    lab.post(f"{url}/quote", json={"amount": "100", "turnaround_days": 3})
    seen = firm.get(url).json["quote"]
    lab.post(f"{url}/quote", json={"amount": "99999", "turnaround_days": 200})
    refused = firm.post(f"{url}/accept", json={"amount": seen["amount"], "turnaround_days": seen["turnaround_days"]})
    assert refused.status_code == 409 and firm.get(url).json["status"] == "quoted"
    fresh = firm.get(url).json["quote"]
    accepted = firm.post(f"{url}/accept", json={"amount": fresh["amount"], "turnaround_days": fresh["turnaround_days"]})
    assert accepted.status_code == 200 and accepted.json["firm_pays"] == "99999.00"


def test_quantities_are_checked_as_stored_and_uploads_after_the_permission(parties, make, api, app_context):
    firm, lab = parties["firm"], parties["lab"]
    for quantity in ("0.0001", "1e-9", "999999999.9999"):
        answer = firm.post("/api/v1/orders", json=order_body(parties["xrd"], samples=[
            {"name": "x", "quantity": quantity, "unit": "g"}]))
        assert answer.status_code == 422 and "samples.1.quantity" in answer.json["fields"], quantity
    order = firm.post("/api/v1/orders", json=order_body(parties["xrd"])).json
    import io

    stranger = api.as_user(make.user("manager"))
    for caller, status in ((stranger, 404), (firm, 403), (lab, 409)):  # the file is never read for them
        answer = caller.client.post(f"/api/v1/orders/{order['id']}/report", headers=caller._headers(),
                                    data={"file": (io.BytesIO(PDF), "r.pdf")})
        assert answer.status_code == status


def test_a_report_past_the_limit_is_a_documented_413(parties, app_context):
    """Found by review: the 413 an oversized upload gets was not in the
    OpenAPI document; every multipart operation now declares it."""
    import io

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    firm, lab = parties["firm"], parties["lab"]
    order = firm.post("/api/v1/orders", json=order_body(parties["xrd"])).json
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(b"%PDF" + b"0" * (21 * 1024 * 1024)), "r.pdf")})
    answer = lab.client.post(f"/api/v1/orders/{order['id']}/report", data=body, headers=lab._headers(),
                             content_type=f"multipart/form-data; boundary={boundary}")
    assert answer.status_code == 413 and {"error", "message", "fields"} <= set(answer.json)
    spec = lab.get("/api/v1/openapi.json").json
    for path in ("/api/v1/orders/{order_id}/report", "/api/v1/instruments/import"):
        assert "413" in spec["paths"][path]["post"]["responses"], path
