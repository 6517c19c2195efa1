"""The platform time zone: parsing what clients send, showing what we store."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app


def platform_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["PLATFORM_TIMEZONE"])


def parse_client_time(text: str) -> datetime:
    """Read an ISO 8601 time; a naive one is taken in the platform zone.

    Raises ValueError for anything unparseable. The result is aware.
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=platform_zone())
    return value


def to_platform(value: datetime) -> datetime:
    return value.astimezone(platform_zone())


def isoformat_platform(value: datetime | None) -> str | None:
    """Responses always carry the platform offset (API.md)."""
    return None if value is None else to_platform(value).isoformat()
