"""CSV and XLSX files of tables (statistics, booking history, reports), and
the one place where a spreadsheet cell is written: every export and every
report attachment goes through `csv_cell` or `xlsx_cell`.

Exports write values, never formulas. Names and other text come from users
(an instrument called `=HYPERLINK(...)`), so text that a spreadsheet would
take for a formula is made inert (OWASP, "CSV injection"): in CSV it gets a
leading `'`; in XLSX it is a string cell (never a formula or an error
code) marked with Excel's quote prefix, so that editing the cell keeps it
text. Numbers stay numbers, negative ones included.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from flask import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

# The OpenAPI answer of an endpoint that takes `format=csv` and
# `format=xlsx`: the same rows as a table, beside the JSON.
TABLES = {"content": {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}},
}}

# A cell whose text starts with one of these is a formula (or starts one) in
# Excel, LibreOffice or Google Sheets; tab, CR and LF can hide a following
# formula from the eye, and the full-width forms are taken as the ASCII ones
# when a Chinese input method is on.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _number(value):
    return float(value) if isinstance(value, Decimal) else value


def is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_cell(value):
    """A value for a CSV cell: text that could run as a formula gets a leading `'`."""
    return "'" + value if is_formula_like(value) else value


def xlsx_cell(sheet: Worksheet, value):
    """A value for `sheet.append`: numbers as numbers, text as a string cell
    that is never a formula (openpyxl takes any text starting with `=` for
    one, and `#N/A` for an error), without the control characters XLSX
    cannot hold."""
    if not isinstance(value, str):
        return _number(value)
    cell = Cell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"
    if is_formula_like(value):
        cell.quotePrefix = True
    return cell


def table_bytes(columns: list[str], rows: list[dict]) -> bytes:
    """CSV with a BOM, so that Excel opens the Chinese labels as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(c, "")) for c in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def workbook_bytes(name: str, columns: list[str], rows: list[dict]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = name[:31]
    sheet.append([xlsx_cell(sheet, c) for c in columns])
    for row in rows:
        sheet.append([xlsx_cell(sheet, row.get(c, "")) for c in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_response(name: str, columns: list[str], rows: list[dict], fmt: str) -> Response:
    if fmt == "csv":
        return Response(table_bytes(columns, rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(workbook_bytes(name, columns, rows),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
