"""Daily roll-ups (issue #20; README, "Statistics (roll-ups)").

`stats_daily` holds, per day in the platform zone, instrument and booking
firm's city, the additive figures of `services._booking_sums` and
`services._blackout_minutes` for that one day. Statistics read it for the
whole days before today and the raw rows for today and later.

How it stays equal to the raw rows:
- Every change of a booking goes through the ORM (the flush guard makes
  sure bookings change only after `lock()`): a flush listener takes each
  changed booking's contribution before the change (the attributes' loaded
  values, loaded even when expired: `active_history`) and after it, and
  adds the difference with one atomic upsert `x = x + excluded.x` on both
  engines. Two transactions changing bookings of one instrument and day
  each add their own difference: nothing is computed from a snapshot, so
  nothing is lost under PostgreSQL's read committed.
- A new booking is written by one Core INSERT (a series in one statement),
  which no flush sees: `bookings_created`, subscribed to the booking
  events, adds it.
- A blackout, the opening hours or the holiday flag of an instrument
  change its blackout minutes: the listener recomputes them for that
  instrument from its blackouts (few), under the instrument's lock that
  every such writer takes.
- The weekly open minutes of an instrument (`stats_open_minutes`) are its
  hours summed per weekday, recomputed by the same listener when they change.
- The holiday table is the `holidays` package: after upgrading it, run
  `flask stats rebuild` (the calendar is applied to the weekly open minutes
  when read; only blackout minutes depend on it here).
- Bulk loaders (bench, demo, bulk.py) write with Core and rebuild after.
- A transaction that changes what a statistic of whole past days shows
  replaces, at its commit, the token of `stats_version` (an instrument,
  institution, firm, order, blackout or opening hours; a rebuild: `bump`)
  or of each day in `stats_day_version` whose booking figures it changed,
  up to today (`bump_days`): a dashboard of such days is computed once per
  set of tokens it reads (stats/dashboard.py).
- `rebuild(first, last)` recomputes the days from the raw rows; the
  scheduler's nightly `stats-check` does it for yesterday and logs drift.
- The monthly rows, per instrument (`stats_monthly`) and per institution
  and firm city (`stats_institution_monthly`), are the daily rows summed: the same deltas, gathered in the session and
  written at its commit after every daily row (`_write_months`: why, there),
  and derived from the daily rows by every rebuild (`derive_months`); the
  yearly rows per instrument (`stats_yearly`) the monthly ones summed,
  written right after them and derived from them.
"""
from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..accounts.models import Firm, Institution
from ..booking.calendar import effective_weekday
from ..booking.models import Blackout, Booking, BookingStatus
from ..bulk import bulk_insert
from ..catalogue.models import Instrument, OpeningHours
from ..db_types import UTCDateTime
from ..extensions import db
from ..orders.models import Order, OrderEvent
from ..timeutil import platform_today, platform_zone
from .models import (
    WEEKDAYS,
    DailyFigures,
    InstitutionMonthlyFigures,
    MonthlyFigures,
    WeeklyOpenMinutes,
    YearlyFigures,
)

log = logging.getLogger(__name__)

BOOKING_FIELDS = ("booked_seconds", "used_seconds", "staff_seconds", "bookings", "no_shows",
                  "revenue_cents", "voucher_cents")
FIELDS = BOOKING_FIELDS + ("lost_minutes",)
LOST = FIELDS.index("lost_minutes")
TABLE = DailyFigures.__table__
MONTHLY, BY_INSTITUTION = MonthlyFigures.__table__, InstitutionMonthlyFigures.__table__
OPEN_MINUTES = WeeklyOpenMinutes.__table__
YEARLY = YearlyFigures.__table__
KEY = ("day", "instrument_id", "firm_city")
# Attributes whose change can change a booking's figures.
WATCHED = ("instrument_id", "user_id", "firm_id", "status", "start", "end", "used_start", "used_end", "cost",
           "voucher_amount")
ACTIVE = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)
COUNTED = (*ACTIVE, BookingStatus.NO_SHOW)
# Recorded usage lies within a day of the booking (usage.record_usage); a
# booking within eight days of its start (conflicts.MAX_OCCUPIED_SPAN).
REACH_BEFORE, REACH_AFTER = timedelta(days=10), timedelta(days=2)


# --- one booking's contribution ------------------------------------------------------------

def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), platform_zone())


def _seconds_by_day(start: datetime, end: datetime):
    """(day, seconds) of `[start, end)` on each day of the platform zone it touches."""
    if start is None or end is None or end <= start:
        return
    zone = platform_zone()
    day = start.astimezone(zone).date()
    while True:
        opens, closes = _day_start(day), _day_start(day + timedelta(days=1))
        piece = (min(end, closes) - max(start, opens)).total_seconds()
        if piece > 0:
            yield day, round(piece)
        if closes >= end:
            return
        day += timedelta(days=1)


def _cents(amount) -> int:
    return int(round((amount or 0) * 100))


def add_booking(out: dict, state: tuple, sign: int) -> None:
    """Add (`sign` 1) or take away (-1) the figures of one booking, given as
    (instrument_id, firm_city, staff, status, start, end, used_start,
    used_end, cost, voucher_amount), to `out` {(day, instrument, city): [figures]}."""
    instrument_id, city, staff, status, start, end, used_start, used_end, cost, voucher = state
    if status not in COUNTED:
        return

    def row(day):
        key = (day, instrument_id, city)
        found = out.get(key)
        if found is None:
            found = out[key] = [0] * len(FIELDS)
        return found

    start_day = start.astimezone(platform_zone()).date()
    if status == BookingStatus.NO_SHOW:
        row(start_day)[4] += sign
        return
    for day, seconds in _seconds_by_day(start, end):
        row(day)[0] += sign * seconds
    row(start_day)[3] += sign
    if status == BookingStatus.COMPLETED:
        used = (used_start, used_end) if used_start is not None else (start, end)
        for day, seconds in _seconds_by_day(*used):
            figures = row(day)
            figures[1] += sign * seconds
            if staff:
                figures[2] += sign * seconds
        figures = row(start_day)
        figures[5] += sign * _cents(cost)
        figures[6] += sign * _cents(voucher)


