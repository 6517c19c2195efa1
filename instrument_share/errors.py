"""Errors raised by service functions; web and API each render them their way."""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation without translating it here.

    Services stay free of the request's language; the web views translate
    these messages when they show them, the API returns them as written.
    """
    return message


class ServiceError(Exception):
    """A refusal with a reason the user should read. Nothing was changed."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra


class ValidationFailed(ServiceError):
    status = 422
    code = "validation"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"


class NotAuthenticated(ServiceError):
    status = 401
    code = "unauthorized"


class Conflict(ServiceError):
    """A 409: what stands in the way and nearby free time, empty unless given
    (every 409 of the API has both lists: API.md, "Errors")."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, fields: dict | None = None, **extra):
        extra.setdefault("conflicts", [])
        extra.setdefault("suggestions", [])
        super().__init__(message, fields, **extra)


class Unavailable(ServiceError):
    """Something the platform needs is missing on this host (503)."""

    status = 503
    code = "unavailable"
