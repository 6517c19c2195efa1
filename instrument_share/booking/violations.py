"""No-shows and suspension: the corridor platforms' booking discipline.

A confirmed booking nobody checked in to within an hour of its start, and
for which no usage was recorded, is a no-show. Three no-shows within 180
days suspend the user's booking until a manager lifts it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..accounts.models import Role, User
from ..catalogue.models import Instrument
from ..database import begin_write_transaction
from ..db_types import utcnow
from ..errors import NotFound, PermissionDenied
from ..extensions import db
from .models import Booking, BookingStatus

NO_SHOW_GRACE = timedelta(hours=1)
VIOLATION_WINDOW = timedelta(days=180)
VIOLATION_LIMIT = 3


def is_suspended(user: User) -> bool:
    return user.booking_suspended_at is not None


def recent_violations(user: User, now: datetime) -> int:
    since = now - VIOLATION_WINDOW
    if user.violations_cleared_at is not None:
        since = max(since, user.violations_cleared_at)
    return db.session.scalar(
        sa.select(sa.func.count(Booking.id)).where(
            Booking.user_id == user.id, Booking.status == BookingStatus.NO_SHOW, Booking.start >= since
        )
    )


def suspend_if_due(user: User, now: datetime) -> bool:
    """Suspend the user when the recent no-shows reach the limit."""
    if is_suspended(user) or recent_violations(user, now) < VIOLATION_LIMIT:
        return False
    user.booking_suspended_at = now
    return True


def can_lift_suspension(manager: User, user: User) -> bool:
    """Admins, and managers of an institution where the user failed to show."""
    if manager.role == Role.ADMIN:
        return True
    if manager.role != Role.MANAGER:
        return False
    return bool(db.session.scalar(
        sa.select(sa.func.count(Booking.id))
        .join(Instrument, Booking.instrument_id == Instrument.id)
        .where(Booking.user_id == user.id, Booking.status == BookingStatus.NO_SHOW,
               Instrument.institution_id == manager.institution_id)
    ))


def lift_suspension(manager: User, user_id: int, now: datetime | None = None) -> User:
    """Restore booking; the no-shows so far stop counting. Returns the user.

    A role that may never lift is refused before the user is looked up, so
    the answer tells it nothing about which user ids exist."""
    refusal = PermissionDenied("Only an admin or a manager where the user failed to show may lift this.")
    if manager.role not in (Role.ADMIN, Role.MANAGER):
        raise refusal
    begin_write_transaction()
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if not can_lift_suspension(manager, user):
        raise refusal
    now = now or utcnow()
    user.booking_suspended_at = None
    user.violations_cleared_at = now
    db.session.flush()
    return user