def blackout_union(blackouts) -> list[tuple[int, datetime, datetime]]:
    """(instrument, start, end) of each instrument's blackouts, overlapping
    or touching ones merged: a minute two blackouts both take is lost once
    (it was counted twice, on every path alike; found by review)."""
    merged: list[list] = []
    for instrument_id, start, end in sorted(blackouts, key=lambda row: (row[0], row[1])):
        if merged and merged[-1][0] == instrument_id and start <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], end)
        else:
            merged.append([instrument_id, start, end])
    return [tuple(row) for row in merged]


def _lost_by_day(out: dict, blackouts, hours, open_on_holidays, first: date | None = None,
                 last: date | None = None) -> None:
    """Opening minutes the blackouts take on each day (as services._blackout_minutes)."""
    weekly: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for instrument_id, weekday, opens, closes in hours:
        weekly[instrument_id][weekday].append((opens, closes))
    zone = platform_zone()
    for instrument_id, start, end in blackout_union(blackouts):
        day, final = start.astimezone(zone).date(), end.astimezone(zone).date()
        while day <= final:
            if (first is None or day >= first) and (last is None or day <= last):
                d0 = _day_start(day)
                s, e = max(start, d0), min(end, _day_start(day + timedelta(days=1)))
                weekday = effective_weekday(day, bool(open_on_holidays.get(instrument_id)))
                minutes = 0
                if s < e and weekday is not None:
                    for opens, closes in weekly[instrument_id].get(weekday, ()):
                        overlap = min(d0 + timedelta(minutes=closes), e) - max(d0 + timedelta(minutes=opens), s)
                        minutes += max(0, int(overlap.total_seconds() // 60))
                if minutes:
                    key = (day, instrument_id, "")
                    found = out.get(key)
                    if found is None:
                        found = out[key] = [0] * len(FIELDS)
                    found[LOST] += minutes
            day += timedelta(days=1)


# --- writing ---------------------------------------------------------------------------------

def _rows(figures: dict, names=FIELDS) -> list[dict]:
    rows = []
    for (day, instrument_id, city), values in sorted(figures.items(), key=lambda item: item[0]):
        if any(values):
            row = {"day": day, "instrument_id": instrument_id, "firm_city": city}
            row.update(zip(FIELDS, values, strict=True))
            rows.append({k: v for k, v in row.items() if k in KEY or k in names})
    return rows


def _upsert_sql(table: str, key: tuple[str, ...], fields: tuple[str, ...], names) -> sa.TextClause:
    """`INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x`, the same text
    on both engines, written once: built with Core it was compiled again on
    every booking (most of the maintenance's time). A new row gets every
    field (zeros), a present one adds `names`."""
    columns = (*key, *fields)
    dated = next(name for name in key if name in ("day", "month", "year"))
    return sa.text(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{n} = {table}.{n} + excluded.{n}" for n in names)
    ).bindparams(sa.bindparam(dated, type_=sa.Date()))


MONTH_KEY, INSTITUTION_KEY = ("instrument_id", "month"), ("month", "institution_id", "firm_city")
UPSERTS = {names: _upsert_sql("stats_daily", KEY, FIELDS, names) for names in (BOOKING_FIELDS, ("lost_minutes",))}
YEAR_KEY = ("year", "instrument_id")


def _period_upsert_sql(table: str, key: tuple[str, ...]) -> sa.TextClause:
    """A month's or a year's booking figures added; its blackout minutes set
    (`:lost_given` 1) or kept."""
    columns = (*key, *FIELDS)
    dated = next(name for name in key if name in ("month", "year"))
    return sa.text(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{n} = {table}.{n} + excluded.{n}" for n in BOOKING_FIELDS)
        + f", lost_minutes = CASE WHEN :lost_given = 1 THEN excluded.lost_minutes ELSE {table}.lost_minutes END"
    ).bindparams(sa.bindparam(dated, type_=sa.Date()))


MONTHLY_UPSERT = _period_upsert_sql("stats_monthly", MONTH_KEY)
YEARLY_UPSERT = _period_upsert_sql("stats_yearly", YEAR_KEY)
INSTITUTION_UPSERT = _upsert_sql("stats_institution_monthly", INSTITUTION_KEY, BOOKING_FIELDS, BOOKING_FIELDS)
INSTITUTIONS = sa.text("SELECT id, institution_id FROM instruments WHERE id IN :ids").bindparams(
    sa.bindparam("ids", expanding=True))
PENDING = "instrument_share.stats_monthly_pending"
OPEN_MINUTES_COLUMNS = ", ".join(("instrument_id", *WEEKDAYS))


def _open_minutes_sql(condition: str) -> str:
    """Each instrument's open minutes per weekday from its hours, of the
    instruments meeting `condition` (0 for a weekday it is closed)."""
    minutes = ", ".join(f"coalesce(sum(CASE WHEN opening_hours.weekday = {n} THEN opening_hours.close_minute "
                        "- opening_hours.open_minute END), 0)" for n in range(len(WEEKDAYS)))
    return (f"SELECT instruments.id, {minutes} FROM instruments "
            "LEFT OUTER JOIN opening_hours ON opening_hours.instrument_id = instruments.id "
            f"WHERE {condition} GROUP BY instruments.id")


OPEN_MINUTES_UPSERT = sa.text(
    f"INSERT INTO stats_open_minutes ({OPEN_MINUTES_COLUMNS}) {_open_minutes_sql('instruments.id IN :ids')} "
    "ON CONFLICT (instrument_id) DO UPDATE SET " + ", ".join(f"{day} = excluded.{day}" for day in WEEKDAYS)
).bindparams(sa.bindparam("ids", expanding=True))


def apply(connection, figures: dict, names=BOOKING_FIELDS, institutions: dict[int, int] | None = None,
          session: Session | None = None) -> None:
    """Add `figures` {(day, instrument, city): [figures]} to the daily rows
    now, atomically per row (`x = x + excluded.x`), in key order; and their
    sums per month (and per month, institution and firm city) to what
    `session` writes to the monthly rows when it commits (`_write_months`). Without a session (a rebuild, which derives
    the months after) the daily rows only. `institutions`: the owner of each
    instrument, where the caller knows it."""
    rows = _rows(figures)
    if not rows:
        return
    connection.execute(UPSERTS[names], rows)
    if session is None or names != BOOKING_FIELDS:
        return
    pending = _pending(session)
    pending["days"].update(key[0] for key in figures)
    months = pending["months"]
    for (day, instrument_id, _city), values in figures.items():
        found = months.get((instrument_id, day.replace(day=1)))
        if found is None:
            found = months[(instrument_id, day.replace(day=1))] = [0] * len(BOOKING_FIELDS)
        for index in range(len(BOOKING_FIELDS)):
            found[index] += values[index]
    missing = {key[1] for key in figures if key[1] not in (institutions or {})}
    if missing:
        institutions = {**(institutions or {}),
                        **dict(connection.execute(INSTITUTIONS, {"ids": sorted(missing)}).all())}
    by_institution = pending["institutions"]
    for (day, instrument_id, city), values in figures.items():
        if instrument_id not in institutions:
            continue  # deleted in this transaction: nothing of it is left to count
        key = (day.replace(day=1), institutions[instrument_id], city)
        found = by_institution.get(key)
        if found is None:
            found = by_institution[key] = [0] * len(BOOKING_FIELDS)
        for index in range(len(BOOKING_FIELDS)):
            found[index] += values[index]


def _pending(session: Session) -> dict:
    """The session's monthly deltas and the instruments whose blackout
    minutes changed, until it commits."""
    pending = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = {"months": {}, "institutions": {}, "lost": set(), "past": False,
                                           "days": set()}
    return pending


def _write_months(session: Session) -> None:
    """At commit, after the last flush: the transaction's monthly rows, then
    its institutions' rows, each in key order. A row of a month is shared by
    every change of an instrument in the month (an institution's by all its
    instruments):
    taken before the end, it made a transaction that flushes twice (the
    housekeeping: no-shows, then finished bookings) hold it while waiting
    for a daily row that a usage record held while waiting for it: a
    deadlock on PostgreSQL (found by review). Taken last, after every daily
    row, no two transactions wait for each other through them."""
    session.flush()  # the last changes' daily rows (their months join the pending ones)
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    connection = session.connection()
    rows = {key: (values, None) for key, values in pending["months"].items()}
    if pending["lost"]:
        ids = sorted(pending["lost"])
        derived = connection.execute(sa.text(
            f"SELECT instrument_id, {_month_of(session, 'day')} AS month, sum(lost_minutes) FROM stats_daily "
            f"WHERE instrument_id IN :ids AND lost_minutes <> 0 GROUP BY instrument_id, {_month_of(session, 'day')}"
        ).bindparams(sa.bindparam("ids", expanding=True)), {"ids": ids}).all()
        stale = connection.execute(sa.select(MONTHLY.c.instrument_id, MONTHLY.c.month).where(
            MONTHLY.c.instrument_id.in_(ids), MONTHLY.c.lost_minutes != 0)).all()
        for instrument_id, month, minutes in [(i, m, 0) for i, m in stale] + derived:
            month = month if isinstance(month, date) else date.fromisoformat(month)
            values = rows.get((instrument_id, month), ([0] * len(BOOKING_FIELDS), None))[0]
            rows[(instrument_id, month)] = (values, int(minutes or 0))
    monthly = [{"instrument_id": key[0], "month": key[1], **dict(zip(BOOKING_FIELDS, values, strict=True)),
                "lost_minutes": lost or 0, "lost_given": int(lost is not None)}
               for key, (values, lost) in sorted(rows.items()) if any(values) or lost is not None]
    if monthly:
        connection.execute(MONTHLY_UPSERT, monthly)
    years = _years(rows)  # none where the months' changes cancel out (a booking moved within its year)
    if years:
        connection.execute(YEARLY_UPSERT, years)
    by_institution = [{"month": key[0], "institution_id": key[1], "firm_city": key[2],
                       **dict(zip(BOOKING_FIELDS, values, strict=True))}
                      for key, values in sorted(pending["institutions"].items()) if any(values)]
    if by_institution:
        connection.execute(INSTITUTION_UPSERT, by_institution)
    # Last, in one order (the platform's token, then the days'): the rows
    # every such writer shares. A change of the rows a statistic reads for
    # every day replaces the platform's token; a booking's figures, the
    # tokens of their days. Today's too, though no kept page shows it: a
    # commit that lands after midnight (or a worker whose clock is behind a
    # reader's) changes what is yesterday for a reader that may already keep
    # it (found by review). Only changes of later days keep every token.
    if pending["past"]:
        bump(connection)
    today = platform_today()
    bump_days(connection, sorted(day for day in pending["days"] if day <= today))


def _years(months: dict) -> list[dict]:
    """The yearly rows' changes from the monthly ones {(instrument, month):
    (booking deltas, blackout minutes set or None)}, in key order: the
    deltas summed; a year's blackout minutes set where a month of it has
    them set. A change of an instrument's blackouts sets every month that
    has or had any (`_write_months`), so their sum is the whole year's."""
    years: dict[tuple[date, int], tuple[list[int], int | None]] = {}
    for (instrument_id, month), (values, lost) in months.items():
        key = (month.replace(month=1), instrument_id)
        sums, year_lost = years.get(key, ([0] * len(BOOKING_FIELDS), None))
        sums = [a + b for a, b in zip(sums, values, strict=True)]
        if lost is not None:
            year_lost = (year_lost or 0) + lost
        years[key] = (sums, year_lost)
    return [{"year": year, "instrument_id": instrument_id, **dict(zip(BOOKING_FIELDS, values, strict=True)),
             "lost_minutes": lost or 0, "lost_given": int(lost is not None)}
            for (year, instrument_id), (values, lost) in sorted(years.items())
            if any(values) or lost is not None]


def _forget_months(session: Session, previous_transaction) -> None:
    """A rollback takes the daily rows back: the months pending go too. (The
    platform opens no savepoints; one rolled back would drop the whole
    transaction's months here, and the nightly check would derive them.)"""
    session.info.pop(PENDING, None)


CONTEXT = sa.text(
    "SELECT bookings.id, coalesce(firms.city_code, ''), "
    "CASE WHEN users.institution_id IS NOT NULL AND users.institution_id = instruments.institution_id "
    "THEN 1 ELSE 0 END, instruments.institution_id FROM bookings "
    "JOIN instruments ON bookings.instrument_id = instruments.id "
    "JOIN users ON bookings.user_id = users.id LEFT OUTER JOIN firms ON bookings.firm_id = firms.id "
    "WHERE bookings.id IN :ids").bindparams(sa.bindparam("ids", expanding=True))


def _context(connection, booking_ids) -> dict[int, tuple[str, bool, int]]:
    """Each booking's firm city ('' without a firm), whether its booker is
    staff of the instrument's owner, and that owner: one statement (text:
    see _upsert_sql)."""
    rows = connection.execute(CONTEXT, {"ids": list(booking_ids)})
    return {booking_id: (city, bool(is_staff), owner) for booking_id, city, is_staff, owner in rows}


def _state(booking: Booking, context: tuple[str, bool], old: bool) -> tuple:
    values = []
    for name in ("status", "start", "end", "used_start", "used_end", "cost", "voucher_amount"):
        value = getattr(booking, name)
        if old:
            history = sa.inspect(booking).attrs[name].history
            if history.deleted:
                value = history.deleted[0]
        values.append(value)
    return (booking.instrument_id, context[0], context[1], *values)


def bookings_created(bookings: list[Booking], event: str | None = None) -> None:
    """Bookings the caller inserted by Core (booking.services.create_booking,
    through the booking events): add them as they were written."""
    from ..booking.models import BookingAction

    if event not in (None, BookingAction.REQUESTED, BookingAction.CONFIRMED):
        return  # every other change is a flush the listener sees
    connection = db.session.connection()
    context = _context(connection, [b.id for b in bookings])
    figures: dict = {}
    for booking in bookings:
        add_booking(figures, _state(booking, context[booking.id], old=True), 1)
    apply(connection, figures, institutions={b.instrument_id: context[b.id][2] for b in bookings},
          session=db.session())


def _recompute_lost(connection, instrument_ids) -> None:
    """Blackout minutes of these instruments, all days, from their blackouts
    (few), hours and holiday flag. The caller holds each instrument's lock."""
    ids = sorted(instrument_ids)
    connection.execute(sa.update(TABLE).where(TABLE.c.instrument_id.in_(ids), TABLE.c.lost_minutes != 0)
                       .values(lost_minutes=0))
    blackouts = connection.execute(sa.select(Blackout.instrument_id, Blackout.start, Blackout.end)
                                   .where(Blackout.instrument_id.in_(ids))).all()
    if not blackouts:
        return
    hours = connection.execute(sa.select(OpeningHours.instrument_id, OpeningHours.weekday,
                                         OpeningHours.open_minute, OpeningHours.close_minute)
                               .where(OpeningHours.instrument_id.in_(ids))).all()
    flags = dict(connection.execute(sa.select(Instrument.id, Instrument.open_on_holidays)
                                    .where(Instrument.id.in_(ids))).all())
    figures: dict = {}
    _lost_by_day(figures, blackouts, hours, flags)
    apply(connection, figures, ("lost_minutes",))


# Rows whose change may change a statistic of whole past days (bookings:
# by the days their figures change).
PAST_INPUTS = (Instrument, Institution, Firm, Order, OrderEvent, Blackout, OpeningHours)
VERSION_UPSERT = sa.text("INSERT INTO stats_version (id, token) VALUES (1, :token) "
                         "ON CONFLICT (id) DO UPDATE SET token = excluded.token")


DAY_VERSION_UPSERT = sa.text("INSERT INTO stats_day_version (day, token) VALUES (:day, :token) "
                             "ON CONFLICT (day) DO UPDATE SET token = excluded.token").bindparams(
    sa.bindparam("day", type_=sa.Date()))


def bump(connection) -> None:
    """A new statistics version: what a statistic of whole past days shows
    may have changed on any day (a random token, see StatsVersion)."""
    connection.execute(VERSION_UPSERT, {"token": secrets.token_hex(16)})


def bump_days(connection, days: list[date]) -> None:
    """New versions of these days (in order): a booking's figures on them
    changed (StatsDayVersion)."""
    if days:
        connection.execute(DAY_VERSION_UPSERT, [{"day": day, "token": secrets.token_hex(16)} for day in days])


def uncommitted(session: Session) -> bool:
    """Whether `session`'s transaction has flushed changes of the figures
    it has not committed yet: what it reads is then its own, not what a
    kept page may show."""
    return PENDING in session.info


def _inputs_changed(session: Session) -> bool:
    return any(isinstance(obj, PAST_INPUTS) for obj in chain(session.new, session.deleted)) or any(
        isinstance(obj, PAST_INPUTS) and session.is_modified(obj, include_collections=False)
        for obj in session.dirty)


def _after_flush(session: Session, _context_unused) -> None:
    if _inputs_changed(session):
        _pending(session)["past"] = True
    changed, calendars = [], set()
    for obj in session.new:
        if isinstance(obj, Booking):
            changed.append((obj, None))
        elif isinstance(obj, Blackout | OpeningHours):
            calendars.add(obj.instrument_id if obj.instrument_id is not None else obj.instrument.id)
    for obj in session.dirty:
        if isinstance(obj, Booking):
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in WATCHED):
                changed.append((obj, True))
        elif isinstance(obj, Blackout | OpeningHours):
            calendars.add(obj.instrument_id)
            history = sa.inspect(obj).attrs.instrument_id.history
            calendars.update(v for v in history.deleted if v is not None)
        elif isinstance(obj, Instrument) and sa.inspect(obj).attrs.open_on_holidays.history.has_changes():
            calendars.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Booking):
            changed.append((obj, False))
        elif isinstance(obj, Blackout | OpeningHours):
            calendars.add(obj.instrument_id)
    calendars.discard(None)
    if not changed and not calendars:
        return
    connection = session.connection()
    if changed:
        context = _context(connection, [booking.id for booking, _ in changed])
        figures: dict = {}
        for booking, kind in changed:
            where = context.get(booking.id)
            if where is None:  # deleted in this flush: its firm and booker as loaded
                where = ("", False, None)
            if kind is not False:
                add_booking(figures, _state(booking, where, old=False), 1)
            if kind is not None:
                add_booking(figures, _state(booking, where, old=True), -1)
        apply(connection, figures, institutions={booking.instrument_id: owner for booking, _ in changed
                                                 if (owner := context.get(booking.id, (0, 0, None))[2]) is not None},
              session=session)
    if calendars:
        _recompute_lost(connection, calendars)
        connection.execute(OPEN_MINUTES_UPSERT, {"ids": sorted(calendars)})
        _pending(session)["lost"].update(calendars)


