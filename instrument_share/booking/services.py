"""Booking operations: create, reschedule, cancel, approve, reject.

Every change follows the locking rule of `database.py`: what can be checked
without the database is checked first; then the instrument's calendar is
locked (`_lock_calendar`), then the booking (`_locked_booking`), then any
voucher, always in that order, and the state is read again under the lock
before anything is decided. Every booking goes through `_refuse_conflicts`,
the one path to the conflict checker, whichever door it came in by (form,
API, reschedule, series); the database's overlap guard (PostgreSQL's
exclusion constraint, SQLite's triggers) refuses what a bug would let by.
Operations flush; the caller commits. One exception: a request refused for
a conflict rolls the session back before the suggestions are searched (the
calendar's lock is not held for them), so a caller must not have pending
work of its own in the session when it books or reschedules.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..accounts.models import Role, User
from ..catalogue.models import Instrument
from ..catalogue.qualifications import require_qualification
from ..database import inserted, lock
from ..db_types import to_money
from ..errors import N_, Conflict, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..timeutil import isoformat_platform, to_platform, utcnow
from .availability import SuggestionTerms, suggest_slots
from .conflicts import MAX_OCCUPIED_SPAN, Obstacle, closed_obstacles, find_conflicts
from .events import bookings_changed
from .models import (
    ACTIVE_STATUSES,
    Booking,
    BookingAction,
    BookingEvent,
    BookingSeries,
    BookingStatus,
)
from .payment import payment
from .policy import (
    booking_refusal,
    can_change_booking,
    can_decide_booking,
    can_view_booking,
    needs_approval,
)
from .rules import (
    BOOKING_HORIZON,
    check_interval,
    check_occurrences_apart,
    check_purpose,
    expand_recurrence,
)

EXCLUSION_CONSTRAINT = "ex_bookings_no_overlap"
QUOTE_CHANGED = N_("The price, the voucher's part or the status changed since the quote: check the new quote.")


def booking_cost(instrument: Instrument, start: datetime, end: datetime) -> Decimal:
    """Hourly rate × booked hours, rounded once to the fen."""
    hours = Decimal((end - start).total_seconds()) / 3600
    return to_money(instrument.hourly_rate * hours)


def get_booking(booking_id: int, user: User) -> Booking:
    """A booking the user may see; others' bookings are 404, not 403, so ids leak nothing."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_view_booking(user, booking):
        raise NotFound(N_("No such booking."))
    return booking


def bookable_instrument(instrument_id) -> Instrument:
    instrument = db.session.get(Instrument, instrument_id) if isinstance(instrument_id, int) else None
    if instrument is None:
        raise ValidationFailed(
            N_("Unknown instrument."), {"instrument_id": [N_("No such instrument.")]}
        )
    if not instrument.in_service:
        raise ValidationFailed(
            N_("Instrument not bookable."),
            {"instrument_id": [N_("This instrument is out of service and cannot be booked.")]},
        )
    return instrument


def _check_booker(user: User) -> None:
    refusal = booking_refusal(user)
    if refusal is not None:
        raise PermissionDenied(refusal)


def obstacle_json(obstacle: Obstacle) -> dict:
    return {
        "start": isoformat_platform(obstacle.start),
        "end": isoformat_platform(obstacle.end),
        "kind": obstacle.kind,
    }


def _lock_calendar(instrument_id: int) -> Instrument:
    """Take the write lock and the instrument's row: its calendar is ours
    until the commit. The instrument is read again under the lock."""
    instrument = lock(Instrument, instrument_id)
    if instrument is None:
        raise ValidationFailed(N_("Unknown instrument."), {"instrument_id": [N_("No such instrument.")]})
    return instrument


def _locked_booking(booking_id: int) -> Booking:
    """The booking's row, locked and read again (after the calendar's lock)."""
    booking = lock(Booking, booking_id)
    if booking is None:
        raise NotFound(N_("No such booking."))
    return booking


