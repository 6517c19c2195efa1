"""Voucher rules: who issues, who spends, and the ledger's movements.

Money is Decimal with two places, rounded half-up once (db_types.to_money).
Every movement locks the voucher's row first (PostgreSQL FOR UPDATE; SQLite
one writer transaction), so two bookings spending at the same moment are
served one after the other; the CHECK on `balance >= 0` is the last guard.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from ..accounts.models import Firm, User
from ..booking.models import Booking
from ..catalogue.models import Instrument
from ..database import begin_write_transaction, lock
from ..db_types import to_money, utcnow
from ..errors import N_, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..timeutil import to_platform
from .models import Voucher, VoucherEntry

MAX_VOUCHER_AMOUNT = Decimal("10000000.00")


def _today() -> date:
    return to_platform(utcnow()).date()


def _decimal(value, field: str, errors: dict) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[field] = [N_("Give a number.")]
        return None
    if not number.is_finite():
        errors[field] = [N_("Give a number.")]
        return None
    return number


def issue_voucher(user: User, firm_id: int, amount, expires_on: date, max_share) -> Voucher:
    """A city bureau grants a firm of its own city an allowance (admins: any firm)."""
    if user.role not in ("city_admin", "admin"):
        raise PermissionDenied(N_("Only city bureaus and the joint office issue vouchers."))
    firm = db.session.get(Firm, firm_id) if isinstance(firm_id, int) else None
    errors: dict[str, list[str]] = {}
    if firm is None:
        errors["firm_id"] = [N_("No such firm.")]
    elif user.role == "city_admin" and firm.city_code != user.city_code:
        raise PermissionDenied(N_("A city bureau issues vouchers to firms of its own city only."))
    amount = _decimal(amount, "amount", errors)
    if amount is not None and not (Decimal("0.01") <= amount <= MAX_VOUCHER_AMOUNT) or (
            amount is not None and amount != amount.quantize(Decimal("0.01"))):
        errors["amount"] = [N_("An amount from 0.01 to 10,000,000.00 yuan, to the fen.")]
    share = _decimal(max_share, "max_share", errors)
    if share is not None and (not Decimal(0) < share <= 1 or share != share.quantize(Decimal("0.0001"))):
        errors["max_share"] = [N_("A share above 0 and at most 1, e.g. 0.5.")]
    if expires_on is None or expires_on < _today():
        errors["expires_on"] = [N_("The expiry date must not be in the past.")]
    if errors:
        raise ValidationFailed(N_("The voucher could not be issued."), errors)
    begin_write_transaction()
    amount = to_money(amount)
    voucher = Voucher(firm=firm, issuing_city=firm.city_code, amount=amount, balance=amount,
                      expires_on=expires_on, max_share_bp=int(share * 10000), created_by_id=user.id)
    db.session.add(voucher)
    db.session.flush()
    db.session.add(VoucherEntry(voucher=voucher, kind="grant", delta=amount, amount=amount, actor_id=user.id))
    db.session.flush()
    return voucher


def issue_from_rows(user: User, rows: list[list[str]], expires_on: date, max_share) -> list[Voucher]:
    """Grant one voucher per `USCC,amount` row, every row or none.

    Raises ValidationFailed listing each bad line (by number) when any is bad;
    the caller rolls back what the good lines flushed. A role that issues no
    vouchers at all is refused outright (403), as for a single voucher.
    """
    if user.role not in ("city_admin", "admin"):
        raise PermissionDenied(N_("Only city bureaus and the joint office issue vouchers."))
    if rows and rows[0] and rows[0][0].strip().lower() in ("uscc", "统一社会信用代码"):
        rows = rows[1:]
    problems: dict[str, list[str]] = {}
    granted = []
    for number, row in enumerate(rows, start=1):
        firm = db.session.scalar(sa.select(Firm).where(Firm.uscc == row[0].strip().upper())) if row else None
        if firm is None or len(row) < 2:
            problems[f"line {number}"] = [N_("Unknown Unified Social Credit Code, or no amount.")]
            continue
        try:
            granted.append(issue_voucher(user, firm.id, row[1].strip(), expires_on, max_share))
        except ValidationFailed as error:
            problems[f"line {number}"] = [m for messages in error.fields.values() for m in messages]
        except PermissionDenied:
            problems[f"line {number}"] = [N_("A city bureau issues vouchers to firms of its own city only.")]
    if not rows:
        problems["file"] = [N_("The file is empty.")]
    if problems:
        raise ValidationFailed(N_("Nothing was granted."), problems)
    return granted


def revoke_voucher(user: User, voucher_id: int) -> Voucher:
    """The issuing city's bureau (or an admin) withdraws what is left of a
    voucher; money already held for bookings stays with them."""
    voucher = db.session.get(Voucher, voucher_id) if isinstance(voucher_id, int) else None
    issuer = voucher is not None and (user.role == "admin" or (
        user.role == "city_admin" and user.city_code == voucher.issuing_city))
    if not issuer:
        # Refused as `list_vouchers` shows: the holder sees its voucher (403);
        # to everyone else it does not exist (404), another city included.
        if voucher is not None and user.firm_id is not None and user.firm_id == voucher.firm_id:
            raise PermissionDenied(N_("Only the issuing city's bureau may revoke this voucher."))
        raise NotFound(N_("No such voucher."))
    voucher = _locked(voucher.id)
    if voucher.status == "revoked":
        raise ValidationFailed(N_("Voucher not usable."), {"voucher_id": [N_("This voucher has expired or was revoked.")]})
    _move(voucher, None, "revoke", -voucher.balance, voucher.balance, user)
    voucher.status = "revoked"
    db.session.flush()
    return voucher


def list_vouchers(user: User) -> list[Voucher]:
    """Own firm's (firm users), own city's (city bureaus), all (admins)."""
    query = sa.select(Voucher).order_by(Voucher.id)
    if user.role == "admin":
        pass
    elif user.role == "city_admin":
        query = query.where(Voucher.issuing_city == user.city_code)
    elif user.firm_id is not None:
        query = query.where(Voucher.firm_id == user.firm_id)
    else:
        return []
    return list(db.session.scalars(query))


def is_related_party(firm_id: int, institution_id: int) -> bool:
    """A firm whose users are also staff of the institution may not spend vouchers there."""
    return bool(db.session.scalar(
        sa.select(sa.func.count(User.id)).where(User.firm_id == firm_id, User.institution_id == institution_id)
    ))


def usable_voucher(user: User, voucher_id, instrument: Instrument, last_day: date) -> Voucher:
    """The voucher, if this user may spend it on this instrument until `last_day`; else 422."""
    def refuse(message: str):
        raise ValidationFailed(N_("Voucher not usable."), {"voucher_id": [message]})

    voucher = db.session.get(Voucher, voucher_id) if isinstance(voucher_id, int) else None
    if voucher is None or user.firm_id is None or voucher.firm_id != user.firm_id:
        refuse(N_("Not a voucher of your firm."))
    state = voucher.state_on(_today())
    if state != "active" or last_day > voucher.expires_on:
        refuse(N_("This voucher has expired or was revoked."))
    if not instrument.accepts_vouchers:
        refuse(N_("This instrument does not accept vouchers."))
    if is_related_party(voucher.firm_id, instrument.institution_id):
        refuse(N_("Vouchers cannot pay for services of an institution your firm is a related party of."))
    return voucher


def _move(voucher: Voucher, booking: Booking | None, kind: str, delta: Decimal, amount: Decimal,
          actor: User | None) -> None:
    voucher.balance = voucher.balance + delta
    db.session.add(VoucherEntry(voucher=voucher, booking_id=booking.id if booking else None, kind=kind,
                                delta=delta, amount=amount, actor_id=actor.id if actor else None))


def hold(voucher_id: int, booking: Booking, actor: User, last_day: date, required: bool = True) -> Decimal:
    """Hold the voucher's part of the booking's fee: at most max_share of it,
    at most the balance. The firm pays the rest. Returns the amount held.

    The voucher is locked and checked again under the lock (still active,
    valid through `last_day`). An empty voucher refuses (422) when
    `required`; later occurrences of a series simply go without once the
    balance is spent."""
    voucher = _locked(voucher_id)
    if voucher.state_on(_today()) != "active" or last_day > voucher.expires_on:
        raise ValidationFailed(N_("Voucher not usable."), {"voucher_id": [N_("This voucher has expired or was revoked.")]})
    if voucher.balance <= 0:
        if not required:
            return Decimal("0.00")
        raise ValidationFailed(N_("Voucher not usable."), {"voucher_id": [N_("This voucher has no balance left.")]})
    amount = min(to_money(booking.cost * voucher.max_share), voucher.balance)
    _move(voucher, booking, "hold", -amount, amount, actor)
    booking.voucher_id = voucher.id
    booking.voucher_amount = amount
    booking.firm_pays = booking.cost - amount
    db.session.flush()
    return amount


def _booking_ledger(booking_id: int) -> tuple[Decimal, Decimal]:
    """(still held, captured) for a booking, as its ledger rows say: held is
    what was held less what was released and captured."""
    signed = sa.case(
        (VoucherEntry.kind == "hold", VoucherEntry.amount),
        (VoucherEntry.kind.in_(("release", "capture")), -VoucherEntry.amount),
        else_=0,
    )
    captured = sa.case((VoucherEntry.kind == "capture", VoucherEntry.amount), else_=0)
    row = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.type_coerce(signed, sa.BigInteger)), 0),
                  sa.func.coalesce(sa.func.sum(sa.type_coerce(captured, sa.BigInteger)), 0))
        .where(VoucherEntry.booking_id == booking_id)
    ).one()
    return tuple((Decimal(int(value)) / 100).quantize(Decimal("0.01")) for value in row)


def release(booking: Booking, actor: User | None) -> None:
    """Give back what the booking still holds (cancel, reject, no-show,
    lapse, reschedule). The amount comes from the ledger under the voucher's
    lock, so a second release of the same booking finds nothing to give."""
    if booking.voucher_id is None:
        return
    voucher = _locked(booking.voucher_id)
    held, captured = _booking_ledger(booking.id)
    if held > 0:
        _move(voucher, booking, "release", held, held, actor)
        if voucher.status == "revoked":
            _move(voucher, booking, "revoke", -held, held, actor)  # returned money stays withdrawn
    booking.voucher_amount = captured
    booking.firm_pays = booking.cost - captured
    db.session.flush()


def capture(booking: Booking, actor: User | None) -> None:
    """On completion the held money is spent: the voucher's share of the fee
    for the hours used (if fewer than booked); the rest of the hold returns.
    A booking is captured once: a later correction of its usage leaves the
    capture (and any claim on it) as it is."""
    if booking.voucher_id is None:
        return
    voucher = _locked(booking.voucher_id)
    held, _ = _booking_ledger(booking.id)
    if held <= 0:  # nothing held, or captured before
        return
    used_hours = booking.used_hours if booking.used_hours is not None else booking.hours
    fee = to_money(booking.instrument.hourly_rate * min(used_hours, booking.hours))
    captured = min(held, to_money(fee * voucher.max_share))
    _move(voucher, booking, "capture", Decimal("0.00"), captured, actor)
    if held > captured:
        _move(voucher, booking, "release", held - captured, held - captured, actor)
    booking.voucher_amount = captured
    booking.firm_pays = booking.cost - captured
    db.session.flush()


def _locked(voucher_id: int) -> Voucher:
    voucher = lock(Voucher, voucher_id)
    if voucher is None:
        raise NotFound(N_("No such voucher."))
    return voucher


def ledger_balance(voucher_id: int) -> Decimal:
    """The balance as the sum of the ledger's movements (it must equal voucher.balance)."""
    total = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(
        sa.type_coerce(VoucherEntry.delta, sa.BigInteger)), 0)).where(VoucherEntry.voucher_id == voucher_id))
    return (Decimal(int(total)) / 100).quantize(Decimal("0.01"))
