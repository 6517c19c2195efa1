"""Entrusted testing (API.md, "Entrusted testing"): every transition of an
order is one function here. Each locks the order's row, reads it again and
checks its status under the lock (database.lock), writes an event, and
mails the other side in its language. A refused transition changes nothing
(409 for the wrong status, 422 for bad input, 404 for an order the user
may not see, 403 for a side that may not act).

The order's number is `WT-<year>-<6 random digits>`, unique: numbers do not
count up, so one firm's number tells nothing of another's orders; URLs use
the id, and another party's order is not found.
"""
from __future__ import annotations

import secrets
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import Firm, Role, User
from ..booking.calendar import effective_weekday
from ..catalogue.models import Instrument
from ..database import begin_write_transaction, lock, lock_all
from ..db_types import MAX_MONEY, to_money
from ..errors import N_, Conflict, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..text import TextRefused, clean_line, clean_text
from ..timeutil import platform_today, utcnow
from ..vouchers.services import usable_voucher
from . import mails, payment
from .models import Order, OrderEvent, OrderSample, OrderStatus, StoredFile
from .policy import can_act_for_firm, can_get_report, can_handle_order, can_order, can_view_order

MAX_SAMPLES = 50
MAX_REPORT_BYTES = 20 * 1024 * 1024
QUOTE_VALID_DAYS = 14  # when the manager gives no date
OPEN = (OrderStatus.SUBMITTED, OrderStatus.QUOTED)  # before the firm's decision
# The institution may end an order, saying why, until the report: samples
# that never came or cannot be tested, an instrument that broke. Whatever a
# voucher holds goes back (found by review: a report was the only way out,
# and it spent the voucher for a service never given).
DECLINABLE = (*OPEN, OrderStatus.ACCEPTED, OrderStatus.RECEIVED)


def add_working_days(start: date, days: int) -> date:
    """`days` working days after `start` (Chinese holidays off, make-up days on)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        weekday = effective_weekday(day)
        if weekday is not None and weekday < 5:
            left -= 1
    return day


def _line(errors: dict, name: str, value, most: int, required: bool = True) -> str:
    try:
        text = clean_line(value or "")
    except TextRefused as refused:
        errors[name] = [refused.message]
        return ""
    if required and not text:
        errors[name] = [N_("Required: give some visible text.")]
    elif len(text) > most:
        errors[name] = [N_("Too long.")]
    return text


def _text(errors: dict, name: str, value, most: int = 4000) -> str:
    try:
        text = clean_text(value or "")
    except TextRefused as refused:
        errors[name] = [refused.message]
        return ""
    if len(text) > most:
        errors[name] = [N_("Too long.")]
    return text


def _samples(errors: dict, samples) -> list[OrderSample]:
    if not isinstance(samples, list) or not 1 <= len(samples) <= MAX_SAMPLES:
        errors["samples"] = [N_("List between 1 and 50 samples.")]
        return []
    made = []
    for position, sample in enumerate(samples, start=1):
        found: dict = {}
        sample = sample if isinstance(sample, dict) else {}
        name = _line(found, "name", sample.get("name"), 200)
        unit = _line(found, "unit", sample.get("unit"), 20)
        try:
            quantity = Decimal(str(sample.get("quantity")))
            # at most three decimals, checked as stored: 0.0001 is not above zero
            if not quantity.is_finite() or quantity != quantity.quantize(Decimal("0.001")) \
                    or not 0 < quantity < Decimal("1e9"):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            found["quantity"] = [N_("A quantity above zero, with at most three decimals.")]
            quantity = Decimal(0)
        description = _text(found, "description", sample.get("description"), 2000)
        hazards = _text(found, "hazards", sample.get("hazards"), 2000)
        for field, messages in found.items():
            errors[f"samples.{position}.{field}"] = messages
        made.append(OrderSample(position=position, name=name, quantity=quantity.quantize(Decimal("0.001")),
                                unit=unit, description=description, hazards=hazards))
    return made


def _new_number(year: int) -> str:
    for _attempt in range(20):
        number = f"WT-{year}-{secrets.randbelow(1_000_000):06d}"
        if db.session.scalar(sa.select(Order.id).where(Order.number == number)) is None:
            return number
    raise Conflict(N_("No order number is free just now; try again."))


def _record(order: Order, actor: User | None, action: str, **details) -> None:
    order.events.append(OrderEvent(actor=actor, action=action, details=details, at=utcnow()))


def submit_order(user: User, instrument_id, title, requirements, samples, desired_by: date | None = None,
                 voucher_id: int | None = None) -> Order:
    """A firm asks an institution to test its samples on an instrument."""
    if not can_order(user):
        raise PermissionDenied(N_("Orders are sent by firms."))
    if user.email_verified_at is None:
        raise PermissionDenied(N_("Confirm your e-mail address before ordering: open the link in the mail "
                                  "we sent you, or have it sent again from your profile page."))
    errors: dict[str, list[str]] = {}
    instrument = db.session.get(Instrument, instrument_id) if isinstance(instrument_id, int) else None
    if instrument is None:
        errors["instrument_id"] = [N_("No such instrument.")]
    elif not instrument.accepts_orders or not instrument.in_service:
        errors["instrument_id"] = [N_("This instrument takes no orders for entrusted testing.")]
    title = _line(errors, "title", title, 200)
    requirements = _text(errors, "requirements", requirements)
    made = _samples(errors, samples)
    if desired_by is not None and desired_by < platform_today():
        errors["desired_by"] = [N_("This day is in the past.")]
    if errors:
        raise ValidationFailed(N_("The order could not be accepted."), errors)
    if voucher_id is not None:  # checked now (422), held only at acceptance
        usable_voucher(user, voucher_id, instrument, platform_today())
    begin_write_transaction()
    order = Order(number=_new_number(platform_today().year), instrument_id=instrument.id,
                  institution_id=instrument.institution_id, firm_id=user.firm_id, user_id=user.id, title=title,
                  requirements=requirements, desired_by=desired_by, status=OrderStatus.SUBMITTED, samples=made,
                  voucher_id=voucher_id)
    db.session.add(order)
    _record(order, user, "submitted")
    db.session.flush()
    mails.to_institution(order, "submitted")
    return order


def get_order(order_id, user: User) -> Order:
    order = db.session.get(Order, order_id) if isinstance(order_id, int) else None
    if order is None or not can_view_order(user, order):
        raise NotFound(N_("No such order."))
    return order


def list_orders(user: User, status: str | None = None) -> sa.Select:
    """The orders a user may see: the firm's, the institution's, the city's
    firms' (bureau), all (joint office); newest first."""
    query = sa.select(Order).options(
        selectinload(Order.samples), selectinload(Order.events).joinedload(OrderEvent.actor),
        joinedload(Order.firm), joinedload(Order.instrument), joinedload(Order.institution),
        joinedload(Order.report_file))
    if user.role == Role.FIRM:
        query = query.where(Order.firm_id == user.firm_id)
    elif user.role == Role.MANAGER:
        query = query.where(Order.institution_id == user.institution_id)
    elif user.role == Role.CITY_ADMIN:
        query = query.where(Order.firm_id.in_(sa.select(Firm.id).where(Firm.city_code == user.city_code)))
    if status is not None:
        query = query.where(Order.status == status)
    return query.order_by(Order.created_at.desc(), Order.id.desc())


