"""The dashboard summed by the database (stats/overview.py) at the edges its
mutants found untested (README, "Mutation testing"): each checked through
`stats.dashboard.dashboard` of whole days before today, on both engines."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from instrument_share.accounts.models import User
from instrument_share.booking.models import Booking
from instrument_share.extensions import db
from instrument_share.stats.dashboard import dashboard

from ..test_statement_counts import counted
from .test_overview_edges import _order
from .test_rollups import FAR, at


def _used(instrument, user, start, seconds):
    end = start + timedelta(seconds=seconds)
    db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start, end=end,
                           occupied_until=end, status="completed", purpose="x", cost=Decimal("10.00"),
                           firm_pays=Decimal("10.00")))


def test_an_instrument_exactly_at_its_quota_is_not_below_it(make, app_context):
    """By 14 March (73 of 365 days) a general instrument's quota of 1,400 h
    a year is 280 h exactly: used 280 h it is not below its quota, used one
    second less it is."""
    institution = make.institution()
    exact, short, idle = (make.instrument(institution=institution) for _ in range(3))
    user = make.user()
    for n in range(10):  # 10 × 28 h in January and February
        start = at(date(2026, 1, 3) + timedelta(days=5 * n), 0)
        _used(exact, user, start, 28 * 3600)
        _used(short, user, start, 28 * 3600 - (1 if n == 9 else 0))
    db.session.commit()
    board = dashboard(db.session.get(User, make.user(role="admin").id), FAR, date(2026, 3, 1),
                      date(2026, 3, 14), None)
    assert [row["id"] for row in board.quota] == [idle.id, short.id]
    assert board.quota_count == 2
    assert board.quota[1]["expected_hours"] == Decimal("280.00")
    assert board.quota[1]["used_hours"] == Decimal("280.00")  # 279.9997 h, rounded


def test_a_second_short_of_the_quota_is_below_it(make, app_context):
    """By 2 January (2 of 365 days) a general quota is 27,616.4 s and a
    special one 15,780.8 s: used 27,616 s booked, or 263 machine minutes of
    an order and no booking, each is below it, by less than a second."""
    institution = make.institution()
    booked = make.instrument(institution=institution)
    ordered = make.instrument(institution=institution, quota_class="special")
    user = make.user()
    _used(booked, user, at(date(2026, 1, 1), 600), 27616)
    _order(ordered, user, at(date(2026, 1, 2), 600), 263)
    db.session.commit()
    board = dashboard(db.session.get(User, make.user(role="admin").id), FAR, date(2026, 1, 1),
                      date(2026, 1, 2), None)
    assert [(row["id"], row["used_hours"]) for row in board.quota] == [(ordered.id, Decimal("4.38")),
                                                                       (booked.id, Decimal("7.67"))]
    assert board.quota_count == 2


def test_instruments_rank_by_their_exact_utilisation_then_booked_time(make, app_context):
    """On Tuesday 6 January: open one minute and booked for it (100%), open
    119 minutes and booked 50 (42%), open 480 and booked 240 (50%), never
    open and booked an hour (0%), open and idle (0%). The least used first,
    the most used in reverse; below quota, the least used time first."""
    everyday = range(7)
    one_minute = make.instrument(hours=[(d, 600, 601) for d in everyday])
    odd = make.instrument(hours=[(d, 600, 719) for d in everyday])
    full = make.instrument()
    closed = make.instrument(hours=[])
    idle = make.instrument()
    user = make.user()
    day = date(2026, 1, 6)
    for instrument, seconds in ((one_minute, 60), (odd, 3000), (full, 14400), (closed, 3600)):
        _used(instrument, user, at(day, 600), seconds)
    db.session.commit()
    board = dashboard(db.session.get(User, make.user(role="admin").id), FAR, day, day, None)
    least = [idle, closed, odd, full, one_minute]
    assert [int(row["key"]) for row in board.least_used] == [item.id for item in least]
    assert [int(row["key"]) for row in board.most_used] == [item.id for item in reversed(least)]
    assert [(row["utilisation"], row["open_hours"]) for row in board.most_used[:2]] == [
        (Decimal("1.0000"), Decimal("0.02")), (Decimal("0.5000"), Decimal("8.00"))]
    assert [row["id"] for row in board.quota] == [idle.id, one_minute.id, odd.id, closed.id, full.id]


def test_equal_quotients_tie_exactly(make, app_context):
    """Utilisations and attainments that are equal as fractions are equal as
    the database compares them, and their ties fall to booked time and to
    the id: 7 s of 1 minute open and 217 s of 31 (both 7/60), 63 s of a
    general quota and 36 s of a special one (63/1,400 = 36/800). Computed
    another way (a quotient of a quotient), they would differ in the last
    bit and reorder."""
    everyday = range(7)
    a = make.instrument(hours=[(d, 600, 601) for d in everyday])
    b = make.instrument(hours=[(d, 600, 631) for d in everyday])
    general = make.instrument()
    special = make.instrument(quota_class="special")
    user = make.user()
    day = date(2026, 1, 6)  # a Tuesday
    for instrument, seconds in ((a, 7), (b, 217), (general, 63), (special, 36)):
        _used(instrument, user, at(day, 600), seconds)
    db.session.commit()
    board = dashboard(db.session.get(User, make.user(role="admin").id), FAR, day, day, None)
    least = [special, general, a, b]
    assert [int(row["key"]) for row in board.least_used] == [item.id for item in least]
    assert [int(row["key"]) for row in board.most_used] == [b.id, a.id, general.id, special.id]
    assert [row["id"] for row in board.quota] == [a.id, general.id, special.id, b.id]


def test_the_statement_is_built_for_the_platforms_zone(make, app_context, make_app):
    """The year to date starts at midnight of the platform's zone. An order
    reported half an hour into 1 January in Shanghai (16:30 on 31 December
    in UTC) is in the year of a platform on Shanghai time and not in that of
    a platform on UTC, though both ask for the same days: the statement built
    for one zone is not the other's."""
    instrument = make.instrument()
    _order(instrument, make.user(), at(date(2026, 1, 1), 30), 60)  # Shanghai time (the test app's zone)
    db.session.commit()
    admin = make.user(role="admin")

    def used_hours():
        board = dashboard(db.session.get(User, admin.id), FAR, date(2026, 1, 2), date(2026, 1, 2), None)
        return {row["id"]: row["used_hours"] for row in board.quota}[instrument.id]

    assert used_hours() == Decimal("1.00")
    with make_app(PLATFORM_TIMEZONE="UTC").app_context():
        assert used_hours() == Decimal("0.00")
    assert used_hours() == Decimal("1.00")


