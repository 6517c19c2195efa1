"""The manager's desk pages: approvals, today's services, usage, schedules."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.policy import can_use_manager_desk, is_joint_office
from ..booking import history, schedule, violations
from ..booking.forms import BlackoutForm, EmptyForm, ReasonForm, UsageForm
from ..booking.models import Blackout
from ..booking.views import aware
from ..catalogue import audit
from ..catalogue.hours import set_opening_hours
from ..catalogue.models import Instrument
from ..catalogue.policy import can_manage_instrument
from ..errors import ServiceError
from ..extensions import db
from ..routing import id_number, page_number
from ..timeutil import utcnow
from ..web import refused
from . import services

bp = Blueprint("manage", __name__, url_prefix="/manage")


@bp.get("/")
@login_required
def queue():
    now = utcnow()
    desk = services.desk_queues(current_user, request.args.get("institution", type=id_number), now)
    return render_template(
        "desk/queue.html", institution=desk.institution, pending=desk.pending, todays=desk.todays,
        to_record=desk.to_record, suspended=desk.suspended, instruments=desk.instruments,
        institutions=services.desk_institutions(current_user), now=now, reason_form=ReasonForm(),
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
    blackouts = services.blackouts_ahead(instrument.id, utcnow())
    hours = {d: [] for d in range(7)}
    for row in instrument.opening_hours:
        hours[row.weekday].append(row)
    return render_template(
        "desk/schedule.html", instrument=instrument, blackouts=blackouts, hours=hours,
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
    return render_template("desk/history.html", instrument=instrument, events=events, total=total,
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
    institutions = services.desk_institutions(current_user)
    return render_template("desk/audit.html", events=events, total=total, page=page,
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
        set_opening_hours(instrument, current_user, rows)
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
