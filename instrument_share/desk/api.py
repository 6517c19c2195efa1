"""The institution's schedule on /api/v1 (API.md, "Catalogue": the
resource timeline's data)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..accounts.bearer import authenticated, require_user
from ..api.fields import ClientTime
from ..api.parsing import Blueprint
from ..booking.models import BOOKING_STATUSES
from ..catalogue.schemas import InstrumentRefSchema, UserRefSchema
from . import timeline

blp = Blueprint("desk_api", __name__, description="An institution's schedule, for its managers")


class ScheduleArgs(Schema):
    from_ = ClientTime(data_key="from", required=True)
    to = ClientTime(required=True)


class FirmNameSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ScheduledBookingSchema(Schema):
    id = fields.Integer(required=True)
    instrument_id = fields.Integer(required=True)
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(BOOKING_STATUSES))
    purpose = fields.String(required=True)
    booker = fields.Nested(UserRefSchema, required=True)
    firm = fields.Nested(FirmNameSchema, allow_none=True, required=True)


class ScheduledBlackoutSchema(Schema):
    id = fields.Integer(required=True)
    instrument_id = fields.Integer(required=True)
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    reason = fields.String(required=True)


class ScheduleSchema(Schema):
    instruments = fields.List(fields.Nested(InstrumentRefSchema), required=True)
    bookings = fields.List(fields.Nested(ScheduledBookingSchema), required=True, metadata={
        "description": f"bookings that are {', '.join(timeline.SHOWN_STATUSES)}, by start"})
    blackouts = fields.List(fields.Nested(ScheduledBlackoutSchema), required=True)


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
