"""The manager's desk: approvals, today's services, usage, schedules."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..accounts.policy import can_use_manager_desk, is_joint_office
from ..catalogue import audit
from ..catalogue.models import Institution, Instrument
from ..catalogue.policy import can_manage_instrument
from ..errors import ServiceError
from ..extensions import db
from ..routing import id_number, page_number
from ..timeutil import platform_zone, to_platform, utcnow
from ..web import refused
from . import history, schedule, violations
from .forms import BlackoutForm, EmptyForm, ReasonForm, UsageForm
from .models import Blackout, Booking, BookingStatus
from .policy import can_lift_suspension
from .views import aware

bp = Blueprint("manage", __name__, url_prefix="/manage")


def _institution_id() -> int:
    """The manager's own institution; an admin chooses one (?institution=)."""
    if not can_use_manager_desk(current_user):
        abort(403)
    if not is_joint_office(current_user):
        return current_user.institution_id
    chosen = request.args.get("institution", type=id_number) or request.form.get("institution", type=id_number)
    if chosen and db.session.get(Institution, chosen):
        return chosen
    first = db.session.scalar(sa.select(Institution.id).order_by(Institution.id))
    return first or abort(404)


def _bookings(institution_id: int, *conditions):
    return db.session.scalars(
        sa.select(Booking)
        .join(Instrument, Booking.instrument_id == Instrument.id)
        .where(Instrument.institution_id == institution_id, *conditions)
        .options(joinedload(Booking.instrument), joinedload(Booking.user).joinedload(User.firm))
        .order_by(Booking.start)
    ).all()


@bp.get("/")
@login_required
def queue():
    institution_id = _institution_id()
    zone = platform_zone()
    now = utcnow()
    today = datetime.combine(to_platform(now).date(), time(), zone)
    pending = _bookings(institution_id, Booking.status == BookingStatus.PENDING)
    todays = _bookings(institution_id, Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)),
                       Booking.start >= today, Booking.start < today + timedelta(days=1))
    to_record = _bookings(institution_id, Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.NO_SHOW)),
                          Booking.used_start.is_(None), Booking.start < today,
                          Booking.start >= today - timedelta(days=14))
    suspended = db.session.scalars(
        sa.select(User).where(User.booking_suspended_at.is_not(None)).order_by(User.email)
    ).all()
    suspended = [u for u in suspended if can_lift_suspension(current_user, u)]
    instruments = db.session.scalars(
        sa.select(Instrument).where(Instrument.institution_id == institution_id).order_by(Instrument.name)
    ).all()
    institutions = (db.session.scalars(sa.select(Institution).order_by(Institution.id)).all()
                    if is_joint_office(current_user) else [])
    return render_template(
        "booking/manage.html", institution=db.session.get(Institution, institution_id),
        institutions=institutions, pending=pending, todays=todays, to_record=to_record,
        suspended=suspended, instruments=instruments, now=now, reason_form=ReasonForm(),
        action_form=EmptyForm(), usage_form=UsageForm(),
    )


def _managed_instrument(instrument_id: int) -> Instrument:
    instrument = db.session.get(Instrument, instrument_id) or abort(404)
    if not can_manage_instrument(current_user, instrument):
        abort(403)
    return instrument


@bp.get("/instruments/<int:instrument_id>")
@login_required
def instrument_schedule(instrument_id: int, blackout_form=None, conflicts=None, status=200):
    instrument = _managed_instrument(instrument_id)
    blackouts = db.session.scalars(
        sa.select(Blackout).where(Blackout.instrument_id == instrument.id, Blackout.end > utcnow())
        .order_by(Blackout.start)
    ).all()
    hours = {d: [] for d in range(7)}
    for row in instrument.opening_hours:
        hours[row.weekday].append(row)
    return render_template(
        "booking/schedule.html", instrument=instrument, blackouts=blackouts, hours=hours,
        blackout_form=blackout_form or BlackoutForm(), action_form=EmptyForm(), conflicts=conflicts,
    ), status


