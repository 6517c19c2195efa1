"""The stored statistics pages' edges (stats/pages.py), found by review:
the figures round trip exactly (types, order), an empty database, a city
asked for that is no city, a page's time never in the future, a change
during a run sparing the pages made before it, and two runs at once."""
from __future__ import annotations

import json
import random
import threading
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from instrument_share.accounts.models import User
from instrument_share.accounts.policy import Scope
from instrument_share.extensions import db
from instrument_share.scheduler.jobs import JOBS
from instrument_share.stats import pages, rollups, services
from instrument_share.stats.dashboard import KEPT, STORED, _computed, _figures, dashboard
from instrument_share.stats.dashboard import _kept as kept
from instrument_share.stats.models import StatsPage
from instrument_share.stats.services import list_cities
from instrument_share.timeutil import platform_today, utcnow

from .test_overview_edges import _order
from .test_rollups import _random_history, at


def _make_pages(now=None):
    return JOBS["statistics-pages"].function(now or utcnow())


def _strict(a, b, path="$"):
    """Equal values of equal types, dict keys in the same order, lists not tuples."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} {a!r} != {type(b).__name__} {b!r}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            _strict(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: len {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _strict(x, y, f"{path}[{i}]")
    else:
        assert a == b or (a != a and b != b), f"{path}: {a!r} != {b!r}"


def _world(make, seed):
    rng = random.Random(seed)
    today = platform_today()
    instruments, institutions, bookings = _random_history(make, rng, today - timedelta(days=35), 35)
    firm_user = make.user(firm=make.firm(city_code="hefei"))
    for n, instrument in enumerate(instruments):
        _order(instrument, firm_user, at(today - timedelta(days=3 + 4 * n), 600), [None, 90, 600][n % 3],
               amount=f"{100 + 37 * n}.{n:02d}")
        _order(instrument, firm_user, at(today - timedelta(days=80 + n), 600), 30)  # the year or the trend
    db.session.commit()
    return today, instruments, institutions, bookings


def test_stored_figures_round_trip_exactly_with_orders(make, app_context):
    today, *_ = _world(make, 41)
    _make_pages()
    period = services.make_period(today - timedelta(days=30), today - timedelta(days=1))
    rows = dict(db.session.execute(sa.select(StatsPage.key, StatsPage.body)).all())
    for scope in (Scope(), *(Scope(city=c.code) for c in list_cities())):
        body = rows[pages.key(scope, period.first, period.last)]
        stored = json.loads(body, object_hook=pages._untagged)
        _strict(stored, _figures(_computed(today, scope, period, None, True)), f"{scope.label}")
    # And what a reader is served.
    admin = make.user(role="admin")
    kept.clear()
    served = dashboard(db.session.get(User, admin.id), today, None, None, None)
    made = _computed(today, Scope(), period, None, True)
    for name in STORED:
        _strict(getattr(served, name), getattr(made, name), name)


def test_an_empty_database_has_pages_and_readers_get_them(make, app_context, client, browser):
    assert db.session.scalar(sa.text("SELECT count(*) FROM stats_version")) == 0
    result = _make_pages()
    assert result["made"] == 1 + len(list_cities())
    admin = make.user(role="admin")
    bureau = make.user(role="city_admin", city_code="jinhua")
    for user in (admin, bureau):
        kept.clear()
        browser.login(user.email)
        response = client.get("/stats/")
        assert response.status_code == 200
        assert "figures-as-of" not in response.get_data(as_text=True)
        client.delete_cookie("session")  # signed out: the next one signs in
    assert _make_pages() == {"made": 0, "current": 1 + len(list_cities())}


def test_admin_city_star_is_not_served_the_corridor(make, app_context):
    """The key wrote the corridor as '*': the joint office asking for a
    city named '*' (an unknown city: an empty page on request) was served
    the corridor's figures under that city's name."""
    today, *_ = _world(make, 42)
    _make_pages()
    admin = make.user(role="admin")
    kept.clear()
    board = dashboard(db.session.get(User, admin.id), today, None, None, "*")
    period = services.make_period(today - timedelta(days=30), today - timedelta(days=1))
    made = _computed(today, Scope(city="*"), period, "*", True)
    assert board.scope == Scope(city="*")
    assert board.by_city == made.by_city, "corridor figures served for city '*'"


def test_checked_at_is_never_after_the_time_it_was_checked(make, app_context):
    """`flask jobs run statistics-pages --now LATER` stamped checked_at in
    the future: after a change the old page was served, 'as of' a time not
    yet come, past the minute. The stamps are the host's clock."""
    today, *_ = _world(make, 43)
    _make_pages(utcnow() + timedelta(minutes=10))  # as `--now` ten minutes ahead, or a clock ahead
    rollups.bump(db.session.connection())
    db.session.commit()
    admin = make.user(role="admin")
    kept.clear()
    board = dashboard(db.session.get(User, admin.id), today, None, None, None)
    assert board.as_of is None or board.as_of <= utcnow(), f"as of {board.as_of}, now {utcnow()}"


