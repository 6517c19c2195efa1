"""The institution's resource timeline: its instruments side by side over a
day or a week, with their bookings (booker, firm, status), blackouts and
closed hours (the /manage/schedule page and GET
/api/v1/institutions/{id}/schedule). Four statements whatever the number
of instruments and bookings: the instruments, their opening hours, the
bookings with their bookers and firms (as plain rows: a busy week of 200
instruments is 2,000 of them), the blackouts."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import load_only

from ..accounts.models import Firm, Institution, User
from ..accounts.policy import can_manage_institution
from ..booking.calendar import effective_weekday
from ..booking.conflicts import MAX_OCCUPIED_SPAN
from ..booking.models import Blackout, Booking, BookingStatus
from ..catalogue.models import Category, Instrument, OpeningHours
from ..errors import N_, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db

MAX_SCHEDULE_SPAN = timedelta(days=31)
# A booking on the timeline: API.md's schedule item, its booker and firm flat.
BOOKING_COLUMNS = (Booking.id, Booking.instrument_id, Booking.start, Booking.end, Booking.status, Booking.purpose,
                   User.id.label("user_id"), User.name.label("user_name"), User.email.label("user_email"),
                   Firm.id.label("firm_id"), Firm.name.label("firm_name"))
# What a timeline shows: what holds or held the instrument (not refusals and cancellations).
SHOWN_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


@dataclass
class Schedule:
    institution: Institution
    start: datetime  # a platform midnight
    end: datetime  # a platform midnight
    instruments: list[Instrument]  # id, names and open_on_holidays loaded
    # by instrument id, by start: rows of BOOKING_COLUMNS (plain rows: a busy week has thousands)
    bookings: dict[int, list[sa.Row]] = field(default_factory=dict)
    blackouts: dict[int, list[Blackout]] = field(default_factory=dict)
    hours: dict[int, dict[int, list[tuple[int, int]]]] = field(default_factory=dict)  # id → weekday → minutes

    @property
    def all_bookings(self) -> list[sa.Row]:
        return sorted((b for rows in self.bookings.values() for b in rows), key=lambda b: (b.start, b.id))

    @property
    def all_blackouts(self) -> list[Blackout]:
        return sorted((b for rows in self.blackouts.values() for b in rows), key=lambda b: (b.start, b.id))

    def share(self, start: datetime, end: datetime) -> tuple[float, float]:
        """Where `[start, end)` sits on the period, as the left edge and the
        width in percent of it (clipped to the period)."""
        span = (self.end - self.start).total_seconds()
        left = max(0.0, (start - self.start).total_seconds() / span)
        right = min(1.0, (end - self.start).total_seconds() / span)
        return round(left * 100, 3), round(max(0.0, right - left) * 100, 3)

    def open_shares(self, instrument: Instrument) -> list[tuple[float, float]]:
        """The instrument's opening hours in the period (holidays and make-up
        days as the checker has them), as (left, width) in percent."""
        days = round((self.end - self.start) / timedelta(days=1))
        total = days * 1440
        hours = self.hours.get(instrument.id, {})
        shares = []
        for n in range(days):
            weekday = effective_weekday(self.start.date() + timedelta(days=n), instrument.open_on_holidays)
            for opens, closes in hours.get(weekday, ()):
                shares.append((round((n * 1440 + opens) * 100 / total, 3), round((closes - opens) * 100 / total, 3)))
        return shares


def _check(user: User, institution_id: int, start: datetime, end: datetime, category: str | None,
           status: str | None) -> Institution:
    institution = db.session.get(Institution, institution_id) if isinstance(institution_id, int) else None
    if institution is None:
        raise NotFound(N_("No such institution."))
    if not can_manage_institution(user, institution.id):
        raise PermissionDenied(N_("Only the institution's managers may see its schedule."))
    errors = {}
    if end <= start:
        errors["to"] = [N_("The end must be after the start.")]
    elif end - start > MAX_SCHEDULE_SPAN:
        errors["to"] = [N_("At most 31 days.")]
    if status is not None and status not in SHOWN_STATUSES:
        errors["status"] = [N_("One of pending, confirmed, completed, no_show.")]
    if category is not None and db.session.get(Category, category) is None:
        errors["category"] = [N_("Unknown category code.")]
    if errors:
        raise ValidationFailed(N_("The schedule cannot be shown for these values."), errors)
    return institution


def institution_schedule(user: User, institution_id: int, start: datetime, end: datetime,
                         category: str | None = None, status: str | None = None) -> Schedule:
    """The institution's instruments (of a major category or subclass when
    given) and, over `[start, end)` (at most 31 days), their bookings (of
    one status when given) and blackouts: for its managers and the joint office."""
    institution = _check(user, institution_id, start, end, category, status)
    ids = sa.select(Instrument.id).where(Instrument.institution_id == institution.id)
    if category is not None:
        ids = ids.where(Instrument.category_code.in_(
            sa.select(Category.code).where(sa.or_(Category.code == category, Category.parent_code == category))))
    instruments = list(db.session.scalars(
        sa.select(Instrument).where(Instrument.id.in_(ids)).order_by(Instrument.name, Instrument.id)
        .options(load_only(Instrument.id, Instrument.name, Instrument.name_en, Instrument.open_on_holidays))))
    hours: dict[int, dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for instrument_id, weekday, opens, closes in db.session.execute(
            sa.select(OpeningHours.instrument_id, OpeningHours.weekday, OpeningHours.open_minute,
                      OpeningHours.close_minute).where(OpeningHours.instrument_id.in_(ids))).all():
        hours[instrument_id][weekday].append((opens, closes))
    bookings = (
        sa.select(*BOOKING_COLUMNS)
        .join(User, User.id == Booking.user_id).outerjoin(Firm, Firm.id == User.firm_id)
        # A booking lasts at most a week: the lower bound keeps the index range short.
        # Whatever their status, through `(instrument_id, start)`, and those
        # not shown left out below: asked for the statuses, SQLite read the
        # whole platform's week through `(status, start)` (issue #19, as the desk).
        .where(Booking.instrument_id.in_(ids), Booking.start > start - MAX_OCCUPIED_SPAN, Booking.start < end,
               Booking.end > start)
        .order_by(Booking.start, Booking.id))
    shown = {status} if status else set(SHOWN_STATUSES)
    blackouts = sa.select(Blackout).where(Blackout.instrument_id.in_(ids), Blackout.start < end, Blackout.end > start)
    schedule = Schedule(institution, start, end, instruments, defaultdict(list), defaultdict(list), hours)
    for row in db.session.connection().execute(bookings).all():  # fetchall, not row by row
        if row.status in shown:
            schedule.bookings[row.instrument_id].append(row)
    for blackout in db.session.scalars(blackouts.order_by(Blackout.start, Blackout.id)):
        schedule.blackouts[blackout.instrument_id].append(blackout)
    return schedule


@dataclass
class Line:
    """One instrument's row of the timeline: its name and desk page, its
    open hours as ready markup, its blackouts as (left, width, reason) in
    percent, and its bookings as ready markup."""

    instrument: Instrument
    name: str
    url: str
    open: Markup  # the open hours (SVG rectangles on the closed grey)
    blackouts: list[tuple[float, float, str]]
    bars: Markup  # the row's booking bars (SVG)
    items: Markup  # the same bookings as list items, for phones
    count: int


def timeline_lines(schedule: Schedule, zone, status_labels: dict[str, str], booking_url: str, desk_url: str,
                   listed_day: date, name_of) -> list[Line]:  # noqa: C901 (one loop, written out for speed)
    """The page's rows. A busy week of 200 instruments has 2,000 bars: their
    markup is made here, with only the text escaped, because the template's
    dozen escapes per bar were most of the page's time. Phones get the
    bookings of `listed_day` as a list."""
    lines = []
    span = (schedule.end - schedule.start).total_seconds() / 100
    names: dict[tuple, tuple[str, str]] = {}  # (booker, firm) → (who, label), escaped once
    for instrument in schedule.instruments:
        bars, items = [], []
        for (booking_id, _instrument, b_start, b_end, status, _purpose, user_id, user_name, _email, firm_id,
             firm_name) in schedule.bookings.get(instrument.id, ()):  # unpacked: faster than by name
            start, end = b_start.astimezone(zone), b_end.astimezone(zone)
            key = (user_id, firm_id)
            if key not in names:
                names[key] = (escape(user_name + (f" · {firm_name}" if firm_id else "")),
                              escape(firm_name if firm_id else user_name))
            who, label = names[key]
            title = (f"{start.month:02}-{start.day:02} {start.hour:02}:{start.minute:02}–{end.hour:02}:{end.minute:02}"
                     f" · {who} · {status_labels[status]}")
            left = max(0.0, (b_start - schedule.start).total_seconds() / span)
            width = min(100.0, (b_end - schedule.start).total_seconds() / span) - left
            url = f"{booking_url}{booking_id}"
            bars.append(f'<a href="{url}" class="tl-booking tl-{status}" data-booking="{booking_id}">'
                        f'<svg x="{left:.3f}%" y="3" width="{width:.3f}%" height="24"><title>{title}</title>'
                        f'<rect width="100%" height="100%" rx="3"></rect><text x="4" y="16">{label}</text></svg></a>')
            if start.date() <= listed_day <= end.date():
                items.append(f'<li><a href="{url}">{title}</a></li>')
        opened = "".join(f'<rect class="tl-open" x="{left}%" y="0" width="{width}%" height="30"></rect>'
                         for left, width in schedule.open_shares(instrument))
        lines.append(Line(instrument, name_of(instrument), f"{desk_url}{instrument.id}", Markup(opened),
                          [(*schedule.share(b.start, b.end), b.reason) for b in schedule.blackouts.get(instrument.id, ())],
                          Markup("".join(bars)), Markup("".join(items)), len(items)))
    return lines