def _refuse_conflicts(
    instrument: Instrument,
    intervals: list[tuple[datetime, datetime]],
    now: datetime,
    exclude_ids: tuple[int, ...] = (),
    closed: list[list[Obstacle]] | None = None,
) -> None:
    """Under the calendar's lock: refuse with 409 if anything is in the way.

    The 409 lists every obstacle (for a series, with the occurrence it hits)
    and up to five nearest free slots for the first blocked interval. Both
    read a bounded window around the request, one statement each (the
    conflicts under the lock, the suggestions after it), whatever the
    instrument's history.
    """
    found = find_conflicts(instrument, intervals, exclude_ids, closed)
    blocked = [(interval, obstacles) for interval, obstacles in zip(intervals, found, strict=True) if obstacles]
    if not blocked:
        return
    conflicts = []
    for (start, end), obstacles in blocked:
        for obstacle in obstacles:
            item = obstacle_json(obstacle)
            if len(intervals) > 1:
                item["occurrence"] = {"start": isoformat_platform(start), "end": isoformat_platform(end)}
            conflicts.append(item)
    first_start, first_end = blocked[0][0]
    earliest = now + timedelta(hours=instrument.advance_notice_hours)
    # The request is refused: give up the calendar's lock (and anything the
    # caller changed) before the slower search for suggestions, so other
    # bookers of this instrument do not queue behind a refusal. What the
    # suggestions need of the instrument is kept from the locked row; its
    # weekly hours come with the suggestions' own statement.
    terms = SuggestionTerms.of(instrument)
    db.session.rollback()
    suggestions = suggest_slots(terms, first_start, first_end, earliest, exclude_ids, latest=now + BOOKING_HORIZON)
    raise Conflict(
        N_("The requested time is not free."),
        conflicts=conflicts,
        suggestions=[
            {"start": isoformat_platform(s), "end": isoformat_platform(e)} for s, e in suggestions
        ],
    )


@contextmanager
def _overlaps_refused_as_conflict():
    """The database's overlap guard (PostgreSQL's exclusion constraint,
    SQLite's triggers) refuses a write: the request gets a 409."""
    try:
        yield
    except IntegrityError as error:
        if EXCLUSION_CONSTRAINT in str(error.orig):
            db.session.rollback()
            raise Conflict(N_("The requested time is not free."), conflicts=[], suggestions=[]) from error
        raise


def _flush_guarded() -> None:
    """Flush; the database's refusal of an overlap becomes a 409."""
    with _overlaps_refused_as_conflict():
        db.session.flush()


def _record(booking: Booking, actor: User | None, action: str, **details) -> None:
    booking.events.append(BookingEvent(actor=actor, action=action, details=details))


def record_all(bookings: list[Booking], actor: User | None, action: str, details) -> None:
    """One history row per booking (`details(booking)` says what), written as
    one statement: a series or a batch of cancellations inside the write lock
    costs one round trip, not one ORM insert per row."""
    if bookings:
        db.session.execute(sa.insert(BookingEvent), [
            {"booking_id": booking.id, "actor_id": actor.id if actor else None, "action": action,
             "details": details(booking)} for booking in bookings])