def install() -> None:
    """The flush listener and the old values it needs (once per process)."""
    if sa.event.contains(Session, "after_flush", _after_flush):
        return
    sa.event.listen(Session, "after_flush", _after_flush)
    sa.event.listen(Session, "before_commit", _write_months)
    sa.event.listen(Session, "after_soft_rollback", _forget_months)
    for name in WATCHED:
        # A change of an expired attribute loads its old value first: the
        # listener must know what the booking counted before.
        sa.event.listen(getattr(Booking, name), "set", _noop, active_history=True)


def _noop(target, value, oldvalue, initiator):
    return value


# --- computing from the raw rows, and rebuilding ---------------------------------------------

def _moment(seconds) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(int(seconds), UTC)


END = 'bookings."end"'


def _booking_rows_text(session, condition: str, select: str, group: str = "") -> str:
    """The counted bookings near the range with whole epoch seconds (`s`, `e`,
    `us`, `ue`), their firm's city and the staff flag (parameters `lo`,
    `hi`): one shape on both engines but for the seconds."""
    if session.get_bind().dialect.name == "postgresql":
        def seconds(column):
            return f"CAST(extract(epoch FROM {column}) AS BIGINT)"
    else:
        def seconds(column):
            return f"CAST(round((julianday({column}) - 2440587.5) * 86400.0) AS INTEGER)"
    return (
        "WITH b AS (SELECT bookings.instrument_id AS iid, coalesce(firms.city_code, '') AS city, "
        "CASE WHEN users.institution_id IS NOT NULL AND users.institution_id = instruments.institution_id "
        "THEN 1 ELSE 0 END AS staff, bookings.status AS status, "
        f"{seconds('bookings.start')} AS s, {seconds(END)} AS e, "
        f"{seconds('bookings.used_start')} AS us, {seconds('bookings.used_end')} AS ue, "
        "bookings.cost AS cost, bookings.voucher_amount AS voucher "
        "FROM bookings JOIN instruments ON bookings.instrument_id = instruments.id "
        "JOIN users ON bookings.user_id = users.id LEFT OUTER JOIN firms ON bookings.firm_id = firms.id "
        "WHERE bookings.status IN ('confirmed', 'completed', 'no_show') "
        "AND bookings.start >= :lo AND bookings.start < :hi) "
        f"SELECT {select} FROM b WHERE {condition} {group}"
    )


