"""Free time: availability of one instrument, and the nearest free slots."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import NamedTuple

import sqlalchemy as sa

from ..catalogue.models import Instrument, OpeningHours
from ..errors import N_, ValidationFailed
from ..extensions import db
from ..sql import dialect
from .calendar import closed_intervals, opening_windows
from .conflicts import (
    MAX_OCCUPIED_SPAN,
    active_sql,
    blackouts_between,
    busy_bookings,
    calendar_rows,
    overlaps_sql,
)
from .models import ACTIVE_INDEX, Blackout, Booking
from .rules import BOOKING_HORIZON

SUGGESTION_HORIZON = timedelta(days=14)
SUGGESTION_STEP_MINUTES = 15


def subtract(
    windows: list[tuple[datetime, datetime]], busy: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """`windows` minus `busy`, both sorted lists of half-open intervals."""
    free = []
    for w_start, w_end in windows:
        cursor = w_start
        for b_start, b_end in busy:
            if b_end <= cursor or b_start >= w_end:
                continue
            if b_start > cursor:
                free.append((cursor, b_start))
            cursor = max(cursor, b_end)
        if cursor < w_end:
            free.append((cursor, w_end))
    return free


def free_intervals(
    instrument: Instrument, start: datetime, end: datetime, exclude_ids: tuple[int, ...] = ()
) -> list[tuple[datetime, datetime]]:
    """Open time in `[start, end)` that no booking or blackout holds."""
    windows = [(max(s, start), min(e, end)) for s, e in opening_windows(instrument, start, end)]
    busy = sorted(busy_bookings(instrument.id, start, end, exclude_ids) + blackouts_between(instrument.id, start, end))
    return subtract(windows, busy)


def _round_up(moment: datetime, minutes: int) -> datetime:
    stamp = moment.timestamp()
    step = minutes * 60
    return datetime.fromtimestamp(-(-stamp // step) * step, moment.tzinfo)


class SuggestionTerms(NamedTuple):
    """What suggestions read of an instrument besides its calendar: kept
    from the locked row when a refusal gives up the lock, so the instrument
    need not be read again."""

    id: int
    buffer_minutes: int
    open_on_holidays: bool

    @classmethod
    def of(cls, instrument: Instrument) -> SuggestionTerms:
        return cls(instrument.id, instrument.buffer_minutes, instrument.open_on_holidays)


def suggest_slots(
    instrument: Instrument | SuggestionTerms,
    start: datetime,
    end: datetime,
    earliest: datetime,
    exclude_ids: tuple[int, ...] = (),
    limit: int = 5,
    *,
    latest: datetime | None = None,
) -> list[tuple[datetime, datetime]]:
    """Up to `limit` free slots as long as `[start, end)`, nearest to `start` first.

    One candidate per free gap: the requested time moved just enough to fit
    in the gap (on a 15-minute grid), never before `earliest` (now plus the
    advance notice) nor after `latest` (the booking horizon). The buffer
    after each slot must be free too. The window is two weeks either side
    of the request; one statement reads its bookings, blackouts and (for
    `SuggestionTerms`) the weekly hours, whatever the instrument's history.
    """
    length = end - start
    buffer = timedelta(minutes=instrument.buffer_minutes)
    low = max(earliest, start - SUGGESTION_HORIZON)
    high = end + SUGGESTION_HORIZON
    if latest is not None:
        high = min(high, latest + length)
    if high <= low:
        return []
    read_hours = isinstance(instrument, SuggestionTerms)
    bookings, blackouts, hours = calendar_rows(instrument.id, low, high, high + buffer, exclude_ids, read_hours)
    week = _Week(hours, instrument.open_on_holidays) if read_hours else instrument
    windows = [(max(s, low), min(e, high)) for s, e in opening_windows(week, low, high)]
    # A slot needs [s, e) open and blackout-free, and [s, e + buffer) booking-free:
    # shrinking each booking's start by the buffer expresses both on [s, e).
    busy = sorted(blackouts + [(b_start - buffer, b_end) for b_start, b_end in bookings])
    candidates = []
    for gap_start, gap_end in subtract(windows, busy):
        first = _round_up(gap_start, SUGGESTION_STEP_MINUTES)
        last = gap_end - length
        if first > last:
            continue
        wanted = min(max(start, first), last)
        wanted = _round_up(wanted, SUGGESTION_STEP_MINUTES)
        if wanted > last:
            wanted = first
        candidates.append((abs((wanted - start).total_seconds()), wanted))
    candidates.sort()
    return [(moment, moment + length) for _, moment in candidates[:limit]]


MAX_AVAILABILITY_SPAN = timedelta(days=62)


def availability(instrument: Instrument, start: datetime, end: datetime) -> dict:
    """Busy time (bookings with their buffer, blackouts, closed hours) and
    free time in `[start, end)`. Never says who booked."""
    if end <= start:
        raise ValidationFailed(N_("Invalid range."), {"to": [N_("The end must be after the start.")]})
    if end - start > MAX_AVAILABILITY_SPAN:
        raise ValidationFailed(N_("Range too long."), {"to": [N_("At most 62 days at a time.")]})
    bookings = [(max(s, start), min(e, end)) for s, e in busy_bookings(instrument.id, start, end)]
    blackouts = [(max(s, start), min(e, end)) for s, e in blackouts_between(instrument.id, start, end)]
    busy = [{"start": s, "end": e, "kind": "booking"} for s, e in bookings]
    busy += [{"start": s, "end": e, "kind": "blackout"} for s, e in blackouts]
    busy += [{"start": s, "end": e, "kind": "closed"} for s, e in closed_intervals(instrument, start, end)]
    busy.sort(key=lambda item: (item["start"], item["end"]))
    free = free_intervals(instrument, start, end)
    return {"busy": busy, "free": [{"start": s, "end": e} for s, e in free]}


NEXT_FREE_HORIZON = timedelta(days=14)
MAX_BUFFER = timedelta(days=1)  # the instruments table's CHECK


class _Hours(NamedTuple):
    weekday: int
    open_minute: int
    close_minute: int


class _Week(NamedTuple):
    """What `opening_windows` reads of an instrument, from plain rows: its
    weekly hours and whether it opens on holidays."""

    opening_hours: list[_Hours]
    open_on_holidays: bool


def _active_bookings(ids, low, from_start, high_with_buffer, nothing, sqlite: bool) -> sa.Select:
    """The active bookings of the instruments `ids` touching [low, high):
    through the active bookings' index. For a list of instruments SQLite
    without statistics (the demo's database, any not analysed) chose
    `(status, start)` instead and read the whole platform's active bookings
    of three weeks: 20-25 ms of a 20-result search on the demo region,
    against 1 ms so (issue #19). SQLAlchemy renders no SQLite index hint,
    so there the table is named with `INDEXED BY` and its columns by text."""
    table, source = Booking.__table__.c, None
    if sqlite:
        table = SimpleNamespace(**{name: sa.literal_column(f"bookings.{name}", Booking.__table__.c[name].type)
                                   for name in ("instrument_id", "status", "start", "occupied_until")})
        source = sa.text(f"bookings INDEXED BY {ACTIVE_INDEX}")
    select = sa.select(sa.literal_column("0"), table.instrument_id, table.start, table.occupied_until,
                       nothing, nothing, nothing).where(
        table.instrument_id.in_(ids), active_sql(table.status), table.start >= from_start,
        overlaps_sql(table.start, table.occupied_until, low, high_with_buffer))
    return select if source is None else select.select_from(source)


@lru_cache(maxsize=4)
def _calendar_statement(read_hours: bool, sqlite: bool):
    """Active bookings and blackouts of some instruments (the parameter ids)
    touching [low, high), and their opening hours: built once, run with the
    values of each call (building it cost as much as running it)."""
    ids, low, high = sa.bindparam("ids", expanding=True), sa.bindparam("low"), sa.bindparam("high")
    nothing = sa.cast(sa.null(), sa.SmallInteger)  # typed: PostgreSQL matches a union's columns pairwise
    parts = [
        _active_bookings(ids, low, sa.bindparam("from_start"), sa.bindparam("high_with_buffer"), nothing, sqlite),
        sa.select(sa.literal_column("1"), Blackout.instrument_id, Blackout.start, Blackout.end, nothing, nothing,
                  nothing).where(Blackout.instrument_id.in_(ids), overlaps_sql(Blackout.start, Blackout.end, low, high)),
    ]
    if read_hours:
        parts.append(sa.select(sa.literal_column("2"), OpeningHours.instrument_id, sa.null(), sa.null(),
                               OpeningHours.weekday, OpeningHours.open_minute, OpeningHours.close_minute)
                     .where(OpeningHours.instrument_id.in_(ids)))
    return sa.union_all(*parts)


def _calendars(ids: list[int], low: datetime, high: datetime, read_hours: bool) -> tuple[dict, dict, dict | None]:
    """Active bookings `(start, occupied_until)` and blackouts of these
    instruments touching `[low, high)`, and with `read_hours` their weekly
    opening hours as plain rows (as ORM objects they cost more than the rest
    of next_free): one statement for them all."""
    bookings: dict[int, list] = {i: [] for i in ids}
    blackouts: dict[int, list] = {i: [] for i in ids}
    hours: dict[int, list] = {i: [] for i in ids}
    values = {"ids": ids, "low": low, "high": high, "from_start": low - MAX_OCCUPIED_SPAN,
              "high_with_buffer": high + MAX_BUFFER}
    for kind, instrument_id, start, end, weekday, open_minute, close_minute in db.session.connection().execute(
            _calendar_statement(read_hours, dialect() == "sqlite"), values):
        if kind == 2:
            hours[instrument_id].append(_Hours(weekday, open_minute, close_minute))
        else:
            (bookings if kind == 0 else blackouts)[instrument_id].append((start, end))
    return bookings, blackouts, hours if read_hours else None


def next_free(instruments: list[Instrument], now: datetime, low: datetime | None = None,
              high: datetime | None = None, *, read_hours: bool = False) -> dict[int, tuple[datetime, datetime] | None]:
    """For each instrument, the earliest slot of its minimum length a booking
    would get: in `[low, high)` (default: the next 14 days), on the
    15-minute grid, after its advance notice, in its opening hours (holidays
    and make-up days), clear of blackouts and of bookings with the buffer
    after each; None if there is none or it cannot be booked now. The same
    rules as the conflict checker, for a page of instruments in one
    statement (their opening hours must be loaded, unless `read_hours`:
    then the statement reads them too, as plain rows)."""
    low = max(low or now, now)
    high = min(high or now + NEXT_FREE_HORIZON, now + BOOKING_HORIZON)  # bookings open a year ahead
    ids = [instrument.id for instrument in instruments]
    if not ids or high <= low:
        return dict.fromkeys(ids)
    bookings, blackouts, hours = _calendars(ids, low, high, read_hours)
    found: dict[int, tuple[datetime, datetime] | None] = {}
    for instrument in instruments:
        found[instrument.id] = None
        if not instrument.in_service:
            continue
        earliest = max(low, now + timedelta(hours=instrument.advance_notice_hours))
        length = timedelta(minutes=instrument.min_booking_minutes)
        buffer = timedelta(minutes=instrument.buffer_minutes)
        if earliest + length > high:
            continue
        week = instrument if hours is None else _Week(hours[instrument.id], instrument.open_on_holidays)
        windows = [(max(s, earliest), min(e, high)) for s, e in opening_windows(week, earliest, high)]
        busy = sorted(blackouts[instrument.id] + [(s - buffer, e) for s, e in bookings[instrument.id]])
        for gap_start, gap_end in subtract(windows, busy):
            start = _round_up(gap_start, SUGGESTION_STEP_MINUTES)
            if start + length <= gap_end:
                found[instrument.id] = (start, start + length)
                break
    return found
