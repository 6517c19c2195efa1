"""Voucher rules: who issues, who spends, and the ledger's movements.

Money is Decimal with two places, rounded half-up once (db_types.to_money).
Every movement locks the voucher's row first (PostgreSQL FOR NO KEY UPDATE; SQLite
one writer transaction), so two bookings spending at the same moment are
served one after the other; the CHECK on `balance >= 0` is the last guard.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import Firm, User
from ..accounts.policy import can_issue_vouchers, is_joint_office
from ..booking.models import Booking
from ..catalogue.audit import page_rows
from ..catalogue.models import Instrument
from ..database import begin_write_transaction, lock, lock_all
from ..db_types import to_money
from ..errors import N_, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..timeutil import platform_today, utcnow
from .models import EntryKind, Voucher, VoucherEntry, VoucherStatus
from .policy import can_issue_voucher, can_revoke_voucher, can_see_voucher, can_spend_voucher

MAX_VOUCHER_AMOUNT = Decimal("10000000.00")


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


def _checked_amount(value, errors: dict, field: str = "amount") -> Decimal | None:
    """A voucher's amount: 0.01 to 10,000,000.00 yuan, to the fen (no database)."""
    amount = _decimal(value, field, errors)
    if amount is not None and (not Decimal("0.01") <= amount <= MAX_VOUCHER_AMOUNT
                               or amount != amount.quantize(Decimal("0.01"))):
        errors[field] = [N_("An amount from 0.01 to 10,000,000.00 yuan, to the fen.")]
        return None
    return amount


def _checked_terms(expires_on: date, max_share, errors: dict) -> Decimal | None:
    """The expiry date and the largest share of a fee (no database)."""
    share = _decimal(max_share, "max_share", errors)
    if share is not None and (not Decimal(0) < share <= 1 or share != share.quantize(Decimal("0.0001"))):
        errors["max_share"] = [N_("A share above 0 and at most 1, e.g. 0.5.")]
        share = None
    if expires_on is None or expires_on < platform_today():
        errors["expires_on"] = [N_("The expiry date must not be in the past.")]
    return share


def _may_issue(user: User) -> None:
    if not can_issue_vouchers(user):
        raise PermissionDenied(N_("Only city bureaus and the joint office issue vouchers."))


def issue_voucher(user: User, firm_id: int | None, amount, expires_on: date, max_share,
                  uscc: str | None = None) -> Voucher:
    """A city bureau grants a firm of its own city an allowance (admins: any
    firm), named by its id or, on the page of a city with many firms, its USCC."""
    _may_issue(user)
    if isinstance(firm_id, int):
        firm = db.session.get(Firm, firm_id)
    elif uscc and uscc.strip():
        firm = db.session.scalar(sa.select(Firm).where(Firm.uscc == uscc.strip().upper()))
    else:
        firm = None
    errors: dict[str, list[str]] = {}
    if firm is None:
        errors["firm_id"] = [N_("No such firm.")]
    elif not can_issue_voucher(user, firm):
        raise PermissionDenied(N_("A city bureau issues vouchers to firms of its own city only."))
    amount = _checked_amount(amount, errors)
    share = _checked_terms(expires_on, max_share, errors)
    if errors:
        raise ValidationFailed(N_("The voucher could not be issued."), errors)
    begin_write_transaction()
    amount = to_money(amount)
    voucher = Voucher(firm=firm, issuing_city=firm.city_code, amount=amount, balance=amount,
                      expires_on=expires_on, max_share_bp=int(share * 10000), created_by_id=user.id)
    db.session.add(voucher)
    db.session.flush()
    db.session.add(VoucherEntry(voucher=voucher, kind=EntryKind.GRANT, delta=amount, amount=amount, actor_id=user.id))
    db.session.flush()
    return voucher


MAX_GRANT_LINES = 5_000  # a file of grants; more is refused before anything is read (and the write lock stays short)
LINES_REPORTED = 20  # a refusal names this many bad lines, then says there are more
CSV_HEADERS = ("uscc", "统一社会信用代码")


