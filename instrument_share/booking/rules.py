"""Booking rules that do not need the database: lengths, notice, recurrence."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule
from dateutil.rrule import weekday as rrule_weekday

from ..catalogue.models import Instrument
from ..errors import N_, ValidationFailed
from ..text import TextRefused, clean_text
from ..timeutil import platform_zone

BOOKING_HORIZON = timedelta(days=366)  # nothing is booked more than a year ahead
# A weekly booking for a year; also what keeps a series' write lock short (README, reliability).
MAX_OCCURRENCES = 52
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
    """A purpose is required text (text.py's rule: only invisible characters
    count as none), at most 2,000 characters."""
    try:
        purpose = clean_text(purpose or "")
    except TextRefused as refused:
        raise ValidationFailed(N_("Purpose refused."), {"purpose": [refused.message]}) from None
    if not purpose:
        raise ValidationFailed(N_("Purpose required."), {"purpose": [N_("Say what the booking is for.")]})
    if len(purpose) > MAX_PURPOSE_LENGTH:
        raise ValidationFailed(
            N_("Purpose too long."), {"purpose": [N_("At most 2000 characters.")]}
        )
    return purpose


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = {"DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY}
RRULE_HELP = N_("Not an RRULE such as FREQ=WEEKLY;COUNT=6.")


def _refuse(message: str):
    raise ValidationFailed(N_("Invalid recurrence."), {"recurrence": [message]})


def _integer(text: str, low: int, high: int, message: str) -> int:
    """A whole number in [low, high] (a sign allowed), else the message."""
    body = text[1:] if text[:1] in "+-" else text
    if not (body.isascii() and body.isdigit()) or len(body) > 4:
        _refuse(message)
    number = int(text)
    if not low <= number <= high:
        _refuse(message)
    return number


def _by_day(text: str, monthly: bool) -> list:
    """BYDAY: MO, TU … or, for MONTHLY only, with an ordinal in ±1..5 (2TU, -1FR)."""
    days = []
    for item in text.split(","):
        item = item.strip().upper()
        name, ordinal = item[-2:], item[:-2]
        if name not in WEEKDAYS:
            _refuse(N_("BYDAY takes MO, TU, WE, TH, FR, SA, SU, e.g. BYDAY=MO,WE."))
        day = rrule_weekday(WEEKDAYS.index(name))
        if ordinal:
            if not monthly:
                _refuse(N_("A numbered BYDAY (2TU, -1FR) needs FREQ=MONTHLY."))
            number = _integer(ordinal, -5, 5, N_("A numbered BYDAY counts from 1 to 5 or -1 to -5."))
            if number == 0:
                _refuse(N_("A numbered BYDAY counts from 1 to 5 or -1 to -5."))
            day = day(number)
        days.append(day)
    return days


def _by_month_day(text: str) -> list[int]:
    days = []
    for item in text.split(","):
        number = _integer(item.strip(), -31, 31, N_("BYMONTHDAY takes days 1 to 31 (or -1 to -31)."))
        if number == 0:
            _refuse(N_("BYMONTHDAY takes days 1 to 31 (or -1 to -31)."))
        days.append(number)
    return days


def _until(text: str, zone) -> datetime:
    """A date (up to the end of that day in the platform zone) or a UTC time."""
    try:
        if len(text) == 8 and text.isdigit():
            return datetime.strptime(text, "%Y%m%d").replace(hour=23, minute=59, second=59, tzinfo=zone)
        if len(text) == 16 and text.endswith("Z"):
            return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        pass
    _refuse(N_("UNTIL must be a date or a UTC time ending in Z."))


def parse_recurrence(rule: str) -> dict[str, str]:
    """The RRULE's parts by name; each part once, only the parts we handle."""
    text = (rule or "").strip()
    if text[:6].upper() == "RRULE:":
        text = text[6:]
    if len(text) > 500:
        _refuse(RRULE_HELP)
    parts: dict[str, str] = {}
    for piece in text.split(";"):
        name, _, value = piece.partition("=")
        name, value = name.strip().upper(), value.strip()
        if not name or not value or name in parts:
            _refuse(RRULE_HELP)
        parts[name] = value
    if not set(parts) <= ALLOWED_RRULE_PARTS or "FREQ" not in parts:
        _refuse(N_("Use FREQ with COUNT or UNTIL, and optionally INTERVAL, BYDAY, BYMONTHDAY."))
    if parts["FREQ"].upper() not in FREQUENCIES:
        _refuse(N_("FREQ must be DAILY, WEEKLY or MONTHLY."))
    if ("COUNT" in parts) == ("UNTIL" in parts):
        _refuse(N_("A recurrence needs COUNT or UNTIL (not both)."))
    return parts


def expand_recurrence(
    rule: str, start: datetime, end: datetime, now: datetime
) -> list[tuple[datetime, datetime]]:
    """Occurrences of an RFC 5545 RRULE from `start`, in the platform zone.

    Validated part by part before anything is expanded (INTERVAL from 1,
    BY-parts in range, COUNT up to MAX_OCCURRENCES, UNTIL within the booking
    horizon), and expanded only up to the horizon, so no rule costs more
    than a year of candidate days. The first occurrence is `start` itself.
    """
    parts = parse_recurrence(rule)
    zone = platform_zone()
    local_start = start.astimezone(zone)
    horizon = now + BOOKING_HORIZON
    monthly = parts["FREQ"].upper() == "MONTHLY"
    count = None
    if "COUNT" in parts:
        count = _integer(parts["COUNT"], 1, MAX_OCCURRENCES, N_("COUNT runs from 1 to 52."))
    until = horizon
    if "UNTIL" in parts:
        until = _until(parts["UNTIL"], zone)
        if until > horizon:
            _refuse(N_("The last occurrence is more than a year ahead."))
    options = {
        "interval": _integer(parts.get("INTERVAL", "1"), 1, 366, N_("INTERVAL runs from 1 to 366.")),
        "byweekday": _by_day(parts["BYDAY"], monthly) if "BYDAY" in parts else None,
        "bymonthday": _by_month_day(parts["BYMONTHDAY"]) if "BYMONTHDAY" in parts else None,
    }
    if "WKST" in parts:
        if parts["WKST"].upper() not in WEEKDAYS:
            _refuse(N_("WKST takes MO, TU, WE, TH, FR, SA or SU."))
        options["wkst"] = WEEKDAYS.index(parts["WKST"].upper())
    recurrence = rrule(FREQUENCIES[parts["FREQ"].upper()], dtstart=local_start, until=until, **options)
    starts = list(islice(iter(recurrence), (count or MAX_OCCURRENCES) + 1))
    if count is not None and len(starts) < count:
        _refuse(N_("The last occurrence is more than a year ahead."))
    if count is None and len(starts) > MAX_OCCURRENCES:
        _refuse(N_("At most 52 occurrences."))
    starts = starts[:count] if count is not None else starts
    if not starts or starts[0] != local_start:
        _refuse(N_("The first occurrence must be the booking's own start."))
    length = end - start
    return [(s.astimezone(start.tzinfo), s.astimezone(start.tzinfo) + length) for s in starts]


def check_occurrences_apart(intervals: list[tuple[datetime, datetime]], buffer: timedelta) -> None:
    """A series never overlaps itself: each occurrence, with the instrument's
    buffer after it, ends before the next begins (a daily series of two-day
    bookings is refused, not stored twice over)."""
    ordered = sorted(intervals)
    for (_, previous_end), (next_start, _) in pairwise(ordered):
        if next_start < previous_end + buffer:
            _refuse(N_("The occurrences overlap one another: space them further apart."))
