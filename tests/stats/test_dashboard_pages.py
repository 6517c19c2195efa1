"""The default dashboards of the corridor and of each city, made by the
`statistics-pages` job and shared by every worker (stats/pages.py, issue
#20): a stored page shows the figures a page made on request shows; after a
change it is served, with the time of its figures, for up to a minute after
the job last found it current, then made on request again; a page made while
a change committed is not stored."""
from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from instrument_share.accounts.models import User
from instrument_share.accounts.policy import Scope
from instrument_share.errors import PermissionDenied
from instrument_share.extensions import db
from instrument_share.scheduler.jobs import JOBS
from instrument_share.stats import pages, rollups
from instrument_share.stats.dashboard import DEFAULT_DAYS, dashboard
from instrument_share.stats.dashboard import _kept as kept
from instrument_share.stats.models import StatsPage
from instrument_share.stats.services import list_cities
from instrument_share.timeutil import platform_today, utcnow

from ..test_statement_counts import counted
from .test_rollups import _random_history


def _period(today):
    return today - timedelta(days=DEFAULT_DAYS), today - timedelta(days=1)


def _made_on_request(viewer, today, city=None):
    """The default page as a request makes it (its period then reaches the
    given 'today', which neither keeps nor reads a stored page)."""
    first, last = _period(today)
    return dashboard(viewer, last, first, last, city)


def _make_pages(now=None):
    return JOBS["statistics-pages"].function(now or utcnow())


def test_a_stored_page_shows_what_a_page_made_on_request_shows(make, app_context):
    rng = random.Random(31)
    today = platform_today()
    _random_history(make, rng, today - timedelta(days=35), 35)
    admin, bureau = make.user(role="admin"), make.user(role="city_admin", city_code="jinhua")
    manager = make.user(role="manager", institution_id=make.institution(city_code="hefei").id)
    cities = len(list_cities())

    assert _make_pages() == {"made": 1 + cities, "current": 0}
    assert _make_pages() == {"made": 0, "current": 1 + cities}
    for viewer, city, scope in ((admin, None, Scope()), (bureau, None, Scope(city="jinhua")),
                                (admin, "jinhua", Scope(city="jinhua"))):
        viewer = db.session.get(User, viewer.id)
        with counted() as statements:
            board = dashboard(viewer, today, None, None, city)
        assert len(statements) == 2  # the versions, the stored page
        assert board.scope == scope and board.as_of is None and board.city == city
        assert board == _made_on_request(viewer, today, city)
    # A manager's page is made on request (an institution's is small), and
    # the store answers no one outside their scope.
    with counted() as statements:
        dashboard(db.session.get(User, manager.id), today, None, None, None)
    assert not any("stats_page" in statement for statement in statements)
    with pytest.raises(PermissionDenied):
        dashboard(db.session.get(User, bureau.id), today, None, None, "hefei")

    # The next day's run makes the next day's pages and drops the others.
    tomorrow = utcnow() + timedelta(days=1)
    assert _make_pages(tomorrow)["made"] == 1 + cities
    first, last = _period(today + timedelta(days=1))
    assert {tuple(json.loads(key)[-2:]) for key in db.session.scalars(sa.select(StatsPage.key))} == {
        (first.isoformat(), last.isoformat())}


