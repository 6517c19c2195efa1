"""No-shows and suspension: the corridor platforms' booking discipline.

A confirmed booking nobody checked in to within an hour of its start, and
for which no usage was recorded, is a no-show. Three no-shows within 180
days suspend the user's booking until a manager lifts it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..accounts.models import User
from ..accounts.policy import can_use_manager_desk
from ..database import begin_write_transaction
from ..errors import N_, NotFound, PermissionDenied
from ..extensions import db
from ..timeutil import utcnow
from .models import Booking, BookingStatus
from .policy import can_lift_suspension

NO_SHOW_GRACE = timedelta(hours=1)
VIOLATION_WINDOW = timedelta(days=180)
VIOLATION_LIMIT = 3


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
    if user.booking_suspended_at is not None or recent_violations(user, now) < VIOLATION_LIMIT:
        return False
    user.booking_suspended_at = now
    return True


def lift_suspension(manager: User, user_id: int, now: datetime | None = None) -> User:
    """Restore booking; the no-shows so far stop counting. Returns the user.

    A role that may never lift is refused before the user is looked up, so
    the answer tells it nothing about which user ids exist."""
    refusal = PermissionDenied(N_("Only an admin or a manager where the user failed to show may lift this."))
    if not can_use_manager_desk(manager):
        raise refusal
    begin_write_transaction()
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such user."))
    if not can_lift_suspension(manager, user):
        raise refusal
    now = now or utcnow()
    user.booking_suspended_at = None
    user.violations_cleared_at = now
    db.session.flush()
    return user
