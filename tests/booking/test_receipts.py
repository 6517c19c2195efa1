"""Receipts and monthly statements (issue #17, API.md "receipt.pdf"): PDFs
with Chinese text in an embedded open CJK font, read back with pypdf and
checked for the booking's numbers; who may have them, and when."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from instrument_share import formats
from instrument_share.booking.models import Booking
from instrument_share.booking.usage import record_usage
from instrument_share.extensions import db
from instrument_share.timeutil import to_platform, utcnow

from ..vouchers.test_vouchers import issue
from .conftest import iso, workday


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    # pypdf reads fpdf2's two-byte glyph codes with a NUL or a space between characters
    text = "".join(page.extract_text() for page in reader.pages)
    return "".join(ch for ch in text if ch not in " \n\x00")


def _fonts(pdf: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(pdf))
    found = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            found.add(str(font["/BaseFont"]))
            descendants = font.get("/DescendantFonts")
            if descendants:
                descriptor = descendants[0].get_object()["/FontDescriptor"].get_object()
                assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), "not embedded"
    return found


@pytest.fixture
def completed(api, make, app_context):
    """A booking of three hours at ¥300, ¥450 of it paid by a voucher,
    used and recorded by the manager yesterday."""
    bureau = make.user(role="city_admin", city_code="jinhua")
    engineer = make.user(email="eng@firm.example", name="陈工")
    manager = make.user("manager")
    instrument = make.instrument(institution_id=manager.institution_id, name="场发射扫描电子显微镜",
                                 model="JSM-IT800", hourly_rate=Decimal("300.00"), advance_notice_hours=0,
                                 hours=[(d, 0, 1440) for d in range(7)], open_on_holidays=True)
    voucher = issue(api, bureau, engineer.firm_id, amount="5000.00", share="0.5").json
    start = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    booked = api.as_user(engineer).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": start.isoformat(), "end": (start + timedelta(hours=3)).isoformat(),
        "purpose": "断口形貌", "voucher_id": voucher["id"]}).json
    booking = db.session.get(Booking, booked["id"])
    record_usage(booking, manager, booking.start, booking.end, "guided", now=booking.end + timedelta(minutes=5))
    db.session.commit()
    return {"booking": booking, "engineer": engineer, "manager": manager, "instrument": instrument}


def test_the_receipt_carries_the_bookings_numbers_in_chinese(api, completed, app_context):
    booking, engineer = completed["booking"], completed["engineer"]
    response = api.as_user(engineer).get(f"/api/v1/bookings/{booking.id}/receipt.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _text(response.data)
    with force_locale("zh_CN"):  # 2026年12月1日周二 15:00–18:00: the day once, the times of it (formats.py)
        booked_time = formats.time_range(booking.start, booking.end).replace(" ", "")
    for expected in ("服务结算单", f"No.{booking.id}", "场发射扫描电子显微镜", "JSM-IT800", engineer.firm.name,
                     engineer.firm.uscc, "陈工", "¥900.00", "¥450.00", f"创新券编号{booking.voucher_id}",
                     f"预约时段{booked_time}"):
        assert expected in text, (expected, text)
    assert any("NotoSansCJK" in name for name in _fonts(response.data))  # embedded, not assumed on the reader
    manager = api.as_user(completed["manager"]).get(f"/api/v1/bookings/{booking.id}/receipt.pdf")
    assert manager.status_code == 200


def test_only_the_firm_and_the_institution_get_it_and_only_when_completed(api, make, completed, app_context):
    booking = completed["booking"]
    for outsider in (make.user(), make.user("manager"), make.user("city_admin")):
        assert api.as_user(outsider).get(f"/api/v1/bookings/{booking.id}/receipt.pdf").status_code == 404
    colleague = make.user(firm=completed["engineer"].firm)
    assert api.as_user(colleague).get(f"/api/v1/bookings/{booking.id}/receipt.pdf").status_code == 200
    day = workday(3)
    ahead = api.as_user(completed["engineer"]).post("/api/v1/bookings", json={
        "instrument_id": completed["instrument"].id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "EDS"}).json
    not_yet = api.as_user(completed["engineer"]).get(f"/api/v1/bookings/{ahead['id']}/receipt.pdf")
    assert not_yet.status_code == 409 and "completed" in not_yet.json["message"]


def test_the_printable_receipt_and_the_monthly_statement(browser, client, completed, app_context):
    booking = completed["booking"]
    browser.login("eng@firm.example")
    page = client.get(f"/bookings/{booking.id}/receipt").get_data(as_text=True)
    assert "¥900.00" in page and "¥450.00" in page and completed["engineer"].firm.uscc in page
    month = to_platform(booking.start).strftime("%Y-%m")
    statement = client.get(f"/statements/{month}").get_data(as_text=True)
    assert "场发射扫描电子显微镜" in statement and 'id="statement-firm-total">¥450.00' in statement
    pdf = client.get(f"/statements/{month}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = _text(pdf.data)
    start = to_platform(booking.start)
    assert f"月度结算单{start.year}年{start.month}月" in text and "¥900.00" in text and "合计" in text
    assert client.get("/statements/2026-13").status_code == 404
    assert client.get("/statements/not-a-month.pdf").status_code == 404
    empty = client.get("/statements/2001-01").get_data(as_text=True)
    assert "本月没有已完成的预约" in empty


def test_a_manager_has_no_statement(browser, client, make, app_context):
    make.user("manager", email="mgr@inst.example")
    browser.login("mgr@inst.example")
    assert client.get("/statements/2026-11").status_code == 403