def _make_pages_changed_during(pages_made: set[int]) -> tuple[dict, int]:
    """The job, with a change committed from another connection while each
    of the pages numbered in `pages_made` is made (1 the corridor's, then
    the cities' in corridor order); the job's result and how many changes
    were made."""
    seen, changed = [], set()

    def change_meanwhile(conn, cursor, statement, parameters, *args):
        if "per_instrument" in statement:
            seen.append(1)
            if len(seen) in pages_made and len(seen) not in changed:
                changed.add(len(seen))
                with db.engine.begin() as other:
                    rollups.bump(other)

    sa.event.listen(db.engine, "before_cursor_execute", change_meanwhile)
    try:
        result = _make_pages()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", change_meanwhile)
    return result, len(changed)


def test_a_change_after_the_corridor_was_made_keeps_the_corridor(make, app_context):
    """Not all or nothing: a change committed while the last city's page is
    made spares the corridor's page, made wholly before the change (its
    versions read before and after it were equal)."""
    _world(make, 45)
    cities = list_cities()
    result, changes = _make_pages_changed_during({1 + len(cities)})  # the last city's page
    assert changes
    assert result == {"made": len(cities), "current": 0, "changed_meanwhile": 1}, result


def test_two_runs_at_once_both_succeed(make, app_context, app):
    """The scheduler's run and `flask jobs run statistics-pages` by hand at
    the same time: on PostgreSQL the second one's INSERT of a key the
    first inserted waits for the first to commit, and then (an upsert, not
    delete-then-insert) replaces it instead of failing."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises the two writers")
    _world(make, 47)
    db.session.remove()
    b_inserting = threading.Event()
    results = {}
    main = threading.get_ident()

    def before(conn, cursor, statement, *args):
        if threading.get_ident() != main and statement.startswith("INSERT INTO stats_page"):
            b_inserting.set()

    def on_commit(conn):
        if threading.get_ident() == main and "a_waited" not in results:
            results["a_waited"] = b_inserting.wait(60)
            time.sleep(1.0)  # B is now waiting on A's uncommitted key

    def run_b():
        with app.app_context():
            try:
                results["b"] = _make_pages()
            except Exception as error:  # noqa: BLE001
                results["b"] = repr(error)
            finally:
                db.session.remove()

    sa.event.listen(db.engine, "before_cursor_execute", before)
    sa.event.listen(db.engine, "commit", on_commit)
    try:
        thread = threading.Thread(target=run_b)
        thread.start()
        results["a"] = _make_pages()
        thread.join(120)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
        sa.event.remove(db.engine, "commit", on_commit)
    assert results.get("a_waited"), results
    assert isinstance(results["a"], dict) and isinstance(results["b"], dict), results


def _backdate_pages():
    """As if the job had last looked at every page more than a minute ago."""
    db.session.execute(sa.update(StatsPage).values(checked_at=utcnow() - pages.FRESH - timedelta(seconds=1)))
    db.session.commit()


def test_a_run_finding_the_pages_current_keeps_them_servable_after_the_next_change(make, app_context):
    """A run with nothing to make stamps the pages it finds current; the
    minute after a change counts from that stamp, not from when the page
    was made."""
    today, *_ = _world(make, 48)
    _make_pages()
    _backdate_pages()
    looked = utcnow()
    assert _make_pages() == {"made": 0, "current": 1 + len(list_cities())}
    rollups.bump(db.session.connection())  # a change after that run
    db.session.commit()
    admin = make.user(role="admin")
    kept.clear()
    board = dashboard(db.session.get(User, admin.id), today, None, None, None)
    assert board.as_of is not None and board.as_of >= looked, board.as_of


def test_a_page_spoilt_by_a_change_during_a_run_is_not_stamped_current(make, app_context):
    """The last two cities' pages, each made while a change committed,
    keep their older figures unstamped: once their minute is over a
    reader's request makes them, while the pages made before the changes
    are served."""
    today, *_ = _world(make, 49)
    cities = list_cities()
    _make_pages()
    rollups.bump(db.session.connection())
    db.session.commit()
    _backdate_pages()
    result, _changes = _make_pages_changed_during({len(cities), 1 + len(cities)})  # the last two cities' pages
    assert result == {"made": len(cities) - 1, "current": 0, "changed_meanwhile": 2}, result
    last, first = cities[-1].code, cities[0].code
    kept.clear()
    spoilt = dashboard(db.session.get(User, make.user(role="city_admin", city_code=last).id), today, None, None,
                       None)
    assert spoilt.as_of is None  # made on request, not the old page
    served = dashboard(db.session.get(User, make.user(role="city_admin", city_code=first).id), today, None, None,
                       None)
    assert served.as_of is not None  # made before the change, then changed once


def test_a_page_not_current_after_current_ones_is_made(make, app_context):
    """The job skips the pages it finds current and makes every other one,
    wherever it comes in the corridor's order (here the last city's, left
    at older versions)."""
    _world(make, 50)
    cities = list_cities()
    _make_pages()
    last_key = next(key for key in db.session.scalars(sa.select(StatsPage.key)) if cities[-1].code in key)
    db.session.execute(sa.update(StatsPage).where(StatsPage.key == last_key).values(tokens="older"))
    db.session.commit()
    assert _make_pages() == {"made": 1, "current": len(cities)}
    assert len(set(db.session.scalars(sa.select(StatsPage.tokens)))) == 1


def test_a_worker_keeps_its_last_kept_dashboards(make, app_context):
    """A process keeps the KEPT dashboards last asked for: the one asked
    for before them is made again, the oldest of them is still kept."""
    today, *_ = _world(make, 51)
    admin = db.session.get(User, make.user(role="admin").id)
    kept.clear()
    last = today - timedelta(days=1)
    boards = [dashboard(admin, today, last - timedelta(days=n), last, None) for n in range(KEPT + 1)]
    assert dashboard(admin, today, last - timedelta(days=1), last, None) is boards[1]  # the oldest kept
    assert dashboard(admin, today, last, last, None) is not boards[0]  # the one before them


def test_a_period_that_cannot_be_read_falls_back_to_the_default_of_the_whole_scope(make, app_context):
    """A bureau asking for a period that ends before it starts, or is
    longer than two years, is shown its city's last thirty days."""
    today, *_ = _world(make, 52)
    bureau = db.session.get(User, make.user(role="city_admin", city_code="hefei").id)
    default = services.make_period(today - timedelta(days=30), today - timedelta(days=1))
    for first, last in ((today - timedelta(days=3), today - timedelta(days=9)),
                        (today - timedelta(days=900), today - timedelta(days=1))):
        board = dashboard(bureau, today, first, last, None)
        assert (board.scope, board.period) == (Scope(city="hefei"), default)


