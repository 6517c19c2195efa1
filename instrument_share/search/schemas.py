"""API shapes of the search: what a client may ask."""
from __future__ import annotations

from marshmallow import fields, validate

from ..api.fields import ClientTime, Line
from ..api.schemas import Id, PageArgs
from .services import MAX_QUERY_LENGTH, SORTS


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
