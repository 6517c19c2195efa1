"""Who may do what with bookings (see accounts/policy.py for the layer)."""
from __future__ import annotations

import sqlalchemy as sa

from ..accounts.models import Role, User
from ..accounts.policy import can_book, can_manage_institution
from ..catalogue.models import Instrument
from ..errors import N_
from ..extensions import db
from .models import Booking, BookingStatus


def booking_refusal(user: User) -> str | None:
    """Why this user may not book now (a message to show), or None: a role
    that books, a confirmed address, booking not suspended for no-shows."""
    if not can_book(user):
        return N_("Your role may not book instruments.")
    if user.email_verified_at is None:
        return N_("Confirm your e-mail address before booking: open the link in the mail "
                  "we sent you, or have it sent again from your profile page.")
    if user.booking_suspended_at is not None:
        return N_("Booking is suspended after repeated no-shows; ask an instrument manager to lift it.")
    return None


def needs_approval(user: User, instrument: Instrument) -> bool:
    """A booking waits for approval where the instrument asks for it, unless
    the booker manages the instrument."""
    return instrument.requires_approval and not can_manage_institution(user, instrument.institution_id)


def can_change_booking(user: User, booking: Booking) -> bool:
    """Move, cancel or check in: the booker, the instrument's managers and
    the joint office."""
    return user.id == booking.user_id or can_manage_institution(user, booking.instrument.institution_id)


def can_decide_booking(user: User, booking: Booking) -> bool:
    """Approve, reject, record usage: the instrument's managers and the joint office."""
    return can_manage_institution(user, booking.instrument.institution_id)


def can_view_booking(user: User, booking: Booking) -> bool:
    """See a booking: whoever may change it, and every user of the booker's
    firm. Anybody else is told it does not exist (404)."""
    return can_change_booking(user, booking) or (user.firm_id is not None and user.firm_id == booking.firm_id)


def can_get_statement(user: User) -> bool:
    """A firm's monthly statement of completed bookings: the firm's users."""
    return user.firm_id is not None


def can_rate_booking(user: User, booking: Booking) -> bool:
    """Rate a service (非常满意 … 极差): the booker and the booker's firm."""
    return booking.user_id == user.id or (user.firm_id is not None and user.firm_id == booking.firm_id)


def can_lift_suspension(manager: User, user: User) -> bool:
    """Lift a booking suspension: the joint office, and managers of an
    institution where the user failed to show."""
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