def _with_times(text: str) -> sa.TextClause:
    return sa.text(text).bindparams(sa.bindparam("lo", type_=UTCDateTime()), sa.bindparam("hi", type_=UTCDateTime()))


# A booking that lies within its start day, used (if recorded) within it too;
# a no-show counts on its start day alone. Days are numbered with one UTC
# offset (`off`): where the platform zone changes its offset near the range
# (`steady` is 0), every booking takes the Python path, which cuts days in
# the zone itself.
_ONE_DAY = ("(:steady = 1 AND (status = 'no_show' OR ((s + :off) / 86400 = (e - 1 + :off) / 86400 AND (us IS NULL OR "
            "(ue IS NOT NULL AND (us + :off) / 86400 = (s + :off) / 86400 "
            "AND (ue - 1 + :off) / 86400 = (s + :off) / 86400)))))")
_USED = "CASE WHEN status = 'completed' THEN CASE WHEN us IS NULL THEN e - s ELSE ue - us END ELSE 0 END"


def _steady_offset(first: date, last: date) -> bool:
    """Whether the platform zone keeps one UTC offset from `first` to `last`
    (Asia/Shanghai always; a zone with summer time not across its changes)."""
    return len({_day_start(first + timedelta(days=n)).utcoffset() for n in range((last - first).days + 1)}) == 1


