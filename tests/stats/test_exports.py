"""Exports write values, never formulas (issue #13, finding 4): instruments
and institutions named like formulas come out as inert text in every CSV
and XLSX export and in the reports' attachments; numbers stay numbers."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from email import message_from_string, policy

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from instrument_share.booking.models import Booking
from instrument_share.database import begin_write_transaction
from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage
from instrument_share.scheduler.reports import monthly_city_report, weekly_institution_report
from instrument_share.spreadsheets import table_bytes, workbook_bytes
from instrument_share.stats.services import Period
from instrument_share.vouchers.models import Voucher, VoucherEntry

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1",
           "#N/A", "＝1+1"]
PERIOD = {"from": "2026-11-02", "to": "2026-11-08"}  # a week without holidays
STARTS = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # Tuesday 3 November, 10:00 in Shanghai
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


@pytest.fixture
def hostile(make):
    """An institution and an instrument under each hostile name, each with a
    completed booking paid half by a Jinhua voucher (a capture to settle)."""
    firm_user = make.user()
    instruments = []
    for name in HOSTILE:
        institution = make.institution(name=name, name_en=name)
        instruments.append(make.instrument(institution=institution, name=name, name_en=name))
    begin_write_transaction()
    voucher = Voucher(firm_id=firm_user.firm_id, issuing_city="jinhua", amount=Decimal("10000.00"),
                      balance=Decimal("10000.00"), expires_on=datetime(2027, 12, 31).date(), max_share_bp=5000)
    db.session.add(voucher)
    db.session.flush()
    for instrument in instruments:
        booking = Booking(instrument=instrument, user=firm_user, firm_id=firm_user.firm_id, start=STARTS,
                          end=STARTS.replace(hour=4), occupied_until=STARTS.replace(hour=4), status="completed",
                          purpose="x", cost=Decimal("600.00"), voucher_id=voucher.id,
                          voucher_amount=Decimal("300.00"), firm_pays=Decimal("300.00"))
        db.session.add(booking)
        db.session.flush()
        db.session.add(VoucherEntry(voucher=voucher, booking_id=booking.id, kind="capture",
                                    delta=Decimal("0.00"), amount=Decimal("300.00")))
    db.session.commit()
    return instruments


def _lf(text: str) -> str:
    """Line ends as XML and mail deliver them (CR arrives as LF or CRLF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def assert_inert_csv(data: bytes, column: str) -> None:
    rows = csv_rows(data)
    index = rows[0].index(column)
    assert {_lf(row[index]) for row in rows[1:]} >= {
        _lf("'" + name if name.startswith(TRIGGERS) else name) for name in HOSTILE}
    for row in rows:
        for cell in row:
            if cell.startswith(TRIGGERS):  # only numbers may start so
                Decimal(cell)


def assert_inert_xlsx(data: bytes, column: str) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # not one formula in the file
    sheet = load_workbook(io.BytesIO(data)).active
    header = [cell.value for cell in sheet[1]]
    labels = [row[header.index(column)] for row in sheet.iter_rows(min_row=2)]
    by_value = {cell.value: cell for cell in labels}
    for name in HOSTILE:
        assert by_value[_lf(name)].data_type == "s"  # the text, as a string
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None:  # an empty cell (a median of no orders) holds nothing to run
                continue
            assert cell.data_type in ("s", "n"), (cell.coordinate, cell.value, cell.data_type)
            assert (cell.data_type == "n") == isinstance(cell.value, (int, float))


@pytest.mark.parametrize(("url", "query", "column"), [
    ("/api/v1/stats/utilisation", {"group_by": "instrument", "headers": "codes"}, "label"),
    ("/api/v1/stats/utilisation", {"group_by": "institution", "headers": "codes"}, "label"),
    ("/api/v1/stats/vouchers", {"headers": "codes"}, "institution"),
    ("/api/v1/stats/utilisation", {"group_by": "instrument"}, "仪器"),  # headed in the reader's language
    ("/api/v1/stats/vouchers", {}, "单位"),
])
def test_statistics_exports_are_inert(api, make, hostile, url, query, column):
    admin = api.as_user(make.user(role="admin"))
    as_csv = admin.get(url, query_string={**PERIOD, **query, "format": "csv"})
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert_inert_csv(as_csv.data, column)
    as_xlsx = admin.get(url, query_string={**PERIOD, **query, "format": "xlsx"})
    assert as_xlsx.status_code == 200
    assert_inert_xlsx(as_xlsx.data, column)


def _attachment(kind: str, recipient: str) -> bytes:
    raw = db.session.scalar(sa.select(OutboxMessage.raw).where(OutboxMessage.kind == kind,
                                                               OutboxMessage.recipient == recipient))
    attachment = next(message_from_string(raw, policy=policy.default).iter_attachments())
    assert attachment.get_content_type() == "text/csv"
    content = attachment.get_content()
    return content if isinstance(content, bytes) else content.encode("utf-8")


def test_report_attachments_are_inert(make, hostile, app_context):
    manager = make.user(role="manager", institution_id=hostile[0].institution_id, email="mgr@uni.example")
    make.user(role="city_admin", city_code="hangzhou", email="bureau@hz.example")
    week = Period(datetime(2026, 11, 2).date(), datetime(2026, 11, 8).date())
    begin_write_transaction()
    assert weekly_institution_report(STARTS, week) == 1
    assert monthly_city_report(STARTS, week) == 1
    db.session.commit()
    weekly = csv_rows(_attachment("weekly-institution-report", manager.email))
    labels = [row[weekly[0].index("仪器")] for row in weekly[1:]]  # headed in the manager's language
    assert labels == ["'" + HOSTILE[0], "合计"]  # the manager's institution has the one instrument
    assert_inert_csv(_attachment("monthly-city-report", "bureau@hz.example"), "单位")


def test_numbers_stay_numbers_negative_ones_too(app_context):
    columns = ["label", "amount", "count", "ratio"]
    rows = [{"label": "-2+3", "amount": Decimal("-3.10"), "count": -4, "ratio": -0.5},
            {"label": "-7", "amount": Decimal("12.00"), "count": 0, "ratio": 1.25}]
    assert csv_rows(table_bytes(columns, rows))[1:] == [["'-2+3", "-3.10", "-4", "-0.5"],
                                                         ["'-7", "12.00", "0", "1.25"]]
    sheet = load_workbook(io.BytesIO(workbook_bytes("t", columns, rows))).active
    values = [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert values == [[("-2+3", "s"), (-3.1, "n"), (-4, "n"), (-0.5, "n")],
                      [("-7", "s"), (12, "n"), (0, "n"), (1.25, "n")]]
