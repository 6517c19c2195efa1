"""Edges of free time, suggestions and the next free slot that mutation
testing of booking/availability.py found untested (issue #21,
`make mutation MODULE=booking/availability.py`): each checked through the
API, the booking refusals or the search, not through the function."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from instrument_share.booking.availability import SUGGESTION_HORIZON
from instrument_share.booking.calendar import holiday_name
from instrument_share.booking.models import Blackout, Booking
from instrument_share.booking.rules import BOOKING_HORIZON
from instrument_share.extensions import db
from instrument_share.search.services import SearchFilters, search_instruments
from instrument_share.timeutil import isoformat_platform

from ..test_statement_counts import counted
from .conftest import at, iso
from .test_conflicts import book
from .test_refusal_window import ALWAYS_OPEN, put, refused


def availability(client, instrument, start, end):
    return client.get(f"/api/v1/instruments/{instrument.id}/availability",
                      query_string={"from": start.isoformat(), "to": end.isoformat()})


def test_availability_refuses_an_empty_or_reversed_range_and_says_why(client, make, day):
    instrument = make.instrument()
    for start, end in [("10:00", "10:00"), ("11:00", "10:00")]:
        response = availability(client, instrument, at(day, start), at(day, end))
        assert (response.status_code, response.json) == (422, {
            "error": "validation", "message": "Invalid range.",
            "fields": {"to": ["The end must be after the start."]}})


def test_availability_answers_for_62_days_and_not_a_minute_more(client, make, day):
    instrument = make.instrument()
    start = at(day, "00:00")
    whole = availability(client, instrument, start, start + timedelta(days=62))
    assert whole.status_code == 200, whole.json
    assert whole.json["free"][0] == {"start": iso(day, "09:00"), "end": iso(day, "17:00")}
    longer = availability(client, instrument, start, start + timedelta(days=62, minutes=1))
    assert (longer.status_code, longer.json) == (422, {
        "error": "validation", "message": "Range too long.", "fields": {"to": ["At most 62 days at a time."]}})


# --- a refusal's suggestions ------------------------------------------------------


def test_a_refusal_on_a_holiday_suggests_the_holiday_where_the_instrument_opens_on_holidays(api, make, day):
    """The refusal keeps the locked instrument's terms for its suggestions:
    one open on holidays is offered the hour before, on the holiday itself."""
    holiday = next(day + timedelta(days=n) for n in range(400) if holiday_name(day + timedelta(days=n)))
    instrument = make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True)
    user = make.user()
    put(instrument, user, at(holiday, "10:00"), at(holiday, "11:00"))
    assert refused(api.as_user(user), instrument, at(holiday, "10:00"), at(holiday, "11:00"))[:2] == [
        {"start": iso(holiday, "09:00"), "end": iso(holiday, "10:00")},
        {"start": iso(holiday, "11:00"), "end": iso(holiday, "12:00")}]


def test_a_refusal_by_the_booking_horizon_still_suggests_a_slot_that_starts_within_it(api, make):
    """The only free hour begins an hour before the horizon and ends after
    it: a booking may start up to a year ahead, so it is offered."""
    instrument = make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True)
    user = make.user()
    latest = datetime.now(UTC) + BOOKING_HORIZON
    request = datetime.fromtimestamp((latest - timedelta(hours=2)).timestamp() // 900 * 900, UTC)
    db.session.add(Blackout(instrument=instrument, start=request - timedelta(days=15), end=request, reason="维修"))
    db.session.commit()
    put(instrument, user, request, request + timedelta(hours=1))
    assert refused(api.as_user(user), instrument, request, request + timedelta(hours=1)) == [
        {"start": isoformat_platform(request + timedelta(hours=1)),
         "end": isoformat_platform(request + timedelta(hours=2))}]


def test_no_suggestion_ends_where_its_buffer_would_reach_a_booking_after_the_window(api, make, day):
    """The last free hour of the suggestion window ends at its edge, but a
    booking starts half an hour later, within the hour of buffer: not offered."""
    instrument = make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True, buffer_minutes=60)
    user = make.user()
    request = at(day + timedelta(days=3), "10:00")
    high = request + timedelta(hours=1) + SUGGESTION_HORIZON
    db.session.add_all([
        Blackout(instrument=instrument, start=request - timedelta(days=15), end=request, reason="维修"),
        Blackout(instrument=instrument, start=request + timedelta(hours=1), end=high - timedelta(hours=1),
                 reason="维修")])
    db.session.commit()
    put(instrument, user, request, request + timedelta(hours=1))
    put(instrument, user, high + timedelta(minutes=30), high + timedelta(hours=2))
    assert refused(api.as_user(user), instrument, request, request + timedelta(hours=1)) == []
    # Without that booking the hour is offered.
    db.session.execute(sa.delete(Booking).where(Booking.start == high + timedelta(minutes=30)))
    db.session.commit()
    assert refused(api.as_user(user), instrument, request, request + timedelta(hours=1)) == [
        {"start": isoformat_platform(high - timedelta(hours=1)), "end": isoformat_platform(high)}]


def test_suggestions_and_the_next_free_slot_start_on_the_quarter_hour(api, make, day):
    """A booking ending at 10:20 leaves the day free from 10:30 on the
    15-minute grid: the first suggestion and the search's next free slot."""
    instrument = make.instrument(advance_notice_hours=0)
    user = make.user()
    put(instrument, user, at(day, "09:00"), at(day, "10:20"))
    assert refused(api.as_user(user), instrument, at(day, "09:00"), at(day, "10:00"))[0] == {
        "start": iso(day, "10:30"), "end": iso(day, "11:30")}
    assert next_free_of(at(day, "09:00")) == {instrument.id: (at(day, "10:30"), at(day, "11:00"))}


