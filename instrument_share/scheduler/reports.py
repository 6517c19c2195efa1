"""Periodic usage reports, from the statistics service's own figures.

A report for a (job, period, recipient) is an outbox message whose
idempotency key is `report:<job>:<period>:<recipient>`: the unique key makes
a second send impossible, after a restart or with two schedulers.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import formats
from ..accounts.models import Institution, Role, User
from ..accounts.services import list_cities
from ..extensions import db
from ..mail.outbox import enqueue
from ..spreadsheets import table_bytes
from ..stats import services
from ..stats.tables import utilisation_table
from ..timeutil import to_platform
from ..vouchers.settlement import voucher_settlement
from ..web import local_name


def last_week(now: datetime) -> services.Period:
    today = to_platform(now).date()
    monday = today - timedelta(days=today.weekday()) - timedelta(days=7)
    return services.Period(monday, monday + timedelta(days=6))


def last_month(now: datetime) -> services.Period:
    first_this = to_platform(now).date().replace(day=1)
    last = first_this - timedelta(days=1)
    return services.Period(last.replace(day=1), last)


def _send(job: str, period_key: str, user: User, subject: str, template: str, csv_name: str,
          group_by: str, **context) -> bool:
    with force_locale(user.language):
        # The attachment is headed in the recipient's language, as the mail is.
        columns, rows = utilisation_table(context["figures"], group_by, codes=False)
        message = enqueue(
            key=f"report:{job}:{period_key}:{user.email}", kind=job, recipient=user.email,
            subject=subject, text=render_template(f"{template}.txt", user=user, **context),
            html=render_template(f"{template}.html", user=user, **context),
            attachments=((f"{csv_name}.csv", "text/csv", table_bytes(columns, rows)),),
        )
    return message is not None


def _active_flows(scope: services.Scope, period: services.Period) -> list[dict]:
    """The cells of the flow matrix where something happened: hours, bookings or orders."""
    return [r for r in services.flows(scope, period)["rows"] if r["bookings"] or r["hours"] or r["orders"]]


def _recipients(**conditions) -> list[User]:
    return db.session.scalars(
        sa.select(User).where(User.active.is_(True), *(getattr(User, k) == v for k, v in conditions.items()))
        .order_by(User.id)
    ).all()


def weekly_institution_report(now: datetime, period: services.Period | None = None) -> int:
    """Each institution's managers get last week's figures per instrument and
    the year-to-date effective hours against the quota."""
    period = period or last_week(now)
    period_key = f"{period.first}..{period.last}"
    sent = 0
    for institution in db.session.scalars(sa.select(Institution).order_by(Institution.id)):
        managers = _recipients(role=Role.MANAGER, institution_id=institution.id)
        if not managers:
            continue
        scope = services.Scope(institution_id=institution.id)
        figures = services.utilisation(scope, period, "instrument")
        quota = {row["id"]: row for row in services.below_quota(scope, period)}
        for manager in managers:
            with force_locale(manager.language):
                subject = _("Weekly report %(period)s: %(name)s", period=formats.day_range(period.first, period.last),
                            name=institution.name)
            sent += _send("weekly-institution-report", period_key, manager, subject, "mail/report_weekly",
                          f"weekly-{period.first}", "instrument",
                          institution=institution, period=period, figures=figures, quota=quota)
    return sent


def monthly_city_report(now: datetime, period: services.Period | None = None) -> int:
    """City bureaus get their city's figures as provider and its flows as consumer and provider."""
    period = period or last_month(now)
    sent = 0
    for city in list_cities():
        admins = _recipients(role=Role.CITY_ADMIN, city_code=city.code)
        if not admins:
            continue
        scope = services.Scope(city=city.code)
        figures = services.utilisation(scope, period, "institution")
        flows = _active_flows(scope, period)
        settlement = voucher_settlement(scope, period.start, period.end)
        for admin in admins:
            with force_locale(admin.language):
                name = local_name(city)  # the city in the recipient's language, as the whole mail
                subject = _("Monthly report %(month)s: %(city)s", month=formats.month(period.first),
                            city=name)
            sent += _send("monthly-city-report", period.first.strftime("%Y-%m"), admin, subject,
                          "mail/report_monthly", f"city-{city.code}-{period.first:%Y-%m}", "institution",
                          title=name, period=period, figures=figures, flows=flows,
                          settlement=settlement)
    return sent


def monthly_corridor_report(now: datetime, period: services.Period | None = None) -> int:
    """The joint office gets the corridor's figures by city and the cross-city flows."""
    period = period or last_month(now)
    scope = services.Scope()
    figures = services.utilisation(scope, period, "city")
    flows = _active_flows(scope, period)
    sent = 0
    for admin in _recipients(role=Role.ADMIN):
        with force_locale(admin.language):
            subject = _("Monthly corridor report %(month)s", month=formats.month(period.first))
        sent += _send("monthly-corridor-report", period.first.strftime("%Y-%m"), admin, subject,
                      "mail/report_monthly", f"corridor-{period.first:%Y-%m}", "city", title="G60", period=period,
                      figures=figures, flows=flows, settlement=voucher_settlement(scope, period.start, period.end))
    return sent


def parse_period(text: str) -> services.Period:
    """`2026-10` (a month), `2026-W44` (an ISO week) or `2026-10-01..2026-10-31`."""
    if ".." in text:
        first, last = text.split("..", 1)
        return services.make_period(date.fromisoformat(first), date.fromisoformat(last))
    if "-W" in text:
        year, week = text.split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
        return services.Period(monday, monday + timedelta(days=6))
    first = date.fromisoformat(f"{text}-01")
    following = (first + timedelta(days=32)).replace(day=1)
    return services.Period(first, following - timedelta(days=1))