def test_after_a_change_the_stored_page_is_served_with_its_time_for_a_minute(make, app_context):
    rng = random.Random(32)
    today = platform_today()
    _instruments, _institutions, bookings = _random_history(make, rng, today - timedelta(days=35), 35)
    admin = make.user(role="admin")
    _make_pages()
    before = dashboard(db.session.get(User, admin.id), today, None, None, None)
    checked_at = db.session.scalar(sa.select(StatsPage.checked_at).where(
        StatsPage.key == pages.key(Scope(), *_period(today))))

    done = next(b for b in bookings if b.status == "completed" and today - timedelta(days=20) < b.start.date())
    done.used_start, done.used_end = done.start, done.start + timedelta(minutes=7)
    db.session.commit()
    viewer = db.session.get(User, admin.id)
    stale = dashboard(viewer, today, None, None, None)
    assert stale.as_of == checked_at
    assert stale.by_city == before.by_city  # the figures from before the change, said to be
    fresh = _made_on_request(viewer, today)
    assert fresh.by_city != before.by_city

    # A minute after the job last found it current, no longer: made on request.
    db.session.execute(sa.update(StatsPage).values(checked_at=utcnow() - pages.FRESH - timedelta(seconds=1)))
    db.session.commit()
    made = dashboard(db.session.get(User, admin.id), today, None, None, None)
    assert made.as_of is None and made == fresh

    # Kept by the process that made it: current, whatever the store holds.
    db.session.execute(sa.update(StatsPage).values(checked_at=utcnow()))
    db.session.commit()
    assert dashboard(db.session.get(User, admin.id), today, None, None, None) is made
    # The job's next run makes it again, current, for every worker.
    assert _make_pages()["made"] == 1 + len(list_cities())
    db.session.execute(sa.update(StatsPage).values(checked_at=utcnow() - pages.FRESH - timedelta(seconds=1)))
    db.session.commit()
    kept.clear()  # as in another worker, which has made nothing itself
    viewer = db.session.get(User, admin.id)
    with counted() as statements:
        current = dashboard(viewer, today, None, None, None)
    assert len(statements) == 2 and current.as_of is None and current == fresh


def test_the_page_says_when_its_figures_are_from(make, app_context, client, browser):
    rng = random.Random(33)
    today = platform_today()
    _random_history(make, rng, today - timedelta(days=35), 35)
    admin = make.user(role="admin")
    _make_pages()
    browser.login(admin.email)
    page = client.get("/stats/").get_data(as_text=True)
    assert "figures-as-of" not in page
    rollups.bump(db.session.connection())  # any change of a past day's figures
    db.session.commit()
    page = client.get("/stats/").get_data(as_text=True)
    assert 'id="figures-as-of"' in page and "数据截至" in page


def test_a_page_made_while_a_change_commits_is_not_stored(make, app_context):
    """The versions are read before and after each page is made: a change
    committed in between (here by another connection as the corridor's
    figures are summed) leaves that page unstored, for the next run; the
    pages made after it are stored at the versions after it (each page on
    its own: with all or nothing, a busy corridor left most runs storing
    nothing; found by review)."""
    rng = random.Random(34)
    today = platform_today()
    _random_history(make, rng, today - timedelta(days=35), 35)
    cities = len(list_cities())
    changed = []

    def change_meanwhile(conn, cursor, statement, *args):
        if "per_instrument" in statement and not changed:
            changed.append(True)
            with db.engine.begin() as other:
                rollups.bump(other)

    sa.event.listen(db.engine, "before_cursor_execute", change_meanwhile)
    try:
        assert _make_pages() == {"made": cities, "current": 0, "changed_meanwhile": 1}
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", change_meanwhile)
    assert changed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatsPage)
                             .where(StatsPage.key == pages.key(Scope(), *_period(today)))) == 0
    assert _make_pages() == {"made": 1, "current": cities}


def test_a_page_stored_by_another_release_is_never_read(make, app_context):
    """A stored page's key holds the release that made it (a digest of the
    application's code): after a release, whose figures may mean something
    else or have another shape, the pages stored before are not read, not
    even in the minute after a change, and the next run drops them (the
    versions do not change with a deployment; found by review)."""
    rng = random.Random(35)
    today = platform_today()
    _random_history(make, rng, today - timedelta(days=35), 35)
    admin = make.user(role="admin")
    _make_pages()
    db.session.execute(sa.update(StatsPage).values(key=sa.func.replace(StatsPage.key, pages.release(), "older")))
    db.session.commit()
    viewer = db.session.get(User, admin.id)
    with counted() as statements:
        board = dashboard(viewer, today, None, None, None)
    assert board.as_of is None and len(statements) > 2  # made on request
    assert _make_pages()["made"] == 1 + len(list_cities())
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(StatsPage)
                                 .where(StatsPage.key.like('["older"%')))


def test_the_job_runs_from_the_command_line(runner, make, app_context):
    make.instrument()
    listing = runner.invoke(args=["jobs", "list"])
    assert "statistics-pages" in listing.output
    result = runner.invoke(args=["jobs", "run", "statistics-pages"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatsPage)) == 1 + len(list_cities())