def _locked(order_id, user: User, may, refusal: str, statuses: tuple[str, ...]) -> Order:
    """The order, locked and read again, if the user may see it (else 404),
    may act on it (else 403) and it is in one of `statuses` (else 409)."""
    order = get_order(order_id, user)
    if not may(user, order):
        raise PermissionDenied(refusal)
    order = lock(Order, order.id)
    if order.status not in statuses:
        raise Conflict(N_("The order is no longer at this step: reload it to see where it is."))
    return order


INSTITUTION_ONLY = N_("Only the institution's managers do this.")
FIRM_ONLY = N_("Only the ordering firm does this.")


def quote_order(user: User, order_id, amount, turnaround_days, note: str = "",
                valid_until: date | None = None) -> Order:
    """The institution's price and turnaround; a new quote replaces an
    earlier one until the firm accepts."""
    errors: dict[str, list[str]] = {}
    try:
        amount = to_money(Decimal(str(amount)))
        if not (Decimal("0") < amount <= MAX_MONEY):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["amount"] = [N_("An amount above zero.")]
    if not isinstance(turnaround_days, int) or isinstance(turnaround_days, bool) or not 1 <= turnaround_days <= 365:
        errors["turnaround_days"] = [N_("Between 1 and 365 working days.")]
    note = _text(errors, "note", note, 2000)
    today = platform_today()
    valid_until = valid_until or today + timedelta(days=QUOTE_VALID_DAYS)
    if valid_until < today:
        errors["valid_until"] = [N_("This day is in the past.")]
    if errors:
        raise ValidationFailed(N_("The quote could not be accepted."), errors)
    order = _locked(order_id, user, can_handle_order, INSTITUTION_ONLY, OPEN)
    order.status, order.quote_amount, order.turnaround_days = OrderStatus.QUOTED, amount, turnaround_days
    order.voucher_amount, order.firm_pays = Decimal("0.00"), amount  # a voucher holds only from acceptance
    order.quote_note, order.quote_valid_until = note, valid_until
    _record(order, user, "quoted", amount=str(amount), turnaround_days=turnaround_days,
            valid_until=valid_until.isoformat())
    db.session.flush()
    mails.to_firm(order, "quoted")
    return order


