"""Eighteen months of the corridor at work, and three weeks ahead: the demo's
bookings, with their history, maintenance blackouts and the voucher money
they moved (issue #22; README, "The demo region").

What the generator aims for, per instrument: a daily load drawn around its
share of the quota (1,400 h a year for general instruments, 800 h for
special ones, over about 250 working days), higher for the kinds every lab
queues for (electron microscopes, XRD, NMR, mass spectrometry: the common
kinds of the catalogue), lower for rare special equipment, and nothing for
a few idle ones; a weekly rhythm (the calendar's working days) and a
seasonal one (quiet around Spring Festival and National Day and in
summer, busier before the year ends). The institution's own staff and
students book most of it; firms book the rest, more often nearby (the
search's travel table) and in their own industries (firms.yaml tags).

Rows are made in Python and written straight to the driver (bulk.py: COPY
on PostgreSQL, one prepared INSERT on SQLite; no ORM object and no
per-value type processing), with the ids given, so the ledger can name
its bookings.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from itertools import accumulate

import sqlalchemy as sa

from ..accounts.models import Role, User
from ..booking.calendar import effective_weekday, weekly_hours
from ..booking.models import SERVICE_MODES, BookingAction, BookingStatus
from ..bulk import DAY, JSON, MONEY, TEXT, TIME, insert_dicts
from ..catalogue.models import Instrument, QuotaClass, in_service_condition
from ..database import move_sequences_past_ids
from ..db_types import to_money
from ..extensions import db
from ..search.travel import travel_table
from ..timeutil import platform_zone
from .institutions import FIRMS
from .instrument_types import INSTRUMENT_TYPES

HISTORY_DAYS = 548  # eighteen months: every yearly figure and twelve-month chart is full
AHEAD_DAYS = 21
QUOTA_PER_DAY = {QuotaClass.GENERAL: 1400 / 250, QuotaClass.SPECIAL: 800 / 250}
IDLE_SHARE = 0.04
PURPOSES = (
    "锂电池正极材料形貌表征", "高分子薄膜热稳定性测试", "药物杂质定性定量分析", "涂层截面元素分布",
    "纺织纤维结构分析", "半导体器件失效分析", "催化剂比表面积与孔径", "食品中农残检测",
    "合金相组成分析", "蛋白质分子量测定", "光伏组件材料老化评估", "水样重金属检测",
)
INTERNAL_PURPOSES = ("国家自然科学基金课题实验", "研究生课题测试", "横向课题样品测试", "教学实验", "重点实验室开放课题")
COMMENTS = ("老师指导很耐心，数据质量好", "预约方便，按时上机", "样品制备建议很专业", "仪器状态稳定",
            "结果与预期一致，下次还来", "排队稍久，但服务到位")
_TYPES_BY_NAME = {itype.name: itype for itype in INSTRUMENT_TYPES}


@cache
def season(day: date) -> float:
    """How busy labs are on `day`, relative to an ordinary week."""
    if day.month in (1, 2) and _near_spring_festival(day):
        return 0.35
    if day.month == 10 and day.day <= 10:
        return 0.6
    if day.month in (7, 8):
        return 0.8
    if day.month == 12 or (day.month == 11 and day.day > 15):
        return 1.15
    return 1.0


def _near_spring_festival(day: date) -> bool:
    """Within about two weeks of the Spring Festival holiday (from the calendar's holidays)."""
    # New Year's Day is one weekday off; the Spring Festival is a week of them.
    return sum(1 for offset in range(-12, 13) if effective_weekday(day + timedelta(days=offset)) is None
               and (day + timedelta(days=offset)).weekday() < 5) >= 3


@dataclass
class Bookers:
    """Who books an instrument: its institution's people, and firms weighted
    by travel and industry."""

    internal: list[int]
    firms: list[tuple[int, int]]  # (user id, firm id)
    firm_weights: list[float]  # cumulative, for random.choices


def _bookers_for(instrument: Instrument, staff: dict[int, list[int]], firm_users: list[tuple[User, frozenset]],
                 travel: dict[str, dict[str, int]]) -> Bookers:
    itype = _TYPES_BY_NAME.get(instrument.name)
    tags = itype.tags if itype is not None else frozenset()
    city = instrument.institution.city_code
    weights = []
    for user, industries in firm_users:
        minutes = travel.get(user.firm.city_code, {}).get(city, 240)
        weights.append((3.0 if industries & tags else 1.0) / (1 + minutes / 45))
    return Bookers(staff.get(instrument.institution_id, []), [(u.id, u.firm_id) for u, _ in firm_users],
                   list(accumulate(weights)))


def _daily_hours(rng: random.Random, instrument: Instrument) -> float:
    """The instrument's usual booked hours on an open day."""
    if rng.random() < IDLE_SHARE:
        return 0.0
    itype = _TYPES_BY_NAME.get(instrument.name)
    weight = itype.weight if itype is not None else 1.0
    kind = 2.0 if weight >= 4 else 1.7 if weight >= 2 else 1.15
    return QUOTA_PER_DAY[instrument.quota_class] * kind * math.exp(rng.gauss(0.0, 0.45))


def _session_lengths(instrument: Instrument) -> list[int]:
    """Half days and days are what labs book most (a sample series, a
    measurement campaign), short slots now and then: drawn in proportion to
    the square of their length."""
    lengths = [m for m in (60, 120, 180, 240, 240, 300, 360, 480, 480, 600) if
               instrument.min_booking_minutes <= m <= instrument.max_booking_minutes]
    return lengths or [instrument.min_booking_minutes]


@dataclass
class Made:
    bookings: list[dict]
    events: list[dict]
    blackouts: list[dict]


def _blackouts(rng: random.Random, instrument: Instrument, today: date, manager_id: int | None,
               now: datetime) -> list[tuple[date, date, str]]:
    """Maintenance days: now and then in the history, sometimes ahead."""
    days = []
    if rng.random() < 0.4:
        for _ in range(rng.choice((1, 1, 2, 3))):
            first = today - timedelta(days=rng.randint(5, HISTORY_DAYS - 5))
            days.append((first, first + timedelta(days=rng.choice((0, 0, 1, 2))), rng.choice(
                ("年度保养", "更换灯丝", "真空系统维护", "厂家工程师上门校准", "软件升级"))))
    if rng.random() < 0.06:
        first = today + timedelta(days=rng.randint(2, AHEAD_DAYS - 3))
        days.append((first, first + timedelta(days=rng.choice((0, 1))), "计划内维护保养"))
    return days


def make_history(rng: random.Random, now: datetime, instruments: Iterable[Instrument],
                 staff: dict[int, list[int]], firm_users: list[tuple[User, frozenset]],
                 managers: dict[int, int], first_id: int, tick: Callable[[], None] = lambda: None,
                 history_days: int = HISTORY_DAYS) -> Made:
    """Booking, event and blackout rows for `instruments`, ids from `first_id`."""
    zone, travel = platform_zone(), travel_table()
    today = now.astimezone(zone).date()
    made, next_id = Made([], [], []), first_id
    days = [today + timedelta(days=offset) for offset in range(-history_days, AHEAD_DAYS)]
    weekdays = {flag: [effective_weekday(day, flag) for day in days] for flag in (False, True)}
    for instrument in instruments:
        tick()
        hours, daily = weekly_hours(instrument), _daily_hours(rng, instrument)
        bookers = _bookers_for(instrument, staff, firm_users, travel)
        share_external = rng.uniform(0.12, 0.5)
        lengths, buffer = _session_lengths(instrument), timedelta(minutes=instrument.buffer_minutes)
        weights = [length * length for length in lengths]
        closed = set()
        for first, last, reason in _blackouts(rng, instrument, today, managers.get(instrument.institution_id), now):
            made.blackouts.append({
                "instrument_id": instrument.id, "start": datetime.combine(first, time(), zone),
                "end": datetime.combine(last + timedelta(days=1), time(), zone), "reason": reason,
                "created_by_id": managers.get(instrument.institution_id),
                "created_at": min(now, datetime.combine(first, time(), zone) - timedelta(days=7))})
            closed.update(first + timedelta(days=n) for n in range((last - first).days + 1))
        if daily <= 0 or not (bookers.internal or bookers.firms):
            continue
        for day, weekday in zip(days, weekdays[bool(instrument.open_on_holidays)], strict=True):
            if weekday is None or not hours.get(weekday) or day in closed:
                continue
            wanted = daily * season(day) * rng.uniform(0.4, 1.6) * 60
            midnight = datetime.combine(day, time(), zone)
            segments = iter(sorted(hours[weekday]))
            closes = cursor = midnight
            while wanted > 30:
                length = timedelta(minutes=min(rng.choices(lengths, weights)[0], max(lengths[0], wanted)))
                if cursor + length > closes:  # on to the next opening of the day (after lunch)
                    segment = next(segments, None)
                    if segment is None:
                        break
                    cursor = max(cursor, midnight + timedelta(minutes=segment[0] + rng.choice((0, 0, 0, 30))))
                    closes = midnight + timedelta(minutes=segment[1])
                    length = min(length, closes - cursor)
                    if length < timedelta(minutes=lengths[0]):
                        continue
                start, end = cursor, cursor + length
                external = bookers.firms and (not bookers.internal or rng.random() < share_external)
                if external:
                    user_id, firm_id = rng.choices(bookers.firms, cum_weights=bookers.firm_weights)[0]
                else:
                    user_id, firm_id = rng.choice(bookers.internal), None
                made.bookings.append(_row(next_id, instrument, user_id, firm_id, start, end, now, rng))
                next_id += 1
                wanted -= length.total_seconds() / 60
                cursor = end + buffer + timedelta(minutes=rng.choice((0, 0, 0, 0, 30, 60)))
    for row in made.bookings:
        made.events.extend(_events(row))
    return made


def _row(booking_id: int, instrument: Instrument, user_id: int, firm_id: int | None, start: datetime,
         end: datetime, now: datetime, rng: random.Random) -> dict:
    cost = to_money(instrument.hourly_rate * Decimal((end - start).total_seconds()) / 3600)
    created = start - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 8))
    row = {
        "id": booking_id, "instrument_id": instrument.id, "user_id": user_id, "firm_id": firm_id,
        "start": start, "end": end, "occupied_until": end + timedelta(minutes=instrument.buffer_minutes),
        "purpose": rng.choice(PURPOSES if firm_id else INTERNAL_PURPOSES), "cost": cost,
        "voucher_id": None, "voucher_amount": Decimal("0.00"), "firm_pays": cost,
        "sequence": 0, "decision_reason": "", "rating_comment": "",
        "created_at": min(created, now), "updated_at": min(end, now),
        "checked_in_at": None, "service_mode": None, "used_start": None, "used_end": None, "rating": None,
    }
    roll = rng.random()
    if end <= now:
        if roll < 0.05:
            row["status"] = BookingStatus.CANCELLED
            row["decision_reason"] = rng.choice(("计划调整", "样品未准备好", "课题组时间冲突"))
            row["updated_at"] = max(row["created_at"], start - timedelta(days=1))
        elif roll < 0.075:
            row["status"] = BookingStatus.NO_SHOW
        else:
            used_end = end - timedelta(minutes=rng.choice((0, 0, 0, 15, 30)))
            row.update(status=BookingStatus.COMPLETED, checked_in_at=start, used_start=start, used_end=used_end,
                       service_mode=rng.choice(SERVICE_MODES))
            if rng.random() < 0.35:
                row["rating"] = rng.choice((5, 5, 5, 4, 4, 3))
                if rng.random() < 0.3:
                    row["rating_comment"] = rng.choice(COMMENTS)
    elif instrument.requires_approval and start < now + timedelta(days=10) and roll < 0.3:
        row["status"] = BookingStatus.PENDING
    else:
        row["status"] = BookingStatus.CONFIRMED
    return row