def issue_from_rows(user: User, rows: list[list[str]], expires_on: date, max_share) -> int:
    """Grant one voucher per `USCC,amount` row, every row or none; returns
    how many were granted.

    Everything is checked before the write lock: the amounts and terms
    without the database, then every USCC in one query. A file with a bad
    line raises ValidationFailed naming the first LINES_REPORTED bad lines
    (`line N`, counting a header line) and writes nothing. Then, under the
    lock, one bulk insert of the vouchers and one of their grant entries.
    A role that issues no vouchers at all is refused outright (403), as for
    a single voucher.
    """
    _may_issue(user)
    problems: dict[str, list[str]] = {}
    share = _checked_terms(expires_on, max_share, problems)
    first_line = 1
    if rows and rows[0] and rows[0][0].strip().lower() in CSV_HEADERS:
        rows, first_line = rows[1:], 2
    if not rows:
        problems["file"] = [N_("The file is empty.")]
    elif len(rows) > MAX_GRANT_LINES:
        problems["file"] = [N_("A file may hold at most 5,000 lines; split it into several files.")]
    if problems:
        raise ValidationFailed(N_("Nothing was granted."), problems)

    lines = []  # (key, uscc, amount)
    for number, row in enumerate(rows, start=first_line):
        key = f"line {number}"
        uscc = row[0].strip().upper() if row else ""
        if not uscc or len(row) < 2:
            problems[key] = [N_("Unknown Unified Social Credit Code, or no amount.")]
            continue
        line_errors: dict[str, list[str]] = {}
        amount = _checked_amount(row[1].strip(), line_errors)
        if line_errors:
            problems[key] = line_errors["amount"]
        lines.append((key, uscc, amount))
    firms = {firm.uscc: firm for firm in db.session.execute(  # one query for the file
        sa.select(Firm.uscc, Firm.id, Firm.city_code).where(Firm.uscc.in_({uscc for _, uscc, _ in lines}))
    )} if lines else {}
    for key, uscc, _amount in lines:
        firm = firms.get(uscc)
        if firm is None:
            problems.setdefault(key, [N_("Unknown Unified Social Credit Code, or no amount.")])
        elif not can_issue_voucher(user, firm):
            problems.setdefault(key, [N_("A city bureau issues vouchers to firms of its own city only.")])
    if problems:
        reported = dict(sorted(problems.items(), key=lambda item: int(item[0].split()[1]))[:LINES_REPORTED])
        if len(problems) > LINES_REPORTED:
            reported["more"] = [N_("More lines have problems too: correct the lines listed and check the rest.")]
        raise ValidationFailed(N_("Nothing was granted."), reported)

    # The rows are converted to what the database stores (integer fen, the
    # engine's dates and times) before the lock; under it, two statements.
    now, vouchers, entries = utcnow(), Voucher.__table__, VoucherEntry.__table__
    insert_vouchers = _bulk_insert(vouchers, [
        {"firm_id": firms[uscc].id, "issuing_city": firms[uscc].city_code, "amount": amount, "balance": amount,
         "expires_on": expires_on, "max_share": int(share * 10000), "status": VoucherStatus.ACTIVE,
         "created_by_id": user.id, "created_at": now}
        for _, uscc, amount in lines])
    begin_write_transaction()
    before = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(vouchers.c.id), 0)))
    insert_vouchers()
    granted = len(db.session.execute(sa.insert(entries).from_select(  # each new voucher's grant
        ["voucher_id", "kind", "delta", "amount", "actor_id", "at"],
        sa.select(vouchers.c.id, sa.literal(str(EntryKind.GRANT)), vouchers.c.amount, vouchers.c.amount,
                  vouchers.c.created_by_id, vouchers.c.created_at)
        .where(vouchers.c.id > before, vouchers.c.created_by_id == user.id, vouchers.c.created_at == now,
               ~sa.exists().where(entries.c.voucher_id == vouchers.c.id))
    ).returning(entries.c.id)).all())
    if granted != len(lines):
        raise RuntimeError(f"{granted} grant entries for {len(lines)} vouchers")
    return granted


