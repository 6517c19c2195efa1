"""Found by a red-team review of the kept dashboard (stats/dashboard.py): two
ways the figures of a period of whole days before today could change while
the token of `stats_version` stayed, so that the page kept under it was no
longer the page computed afresh. Each test compares the kept page with the
page computed per instrument (`dashboard(viewer, first, first, last,
None)`: "today" its first day, so nothing is kept and every figure comes
from the raw rows), as tests/stats/test_dashboard_kept.py does."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from instrument_share.accounts.models import User
from instrument_share.booking.models import Booking
from instrument_share.extensions import db
from instrument_share.stats import rollups
from instrument_share.stats.dashboard import dashboard
from instrument_share.stats.models import StatsDayVersion, StatsVersion
from instrument_share.timeutil import platform_today, to_platform

from ..test_statement_counts import counted
from .test_rollups import _random_history, at


def _token():
    """Every statistics version: the platform's token and the days' (by day)."""
    days = db.session.execute(sa.select(StatsDayVersion.day, StatsDayVersion.token).order_by(StatsDayVersion.day))
    return db.session.scalar(sa.select(StatsVersion.token)), tuple(days)


def test_a_page_made_inside_an_uncommitted_change_is_not_kept(make, app_context):
    """The page was kept under the token the reading transaction saw, but
    computed from what that transaction saw, its own flushed, uncommitted
    changes included (the roll-up deltas are written at flush, the token
    replaced at commit). Rolled back (a refusal, a failed commit, a deadlock
    on PostgreSQL), the change never happened, yet every later reader of
    that period got the page made from it. A transaction with changes of
    its own now neither keeps a page nor reads one kept."""
    rng = random.Random(31)
    today = platform_today()
    first = today - timedelta(days=40)
    last = first + timedelta(days=24)
    _instruments, _institutions, bookings = _random_history(make, rng, first, 25)
    admin = make.user(role="admin")
    token = _token()
    assert token[0]  # the platform has a token: pages are kept

    # A transaction changes a booking of a past day in the period; it is
    # flushed (the roll-ups take its delta) but not committed.
    booking = next(b for b in bookings if b.status in ("confirmed", "completed")
                   and first + timedelta(days=2) <= to_platform(b.start).date() <= last - timedelta(days=2))
    booking.status = "no_show"
    db.session.flush()
    # Inside it, the period's dashboard is asked for (a miss: made and kept),
    # also of one city: a page like any other, only not kept.
    dashboard(db.session.get(User, admin.id), today, first, last, None)
    of_city = dashboard(db.session.get(User, admin.id), today, first, last, "hefei")
    assert (of_city.scope.city, of_city.city) == ("hefei", "hefei") and of_city.flows is not None
    db.session.rollback()  # the change is refused: nothing of it was committed
    assert _token() == token

    viewer = db.session.get(User, admin.id)
    kept = dashboard(viewer, today, first, last, None)
    fresh = dashboard(viewer, first, first, last, None)
    assert kept.by_city["totals"] == fresh.by_city["totals"], "the kept page shows a rolled-back change"
    assert kept == fresh


def test_a_change_of_today_reaches_a_page_kept_past_midnight(make, app_context):
    """Whether a commit replaces the token is decided by the writer's clock
    (at its commit), whether a page is kept by the reader's. A writer that
    decided "today, no bump" just before midnight and whose commit landed
    just after it (or a worker whose clock is behind the reader's) changed
    yesterday's figures under an unchanged token, after a reader past
    midnight kept the period ending yesterday. A change of today now
    replaces the token too.

    Simulated in one process by the reader's `today` one day ahead of the
    writer's: the reader is past midnight, the writer is not."""
    rng = random.Random(32)
    today = platform_today()
    tomorrow = today + timedelta(days=1)
    first = today - timedelta(days=12)
    _instruments, institutions, _bookings = _random_history(make, rng, first, 6)
    spare = make.instrument(institution=institutions[0], hours=[(d, 0, 24 * 60) for d in range(7)])
    firm_user = make.user(firm=make.firm(city_code="jinhua"))
    admin = make.user(role="admin")
    assert _token()[0]

    # The reader just past midnight: for it the period up to `today` is all
    # whole past days, so the page is kept.
    viewer = db.session.get(User, admin.id)
    board = dashboard(viewer, tomorrow, first, today, None)
    with counted() as statements:
        again = dashboard(viewer, tomorrow, first, today, None)
    assert again is board and len(statements) == 1
    token = _token()

    # The writer, still before midnight by its clock: a booking on its today.
    start = at(today, 60)
    db.session.add(Booking(instrument=spare, user=firm_user, firm_id=firm_user.firm_id, start=start,
                           end=start + timedelta(hours=3), occupied_until=start + timedelta(hours=3),
                           status="completed", purpose="x", cost=Decimal("120.00"),
                           firm_pays=Decimal("120.00")))
    db.session.commit()
    assert _token() != token  # its day is the writer's today

    viewer = db.session.get(User, admin.id)
    kept = dashboard(viewer, tomorrow, first, today, None)
    fresh = dashboard(viewer, first, first, today, None)
    assert kept.by_city["totals"] == fresh.by_city["totals"], "the kept page misses the booking"
    assert kept == fresh



@pytest.mark.parametrize("days", [30, 700])
def test_a_kept_page_is_made_again_after_a_change_of_its_first_day_read_and_not_before_it(make, app_context, days):
    """A kept page depends on the days it reads, from the first of its
    period, of its trend (the twelve months to the period's end) and of the
    year to date, to the period's last: a change of that first day makes it
    again, a change of the day before does not. Thirty days to the end of a
    month other than December read from the trend's first day; 700 days
    from the period's own."""
    rng = random.Random(34)
    today = platform_today()
    last = today.replace(day=1) - timedelta(days=1)
    if last.month == 12:  # then the trend and the year to date begin alike
        last = last.replace(day=1) - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    trend_first = date(last.year - (last.month < 12), (last.month % 12) + 1, 1)  # 11 months before last's month
    first_read = min(first, trend_first)
    assert first_read < date(last.year, 1, 1)
    _random_history(make, rng, today - timedelta(days=30), 25)
    admin = make.user(role="admin")

    def shown():
        return dashboard(db.session.get(User, admin.id), today, first, last, None)

    page = shown()
    rollups.bump_days(db.session.connection(), [first_read - timedelta(days=1)])
    db.session.commit()
    assert shown() is page
    rollups.bump_days(db.session.connection(), [first_read])
    db.session.commit()
    assert shown() is not page
