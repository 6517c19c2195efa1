"""The /api/v1 blueprint set: flask-smorest for parsing and the OpenAPI document."""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api

from ..db_types import MAX_ID
from ..routing import IdConverter
from .errors import ConflictErrorSchema, ErrorSchema
from .links import OperationLinks
from .parsing import JSONProvider
from .schemas import NO_AUTH


def _decimal_properties(self, field, ret) -> dict:
    """Decimals the API writes as strings ("350.00") are documented as strings;
    bounds given as Decimal become JSON numbers."""
    if not isinstance(field, ma.fields.Decimal):
        return {}
    if field.as_string:
        return {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
    return {key: float(ret[key]) for key in ("minimum", "maximum") if isinstance(ret.get(key), Decimal)}


class ErrorResponses(BasePlugin):
    """Declare, on every operation, the error answers it can give (API.md, "Errors"),
    each in the one error shape: a client and a fuzzer know every status to expect."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})

            def declare(status: int, ref: str, responses=responses):
                if status not in responses and str(status) not in responses:
                    responses[status] = ref

            has_query = any(p.get("in") == "query" for p in operation.get("parameters", [])
                            if isinstance(p, dict))
            if operation.get("security") != NO_AUTH:
                declare(401, "UNAUTHORIZED")
                declare(403, "FORBIDDEN")
            if "{" in (path or ""):
                declare(404, "NOT_FOUND")
            if "requestBody" in operation:
                declare(400, "BAD_REQUEST")
            if "requestBody" in operation or has_query or method != "get":
                declare(422, "UNPROCESSABLE_ENTITY")
            if method != "get" and operation.get("security") != NO_AUTH:
                declare(409, "Conflict")
            if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
                declare(413, "REQUEST_ENTITY_TOO_LARGE")  # a file past the operation's limit


class InstrumentShareApi(Api):
    """flask-smorest with our error shape; the app's own handler renders errors."""

    ERROR_SCHEMA = ErrorSchema
    # Every error an operation can give is declared by ErrorResponses instead.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        # site.init_app registers one HTTPException handler for pages and API.
        pass


api = InstrumentShareApi(
    spec_kwargs={
        "info": {
            "description": "The public contract of instrument-share (see API.md).",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "extra_plugins": [ErrorResponses(), OperationLinks()],
    }
)
api.register_converter(IdConverter, lambda converter: {"type": "integer", "minimum": 1, "maximum": MAX_ID})


def init_api(app: Flask, blueprints) -> None:
    """The API on `app`, with the domains' blueprints (create_app names them:
    this package sits below the domains and imports none of them)."""
    from ..extensions import csrf

    app.json = JSONProvider(app)  # request.get_json() reads as strictly as the API's bodies
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(_decimal_properties)
    api.spec.components.schema("ConflictError", schema=ConflictErrorSchema)
    api.spec.components.response("Conflict", {
        "description": "Conflict: what stands in the way (`conflicts`) and nearby free time (`suggestions`)",
        "content": {"application/json": {"schema": "ConflictError"}},
    })
    for blueprint in blueprints:
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix="/api/v1")
