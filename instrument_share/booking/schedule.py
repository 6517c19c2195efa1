"""What managers set: weekly opening hours and blackouts."""
from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa

from ..accounts.models import User
from ..catalogue import audit
from ..catalogue.models import Instrument, OpeningHours
from ..catalogue.policy import can_manage_instrument
from ..database import lock_all, lock_row
from ..errors import N_, Conflict, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..timeutil import isoformat_platform, utcnow
from .conflicts import overlaps_sql
from .models import ACTIVE_STATUSES, Blackout, Booking
from .services import cancel_locked

HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def require_manager(user: User, instrument: Instrument) -> None:
    if not can_manage_instrument(user, instrument):
        raise PermissionDenied("Only the instrument's managers may change its schedule.")


def parse_hhmm(text: str) -> int | None:
    match = HHMM.match(text or "")
    if not match:
        return None
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    return minutes if minutes <= 1440 else None


def set_opening_hours(instrument: Instrument, user: User, rows: list[dict]) -> list[OpeningHours]:
    """Replace the weekly hours. Touching intervals of a day are merged;
    overlapping ones are refused. Existing bookings are left as they are."""
    require_manager(user, instrument)
    errors: dict[str, list[str]] = {}
    by_day: dict[int, list[tuple[int, int]]] = {}
    for index, row in enumerate(rows):
        weekday = row.get("weekday")
        opens, closes = parse_hhmm(row.get("open")), parse_hhmm(row.get("close"))
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            errors[f"{index}.weekday"] = [N_("A weekday from 0 (Monday) to 6 (Sunday).")]
        elif opens is None or closes is None or closes <= opens:
            errors[f"{index}.close"] = [N_("Times as HH:MM, closing after opening.")]
        else:
            by_day.setdefault(weekday, []).append((opens, closes))
    merged: list[tuple[int, int, int]] = []
    for weekday, intervals in sorted(by_day.items()):
        intervals.sort()
        day: list[list[int]] = []
        for opens, closes in intervals:
            if day and opens < day[-1][1]:
                errors[f"weekday {weekday}"] = [N_("Opening intervals of one day overlap.")]
            elif day and opens == day[-1][1]:
                day[-1][1] = closes
            else:
                day.append([opens, closes])
        merged += [(weekday, o, c) for o, c in day]
    if errors:
        raise ValidationFailed("The opening hours are not valid.", errors)
    lock_row("instruments", instrument.id)
    db.session.refresh(instrument, ["opening_hours"])
    before = audit.hours_snapshot(instrument)
    instrument.opening_hours = [
        OpeningHours(weekday=d, open_minute=o, close_minute=c) for d, o, c in merged
    ]
    after = audit.hours_snapshot(instrument)
    if after != before:
        audit.record(instrument, user, "opening_hours_changed", {"opening_hours": [before, after]})
    db.session.flush()
    return instrument.opening_hours


def create_blackout(
    instrument: Instrument,
    user: User,
    start: datetime,
    end: datetime,
    reason: str,
    cancel_bookings: bool = False,
    now: datetime | None = None,
) -> Blackout:
    """Block time for maintenance. Active bookings in the way refuse it (409),
    unless the manager chooses to cancel them; the bookers are then told
    through the same path as any cancellation."""
    now = now or utcnow()
    require_manager(user, instrument)
    if end <= start:
        raise ValidationFailed("Invalid blackout.", {"end": [N_("The end must be after the start.")]})
    if end <= now:
        raise ValidationFailed("Invalid blackout.", {"end": [N_("This time is in the past.")]})
    lock_row("instruments", instrument.id)
    in_the_way = lock_all(
        sa.select(Booking).where(
            Booking.instrument_id == instrument.id,
            Booking.status.in_(ACTIVE_STATUSES),
            overlaps_sql(Booking.start, Booking.end, start, end),
        )
    )
    in_the_way.sort(key=lambda booking: booking.start)
    if in_the_way and not cancel_bookings:
        raise Conflict(
            "Active bookings fall in this blackout; cancel them or choose another time.",
            conflicts=[
                {"start": isoformat_platform(b.start), "end": isoformat_platform(b.end), "kind": "booking"}
                for b in in_the_way
            ],
            suggestions=[],
        )
    if any(booking.start <= now for booking in in_the_way):
        raise Conflict("A booking in this blackout has already started.", conflicts=[], suggestions=[])
    cancel_locked(in_the_way, user, f"blackout: {reason}".strip())
    blackout = Blackout(
        instrument=instrument, start=start, end=end, reason=(reason or "")[:500], created_by_id=user.id
    )
    db.session.add(blackout)
    db.session.flush()
    changes = _blackout_changes(blackout, added=True)
    if in_the_way:
        changes["cancelled_bookings"] = [None, [booking.id for booking in in_the_way]]
    audit.record(instrument, user, "blackout_added", changes)
    db.session.flush()
    return blackout


def _blackout_changes(blackout: Blackout, added: bool) -> dict:
    values = {"blackout_id": blackout.id, "start": isoformat_platform(blackout.start),
              "end": isoformat_platform(blackout.end), "reason": blackout.reason}
    return {name: [None, value] if added else [value, None] for name, value in values.items()}


def delete_blackout(blackout_id: int, user: User) -> None:
    """Remove a blackout (its time becomes bookable again); the trail keeps what it was."""
    blackout = db.session.get(Blackout, blackout_id)
    if blackout is None:
        raise NotFound("No such blackout.")
    require_manager(user, blackout.instrument)
    instrument_id = blackout.instrument_id
    lock_row("instruments", instrument_id)
    # Read it again inside the writer's transaction: a concurrent removal leaves nothing to remove.
    blackout = db.session.scalar(sa.select(Blackout).where(Blackout.id == blackout_id)
                                 .execution_options(populate_existing=True))
    if blackout is None:
        raise NotFound("No such blackout.")
    audit.record(blackout.instrument, user, "blackout_removed", _blackout_changes(blackout, added=False))
    db.session.delete(blackout)
    db.session.flush()
