"""After the booking: check-in, recorded usage, rating, and closing the day."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..accounts.models import User
from ..database import lock, lock_all
from ..errors import N_, Conflict, PermissionDenied, ValidationFailed
from ..extensions import db
from ..timeutil import isoformat_platform, utcnow
from .models import (
    RATINGS,
    SERVICE_MODES,
    TOOK_PLACE,
    Booking,
    BookingAction,
    BookingEvent,
    BookingStatus,
)
from .payment import payment
from .policy import can_change_booking, can_decide_booking, can_rate_booking
from .services import cancel_locked, record_all
from .violations import NO_SHOW_GRACE, suspend_if_due

CHECK_IN_OPENS = timedelta(minutes=30)


def check_in_open(booking: Booking, now: datetime) -> bool:
    """Check-in is possible from CHECK_IN_OPENS before the start until the end
    (the page shows the button only then)."""
    return booking.status == BookingStatus.CONFIRMED and booking.start - CHECK_IN_OPENS <= now < booking.end


def check_in(booking: Booking, user: User, now: datetime | None = None) -> Booking:
    """The booker or a manager marks the service as started (签到), from 30
    minutes before the start until the end."""
    now = now or utcnow()
    if not can_change_booking(user, booking):
        raise PermissionDenied(N_("Only the booker or the instrument's managers may check in."))
    booking = lock(Booking, booking.id)
    if booking.status != BookingStatus.CONFIRMED:
        raise Conflict(N_("Only confirmed bookings can be checked in."), conflicts=[], suggestions=[])
    if not check_in_open(booking, now):
        raise ValidationFailed(N_("Check-in is not open now."), {"start": [N_("Check-in opens 30 minutes before the start and closes at the end.")]})
    if booking.checked_in_at is None:
        booking.checked_in_at = now
        booking.events.append(BookingEvent(actor=user, action=BookingAction.CHECKED_IN))
    db.session.flush()
    return booking


def record_usage(
    booking: Booking,
    user: User,
    used_start: datetime,
    used_end: datetime,
    service_mode: str,
    now: datetime | None = None,
) -> Booking:
    """A manager records the hours actually used (有效机时) and the service
    mode; the booking is then completed. Usage may run outside the booked
    slot (an overrun), but not into the future, and only once the booking
    has started: recording it earlier would capture voucher money for a
    service not yet given."""
    now = now or utcnow()
    if not can_decide_booking(user, booking):
        raise PermissionDenied(N_("Only the instrument's managers may record usage."))
    errors: dict[str, list[str]] = {}
    if used_end <= used_start:
        errors["end"] = [N_("The end must be after the start.")]
    if used_end > now:
        errors["end"] = [N_("Usage cannot end in the future.")]
    if used_start < booking.start - timedelta(days=1) or used_end > booking.end + timedelta(days=1):
        errors["start"] = [N_("Usage must lie near the booked time.")]
    if service_mode not in SERVICE_MODES:
        errors["service_mode"] = [N_("Choose one of the four service modes.")]
    if errors:
        raise ValidationFailed(N_("The usage is not valid."), errors)
    booking = lock(Booking, booking.id)
    if booking.status not in TOOK_PLACE:
        raise Conflict(N_("Usage can only be recorded for bookings that took place."), conflicts=[], suggestions=[])
    if booking.start > now:
        raise Conflict(N_("Usage can be recorded once the booking has started."), conflicts=[], suggestions=[])
    details = {"start": isoformat_platform(used_start), "end": isoformat_platform(used_end),
               "service_mode": service_mode, "previous_status": booking.status}
    if booking.used_start is not None:  # a correction: keep what it replaces
        details["previous"] = {"start": isoformat_platform(booking.used_start),
                               "end": isoformat_platform(booking.used_end),
                               "service_mode": booking.service_mode}
    booking.used_start, booking.used_end = used_start, used_end
    booking.service_mode = service_mode
    if booking.status == BookingStatus.NO_SHOW:
        # The hold went back when it was marked a no-show: usage means the service happened.
        booking.voucher_id = None
    booking.status = BookingStatus.COMPLETED
    payment().capture(booking, user)
    booking.events.append(BookingEvent(actor=user, action=BookingAction.USAGE_RECORDED, details=details))
    db.session.flush()
    return booking


def rate_booking(booking: Booking, user: User, rating: int, comment: str = "") -> Booking:
    """The booker's firm rates a completed service (5 非常满意 … 1 极差)."""
    if not can_rate_booking(user, booking):
        raise PermissionDenied(N_("Only the booking's firm may rate it."))
    if rating not in RATINGS:
        raise ValidationFailed(N_("Invalid rating."), {"rating": [N_("A rating from 1 to 5.")]})
    booking = lock(Booking, booking.id)
    if booking.status != BookingStatus.COMPLETED:
        raise Conflict(N_("Only completed services can be rated."), conflicts=[], suggestions=[])
    booking.rating = rating
    booking.rating_comment = (comment or "")[:2000]
    booking.events.append(BookingEvent(actor=user, action=BookingAction.RATED, details={"rating": rating}))
    db.session.flush()
    return booking


CLOSE_BATCH = 100  # bookings of each kind one call closes: the write lock stays short


def close_past_bookings(now: datetime | None = None, limit: int = CLOSE_BATCH) -> dict[str, int]:
    """Housekeeping, safe to run again: confirmed bookings past their grace
    without check-in or usage become no-shows (and may suspend the booker);
    checked-in ones become completed at their end, and their voucher money is
    captured for the booked hours (found by the model-based test: it stayed
    held for ever); pending ones whose start
    has passed lapse (cancelled, never approved). At most `limit` of each
    kind per call: the caller commits and calls again while any kind was full."""
    now = now or utcnow()
    no_shows = lock_all(
        sa.select(Booking).where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.checked_in_at.is_(None),
            Booking.used_start.is_(None),
            Booking.start <= now - NO_SHOW_GRACE,
        ).limit(limit)
    )
    payment().release(no_shows, None)
    record_all(no_shows, None, BookingAction.NO_SHOW, lambda booking: {})
    for booking in no_shows:
        booking.status = BookingStatus.NO_SHOW
    db.session.flush()
    for user in {booking.user for booking in no_shows}:
        suspend_if_due(user, now)
    finished = lock_all(
        sa.select(Booking).where(
            Booking.status == BookingStatus.CONFIRMED, Booking.checked_in_at.is_not(None), Booking.end <= now
        ).limit(limit)
    )
    record_all(finished, None, BookingAction.COMPLETED, lambda booking: {})
    for booking in finished:
        booking.status = BookingStatus.COMPLETED
        payment().capture(booking, None)  # no usage recorded: the booked hours count
    lapsed = lock_all(sa.select(Booking).where(Booking.status == BookingStatus.PENDING, Booking.start <= now).limit(limit))
    cancel_locked(lapsed, None, "not approved before its start", event=BookingAction.LAPSED)
    return {BookingAction.NO_SHOW: len(no_shows), BookingAction.COMPLETED: len(finished),
            BookingAction.LAPSED: len(lapsed)}
