"""The shape of a search that keeps it fast (issue #15, free-time search
≤ 30 ms p95): the page, the total and the facets come from one statement
over the matches (services._page_and_facets), the free-time condition asks
the index of active bookings, and next_free reads opening hours as plain
rows. Each must give what the slow ways gave."""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from instrument_share.booking.availability import next_free
from instrument_share.booking.models import Blackout, Booking
from instrument_share.catalogue.models import Category, Instrument
from instrument_share.extensions import db
from instrument_share.search.free_time import free_condition, free_window
from instrument_share.search.services import SearchFilters, search_instruments
from instrument_share.timeutil import utcnow

from ..booking.conftest import at

CITIES = ("wuhu", "hefei", "xuancheng", "hangzhou")
CATEGORIES = ("analytical-x-ray", "analytical-electron-optics", "physical-testing", "metrology")


@pytest.fixture
def corridor(make, day):
    """23 X-ray diffractometers in four cities and four categories (two
    major ones share a parent), with names and rates that tie, one of them
    booked and one blacked out on `day`, one retired."""
    places = [make.institution(city_code=city) for city in CITIES for _ in range(2)]
    found = []
    for n in range(23):
        found.append(make.instrument(
            institution=places[n % len(places)], category_code=CATEGORIES[n % len(CATEGORIES)],
            name=f"X射线衍射仪 {'ABC'[n % 3]}", name_en="X-ray diffractometer", model=f"XRD-{n % 5}",
            manufacturer="Rigaku", hourly_rate=Decimal(100 + 50 * (n % 4)), buffer_minutes=15 * (n % 3)))
    user = make.user()
    for booked in found[:2]:  # from 11:00: no buffer, and 15 minutes of buffer
        db.session.add(Booking(instrument=booked, user=user, start=at(day, "11:00"), end=at(day, "12:00"),
                               occupied_until=at(day, "12:00") + timedelta(minutes=booked.buffer_minutes),
                               status="confirmed", purpose="x", cost=0, firm_pays=0))
    # Ends at 09:45 with its instrument's 30 minutes of buffer after it: busy until 10:15.
    db.session.add(Booking(instrument=found[2], user=user, start=at(day, "09:00"), end=at(day, "09:45"),
                           occupied_until=at(day, "10:15"), status="pending", purpose="x", cost=0, firm_pays=0))
    # Cancelled and completed bookings hold nothing.
    db.session.add(Booking(instrument=found[3], user=user, start=at(day, "10:00"), end=at(day, "11:00"),
                           occupied_until=at(day, "11:00"), status="cancelled", purpose="x", cost=0, firm_pays=0))
    db.session.add(Blackout(instrument=found[4], start=at(day, "08:00"), end=at(day, "10:30"), reason="维护"))
    found[5].retired_on = day - timedelta(days=1)
    db.session.commit()
    return found


def _major(code: str) -> str:
    return db.session.get(Category, code).parent_code or code


def _everything(**filters) -> list:
    return search_instruments(SearchFilters(per_page=100, **filters)).items


@pytest.mark.parametrize("filters", [
    {"q": "XRD"}, {"q": "XRD", "sort": "name"}, {"q": "XRD", "sort": "rate"},
    {"q": "XRD", "sort": "travel", "near": "wuhu"}, {"near": "hefei"}, {"sort": "name"},
    {"q": "Rigaku", "city": "hefei"}, {"category": "analytical"}, {"q": "XRD", "free": True},
    {"q": "XRD", "free": True, "sort": "travel", "near": "xuancheng"},
], ids=str)
def test_pages_total_and_facets_agree_with_the_whole_list(corridor, day, filters):
    filters = dict(filters)
    if filters.pop("free", False):
        filters.update(free_from=at(day, "10:00"), free_to=at(day, "11:00"))
    whole = _everything(**filters)
    assert whole, filters
    pages = []
    for page in range(1, 6):
        found = search_instruments(SearchFilters(per_page=5, page=page, **filters))
        pages += found.items
        assert found.total == len(whole)
        assert found.facets == {
            "city": dict(Counter(item.institution.city_code for item in whole)),
            "category": dict(Counter(_major(item.category_code) for item in whole))}
    assert [item.id for item in pages] == [item.id for item in whole]
    assert corridor[5].id not in {item.id for item in whole}  # retired


