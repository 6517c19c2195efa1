"""Bulk import and export of an institution's instruments in the NRII
layout (API.md: template.xlsx, import, export.xlsx; the import page).

One workbook shape for all three: a sheet of instruments whose first row
holds the Chinese headings in the NRII order and whose second row the field
names, and a sheet of the category codes. Rows are matched on `asset_no`
(资产编号). A file is read and checked whole before anything is written, so
no write lock is held while it is parsed; then every row is applied through
the same services as the API (audit trail and search index included), all
or none. Export → edit → import is an exact round trip: statuses and yes/no
as the Chinese words, money and numbers as numbers, dates as dates.
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from marshmallow import ValidationError
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from ..accounts.models import Institution, Role, User
from ..accounts.policy import can_manage_institution, is_joint_office
from ..catalogue import audit
from ..catalogue.manage import create_instruments, update_instrument
from ..catalogue.models import Category, Instrument, InstrumentStatus, QuotaClass
from ..catalogue.schemas import InstrumentWriteSchema
from ..errors import N_, PermissionDenied, ValidationFailed
from ..extensions import db
from ..search import index as search_index
from ..spreadsheets import FORMULA_TRIGGERS, xlsx_cell

# (field, heading) in the NRII record's order, then the booking settings.
COLUMNS = (
    ("asset_no", "资产编号"), ("name", "仪器名称"), ("name_en", "英文名称"), ("category", "所属分类代码"),
    ("model", "规格型号"), ("manufacturer", "生产制造商"), ("country_of_origin", "产地国别"),
    ("original_value", "原值（万元）"), ("commissioned_on", "启用日期"), ("location", "安放地址"),
    ("status", "运行状态"), ("quota_class", "机时定额类别"), ("description", "仪器简介"),
    ("specifications", "主要技术指标"), ("functions", "主要功能"), ("services", "服务内容"),
    ("hourly_rate", "每小时收费（元）"), ("reference_fees", "参考收费标准"), ("sharing_rules", "对外开放共享规定"),
    ("accepts_vouchers", "接受创新券"), ("accepts_orders", "接受委托测试"), ("contact_name", "联系人"),
    ("contact_phone", "联系电话"),
    ("contact_email", "电子邮箱"), ("min_booking_minutes", "最短预约（分钟）"),
    ("max_booking_minutes", "最长预约（分钟）"), ("buffer_minutes", "预约间隔（分钟）"),
    ("advance_notice_hours", "提前预约（小时）"), ("requires_approval", "需审核"),
    ("open_on_holidays", "节假日开放"), ("self_service", "需上机资格"), ("next_training_on", "下次培训日期"),
)
FIELDS = tuple(name for name, _ in COLUMNS)
STATUS_WORDS = {InstrumentStatus.NORMAL: "正常", InstrumentStatus.STANDBY: "待机",
                InstrumentStatus.OCCASIONAL_FAULT: "偶有故障", InstrumentStatus.FREQUENT_FAULT: "故障频繁",
                InstrumentStatus.AWAITING_REPAIR: "待修", InstrumentStatus.AWAITING_SCRAP: "待报废"}
QUOTA_WORDS = {QuotaClass.GENERAL: "通用", QuotaClass.SPECIAL: "专用"}
YES, NO = "是", "否"
FLAGS = ("accepts_vouchers", "accepts_orders", "requires_approval", "open_on_holidays", "self_service")
WHOLE_NUMBERS = ("min_booking_minutes", "max_booking_minutes", "buffer_minutes", "advance_notice_hours")
AMOUNTS = ("original_value", "hourly_rate")
DATES = ("commissioned_on", "next_training_on")
OPTIONAL = ("original_value", "commissioned_on", "next_training_on")  # blank clears them
MAX_ROWS = 5000
MAX_FILE_BYTES = 10 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- writing -----------------------------------------------------------------

def _cell_value(instrument: Instrument, name: str):
    if name == "category":
        return instrument.category_code
    value = getattr(instrument, name)
    if name == "status":
        return STATUS_WORDS.get(value, value)
    if name == "quota_class":
        return QUOTA_WORDS.get(value, value)
    if name in FLAGS:
        return YES if value else NO
    if value is None:
        return None
    return value


def workbook(instruments: list[Instrument]) -> bytes:
    """The import workbook, with these instruments (none: the template)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "仪器"
    sheet.append([heading for _, heading in COLUMNS])
    sheet.append(list(FIELDS))
    for instrument in instruments:
        sheet.append([xlsx_cell(sheet, _cell_value(instrument, name)) for name in FIELDS])
    for name in DATES:
        for cell in sheet[get_column_letter(FIELDS.index(name) + 1)][2:]:
            cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "B3"
    codes = book.create_sheet("分类代码")
    codes.append(["代码", "名称", "英文名称", "上级代码"])
    for category in db.session.scalars(sa.select(Category).order_by(Category.sort_order, Category.code)):
        codes.append([category.code, category.name, category.name_en, category.parent_code or ""])
    words = book.create_sheet("填写说明")
    words.append(["运行状态", "、".join(STATUS_WORDS.values())])
    words.append(["机时定额类别", "、".join(QUOTA_WORDS.values())])
    words.append(["是/否", f"{YES} 或 {NO}"])
    words.append(["资产编号", "每台仪器在本单位唯一；导入时按资产编号更新已有仪器，其余新建"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def workbook_of_rows(rows: list[list]) -> bytes:
    """A one-sheet workbook of these rows under the template's two header rows."""
    book = Workbook()
    sheet = book.active
    sheet.append([heading for _, heading in COLUMNS])
    sheet.append(list(FIELDS))
    for row in rows:
        sheet.append([xlsx_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_institution(user: User, institution_id: int | None) -> tuple[Institution, bytes]:
    institution = _institution(user, institution_id, "institution")
    instruments = db.session.scalars(sa.select(Instrument).where(Instrument.institution_id == institution.id)
                                     .order_by(Instrument.asset_no, Instrument.id)).all()
    return institution, workbook(list(instruments))


# -- reading -----------------------------------------------------------------

def _institution(user: User, institution_id: int | None, field: str) -> Institution:
    """A manager's own institution; the joint office names one (in `field`)."""
    if user.role == Role.MANAGER and institution_id is None:
        institution_id = user.institution_id
    if institution_id is None:
        if is_joint_office(user):
            raise ValidationFailed(N_("Say which institution."), {field: [N_("Required.")]})
        raise PermissionDenied(N_("Only the institution's managers may import or export its instruments."))
    institution = db.session.get(Institution, institution_id) if isinstance(institution_id, int) else None
    if institution is None:
        raise ValidationFailed(N_("Unknown institution."), {field: [N_("No such institution.")]})
    if not can_manage_institution(user, institution.id):
        raise PermissionDenied(N_("Only the institution's managers may import or export its instruments."))
    return institution


def _unreadable() -> ValidationFailed:
    return ValidationFailed(N_("Nothing was imported."), {"file": [
        N_("Not a workbook of the import template: use the .xlsx template or a CSV file in its columns.")]})


MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # a workbook's parts, unzipped
MAX_PACKING = 100  # how much smaller than its content a part may be packed
MAX_COLUMNS = len(COLUMNS) + 20  # read no further right, whatever the sheet declares


def _rows_of_xlsx(data: bytes) -> list[list]:
    """The first sheet's rows. The archive is measured before openpyxl reads
    it: a small file that unpacks to gigabytes (or declares a sheet
    16,384 columns wide) would take the worker's memory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
        if sum(part.file_size for part in parts) > MAX_UNPACKED_BYTES or any(
                part.file_size > MAX_PACKING * max(part.compress_size, 1024) for part in parts):
            raise ValidationFailed(N_("Nothing was imported."), {"file": [N_("The workbook unpacks too large.")]})
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        return _limited(list(row) for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS))
    except ValidationFailed:
        raise
    except Exception:  # noqa: BLE001 (openpyxl raises what its XML and zip readers raise, of many kinds)
        raise _unreadable() from None


def _limited(rows) -> list[list]:
    """The rows up to MAX_ROWS that are not blank (and the blank ones among
    them); refused past that, never cut short."""
    kept, filled = [], 0
    for row in rows:
        kept.append(row)
        filled += any(cell not in (None, "") and str(cell).strip() for cell in row)
        if filled > MAX_ROWS + 2:  # the two heading rows
            raise ValidationFailed(N_("Nothing was imported."), {"file": [N_("At most 5000 instruments at a time.")]})
    return kept


def _rows_of_csv(data: bytes) -> list[list]:
    """UTF-8 (with or without BOM), or GBK as older Excel writes it."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _unreadable()
    try:
        return _limited(row[:MAX_COLUMNS] for row in csv.reader(io.StringIO(text)))
    except csv.Error:
        raise _unreadable() from None


def read_rows(data: bytes, filename: str) -> list[tuple[int, dict]]:
    """(spreadsheet row number, {field: cell}) of each non-blank data row.
    Columns are found by their heading or their field name."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed(N_("Nothing was imported."), {"file": [N_("At most 10 MB.")]})
    rows = _rows_of_xlsx(data) if data[:2] == b"PK" else _rows_of_csv(data)
    if not rows:
        raise _unreadable()
    by_heading = {heading: name for name, heading in COLUMNS} | {name: name for name in FIELDS}
    header = [by_heading.get(str(cell).strip()) if cell is not None else None for cell in rows[0]]
    first = 1
    if len(rows) > 1 and any(str(c).strip() in FIELDS for c in rows[1] if c is not None):
        header = [by_heading.get(str(cell).strip()) if cell is not None else None for cell in rows[1]]
        first = 2
    if "asset_no" not in header:
        raise _unreadable()
    found = []
    for number, row in enumerate(rows[first:], start=first + 1):
        cells = {name: row[i] for i, name in enumerate(header) if name and i < len(row)}
        if any(v not in (None, "") and str(v).strip() for v in cells.values()):
            found.append((number, cells))
    if len(found) > MAX_ROWS:
        raise ValidationFailed(N_("Nothing was imported."), {"file": [N_("At most 5000 instruments at a time.")]})
    return found


def _text(value) -> str:
    text = "" if value is None else str(value).strip()
    # A CSV cell written as '=… by a spreadsheet's formula guard means the text =….
    if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS):
        text = text[1:]
    return text


def _record(cells: dict) -> tuple[dict, dict[str, list[str]]]:
    """A row's cells as the API's write schema takes them; cell problems by field."""
    record: dict = {}
    problems: dict[str, list[str]] = {}
    words = {"status": {v: k for k, v in STATUS_WORDS.items()}, "quota_class": {v: k for k, v in QUOTA_WORDS.items()}}
    for name, value in cells.items():
        text = _text(value)
        if name in FLAGS:
            flag = {YES: True, NO: False, "true": True, "false": False, "1": True, "0": False}.get(text.lower())
            if text and flag is None:
                problems[name] = [N_("是 or 否.")]
            elif text:
                record[name] = flag
        elif name in WHOLE_NUMBERS:
            if text:
                try:
                    number = Decimal(text)
                except ArithmeticError:
                    number = None
                # A whole number of sane size becomes an int; anything else
                # (1e999999 would take a minute to turn into one) goes on as
                # text for the schema to refuse.
                if number is not None and number.is_finite() and number.adjusted() < 9 and (
                        number == number.to_integral_value()):
                    record[name] = int(number)
                else:
                    record[name] = text
        elif name in DATES:
            if isinstance(value, datetime):
                record[name] = value.date().isoformat()
            elif isinstance(value, date):
                record[name] = value.isoformat()
            else:
                record[name] = text or None
        elif name in AMOUNTS:
            if isinstance(value, float):
                text = repr(value)  # the shortest form: 512.3, not 512.29999…
            record[name] = text or (None if name in OPTIONAL else "")
            if record[name] == "":
                del record[name]
        elif name in words:
            if text:
                record[name] = words[name].get(text, text)
        elif name.startswith("contact_"):
            record.setdefault("contact", {})[name.removeprefix("contact_")] = text
        else:
            record[name] = text
    return record, problems


def _flatten(messages: dict) -> dict[str, list[str]]:
    flat = {}
    for name, value in messages.items():
        if isinstance(value, dict):
            flat.update({f"contact_{key}": inner for key, inner in value.items()})
        else:
            flat[name] = value
    return flat


@dataclass
class Plan:
    """What an import would do: each row's record and the instrument it updates."""

    institution: Institution
    rows: list[tuple[int, dict, Instrument | None, bool]]  # row number, record, instrument it updates, changed
    created: int
    updated: int
    unchanged: int

    def summary(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rows": len(self.rows)}


def plan_import(user: User, institution_id: int | None, data: bytes, filename: str) -> Plan:
    """Read and check a whole file without writing: refused with every bad
    row's problems (`fields: {"row 7": {"hourly_rate": [...]}}`), else what
    it would create, update and leave unchanged."""
    institution = _institution(user, institution_id, "institution_id")
    found = read_rows(data, filename)
    existing = {i.asset_no: i for i in db.session.scalars(
        sa.select(Instrument).where(Instrument.institution_id == institution.id, Instrument.asset_no != ""))}
    categories = set(db.session.scalars(sa.select(Category.code)))
    schema = InstrumentWriteSchema()
    problems: dict[str, dict[str, list[str]]] = {}
    seen: dict[str, int] = {}
    rows, counts = [], {"created": 0, "updated": 0, "unchanged": 0}
    for number, cells in found:
        record, row_problems = _record(cells)
        try:
            record = schema.load(record)
        except ValidationError as error:
            row_problems.update(_flatten(error.messages))
        asset_no = record.get("asset_no", "")
        if not asset_no:
            row_problems.setdefault("asset_no", []).append(N_("Required: the key of the import."))
        elif asset_no in seen:
            row_problems.setdefault("asset_no", []).append(N_("This asset number is on an earlier row too."))
        seen.setdefault(asset_no, number)
        target = existing.get(asset_no)
        if "category" in record and record["category"] not in categories:
            row_problems.setdefault("category", []).append(N_("Unknown category code."))
        if target is None and not row_problems:
            missing = [name for name in ("name", "category") if not record.get(name)]
            for name in missing:
                row_problems[name] = [N_("Required for a new instrument.")]
        low = record.get("min_booking_minutes", target.min_booking_minutes if target else 30)
        high = record.get("max_booking_minutes", target.max_booking_minutes if target else 480)
        if isinstance(low, int) and isinstance(high, int) and low > high:
            row_problems.setdefault("max_booking_minutes", []).append(N_("At least the minimum booking length."))
        if row_problems:
            problems[f"row {number}"] = row_problems
            continue
        changed = target is not None and _changes(target, record)
        rows.append((number, record, target, changed))
        counts["created" if target is None else "updated" if changed else "unchanged"] += 1
    if problems:
        raise ValidationFailed(N_("Nothing was imported: correct the rows named and try again."), problems)
    if not rows:
        raise ValidationFailed(N_("Nothing was imported."), {"file": [N_("The file holds no instrument.")]})
    search_index.prepare(record.get(name) for _, record, _, _ in rows for name, _ in search_index.WEIGHTS)
    return Plan(institution, rows, **counts)


def _changes(instrument: Instrument, record: dict) -> bool:
    before = audit.snapshot(instrument)
    for name, value in record.items():
        if name == "contact":
            if any(before.get(f"contact_{k}") != v for k, v in value.items()):
                return True
        elif name == "category":
            if before["category_code"] != value:
                return True
        elif name in before and before[name] != audit.plain(value):
            return True
    return False


def apply_import(user: User, plan: Plan) -> dict:
    """Write a checked plan, every row or none (the request's transaction):
    new instruments are published, changed ones updated, each with its
    audit event and search terms."""
    new = {f"row {number}": record for number, record, target, _changed in plan.rows if target is None}
    if new:
        create_instruments(user, plan.institution.id, new)
    for number, record, target, changed in plan.rows:
        if changed:
            try:
                update_instrument(user, target.id, record)
            except ValidationFailed as refused:  # changed since it was checked
                raise ValidationFailed(refused.message, {f"row {number}": refused.fields}) from None
    return plan.summary()
