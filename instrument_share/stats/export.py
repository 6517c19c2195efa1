"""CSV and XLSX versions of the statistics tables (same numbers as the JSON)."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from flask import Response
from openpyxl import Workbook


def _value(value):
    return float(value) if isinstance(value, Decimal) else value


def table_bytes(columns: list[str], rows: list[dict]) -> bytes:
    """CSV with a BOM, so that Excel opens the Chinese labels as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def table_response(name: str, columns: list[str], rows: list[dict], fmt: str) -> Response:
    if fmt == "csv":
        return Response(table_bytes(columns, rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = name[:31]
    sheet.append(columns)
    for row in rows:
        sheet.append([_value(row.get(c, "")) for c in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Response(buffer.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
