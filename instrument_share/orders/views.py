"""Pages of entrusted testing (委托测试): the order form on an instrument,
the orders a user may see, one order with its timeline and the steps the
viewer may take, the report's download, and the institution's order desk.

Each step is one service of orders/services.py; who may take it is asked
of orders/policy.py first (a wrong side gets 403, an order one may not see
404, as from the services). A refusal changes nothing: a form's is shown
beside its fields, a step the order has moved past is flashed on the order.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..booking.forms import EmptyForm, RatingForm
from ..catalogue.services import get_instrument
from ..errors import Conflict, NotFound, ServiceError, ValidationFailed
from ..formats import money, percent
from ..routing import id_number, page_number
from ..timeutil import platform_today
from ..vouchers.models import VoucherStatus
from ..vouchers.services import spendable_vouchers
from ..web import refusal_message, refused, upload_limit, uploaded_bytes
from . import queues, services
from .downloads import report_response
from .forms import AcceptForm, DeclineForm, OrderForm, QuoteForm, ReportForm
from .models import Order, OrderStatus
from .payment import voucher_part
from .policy import can_act_for_firm, can_handle_order, can_order

bp = Blueprint("orders", __name__)

ORDERS_PAGE = 25


# --- the order form ---------------------------------------------------------------

def _voucher_choices(instrument, amount=None) -> list[SelectChoice]:
    """"No voucher", then the vouchers the services would take for this
    instrument, each with what it would pay of `amount` (a quote) if given."""
    choices = [SelectChoice(0, _("No voucher"))]
    for voucher in spendable_vouchers(current_user, instrument):
        if amount is None:
            label = _("Voucher %(id)s: %(balance)s left, up to %(share)s of the fee",
                      id=voucher.id, balance=money(voucher.balance), share=percent(voucher.max_share))
        else:
            label = _("Voucher %(id)s: %(balance)s left, pays %(part)s of this quote",
                      id=voucher.id, balance=money(voucher.balance), part=money(voucher_part(voucher, amount)))
        choices.append(SelectChoice(voucher.id, label))
    return choices


def _orderable(instrument_id: int):
    """The instrument an order is for (404 if there is none); 403 for whoever may not order."""
    try:
        instrument = get_instrument(instrument_id)
    except NotFound:
        abort(404)
    if not can_order(current_user):
        abort(403)
    return instrument


def _order_page(instrument, form: OrderForm, sample_errors=(), status: int = 200):
    return render_template("orders/new.html", instrument=instrument, form=form.pad(),
                           sample_errors=list(sample_errors),
                           takes_orders=instrument.accepts_orders and instrument.in_service), status


@bp.get("/instruments/<int:instrument_id>/order")
@login_required
def new_order(instrument_id: int):
    instrument = _orderable(instrument_id)
    form = OrderForm(formdata=None)
    form.voucher_id.choices = _voucher_choices(instrument)
    return _order_page(instrument, form)


@bp.post("/instruments/<int:instrument_id>/order")
@login_required
def submit_order(instrument_id: int):
    """Send the order; empty sample rows are left out, and a refused sample's
    problems are shown on its row."""
    instrument = _orderable(instrument_id)
    form = OrderForm()
    form.voucher_id.choices = _voucher_choices(instrument)
    if not form.validate_on_submit():
        return _order_page(instrument, form, status=422)
    rows = form.filled_rows()
    try:
        order = services.submit_order(
            current_user, instrument.id, form.title.data, form.requirements.data, [row.sample() for _i, row in rows],
            desired_by=form.desired_by.data, voucher_id=form.voucher_id.data or None)
    except ServiceError as error:
        if error.status == 404:
            abort(404)
        return _order_page(instrument, form, _sample_refusal(error, form, rows), status=error.status)
    flash(_("Order %(number)s sent: the institution will quote a fee and a turnaround.", number=order.number),
          "success")
    return redirect(url_for("orders.detail", order_id=order.id))


def _sample_refusal(error: ServiceError, form: OrderForm, rows) -> list[str]:
    """Put a refused order's messages beside its fields: `samples.N.field`
    (N counting the filled rows from 1) on that row's field, the rest as
    `refused` does. Returns the messages about the samples as a whole."""
    by_sample = {name: messages for name, messages in error.fields.items()
                 if name == "samples" or name.startswith("samples.")}
    rest = {name: messages for name, messages in error.fields.items() if name not in by_sample}
    refused(ValidationFailed(error.message, rest), form)
    whole = []
    for name, messages in by_sample.items():
        parts = name.split(".")
        translated = [_(message) for message in messages]
        if len(parts) == 3 and parts[1].isdigit() and 1 <= int(parts[1]) <= len(rows) \
                and parts[2] in rows[int(parts[1]) - 1][1].FIELDS:
            field = rows[int(parts[1]) - 1][1][parts[2]]
            field.errors = [*field.errors, *translated]
        else:
            whole.extend(translated)
    return whole


# --- the lists --------------------------------------------------------------------

@bp.get("/orders")
@login_required
def mine():
    """The orders the user may see (a firm's, an institution's, a city's
    firms', all), newest first, by status if asked."""
    status = request.args.get("status") or None
    if status not in set(OrderStatus):
        status = None
    orders, total, page = queues.orders_page(current_user, status, request.args.get("page", 1, type=page_number),
                                             ORDERS_PAGE)
    return render_template("orders/list.html", orders=orders, total=total, page=page,
                           pages=max(1, -(-total // ORDERS_PAGE)), status=status, statuses=list(OrderStatus))


@bp.get("/manage/orders")
@login_required
def desk():
    """The institution's orders by what they wait for (the manager desk's orders)."""
    try:
        found = queues.order_desk(current_user, request.args.get("institution", type=id_number))
    except ServiceError as error:
        abort(error.status)
    return render_template("orders/desk.html", desk=found, institutions=queues.desk_institutions(current_user),
                           today=platform_today(), shown=queues.QUEUE_SHOWN)


# --- one order ---------------------------------------------------------------------

def _load(order_id: int) -> Order:
    try:
        return services.get_order(order_id, current_user)
    except NotFound:
        abort(404)


def _may(order: Order, rule) -> None:
    if not rule(current_user, order):
        abort(403)


def _detail_page(order_id: int, status: int = 200, **forms):
    """The order, its timeline and the forms of the steps the viewer may take
    (those given are shown as they were sent, with their errors)."""
    order = _load(order_id)
    if "quote_form" not in forms:
        forms["quote_form"] = QuoteForm(formdata=None, data={
            "amount": order.quote_amount, "turnaround_days": order.turnaround_days, "note": order.quote_note,
            "valid_until": order.quote_valid_until if order.status == OrderStatus.QUOTED else None})
    accept_form = forms.setdefault("accept_form", AcceptForm(formdata=None, voucher_id=order.voucher_id or 0))
    if can_act_for_firm(current_user, order) and order.status == OrderStatus.QUOTED:
        _offer_vouchers(order, accept_form)  # the voucher chosen with the order first, if it can still pay
        accept_form.amount.data, accept_form.turnaround_days.data = order.quote_amount, order.turnaround_days
        accept_form.version.data = services.quote_version(order)
        # What each voucher offered pays of the quote, as the page shows it:
        # accepting is refused if the chosen one would pay another amount.
        accept_form.seen_parts.data = ",".join(
            f"{voucher.id}:{voucher_part(voucher, order.quote_amount)}"
            for voucher in spendable_vouchers(current_user, order.instrument))
    for name, form_class in (("decline_form", DeclineForm), ("report_form", ReportForm),
                             ("rating_form", RatingForm), ("action_form", EmptyForm)):
        if name not in forms:
            forms[name] = form_class(formdata=None)
    return render_template("orders/detail.html", order=order, today=platform_today(),
                           kept_voucher=_kept_voucher(order), **forms), status


def _kept_voucher(order: Order):
    """Before acceptance: the voucher chosen with the order and its part of
    the quote (None while there is no quote, or if it can no longer pay)."""
    voucher = order.voucher
    if voucher is None or order.status not in (OrderStatus.SUBMITTED, OrderStatus.QUOTED):
        return None
    usable = voucher.state_today == VoucherStatus.ACTIVE and voucher.balance > 0
    part = voucher_part(voucher, order.quote_amount) if usable and order.quote_amount is not None else None
    return voucher, part, usable


@bp.get("/orders/<int:order_id>")
@login_required
def detail(order_id: int):
    return _detail_page(order_id)


@bp.get("/orders/<int:order_id>/report")
@login_required
def report(order_id: int):
    """The report, as an attachment (never shown inline), as the API serves it."""
    try:
        stored = services.report_of(current_user, order_id)
    except NotFound:
        abort(404)
    return report_response(stored)


def _step(order_id: int, rule, form_name: str, form_class, action, done: str, prepare=None):
    """Take one step of the order: the viewer must be on the side `rule`
    names (else 403); the form (made by `form_class`, then `prepare(order,
    form)`) must be valid, then `action(order, form)` calls the service. A
    refused form is shown again with its errors; a step the order has moved
    past (409) is flashed on the order as it is now."""
    order = _load(order_id)
    _may(order, rule)
    form = form_class()
    if prepare is not None:
        prepare(order, form)
    if not form.validate_on_submit():
        return _detail_page(order_id, status=422, **{form_name: form})
    try:
        action(order, form)
    except ServiceError as error:
        refused(error, form)
        if error.status in (403, 404):
            abort(error.status)
        if isinstance(error, Conflict) or not error.fields:
            flash(refusal_message(error), "danger")
            return redirect(url_for("orders.detail", order_id=order_id))
        return _detail_page(order_id, status=error.status, **{form_name: form})
    flash(done, "success")
    return redirect(url_for("orders.detail", order_id=order_id))


@bp.post("/orders/<int:order_id>/quote")
@login_required
def quote(order_id: int):
    return _step(order_id, can_handle_order, "quote_form", QuoteForm, lambda order, form: services.quote_order(
        current_user, order.id, (form.amount.data or "").strip(), form.turnaround_days.data, form.note.data or "",
        form.valid_until.data), _("Quote sent to the firm."))


@bp.post("/orders/<int:order_id>/decline")
@login_required
def decline(order_id: int):
    return _step(order_id, can_handle_order, "decline_form", DeclineForm,
                 lambda order, form: services.decline_order(current_user, order.id, form.reason.data or ""),
                 _("Order declined; the firm is told why."))


def _seen_number(text: str | None):
    """A number the accepting firm saw (else as sent, and the service refuses
    it); only ASCII digits: int("²") raises (found by review)."""
    return int(text) if text and text.isascii() and text.isdecimal() else (text or None)


def _seen_part(form: AcceptForm) -> str | None:
    """The part of the quote the page said the chosen voucher pays ("0.00"
    without a voucher); None when the page did not say (an old page)."""
    if not form.voucher_id.data:
        return "0.00" if form.seen_parts.data is not None else None
    for pair in (form.seen_parts.data or "").split(","):
        voucher, _sep, part = pair.partition(":")
        if voucher == str(form.voucher_id.data):
            return part
    return None


def _offer_vouchers(order: Order, form: AcceptForm) -> None:
    form.voucher_id.choices = _voucher_choices(order.instrument, order.quote_amount) \
        if order.quote_amount is not None else [SelectChoice(0, _("No voucher"))]


@bp.post("/orders/<int:order_id>/accept")
@login_required
def accept(order_id: int):
    return _step(order_id, can_act_for_firm, "accept_form", AcceptForm, lambda order, form: services.accept_quote(
        current_user, order.id, form.amount.data or None, _seen_number(form.turnaround_days.data),
        voucher_id=form.voucher_id.data or None, voucher_amount=_seen_part(form),
        version=_seen_number(form.version.data)), _("Quote accepted: send your samples to the institution."),
        prepare=_offer_vouchers)


@bp.post("/orders/<int:order_id>/reject")
@login_required
def reject(order_id: int):
    return _step(order_id, can_act_for_firm, "action_form", EmptyForm,
                 lambda order, form: services.reject_quote(current_user, order.id), _("Quote rejected."))


@bp.post("/orders/<int:order_id>/withdraw")
@login_required
def withdraw(order_id: int):
    return _step(order_id, can_act_for_firm, "action_form", EmptyForm,
                 lambda order, form: services.withdraw_order(current_user, order.id), _("Order withdrawn."))


@bp.post("/orders/<int:order_id>/receive")
@login_required
def receive(order_id: int):
    return _step(order_id, can_handle_order, "action_form", EmptyForm,
                 lambda order, form: services.receive_samples(current_user, order.id),
                 _("Samples received: the turnaround has started."))


def _upload(order: Order, form: ReportForm) -> None:
    services.may_upload_report(current_user, order.id)  # before the file is read for nothing
    data = uploaded_bytes(form.file.data, services.MAX_REPORT_BYTES)
    services.upload_report(current_user, order.id, data, form.machine_minutes.data)


@bp.post("/orders/<int:order_id>/report")
@upload_limit(services.MAX_REPORT_BYTES)
@login_required
def upload_report(order_id: int):
    return _step(order_id, can_handle_order, "report_form", ReportForm, _upload,
                 _("Report uploaded: the firm can download it now."))


@bp.post("/orders/<int:order_id>/rate")
@login_required
def rate(order_id: int):
    return _step(order_id, can_act_for_firm, "rating_form", RatingForm,
                 lambda order, form: services.rate_order(current_user, order.id, form.rating.data,
                                                         form.comment.data or ""),
                 _("Thank you for rating the service. The order is closed."))
