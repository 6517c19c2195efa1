"""What a booking would be, before it is made (API.md: POST
/api/v1/bookings/quote; the booking form's "check the price" step).

The same checks, cost rule and voucher parts as `services.create_booking`,
read without the calendar's lock and without writing: the price, the
voucher's part and the firm's, the status the booking would get, and for a
series every occurrence with what stands in its way. A refusal the booking
would give (a rule, a voucher, a qualification, an unconfirmed address) is
an entry of `errors`, not an error answer: the quote says what to change.
Only a role that never books is refused outright (403).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from ..accounts.models import User
from ..accounts.policy import can_book
from ..catalogue.qualifications import require_qualification
from ..errors import N_, PermissionDenied, ValidationFailed
from ..timeutil import isoformat_platform, to_platform, utcnow
from .availability import suggest_slots
from .conflicts import closed_obstacles, find_conflicts
from .models import BookingStatus
from .payment import payment
from .policy import booking_refusal, needs_approval
from .rules import (
    BOOKING_HORIZON,
    check_interval,
    check_occurrences_apart,
    check_purpose,
    expand_recurrence,
)
from .services import bookable_instrument, booking_cost, obstacle_json

ZERO = Decimal("0.00")
REFUSED = object()  # what `_collect` returns for a check that refused


@dataclass
class Occurrence:
    start: datetime
    end: datetime
    cost: Decimal
    voucher_amount: Decimal
    firm_pays: Decimal
    conflicts: list[dict]


@dataclass
class Quote:
    bookable: bool = False
    cost: Decimal = ZERO
    voucher_amount: Decimal = ZERO
    firm_pays: Decimal = ZERO
    status: str | None = None
    occurrences: list[Occurrence] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    suggestions: list[dict] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _collect(errors: dict, check, *args):
    """Run one of the booking's checks; its refusal becomes entries of
    `errors` and the answer REFUSED."""
    try:
        return check(*args)
    except ValidationFailed as refusal:
        for name, messages in (refusal.fields or {"booking": [refusal.message]}).items():
            errors.setdefault(name, []).extend(messages)
        return REFUSED


def quote_booking(
    user: User, instrument_id, start: datetime, end: datetime, purpose: str,
    recurrence: str | None = None, voucher_id: int | None = None, now: datetime | None = None,
) -> Quote:
    now = now or utcnow()
    if not can_book(user):
        raise PermissionDenied(N_("Your role does not book instruments."))
    quote = Quote()
    errors = quote.errors
    if (refusal := booking_refusal(user)) is not None:
        errors["booker"] = [refusal]
    instrument = _collect(errors, bookable_instrument, instrument_id)
    _collect(errors, check_purpose, purpose)
    if instrument is REFUSED or _collect(errors, check_interval, instrument, start, end, now) is REFUSED:
        return quote
    intervals = [(start, end)]
    if recurrence:
        intervals = _collect(errors, expand_recurrence, recurrence, start, end, now)
        if intervals is REFUSED:
            return quote
        _collect(errors, check_occurrences_apart, intervals, timedelta(minutes=instrument.buffer_minutes))
    last_day = to_platform(intervals[-1][0]).date()
    voucher = None
    if voucher_id is not None:
        voucher = _collect(errors, payment().usable_voucher, user, voucher_id, instrument, last_day)
        voucher = None if voucher is REFUSED else voucher
    _collect(errors, require_qualification, user, instrument, last_day)

    found = find_conflicts(instrument, intervals, (), closed_obstacles(instrument, intervals))
    costs = [booking_cost(instrument, s, e) for s, e in intervals]
    parts = payment().parts_of(voucher, costs) if voucher is not None else [ZERO] * len(costs)
    for (s, e), obstacles, cost, part in zip(intervals, found, costs, parts, strict=True):
        quote.occurrences.append(Occurrence(s, e, cost, part, cost - part, [obstacle_json(o) for o in obstacles]))
        for obstacle in obstacles:
            item = obstacle_json(obstacle)
            if len(intervals) > 1:
                item["occurrence"] = {"start": isoformat_platform(s), "end": isoformat_platform(e)}
            quote.conflicts.append(item)
    blocked = [interval for interval, obstacles in zip(intervals, found, strict=True) if obstacles]
    if blocked:
        earliest = now + timedelta(hours=instrument.advance_notice_hours)
        quote.suggestions = [{"start": isoformat_platform(s), "end": isoformat_platform(e)}
                             for s, e in suggest_slots(instrument, *blocked[0], earliest, (), latest=now + BOOKING_HORIZON)]
    quote.cost, quote.voucher_amount = sum(costs, ZERO), sum(parts, ZERO)
    quote.firm_pays = quote.cost - quote.voucher_amount
    quote.status = BookingStatus.PENDING if needs_approval(user, instrument) else BookingStatus.CONFIRMED
    quote.bookable = not errors and not blocked
    return quote