# Per start day, instrument and city, the figures of the bookings within one day.
_DAY_SUMS = (
    "(s + :off) / 86400 AS n, iid, city, "
    "sum(CASE WHEN status IN ('confirmed', 'completed') THEN e - s ELSE 0 END) AS v1, "
    f"sum({_USED}) AS v2, sum(({_USED}) * staff) AS v3, "
    "sum(CASE WHEN status IN ('confirmed', 'completed') THEN 1 ELSE 0 END) AS v4, "
    "sum(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END) AS v5, "
    "sum(CASE WHEN status = 'completed' THEN cost ELSE 0 END) AS v6, "
    "sum(CASE WHEN status = 'completed' THEN voucher ELSE 0 END) AS v7")
_BY_DAY = "GROUP BY (s + :off) / 86400, iid, city"


def _simple_sql(session) -> sa.TextClause:
    return _with_times(_booking_rows_text(session, _ONE_DAY, _DAY_SUMS, _BY_DAY))


def _split_sql(session) -> sa.TextClause:
    return _with_times(_booking_rows_text(session, f"NOT {_ONE_DAY}", "iid, city, staff, status, s, e, us, ue, "
                                                                      "cost, voucher"))


def _insert_day_sums_sql(session) -> sa.TextClause:
    """The bookings within one day summed straight into the table: no row
    comes back to Python (rebuild_all; the day from its number in SQL)."""
    if session.get_bind().dialect.name == "postgresql":
        day = "DATE '1970-01-01' + CAST(g.n AS INTEGER)"
    else:
        day = "date(g.n * 86400, 'unixepoch')"
    columns = ", ".join((*KEY, *FIELDS))
    return _with_times(
        f"INSERT INTO stats_daily ({columns}) SELECT {day}, g.iid, g.city, g.v1, g.v2, g.v3, g.v4, g.v5, g.v6, "
        f"g.v7, 0 FROM ({_booking_rows_text(session, _ONE_DAY, _DAY_SUMS, _BY_DAY)}) AS g")