TERMINAL_EVENTS = {BookingStatus.CANCELLED: BookingAction.CANCELLED, BookingStatus.NO_SHOW: BookingAction.NO_SHOW}


def _events(row: dict) -> list[dict]:
    """The history of what is not plain: creation and cancellation or
    no-show; bookings still ahead have their creation. A completed booking's
    story is its recorded usage, on the booking itself (half a million
    "created" rows of the past were a third of the seed's time)."""
    if row["status"] == BookingStatus.COMPLETED:
        return []
    events = [{"booking_id": row["id"], "actor_id": row["user_id"], "action": BookingAction.CREATED,
               "details": {}, "at": row["created_at"]}]
    if row["status"] in TERMINAL_EVENTS:
        events.append({"booking_id": row["id"], "actor_id": row["user_id"] if row["status"] ==
                       BookingStatus.CANCELLED else None, "action": TERMINAL_EVENTS[row["status"]],
                       "details": {}, "at": row["updated_at"]})
    return events


T, M, D = TIME, MONEY, DAY
BOOKING_COLUMNS = {
    "id": None, "instrument_id": None, "user_id": None, "firm_id": None, "voucher_id": None, "start": T, "end": T,
    "occupied_until": T, "status": TEXT, "purpose": None, "cost": M, "voucher_amount": M, "firm_pays": M,
    "sequence": None, "decision_reason": None, "rating_comment": None, "created_at": T, "updated_at": T,
    "checked_in_at": T, "service_mode": None, "used_start": T, "used_end": T, "rating": None}
