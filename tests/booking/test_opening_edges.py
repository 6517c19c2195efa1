"""Edges of the opening hours and the holiday calendar that mutation testing
found untested (issue #21, `make mutation`): a booking that fills its day's
hours to the minute, and the holidays the week calendar names."""
from __future__ import annotations

import re
from datetime import date

from .conftest import iso
from .test_conflicts import book


def test_bookings_may_start_at_opening_and_end_at_closing(api, client, make, day):
    """Open 09:00–17:00: bookings from the opening minute and to the closing
    minute are inside the hours, and the day's availability shows them and
    nothing closed in between."""
    instrument = make.instrument(max_booking_minutes=480)
    booker = api.as_user(make.user())
    for start, end in [("09:00", "10:00"), ("16:00", "17:00")]:
        response = book(booker, instrument, iso(day, start), iso(day, end))
        assert response.status_code == 201, response.json
    whole_day = make.instrument(max_booking_minutes=480)
    assert book(booker, whole_day, iso(day, "09:00"), iso(day, "17:00")).status_code == 201
    found = client.get(f"/api/v1/instruments/{instrument.id}/availability",
                       query_string={"from": iso(day, "09:00"), "to": iso(day, "17:00")}).json
    assert found == {
        "busy": [{"start": iso(day, "09:00"), "end": iso(day, "10:00"), "kind": "booking"},
                 {"start": iso(day, "16:00"), "end": iso(day, "17:00"), "kind": "booking"}],
        "free": [{"start": iso(day, "10:00"), "end": iso(day, "16:00")}],
    }


def test_the_week_calendar_names_the_holidays_in_chinese(client, make):
    """The week of National Day 2026: Monday to Wednesday are working days
    without a name; Thursday to Saturday are 国庆节."""
    instrument = make.instrument()
    monday = date(2026, 9, 28)
    html = client.get(f"/instruments/{instrument.id}?week={monday.isoformat()}").get_data(as_text=True)
    heads = re.findall(r'<th scope="col" class="text-center">(.*?)</th>', html)
    assert len(heads) == 7
    badges = [re.findall(r'<span class="badge[^"]*">([^<]*)</span>', head) for head in heads]
    assert badges[:6] == [[], [], [], ["国庆节"], ["国庆节"], ["国庆节"]]
