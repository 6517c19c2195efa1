"""Six months of demo bookings and a few weeks ahead, so a newcomer sees a
living calendar and the dashboards have something to show."""
from __future__ import annotations

import random
from collections.abc import Collection
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from ..accounts.models import Role, User
from ..booking.calendar import effective_weekday, weekly_hours
from ..booking.models import SERVICE_MODES, Booking, BookingAction, BookingEvent, BookingStatus
from ..booking.services import booking_cost
from ..catalogue.models import Instrument, in_service_condition
from ..database import move_sequences_past_ids
from ..extensions import db
from ..timeutil import platform_zone

HISTORY_DAYS = 182
AHEAD_DAYS = 21
PURPOSES = (
    "锂电池正极材料形貌表征", "高分子薄膜热稳定性测试", "药物杂质定性定量分析", "涂层截面元素分布",
    "纺织纤维结构分析", "半导体器件失效分析", "催化剂比表面积与孔径", "食品中农残检测",
    "合金相组成分析", "蛋白质分子量测定", "光伏组件材料老化评估", "水样重金属检测",
)


def seed_bookings(rng: random.Random, now: datetime, institution_ids: Collection[int] | None = None) -> int:
    """Add demo bookings when there are none, on every bookable instrument or on
    those of the given institutions; returns how many were added."""
    if db.session.scalar(sa.select(sa.func.count(Booking.id))):
        return 0
    zone = platform_zone()
    bookers = db.session.scalars(sa.select(User).where(User.role == Role.FIRM, User.firm_id.is_not(None))).all()
    if not bookers:
        return 0
    by_city: dict[str, list[User]] = {}
    for user in bookers:
        by_city.setdefault(user.firm.city_code, []).append(user)
    query = sa.select(Instrument).where(in_service_condition())
    if institution_ids is not None:
        query = query.where(Instrument.institution_id.in_(institution_ids))
    instruments = db.session.scalars(query.order_by(Instrument.id)).all()
    today = now.astimezone(zone).date()
    bookings, events = [], []
    next_id = 1
    for instrument in instruments:
        hours = weekly_hours(instrument)
        popularity = rng.choice((0.02, 0.05, 0.1, 0.2, 0.35, 0.5))
        city = instrument.institution.city_code
        buffer = timedelta(minutes=instrument.buffer_minutes)
        for offset in range(-HISTORY_DAYS, AHEAD_DAYS):
            day = today + timedelta(days=offset)
            weekday = effective_weekday(day, instrument.open_on_holidays)
            if weekday is None or not hours.get(weekday) or rng.random() > popularity:
                continue
            open_minute, close_minute = hours[weekday][0]
            cursor = datetime.combine(day, time(), zone) + timedelta(minutes=open_minute)
            closes = datetime.combine(day, time(), zone) + timedelta(minutes=close_minute)
            for _ in range(rng.choice((1, 1, 2))):
                cursor += timedelta(minutes=rng.choice((0, 30, 60, 90)))
                length = timedelta(minutes=max(instrument.min_booking_minutes,
                                               min(instrument.max_booking_minutes, rng.choice((60, 120, 180, 240)))))
                start, end = cursor, cursor + length
                if end > closes:
                    break
                cursor = end + buffer
                local_users = by_city.get(city, [])
                user = rng.choice(local_users if local_users and rng.random() < 0.5 else bookers)
                bookings.append(_row(next_id, instrument, user, start, end, now, rng))
                events.append({"booking_id": next_id, "actor_id": user.id, "action": BookingAction.CREATED,
                               "details": {}, "at": start - timedelta(days=rng.randint(2, 20))})
                next_id += 1
    for chunk in range(0, len(bookings), 2000):
        db.session.execute(sa.insert(Booking), bookings[chunk:chunk + 2000])
        db.session.execute(sa.insert(BookingEvent), events[chunk:chunk + 2000])
    move_sequences_past_ids("bookings")  # the rows above carry their ids
    return len(bookings)


def _row(booking_id, instrument, user, start, end, now, rng) -> dict:
    cost = booking_cost(instrument, start, end)
    row = {
        "id": booking_id, "instrument_id": instrument.id, "user_id": user.id, "firm_id": user.firm_id,
        "start": start, "end": end, "occupied_until": end + timedelta(minutes=instrument.buffer_minutes),
        "purpose": rng.choice(PURPOSES), "cost": cost, "voucher_amount": 0, "firm_pays": cost,
        "sequence": 0, "decision_reason": "", "rating_comment": "",
        "created_at": start - timedelta(days=rng.randint(2, 20)), "updated_at": min(end, now),
        "checked_in_at": None, "service_mode": None, "used_start": None, "used_end": None, "rating": None,
    }
    roll = rng.random()
    if end <= now:
        if roll < 0.08:
            row["status"] = BookingStatus.CANCELLED
            row["decision_reason"] = "计划调整"
        elif roll < 0.13:
            row["status"] = BookingStatus.NO_SHOW
        else:
            used_end = end - timedelta(minutes=rng.choice((0, 0, 15, 30)))
            row.update(status=BookingStatus.COMPLETED, checked_in_at=start, used_start=start, used_end=used_end,
                       service_mode=rng.choice(SERVICE_MODES),
                       rating=rng.choice((5, 5, 5, 4, 4, 3, None)))
    elif instrument.requires_approval and roll < 0.4:
        row["status"] = BookingStatus.PENDING
    else:
        row["status"] = BookingStatus.CONFIRMED
    return row