def _bulk_insert(table: sa.Table, rows: list[dict]):
    """An insert of `rows` into `table` that costs the database's time only.

    Each value is converted here, as the column's type would convert it on
    writing (Money to fen, dates and times to the engine's form), and the
    returned callable hands the rows to the driver's executemany: call it
    under the write lock."""
    dialect = db.session.get_bind().dialect
    names = list(rows[0])
    convert = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    values = [tuple(f(row[name]) if f else row[name] for name, f in zip(names, convert, strict=True))
              for row in rows]
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
                 f"VALUES ({', '.join(marker for _ in names)})")

    def insert() -> None:
        db.session.connection().exec_driver_sql(statement, values)

    return insert


def grantable_firms(user: User, most: int) -> list[Firm] | None:
    """The firms the user may grant a voucher to, for the grant form to list
    (none for a role that grants none); None when there are more than
    `most`, and the form asks for the firm's USCC instead."""
    if not can_issue_vouchers(user):
        return []
    query = sa.select(Firm).order_by(Firm.name).limit(most + 1)
    if not is_joint_office(user):
        query = query.where(Firm.city_code == user.city_code)  # can_issue_voucher: the bureau's own city
    firms = db.session.scalars(query).all()
    return None if len(firms) > most else firms


def revoke_voucher(user: User, voucher_id: int) -> Voucher:
    """The issuing city's bureau (or an admin) withdraws what is left of a
    voucher; money already held for bookings stays with them."""
    voucher = db.session.get(Voucher, voucher_id) if isinstance(voucher_id, int) else None
    if voucher is None or not can_revoke_voucher(user, voucher):
        # Refused as `list_vouchers` shows: the holder sees its voucher (403);
        # to everyone else it does not exist (404), another city included.
        if voucher is not None and can_see_voucher(user, voucher):
            raise PermissionDenied(N_("Only the issuing city's bureau may revoke this voucher."))
        raise NotFound(N_("No such voucher."))
    voucher = _locked(voucher.id)
    if voucher.status == VoucherStatus.REVOKED:
        raise ValidationFailed(N_("Voucher not usable."), {"voucher_id": [N_("This voucher has expired or was revoked.")]})
    _move(voucher, None, EntryKind.REVOKE, -voucher.balance, voucher.balance, user)
    voucher.status = VoucherStatus.REVOKED
    db.session.flush()
    return voucher


def _visible_vouchers(user: User) -> sa.Select | None:
    """Own firm's (firm users), own city's (city bureaus), all (admins)."""
    query = sa.select(Voucher)
    if is_joint_office(user):
        return query
    if can_issue_vouchers(user):  # a city bureau: the vouchers it issued (can_see_voucher)
        return query.where(Voucher.issuing_city == user.city_code)
    if user.firm_id is not None:
        return query.where(Voucher.firm_id == user.firm_id)
    return None


def list_vouchers(user: User) -> list[Voucher]:
    """Every voucher the user may see, oldest first."""
    query = _visible_vouchers(user)
    return [] if query is None else list(db.session.scalars(query.order_by(Voucher.id)))


def voucher_page(user: User, page: int = 1, per_page: int = 50) -> tuple[list[Voucher], int, int]:
    """One page of the vouchers the user may see, newest first, with their
    firms: (vouchers, total, the page shown; past the end, the last)."""
    query = _visible_vouchers(user)
    if query is None:
        return [], 0, 1
    return page_rows(query, Voucher.id, page, per_page, joinedload(Voucher.firm))


def ledger_page(user: User, page: int = 1, per_page: int = 50) -> tuple[list[VoucherEntry], int, int]:
    """One page of the movements of the vouchers the user may see, newest first."""
    query = _visible_vouchers(user)
    if query is None:
        return [], 0, 1
    visible = query.with_only_columns(Voucher.id)
    return page_rows(sa.select(VoucherEntry).where(VoucherEntry.voucher_id.in_(visible)), VoucherEntry.id,
                     page, per_page)