def create_booking(
    user: User,
    instrument_id: int,
    start: datetime,
    end: datetime,
    purpose: str,
    recurrence: str | None = None,
    voucher_id: int | None = None,
    now: datetime | None = None,
    expected: tuple[Decimal, Decimal, str] | None = None,
) -> list[Booking]:
    """Book `[start, end)` (or every occurrence of `recurrence`), all or none.

    With `expected` (fee, voucher part, status of a quote the booker saw),
    the booking is refused (422, `fields.quote`) if what it would get under
    the lock differs: nothing is booked that was not seen.

    Rules: a booking role and not suspended; a bookable instrument; the
    length, notice and horizon rules; a series never overlaps itself; open
    hours, no blackout, no other active booking within the buffer. Pending
    where the instrument needs approval and the booker does not manage it;
    confirmed otherwise.
    """
    now = now or utcnow()
    _check_booker(user)
    instrument = bookable_instrument(instrument_id)
    purpose = check_purpose(purpose)
    check_interval(instrument, start, end, now)
    intervals = [(start, end)]
    series = None
    if recurrence:
        intervals = expand_recurrence(recurrence, start, end, now)
        check_occurrences_apart(intervals, timedelta(minutes=instrument.buffer_minutes))
        series = BookingSeries(rrule=recurrence.strip())
    last_day = to_platform(intervals[-1][0]).date()
    if voucher_id is not None:
        payment().usable_voucher(user, voucher_id, instrument, last_day)
    closed = closed_obstacles(instrument, intervals)

    instrument = _lock_calendar(instrument.id)
    if not instrument.in_service:  # changed while the request was checked
        raise ValidationFailed(N_("Instrument not bookable."), {
            "instrument_id": [N_("This instrument is out of service and cannot be booked.")]})
    require_qualification(user, instrument, last_day)  # under the lock a revocation takes too
    _refuse_conflicts(instrument, intervals, now, closed=closed)
    voucher = payment().locked_for_spending(voucher_id, last_day) if voucher_id is not None else None
    approval = needs_approval(user, instrument)
    if series is not None:
        db.session.add(series)
        db.session.flush()
    costs = [booking_cost(instrument, s, e) for s, e in intervals]
    parts = payment().parts_of(voucher, costs) if voucher is not None else [Decimal("0.00")] * len(costs)
    status = BookingStatus.PENDING if approval else BookingStatus.CONFIRMED
    if expected is not None and (sum(costs, Decimal("0.00")), sum(parts, Decimal("0.00")), status) != expected:
        raise ValidationFailed(QUOTE_CHANGED, {"quote": [QUOTE_CHANGED]})
    rows = [{
        "instrument_id": instrument.id, "user_id": user.id, "firm_id": user.firm_id,
        "series_id": series.id if series is not None else None, "start": occurrence_start, "end": occurrence_end,
        "occupied_until": occurrence_end + timedelta(minutes=instrument.buffer_minutes),
        "status": status, "purpose": purpose, "cost": cost,
        "voucher_id": voucher.id if part > 0 else None, "voucher_amount": part, "firm_pays": cost - part,
    } for (occurrence_start, occurrence_end), cost, part in zip(intervals, costs, parts, strict=True)]
    # A series writes up to 52 bookings, history rows, ledger rows and mails
    # inside the write lock: each kind goes in as one statement, not one ORM
    # insert per row.
    with _overlaps_refused_as_conflict():
        bookings = sorted(db.session.scalars(sa.insert(Booking).returning(Booking), rows).all(),
                          key=lambda booking: booking.start)
    inserted(bookings)
    record_all(bookings, user, BookingAction.CREATED, lambda b: {
        "status": b.status, "start": isoformat_platform(b.start), "end": isoformat_platform(b.end)})
    if voucher is not None:
        payment().hold(voucher, bookings, user)
    bookings_changed(bookings, BookingAction.REQUESTED if approval else BookingAction.CONFIRMED)
    return bookings


def _require_changeable(booking: Booking, user: User, now: datetime) -> None:
    if not can_change_booking(user, booking):
        raise PermissionDenied(N_("Only the booker or the instrument's managers may change this booking."))
    if not booking.is_active:
        raise Conflict(N_("This booking is no longer active and cannot be changed."), conflicts=[], suggestions=[])
    if booking.start <= now:
        raise Conflict(N_("This booking has already started."), conflicts=[], suggestions=[])


