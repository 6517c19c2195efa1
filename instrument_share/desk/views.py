"""The manager's desk pages: approvals, today's services, usage, schedules."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import escape
from marshmallow import ValidationError

from ..accounts.policy import can_use_manager_desk, is_joint_office
from ..booking import history, schedule, violations
from ..booking.forms import BlackoutForm, EmptyForm, ReasonForm, UsageForm
from ..booking.models import Blackout
from ..booking.views import aware
from ..booking.week import monday_of
from ..catalogue import audit, photos, qualifications
from ..catalogue.hours import set_opening_hours
from ..catalogue.manage import create_instrument, model_defaults, update_instrument
from ..catalogue.models import Category, Instrument, InstrumentPhoto, Qualification
from ..catalogue.policy import can_manage_instrument
from ..catalogue.schemas import InstrumentWriteSchema
from ..errors import N_, ServiceError, ValidationFailed
from ..extensions import db
from ..labels import BOOKING_STATUS_LABELS
from ..routing import id_number, page_number
from ..timeutil import platform_today, platform_zone, utcnow
from ..web import flashes_refusals, local_name, refused, upload_limit, uploaded_bytes
from . import services, transfer
from .forms import ImportForm, InstrumentForm, PhotoForm, QualificationForm
from .timeline import SHOWN_STATUSES, institution_schedule, timeline_lines

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


def _instrument_form(instrument: Instrument | None = None) -> InstrumentForm:
    """The editor's form, filled from the instrument (or the model's defaults)
    unless the request posts one."""
    if instrument is None:
        values = model_defaults(Instrument)
    else:
        values = {name: getattr(instrument, name) for name in InstrumentForm.names() if name != "category"}
        values["category"] = instrument.category_code
        values["version"] = instrument.updated_at.isoformat()
    form = InstrumentForm(data=values)
    categories = db.session.scalars(sa.select(Category).order_by(Category.sort_order, Category.code)).all()
    majors = {c.code: c for c in categories if c.parent_code is None}
    form.category.choices = [
        (c.code, f"{local_name(majors[c.parent_code])} › {local_name(c)}" if c.parent_code else local_name(c))
        for c in categories]
    if instrument is None and is_joint_office(current_user):
        form.institution_id.choices = [(i.id, local_name(i)) for i in services.desk_institutions(current_user)]
    else:
        del form.institution_id
    return form


def _record(form: InstrumentForm) -> dict:
    """The form's record through the API's write schema (one set of limits)."""
    try:
        return InstrumentWriteSchema().load(form.record())
    except ValidationError as error:
        fields = {f"contact_{key}" if name == "contact" else name: messages
                  for name, value in error.messages.items()
                  for key, messages in (value.items() if name == "contact" else [(None, value)])}
        raise ValidationFailed(N_("The instrument is not valid."), fields) from None


@bp.route("/instruments/new", methods=["GET", "POST"])
@login_required
def new_instrument():
    """Publish an instrument: a manager's for their institution, the joint office's for any."""
    if not can_use_manager_desk(current_user):
        abort(403)
    form = _instrument_form()
    if not form.is_submitted():
        return render_template("desk/new_instrument.html", form=form)
    if form.validate():
        data = _record_or_refusal(form)
        if data is not None:
            if "institution_id" in form:
                data["institution_id"] = form.institution_id.data
            try:
                instrument = create_instrument(current_user, data)
            except ServiceError as error:
                if error.status in (403, 404):
                    abort(error.status)
                refused(error, form, default_field=form.name)
            else:
                flash(_("Instrument published. Now give it its opening hours: until then nobody can book it."),
                      "success")
                return redirect(url_for("manage.instrument_schedule", instrument_id=instrument.id))
    return render_template("desk/new_instrument.html", form=form), 422


def _seen(version: str | None) -> datetime | None:
    """The record's version the form was made from (none: not checked)."""
    try:
        seen = datetime.fromisoformat(version or "")
    except ValueError:
        return None
    return seen if seen.tzinfo is not None else None


def _record_or_refusal(form: InstrumentForm) -> dict | None:
    try:
        return _record(form)
    except ValidationFailed as error:
        refused(error, form, default_field=form.name)
        return None