def _add_split_bookings(session, params: dict, figures: dict) -> None:
    """Add the bookings the SQL path leaves out (across midnight, or used on
    another day) to `figures`, cut into days in Python."""
    for instrument_id, city, staff, status, s, e, us, ue, cost, voucher in session.execute(
            _split_sql(session), params):
        add_booking(figures, (instrument_id, city, staff, status, _moment(s), _moment(e), _moment(us), _moment(ue),
                              Decimal(int(cost or 0)) / 100, Decimal(int(voucher or 0)) / 100), 1)


def compute(first: date, last: date, session=None) -> dict:
    """The roll-ups of the days `first`..`last` from the raw rows (bookings,
    blackouts, opening hours): {(day, instrument, city): [figures]}."""
    session = session or db.session
    start, end = _day_start(first), _day_start(last + timedelta(days=1))
    figures: dict = {}
    epoch = date(1970, 1, 1)
    params = {"lo": start - REACH_BEFORE, "hi": end + REACH_AFTER,
              "off": int(start.utcoffset().total_seconds()),
              "steady": int(_steady_offset(first - REACH_BEFORE, last + REACH_AFTER + timedelta(days=1)))}
    # Bookings within one day (nearly all) are summed by SQL, per start day;
    # the others (across midnight, or used on another day) split in Python.
    for day_number, instrument_id, city, *values in session.execute(_simple_sql(session), params):
        key = (epoch + timedelta(days=int(day_number)), instrument_id, city)
        figures[key] = [int(v or 0) for v in values] + [0]
    _add_split_bookings(session, params, figures)
    figures = {key: values for key, values in figures.items() if first <= key[0] <= last}
    blackouts = session.execute(sa.select(Blackout.instrument_id, Blackout.start, Blackout.end)
                                   .where(Blackout.start < end, Blackout.end > start)).all()
    if blackouts:
        ids = sorted({row[0] for row in blackouts})
        hours = session.execute(sa.select(OpeningHours.instrument_id, OpeningHours.weekday,
                                             OpeningHours.open_minute, OpeningHours.close_minute)
                                   .where(OpeningHours.instrument_id.in_(ids))).all()
        flags = dict(session.execute(sa.select(Instrument.id, Instrument.open_on_holidays)
                                        .where(Instrument.id.in_(ids))).all())
        _lost_by_day(figures, blackouts, hours, flags, first, last)
    return {key: values for key, values in figures.items() if any(values)}


def stored(first: date, last: date, session=None) -> dict:
    """The roll-ups as stored for the days `first`..`last` (rows of zeros left out)."""
    rows = (session or db.session).execute(sa.select(*(TABLE.c[name] for name in KEY + FIELDS))
                              .where(TABLE.c.day >= first, TABLE.c.day <= last))
    return {tuple(row[:3]): list(row[3:]) for row in rows if any(row[3:])}


def drift(expected: dict, found: dict) -> list[dict]:
    """The rows where `found` differs from `expected`: key, expected, found."""
    zero = [0] * len(FIELDS)
    return [{"day": key[0].isoformat(), "instrument_id": key[1], "firm_city": key[2],
             "expected": dict(zip(FIELDS, expected.get(key, zero), strict=True)),
             "found": dict(zip(FIELDS, found.get(key, zero), strict=True))}
            for key in sorted(set(expected) | set(found)) if expected.get(key, zero) != found.get(key, zero)]


CHUNK = timedelta(days=31)


def rebuild(first: date, last: date, check: bool = False, session=None) -> list[dict]:
    """Recompute the roll-ups of `first`..`last` from the raw rows, a month at
    a time, and return what differed. With `check`, rows are replaced only
    where they differed (a drift is logged); without, the whole range is
    replaced. The caller commits (on SQLite inside the write transaction)."""
    session = session or db.session
    if session.get_bind().dialect.name == "postgresql":
        # Writers add their deltas under ROW EXCLUSIVE: wait for those in
        # flight to commit, read after them, and keep new ones waiting until
        # the rebuilt rows are committed, so none is overwritten. (SQLite's
        # single writer does the same: the caller began the write transaction.)
        _lock_tables(session)
    differences = []
    chunk_first = first
    while chunk_first <= last:
        chunk_last = min(last, chunk_first + CHUNK - timedelta(days=1))
        expected = compute(chunk_first, chunk_last, session)
        if check:
            found = stored(chunk_first, chunk_last, session)
            found_drift = drift(expected, found)
            differences += found_drift
            for item in found_drift:
                log.warning("statistics roll-up drift: %s", item)
            if not found_drift:
                chunk_first = chunk_last + timedelta(days=1)
                continue
        session.execute(sa.delete(TABLE).where(TABLE.c.day >= chunk_first, TABLE.c.day <= chunk_last))
        _insert_rows(session, expected)
        chunk_first = chunk_last + timedelta(days=1)
    differences += derive_months(first, last, check, session) + derive_open_minutes(check, session)
    # Always, the nightly check too: a dashboard kept since a change that
    # crossed midnight unseen (see _write_months) lasts a night at most.
    bump(session.connection())
    return differences


