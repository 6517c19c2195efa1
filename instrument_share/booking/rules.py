"""Booking rules that do not need the database: lengths, notice, recurrence."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

from dateutil.rrule import rrulestr

from ..catalogue.models import Instrument
from ..errors import N_, ValidationFailed
from ..timeutil import platform_zone

BOOKING_HORIZON = timedelta(days=366)  # nothing is booked more than a year ahead
MAX_OCCURRENCES = 120
MAX_PURPOSE_LENGTH = 2000
ALLOWED_RRULE_PARTS = {"FREQ", "COUNT", "UNTIL", "INTERVAL", "BYDAY", "BYMONTHDAY", "WKST"}


def check_interval(
    instrument: Instrument, start: datetime, end: datetime, now: datetime, *, field: str = "start"
) -> None:
    """Length within the instrument's limits, not in the past, inside the
    advance notice, not beyond the booking horizon. Raises ValidationFailed."""
    errors: dict[str, list[str]] = {}
    length = (end - start).total_seconds() / 60
    if end <= start:
        errors["end"] = [N_("The end must be after the start.")]
    elif length < instrument.min_booking_minutes:
        errors["end"] = [N_("Shorter than this instrument's minimum booking length.")]
    elif length > instrument.max_booking_minutes:
        errors["end"] = [N_("Longer than this instrument's maximum booking length.")]
    if start < now:
        errors[field] = [N_("This time is in the past.")]
    elif start < now + timedelta(hours=instrument.advance_notice_hours):
        errors[field] = [N_("Inside this instrument's advance notice: book further ahead.")]
    elif start > now + BOOKING_HORIZON:
        errors[field] = [N_("Bookings open at most a year ahead.")]
    if errors:
        raise ValidationFailed(N_("The requested time is not bookable."), errors)


def check_purpose(purpose: str) -> str:
    purpose = (purpose or "").strip()
    if not purpose:
        raise ValidationFailed("Purpose required.", {"purpose": [N_("Say what the booking is for.")]})
    if len(purpose) > MAX_PURPOSE_LENGTH:
        raise ValidationFailed(
            "Purpose too long.", {"purpose": [N_("At most 2000 characters.")]}
        )
    return purpose


def expand_recurrence(
    rule: str, start: datetime, end: datetime, now: datetime
) -> list[tuple[datetime, datetime]]:
    """Occurrences of an RFC 5545 RRULE from `start`, in the platform zone.

    COUNT or UNTIL is required; at most MAX_OCCURRENCES, none beyond the
    booking horizon. The first occurrence is `start` itself.
    """
    def refuse(message: str):
        raise ValidationFailed("Invalid recurrence.", {"recurrence": [message]})

    text = (rule or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts = {}
    for piece in text.split(";"):
        name, _, value = piece.partition("=")
        if not name or not value:
            refuse(N_("Not an RRULE such as FREQ=WEEKLY;COUNT=6."))
        parts[name.strip().upper()] = value.strip()
    if not set(parts) <= ALLOWED_RRULE_PARTS or "FREQ" not in parts:
        refuse(N_("Use FREQ with COUNT or UNTIL, and optionally INTERVAL, BYDAY, BYMONTHDAY."))
    if parts["FREQ"].upper() not in {"DAILY", "WEEKLY", "MONTHLY"}:
        refuse(N_("FREQ must be DAILY, WEEKLY or MONTHLY."))
    if "COUNT" not in parts and "UNTIL" not in parts:
        refuse(N_("A recurrence needs COUNT or UNTIL."))
    local_start = start.astimezone(platform_zone())
    until = parts.get("UNTIL", "")
    if until and not (until.endswith("Z") or (len(until) == 8 and until.isdigit())):
        refuse(N_("UNTIL must be a date or a UTC time ending in Z."))
    if len(until) == 8:
        # A date means "up to the end of that day" in the platform zone.
        try:
            day_end = datetime.strptime(until, "%Y%m%d").replace(
                hour=23, minute=59, second=59, tzinfo=platform_zone()
            )
        except ValueError:
            refuse(N_("Not an RRULE such as FREQ=WEEKLY;COUNT=6."))
        parts["UNTIL"] = day_end.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        recurrence = rrulestr(text, dtstart=local_start, forceset=False)
        starts = list(islice(iter(recurrence), MAX_OCCURRENCES + 1))
    except ValidationFailed:
        raise
    except (ValueError, TypeError, OverflowError):
        refuse(N_("Not an RRULE such as FREQ=WEEKLY;COUNT=6."))
    if len(starts) > MAX_OCCURRENCES:
        refuse(N_("At most 120 occurrences."))
    if not starts or starts[0] != local_start:
        refuse(N_("The first occurrence must be the booking's own start."))
    if starts[-1] > now + BOOKING_HORIZON:
        refuse(N_("The last occurrence is more than a year ahead."))
    length = end - start
    return [(s.astimezone(start.tzinfo), s.astimezone(start.tzinfo) + length) for s in starts]