def test_moving_a_booking_onto_another_suggests_its_own_time_too(api, make, day):
    """A booking moved onto a neighbour's slot is refused; the time it holds
    now is free for it, so the hour before the requested one is offered first."""
    instrument = make.instrument()
    user = make.user()
    client = api.as_user(user)
    mine = book(client, instrument, iso(day, "11:00"), iso(day, "12:00"))
    assert mine.status_code == 201, mine.json
    assert book(api.as_user(make.user()), instrument, iso(day, "12:00"), iso(day, "13:00")).status_code == 201
    moved = client.patch(f"/api/v1/bookings/{mine.json['id']}", json={"start": iso(day, "12:00"),
                                                                        "end": iso(day, "13:00")})
    assert moved.status_code == 409, moved.json
    assert moved.json["suggestions"][:2] == [{"start": iso(day, "11:00"), "end": iso(day, "12:00")},
                                             {"start": iso(day, "13:00"), "end": iso(day, "14:00")}]


# --- the next free slot of the search -----------------------------------------


def next_free_of(now, **filters):
    return {item.id: item.next_free and (item.next_free["start"], item.next_free["end"])
            for item in search_instruments(SearchFilters(**filters), now=now).items}


def always_open(make, **kw):
    kw.setdefault("advance_notice_hours", 0)
    return make.instrument(hours=ALWAYS_OPEN, open_on_holidays=True, min_booking_minutes=60, **kw)


def test_the_next_free_slot_keeps_a_bookings_buffer_and_fits_a_gap_of_its_exact_length(make, day):
    """Buffers come before bookings, never before blackouts; an hour between
    two blackouts is exactly one slot of an hour."""
    now = at(day, "00:00")
    free_from = now + timedelta(days=2)
    booked, between = always_open(make, buffer_minutes=30), always_open(make, buffer_minutes=30)
    user = make.user()
    db.session.add_all([
        Blackout(instrument=booked, start=now, end=free_from, reason="维修"),
        Blackout(instrument=between, start=now, end=free_from, reason="维修"),
        Blackout(instrument=between, start=free_from + timedelta(hours=1), end=now + timedelta(days=30),
                 reason="维修")])
    db.session.commit()
    # An hour at free_from would end 15 minutes before the booking: inside the buffer.
    put(booked, user, free_from + timedelta(minutes=75), free_from + timedelta(minutes=135))
    assert next_free_of(now) == {
        booked.id: (free_from + timedelta(minutes=165), free_from + timedelta(minutes=225)),
        between.id: (free_from, free_from + timedelta(hours=1))}


def test_the_next_free_slot_sees_a_booking_in_the_last_day_of_its_fortnight(make, day):
    now = at(day, "00:00")
    late = now + timedelta(days=13, hours=12)
    instrument = always_open(make)
    db.session.add(Blackout(instrument=instrument, start=now, end=late, reason="维修"))
    db.session.commit()
    put(instrument, make.user(), late, late + timedelta(hours=1))
    assert next_free_of(now) == {instrument.id: (late + timedelta(hours=1), late + timedelta(hours=2))}


def test_instruments_without_a_next_free_slot_do_not_hide_the_others(make, day):
    """Out of service, or with more notice than the fortnight: no slot, and
    the instruments after them (in any order) still get theirs."""
    now = at(day, "00:00")
    first = (now + timedelta(hours=0), now + timedelta(hours=1))
    broken = always_open(make, status="awaiting_repair")
    ready = always_open(make)
    distant = always_open(make, advance_notice_hours=15 * 24)
    also_ready = always_open(make)
    also_broken = always_open(make, status="awaiting_repair")
    assert next_free_of(now) == {broken.id: None, ready.id: first, distant.id: None, also_ready.id: first,
                                 also_broken.id: None}


def test_a_free_time_window_as_long_as_the_minimum_booking_offers_that_slot(make, day):
    now = at(day, "00:00")
    start = now + timedelta(days=1, hours=10)
    instrument = always_open(make)
    assert next_free_of(now, free_from=start, free_to=start + timedelta(hours=1)) == {
        instrument.id: (start, start + timedelta(hours=1))}
    assert next_free_of(now, free_from=start, free_to=start + timedelta(minutes=59)) == {instrument.id: None}


def test_the_search_reads_every_instruments_hours_in_one_statement(api, make, day):
    """Issue #15: the next free slots of a page take the same statements for
    one instrument as for five (the weekly hours come as plain rows with the
    bookings, not instrument by instrument)."""
    always_open(make)

    def statements():
        with counted() as seen:
            found = api.client.get("/api/v1/instruments?per_page=100")
        assert found.status_code == 200 and all(item["next_free"] for item in found.json["items"])
        return len(seen)

    one = statements()
    for _ in range(4):
        always_open(make)
    assert statements() == one