def _insert_rows(session, figures: dict) -> None:
    """Rows straight to the driver (bulk.py): through Core, a rebuild of the
    demo's 400,000 rows spent more time in type processing than in SQL."""
    rows = [(*key, *values) for key, values in sorted(figures.items()) if any(values)]
    if not rows:
        return
    if session is not db.session:  # a session of its own (the migration's): through Core
        for index in range(0, len(rows), 5000):
            session.execute(sa.insert(TABLE), [dict(zip(KEY + FIELDS, row, strict=True))
                                               for row in rows[index:index + 5000]])
        return
    if session.get_bind().dialect.name != "postgresql":
        rows = [(row[0].isoformat(), *row[1:]) for row in rows]
    bulk_insert("stats_daily", KEY + FIELDS, rows)


def rebuild_all(session=None) -> int:
    """Rebuild every day that has a booking or blackout (bulk loaders call
    this after loading); the number of days covered."""
    session = session or db.session
    if session.get_bind().dialect.name == "postgresql":
        _lock_tables(session)
    bounds = session.execute(sa.select(sa.func.min(Booking.start), sa.func.max(Booking.end))).one()
    blackout_bounds = session.execute(sa.select(sa.func.min(Blackout.start), sa.func.max(Blackout.end))).one()
    starts = [b for b in (bounds[0], blackout_bounds[0]) if b is not None]
    ends = [b for b in (bounds[1], blackout_bounds[1]) if b is not None]
    for table in (TABLE, MONTHLY, BY_INSTITUTION, YEARLY, OPEN_MINUTES):
        session.execute(sa.delete(table))
    derive_open_minutes(session=session)
    bump(session.connection())
    if not starts:
        return 0
    zone = platform_zone()
    first = min(starts).astimezone(zone).date() - timedelta(days=2)
    last = max(ends).astimezone(zone).date() + timedelta(days=2)
    if _steady_offset(first - REACH_BEFORE, last + REACH_AFTER + timedelta(days=1)):
        _fill_in_sql(session, first, last)
        derive_months(session=session)
    else:
        rebuild(first, last, session=session)
    return (last - first).days + 1


def _fill_in_sql(session, first: date, last: date) -> None:
    """The empty table filled with the figures of every day in `first`..`last`
    (all the history), as `compute` gives them: the bookings within one day
    summed by one INSERT … SELECT, the few others and the blackout minutes
    added by the upsert. A month at a time through Python, `rebuild` spent
    most of a bulk load's rebuild fetching, keying and writing back the
    rows (the demo's seed: 8 of its 66 s)."""
    start, end = _day_start(first), _day_start(last + timedelta(days=1))
    params = {"lo": start - REACH_BEFORE, "hi": end + REACH_AFTER,
              "off": int(start.utcoffset().total_seconds()), "steady": 1}
    connection = session.connection()
    connection.execute(_insert_day_sums_sql(session), params)
    figures: dict = {}
    _add_split_bookings(session, params, figures)
    apply(connection, figures)
    blackouts = connection.execute(sa.select(Blackout.instrument_id, Blackout.start, Blackout.end)).all()
    if blackouts:
        hours = connection.execute(sa.select(OpeningHours.instrument_id, OpeningHours.weekday,
                                             OpeningHours.open_minute, OpeningHours.close_minute)).all()
        flags = dict(connection.execute(sa.select(Instrument.id, Instrument.open_on_holidays)).all())
        lost: dict = {}
        _lost_by_day(lost, blackouts, hours, flags, first, last)
        apply(connection, lost, ("lost_minutes",))


# --- the monthly rows, derived from the daily ones ------------------------------------------

def _lock_tables(session) -> None:
    """PostgreSQL: writers add their deltas to these tables (and replace an
    instrument's weekly open minutes) under ROW EXCLUSIVE: wait for those in
    flight to commit, read after them, and keep new ones waiting until the
    rebuilt rows are committed, so none is overwritten; in the writers'
    order. (SQLite's single writer does the same: the caller began the
    write transaction.)"""
    session.execute(sa.text("LOCK TABLE stats_daily, stats_open_minutes, stats_monthly, stats_yearly, "
                            "stats_institution_monthly IN SHARE ROW EXCLUSIVE MODE"))


def _month_of(session, column: str) -> str:
    if session.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS DATE)"
    return f"substr({column}, 1, 7) || '-01'"  # dates are ISO text on SQLite


def _year_of(session, column: str) -> str:
    if session.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('year', {column}) AS DATE)"
    return f"substr({column}, 1, 4) || '-01-01'"


# Each table derived, in this order (the years from the months just
# derived): name, key columns, figures, the date column of its range.
DERIVED = (("stats_monthly", MONTH_KEY, FIELDS, "month"),
           ("stats_institution_monthly", INSTITUTION_KEY, BOOKING_FIELDS, "month"),
           ("stats_yearly", YEAR_KEY, FIELDS, "year"))


