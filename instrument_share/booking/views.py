"""Booking pages: the instrument's week and form, my bookings, one booking."""
from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..catalogue.models import Instrument
from ..catalogue.photos import photo_image
from ..catalogue.policy import can_manage_instrument
from ..catalogue.qualifications import needs_qualification, qualification_of
from ..catalogue.services import get_instrument
from ..errors import N_, Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..formats import money, percent
from ..routing import id_number
from ..timeutil import platform_zone, to_platform, utcnow
from ..web import flashes_refusals, local_name, refusal_message, refused, safe_next_url
from . import quote, receipts, services, usage
from .export import MAX_ROWS, history_file
from .forms import (
    BOOKING_STATUS_LABELS,
    BookingForm,
    EmptyForm,
    HistoryFilterForm,
    RatingForm,
    ReasonForm,
    RescheduleForm,
    UsageForm,
)
from .models import BOOKING_STATUSES, BookingStatus, ServiceMode
from .payment import payment
from .week import build_week, monday_of, shown_bookings

bp = Blueprint("booking", __name__)


def local_input(value: datetime) -> str:
    """An aware datetime as the value of a datetime-local input."""
    return to_platform(value).strftime("%Y-%m-%dT%H:%M")


def aware(value: datetime | None) -> datetime | None:
    """A datetime-local input's naive value, read in the platform zone."""
    return None if value is None else value.replace(tzinfo=platform_zone())


def booking_form(instrument: Instrument) -> BookingForm:
    """The booking form, offering the vouchers the booking service would take
    (the payment's spendable_vouchers: the related-party rule included)."""
    form = BookingForm()
    choices = [SelectChoice(0, _("No voucher"))]
    if current_user.is_authenticated:
        choices += [
            SelectChoice(v.id, _("Voucher %(id)s: %(balance)s left, up to %(share)s of the fee",
                                 id=v.id, balance=money(v.balance), share=percent(v.max_share)))
            for v in payment().spendable_vouchers(current_user, instrument)
        ]
    form.voucher_id.choices = choices
    return form


def render_instrument_page(instrument: Instrument, form: BookingForm | None = None,
                           conflict: Conflict | None = None, status: int = 200,
                           offer: quote.Quote | None = None, quoted_key: str = ""):
    """The instrument's record, week calendar and booking form (with the
    quote of what the form asks, once it was sent)."""
    now = utcnow()
    if offer is not None and offer.conflicts:  # shown as a refusal would be, suggestions and all
        conflict = SimpleNamespace(extra={"conflicts": offer.conflicts, "suggestions": offer.suggestions})
    try:
        week_of = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        week_of = to_platform(now).date()
    week_of = min(max(week_of, date(2000, 1, 3)), date(2100, 1, 1))
    if form is None:
        form = booking_form(instrument)
        for name in ("start", "end"):
            with contextlib.suppress(ValueError):
                getattr(form, name).data = datetime.fromisoformat(request.args.get(name, ""))
    monday = monday_of(week_of)
    # Managers see whose each booking is; everybody else only that it is taken.
    managed = current_user.is_authenticated and can_manage_instrument(current_user, instrument)
    week = build_week(instrument, monday, now, shown_bookings(instrument, monday) if managed else ())
    # Said before anything is typed: a firm user must be qualified for a self-service instrument.
    must_qualify = current_user.is_authenticated and needs_qualification(current_user, instrument)
    return render_template(
        "booking/instrument.html", instrument=instrument, week=week, form=form,
        conflict=conflict, local_input=local_input, must_qualify=must_qualify,
        qualification=qualification_of(current_user, instrument) if must_qualify else None,
        today=to_platform(now).date(), offer=offer, quoted_key=quoted_key,
    ), status


@bp.get("/instruments/<int:instrument_id>")
def instrument(instrument_id: int):
    try:
        item = get_instrument(instrument_id)
    except NotFound:
        abort(404)
    return render_instrument_page(item)


