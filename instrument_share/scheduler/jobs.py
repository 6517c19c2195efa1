"""The scheduler's jobs. Each takes `now`, so operators and tests can run
any job for any moment (`flask jobs run NAME --now ...`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from ..booking.models import Booking, BookingAction, BookingStatus
from ..booking.usage import CLOSE_BATCH, close_past_bookings
from ..database import lock_all
from ..extensions import db
from ..invites.notify import queue_mail
from ..mail.delivery import deliver_due
from ..timeutil import to_platform
from ..web import local_name
from . import reports

REMINDER_AHEAD = timedelta(hours=24)


def remind(now: datetime, period=None) -> int:
    """Remind bookers of confirmed bookings starting within the next day.

    Window-based with a mark: a scheduler that was down for an hour still
    reminds everyone it missed (as long as the booking has not started), and
    nobody twice. Cancelled bookings are never reminded.
    """
    due = lock_all(
        sa.select(Booking).where(Booking.status == BookingStatus.CONFIRMED, Booking.reminded_at.is_(None),
                                 Booking.start > now, Booking.start <= now + REMINDER_AHEAD)
    )
    for booking in due:
        with force_locale(booking.user.language):
            subject = _("Reminder: %(instrument)s starts at %(time)s",
                        instrument=local_name(booking.instrument),
                        time=to_platform(booking.start).strftime("%m-%d %H:%M"))
        queue_mail(booking, booking.user, "reminder", None, subject, template="mail/reminder")
        booking.reminded_at = now
    db.session.commit()
    return len(due)


def close_bookings(now: datetime, period=None) -> dict:
    """Mark no-shows, complete checked-in bookings, lapse unapproved ones."""
    totals = dict.fromkeys((BookingAction.NO_SHOW, BookingAction.COMPLETED, BookingAction.LAPSED), 0)
    while True:  # in batches, each its own short transaction
        counts = close_past_bookings(now)
        db.session.commit()
        for kind, count in counts.items():
            totals[kind] += count
        if max(counts.values()) < CLOSE_BATCH:
            return totals


def deliver_mail(now: datetime, period=None):
    """Send the outbox messages that are due."""
    return deliver_due(now)


def _report(function: Callable) -> Callable:
    def run(now: datetime, period=None):
        sent = function(now, period)
        db.session.commit()
        return sent

    run.__doc__ = function.__doc__
    return run


@dataclass(frozen=True)
class Job:
    name: str
    function: Callable
    trigger: dict  # APScheduler cron or interval arguments
    misfire_grace_seconds: int

    @property
    def description(self) -> str:
        return (self.function.__doc__ or "").strip().splitlines()[0]


JOBS = {
    job.name: job
    for job in (
        Job("deliver-mail", deliver_mail, {"trigger": "interval", "minutes": 1}, 50),
        Job("remind", remind, {"trigger": "interval", "minutes": 10}, 9 * 60),
        Job("close-bookings", close_bookings, {"trigger": "interval", "minutes": 15}, 14 * 60),
        # Reports may run late: a scheduler down over Monday 07:00 still sends
        # the weekly report when it is back the same week.
        Job("weekly-institution-report", _report(reports.weekly_institution_report),
            {"trigger": "cron", "day_of_week": "mon", "hour": 7}, 6 * 24 * 3600),
        Job("monthly-city-report", _report(reports.monthly_city_report),
            {"trigger": "cron", "day": 1, "hour": 7}, 20 * 24 * 3600),
        Job("monthly-corridor-report", _report(reports.monthly_corridor_report),
            {"trigger": "cron", "day": 1, "hour": 7, "minute": 30}, 20 * 24 * 3600),
    )
}
