"""What a role's statistics dashboard shows, decided once: the scope and
period asked for (or the defaults when they cannot be read), and every
figure the page draws. A dashboard of whole days before today is kept per
process until the statistics' versions change; the default pages of the
corridor and of each city are made by the scheduler and shared by every
worker (stats/pages.py; README, "Statistics (roll-ups)")."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ..accounts.models import User
from ..accounts.policy import Scope, stats_scope
from ..database import begin_write_transaction
from ..errors import ServiceError
from ..extensions import db
from ..sql import dialect
from ..text import TextRefused, clean_line
from ..timeutil import platform_zone, to_platform, utcnow
from . import pages, rollups, services
from .models import StatsDayVersion, StatsVersion
from .overview import GROUPINGS, overview
from .policy import can_see_flows

DEFAULT_DAYS = 30
SHOWN_ROWS = 20
KEPT = 64  # dashboards kept per process: every scope and period asked for since the last change
_kept: OrderedDict[tuple, Dashboard] = OrderedDict()
_kept_lock = threading.Lock()


@dataclass
class Dashboard:
    scope: Scope
    period: services.Period
    city: str | None
    by_city: dict
    by_category: dict
    by_institution: dict
    trend: list[dict]            # twelve months to the period's end
    most_used: list[dict]
    least_used: list[dict]
    quota: list[dict]            # the first SHOWN_ROWS instruments below their quota
    quota_count: int
    flows: dict | None           # None for a role that may not see them
    as_of: datetime | None = None  # a stored page a change came after: when it was last current (pages.py)

    def order_rows(self, group_by: str) -> list[dict]:
        """The groups (city, institution or category) that delivered orders,
        the most orders first, at most SHOWN_ROWS (the export has them all)."""
        rows = {"city": self.by_city, "institution": self.by_institution, "category": self.by_category}[group_by]
        served = [row for row in rows["rows"] if row["orders"]]
        return sorted(served, key=lambda r: (-r["orders"], -r["order_revenue"]))[:SHOWN_ROWS]


def dashboard(user: User, today: date, first: date | None, last: date | None, city: str | None) -> Dashboard:
    """The dashboard of `user` for the period `first`..`last` (by default the
    last thirty days) and one city (by default the user's whole scope). A city
    or period that cannot be read falls back to the defaults; a city outside
    the user's scope is refused, and so is a role without statistics."""
    default_first, default_last = _default_period(today)
    try:
        city = clean_line(city or "") or None
    except TextRefused:
        city = None  # as for an unknown city: the viewer's whole scope
    try:
        scope = stats_scope(user, None, city)
        period = services.make_period(first or default_first, last or default_last)
    except ServiceError as error:
        if error.status == 403:
            raise
        scope, period = stats_scope(user), services.make_period(default_first, default_last)
    flows = can_see_flows(user)
    if services.split(period, today)[1] is not None:  # today or later: it changes with every booking
        return _computed(today, scope, period, city, flows)
    # Whole days before today change only with what replaces the platform's
    # token or a token of a day the page reads (stats.rollups.bump,
    # bump_days): computed once per tokens, scope and period.
    token, days = _versions(_first_day_read(period), period.last)
    if rollups.uncommitted(db.session()):  # its own changes, which may yet be rolled back (found by review)
        return _computed(today, scope, period, city, flows)
    key = (token, days, dialect(), platform_zone().key, scope, period.first, period.last, city, flows)
    with _kept_lock:
        found = _kept.get(key) if token else None
        if found is not None:
            _kept.move_to_end(key)
            return found
    stored = None
    if flows and pages.made_for(scope, period.first, period.last, (default_first, default_last)):
        stored = pages.read(pages.key(scope, period.first, period.last), pages.digest(token, days))
    if stored is None:
        board = _computed(today, scope, period, city, flows)
    else:
        board = Dashboard(scope=scope, period=period, city=city, **stored.figures,
                          as_of=None if stored.current else stored.checked_at)
        if not stored.current:
            return board  # not kept: the job makes the current page within RUN_EVERY
    return _keep(key, board) if token else board


def _keep(key: tuple, board: Dashboard) -> Dashboard:
    with _kept_lock:
        _kept[key] = board
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return board


def make_pages(now: datetime) -> dict:
    """Make the default dashboards of the corridor and of each city that a
    change has made out of date, and store them for every worker
    (stats/pages.py): the `statistics-pages` job, which commits. A page
    made while a change was committed is not stored; the next run makes it
    again."""
    today = to_platform(now).date()
    period = services.make_period(*_default_period(today))
    scopes = [Scope(), *(Scope(city=city.code) for city in services.list_cities())]
    keys = {pages.key(scope, period.first, period.last): scope for scope in scopes}
    first_read = _first_day_read(period)
    # Each time is taken before the versions are read: the figures were
    # current then at the latest (the hosts' clock, not `now`, which
    # `flask jobs run --now` sets: never a time to come; found by review).
    started = utcnow()
    versions = _versions(first_read, period.last)
    tokens = pages.digest(*versions)
    stored = pages.stored_tokens(list(keys))
    current = [key for key in keys if stored.get(key) == tokens]
    made, changed_meanwhile = {}, 0
    for key, scope in keys.items():
        if key in current:
            continue
        figures = _figures(_computed(today, scope, period, None, flows=True))
        checked = utcnow()
        after = _versions(first_read, period.last)
        if after == versions:  # each page on its own: a change spoils only the page it came during
            made[key] = (figures, pages.digest(*versions), checked)
        else:
            changed_meanwhile += 1
        versions = after
    begin_write_transaction()
    pages.write(made, tokens, started, keep=list(keys))
    return {"made": len(made), "current": len(current), **({"changed_meanwhile": changed_meanwhile}
                                                            if changed_meanwhile else {})}


def _figures(board: Dashboard) -> dict:
    """What a stored page holds: every figure (the scope, period and city
    are the request's)."""
    return {name: getattr(board, name) for name in STORED}


STORED = tuple(field.name for field in fields(Dashboard) if field.name not in ("scope", "period", "city", "as_of"))


def _default_period(today: date) -> tuple[date, date]:
    return today - timedelta(days=DEFAULT_DAYS), today - timedelta(days=1)


def _versions(first: date, last: date) -> tuple[str | None, tuple]:
    """The platform's statistics token and the tokens of the days from
    `first` to `last` that have one, in one statement."""
    rows = db.session.execute(sa.union_all(
        sa.select(sa.null().label("day"), StatsVersion.token).where(StatsVersion.id == 1),
        sa.select(StatsDayVersion.day, StatsDayVersion.token).where(StatsDayVersion.day >= first,
                                                                    StatsDayVersion.day <= last),
    )).all()
    token = next((found for day, found in rows if day is None), None)
    return token, tuple(sorted((str(day), found) for day, found in rows if day is not None))


def _trend_period(period: services.Period) -> services.Period:
    """The twelve months to the period's end, the trend's."""
    return services.Period((date(period.last.year - 1, period.last.month, 1) + timedelta(days=32)).replace(day=1),
                           period.last)


def _first_day_read(period: services.Period) -> date:
    """The first day whose figures the page shows: of the period, of the
    trend's twelve months or of the year to date (the quota)."""
    return min(period.first, _trend_period(period).first, services.year_to_date(period).first)


def _computed(today: date, scope: Scope, period: services.Period, city: str | None, flows: bool) -> Dashboard:
    # Every figure from one read of each source (README, "Statistics (roll-ups)"):
    # the orders of the longest span; the instruments' figures of the period
    # and of the year to date together, summed by the database for whole
    # days before today (overview.py), else per instrument here.
    trend_period = _trend_period(period)
    ytd = services.year_to_date(period)
    orders = services.scope_orders(scope, min(period.start, ytd.start, trend_period.start), period.end)
    if services.split(period, today)[1] is None:  # whole days before today: summed by the database
        tables = overview(scope, period, ytd, orders, SHOWN_ROWS)
        grouped, most_used, least_used = tables.groupings, tables.most_used, tables.least_used
        quota, quota_count = tables.quota, tables.quota_count
    else:
        figures = services.instruments_over(scope, {"period": period, "ytd": ytd}, today, orders,
                                            without_open=("ytd",))
        grouped = services.utilisations(scope, period, GROUPINGS, today, instruments=figures["period"],
                                        orders=orders)
        ranked = services.by_use(figures["period"])
        most_used = [services.instrument_row(item) for item in reversed(ranked[-SHOWN_ROWS:])]
        least_used = [services.instrument_row(item) for item in ranked[:SHOWN_ROWS]]
        below = services.below_quota(scope, period, today, instruments=figures["ytd"])
        quota, quota_count = below[:SHOWN_ROWS], len(below)
    return Dashboard(
        scope=scope, period=period, city=city, by_city=grouped["city"],
        by_category=grouped["category"], by_institution=grouped["institution"],
        trend=services.by_month(scope, trend_period, today, orders)["rows"],
        most_used=most_used, least_used=least_used, quota=quota, quota_count=quota_count,
        flows=services.flows(scope, period, today, orders) if flows else None,
    )
