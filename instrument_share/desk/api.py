"""The institution's workspace on /api/v1 (API.md, "Catalogue"): the
resource timeline's data, and the instruments' bulk import and export."""
from __future__ import annotations

from flask import Response
from marshmallow import Schema, fields, pre_dump, validate

from ..accounts.bearer import authenticated, require_user
from ..api.fields import ClientTime
from ..api.parsing import Blueprint
from ..api.schemas import Id
from ..booking.models import BOOKING_STATUSES
from ..booking.schemas import BlackoutSchema
from ..catalogue.schemas import InstrumentRefSchema, UserRefSchema
from ..web import upload_limit, uploaded_bytes
from . import timeline, transfer

blp = Blueprint("desk_api", __name__, description="An institution's schedule, for its managers")


class ScheduleArgs(Schema):
    from_ = ClientTime(data_key="from", required=True)
    to = ClientTime(required=True)


class FirmNameSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ScheduledBookingSchema(Schema):
    @pre_dump
    def _people(self, row, **_kwargs) -> dict:
        """A timeline row (timeline.BOOKING_COLUMNS) with its booker and firm as objects."""
        return {**row._mapping, "booker": {"id": row.user_id, "name": row.user_name, "email": row.user_email},
                "firm": {"id": row.firm_id, "name": row.firm_name} if row.firm_id is not None else None}

    id = fields.Integer(required=True)
    instrument_id = fields.Integer(required=True)
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(BOOKING_STATUSES))
    purpose = fields.String(required=True)
    booker = fields.Nested(UserRefSchema, required=True)
    firm = fields.Nested(FirmNameSchema, allow_none=True, required=True)


class ScheduleSchema(Schema):
    instruments = fields.List(fields.Nested(InstrumentRefSchema), required=True)
    bookings = fields.List(fields.Nested(ScheduledBookingSchema), required=True, metadata={
        "description": f"bookings that are {', '.join(timeline.SHOWN_STATUSES)}, by start"})
    blackouts = fields.List(fields.Nested(BlackoutSchema), required=True)


@blp.get("/institutions/<int:institution_id>/schedule")
@authenticated
@blp.arguments(ScheduleArgs, location="query", as_kwargs=True)
@blp.response(200, ScheduleSchema)
def institution_schedule(institution_id, from_, to):
    """The institution's instruments with their bookings (who booked, for
    which firm) and blackouts over at most 31 days: its managers and admins."""
    schedule = timeline.institution_schedule(require_user(), institution_id, from_, to)
    return {"instruments": schedule.instruments, "bookings": schedule.all_bookings,
            "blackouts": schedule.all_blackouts}


XLSX_ANSWER = {"content": {transfer.XLSX: {"schema": {"type": "string", "format": "binary"}}}}


class ExportArgs(Schema):
    institution = Id(metadata={"description": "admins: the institution (managers: their own)"})


class ImportArgs(Schema):
    institution_id = Id(metadata={"description": "admins: the institution (managers: their own)"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "check only, write nothing"})


class ImportFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": ".xlsx, or CSV (UTF-8 or GBK) in its columns"})


class ImportResultSchema(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    rows = fields.Integer(required=True)


def _workbook_response(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype=transfer.XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response


@blp.get("/instruments/template.xlsx")
@authenticated
@blp.response(200, description="The workbook")
@blp.doc(responses={200: XLSX_ANSWER})
def instrument_template():
    """The import workbook: NRII headings with the field names beneath, and the category codes."""
    require_user()
    return _workbook_response(transfer.workbook([]), "instruments-template.xlsx")


@blp.get("/instruments/export.xlsx")
@authenticated
@blp.arguments(ExportArgs, location="query", as_kwargs=True)
@blp.response(200, description="The workbook")
@blp.doc(responses={200: XLSX_ANSWER})
def export_instruments(institution=None):
    """The institution's instruments in the import workbook (export, edit, import round-trips)."""
    found, data = transfer.export_institution(require_user(), institution)
    return _workbook_response(data, f"instruments-{found.id}.xlsx")


@blp.post("/instruments/import")
@upload_limit(transfer.MAX_FILE_BYTES)
@authenticated
@blp.arguments(ImportArgs, location="query", as_kwargs=True)
@blp.arguments(ImportFile, location="files")
@blp.response(200, ImportResultSchema)
def import_instruments(files, institution_id=None, dry_run=False):
    """Create and update the institution's instruments from a workbook,
    matched on asset_no: every row or none (422 names each bad row)."""
    user = require_user()
    upload = files["file"]
    plan = transfer.plan_import(user, institution_id, uploaded_bytes(upload, transfer.MAX_FILE_BYTES),
                                upload.filename or "")
    return plan.summary() if dry_run else transfer.apply_import(user, plan)
