"""Fields for the API's own conventions (API.md, "Conventions")."""
from __future__ import annotations

from datetime import UTC

from marshmallow import ValidationError, fields

from ..timeutil import isoformat_platform, parse_client_time


class ClientTime(fields.Field):
    """ISO 8601 with an offset or Z; a naive time is read in the platform
    zone. Loaded as an aware UTC datetime; dumped with the platform offset."""

    def __init__(self, **kwargs):
        metadata = kwargs.pop("metadata", {})
        metadata.setdefault("example", "2026-12-01T09:00:00+08:00")
        super().__init__(metadata={"type": "string", "format": "date-time", **metadata}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not an ISO 8601 time.")
        try:
            return parse_client_time(value).astimezone(UTC)
        except (ValueError, OverflowError) as error:
            raise ValidationError(
                "Not an ISO 8601 time from 1970 to 2199 such as 2026-12-01T09:00:00+08:00."
            ) from error

    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat_platform(value)
