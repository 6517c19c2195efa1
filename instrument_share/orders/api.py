"""Entrusted testing endpoints of /api/v1 (API.md, "Entrusted testing")."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..accounts.bearer import authenticated, require_user
from ..accounts.schemas import FirmRefSchema, InstitutionRefSchema
from ..api.fields import ClientTime, Line, Text
from ..api.parsing import Blueprint
from ..api.schemas import Day, Id, Money, PageArgs, list_envelope
from ..booking.services import count_of
from ..catalogue.schemas import InstrumentRefSchema
from ..extensions import db
from ..web import upload_limit, uploaded_bytes
from . import services
from .downloads import report_response
from .models import OrderStatus

blp = Blueprint("orders_api", __name__, description="Entrusted testing (委托测试): samples in, a report out")

STATUSES = tuple(OrderStatus)


class OrderSampleSchema(Schema):
    name = Line(required=True, validate=validate.Length(max=200))
    quantity = fields.Raw(required=True, metadata={"type": "string", "example": "3",
                                                   "description": "above zero, a number or a decimal string"})
    unit = Line(required=True, validate=validate.Length(max=20), metadata={"example": "片"})
    description = Text(load_default="", validate=validate.Length(max=2000))
    hazards = Text(load_default="", validate=validate.Length(max=2000),
                   metadata={"description": "what the lab must know: toxic, flammable, radioactive …"})


class OrderCreateSchema(Schema):
    instrument_id = Id(required=True, strict=True)
    title = Line(required=True, validate=validate.Length(max=200))
    requirements = Text(load_default="", validate=validate.Length(max=4000))
    samples = fields.List(fields.Nested(OrderSampleSchema), required=True, validate=validate.Length(min=1, max=50))
    desired_by = Day(load_default=None, allow_none=True)
    voucher_id = Id(load_default=None, allow_none=True, strict=True)


class OrderQuoteSchema(Schema):
    amount = fields.Raw(required=True, metadata={"type": "string", "example": "1200.00"})
    turnaround_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=365),
                                     metadata={"description": "working days from the samples' arrival"})
    note = Text(load_default="", validate=validate.Length(max=2000))
    valid_until = Day(load_default=None, allow_none=True, metadata={"description": "default: in 14 days"})


class DeclineSchema(Schema):
    reason = Text(required=True, validate=validate.Length(max=2000))


class OrderRatingSchema(Schema):
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = Text(load_default="", validate=validate.Length(max=2000))


class ReportFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "the report, a PDF of at most 20 MB"})


class ReportArgs(Schema):
    machine_minutes = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100_000),
                                     metadata={"description": "the machine time the tests took"})


class OrderQueryArgs(PageArgs):
    status = Line(validate=validate.OneOf(STATUSES))


class OrderQuoteOutSchema(Schema):
    amount = Money(required=True, attribute="quote_amount")
    turnaround_days = fields.Integer(required=True)
    note = fields.String(required=True, attribute="quote_note")
    valid_until = fields.Date(required=True, attribute="quote_valid_until")
    version = fields.Method("_version", required=True, metadata={
        "type": "integer", "description": "1 for the first quote, one more for each new one: send it with accept"})

    def _version(self, order) -> int:
        return services.quote_version(order)


class OrderReportSchema(Schema):
    filename = fields.String(required=True)
    size = fields.Integer(required=True)
    uploaded_at = ClientTime(required=True, attribute="created_at")


class OrderSampleOutSchema(Schema):
    name = fields.String(required=True)
    quantity = fields.Decimal(as_string=True, required=True)
    unit = fields.String(required=True)
    description = fields.String(required=True)
    hazards = fields.String(required=True)


class OrderEventSchema(Schema):
    action = fields.String(required=True)
    at = ClientTime(required=True)
    # A job's step (a lapse) has no actor: null, never a missing key (found by review).
    actor = fields.Function(lambda event: event.actor.name if event.actor else None, allow_none=True,
                            required=True, metadata={"type": "string"})
    details = fields.Dict(required=True)


class OrderSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"example": "WT-2026-483920"})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    instrument = fields.Nested(InstrumentRefSchema, required=True)
    institution = fields.Nested(InstitutionRefSchema, required=True)
    firm = fields.Nested(FirmRefSchema, required=True)
    title = fields.String(required=True)
    requirements = fields.String(required=True)
    samples = fields.List(fields.Nested(OrderSampleOutSchema), required=True)
    desired_by = fields.Date(allow_none=True, required=True)
    quote = fields.Method("_quote", allow_none=True, required=True, metadata={"type": "object"})
    voucher_id = fields.Integer(allow_none=True, required=True)
    voucher_amount = Money(required=True)
    firm_pays = Money(required=True)
    received_on = fields.Date(allow_none=True, required=True)
    due_on = fields.Date(allow_none=True, required=True)
    decline_reason = fields.String(required=True)
    report = fields.Nested(OrderReportSchema, allow_none=True, required=True, attribute="report_file")
    rating = fields.Integer(allow_none=True, required=True)
    machine_minutes = fields.Integer(allow_none=True, required=True, metadata={
        "description": "the machine time the institution recorded with the report"})
    events = fields.List(fields.Nested(OrderEventSchema), required=True)

    def _quote(self, order):
        return OrderQuoteOutSchema().dump(order) if order.quote_amount is not None else None


@blp.post("/orders")
@authenticated
@blp.arguments(OrderCreateSchema)
@blp.response(201, OrderSchema)
def submit_order(body):
    """A firm sends samples for testing on an instrument that takes orders."""
    return services.submit_order(require_user(), **body)


@blp.get("/orders")
@authenticated
@blp.arguments(OrderQueryArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(OrderSchema, "OrderList"))
def list_orders(page, per_page, status=None):
    """The firm's orders (firm), the institution's (manager), the city's firms' (city bureau), all (admin)."""
    query = services.list_orders(require_user(), status)
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return {"items": items, "total": count_of(query), "page": page, "per_page": per_page}


@blp.get("/orders/<int:order_id>")
@authenticated
@blp.response(200, OrderSchema)
def get_order(order_id):
    """One order the caller may see, with its samples and history."""
    return services.get_order(order_id, require_user())


@blp.post("/orders/<int:order_id>/quote")
@authenticated
@blp.arguments(OrderQuoteSchema)
@blp.response(200, OrderSchema)
def quote_order(body, order_id):
    """The institution's managers: price and turnaround (replaces an earlier quote until accepted)."""
    return services.quote_order(require_user(), order_id, **body)


