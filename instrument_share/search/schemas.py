"""API shapes of the search: what a client may ask."""
from __future__ import annotations

from marshmallow import Schema, fields, post_dump, validate

from ..api.fields import ClientTime, Line
from ..api.schemas import Id, PageArgs
from ..catalogue.schemas import InstrumentSummarySchema
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
    near = Line(metadata={"description": "a city code: travel from there (default: the signed-in firm's city)"})
    sort = Line(load_default="relevance", validate=validate.OneOf(SORTS))


class SlotSchema(Schema):
    start = ClientTime(required=True)
    end = ClientTime(required=True)


class FoundSchema(InstrumentSummarySchema):
    travel_minutes = fields.Integer(allow_none=True, required=True, metadata={
        "description": "typical minutes between the centres of `near`'s city and the instrument's "
                       "(an estimate, not a timetable); null without `near`"})
    next_free = fields.Nested(SlotSchema, allow_none=True, required=True, metadata={
        "description": "the earliest bookable slot of the instrument's minimum length in the next 14 days "
                       "(inside free_from/free_to when given), or null"})


class FacetsSchema(Schema):
    city = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    category = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class InstrumentSearchSchema(Schema):
    """The list envelope with the facets of all matches."""

    items = fields.List(fields.Nested(FoundSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    facets = fields.Nested(FacetsSchema, required=True)


class SuggestArgs(Schema):
    q = fields.String(load_default="", metadata={"description": "what has been typed so far"})


class SuggestionSchema(Schema):
    text = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("instrument", "category", "term")))
    id = fields.Raw(metadata={"description": "the instrument's id, the category's code or the term's entry"})
    name = fields.String(metadata={"description": "a term's full name (扫描电镜 → 扫描电子显微镜)"})

    @post_dump
    def _without_blanks(self, data, **_):
        """`id` and `name` only where they say something."""
        return {key: value for key, value in data.items() if value is not None}
