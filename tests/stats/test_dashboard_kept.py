"""A dashboard of whole days before today is computed once per process until
what it shows changes (stats/dashboard.py, the token of `stats_version`
that stats.rollups.bump replaces); each kind of change makes it computed
again, and then it is the page computed from scratch (issue #20)."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from instrument_share.accounts.models import User
from instrument_share.booking.models import Blackout, Booking
from instrument_share.catalogue.models import OpeningHours
from instrument_share.extensions import db
from instrument_share.orders import services as orders
from instrument_share.stats import rollups
from instrument_share.stats.dashboard import dashboard
from instrument_share.stats.models import StatsDayVersion, StatsVersion
from instrument_share.timeutil import platform_today

from ..test_statement_counts import counted
from .test_rollups import _random_history, at


def _token():
    """Every statistics version: the platform's token and the days' (by day)."""
    days = db.session.execute(sa.select(StatsDayVersion.day, StatsDayVersion.token).order_by(StatsDayVersion.day))
    return db.session.scalar(sa.select(StatsVersion.token)), tuple(days)


def test_a_past_dashboard_is_kept_until_what_it_shows_changes(make, app_context):
    rng = random.Random(21)
    today = platform_today()
    first, days = today - timedelta(days=40), 25
    last = first + timedelta(days=days - 1)
    instruments, institutions, bookings = _random_history(make, rng, first, days)
    admin = make.user(role="admin")
    firm_user = make.user()

    def shown():
        viewer = db.session.get(User, admin.id)
        with counted() as statements:
            board = dashboard(viewer, today, first, last, None)
        # The same page made per instrument ("today" its first day: nothing kept).
        assert board == dashboard(viewer, first, first, last, None)
        return board, len(statements)

    board, cold = shown()
    again, warm = shown()
    assert again is board and warm == 1 < cold  # the one statement: the version's token

    # A booking of next week changes no past day: the page is still kept.
    start = at(today + timedelta(days=7), 10 * 60)
    db.session.add(Booking(instrument=instruments[0], user=firm_user, firm_id=firm_user.firm_id, start=start,
                           end=start + timedelta(hours=2), occupied_until=start + timedelta(hours=2),
                           status="confirmed", purpose="x", cost=Decimal("10.00"), firm_pays=Decimal("10.00")))
    db.session.commit()
    assert shown()[1] == 1

    def usage():
        done = next(b for b in bookings if b.status == "completed")
        done.used_start, done.used_end = done.start, done.start + timedelta(minutes=5)

    def no_show():
        next(b for b in bookings if b.status == "confirmed").status = "no_show"

    def blackout():
        db.session.add(Blackout(instrument=instruments[1], start=at(first + timedelta(days=3), 9 * 60),
                                end=at(first + timedelta(days=5), 9 * 60), reason="维护"))

    def hours():
        instruments[2].opening_hours = [OpeningHours(weekday=d, open_minute=8 * 60, close_minute=22 * 60)
                                        for d in range(7)]

    def category():
        instruments[3].category_code = "analytical-chromatography"

    def new_instrument():
        make.instrument(institution=institutions[0])

    def order():
        orders.submit_order(db.session.get(User, firm_user.id), instruments[4].id, "物相分析", "全谱",
                            [{"name": "粉末", "quantity": 1, "unit": "份"}])

    def rebuild():
        rollups.rebuild(first, last, check=True)  # the nightly check, even without drift

    for change in (usage, no_show, blackout, hours, category, new_instrument, order, rebuild):
        token = _token()
        change()
        db.session.commit()
        assert _token() != token, change.__name__
        changed, statements = shown()
        assert statements > 1, change.__name__  # computed again (and as from scratch, in shown())
        assert shown() == (changed, 1), change.__name__  # then kept


def test_a_dashboard_reaching_today_and_each_scope_are_made_apart(make, app_context):
    rng = random.Random(22)
    today = platform_today()
    first = today - timedelta(days=20)
    _instruments, institutions, _bookings = _random_history(make, rng, first, 15)
    admin, bureau = make.user(role="admin"), make.user(role="city_admin", city_code="jinhua")
    manager = make.user(role="manager", institution_id=institutions[2].id)
    with counted() as statements:
        dashboard(db.session.get(User, admin.id), today, first, today, None)
    with counted() as again:
        dashboard(db.session.get(User, admin.id), today, first, today, None)
    assert len(again) > 1 and len(statements) > 1  # today changes with every booking: never kept
    last = today - timedelta(days=1)
    corridor = dashboard(db.session.get(User, admin.id), today, first, last, None)
    for viewer in (bureau, manager):
        kept = dashboard(db.session.get(User, viewer.id), today, first, last, None)
        assert kept.scope != corridor.scope
        assert kept == dashboard(db.session.get(User, viewer.id), first, first, last, None)
    jinhua = dashboard(db.session.get(User, admin.id), today, first, last, "jinhua")
    assert jinhua.city == "jinhua" and jinhua != corridor


def test_todays_bookings_leave_a_page_of_the_days_before_kept(make, app_context):
    """Each day has its own token (stats_day_version): a booking used,
    completed or marked a no-show today replaces today's, which no page of
    whole past days reads, so the page stays kept all day; a change of a day
    the page reads outside its period (the twelve months of its trend, the
    year to date of its quota) makes it again, as one inside it does."""
    rng = random.Random(23)
    today = platform_today()
    first = today - timedelta(days=30)
    last = today - timedelta(days=1)
    instruments, _institutions, _bookings = _random_history(make, rng, first, 30)
    admin = make.user(role="admin")
    firm_user = make.user()

    def shown():
        viewer = db.session.get(User, admin.id)
        with counted() as statements:
            board = dashboard(viewer, today, first, last, None)
        return board, len(statements)

    def used(day):
        start = at(day, 9 * 60)
        db.session.add(Booking(instrument=instruments[0], user=firm_user, firm_id=firm_user.firm_id, start=start,
                               end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                               status="completed", used_start=start, used_end=start + timedelta(hours=1),
                               purpose="x", cost=Decimal("10.00"), firm_pays=Decimal("10.00")))
        db.session.commit()

    board, cold = shown()
    assert cold > 1 and shown() == (board, 1)
    platform_token = _token()[0]
    used(today)
    assert _token()[0] == platform_token  # today's token only
    assert shown() == (board, 1)  # still kept

    trend_day = (first.replace(day=1) - timedelta(days=40))  # a month of the trend, before the period
    for day in (trend_day, first):
        used(day)
        changed, statements = shown()
        assert statements > 1 and changed != board, day  # made again: the day is shown
        assert changed == dashboard(db.session.get(User, admin.id), first, first, last, None)  # as from scratch
        board = changed
        assert shown() == (board, 1)
