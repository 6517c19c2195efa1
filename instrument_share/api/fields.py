"""Fields for the API's own conventions (API.md, "Conventions")."""
from __future__ import annotations

from datetime import UTC

from marshmallow import ValidationError, fields

from ..text import LINE_PATTERN, REQUIRED, TEXT_PATTERN, TextRefused, clean_line, clean_text
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


class _CleanString(fields.String):
    """A string under one of the text rules (text.py). Blank counts as empty:
    refused when the field is required (or `allow_blank=False`), else "".
    The rule's pattern goes into the OpenAPI document."""

    clean = staticmethod(clean_line)
    pattern = LINE_PATTERN

    def __init__(self, *, allow_blank: bool | None = None, **kwargs):
        self.allow_blank = not kwargs.get("required", False) if allow_blank is None else allow_blank
        metadata = kwargs.pop("metadata", {})
        super().__init__(metadata={"pattern": self.pattern, **metadata}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        try:
            value = self.clean(super()._deserialize(value, attr, data, **kwargs))
        except TextRefused as refused:
            raise ValidationError(refused.message) from None
        if not value and not self.allow_blank:
            raise ValidationError(REQUIRED)
        return value


class Line(_CleanString):
    """One line: a name, an address, a code, a short reason (text.clean_line)."""


class Text(_CleanString):
    """Text of several lines: a description, a purpose, a comment (text.clean_text)."""

    clean = staticmethod(clean_text)
    pattern = TEXT_PATTERN