def reschedule_booking(
    booking: Booking, user: User, start: datetime, end: datetime, now: datetime | None = None
) -> Booking:
    """Move a booking; it never conflicts with itself. A firm's move of a
    booking that needs approval makes it pending again."""
    now = now or utcnow()
    if not can_change_booking(user, booking):
        raise PermissionDenied(N_("Only the booker or the instrument's managers may change this booking."))
    check_interval(booking.instrument, start, end, now)
    booking_id = booking.id
    instrument = _lock_calendar(booking.instrument_id)
    booking = _locked_booking(booking_id)
    _require_changeable(booking, user, now)
    require_qualification(booking.user, instrument, to_platform(start).date())
    _refuse_conflicts(instrument, [(start, end)], now, exclude_ids=(booking.id,))
    old = {"start": isoformat_platform(booking.start), "end": isoformat_platform(booking.end)}
    old_status = booking.status
    booking.start, booking.end = start, end
    booking.occupied_until = end + timedelta(minutes=instrument.buffer_minutes)
    voucher_id = booking.voucher_id
    payment().release([booking], user)
    booking.cost = booking.firm_pays = booking_cost(instrument, start, end)
    if voucher_id is not None:
        # The fee changed: hold the voucher's share again, if it can still pay.
        try:
            payment().usable_voucher(booking.user, voucher_id, instrument, to_platform(start).date())
            payment().hold(payment().locked_for_spending(voucher_id, to_platform(start).date()), [booking], user)
        except ValidationFailed:
            booking.voucher_id = None
    if needs_approval(user, instrument):
        booking.status = BookingStatus.PENDING
    booking.sequence += 1
    _record(booking, user, BookingAction.RESCHEDULED, old=old,
            new={"start": isoformat_platform(start), "end": isoformat_platform(end)},
            status=booking.status, previous_status=old_status)
    _flush_guarded()
    bookings_changed([booking], BookingAction.RESCHEDULED)
    return booking


def cancel_booking(booking: Booking, user: User, reason: str = "", now: datetime | None = None) -> Booking:
    """Cancel an active booking that has not started; its slot is free at once
    and any voucher money it holds goes back to the voucher, once."""
    now = now or utcnow()
    if not can_change_booking(user, booking):
        raise PermissionDenied(N_("Only the booker or the instrument's managers may change this booking."))
    booking = _locked_booking(booking.id)
    _require_changeable(booking, user, now)
    cancel_locked([booking], user, reason)
    return booking


def cancel_locked(bookings: list[Booking], user: User | None, reason: str,
                  event: BookingAction = BookingAction.CANCELLED) -> None:
    """Cancel bookings the caller has locked and checked (active, changeable
    by `user`): one voucher release and one round of mails for them all."""
    reason = (reason or "")[:2000]
    record_all(bookings, user, event, lambda booking: {"reason": reason, "previous_status": booking.status})
    for booking in bookings:
        booking.status = BookingStatus.CANCELLED
        booking.decision_reason = reason
        booking.sequence += 1
    payment().release(bookings, user)
    db.session.flush()
    bookings_changed(bookings, event)


def _require_pending(booking: Booking, user: User) -> None:
    if not can_decide_booking(user, booking):
        raise PermissionDenied(N_("Only the instrument's managers may decide on this booking."))
    if booking.status != BookingStatus.PENDING:
        raise Conflict(N_("Only bookings awaiting approval can be approved or rejected."),
                       conflicts=[], suggestions=[])


def _locked_pending(booking: Booking, user: User) -> Booking:
    """The pending booking, locked; refused as `_require_pending` says."""
    _require_pending(booking, user)
    booking = _locked_booking(booking.id)
    _require_pending(booking, user)
    return booking


def approve_booking(booking: Booking, user: User) -> Booking:
    """A manager confirms a pending booking (its slot was held all along)."""
    booking = _locked_pending(booking, user)
    booking.status = BookingStatus.CONFIRMED
    booking.sequence += 1
    _record(booking, user, BookingAction.APPROVED)
    db.session.flush()
    bookings_changed([booking], BookingAction.APPROVED)
    return booking