def test_the_orders_are_the_documented_ones(corridor):
    by_rate = _everything(sort="rate")
    assert [(item.hourly_rate, item.id) for item in by_rate] == sorted((item.hourly_rate, item.id) for item in by_rate)
    by_name = _everything(sort="name")
    assert [(item.name, item.id) for item in by_name] == sorted((item.name, item.id) for item in by_name)
    travel = _everything(q="XRD", sort="travel", near="wuhu")
    minutes = [item.travel_minutes for item in travel]
    assert minutes == sorted(minutes) and minutes[0] == 0


def test_the_free_time_condition_holds_bookings_buffers_and_blackouts(corridor, day):
    free = {item.id for item in _everything(free_from=at(day, "10:00"), free_to=at(day, "11:00"))}
    assert (corridor[0].buffer_minutes, corridor[1].buffer_minutes) == (0, 15)
    assert corridor[0].id in free  # booked from 11:00, no buffer
    assert corridor[1].id not in free  # booked from 11:00: 10:00–11:00 and 15 minutes of buffer reach into it
    assert corridor[2].id not in free  # busy (its buffer included) until 10:15
    assert corridor[3].id in free  # a cancelled booking holds nothing
    assert corridor[4].id not in free  # blacked out until 10:30
    assert corridor[6].id in free


def test_the_free_time_search_asks_the_index_of_active_bookings(corridor, day):
    """The condition on the status is written out (booking/conflicts.py,
    active_sql): SQLite uses the partial index only then."""
    shape, values = free_window(at(day, "10:00"), at(day, "11:00"))
    query = sa.select(Instrument.id).where(free_condition(shape))
    if db.engine.dialect.name == "sqlite":
        sent = []

        def keep(_conn, _cursor, statement, parameters, *_):
            sent.append((statement, parameters))

        sa.event.listen(db.engine, "before_cursor_execute", keep)
        try:
            db.session.execute(query, values).all()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", keep)
        [(statement, parameters)] = sent
        plan = " ".join(row[-1] for row in db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
        assert "ix_bookings_active_instrument_id_start" in plan, plan
    else:
        predicate = db.session.scalar(sa.text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_bookings_active_instrument_id_start'"))
        assert "pending" in predicate and "confirmed" in predicate


def test_next_free_reads_a_page_of_instruments_through_the_active_bookings_index(corridor, day):
    """Issue #19: for a list of instruments SQLite without statistics chose
    `(status, start)` and read the whole platform's active bookings of
    three weeks (20-25 ms of the demo's search); next_free names the active
    bookings' index (INDEXED BY, SQLite only) and finds the same slots."""
    sent = []

    def keep(_conn, _cursor, statement, parameters, *_):
        sent.append((statement, parameters))

    now = at(day, "07:00") - timedelta(days=2)
    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        found = next_free(corridor, now, read_hours=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
    assert found == next_free(corridor, now)  # the hours loaded, the same bookings read
    assert found[corridor[2].id] is not None
    [(statement, parameters)] = [(s, p) for s, p in sent if "FROM bookings" in s]
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(row[-1] for row in db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
        assert "SEARCH bookings USING INDEX ix_bookings_active_instrument_id_start" in plan, plan
    else:
        assert "INDEXED BY" not in statement


def test_next_free_reads_the_same_hours_as_plain_rows(make):
    """Opening hours read as rows give the slots the loaded ones give:
    split days, weekends, holidays and make-up days, open on holidays."""
    monday = date(2026, 9, 28)  # National Day: 1 to 7 October closed; Saturday 10 October works as a Wednesday
    instruments = [
        make.instrument(),
        make.instrument(hours=[(0, 9 * 60, 12 * 60), (0, 13 * 60, 17 * 60), (5, 8 * 60, 1440), (6, 0, 600)]),
        make.instrument(hours=[(3, 9 * 60, 17 * 60)], open_on_holidays=True, min_booking_minutes=120),
        make.instrument(hours=[(2, 9 * 60, 10 * 60)], advance_notice_hours=72, min_booking_minutes=90),
        make.instrument(hours=[]),
    ]
    for now in (at(monday, "08:00"), at(monday + timedelta(days=2), "16:50"), utcnow()):
        for low, high in ((None, None), (at(date(2026, 10, 10), "09:00"), at(date(2026, 10, 10), "17:00"))):
            assert next_free(instruments, now, low, high, read_hours=True) == next_free(instruments, now, low, high)