def test_the_dashboard_reads_the_orders_once(make, app_context):
    """The orders of a period before today are read once, for every table
    (`services.scope_orders`); the summing statement only adds their
    machine time to the year's used time."""
    instrument = make.instrument()
    _order(instrument, make.user(), at(date(2026, 1, 5), 600), 60)
    db.session.commit()
    viewer = db.session.get(User, make.user(role="admin").id)
    with counted() as statements:
        board = dashboard(viewer, FAR, date(2026, 1, 5), date(2026, 1, 6), None)
    assert board.by_city["totals"]["orders"] == 1
    assert len([statement for statement in statements if "orders.received_on" in statement]) == 1


def test_an_instrument_leaving_the_scope_meanwhile_keeps_the_others_orders(make, app_context):
    """An instrument moved to another institution (another request's
    commit) after the orders were read and before the summing statement ran
    is no longer in the manager's tables; its orders are left out, and
    those of the instruments still there are counted in their groups. The
    other request commits just before the statement after the orders' read
    (the summing one) is sent."""
    import sqlalchemy as sa

    from instrument_share.catalogue.models import Instrument

    institution, elsewhere = make.institution(), make.institution()
    moved, stays = make.instrument(institution=institution), make.instrument(institution=institution)
    user = make.user()
    _order(moved, user, at(date(2026, 2, 3), 600), 60, amount="100.00")   # read first: reported first
    _order(stays, user, at(date(2026, 2, 4), 600), 30, amount="40.00")
    db.session.commit()
    viewer = db.session.get(User, make.user(role="manager", institution_id=institution.id).id)

    def moved_meanwhile(conn, cursor, statement, *args):
        if moved_meanwhile.orders_read and not moved_meanwhile.done:
            moved_meanwhile.done = True
            with db.engine.begin() as other:
                other.execute(sa.update(Instrument).where(Instrument.id == moved.id)
                              .values(institution_id=elsewhere.id))
        if "orders.received_on" in statement:  # services.scope_orders
            moved_meanwhile.orders_read = True

    moved_meanwhile.orders_read = moved_meanwhile.done = False
    sa.event.listen(db.engine, "before_cursor_execute", moved_meanwhile)
    try:
        board = dashboard(viewer, FAR, date(2026, 2, 1), date(2026, 2, 28), None)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", moved_meanwhile)
    assert moved_meanwhile.done
    assert [int(row["key"]) for row in board.least_used] == [stays.id]
    for table in (board.by_city, board.by_category, board.by_institution):
        assert [(row["orders"], row["order_revenue"]) for row in table["rows"]] == [(1, Decimal("40.00"))]
