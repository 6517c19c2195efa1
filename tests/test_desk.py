"""The manager's desk (issue #14: its queues are a service, desk/services.py)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from instrument_share.booking.models import Booking, BookingStatus
from instrument_share.extensions import db

from .conftest import Browser


def _no_show(instrument, user, days_ago: int) -> None:
    start = datetime.now(UTC) - timedelta(days=days_ago)
    db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start,
                           end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                           status=BookingStatus.NO_SHOW, purpose="x", cost=0, firm_pays=0))


def test_the_desk_lists_the_suspended_users_its_managers_may_lift(app, browser, client, make):
    """A desk lists the users suspended after failing to show at its
    institution, for its managers and for the joint office looking at it;
    not those suspended elsewhere (the admin's desk listed the whole corridor)."""
    here, elsewhere = make.institution(), make.institution()
    make.user(role="manager", institution_id=here.id, email="mgr@desk.example")
    make.user(role="admin", email="admin@desk.example")
    failed_here = make.user(email="near@firm.example")
    failed_elsewhere = make.user(email="far@firm.example")
    _no_show(make.instrument(institution_id=here.id), failed_here, 3)
    _no_show(make.instrument(institution_id=elsewhere.id), failed_elsewhere, 3)
    for user in (failed_here, failed_elsewhere):
        user.booking_suspended_at = datetime.now(UTC) - timedelta(days=1)
    db.session.commit()

    browser.login("mgr@desk.example")
    page = client.get("/manage/").get_data(as_text=True)
    assert "near@firm.example" in page and "far@firm.example" not in page

    admin = app.test_client()
    Browser(admin).login("admin@desk.example")
    for institution, shown, hidden in ((here, "near@", "far@"), (elsewhere, "far@", "near@")):
        page = admin.get(f"/manage/?institution={institution.id}").get_data(as_text=True)
        assert f"{shown}firm.example" in page and f"{hidden}firm.example" not in page


def test_todays_queue_holds_the_days_services_that_took_place_soonest_first(app_context, make):
    """Issue #19: the day's bookings are read whatever their status and those
    that did not take place left out in the service; the queue is the same
    as when SQL chose them: confirmed, completed and no-shows of today at
    this institution, by start, and nothing pending, cancelled or rejected,
    nothing of yesterday or tomorrow, nothing of another institution."""
    from instrument_share.desk.services import desk_queues
    from instrument_share.timeutil import platform_today, platform_zone

    here = make.institution()
    manager = make.user(role="manager", institution_id=here.id)
    booker = make.user()
    sem, xrd = make.instrument(institution_id=here.id), make.instrument(institution_id=here.id)
    elsewhere = make.instrument(institution_id=make.institution().id)
    midnight = datetime.combine(platform_today(), datetime.min.time(), platform_zone())

    def booking(instrument, hours: float, status: str) -> Booking:
        start = midnight + timedelta(hours=hours)
        made = Booking(instrument=instrument, user=booker, firm_id=booker.firm_id, start=start,
                       end=start + timedelta(minutes=30), occupied_until=start + timedelta(minutes=30),
                       status=status, purpose="x", cost=0, firm_pays=0)
        db.session.add(made)
        return made

    shown = [booking(xrd, 0, "completed"), booking(sem, 9, "confirmed"), booking(xrd, 9.5, "no_show"),
             booking(sem, 23.5, "confirmed")]
    for hours, status in ((10, "pending"), (11, "cancelled"), (12, "rejected")):
        booking(sem, hours, status)
    for instrument, hours in ((sem, -1), (sem, 24), (elsewhere, 9)):
        booking(instrument, hours, "confirmed")
    db.session.commit()
    todays = desk_queues(manager, None, datetime.now(UTC)).todays
    assert [b.id for b in todays] == [b.id for b in shown]


def test_the_suspended_users_are_found_through_their_index_newest_failure_first(app_context, make):
    """Issue #19: the desk's suspended users are read through the partial
    index of suspended users (it read every user of the corridor), and for
    each its latest no-show here, from its newest booking back. The list is
    the same: suspended with a no-show here, by e-mail, whatever else their
    history holds (a no-show here older than a long history elsewhere,
    one here that was not a no-show, a no-show here of a user no longer
    suspended)."""
    import sqlalchemy as sa

    from instrument_share.desk.services import suspended_users_of

    here, elsewhere = make.institution(), make.institution()
    at_here, at_elsewhere = make.instrument(institution_id=here.id), make.instrument(institution_id=elsewhere.id)
    long_ago = make.user(email="c-long-ago@firm.example")
    recent = make.user(email="a-recent@firm.example")
    not_a_no_show = make.user(email="b-confirmed@firm.example")
    lifted = make.user(email="d-lifted@firm.example")
    _no_show(at_here, long_ago, 300)
    for days_ago in range(1, 40):  # a long history elsewhere, newer than its no-show here
        _no_show(at_elsewhere, long_ago, days_ago)
    _no_show(at_here, recent, 2)
    _no_show(at_here, lifted, 2)
    _no_show(at_elsewhere, not_a_no_show, 2)
    start = datetime.now(UTC) - timedelta(days=1)
    db.session.add(Booking(instrument=at_here, user=not_a_no_show, firm_id=not_a_no_show.firm_id, start=start,
                           end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                           status=BookingStatus.COMPLETED, purpose="x", cost=0, firm_pays=0))
    for user in (long_ago, recent, not_a_no_show):
        user.booking_suspended_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()

    assert [user.email for user in suspended_users_of(here.id)] == ["a-recent@firm.example",
                                                                     "c-long-ago@firm.example"]
    assert [user.email for user in suspended_users_of(elsewhere.id)] == ["b-confirmed@firm.example",
                                                                         "c-long-ago@firm.example"]
    if db.engine.dialect.name == "sqlite":  # the service's own statement, planned
        sent = []

        def keep(conn, cursor, text, parameters, context, executemany):
            sent.append((text, parameters))

        sa.event.listen(db.engine, "before_cursor_execute", keep)
        try:
            suspended_users_of(here.id)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", keep)
        [(text, parameters)] = sent
        plan = " ".join(row[-1] for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {text}",
                                                                                  parameters))
        assert "USING INDEX ix_users_suspended_email" in plan, plan