@bp.route("/instruments/import", methods=["GET", "POST"])
@upload_limit(transfer.MAX_FILE_BYTES)
@login_required
def import_instruments():
    """Create and update the institution's instruments from a workbook: a
    check first (each bad row named), then every row or none."""
    institution = services.desk_institution(current_user, request.args.get("institution", type=id_number))
    form = ImportForm()
    result, problems, status = None, {}, 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            plan = transfer.plan_import(current_user, institution.id,
                                        uploaded_bytes(upload, transfer.MAX_FILE_BYTES), upload.filename or "")
            result = transfer.apply_import(current_user, plan) if form.apply.data else plan.summary()
        except ServiceError as error:
            refused(error)
            problems, status = error.fields, error.status
        else:
            if form.apply.data:
                flash(_("Imported: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.", **result),
                      "success")
    elif form.is_submitted():
        status = 422
    headings = dict(transfer.COLUMNS) | {"file": _("File")}
    return render_template("desk/import.html", form=form, institution=institution, result=result,
                           problems=problems, headings=headings, applied=bool(result and form.apply.data),
                           institutions=services.desk_institutions(current_user)), status


@bp.get("/instruments/<int:instrument_id>")
@login_required
def instrument_schedule(instrument_id: int, blackout_form=None, conflicts=None, status=200, record_form=None,
                        qualification_form=None, photo_form=None):
    """The instrument's page for its managers: the record, opening hours,
    blackouts and who is qualified to run it."""
    instrument = _managed_instrument(instrument_id)
    blackouts = services.blackouts_ahead(instrument.id, utcnow())
    hours = {d: [] for d in range(7)}
    for row in instrument.opening_hours:
        hours[row.weekday].append(row)
    return render_template(
        "desk/schedule.html", instrument=instrument, blackouts=blackouts, hours=hours,
        blackout_form=blackout_form or BlackoutForm(), action_form=EmptyForm(), conflicts=conflicts,
        editor=record_form or _instrument_form(instrument),
        qualifications=qualifications.instrument_qualifications(current_user, instrument.id),
        qualification_form=qualification_form or QualificationForm(), today=platform_today(),
        photo_form=photo_form or PhotoForm(), max_photos=photos.MAX_PHOTOS,
    ), status


@bp.post("/instruments/<int:instrument_id>")
@login_required
def save_instrument(instrument_id: int):
    """Save the instrument's record (its status too)."""
    instrument = _managed_instrument(instrument_id)
    form = _instrument_form(instrument)
    if form.validate():
        data = _record_or_refusal(form)
        if data is not None:
            try:
                update_instrument(current_user, instrument_id, data, _seen(form.version.data))
            except ServiceError as error:
                refused(error, form, default_field=form.name)
                if error.status == 409:
                    return instrument_schedule(instrument_id, record_form=form, status=409)
            else:
                flash(_("Instrument saved."), "success")
                return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id))
    return instrument_schedule(instrument_id, record_form=form, status=422)


HISTORY_PAGE = 50


@bp.get("/schedule")
@login_required
def timeline():
    """The institution's instruments side by side over a day or a week."""
    institution = services.desk_institution(current_user, request.args.get("institution", type=id_number))
    view = "week" if request.args.get("view") == "week" else "day"
    try:
        day = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        day = platform_today()
    day = min(max(day, date(2000, 1, 3)), date(2100, 1, 1))
    first = monday_of(day) if view == "week" else day
    start = datetime.combine(first, time(), platform_zone())
    end = start + timedelta(days=7 if view == "week" else 1)
    status = request.args.get("status") or None
    category = request.args.get("category") or None
    try:
        schedule = institution_schedule(current_user, institution.id, start, end, category, status)
    except ValidationFailed:  # a hand-made filter: show the unfiltered schedule
        status = category = None
        schedule = institution_schedule(current_user, institution.id, start, end)
    categories = db.session.scalars(sa.select(Category).where(Category.parent_code.is_(None))
                                    .order_by(Category.sort_order)).all()
    columns = ([first + timedelta(days=n) for n in range(7)] if view == "week" else list(range(0, 24, 2)))
    labels = {code: escape(str(BOOKING_STATUS_LABELS[code])) for code in SHOWN_STATUSES}
    # Each bar links to its booking: the address made once, the id appended per bar.
    booking_url = url_for("booking.detail", booking_id=0).removesuffix("0")
    return render_template(
        "desk/timeline.html", schedule=schedule,
        lines=timeline_lines(schedule, platform_zone(), labels, booking_url,
                             url_for("manage.instrument_schedule", instrument_id=0).removesuffix("0"), day,
                             local_name),
        view=view, day=day, first=first, columns=columns,
        step=timedelta(days=7 if view == "week" else 1), status=status, category=category,
        categories=categories, statuses=SHOWN_STATUSES, institutions=services.desk_institutions(current_user))


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


