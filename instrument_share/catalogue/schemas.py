"""API shapes of the catalogue: instruments and their institutions dump
through these schemas, as they are."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..api.fields import ClientTime, Line, Text
from ..api.schemas import Id, Money, PageArgs
from .models import INSTRUMENT_STATUSES
from .services import MAX_QUERY_LENGTH, SORTS


class CitySchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    province = fields.String(required=True)
    instrument_count = fields.Integer(required=True)


class InstitutionSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    city = fields.String(required=True)
    instrument_count = fields.Integer(required=True)


class InstitutionRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CategorySchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    parent = fields.String(allow_none=True)


class InstrumentSummarySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    model = fields.String(required=True)
    manufacturer = fields.String(required=True)
    category = fields.String(required=True, attribute="category_code")
    institution = fields.Nested(InstitutionRefSchema, required=True)
    city = fields.String(required=True, attribute="institution.city_code")
    hourly_rate = Money(required=True)
    requires_approval = fields.Boolean(required=True)
    accepts_vouchers = fields.Boolean(required=True)
    status = fields.String(required=True, validate=validate.OneOf(INSTRUMENT_STATUSES))


class ContactSchema(Schema):
    name = fields.String(required=True)
    phone = fields.String(required=True)
    email = fields.String(required=True)


class OpeningHoursSchema(Schema):
    weekday = fields.Integer(required=True, validate=validate.Range(min=0, max=6))
    open = Line(required=True, metadata={"example": "09:00"})
    close = Line(required=True, metadata={"example": "17:00"})


class InstrumentDetailSchema(InstrumentSummarySchema):
    description = fields.String(required=True)
    specifications = fields.String(required=True)
    functions = fields.String(required=True)
    services = fields.String(required=True)
    reference_fees = fields.String(required=True)
    sharing_rules = fields.String(required=True)
    country_of_origin = fields.String(required=True)
    original_value = Money(allow_none=True, metadata={"description": "万元"})
    commissioned_on = fields.Date(allow_none=True)
    location = fields.String(required=True)
    contact = fields.Nested(ContactSchema, required=True)
    min_booking_minutes = fields.Integer(required=True)
    max_booking_minutes = fields.Integer(required=True)
    buffer_minutes = fields.Integer(required=True)
    advance_notice_hours = fields.Integer(required=True)
    open_on_holidays = fields.Boolean(required=True)
    quota_class = fields.String(required=True)
    opening_hours = fields.List(fields.Nested(OpeningHoursSchema), required=True)


class InstitutionQueryArgs(PageArgs):
    city = Line()


class InstrumentQueryArgs(PageArgs):
    # What a person types: not stored, so not refused; control characters count as spaces.
    q = fields.String(load_default="", metadata={"description": f"text; only the first {MAX_QUERY_LENGTH} characters count"})
    city = Line()
    institution = Id()
    category = Line()
    accepts_vouchers = fields.Boolean()
    max_rate = fields.Decimal(validate=validate.Range(min=0), allow_nan=False)
    free_from = ClientTime(metadata={"description": "with free_to: only instruments free for the whole interval"})
    free_to = ClientTime()
    sort = Line(load_default="relevance", validate=validate.OneOf(SORTS))


class ContactWriteSchema(Schema):
    name = Line(validate=validate.Length(max=60))
    phone = Line(validate=validate.Length(max=40))
    email = Line(validate=validate.Length(max=120))


class InstrumentWriteSchema(Schema):
    """The full record's fields by the same names; all optional on PATCH."""

    institution_id = Id(strict=True)
    category = Line()
    name = Line(allow_blank=False)
    name_en = Line()
    model = Line()
    manufacturer = Line()
    country_of_origin = Line()
    original_value = fields.Raw(allow_none=True, metadata={"type": "string", "description": "万元"})
    commissioned_on = fields.Date(allow_none=True)
    description = Text()
    specifications = Text()
    functions = Text()
    services = Text()
    reference_fees = Text()
    sharing_rules = Text()
    status = Line(validate=validate.OneOf(INSTRUMENT_STATUSES))
    location = Line()
    contact = fields.Nested(ContactWriteSchema)
    hourly_rate = fields.Raw(metadata={"type": "string", "example": "350.00"})
    min_booking_minutes = fields.Integer(strict=True)
    max_booking_minutes = fields.Integer(strict=True)
    buffer_minutes = fields.Integer(strict=True)
    advance_notice_hours = fields.Integer(strict=True)
    requires_approval = fields.Boolean()
    accepts_vouchers = fields.Boolean()
    open_on_holidays = fields.Boolean()
    quota_class = Line()
    opening_hours = fields.List(fields.Nested(OpeningHoursSchema))