def usable_voucher(user: User, voucher_id, instrument: Instrument, last_day: date) -> Voucher:
    """The voucher, if this user may spend it on this instrument until `last_day`; else 422."""
    def refuse(message: str):
        raise ValidationFailed(N_("Voucher not usable."), {"voucher_id": [message]})

    voucher = db.session.get(Voucher, voucher_id) if isinstance(voucher_id, int) else None
    if voucher is None or user.firm_id is None or voucher.firm_id != user.firm_id:
        refuse(N_("Not a voucher of your firm."))
    state = voucher.state_on(platform_today())
    if state != VoucherStatus.ACTIVE or last_day > voucher.expires_on:
        refuse(N_("This voucher has expired or was revoked."))
    if voucher.balance <= 0:  # read again under the lock (locked_for_spending); said here for the quote too
        refuse(N_("This voucher has no balance left."))
    if not instrument.accepts_vouchers:
        refuse(N_("This instrument does not accept vouchers."))
    if not can_spend_voucher(user, voucher, instrument):
        refuse(N_("Vouchers cannot pay for services of an institution your firm is a related party of."))
    return voucher


def spendable_vouchers(user: User, instrument: Instrument) -> list[Voucher]:
    """The vouchers the booking form offers this user on this instrument: the
    same rules as `usable_voucher` (the firm's own, active, with money left,
    the instrument takes vouchers, no related party), in one place."""
    if user.firm_id is None or not instrument.accepts_vouchers:
        return []
    today = platform_today()
    candidates = db.session.scalars(sa.select(Voucher).where(
        Voucher.firm_id == user.firm_id, Voucher.status == VoucherStatus.ACTIVE, Voucher.balance > 0,
        Voucher.expires_on >= today).order_by(Voucher.id)).all()
    return [voucher for voucher in candidates if can_spend_voucher(user, voucher, instrument)]


def _move(voucher: Voucher, booking: Booking | None, kind: str, delta: Decimal, amount: Decimal,
          actor: User | None) -> None:
    voucher.balance = voucher.balance + delta
    db.session.add(VoucherEntry(voucher=voucher, booking=booking, kind=kind,
                                delta=delta, amount=amount, actor_id=actor.id if actor else None))


def locked_for_spending(voucher_id: int, last_day: date) -> Voucher:
    """The voucher, locked and checked again under the lock: still active,
    valid through `last_day`, with money left (else 422)."""
    voucher = _locked(voucher_id)
    if voucher.state_on(platform_today()) != VoucherStatus.ACTIVE or last_day > voucher.expires_on:
        raise ValidationFailed(N_("Voucher not usable."), {"voucher_id": [N_("This voucher has expired or was revoked.")]})
    if voucher.balance <= 0:
        raise ValidationFailed(N_("Voucher not usable."), {"voucher_id": [N_("This voucher has no balance left.")]})
    return voucher


def parts_of(voucher: Voucher, fees: list[Decimal]) -> list[Decimal]:
    """The voucher's part of each fee, in order: at most max_share of it, at
    most what is left after the fees before it; later occurrences of a series
    go without once the balance is spent. The firm pays the rest."""
    left, parts = voucher.balance, []
    for fee in fees:
        part = min(to_money(fee * voucher.max_share), left)
        parts.append(part)
        left -= part
    return parts


def hold(voucher: Voucher, bookings: list[Booking], actor: User) -> Decimal:
    """Hold the voucher's part of each booking's fee (`parts_of`): the
    balance goes down and the ledger gets one `hold` per booking, written as
    one statement (a series holds for up to 52 bookings inside the write
    lock). The voucher comes from `locked_for_spending`; the bookings are
    written, and those written with their part already keep it."""
    entries = []
    fees = [booking.cost for booking in bookings]
    for booking, part in zip(bookings, parts_of(voucher, fees), strict=True):
        if part <= 0:
            continue
        voucher.balance = voucher.balance - part
        entries.append({"voucher_id": voucher.id, "booking_id": booking.id, "kind": EntryKind.HOLD, "delta": -part,
                        "amount": part, "actor_id": actor.id})
        if (booking.voucher_id, booking.voucher_amount) != (voucher.id, part):  # not written with it
            booking.voucher_id = voucher.id
            booking.voucher_amount = part
            booking.firm_pays = booking.cost - part
    if entries:
        db.session.execute(sa.insert(VoucherEntry), entries)
    return sum((entry["amount"] for entry in entries), Decimal("0.00"))


