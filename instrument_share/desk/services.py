"""What the manager's desk shows: one institution's work queues.

The desk is for an institution's managers; the joint office looks at any
institution's desk (the first one unless it chooses).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import Firm, Institution, User
from ..accounts.policy import can_use_manager_desk, is_joint_office
from ..booking.models import Blackout, Booking, BookingStatus
from ..catalogue.models import Instrument
from ..errors import N_, NotFound, PermissionDenied
from ..extensions import db
from ..timeutil import platform_zone, to_platform

# Services without a usage record stay in the desk's queue for two weeks
# after they took place; later, usage is still recorded from the booking's page.
USAGE_WINDOW = timedelta(days=14)


@dataclass
class DeskQueues:
    institution: Institution
    pending: list[Booking]       # waiting for approval, soonest first
    todays: list[Booking]        # the services of the platform's today
    to_record: list[Booking]     # past services of the window without a usage record
    suspended: list[User]        # suspended users who failed to show here
    instruments: list[Instrument]


def desk_institution(user: User, requested: int | None) -> Institution:
    """The institution whose desk the user sees: a manager's own; for the
    joint office the requested one, else the first."""
    if not can_use_manager_desk(user):
        raise PermissionDenied(N_("The desk is for instrument managers."))
    if not is_joint_office(user):
        return db.session.get(Institution, user.institution_id)
    institution = db.session.get(Institution, requested) if requested else None
    institution = institution or db.session.scalar(sa.select(Institution).order_by(Institution.id).limit(1))
    if institution is None:
        raise NotFound(N_("No institution yet."))
    return institution


def desk_institutions(user: User) -> list[Institution]:
    """The institutions the user may switch between: all for the joint office."""
    if not is_joint_office(user):
        return []
    return list(db.session.scalars(sa.select(Institution).order_by(Institution.id)))


def _bookings(institution_id: int, *conditions) -> list[Booking]:
    return list(db.session.scalars(
        sa.select(Booking)
        .join(Instrument, Booking.instrument_id == Instrument.id)
        .where(Instrument.institution_id == institution_id, *conditions)
        # Only the names the desk shows of each instrument, booker and firm:
        # their whole rows were most of the page's time (issue #19).
        .options(joinedload(Booking.instrument).load_only(Instrument.name, Instrument.name_en),
                 joinedload(Booking.user).load_only(User.name, User.firm_id)
                 .joinedload(User.firm).load_only(Firm.name))
        .order_by(Booking.start)
    ))


def suspended_users_of(institution_id: int) -> list[User]:
    """Suspended users with a no-show at this institution: exactly those its
    managers may lift (booking.policy.can_lift_suspension), found in SQL
    rather than by loading every suspended user of the corridor."""
    # The suspended users through their partial index, and for each its
    # latest no-show here, looked for from its newest booking back: the
    # no-shows that suspended it are recent, and an EXISTS read a long
    # history from its oldest booking (issue #19).
    latest_failure_here = (
        sa.select(Booking.id)
        .join(Instrument, Booking.instrument_id == Instrument.id)
        .where(Booking.user_id == User.id, Booking.status == BookingStatus.NO_SHOW,
               Instrument.institution_id == institution_id)
        .order_by(Booking.start.desc()).limit(1)
        .scalar_subquery()
    )
    return list(db.session.scalars(
        sa.select(User).where(User.booking_suspended_at.is_not(None), latest_failure_here.is_not(None))
        .order_by(User.email)
    ))


def desk_queues(user: User, requested_institution: int | None, now: datetime) -> DeskQueues:
    """The desk of the institution `desk_institution` chooses, as of `now`."""
    institution = desk_institution(user, requested_institution)
    today = datetime.combine(to_platform(now).date(), time(), platform_zone())
    took_place = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
    # The day's bookings of the institution's instruments are read through
    # `(instrument_id, start)`, whatever their status, and those that did
    # not take place are left out here: asked for the statuses, SQLite read
    # the whole platform's day through `(status, start)` (issue #19).
    todays = _bookings(institution.id, Booking.start >= today, Booking.start < today + timedelta(days=1))
    return DeskQueues(
        institution=institution,
        pending=_bookings(institution.id, Booking.status == BookingStatus.PENDING),
        todays=[booking for booking in todays if booking.status in took_place],
        to_record=_bookings(institution.id, Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.NO_SHOW)),
                            Booking.used_start.is_(None), Booking.start < today,
                            Booking.start >= today - USAGE_WINDOW),
        suspended=suspended_users_of(institution.id),
        instruments=list(db.session.scalars(
            sa.select(Instrument).where(Instrument.institution_id == institution.id).order_by(Instrument.name))),
    )


def blackouts_ahead(instrument_id: int, now: datetime) -> list[Blackout]:
    """The instrument's blackouts not yet over, soonest first."""
    return list(db.session.scalars(
        sa.select(Blackout).where(Blackout.instrument_id == instrument_id, Blackout.end > now).order_by(Blackout.start)
    ))
