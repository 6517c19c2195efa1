"""Voucher endpoints of /api/v1 (API.md, "Vouchers")."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..api.auth import authenticated, require_user
from ..api.schemas import Money, PageArgs, envelope, list_envelope
from ..extensions import db
from . import services
from .models import Voucher

blp = Blueprint("vouchers_api", __name__, description="Innovation vouchers (创新券)")


class VoucherCreateSchema(Schema):
    firm_id = fields.Integer(required=True, strict=True)
    amount = fields.Raw(required=True, metadata={"type": "string", "example": "5000.00"})
    expires_on = fields.Date(required=True)
    max_share = fields.Raw(required=True, metadata={"type": "string", "example": "0.5",
                                                    "description": "a decimal in (0, 1], string or number"})


class FirmSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    city = fields.String(required=True)


class VoucherSchema(Schema):
    id = fields.Integer(required=True)
    firm = fields.Nested(FirmSchema, required=True)
    issuing_city = fields.String(required=True)
    amount = Money(required=True)
    balance = Money(required=True)
    expires_on = fields.Date(required=True)
    max_share = fields.Decimal(as_string=True, required=True)
    status = fields.String(required=True, metadata={"description": "active, expired or revoked"})


def voucher_json(voucher: Voucher) -> dict:
    return {
        "id": voucher.id,
        "firm": {"id": voucher.firm.id, "name": voucher.firm.name, "city": voucher.firm.city_code},
        "issuing_city": voucher.issuing_city, "amount": voucher.amount, "balance": voucher.balance,
        "expires_on": voucher.expires_on, "max_share": voucher.max_share,
        "status": voucher.state_on(services._today()),
    }


@blp.post("/vouchers")
@authenticated
@blp.arguments(VoucherCreateSchema)
@blp.response(201, VoucherSchema)
def issue_voucher(body):
    """City bureaus (own city's firms) and admins grant a firm a voucher."""
    voucher = services.issue_voucher(require_user(), **body)
    db.session.commit()
    return voucher_json(voucher)


@blp.get("/vouchers")
@authenticated
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(VoucherSchema, "VoucherList"))
def list_vouchers(page, per_page):
    """Own firm's (firm), own city's (city bureau), all (admin)."""
    rows = services.list_vouchers(require_user())
    start = (page - 1) * per_page
    return envelope([voucher_json(v) for v in rows[start:start + per_page]], len(rows), page, per_page)
