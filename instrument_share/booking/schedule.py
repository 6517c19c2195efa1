"""What managers set: weekly opening hours and blackouts."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..accounts.models import User
from ..catalogue import audit
from ..catalogue.manage import managed_instrument
from ..catalogue.models import Instrument
from ..catalogue.policy import can_manage_instrument
from ..database import lock_all, lock_row
from ..errors import N_, Conflict, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..timeutil import isoformat_platform, to_platform, utcnow
from .conflicts import overlaps_sql
from .models import ACTIVE_STATUSES, Blackout, Booking
from .services import cancel_locked


def require_manager(user: User, instrument: Instrument) -> None:
    if not can_manage_instrument(user, instrument):
        raise PermissionDenied(N_("Only the instrument's managers may change its schedule."))


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
        raise ValidationFailed(N_("Invalid blackout."), {"end": [N_("The end must be after the start.")]})
    if end <= now:
        raise ValidationFailed(N_("Invalid blackout."), {"end": [N_("This time is in the past.")]})
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
            N_("Active bookings fall in this blackout; cancel them or choose another time."),
            conflicts=[
                {"start": isoformat_platform(b.start), "end": isoformat_platform(b.end), "kind": "booking"}
                for b in in_the_way
            ],
            suggestions=[],
        )
    if any(booking.start <= now for booking in in_the_way):
        raise Conflict(N_("A booking in this blackout has already started."), conflicts=[], suggestions=[])
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
        raise NotFound(N_("No such blackout."))
    require_manager(user, blackout.instrument)
    instrument_id = blackout.instrument_id
    lock_row("instruments", instrument_id)
    # Read it again inside the writer's transaction: a concurrent removal leaves nothing to remove.
    blackout = db.session.scalar(sa.select(Blackout).where(Blackout.id == blackout_id)
                                 .execution_options(populate_existing=True))
    if blackout is None:
        raise NotFound(N_("No such blackout."))
    audit.record(blackout.instrument, user, "blackout_removed", _blackout_changes(blackout, added=False))
    db.session.delete(blackout)
    db.session.flush()


def retire_instrument(user: User, instrument_id: int, now: datetime | None = None) -> Instrument:
    """Retire an instrument from sharing (已停用) as of today: it keeps its
    page and history, takes no new booking (the checker asks
    `in_service` under the same lock) and leaves search. Refused while
    active bookings lie ahead: they are cancelled or moved first, each
    with its booker told."""
    now = now or utcnow()
    instrument = managed_instrument(user, instrument_id)
    if instrument.retired_on is not None:
        raise Conflict(N_("This instrument is retired already."), conflicts=[], suggestions=[])
    ahead = db.session.scalar(sa.select(sa.func.count(Booking.id)).where(
        Booking.instrument_id == instrument.id, Booking.status.in_(ACTIVE_STATUSES), Booking.end > now))
    if ahead:
        raise Conflict(N_("This instrument still has bookings ahead: cancel or move them first."),
                       conflicts=[], suggestions=[])
    instrument.retired_on = to_platform(now).date()
    audit.record(instrument, user, "status_changed", {"retired_on": [None, instrument.retired_on.isoformat()]})
    db.session.flush()
    return instrument


def reinstate_instrument(user: User, instrument_id: int) -> Instrument:
    """Bring a retired instrument back into sharing."""
    instrument = managed_instrument(user, instrument_id)
    if instrument.retired_on is None:
        raise Conflict(N_("This instrument is in service."), conflicts=[], suggestions=[])
    audit.record(instrument, user, "status_changed", {"retired_on": [instrument.retired_on.isoformat(), None]})
    instrument.retired_on = None
    db.session.flush()
    return instrument