def decline_order(user: User, order_id, reason: str) -> Order:
    errors: dict[str, list[str]] = {}
    reason = _text(errors, "reason", reason, 2000)
    if not errors and not reason:
        errors["reason"] = [N_("Say why, for the firm.")]
    if errors:
        raise ValidationFailed(N_("The order could not be declined."), errors)
    order = _locked(order_id, user, can_handle_order, INSTITUTION_ONLY, DECLINABLE)
    order.status, order.decline_reason = OrderStatus.DECLINED, reason
    payment.release(order, user)
    _record(order, user, "declined", reason=reason)
    db.session.flush()
    mails.to_firm(order, "declined")
    return order


KEEP = object()  # accept_quote: pay with the voucher chosen when the order was sent


def quote_version(order: Order) -> int:
    """How many quotes the order has had: the one the firm reads is this one."""
    return sum(1 for event in order.events if event.action == "quoted")


def _seen_money(value, field: str) -> Decimal | None:
    try:
        return to_money(Decimal(str(value))) if value is not None else None
    except (InvalidOperation, ValueError):
        raise ValidationFailed(N_("The acceptance could not be read."), {field: [N_("An amount in yuan.")]}) from None


def accept_quote(user: User, order_id, amount=None, turnaround_days: int | None = None,
                 voucher_id=KEEP, voucher_amount=None, version: int | None = None) -> Order:
    """The firm accepts the quote. With what it saw (the `amount`,
    `turnaround_days`, the quote's `version`, and the `voucher_amount` the
    voucher was to pay), the acceptance is refused (409) if any of it changed
    meanwhile: nobody accepts a price, terms or a voucher part they did not
    see (found by review; a new quote with the same price may change the note).

    `voucher_id` KEEP pays with the voucher chosen at submission, None with
    none, a voucher's id with that one: it must be usable today (422
    otherwise, and nothing is accepted) and holds its part of the quote."""
    seen_amount, seen_part = _seen_money(amount, "amount"), _seen_money(voucher_amount, "voucher_amount")
    order = _locked(order_id, user, can_act_for_firm, FIRM_ONLY, (OrderStatus.QUOTED,))
    if order.quote_valid_until < platform_today():
        raise Conflict(N_("The quote has lapsed; ask the institution for a new one."))
    if seen_amount not in (None, order.quote_amount) or turnaround_days not in (None, order.turnaround_days) \
            or version not in (None, quote_version(order)):
        raise Conflict(N_("The institution changed its quote meanwhile: read the new one before accepting."))
    voucher_id = order.voucher_id if voucher_id is KEEP else voucher_id
    if voucher_id is not None:  # refused before anything changes
        usable_voucher(user, voucher_id, order.instrument, platform_today())
    order.status, order.voucher_id = OrderStatus.ACCEPTED, None
    order.voucher_amount, order.firm_pays = Decimal("0.00"), order.quote_amount
    if voucher_id is not None:
        payment.hold(order, voucher_id, user, expected=seen_part)
    elif seen_part not in (None, Decimal("0.00")):
        raise Conflict(N_("The voucher's part of the quote changed since you saw it: read the new figures "
                          "before accepting."))
    _record(order, user, "accepted", amount=str(order.quote_amount), voucher_amount=str(order.voucher_amount))
    db.session.flush()
    mails.to_institution(order, "accepted")
    return order


def reject_quote(user: User, order_id) -> Order:
    order = _locked(order_id, user, can_act_for_firm, FIRM_ONLY, (OrderStatus.QUOTED,))
    order.status = OrderStatus.REJECTED
    _record(order, user, "rejected")
    db.session.flush()
    mails.to_institution(order, "rejected")
    return order


def withdraw_order(user: User, order_id) -> Order:
    """The firm calls the order off, any time before the samples arrive."""
    order = _locked(order_id, user, can_act_for_firm, FIRM_ONLY, (*OPEN, OrderStatus.ACCEPTED))
    order.status = OrderStatus.WITHDRAWN
    payment.release(order, user)
    _record(order, user, "withdrawn")
    db.session.flush()
    mails.to_institution(order, "withdrawn")
    return order


def receive_samples(user: User, order_id) -> Order:
    """The samples arrived: the turnaround starts (due after its working days)."""
    order = _locked(order_id, user, can_handle_order, INSTITUTION_ONLY, (OrderStatus.ACCEPTED,))
    today = platform_today()
    order.status, order.received_on = OrderStatus.RECEIVED, today
    order.due_on = add_working_days(today, order.turnaround_days)
    _record(order, user, "received", due_on=order.due_on.isoformat())
    db.session.flush()
    mails.to_firm(order, "received")
    return order


