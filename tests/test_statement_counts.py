"""Pages and lists issue the same number of SQL statements however much data
there is (no N+1). Counted with an SQLAlchemy event at two data sizes."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa

from instrument_share.booking.models import Blackout, Booking, BookingEvent
from instrument_share.catalogue.models import InstrumentEvent
from instrument_share.extensions import db
from instrument_share.orders.models import Order, OrderEvent

from .booking.conftest import at


@contextmanager
def counted():
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def _grow(make, day, institution_id, size, user):
    """`size` more instruments, each with a booking, a completed booking, a
    blackout, a reported order of a firm (its own) and audit rows (by `user`)
    for the instrument and the booking."""
    for _ in range(size):
        firm = make.firm()
        instrument = make.instrument(institution_id=institution_id)
        start = at(day, "10:00")
        booking = Booking(instrument=instrument, user=user, start=start,
                          end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                          status="confirmed", purpose="x", cost=100, firm_pays=100)
        booking.events.append(BookingEvent(actor=user, action="created", details={"status": "confirmed"}))
        db.session.add(booking)
        db.session.add(InstrumentEvent(instrument=instrument, actor=user, action="changed",
                                       changes={"hourly_rate": ["100.00", "120.00"]}))
        past = at(day, "10:00") - timedelta(days=14)
        db.session.add(Booking(instrument=instrument, user=user, start=past,
                               end=past + timedelta(hours=2), occupied_until=past + timedelta(hours=2),
                               status="completed", purpose="x", cost=200, firm_pays=200))
        db.session.add(Blackout(instrument=instrument, start=past - timedelta(days=1),
                                end=past - timedelta(days=1) + timedelta(hours=3), reason="维护"))
        order = Order(number=f"WT-2026-{instrument.id:06d}", instrument_id=instrument.id,
                      institution_id=institution_id, firm_id=firm.id, user_id=user.id, title="物相分析",
                      status="reported", quote_amount=800, turnaround_days=3, received_on=(past - timedelta(days=3)).date(),
                      due_on=past.date(), machine_minutes=90, voucher_amount=0, firm_pays=800)
        order.events.append(OrderEvent(actor=user, action="reported", details={}, at=past))
        db.session.add(order)
    db.session.commit()


PAGES = [
    "/", "/search?q=扫描", "/api/v1/instruments?per_page=100", "/api/v1/cities", "/api/v1/institutions",
    "/bookings", "/manage/", "/stats/", "/api/v1/bookings?per_page=100", "/manage/audit",
    "/vouchers/", "/admin/mail/", "/api/v1/vouchers", "/api/v1/voucher-claims",
]


def test_statement_counts_do_not_grow_with_data(app, browser, client, make, day):
    admin = make.user(role="admin", email="office@g60.example")
    institution_id = make.institution().id
    browser.login("office@g60.example")
    instrument_page = lambda: f"/instruments/{db.session.scalar(sa.select(sa.func.min(Booking.instrument_id)))}"  # noqa: E731

    def measure():
        counts = {}
        instrument = instrument_page()
        next_day = day + timedelta(days=1)
        per_instrument = [instrument, f"/manage{instrument}/history", f"/manage{instrument}/history?of=bookings",
                          f"/institutions/{institution_id}", f"/manage{instrument}",
                          f"/manage/schedule?institution={institution_id}&day={day}",
                          f"/manage/schedule?institution={institution_id}&day={day}&view=week",
                          f"/api/v1/institutions/{institution_id}/schedule"
                          f"?from={day}T00:00:00%2B08:00&to={next_day}T00:00:00%2B08:00"]
        month = f"from={day - timedelta(days=30)}&to={day}"
        per_instrument += [f"/api/v1/stats/utilisation?group_by=institution&{month}",
                           f"/api/v1/stats/utilisation?group_by=month&{month}", f"/api/v1/stats/flows?{month}"]
        for url in PAGES + per_instrument:
            with counted() as statements:
                response = client.get(url if url != "/manage/" else f"{url}?institution={institution_id}")
            assert response.status_code == 200, url
            counts[re.sub(r"/\d+", "/<id>", url)] = len(statements)
        return counts

    _grow(make, day, institution_id, 3, admin)
    small = measure()
    _grow(make, day, institution_id, 30, admin)
    large = measure()
    assert small == large, {url: (small[url], large[url]) for url in small if small[url] != large[url]}
    figures = client.get(f"/api/v1/stats/utilisation?from={day - timedelta(days=30)}&to={day}").get_json()
    assert figures["totals"]["orders"] == 33  # the orders were there to count
    assert admin.id
