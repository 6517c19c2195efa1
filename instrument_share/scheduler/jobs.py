"""The scheduler's jobs. Each takes `now`, so operators and tests can run
any job for any moment (`flask jobs run NAME --now ...`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from .. import formats
from ..booking.models import Booking, BookingAction, BookingStatus
from ..booking.usage import CLOSE_BATCH, close_past_bookings
from ..catalogue.models import Qualification
from ..database import begin_write_transaction, lock_all
from ..extensions import db
from ..invites.notify import queue_mail
from ..mail.delivery import deliver_due
from ..mail.outbox import enqueue
from ..orders import mails as order_mails
from ..orders import services as order_services
from ..stats import pages
from ..timeutil import to_platform
from ..web import local_name
from . import reports

REMINDER_AHEAD = timedelta(hours=24)
QUALIFICATION_WARNING_AHEAD = timedelta(days=14)


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
                        time=formats.day_and_time(booking.start))
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


def warn_expiring_qualifications(now: datetime, period=None) -> int:
    """Tell users whose qualification ends within 14 days how to renew it.

    Once per qualification and expiry day (the outbox key): a scheduler that
    was down still warns when it is back, a renewal with a new expiry warns
    again before that one, and nobody is told twice."""
    begin_write_transaction()  # the outbox rows it adds (without it, SQLite's flush guard refuses them)
    today = to_platform(now).date()
    ending = db.session.scalars(
        sa.select(Qualification).where(Qualification.expires_on >= today,
                                       Qualification.expires_on <= today + QUALIFICATION_WARNING_AHEAD)
        .options(joinedload(Qualification.user), joinedload(Qualification.instrument)).order_by(Qualification.id))
    sent = 0
    for qualification in ending:
        user, instrument = qualification.user, qualification.instrument
        with force_locale(user.language):
            day = formats.day_with_weekday(qualification.expires_on)
            subject = _("Your qualification for %(instrument)s ends on %(day)s",
                        instrument=local_name(instrument), day=day)
            context = {"recipient": user, "instrument": instrument, "day": day,
                       "url": current_app.config["PLATFORM_URL"].rstrip("/") + f"/instruments/{instrument.id}"}
            sent += enqueue(
                key=f"qualification:{qualification.id}:ends:{qualification.expires_on.isoformat()}",
                kind="qualification_expiring", recipient=user.email, subject=subject,
                text=render_template("mail/qualification_expiring.txt", **context),
                html=render_template("mail/qualification_expiring.html", **context)) is not None
    db.session.commit()
    return sent


def close_orders(now: datetime, period=None) -> int:
    """Lapse quotes for entrusted testing that nobody accepted in time."""
    today, lapsed = to_platform(now).date(), 0
    while True:  # in batches, each its own short transaction
        count = order_services.lapse_quotes(today)
        db.session.commit()
        lapsed += count
        if count < order_services.LAPSE_BATCH:
            return lapsed


def mail_overdue_orders(now: datetime, period=None) -> int:
    """Tell each institution's managers which orders are past their due date."""
    begin_write_transaction()
    today = to_platform(now).date()
    by_institution: dict[int, list] = {}
    for order in order_services.overdue_orders(today):
        by_institution.setdefault(order.institution_id, []).append(order)
    sent = sum(order_mails.overdue_to_institution(institution_id, orders, today)
               for institution_id, orders in by_institution.items())
    db.session.commit()
    return sent


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


def check_statistics(now: datetime, period=None) -> int:
    """Rebuild yesterday's statistics roll-ups from the raw rows as a check:
    each row that had drifted is logged and fixed (stats.rollups)."""
    from ..stats import rollups

    begin_write_transaction()
    yesterday = to_platform(now).date() - timedelta(days=1)
    found = rollups.rebuild(yesterday, yesterday, check=True)
    db.session.commit()
    return len(found)


def make_statistics_pages(now: datetime, period=None) -> dict:
    """Make the default statistics dashboards of the corridor and of each
    city again after a change, for every web worker (stats/pages.py)."""
    from ..stats.dashboard import make_pages

    made = make_pages(now)
    db.session.commit()
    return made


JOBS = {
    job.name: job
    for job in (
        Job("deliver-mail", deliver_mail, {"trigger": "interval", "minutes": 1}, 50),
        Job("remind", remind, {"trigger": "interval", "minutes": 10}, 9 * 60),
        Job("close-bookings", close_bookings, {"trigger": "interval", "minutes": 15}, 14 * 60),
        Job("close-orders", close_orders, {"trigger": "cron", "minute": 5}, 55 * 60),
        Job("mail-overdue-orders", mail_overdue_orders, {"trigger": "cron", "hour": 8, "minute": 30}, 12 * 3600),
        Job("check-statistics", check_statistics, {"trigger": "cron", "hour": 2, "minute": 15}, 20 * 3600),
        Job("statistics-pages", make_statistics_pages,
            {"trigger": "interval", "seconds": pages.RUN_EVERY.total_seconds()}, 25),
        Job("warn-expiring-qualifications", warn_expiring_qualifications,
            {"trigger": "cron", "hour": 8}, 20 * 3600),
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