@bp.post("/instruments/<int:instrument_id>/qualifications")
@login_required
def grant_qualification(instrument_id: int):
    _managed_instrument(instrument_id)
    form = QualificationForm()
    if form.validate_on_submit():
        try:
            granted = qualifications.grant_qualification(current_user, instrument_id, form.email.data,
                                                         form.expires_on.data)
        except ServiceError as error:
            refused(error, form, default_field=form.email)
        else:
            flash(_("%(email)s may now run this instrument.", email=granted.user.email), "success")
            return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id, _anchor="qualifications"))
    return instrument_schedule(instrument_id, qualification_form=form, status=422)


@bp.post("/qualifications/<int:qualification_id>/delete")
@login_required
def revoke_qualification(qualification_id: int):
    qualification = db.session.get(Qualification, qualification_id) or abort(404)
    instrument_id = qualification.instrument_id
    _managed_instrument(instrument_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    qualifications.revoke_qualification(current_user, qualification_id)
    flash(_("Qualification revoked."), "success")
    return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id, _anchor="qualifications"))


@bp.post("/instruments/<int:instrument_id>/photos")
@upload_limit(photos.MAX_UPLOAD_BYTES)
@login_required
def add_photo(instrument_id: int):
    _managed_instrument(instrument_id)
    form = PhotoForm()
    if form.validate_on_submit():
        try:
            photos.add_photo(current_user, instrument_id, uploaded_bytes(form.file.data, photos.MAX_UPLOAD_BYTES))
        except ServiceError as error:
            refused(error, form, default_field=form.file)
        else:
            flash(_("Photo added."), "success")
            return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id, _anchor="photos"))
    return instrument_schedule(instrument_id, photo_form=form, status=422)


@bp.post("/photos/<int:photo_id>/delete")
@login_required
def remove_photo(photo_id: int):
    photo = db.session.get(InstrumentPhoto, photo_id) or abort(404)
    _managed_instrument(photo.instrument_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    instrument_id = photos.remove_photo(current_user, photo_id)
    flash(_("Photo removed."), "success")
    return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id, _anchor="photos"))


@bp.post("/instruments/<int:instrument_id>/retire")
@login_required
@flashes_refusals(back=lambda instrument_id: url_for("manage.instrument_schedule", instrument_id=instrument_id))
def retire(instrument_id: int):
    """已停用: out of sharing from today, its history kept."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    schedule.retire_instrument(current_user, instrument_id)
    flash(_("The instrument is retired: it keeps its page and history and takes no new booking."), "success")
    return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id))


@bp.post("/instruments/<int:instrument_id>/reinstate")
@login_required
@flashes_refusals(back=lambda instrument_id: url_for("manage.instrument_schedule", instrument_id=instrument_id))
def reinstate(instrument_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    schedule.reinstate_instrument(current_user, instrument_id)
    flash(_("The instrument is in service again."), "success")
    return redirect(url_for("manage.instrument_schedule", instrument_id=instrument_id))


@bp.post("/users/<int:user_id>/lift")
@login_required
def lift(user_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = violations.lift_suspension(current_user, user_id)  # a refusal renders as its error page
    flash(_("Booking restored for %(email)s.", email=user.email), "success")
    return redirect(url_for("manage.queue"))