EVENT_COLUMNS = {"booking_id": None, "actor_id": None, "action": TEXT, "details": JSON, "at": T}
BLACKOUT_COLUMNS = {"instrument_id": None, "start": T, "end": T, "reason": None, "created_by_id": None,
                    "created_at": T}


def people(institution_ids: Iterable[int]) -> tuple[dict[int, list[int]], list[tuple[User, frozenset]],
                                                       dict[int, int]]:
    """The bookers: each institution's staff and students (its members who
    are not its administrator), the firms' users with their industries, and
    each institution's administrator (who blocks time for maintenance)."""
    staff: dict[int, list[int]] = {}
    managers: dict[int, int] = {}
    wanted = set(institution_ids)
    for user in db.session.scalars(sa.select(User).where(User.role == Role.MANAGER, User.active)
                                   .order_by(User.id)):
        if user.institution_id not in wanted:
            continue
        if user.org_admin:
            managers.setdefault(user.institution_id, user.id)
        else:
            staff.setdefault(user.institution_id, []).append(user.id)
    industries = {firm.uscc: firm.tags for firm in FIRMS}
    firm_users = [(user, industries.get(user.firm.uscc, frozenset())) for user in db.session.scalars(
        sa.select(User).where(User.role == Role.FIRM, User.firm_id.is_not(None), User.active).order_by(User.id))]
    return staff, firm_users, managers