def test_an_empty_desk_says_so_in_each_list(browser, client, make):
    """Issue #19: an empty list is an empty state (`macros.empty_state`), not a
    bare grey line: nothing waiting, no bookings today, all recorded; and the
    page opens with the page header."""
    here = make.institution()
    make.instrument(institution_id=here.id)
    make.user(role="manager", institution_id=here.id, email="mgr@empty.example")
    db.session.commit()
    browser.login("mgr@empty.example")
    page = client.get("/manage/").get_data(as_text=True)
    assert page.count('class="empty-state"') == 3
    shown = re.findall(r'<div class="empty-state">.*?<span>([^<]*)</span>', page, re.S)
    assert shown == ["没有待审核的预约。", "今日无预约。", "均已登记。"]
    assert '<div class="page-header">' in page and page.count("<h1") == 1


def test_the_desk_reads_as_many_statements_for_one_booker_as_for_six(app, browser, client, make):
    """The desk loads only the names it shows of each booking's instrument,
    booker and firm (issue #19): nothing it shows is loaded again row by row,
    suspended bookers with pending bookings and no-shows here included
    (from a review)."""
    from .test_statement_counts import counted

    here = make.institution()
    make.user(role="manager", institution_id=here.id, email="mgr@count.example")
    instrument = make.instrument(institution_id=here.id)
    browser.login("mgr@count.example")

    def add(n, offset):
        for k in range(n):
            user = make.user(email=f"u{offset + k}@firm.example")
            start = datetime.now(UTC) + timedelta(days=3 + offset + k)
            db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start,
                                   end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                                   status=BookingStatus.PENDING, purpose="x", cost=0, firm_pays=0))
            _no_show(instrument, user, 2 + offset + k)
            user.booking_suspended_at = datetime.now(UTC)
        db.session.commit()

    def measure():
        with counted() as statements:
            response = client.get("/manage/")
        assert response.status_code == 200
        return len(statements), response.get_data(as_text=True)

    add(1, 0)
    small, page = measure()
    assert "u0@firm.example" in page
    add(5, 10)
    large, page = measure()
    assert all(f"u{k}@firm.example" in page for k in range(10, 15))
    assert small == large, (small, large)
