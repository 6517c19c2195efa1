"""Voucher endpoints of /api/v1 (API.md, "Vouchers")."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..accounts.bearer import authenticated, require_user
from ..accounts.schemas import FirmRefSchema
from ..api.fields import Line, Text
from ..api.parsing import Blueprint
from ..api.schemas import Day, Id, Money, PageArgs, list_envelope, page_of
from . import claims, services

blp = Blueprint("vouchers_api", __name__, description="Innovation vouchers (创新券)")


class VoucherCreateSchema(Schema):
    firm_id = Id(required=True, strict=True)
    amount = fields.Raw(required=True, metadata={"type": "string", "example": "5000.00"})
    expires_on = Day(required=True)
    max_share = fields.Raw(required=True, metadata={"type": "string", "example": "0.5",
                                                    "description": "a decimal in (0, 1], string or number"})


class VoucherSchema(Schema):
    id = fields.Integer(required=True)
    firm = fields.Nested(FirmRefSchema, required=True)
    issuing_city = fields.String(required=True)
    amount = Money(required=True)
    balance = Money(required=True)
    expires_on = fields.Date(required=True)
    max_share = fields.Decimal(as_string=True, required=True)
    status = fields.String(required=True, attribute="state_today",
                           metadata={"description": "active, expired or revoked"})


@blp.post("/vouchers")
@authenticated
@blp.arguments(VoucherCreateSchema)
@blp.response(201, VoucherSchema)
def issue_voucher(body):
    """City bureaus (own city's firms) and admins grant a firm a voucher."""
    voucher = services.issue_voucher(require_user(), **body)
    return voucher


@blp.post("/vouchers/<int:voucher_id>/revoke")
@authenticated
@blp.response(200, VoucherSchema)
def revoke_voucher(voucher_id):
    """The issuing city's bureau withdraws the rest of a voucher."""
    voucher = services.revoke_voucher(require_user(), voucher_id)
    return voucher


@blp.get("/vouchers")
@authenticated
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(VoucherSchema, "VoucherList"))
def list_vouchers(page, per_page):
    """Own firm's (firm), own city's (city bureau), all (admin)."""
    return page_of(services.list_vouchers(require_user()), page, per_page)


class ClaimCreateSchema(Schema):
    issuing_city = Line(required=True)
    from_ = Day(data_key="from", required=True)
    to = Day(required=True)
    institution_id = Id(metadata={"description": "admins only; managers claim for their own"})


class ClaimLineSchema(Schema):
    id = fields.Integer(required=True)
    booking_id = fields.Integer(allow_none=True, attribute="entry.booking_id")
    order_id = fields.Integer(allow_none=True, attribute="entry.order_id",
                              metadata={"description": "the order of entrusted testing the capture paid"})
    amount = Money(required=True)
    status = fields.String(required=True)
    reason = fields.String(required=True)


class ClaimSchema(Schema):
    id = fields.Integer(required=True)
    institution_id = fields.Integer(required=True)
    issuing_city = fields.String(required=True)
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)
    total = Money(required=True)
    approved = Money(required=True)
    paid_on = fields.Date(allow_none=True)
    lines = fields.List(fields.Nested(ClaimLineSchema), required=True)


class LineDecisionSchema(Schema):
    approve = fields.Boolean(required=True)
    reason = Text(load_default="", validate=validate.Length(max=2000))


class PaidSchema(Schema):
    paid_on = Day(required=True)


@blp.post("/voucher-claims")
@authenticated
@blp.arguments(ClaimCreateSchema)
@blp.response(201, ClaimSchema)
def file_claim(body):
    """Managers claim the captured voucher money of one issuing city for a period (兑付申请)."""
    claim = claims.file_claim(require_user(), body["issuing_city"], body["from_"], body["to"],
                              body.get("institution_id"))
    return claim


@blp.get("/voucher-claims")
@authenticated
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(ClaimSchema, "ClaimList"))
def list_claims(page, per_page):
    """Own institution's claims (manager), claims on own city (city bureau), all (admin)."""
    return page_of(claims.list_claims(require_user()), page, per_page)


@blp.post("/voucher-claims/<int:claim_id>/lines/<int:line_id>")
@authenticated
@blp.arguments(LineDecisionSchema)
@blp.response(200, ClaimSchema)
def decide_line(body, claim_id, line_id):
    """The issuing city's bureau approves or rejects one claim line."""
    user = require_user()
    claim = claims.get_claim(claim_id, user)
    claims.review_line(claim, line_id, user, body["approve"], body["reason"])
    return claim


@blp.post("/voucher-claims/<int:claim_id>/paid")
@authenticated
@blp.arguments(PaidSchema)
@blp.response(200, ClaimSchema)
def mark_paid(body, claim_id):
    """The issuing city's bureau records the payment date."""
    user = require_user()
    claim = claims.mark_paid(claims.get_claim(claim_id, user), user, body["paid_on"])
    return claim