def _derived_sql(session, within: bool) -> tuple[str, str, str]:
    """SELECTs of the monthly rows per instrument and per institution as
    the daily rows give them (of the months in [:lo, :hi) when `within`),
    and of the yearly rows as the monthly rows give them (of the years in
    [:ylo, :yhi)), in the tables' column order."""
    month = _month_of(session, "stats_daily.day")
    year = _year_of(session, "stats_monthly.month")
    where = "stats_daily.day >= :lo AND stats_daily.day < :hi" if within else "1 = 1"
    in_years = "stats_monthly.month >= :ylo AND stats_monthly.month < :yhi" if within else "1 = 1"

    def sums(names):
        return ", ".join(f"sum(stats_daily.{n})" for n in names)

    def nonzero(names):
        return " OR ".join(f"sum(stats_daily.{n}) <> 0" for n in names)

    monthly = (f"SELECT stats_daily.instrument_id, {month}, {sums(FIELDS)} FROM stats_daily WHERE {where} "
               f"GROUP BY stats_daily.instrument_id, {month} HAVING {nonzero(FIELDS)}")
    by_institution = (
        f"SELECT {month}, instruments.institution_id, stats_daily.firm_city, {sums(BOOKING_FIELDS)} "
        f"FROM stats_daily JOIN instruments ON stats_daily.instrument_id = instruments.id WHERE {where} "
        f"GROUP BY {month}, instruments.institution_id, stats_daily.firm_city HAVING {nonzero(BOOKING_FIELDS)}")
    yearly = (f"SELECT {year}, stats_monthly.instrument_id, {', '.join(f'sum(stats_monthly.{n})' for n in FIELDS)} "
              f"FROM stats_monthly WHERE {in_years} GROUP BY {year}, stats_monthly.instrument_id "
              f"HAVING {' OR '.join(f'sum(stats_monthly.{n}) <> 0' for n in FIELDS)}")
    return monthly, by_institution, yearly


def _month_bounds(first: date, last: date) -> dict:
    return {"lo": first.replace(day=1), "hi": (last.replace(day=1) + timedelta(days=32)).replace(day=1),
            "ylo": date(first.year, 1, 1), "yhi": date(last.year + 1, 1, 1)}


def _dated(text: str) -> sa.TextClause:
    clause = sa.text(text)
    return clause.bindparams(*(sa.bindparam(name, type_=sa.Date()) for name in ("lo", "hi", "ylo", "yhi")
                               if f":{name}" in text))


def _range(column: str) -> str:
    return f"{column} >= :lo AND {column} < :hi" if column == "month" else f"{column} >= :ylo AND {column} < :yhi"


def months_drift(first: date, last: date, session=None) -> list[dict]:
    """Where the stored monthly rows (per instrument, per institution) of the
    months of `first`..`last` differ from what the daily rows give, and the
    yearly rows from what the monthly rows give: table, key,
    expected, found."""
    session = session or db.session
    params = _month_bounds(first, last)
    differences = []
    for (table, key_columns, names, dated), derived in zip(DERIVED, _derived_sql(session, within=True), strict=True):
        width = len(key_columns)
        expected = {tuple(row[:width]): list(row[width:]) for row in session.execute(_dated(derived), params)}
        stored_rows = session.execute(_dated(
            f"SELECT * FROM (SELECT {', '.join(key_columns)}, {', '.join(names)} FROM {table} "
            f"WHERE {_range(dated)}) AS stored"), params)
        found = {tuple(row[:width]): list(row[width:]) for row in stored_rows if any(row[width:])}
        zero = [0] * len(names)
        differences += [{"table": table, "key": [str(part) for part in key],
                         "expected": dict(zip(names, expected.get(key, zero), strict=True)),
                         "found": dict(zip(names, found.get(key, zero), strict=True))}
                        for key in sorted(set(expected) | set(found), key=str)
                        if [int(v) for v in expected.get(key, zero)] != [int(v) for v in found.get(key, zero)]]
    return differences


def derive_months(first: date | None = None, last: date | None = None, check: bool = False,
                  session=None) -> list[dict]:
    """The monthly rows (per instrument, per institution) of the months of
    `first`..`last` (all months without them) recomputed from the daily
    rows, then the yearly rows of their years from the monthly rows. With
    `check`, only if they differ (each difference logged and returned)."""
    session = session or db.session
    within = first is not None
    params = _month_bounds(first, last) if within else {}
    differences = []
    if check and within:
        differences = months_drift(first, last, session)
        for item in differences:
            log.warning("statistics monthly roll-up drift: %s", item)
        if not differences:
            return []
    for (table, key_columns, names, dated), derived in zip(DERIVED, _derived_sql(session, within), strict=True):
        session.execute(_dated(f"DELETE FROM {table}" + (f" WHERE {_range(dated)}" if within else "")), params)
        # In the key's order: on PostgreSQL the rows then lie in the order a
        # period's range of the index reads them (a year of the institutions'
        # rows inserted in hash order was 54,000 page reads and 47 ms).
        order = ", ".join(str(n + 1) for n in range(len(key_columns)))
        session.execute(_dated(f"INSERT INTO {table} ({', '.join((*key_columns, *names))}) {derived} "
                               f"ORDER BY {order}"), params)
    return differences


def derive_open_minutes(check: bool = False, session=None) -> list[dict]:
    """Every instrument's weekly open minutes recomputed from its hours.
    With `check`, only if they differ (each difference logged and returned)."""
    session = session or db.session
    differences = []
    if check:
        expected = {row[0]: [int(v) for v in row[1:]] for row in session.execute(sa.text(_open_minutes_sql("1 = 1")))}
        found = {row[0]: [int(v) for v in row[1:]] for row in session.execute(sa.select(OPEN_MINUTES))}
        zero = [0] * len(WEEKDAYS)
        differences = [{"table": "stats_open_minutes", "key": [str(key)],
                        "expected": dict(zip(WEEKDAYS, expected.get(key, zero), strict=True)),
                        "found": dict(zip(WEEKDAYS, found.get(key, zero), strict=True))}
                       for key in sorted(set(expected) | set(found)) if expected.get(key, zero) != found.get(key, zero)]
        for item in differences:
            log.warning("statistics open minutes drift: %s", item)
        if not differences:
            return []
    session.execute(sa.delete(OPEN_MINUTES))
    session.execute(sa.text(f"INSERT INTO stats_open_minutes ({OPEN_MINUTES_COLUMNS}) {_open_minutes_sql('1 = 1')}"))
    return differences