def bookable_instruments(institution_ids: Iterable[int] | None = None) -> list[Instrument]:
    query = sa.select(Instrument).where(in_service_condition()).order_by(Instrument.id)
    if institution_ids is not None:
        query = query.where(Instrument.institution_id.in_(list(institution_ids)))
    return list(db.session.scalars(query))


def write_history(made: Made, tick: Callable[[int], None] = lambda n: None) -> None:
    insert_dicts("bookings", BOOKING_COLUMNS, made.bookings, tick)
    insert_dicts("booking_events", EVENT_COLUMNS, made.events)
    insert_dicts("blackouts", BLACKOUT_COLUMNS, made.blackouts)
    move_sequences_past_ids("bookings", "booking_events", "blackouts")
    from ..stats import rollups

    rollups.rebuild_all()  # written past the ORM: the statistics' roll-ups from the rows (issue #20)


def seed_bookings(rng: random.Random, now: datetime, institution_ids: Iterable[int] | None = None,
                  history_days: int = HISTORY_DAYS) -> int:
    """Bookings alone (no voucher money), on the instruments of the given
    institutions (all without), when there are none: for tests that want a
    living calendar. Returns how many were added."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("bookings"))):
        return 0
    instruments = bookable_instruments(institution_ids)
    staff, firm_users, managers = people({instrument.institution_id for instrument in instruments})
    made = make_history(rng, now, instruments, staff, firm_users, managers, first_id=1, history_days=history_days)
    write_history(made)
    return len(made.bookings)
