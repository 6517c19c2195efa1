"""How other answers refer to a firm or an institution."""
from __future__ import annotations

from marshmallow import Schema, fields


class FirmRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    city = fields.String(required=True, attribute="city_code")


class InstitutionRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
