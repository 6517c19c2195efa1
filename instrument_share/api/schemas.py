"""Schemas shared by every API module: pagination and list envelopes."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from ..db_types import MAX_ID


def Id(**kwargs) -> fields.Integer:  # noqa: N802 (a field, named like one)
    """A reference to one of our rows: a number the database can hold, or a clear 422."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def Day(**kwargs) -> fields.Date:  # noqa: N802 (a field, named like one)
    """A calendar day the platform deals in (1970–2199, as times: timeutil)."""
    return fields.Date(validate=validate.Range(min=date(1970, 1, 1), max=date(2199, 12, 31)), **kwargs)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_ID))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def list_envelope(item_schema: type[Schema], name: str) -> type[Schema]:
    """`{"items", "total", "page", "per_page"}` around one item schema."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        },
        name=name,
    )


def envelope(items: list, total: int, page: int, per_page: int) -> dict:
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def page_of(rows: list, page: int, per_page: int) -> dict:
    """The envelope around one page of a list already in memory (short lists only)."""
    start = (page - 1) * per_page
    return envelope(rows[start:start + per_page], len(rows), page, per_page)


Money = lambda **kw: fields.Decimal(as_string=True, places=2, **kw)  # noqa: E731


# The OpenAPI security of operations anyone may call: `@blp.doc(security=NO_AUTH)`.
NO_AUTH: list = []
