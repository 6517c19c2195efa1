"""Bulk import and export of instruments in the NRII layout (issue #16):
the template, export → edit → import as an exact round trip, CSV in UTF-8
and GBK, a bad row refusing the whole file, and who may do it."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from instrument_share.catalogue.models import Instrument, InstrumentEvent
from instrument_share.desk.transfer import COLUMNS, FIELDS
from instrument_share.extensions import db
from instrument_share.spreadsheets import xlsx_cell

from .conftest import Browser, csrf_token_from

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet_rows(data: bytes) -> list[list]:
    return [list(row) for row in load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True)]


def _xlsx(rows: list[list]) -> bytes:
    """A workbook as a spreadsheet saves what was typed: text stays text."""
    book = Workbook()
    for row in rows:
        book.active.append([xlsx_cell(book.active, value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _upload(client, data: bytes, name="instruments.xlsx", query=""):
    return client.post(f"/api/v1/instruments/import{query}", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _fleet(make):
    institution = make.institution()
    manager = make.user(role="manager", institution_id=institution.id, email="mgr@transfer.example")
    sem = make.instrument(institution_id=institution.id, asset_no="ZJU-2019-0042", name="场发射扫描电子显微镜",
                          hourly_rate=Decimal("450.00"), original_value=Decimal("512.30"),
                          commissioned_on=date(2019, 6, 1), status="occasional_fault", requires_approval=True,
                          self_service=True, next_training_on=date(2026, 12, 15), description="=冷场发射",
                          contact_email="sem@uni.example")
    nmr = make.instrument(institution_id=institution.id, asset_no="ZJU-2020-0007", name="核磁共振波谱仪",
                          category_code="analytical-spectroscopy", hourly_rate=Decimal("600.00"))
    return institution, manager, sem, nmr


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_template_has_the_nrii_headings_the_field_names_and_the_categories(api, make, app_context):
    _, manager, _, _ = _fleet(make)
    answer = api.as_user(manager).get("/api/v1/instruments/template.xlsx")
    assert answer.status_code == 200 and answer.mimetype == XLSX
    book = load_workbook(io.BytesIO(answer.data))
    headings, names = [list(r) for r in book.worksheets[0].iter_rows(max_row=2, values_only=True)]
    assert headings[:3] == ["资产编号", "仪器名称", "英文名称"] and names == list(FIELDS)
    codes = [row[0] for row in book.worksheets[1].iter_rows(min_row=2, values_only=True)]
    assert "analytical-electron-optics" in codes


def test_export_edit_import_is_an_exact_round_trip(api, make, app_context):
    institution, manager, sem, nmr = _fleet(make)
    as_manager = api.as_user(manager)
    exported = as_manager.get("/api/v1/instruments/export.xlsx")
    assert exported.status_code == 200
    rows = _sheet_rows(exported.data)
    assert [r[0] for r in rows[2:]] == ["ZJU-2019-0042", "ZJU-2020-0007"]
    sem_row = dict(zip(FIELDS, rows[2], strict=True))
    assert (sem_row["status"], sem_row["requires_approval"], sem_row["hourly_rate"]) == ("偶有故障", "是", 450)
    assert sem_row["description"] == "=冷场发射"  # text, never a formula

    unchanged = _upload(as_manager, exported.data, query="?dry_run=1")
    assert unchanged.status_code == 200, unchanged.get_json()
    assert unchanged.get_json() == {"created": 0, "updated": 0, "unchanged": 2, "rows": 2}

    rows[3][FIELDS.index("hourly_rate")] = 650
    rows[3][FIELDS.index("status")] = "待修"
    new = [None] * len(FIELDS)
    for name, value in {"asset_no": "ZJU-2026-0100", "name": "X射线光电子能谱仪", "category": "analytical-spectroscopy",
                        "hourly_rate": 800, "accepts_vouchers": "否", "commissioned_on": date(2026, 3, 2)}.items():
        new[FIELDS.index(name)] = value
    edited = _xlsx([*rows, new])
    planned = _upload(as_manager, edited, query="?dry_run=1").get_json()
    assert planned == {"created": 1, "updated": 1, "unchanged": 1, "rows": 3}
    assert _count(InstrumentEvent) == 0  # a check writes nothing

    applied = _upload(as_manager, edited)
    assert applied.status_code == 200 and applied.get_json() == planned
    db.session.expire_all()
    nmr = db.session.get(Instrument, nmr.id)
    assert (nmr.hourly_rate, nmr.status) == (Decimal("650.00"), "awaiting_repair")
    xps = db.session.scalar(sa.select(Instrument).where(Instrument.asset_no == "ZJU-2026-0100"))
    assert (xps.institution_id, xps.accepts_vouchers, xps.commissioned_on) == (institution.id, False, date(2026, 3, 2))
    actions = sorted(e.action for e in db.session.scalars(sa.select(InstrumentEvent)))
    assert actions == ["created", "status_changed"]
    assert [i["id"] for i in api.get("/api/v1/instruments?q=光电子能谱").get_json()["items"]] == [xps.id]

    again = _sheet_rows(as_manager.get("/api/v1/instruments/export.xlsx").data)
    assert again[:4] == _sheet_rows(edited)[:4]  # the edited rows come back as they were written
    assert _upload(as_manager, as_manager.get("/api/v1/instruments/export.xlsx").data,
                   query="?dry_run=1").get_json()["unchanged"] == 3


def test_csv_files_in_utf8_and_in_gbk_from_older_excel(api, make, app_context):
    _, manager, _, _ = _fleet(make)
    as_manager = api.as_user(manager)
    header = ",".join(heading for _, heading in COLUMNS[:4])
    for number, encoding in enumerate(("utf-8-sig", "gbk")):
        text = f"{header}\r\nCSV-{number},气相色谱仪{number},GC,analytical-chromatography\r\n"
        answer = _upload(as_manager, text.encode(encoding), name="instruments.csv")
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["created"] == 1
    names = db.session.scalars(sa.select(Instrument.name).where(Instrument.asset_no.like("CSV-%"))).all()
    assert sorted(names) == ["气相色谱仪0", "气相色谱仪1"]


def test_one_bad_row_refuses_the_whole_file_and_names_every_problem(api, make, app_context):
    _, manager, sem, _ = _fleet(make)
    as_manager = api.as_user(manager)
    before = (_count(Instrument), db.session.get(Instrument, sem.id).hourly_rate)
    headings = [heading for _, heading in COLUMNS]
    good = ["NEW-1", "新仪器", "", "analytical-electron-optics"] + [None] * (len(FIELDS) - 4)
    bad_rate = ["ZJU-2019-0042"] + [None] * (len(FIELDS) - 1)
    bad_rate[FIELDS.index("hourly_rate")] = "很贵"
    bad_category = ["NEW-2", "另一台", "", "no-such-class"] + [None] * (len(FIELDS) - 4)
    twice = ["NEW-1", "重复", "", "analytical-electron-optics"] + [None] * (len(FIELDS) - 4)
    answer = _upload(as_manager, _xlsx([headings, good, bad_rate, bad_category, twice]))
    assert answer.status_code == 422
    fields = answer.get_json()["fields"]
    assert set(fields) == {"row 3", "row 4", "row 5"}
    assert "hourly_rate" in fields["row 3"] and "category" in fields["row 4"] and "asset_no" in fields["row 5"]
    db.session.expire_all()
    assert (_count(Instrument), db.session.get(Instrument, sem.id).hourly_rate) == before
    assert _count(InstrumentEvent) == 0
    assert _upload(as_manager, b"not a workbook at all").status_code == 422


def test_who_may_import_and_export(api, make, app_context):
    institution, manager, _, _ = _fleet(make)
    other = make.user(role="manager")
    admin = make.user(role="admin")
    firm_user = make.user()
    data = api.as_user(manager).get("/api/v1/instruments/export.xlsx").data
    assert api.as_user(firm_user).get("/api/v1/instruments/export.xlsx").status_code == 403
    assert _upload(api.as_user(firm_user), data).status_code == 403
    assert _upload(api.as_user(other), data, query=f"?institution_id={institution.id}").status_code == 403
    assert api.as_user(other).get(f"/api/v1/instruments/export.xlsx?institution={institution.id}").status_code == 403
    assert _upload(api.as_user(admin), data).status_code == 422  # which institution?
    answer = _upload(api.as_user(admin), data, query=f"?institution_id={institution.id}&dry_run=1")
    assert answer.get_json()["unchanged"] == 2
    assert _upload(api.as_user(other), data).get_json()["created"] == 2  # into the other's own institution


def test_the_import_page_checks_then_imports_and_lists_problems_by_row(app, browser, client, make, app_context):
    _, manager, _, _ = _fleet(make)
    browser.login("mgr@transfer.example")
    page = client.get("/manage/instruments/import").get_data(as_text=True)
    token = csrf_token_from(page)
    headings = [heading for _, heading in COLUMNS]
    rows = [headings, ["PAGE-1", "热重分析仪", "", "analytical-thermal"] + [None] * (len(FIELDS) - 4)]
    checked = client.post("/manage/instruments/import", data={
        "csrf_token": token, "check": "1", "file": (io.BytesIO(_xlsx(rows)), "a.xlsx")},
        content_type="multipart/form-data")
    assert checked.status_code == 200 and 'id="import-result"' in checked.get_data(as_text=True)
    assert db.session.scalar(sa.select(Instrument.id).where(Instrument.asset_no == "PAGE-1")) is None
    imported = client.post("/manage/instruments/import", data={
        "csrf_token": token, "apply": "1", "file": (io.BytesIO(_xlsx(rows)), "a.xlsx")},
        content_type="multipart/form-data")
    assert imported.status_code == 200
    assert db.session.scalar(sa.select(Instrument.id).where(Instrument.asset_no == "PAGE-1")) is not None
    rows[1][FIELDS.index("hourly_rate")] = "-5"
    refused = client.post("/manage/instruments/import", data={
        "csrf_token": token, "apply": "1", "file": (io.BytesIO(_xlsx(rows)), "a.xlsx")},
        content_type="multipart/form-data")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="import-problems"' in text and "每小时收费（元）" in text
    assert "<td>2</td>" in text  # the spreadsheet's row number
    outsider = app.test_client()
    make.user(email="firm@transfer.example")
    Browser(outsider).login("firm@transfer.example")
    assert outsider.get("/manage/instruments/import").status_code == 403


def test_hostile_files_are_refused_quickly_and_cleanly(api, make, app_context):
    """Found by review: a number with a huge exponent took a minute to
    read, a damaged workbook gave a 500, and a small workbook that unpacks
    to many megabytes was read whole."""
    import time
    import zipfile

    _, manager, _, _ = _fleet(make)
    as_manager = api.as_user(manager)
    header = ",".join(heading for _, heading in COLUMNS[:4]) + ",最短预约（分钟）"
    started = time.monotonic()
    huge_number = _upload(as_manager, f"{header}\nX-1,仪器,,analytical-thermal,1e999999\n".encode(), "i.csv")
    assert huge_number.status_code == 422 and "min_booking_minutes" in huge_number.get_json()["fields"]["row 2"]
    assert time.monotonic() - started < 5

    good = as_manager.get("/api/v1/instruments/export.xlsx").data
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(damaged, "w") as target:
        for part in source.infolist():
            content = source.read(part)
            target.writestr(part, content[: len(content) // 2] if part.filename.endswith("sheet1.xml") else content)
    answer = _upload(as_manager, damaged.getvalue())
    assert answer.status_code == 422 and "file" in answer.get_json()["fields"]

    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            target.writestr(part.filename, source.read(part))
        target.writestr("xl/padding.xml", b"<a/>" * 5_000_000)  # 20 MB that packs into a few kilobytes
    refused = _upload(as_manager, bomb.getvalue())
    assert refused.status_code == 422 and "file" in refused.get_json()["fields"]
    assert _count(InstrumentEvent) == 0
