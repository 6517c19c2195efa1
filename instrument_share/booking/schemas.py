"""API shapes of bookings, availability and schedules."""
from __future__ import annotations

from marshmallow import Schema, fields, missing, validate

from ..api.errors import ObstacleRangeSchema, TimeRangeSchema
from ..api.fields import ClientTime, Line, Text
from ..api.schemas import Id, Money, PageArgs
from ..catalogue.schemas import InstrumentRefSchema
from ..web import absolute_url
from .models import BOOKING_STATUSES, SERVICE_MODES, Booking


class BookingCreateSchema(Schema):
    instrument_id = Id(required=True, strict=True)
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    purpose = Text(required=True, validate=validate.Length(max=2000))
    recurrence = Line(load_default=None, allow_none=True,
                      metadata={"example": "FREQ=WEEKLY;COUNT=6"},
                      validate=validate.Length(max=500))
    voucher_id = Id(load_default=None, allow_none=True, strict=True)


class RescheduleSchema(Schema):
    start = ClientTime(required=True)
    end = ClientTime(required=True)


class ReasonSchema(Schema):
    reason = Text(load_default="", validate=validate.Length(max=2000))


class UsageSchema(Schema):
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    service_mode = Line(required=True, validate=validate.OneOf(SERVICE_MODES))


class RatingSchema(Schema):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = Text(load_default="", validate=validate.Length(max=2000))


class BookingQueryArgs(PageArgs):
    status = Line(validate=validate.OneOf(BOOKING_STATUSES))
    instrument = Id()
    from_ = ClientTime(data_key="from")
    to = ClientTime()
    format = Line(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")), metadata={
        "description": "csv or xlsx: every booking the filters select as one file (no paging; at most 20,000)"})
    headers = Line(load_default="labels", validate=validate.OneOf(("labels", "codes")), metadata={
        "description": "a file's headings: in the reader's language (labels) or machine names (codes)"})


class BookingSchema(Schema):
    id = fields.Integer(required=True)
    instrument_id = fields.Integer(required=True)
    instrument = fields.Nested(InstrumentRefSchema, required=True)
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    status = fields.String(required=True, validate=validate.OneOf(BOOKING_STATUSES))
    purpose = fields.String(required=True)
    cost = Money(required=True)
    voucher_amount = Money(required=True)
    firm_pays = Money(required=True)
    ics_url = fields.Function(lambda booking: absolute_url("booking_api.booking_ics", booking_id=booking.id),
                              required=True, metadata={"type": "string"})
    series_id = fields.Integer(allow_none=True)
    decision_reason = fields.String()
    checked_in_at = ClientTime(allow_none=True)
    used_start = ClientTime(allow_none=True)
    used_end = ClientTime(allow_none=True)
    service_mode = fields.String(allow_none=True)
    rating = fields.Integer(allow_none=True)
    sequence = fields.Integer()


class BookingsMade:
    """What one booking request made, as its answer shows it: the first
    booking's fields and, for a series, every occurrence."""

    def __init__(self, bookings: list[Booking]):
        self.bookings = bookings

    def __getattr__(self, name: str):
        return getattr(self.bookings[0], name)

    @property
    def occurrences(self) -> list[Booking]:
        return self.bookings if len(self.bookings) > 1 else missing


class BookingCreatedSchema(BookingSchema):
    occurrences = fields.List(fields.Nested(BookingSchema), metadata={
        "description": "every booking of a recurring series, the first one included"
    })


class ObstacleSchema(Schema):
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("booking", "blackout", "closed")))


class FreeSchema(Schema):
    start = ClientTime(required=True)
    end = ClientTime(required=True)


class AvailabilitySchema(Schema):
    busy = fields.List(fields.Nested(ObstacleSchema), required=True)
    free = fields.List(fields.Nested(FreeSchema), required=True)


class AvailabilityArgs(Schema):
    from_ = ClientTime(data_key="from", required=True)
    to = ClientTime(required=True)


class OpeningHoursRowSchema(Schema):
    weekday = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=6))
    open = Line(required=True, validate=validate.Regexp(r"^\d\d:\d\d$"))
    close = Line(required=True, validate=validate.Regexp(r"^\d\d:\d\d$"))


class BlackoutCreateSchema(Schema):
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    reason = Line(load_default="", validate=validate.Length(max=500))
    cancel_bookings = fields.Boolean(load_default=False)


class BlackoutSchema(Schema):
    id = fields.Integer(required=True)
    instrument_id = fields.Integer(required=True)
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    reason = fields.String(required=True)


class QuoteOccurrenceSchema(Schema):
    start = ClientTime(required=True)
    end = ClientTime(required=True)
    cost = Money(required=True)
    voucher_amount = Money(required=True)
    firm_pays = Money(required=True)
    conflicts = fields.List(fields.Nested(ObstacleRangeSchema), required=True)


class QuoteSchema(Schema):
    """What `POST /bookings` would do with the same body (API.md)."""

    bookable = fields.Boolean(required=True, metadata={"description": "the booking would be made now"})
    cost = Money(required=True)
    voucher_amount = Money(required=True)
    firm_pays = Money(required=True)
    status = fields.String(allow_none=True, required=True, metadata={
        "description": "confirmed, or pending (waiting for the managers' approval); null when the time is not valid"})
    occurrences = fields.List(fields.Nested(QuoteOccurrenceSchema), required=True)
    conflicts = fields.List(fields.Nested(ObstacleRangeSchema), required=True)
    suggestions = fields.List(fields.Nested(TimeRangeSchema), required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": "what the booking would be refused for, by field (as a 422's fields)"})