def test_a_city_that_cannot_be_read_is_no_city(make, app_context):
    """A city with a line break or a control character in it is taken as
    none asked for: the joint office sees the corridor."""
    today, *_ = _world(make, 53)
    admin = db.session.get(User, make.user(role="admin").id)
    for city in ("hefei\n", "he\x00fei"):
        board = dashboard(admin, today, None, None, city)
        assert (board.scope, board.city) == (Scope(), None)


def test_the_trend_is_the_twelve_months_to_the_periods_end_with_their_orders(make, app_context):
    """The trend runs from the first day of the month eleven months before
    the period's last one: twelve rows, the first counting an order
    reported on its first day, for a period of thirty days as for one of
    700 days, which also counts an order reported in its first month,
    before the trend."""
    today = platform_today()
    last = today.replace(day=1) - timedelta(days=1)
    if last.month == 12:  # then the trend begins with the year to date
        last = last.replace(day=1) - timedelta(days=1)
    trend_first = date(last.year - 1, last.month % 12 + 1, 1)
    long_first = last - timedelta(days=699)
    instrument = make.instrument()
    firm_user = make.user(firm=make.firm(city_code="hefei"))
    _order(instrument, firm_user, at(trend_first, 600), 30)
    _order(instrument, firm_user, at(long_first + timedelta(days=1), 600), 30)
    db.session.commit()
    admin = db.session.get(User, make.user(role="admin").id)
    for first, orders in ((last - timedelta(days=29), 0), (long_first, 2)):
        board = dashboard(admin, today, first, last, None)
        months = [row["key"] for row in board.trend]
        assert months[0] == trend_first.strftime("%Y-%m") and months[-1] == last.strftime("%Y-%m")
        assert len(months) == 12 and board.trend[0]["orders"] == 1
        assert board.by_city["totals"]["orders"] == orders