@blp.post("/orders/<int:order_id>/decline")
@authenticated
@blp.arguments(DeclineSchema)
@blp.response(200, OrderSchema)
def decline_order(body, order_id):
    """The institution's managers: decline the order, saying why."""
    return services.decline_order(require_user(), order_id, body["reason"])


class AcceptSchema(Schema):
    amount = fields.Raw(load_default=None, metadata={"type": "string", "example": "1200.00",
                                                     "description": "the quoted amount the firm saw"})
    turnaround_days = fields.Integer(load_default=None, strict=True, allow_none=True)
    voucher_id = Id(allow_none=True, strict=True, metadata={
        "description": "the voucher that pays its share of the quote; absent: the one chosen with the order, "
                       "null: none"})
    voucher_amount = fields.Raw(load_default=None, metadata={
        "type": "string", "example": "600.00", "description": "the voucher's part the firm saw; 409 if it changed"})
    version = fields.Integer(load_default=None, strict=True, allow_none=True, metadata={
        "description": "the quote's version the firm saw; 409 if the institution quoted anew"})


@blp.post("/orders/<int:order_id>/accept")
@authenticated
@blp.arguments(AcceptSchema)
@blp.response(200, OrderSchema)
def accept_order(body, order_id):
    """The firm accepts the quote (before it lapses). Send the quote's
    `version` (or its `amount` and `turnaround_days`) and the
    `voucher_amount` you saw: if the institution quoted anew, or another
    payment changed what the voucher pays, the answer is 409 and nothing is
    accepted."""
    return services.accept_quote(require_user(), order_id, body["amount"], body["turnaround_days"],
                                 body.get("voucher_id", services.KEEP), body["voucher_amount"], body["version"])


@blp.post("/orders/<int:order_id>/reject")
@authenticated
@blp.response(200, OrderSchema)
def reject_order(order_id):
    """The firm rejects the quote."""
    return services.reject_quote(require_user(), order_id)


@blp.post("/orders/<int:order_id>/withdraw")
@authenticated
@blp.response(200, OrderSchema)
def withdraw_order(order_id):
    """The firm withdraws the order, any time before the samples arrive."""
    return services.withdraw_order(require_user(), order_id)


@blp.post("/orders/<int:order_id>/receive")
@authenticated
@blp.response(200, OrderSchema)
def receive_samples(order_id):
    """The institution's managers: the samples arrived; the turnaround starts."""
    return services.receive_samples(require_user(), order_id)


@blp.post("/orders/<int:order_id>/report")
@upload_limit(services.MAX_REPORT_BYTES)
@authenticated
@blp.arguments(ReportArgs, location="query", as_kwargs=True)
@blp.arguments(ReportFile, location="files")
@blp.response(200, OrderSchema)
def upload_report(files, order_id, machine_minutes=None):
    """The institution's managers: the report, a PDF of at most 20 MB (checked by its content)."""
    user = require_user()
    services.may_upload_report(user, order_id)  # before 20 MB are read for nothing
    data = uploaded_bytes(files["file"], services.MAX_REPORT_BYTES)
    return services.upload_report(user, order_id, data, machine_minutes)


@blp.get("/orders/<int:order_id>/report")
@authenticated
@blp.response(200, description="application/pdf: the report, as an attachment", content_type="application/pdf")
def download_report(order_id):
    """The report, for the firm, the institution's managers and the joint office (never shown inline)."""
    return report_response(services.report_of(require_user(), order_id))


@blp.post("/orders/<int:order_id>/rate")
@authenticated
@blp.arguments(OrderRatingSchema)
@blp.response(200, OrderSchema)
def rate_order(body, order_id):
    """The firm rates the service; the order is closed."""
    return services.rate_order(require_user(), order_id, body["rating"], body["comment"])
