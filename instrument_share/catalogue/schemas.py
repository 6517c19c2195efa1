"""API shapes of the catalogue: instruments and their institutions dump
through these schemas, as they are."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import Schema, ValidationError, fields, validate

from ..accounts.schemas import InstitutionRefSchema
from ..api.fields import Line, Text
from ..api.schemas import Id, Money, PageArgs
from ..db_types import to_money
from ..web import absolute_url
from .models import INSTRUMENT_STATUSES, QUOTA_CLASSES, Instrument


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
    accepts_orders = fields.Boolean(required=True)
    status = fields.String(required=True, validate=validate.OneOf(INSTRUMENT_STATUSES))


class ContactSchema(Schema):
    name = fields.String(required=True)
    phone = fields.String(required=True)
    email = fields.String(required=True)


class OpeningHoursSchema(Schema):
    weekday = fields.Integer(required=True, validate=validate.Range(min=0, max=6))
    open = Line(required=True, metadata={"example": "09:00"})
    close = Line(required=True, metadata={"example": "17:00"})


class PhotoSchema(Schema):
    url = fields.Function(lambda photo: absolute_url("booking.photo", photo_id=photo.id), required=True)
    thumbnail_url = fields.Function(
        lambda photo: absolute_url("booking.photo", photo_id=photo.id, thumbnail=True), required=True)


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
    asset_no = fields.String(required=True, metadata={"description": "资产编号, unique within the institution"})
    self_service = fields.Boolean(required=True, metadata={
        "description": "firm users need a qualification to book it"})
    next_training_on = fields.Date(allow_none=True, required=True, metadata={
        "description": "the next training for a qualification, when the managers set one"})
    retired_on = fields.Date(allow_none=True, required=True, metadata={
        "description": "retired from sharing (已停用) on this day: no new booking"})
    photos = fields.List(fields.Nested(PhotoSchema), required=True, metadata={
        "description": "up to six, as WebP re-encoded by the platform"})


class UserRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)


class InstrumentRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class QualificationSchema(Schema):
    id = fields.Integer(required=True)
    user = fields.Nested(UserRefSchema, required=True)
    instrument = fields.Nested(InstrumentRefSchema, required=True)
    granted_on = fields.Date(required=True)
    expires_on = fields.Date(allow_none=True, required=True, metadata={"description": "valid through this day"})


class QualificationGrantSchema(Schema):
    email = Line(required=True, validate=validate.Length(min=1, max=254))
    expires_on = fields.Date(allow_none=True, load_default=None)


class InstitutionQueryArgs(PageArgs):
    city = Line()


def _line(column: str, **kwargs) -> Line:
    """A one-line field no longer than its column."""
    return Line(validate=validate.Length(max=Instrument.__table__.c[column].type.length), **kwargs)


# Text columns have no length in the database; these are the record's limits.
TEXT_LIMIT = 20000
FEES_LIMIT = 5000
MAX_AMOUNT = Decimal("100000000")


class Amount(fields.Field):
    """Money as a string or a number ("350.00", 350): finite, from 0 to
    100,000,000, rounded half-up to the fen (db_types.to_money)."""

    def __init__(self, **kwargs):
        metadata = {"type": "string", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        try:
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise InvalidOperation
            amount = Decimal(str(value).strip())
            if not amount.is_finite() or not Decimal(0) <= amount <= MAX_AMOUNT:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            raise ValidationError("A non-negative amount.") from None
        return to_money(amount)


class Flag(fields.Boolean):
    """true or false, nothing that merely looks like them."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("true or false.")
        return value


def _minutes(low: int, high: int) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(
        min=low, max=high, error="A whole number in the allowed range."))


class ContactWriteSchema(Schema):
    name = _line("contact_name")
    phone = _line("contact_phone")
    email = _line("contact_email")


class InstrumentWriteSchema(Schema):
    """The full record's fields by the same names; all optional on PATCH.
    Lengths come from the columns; the booking settings' ranges are the
    CHECK constraints' (catalogue/models.py). What needs the database (the
    category exists) or several fields (minimum at most maximum) the service
    checks (catalogue/manage.py)."""

    institution_id = Id(strict=True)
    category = Line()
    name = _line("name", allow_blank=False)
    name_en = _line("name_en")
    model = _line("model")
    manufacturer = _line("manufacturer")
    country_of_origin = _line("country_of_origin")
    original_value = Amount(allow_none=True, metadata={"description": "万元"})
    commissioned_on = fields.Date(allow_none=True)
    description = Text(validate=validate.Length(max=TEXT_LIMIT))
    specifications = Text(validate=validate.Length(max=TEXT_LIMIT))
    functions = Text(validate=validate.Length(max=TEXT_LIMIT))
    services = Text(validate=validate.Length(max=TEXT_LIMIT))
    reference_fees = Text(validate=validate.Length(max=FEES_LIMIT))
    sharing_rules = Text(validate=validate.Length(max=TEXT_LIMIT))
    status = Line(validate=validate.OneOf(INSTRUMENT_STATUSES, error="One of the operating statuses."))
    location = _line("location")
    contact = fields.Nested(ContactWriteSchema)
    hourly_rate = Amount(metadata={"example": "350.00"})
    min_booking_minutes = _minutes(1, 10080)
    max_booking_minutes = _minutes(1, 10080)
    buffer_minutes = _minutes(0, 1440)
    advance_notice_hours = _minutes(0, 24 * 90)
    requires_approval = Flag()
    accepts_vouchers = Flag()
    accepts_orders = Flag(metadata={"description": "takes orders for entrusted testing (委托测试)"})
    open_on_holidays = Flag()
    quota_class = Line(validate=validate.OneOf(QUOTA_CLASSES, error="general or special."))
    opening_hours = fields.List(fields.Nested(OpeningHoursSchema))
    asset_no = _line("asset_no")
    self_service = Flag()
    next_training_on = fields.Date(allow_none=True)