def reject_booking(booking: Booking, user: User, reason: str) -> Booking:
    """A manager refuses a pending booking, saying why; the slot is freed."""
    _require_pending(booking, user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(N_("Reason required."), {"reason": [N_("Say why the booking is rejected.")]})
    booking = _locked_pending(booking, user)
    booking.status = BookingStatus.REJECTED
    booking.decision_reason = reason[:2000]
    booking.sequence += 1
    payment().release([booking], user)
    _record(booking, user, BookingAction.REJECTED, reason=booking.decision_reason)
    db.session.flush()
    bookings_changed([booking], BookingAction.REJECTED)
    return booking


def my_bookings_query(user: User, **filters) -> sa.Select:
    """The "my bookings" page's bookings: a firm user's firm's, anyone
    else's own (a manager's institution's are on the desk); newest first."""
    query = visible_bookings(user, **filters)
    return query if user.firm_id is not None else query.where(Booking.user_id == user.id)


def my_bookings_parts(user: User, **filters) -> list[sa.Select]:
    """`my_bookings_query`'s bookings in disjoint parts, unordered, each of
    which one index reads in start order: a firm user's firm's (by
    `(firm_id, start, id)`) and their own booked for no firm or another (by
    `(user_id, start, firm_id)`), that part only if there are any; anyone
    else's, one part. The page reads each part as far as it shows and merges
    them: one query with `firm_id = ? OR user_id = ?` read every booking of
    the firm, thousands, and sorted them for twenty (issue #19)."""
    if user.firm_id is None or user.role in (Role.ADMIN, Role.MANAGER):
        return [my_bookings_query(user, **filters).order_by(None)]
    parts = [sa.select(Booking).where(Booking.firm_id == user.firm_id)]
    elsewhere = sa.select(Booking).where(Booking.user_id == user.id, Booking.firm_id.is_distinct_from(user.firm_id))
    # Asked first (the user's index answers it alone): most firm users book
    # for their firm only, and PostgreSQL sorted a union of a part and an
    # empty one where it reads one part in its index's order. Asked once a
    # request: the page reads its history, what is ahead and its filter's
    # instruments, each through the parts.
    asked = g.setdefault("books_elsewhere", {}) if has_request_context() else {}
    if user.id not in asked:
        asked[user.id] = db.session.scalar(sa.select(elsewhere.exists()))
    if asked[user.id]:
        parts.append(elsewhere)
    return [_narrowed(part, **filters) for part in parts]


def _merged(parts: list[sa.Select], *columns, newest_first: bool) -> sa.Select:
    """`columns` of the parts' bookings, by start and id (newest first, or
    soonest), one sorted stream: each part ordered by its index, merged."""
    selects = [part.with_only_columns(*columns, Booking.start, Booking.id) for part in parts]
    merged = sa.union_all(*selects) if len(selects) > 1 else selects[0]
    start, booking_id = merged.selected_columns.start, merged.selected_columns.id
    if newest_first:
        return merged.order_by(start.desc(), booking_id.desc())
    return merged.order_by(start, booking_id)


def _bookings_of(page: sa.Select, newest_first: bool) -> list[Booking]:
    """The bookings whose ids `page` (a `_merged` slice) selects, in its
    order, with what the pages show of them."""
    ids = page.subquery()
    order = (Booking.start.desc(), Booking.id.desc()) if newest_first else (Booking.start, Booking.id)
    return list(db.session.scalars(sa.select(Booking).where(Booking.id.in_(sa.select(ids.c.id))).order_by(*order)
                                   .options(joinedload(Booking.instrument).joinedload(Instrument.institution),
                                            joinedload(Booking.user))))


def upcoming_bookings(user: User, now: datetime, most: int | None = None) -> list[Booking]:
    """Of the page's bookings, the active ones not yet ended, soonest first
    (the first `most` of them)."""
    # A booking holds at most MAX_OCCUPIED_SPAN, so one not yet ended started
    # after now minus that: each part's index is read from there, not from
    # the first booking of its history.
    parts = [part.where(Booking.end > now, Booking.start > now - MAX_OCCUPIED_SPAN,
                        Booking.status.in_(ACTIVE_STATUSES)) for part in my_bookings_parts(user)]
    return _bookings_of(_merged(parts, newest_first=False).limit(most), newest_first=False)


def booked_instruments(user: User, most: int = 100, also: int | None = None) -> list[sa.Row]:
    """The instruments of the page's bookings for the history's instrument
    filter, by name: the `most` booked most recently (a firm of many
    engineers books hundreds, too many to choose from), and `also` (the one
    chosen) if it is among them at all. Their ids and names only, as rows:
    a hundred ORM objects of a few columns cost more than the rest."""
    parts = my_bookings_parts(user)
    # The bookings newest first, read only until `most` instruments are
    # found (a few hundred bookings, not the firm's whole history; the
    # demo's busiest firm finds its hundred in its last 116).
    recent: dict[int, None] = {}
    with db.session.execute(_merged(parts, Booking.instrument_id, newest_first=True)
                            .execution_options(yield_per=most + most // 2)) as bookings:
        for instrument_id in bookings.scalars():
            recent.setdefault(instrument_id)
            if len(recent) == most:
                break
    chosen = Instrument.id.in_(list(recent))
    if isinstance(also, int) and also not in recent:
        chosen = sa.or_(chosen, sa.and_(Instrument.id == also, sa.or_(
            *(part.where(Booking.instrument_id == also).exists() for part in parts))))
    return list(db.session.execute(sa.select(Instrument.id, Instrument.name, Instrument.name_en).where(chosen)
                                   .order_by(Instrument.name)))


def history_page(user: User, page: int, per_page: int, **filters) -> tuple[list[Booking], int]:
    """One page of the page's bookings (all of them, filtered) and their number."""
    parts = my_bookings_parts(user, **filters)
    rows = _bookings_of(_merged(parts, newest_first=True).limit(per_page).offset((page - 1) * per_page),
                        newest_first=True)
    counted = [part.with_only_columns(Booking.id) for part in parts]
    every = sa.union_all(*counted) if len(counted) > 1 else counted[0]
    return rows, count_of(every)


def visible_bookings(
    user: User,
    *,
    status: str | None = None,
    instrument_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> sa.Select:
    """Own bookings (firm: the firm's), bookings on own instruments (manager),
    all (admin), narrowed by the filters; newest first."""
    query = sa.select(Booking)
    if user.role == Role.ADMIN:
        pass
    elif user.role == Role.MANAGER:
        query = query.join(Instrument, Booking.instrument_id == Instrument.id).where(
            sa.or_(Instrument.institution_id == user.institution_id, Booking.user_id == user.id)
        )
    elif user.firm_id is not None:
        query = query.where(sa.or_(Booking.firm_id == user.firm_id, Booking.user_id == user.id))
    else:
        query = query.where(Booking.user_id == user.id)
    query = _narrowed(query, status=status, instrument_id=instrument_id, start=start, end=end)
    return query.order_by(Booking.start.desc(), Booking.id.desc())


def _narrowed(query: sa.Select, *, status: str | None = None, instrument_id: int | None = None,
              start: datetime | None = None, end: datetime | None = None) -> sa.Select:
    """The bookings of `query` the history's filters keep."""
    if status is not None:
        query = query.where(Booking.status == status)
    if instrument_id is not None:
        query = query.where(Booking.instrument_id == instrument_id)
    if start is not None:
        query = query.where(Booking.end > start)
    if end is not None:
        query = query.where(Booking.start < end)
    return query


def count_of(query: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))


def list_bookings(user: User, *, page: int = 1, per_page: int = 20, **filters) -> tuple[list[Booking], int]:
    """One page of `visible_bookings` and their number: the whole history pages through."""
    query = visible_bookings(user, **filters)
    rows = db.session.scalars(
        query.options(joinedload(Booking.instrument).joinedload(Instrument.institution))
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), count_of(query)


def all_bookings(user: User, most: int, *, mine: bool = False, **filters) -> list[Booking]:
    """Every booking of `visible_bookings` (or, `mine`, of the "my bookings"
    page) for an export, refused past `most`."""
    query = my_bookings_query(user, **filters) if mine else visible_bookings(user, **filters)
    total = count_of(query)
    if total > most:
        raise ValidationFailed(N_("Too many bookings for one file; choose a shorter period."),
                               {"to": [N_("At most 20,000 bookings in one file.")]})
    return list(db.session.scalars(query.options(
        joinedload(Booking.instrument).joinedload(Instrument.institution),
        joinedload(Booking.user), joinedload(Booking.firm))))
