"""The API's one error shape: {"error", "message", "fields"}."""
from __future__ import annotations

from flask import jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from ..errors import ServiceError

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
}


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "machine-readable code"})
    message = fields.String(required=True)
    fields = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "per-field messages (422)"},
    )


class TimeRangeSchema(Schema):
    start = fields.String(required=True, metadata={"format": "date-time"})
    end = fields.String(required=True, metadata={"format": "date-time"})


class ObstacleRangeSchema(TimeRangeSchema):
    kind = fields.String(required=True, metadata={"description": "booking, blackout or closed"})
    occurrence = fields.Nested(TimeRangeSchema, metadata={
        "description": "a recurring booking: the occurrence this obstacle stands in the way of"})


class ConflictErrorSchema(ErrorSchema):
    """A 409: the error shape plus what stands in the way and nearby free time."""

    conflicts = fields.List(fields.Nested(ObstacleRangeSchema), required=True)
    suggestions = fields.List(fields.Nested(TimeRangeSchema), required=True)


def _flatten_webargs_messages(messages: dict) -> dict:
    """webargs nests messages by location ({"query": {"page": [...]}}); clients
    want them by field name."""
    flat: dict = {}
    for location_messages in messages.values():
        if isinstance(location_messages, dict):
            for name, value in location_messages.items():
                flat[str(name)] = value if isinstance(value, list) else [str(value)]
        else:
            flat.setdefault("_schema", []).extend(
                location_messages if isinstance(location_messages, list) else [location_messages]
            )
    return flat


def error_response(error: HTTPException):
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    body = {
        "error": ERROR_CODES.get(code, "error"),
        "message": data.get("message") or error.description or error.name,
        "fields": {},
    }
    if "messages" in data and code == 422:
        body["fields"] = _flatten_webargs_messages(data["messages"])
        body["message"] = "Some fields are not valid."
    elif "messages" in data and code == 400:
        # webargs answers 400 only when the body cannot be parsed at all.
        body["message"] = "The request body is not valid JSON."
    response = jsonify(body)
    response.status_code = code
    for name, value in (getattr(error, "headers", None) or data.get("headers") or {}).items():
        response.headers[name] = value
    if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def service_error_response(error: ServiceError):
    body = {"error": error.code, "message": error.message, "fields": error.fields}
    body.update(error.extra)
    response = jsonify(body)
    response.status_code = error.status
    return response