HISTORY_PAGE = 50


@bp.get("/instruments/<int:instrument_id>/history")
@login_required
def instrument_history(instrument_id: int):
    """The instrument's audit trail (?of=bookings: its bookings' trail)."""
    _managed_instrument(instrument_id)
    page = request.args.get("page", 1, type=page_number)
    of_bookings = request.args.get("of") == "bookings"
    if of_bookings:
        instrument, events, total, page = history.instrument_booking_events(
            current_user, instrument_id, page, HISTORY_PAGE)
    else:
        instrument, events, total, page = audit.instrument_history(current_user, instrument_id, page, HISTORY_PAGE)
    return render_template("booking/history.html", instrument=instrument, events=events, total=total,
                           page=page, pages=max(1, -(-total // HISTORY_PAGE)), of_bookings=of_bookings)


@bp.get("/audit")
@login_required
def audit_trail():
    """Every instrument change the user may see: an admin's all, a manager's institution's."""
    if not can_use_manager_desk(current_user):
        abort(403)
    institution_id = request.args.get("institution", type=id_number) if is_joint_office(current_user) else None
    events, total, page = audit.audit_list(current_user, request.args.get("page", 1, type=page_number), HISTORY_PAGE,
                                           institution_id=institution_id)
    institutions = (db.session.scalars(sa.select(Institution).order_by(Institution.id)).all()
                    if is_joint_office(current_user) else [])
    return render_template("booking/audit.html", events=events, total=total, page=page,
                           pages=max(1, -(-total // HISTORY_PAGE)), institutions=institutions,
                           institution_id=institution_id)


@bp.post("/instruments/<int:instrument_id>/hours")
@login_required
def save_hours(instrument_id: int):
    instrument = _managed_instrument(instrument_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    rows = []
    for weekday in range(7):
        for slot in (0, 1):
            opens = request.form.get(f"open-{weekday}-{slot}", "").strip()
            closes = request.form.get(f"close-{weekday}-{slot}", "").strip()
            if opens or closes:
                rows.append({"weekday": weekday, "open": opens, "close": closes})
    try:
        schedule.set_opening_hours(instrument, current_user, rows)
    except ServiceError as error:
        refused(error)
        flash(_("The opening hours were not saved: times as HH:MM, closing after opening, no overlaps."), "danger")
        return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id))
    flash(_("Opening hours saved."), "success")
    return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id))


@bp.post("/instruments/<int:instrument_id>/blackouts")
@login_required
def add_blackout(instrument_id: int):
    instrument = _managed_instrument(instrument_id)
    form = BlackoutForm()
    if not form.validate_on_submit():
        return instrument_schedule(instrument_id, blackout_form=form, status=422)
    try:
        schedule.create_blackout(instrument, current_user, aware(form.start.data), aware(form.end.data),
                                 form.reason.data, cancel_bookings=form.cancel_bookings.data)
    except ServiceError as error:
        refused(error, form, default_field=form.start)
        return instrument_schedule(instrument_id, blackout_form=form,
                                   conflicts=error.extra.get("conflicts"), status=error.status)
    flash(_("Blackout added."), "success")
    return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id))


@bp.post("/blackouts/<int:blackout_id>/delete")
@login_required
def remove_blackout(blackout_id: int):
    blackout = db.session.get(Blackout, blackout_id) or abort(404)
    instrument_id = blackout.instrument_id
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        schedule.delete_blackout(blackout_id, current_user)
    except ServiceError:
        abort(403)
    flash(_("Blackout removed."), "success")
    return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id))


@bp.post("/users/<int:user_id>/lift")
@login_required
def lift(user_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = violations.lift_suspension(current_user, user_id)  # a refusal renders as its error page
    flash(_("Booking restored for %(email)s.", email=user.email), "success")
    return redirect(url_for("manage.queue"))
