"""Qualifications (培训上机资格): who may run a self-service instrument
alone. Managers grant them by e-mail, with an optional expiry, and revoke
them; the booking checker asks `require_qualification`. A grant, a
revocation and a booking of the instrument all hold the instrument's row,
so a booking never slips past a revocation made at the same moment."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import Role, User
from ..errors import N_, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..timeutil import platform_today
from . import audit
from .manage import managed_instrument
from .models import Instrument, Qualification
from .policy import can_manage_instrument


def needs_qualification(user: User, instrument: Instrument) -> bool:
    """Firm users run a self-service instrument themselves; staff and the
    joint office book for their own purposes and are not asked."""
    return instrument.self_service and user.role == Role.FIRM


def qualification_of(user: User, instrument: Instrument) -> Qualification | None:
    return db.session.scalar(sa.select(Qualification).where(
        Qualification.instrument_id == instrument.id, Qualification.user_id == user.id))


def holds_qualification(user: User, instrument: Instrument, day: date) -> bool:
    """Whether the user may book the instrument for `day`: not a
    self-service instrument for them, or qualified until then."""
    if not needs_qualification(user, instrument):
        return True
    qualification = qualification_of(user, instrument)
    return qualification is not None and qualification.valid_on(day)


def require_qualification(user: User, instrument: Instrument, last_day: date) -> None:
    """The booking checker's rule: refused with 422 (`fields.qualification`)
    when the user must be qualified and is not, up to the last day booked."""
    if not holds_qualification(user, instrument, last_day):
        raise ValidationFailed(N_("Not qualified to run this instrument."), {"qualification": [
            N_("This instrument is run by qualified users only: ask its managers for training.")]})


def grant_qualification(user: User, instrument_id: int, email: str, expires_on: date | None,
                        today: date | None = None) -> Qualification:
    """Qualify an existing user (by e-mail) for the instrument until
    `expires_on` (none: without end); granting again sets the new expiry."""
    today = today or platform_today()
    instrument = managed_instrument(user, instrument_id)
    holder = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
    if holder is None:
        raise ValidationFailed(N_("No such user."), {"email": [N_("No user has this e-mail address.")]})
    if expires_on is not None and expires_on < today:
        raise ValidationFailed(N_("The qualification is not valid."), {"expires_on": [N_("Not in the past.")]})
    qualification = db.session.scalar(sa.select(Qualification).where(
        Qualification.instrument_id == instrument.id, Qualification.user_id == holder.id))
    before = None if qualification is None else qualification.expires_on
    if qualification is None:
        qualification = Qualification(instrument_id=instrument.id, user_id=holder.id)
        db.session.add(qualification)
    qualification.granted_by_id, qualification.granted_on, qualification.expires_on = user.id, today, expires_on
    db.session.flush()
    audit.record(instrument, user, "qualification_granted", {
        "user": [None, holder.email],
        "expires_on": [before and before.isoformat(), expires_on and expires_on.isoformat()]})
    return qualification


def revoke_qualification(user: User, qualification_id: int) -> None:
    qualification = db.session.get(Qualification, qualification_id) if isinstance(qualification_id, int) else None
    if qualification is None:
        raise NotFound(N_("No such qualification."))
    instrument = managed_instrument(user, qualification.instrument_id)
    email = qualification.user.email
    db.session.delete(qualification)
    db.session.flush()
    audit.record(instrument, user, "qualification_revoked", {"user": [email, None]})


def instrument_qualifications(user: User, instrument_id: int) -> list[Qualification]:
    """Who is qualified for the instrument: for its managers."""
    instrument = db.session.get(Instrument, instrument_id) if isinstance(instrument_id, int) else None
    if instrument is None:
        raise NotFound(N_("No such instrument."))
    if not can_manage_instrument(user, instrument):
        raise PermissionDenied(N_("Only the instrument's managers may see who is qualified."))
    return list(db.session.scalars(
        sa.select(Qualification).where(Qualification.instrument_id == instrument_id)
        .options(joinedload(Qualification.user)).order_by(Qualification.id)))


def my_qualifications(user: User) -> list[Qualification]:
    return list(db.session.scalars(
        sa.select(Qualification).where(Qualification.user_id == user.id)
        .options(joinedload(Qualification.instrument)).order_by(Qualification.id)))