# The lower decorator registers first: a link without `thumbnail` must find the display rule.
@bp.get("/photos/<int:photo_id>/thumbnail.webp", defaults={"thumbnail": True})
@bp.get("/photos/<int:photo_id>.webp", defaults={"thumbnail": False})
def photo(photo_id: int, thumbnail: bool):
    """An instrument's photo, as the platform re-encoded it (catalogue/photos.py)."""
    try:
        data = photo_image(photo_id, thumbnail)
    except NotFound:
        abort(404)
    response = Response(data, mimetype="image/webp")
    # A photo never changes under its address (a new photo gets a new id).
    response.headers["Cache-Control"] = "public, max-age=604800, immutable"
    return response


def _quoted_figures() -> tuple[Decimal, Decimal, str] | None:
    """The fee, voucher part and status the confirmed quote showed (hidden
    in its form), or None if they are missing or not figures."""
    try:
        return (Decimal(request.form["quoted_cost"]), Decimal(request.form["quoted_voucher"]),
                BookingStatus(request.form["quoted_status"]))
    except (KeyError, ValueError, ArithmeticError):
        return None


def _quoted_key(form: BookingForm) -> str:
    """What a preview priced, to tell whether the form was changed after it."""
    return "|".join(str(value) for value in (form.start.data, form.end.data, form.weeks.data or 1,
                                             form.voucher_id.data or 0))


@bp.post("/instruments/<int:instrument_id>/book")
@login_required
def book(instrument_id: int):
    """Two steps, so that nothing is booked unseen: the form's first POST
    shows the quote (price, voucher part, the firm's part, the status, every
    occurrence and what stands in its way); "confirm" books, unless the
    times or the voucher were changed after the quote (then the new quote
    is shown instead)."""
    instrument = db.session.get(Instrument, instrument_id) or abort(404)
    form = booking_form(instrument)
    if not form.validate_on_submit():
        return render_instrument_page(instrument, form, status=422)
    weeks = form.weeks.data or 1
    request_args = dict(
        user=current_user, instrument_id=instrument.id, start=aware(form.start.data), end=aware(form.end.data),
        purpose=form.purpose.data, recurrence=f"FREQ=WEEKLY;COUNT={weeks}" if weeks > 1 else None,
        voucher_id=form.voucher_id.data or None,
    )
    quoted = request.form.get("quoted")
    expected = _quoted_figures() if quoted is not None else None
    if not request.form.get("confirm") or (quoted is not None and (quoted != _quoted_key(form) or expected is None)):
        offer = quote.quote_booking(**request_args)
        for name, messages in offer.errors.items():  # a field's refusal beside the field, too
            if name in form and name != "csrf_token":
                form[name].errors = [*form[name].errors, *(_(message) for message in messages)]
        return render_instrument_page(instrument, form, offer=offer, quoted_key=_quoted_key(form),
                                      status=422 if offer.errors else 200)
    try:
        bookings = services.create_booking(**request_args, expected=expected)
    except Conflict as error:
        return render_instrument_page(instrument, form, conflict=error, status=409)
    except ValidationFailed as error:
        refused(error, form)
        if "quote" in error.fields:  # changed since it was shown: the new quote, and why
            return render_instrument_page(instrument, form, offer=quote.quote_booking(**request_args),
                                          quoted_key=_quoted_key(form), status=422)
        return render_instrument_page(instrument, form, status=422)
    first = bookings[0]
    if first.status == BookingStatus.PENDING:
        flash(_("Request sent: the instrument's managers will confirm it."), "info")
    else:
        flash(_("Booked and confirmed."), "success")
    return redirect(url_for("booking.detail", booking_id=first.id))


HISTORY_PAGE = 25
UPCOMING_SHOWN = 20
MAX_PAGE = 100_000  # past the last page an empty one, never an integer the database cannot hold


