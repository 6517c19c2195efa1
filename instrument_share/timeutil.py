"""The platform time zone: parsing what clients send, showing what we store."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app


def platform_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["PLATFORM_TIMEZONE"])


# Times the platform deals in. Outside them there is nothing to book or
# count, the zone database falls back to local mean time (+08:05:43, which
# no ISO 8601 reader accepts) and date arithmetic overflows near year 9999.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def parse_client_time(text: str) -> datetime:
    """Read an ISO 8601 time; a naive one is taken in the platform zone.

    Raises ValueError for anything unparseable or outside 1970–2199. The
    result is aware and whole seconds: a fraction (JavaScript sends `.000`)
    is dropped, since bookings are planned in minutes and whole seconds keep
    every time comparison in SQL exact on both engines (see sql.plus_minutes).
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00")).replace(microsecond=0)
    if value.tzinfo is None:
        value = value.replace(tzinfo=platform_zone())
    if not EARLIEST <= value < LATEST:
        raise ValueError("time outside 1970-2199")
    return value


def utcnow() -> datetime:
    """Now, aware, in UTC: what the database stores."""
    return datetime.now(UTC)


def platform_now() -> datetime:
    """Now in the platform zone: what people read."""
    return to_platform(utcnow())


def platform_today() -> date:
    """Today's date in the platform zone (a voucher's expiry, a report's
    period, a page's default week are all platform dates)."""
    return platform_now().date()


def to_platform(value: datetime) -> datetime:
    return value.astimezone(platform_zone())


def isoformat_platform(value: datetime | None) -> str | None:
    """Responses always carry the platform offset (API.md)."""
    return None if value is None else to_platform(value).isoformat()


def format_minute(minute: int) -> str:
    """Minutes from midnight as HH:MM (1440, the end of the day, is 24:00)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the platform zone."""
    return datetime.combine(day, time(), platform_zone())