def _is_pdf(data: bytes) -> bool:
    """A PDF by its content: the header at the start and an end-of-file mark
    near the end (what a reader needs), whatever the name or type claimed."""
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]


def may_upload_report(user: User, order_id) -> None:
    """Refuse before an upload is read: who may not see the order (404),
    may not handle it (403), or an order not waiting for its report (409)."""
    order = get_order(order_id, user)
    if not can_handle_order(user, order):
        raise PermissionDenied(INSTITUTION_ONLY)
    if order.status != OrderStatus.RECEIVED:
        raise Conflict(N_("The order is no longer at this step: reload it to see where it is."))


def upload_report(user: User, order_id, data: bytes, machine_minutes: int | None = None) -> Order:
    """The report (a PDF of at most 20 MB): the order is reported. The
    uploader's file name is not kept (the report is served as
    WT-…-report.pdf)."""
    errors: dict[str, list[str]] = {}
    if len(data) > MAX_REPORT_BYTES:
        errors["file"] = [N_("At most 20 MB.")]
    elif not _is_pdf(data):
        errors["file"] = [N_("Upload the report as a PDF file.")]
    if machine_minutes is not None and not 0 < machine_minutes <= 100_000:
        errors["machine_minutes"] = [N_("Minutes between 1 and 100,000.")]
    if errors:
        raise ValidationFailed(N_("The report could not be accepted."), errors)
    order = _locked(order_id, user, can_handle_order, INSTITUTION_ONLY, (OrderStatus.RECEIVED,))
    stored = StoredFile(filename=f"{order.number}-report.pdf", content_type="application/pdf", size=len(data),
                        data=data, created_by_id=user.id)
    db.session.add(stored)
    db.session.flush()
    order.status, order.report_file_id, order.machine_minutes = OrderStatus.REPORTED, stored.id, machine_minutes
    payment.capture(order, user)
    _record(order, user, "reported", size=len(data))
    db.session.flush()
    mails.to_firm(order, "reported")
    return order


def report_of(user: User, order_id) -> StoredFile:
    """The report file, for the firm, the institution's managers and the joint office."""
    order = get_order(order_id, user)
    if not can_get_report(user, order):
        raise NotFound(N_("No such order."))
    if order.report_file is None:
        raise NotFound(N_("The report is not there yet."))
    return order.report_file


def rate_order(user: User, order_id, rating, comment: str = "") -> Order:
    """The firm rates the service, which closes the order."""
    errors: dict[str, list[str]] = {}
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        errors["rating"] = [N_("From 1 (very poor) to 5 (very satisfied).")]
    comment = _text(errors, "comment", comment, 2000)
    if errors:
        raise ValidationFailed(N_("The rating could not be accepted."), errors)
    order = _locked(order_id, user, can_act_for_firm, FIRM_ONLY, (OrderStatus.REPORTED,))
    order.status, order.rating, order.rating_comment = OrderStatus.CLOSED, rating, comment
    _record(order, user, "closed", rating=rating)
    db.session.flush()
    mails.to_institution(order, "closed")
    return order


LAPSE_BATCH = 500  # per transaction: the write lock stays short


def lapse_quotes(today: date) -> int:
    """Quotes nobody accepted by their last valid day lapse: the order ends
    as `rejected` (the firm did not take the quote), with a `lapsed` event,
    and both sides are told. Nothing is held before acceptance, so no money
    moves. Returns how many lapsed (at most LAPSE_BATCH; the job repeats)."""
    due = lock_all(sa.select(Order).where(Order.status == OrderStatus.QUOTED, Order.quote_valid_until < today)
                   .order_by(Order.id).limit(LAPSE_BATCH))
    for order in due:
        order.status = OrderStatus.REJECTED
        _record(order, None, "lapsed", valid_until=order.quote_valid_until.isoformat())
        db.session.flush()
        mails.to_firm(order, "lapsed")
        mails.to_institution(order, "lapsed")
    return len(due)


def overdue_orders(today: date, institution_id: int | None = None) -> list[Order]:
    """Orders whose samples are in the lab past their due date, the most overdue first."""
    query = sa.select(Order).options(joinedload(Order.firm), joinedload(Order.instrument)).where(
        Order.status == OrderStatus.RECEIVED, Order.due_on < today)
    if institution_id is not None:
        query = query.where(Order.institution_id == institution_id)
    return list(db.session.scalars(query.order_by(Order.due_on, Order.id)))