def _booking_ledgers(booking_ids: list[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """(still held, captured) per booking, as the ledger rows say: held is
    what was held less what was released and captured. One query."""
    db.session.flush()  # this transaction's own movements count too
    signed = sa.case(
        (VoucherEntry.kind == EntryKind.HOLD, VoucherEntry.amount),
        (VoucherEntry.kind.in_((EntryKind.RELEASE, EntryKind.CAPTURE)), -VoucherEntry.amount),
        else_=0,
    )
    captured = sa.case((VoucherEntry.kind == EntryKind.CAPTURE, VoucherEntry.amount), else_=0)
    rows = db.session.execute(
        sa.select(VoucherEntry.booking_id,
                  sa.func.coalesce(sa.func.sum(sa.type_coerce(signed, sa.BigInteger)), 0),
                  sa.func.coalesce(sa.func.sum(sa.type_coerce(captured, sa.BigInteger)), 0))
        .where(VoucherEntry.booking_id.in_(booking_ids)).group_by(VoucherEntry.booking_id)
    )
    cents = Decimal("0.01")
    return {row[0]: ((Decimal(int(row[1])) / 100).quantize(cents), (Decimal(int(row[2])) / 100).quantize(cents))
            for row in rows}


def _locked_vouchers(bookings: list[Booking]) -> dict[int, Voucher]:
    ids = sorted({booking.voucher_id for booking in bookings if booking.voucher_id is not None})
    return {voucher.id: voucher for voucher in lock_all(sa.select(Voucher).where(Voucher.id.in_(ids)))} if ids else {}


def release(bookings: list[Booking], actor: User | None) -> None:
    """Give back what each booking still holds (cancel, reject, no-show,
    lapse, reschedule). The amounts come from the ledger under the
    vouchers' locks, so a second release of a booking finds nothing to give.
    The ledger rows go in as one statement (a blackout or the close-bookings
    job releases many bookings inside the write lock)."""
    vouchers = _locked_vouchers(bookings)
    if not vouchers:
        return
    ledgers = _booking_ledgers([booking.id for booking in bookings if booking.voucher_id in vouchers])
    nothing = (Decimal("0.00"), Decimal("0.00"))
    entries = []

    def move(voucher: Voucher, booking: Booking, kind: str, delta: Decimal, amount: Decimal) -> None:
        voucher.balance = voucher.balance + delta
        entries.append({"voucher_id": voucher.id, "booking_id": booking.id, "kind": kind, "delta": delta,
                        "amount": amount, "actor_id": actor.id if actor else None})

    for booking in bookings:
        if booking.voucher_id not in vouchers:
            continue
        voucher = vouchers[booking.voucher_id]
        held, captured = ledgers.get(booking.id, nothing)
        if held > 0:
            move(voucher, booking, EntryKind.RELEASE, held, held)
            if voucher.status == VoucherStatus.REVOKED:
                move(voucher, booking, EntryKind.REVOKE, -held, held)  # returned money stays withdrawn
        booking.voucher_amount = captured
        booking.firm_pays = booking.cost - captured
    if entries:
        db.session.execute(sa.insert(VoucherEntry), entries)


def capture(booking: Booking, actor: User | None) -> None:
    """On completion the held money is spent: the voucher's share of the fee
    for the hours used (if fewer than booked); the rest of the hold returns.
    A booking is captured once: a later correction of its usage leaves the
    capture (and any claim on it) as it is."""
    if booking.voucher_id is None:
        return
    voucher = _locked(booking.voucher_id)
    held, _ = _booking_ledgers([booking.id]).get(booking.id, (Decimal("0.00"), Decimal("0.00")))
    if held <= 0:  # nothing held, or captured before
        return
    used_hours = booking.used_hours if booking.used_hours is not None else booking.hours
    fee = to_money(booking.instrument.hourly_rate * min(used_hours, booking.hours))
    captured = min(held, to_money(fee * voucher.max_share))
    _move(voucher, booking, EntryKind.CAPTURE, Decimal("0.00"), captured, actor)
    if held > captured:
        _move(voucher, booking, EntryKind.RELEASE, held - captured, held - captured, actor)
        if voucher.status == VoucherStatus.REVOKED:  # returned money stays withdrawn, as in `release`
            _move(voucher, booking, EntryKind.REVOKE, captured - held, held - captured, actor)
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