def _history_filters():
    """The history's filter form and what it selects (bad values are shown
    beside their field and select nothing extra)."""
    form = HistoryFilterForm(request.args)
    form.status.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(status, BOOKING_STATUS_LABELS[status]) for status in BOOKING_STATUSES]
    form.instrument.choices = [SelectChoice(0, _("All"))] + [
        SelectChoice(i.id, local_name(i))
        for i in services.booked_instruments(current_user, also=request.args.get("instrument", type=id_number))]
    form.validate()
    zone = platform_zone()

    def kept(field):  # a value with an error beside it selects nothing
        return None if field.errors else field.data or None

    first, last = kept(form.from_), kept(form.to)
    filters = {
        "status": kept(form.status), "instrument_id": kept(form.instrument),
        "start": datetime.combine(first, datetime.min.time(), zone) if first else None,
        "end": datetime.combine(last + timedelta(days=1), datetime.min.time(), zone) if last else None,
    }
    return form, filters


@bp.get("/bookings")
@login_required
def mine():
    """What is ahead, then every booking of the firm (or one's own), paged,
    filtered and downloadable."""
    form, filters = _history_filters()
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    past, total = services.history_page(current_user, page, HISTORY_PAGE, **filters)
    # The next ones only (a firm of many engineers has hundreds ahead): all
    # of them are in the history below, which filters and pages.
    upcoming = services.upcoming_bookings(current_user, utcnow(), most=UPCOMING_SHOWN + 1)
    return render_template("booking/mine.html", upcoming=upcoming[:UPCOMING_SHOWN],
                           more_upcoming=len(upcoming) > UPCOMING_SHOWN, past=past, total=total, page=page, pages=max(1, -(-total // HISTORY_PAGE)),
                           filter_form=form, action_form=EmptyForm(), rating_form=RatingForm(),
                           export_query=_filter_query(), this_month=recent_months(1)[0].strftime("%Y-%m"))


def _filter_query() -> str:
    """The filters of this request, for the download links (and nothing else)."""
    kept = {name: request.args[name] for name in ("status", "instrument", "from_", "to") if request.args.get(name)}
    return "?" + urlencode(kept) if kept else ""


@bp.get("/bookings/export.xlsx", defaults={"fmt": "xlsx"})
@bp.get("/bookings/export.csv", defaults={"fmt": "csv"})
@login_required
def export(fmt: str):
    """The history the filters select, as one file (at most 20,000 bookings)."""
    _form, filters = _history_filters()
    try:
        bookings = services.all_bookings(current_user, MAX_ROWS, mine=True, **filters)
    except ValidationFailed as error:
        flash(refusal_message(error), "danger")
        return redirect(url_for("booking.mine") + _filter_query())
    return history_file(bookings, fmt)


def _load(booking_id: int):
    try:
        return services.get_booking(booking_id, current_user)
    except NotFound:
        abort(404)


@bp.get("/bookings/<int:booking_id>")
@login_required
def detail(booking_id: int, reschedule_form=None, usage_form=None, conflict=None, status=200):
    booking = _load(booking_id)
    if reschedule_form is None:
        reschedule_form = RescheduleForm(start=to_platform(booking.start).replace(tzinfo=None),
                                         end=to_platform(booking.end).replace(tzinfo=None))
    if usage_form is None:
        usage_form = UsageForm(start=to_platform(booking.used_start or booking.start).replace(tzinfo=None),
                               end=to_platform(booking.used_end or booking.end).replace(tzinfo=None),
                               service_mode=booking.service_mode or ServiceMode.GUIDED)
    return render_template(
        "booking/detail.html", booking=booking, now=utcnow(), reschedule_form=reschedule_form,
        usage_form=usage_form, reason_form=ReasonForm(), rating_form=RatingForm(),
        action_form=EmptyForm(), conflict=conflict, check_in_open=usage.check_in_open(booking, utcnow()),
    ), status


@bp.post("/bookings/<int:booking_id>/reschedule")
@login_required
def reschedule(booking_id: int):
    booking = _load(booking_id)
    form = RescheduleForm()
    if not form.validate_on_submit():
        return detail(booking_id, reschedule_form=form, status=422)
    try:
        services.reschedule_booking(booking, current_user, aware(form.start.data), aware(form.end.data))
    except Conflict as error:
        return detail(booking_id, reschedule_form=form, conflict=refused(error), status=409)
    except ValidationFailed as error:
        refused(error, form)
        return detail(booking_id, reschedule_form=form, status=422)
    flash(_("Booking moved."), "success")
    return redirect(url_for("booking.detail", booking_id=booking_id))


def _booking_page(booking_id: int) -> str:
    return url_for("booking.detail", booking_id=booking_id)


def _submitted(booking_id: int, form_class=EmptyForm):
    """The booking a button acts on and its form, valid, or a refusal."""
    booking = _load(booking_id)
    form = form_class()
    if not form.validate_on_submit():
        raise ValidationFailed(N_("The form was not valid; please try again."))
    return booking, form


def _done(booking_id: int, message: str):
    flash(message, "success")
    return redirect(safe_next_url(request.form.get("next")) or _booking_page(booking_id))


@bp.post("/bookings/<int:booking_id>/cancel")
@login_required
@flashes_refusals(back=_booking_page)
def cancel(booking_id: int):
    booking, form = _submitted(booking_id, ReasonForm)
    services.cancel_booking(booking, current_user, form.reason.data)
    return _done(booking_id, _("Booking cancelled."))


@bp.post("/bookings/<int:booking_id>/approve")
@login_required
@flashes_refusals(back=_booking_page)
def approve(booking_id: int):
    booking, _form = _submitted(booking_id)
    services.approve_booking(booking, current_user)
    return _done(booking_id, _("Booking approved."))


@bp.post("/bookings/<int:booking_id>/reject")
@login_required
@flashes_refusals(back=_booking_page)
def reject(booking_id: int):
    booking, form = _submitted(booking_id, ReasonForm)
    services.reject_booking(booking, current_user, form.reason.data)
    return _done(booking_id, _("Booking rejected."))


@bp.post("/bookings/<int:booking_id>/check-in")
@login_required
@flashes_refusals(back=_booking_page)
def check_in(booking_id: int):
    booking, _form = _submitted(booking_id)
    usage.check_in(booking, current_user)
    return _done(booking_id, _("Checked in."))


@bp.post("/bookings/<int:booking_id>/usage")
@login_required
@flashes_refusals(back=_booking_page)
def record_usage(booking_id: int):
    booking, form = _submitted(booking_id, UsageForm)
    usage.record_usage(booking, current_user, aware(form.start.data), aware(form.end.data), form.service_mode.data)
    return _done(booking_id, _("Usage recorded."))


@bp.post("/bookings/<int:booking_id>/rating")
@login_required
@flashes_refusals(back=_booking_page)
def rate(booking_id: int):
    booking, form = _submitted(booking_id, RatingForm)
    usage.rate_booking(booking, current_user, form.rating.data, form.comment.data)
    return _done(booking_id, _("Thank you for rating the service."))


@bp.app_template_global()
def week_link(monday: date) -> str:
    return url_for(request.endpoint, **(request.view_args or {}), week=monday.isoformat())


@bp.get("/bookings/<int:booking_id>/receipt")
@login_required
def receipt(booking_id: int):
    """The receipt as a printable page (the PDF has the same figures)."""
    try:
        booking = receipts.receipt_booking(booking_id, current_user)
    except NotFound:
        abort(404)
    return render_template("booking/receipt.html", booking=booking)


def _month(text: str) -> date:
    try:
        month = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        abort(404)
    if not date(2000, 1, 1) <= month <= date(2100, 1, 1):
        abort(404)
    return month


@bp.get("/statements/<month>")
@login_required
def statement(month: str):
    """A firm's completed bookings of one month and their voucher parts, printable."""
    return render_template("booking/statement.html", statement=receipts.statement_of(current_user, _month(month)),
                           months=recent_months())


@bp.get("/statements/<month>.pdf")
@login_required
def statement_pdf(month: str):
    found = receipts.statement_of(current_user, _month(month))
    return Response(receipts.statement_pdf(found), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="statement-{found.month:%Y-%m}.pdf"'})


def recent_months(count: int = 12) -> list[date]:
    """The first days of this month and the ones before, latest first."""
    month = to_platform(utcnow()).date().replace(day=1)
    months = []
    for _n in range(count):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months
