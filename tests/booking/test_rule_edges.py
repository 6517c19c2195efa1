"""Edges of the booking rules that mutation testing found untested (issue
#21, `make mutation`): lengths, notice and horizon at their bounds, the
words of each refusal, a purpose of exactly 2,000 characters, and each part
of a recurrence rule at and past its bounds. The rules are the functions
the booking service and the quote call (booking/rules.py), asked with a
fixed `now`; the API's answer for a few of them closes the file."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from instrument_share.booking.rules import (
    check_interval,
    check_occurrences_apart,
    check_purpose,
    expand_recurrence,
)
from instrument_share.catalogue.models import Instrument
from instrument_share.errors import ValidationFailed

from .conftest import iso, workday

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=SHANGHAI)  # a Monday
START = datetime(2027, 3, 8, 10, 0, tzinfo=SHANGHAI)  # the Monday after
END = START + timedelta(hours=1)
NOT_BOOKABLE = "The requested time is not bookable."


def refused(call, *args, **kw) -> tuple[str, dict]:
    with pytest.raises(ValidationFailed) as refusal:
        call(*args, **kw)
    return refusal.value.message, refusal.value.fields


def instrument(**kw) -> Instrument:
    """An instrument's booking limits (no database needed for the rules)."""
    limits = {"min_booking_minutes": 30, "max_booking_minutes": 240, "advance_notice_hours": 24}
    return Instrument(**{**limits, **kw})


# --- lengths, notice, horizon ---------------------------------------------------

def test_a_booking_of_exactly_the_shortest_or_the_longest_length_is_bookable():
    sem = instrument()
    check_interval(sem, START, START + timedelta(minutes=30), NOW)
    check_interval(sem, START, START + timedelta(minutes=240), NOW)
    assert refused(check_interval, sem, START, START + timedelta(minutes=29), NOW) == (
        NOT_BOOKABLE, {"end": ["Shorter than this instrument's minimum booking length."]})
    assert refused(check_interval, sem, START, START + timedelta(minutes=241), NOW) == (
        NOT_BOOKABLE, {"end": ["Longer than this instrument's maximum booking length."]})
    assert refused(check_interval, sem, START, START + timedelta(minutes=29, seconds=59), NOW)[1] == {
        "end": ["Shorter than this instrument's minimum booking length."]}
    assert refused(check_interval, sem, START, START + timedelta(minutes=240, seconds=1), NOW)[1] == {
        "end": ["Longer than this instrument's maximum booking length."]}


@pytest.mark.parametrize("end", [START, START - timedelta(hours=1)])
def test_an_end_at_or_before_the_start_is_named_as_such(end):
    assert refused(check_interval, instrument(min_booking_minutes=1), START, end, NOW) == (
        NOT_BOOKABLE, {"end": ["The end must be after the start."]})


def test_the_advance_notice_and_the_horizon_are_met_exactly():
    sem = instrument(advance_notice_hours=24)
    check_interval(sem, NOW + timedelta(hours=24), NOW + timedelta(hours=25), NOW)
    early = NOW + timedelta(hours=24) - timedelta(minutes=1)
    assert refused(check_interval, sem, early, early + timedelta(hours=1), NOW) == (
        NOT_BOOKABLE, {"start": ["Inside this instrument's advance notice: book further ahead."]})
    last = NOW + timedelta(days=366)
    check_interval(sem, last, last + timedelta(hours=1), NOW)
    beyond = last + timedelta(minutes=1)
    assert refused(check_interval, sem, beyond, beyond + timedelta(hours=1), NOW) == (
        NOT_BOOKABLE, {"start": ["Bookings open at most a year ahead."]})


def test_now_itself_is_bookable_without_notice_and_a_minute_ago_is_past():
    walk_in = instrument(advance_notice_hours=0)
    check_interval(walk_in, NOW, NOW + timedelta(hours=1), NOW)
    ago = NOW - timedelta(minutes=1)
    assert refused(check_interval, walk_in, ago, ago + timedelta(hours=1), NOW) == (
        NOT_BOOKABLE, {"start": ["This time is in the past."]})
    assert refused(check_interval, walk_in, ago, ago + timedelta(hours=1), NOW, field="new_start") == (
        NOT_BOOKABLE, {"new_start": ["This time is in the past."]})
    assert refused(check_interval, walk_in, ago, ago, NOW) == (
        NOT_BOOKABLE, {"start": ["This time is in the past."], "end": ["The end must be after the start."]})


# --- the purpose ------------------------------------------------------------------

def test_a_purpose_is_cleaned_and_may_be_2000_characters_long():
    assert check_purpose("  SEM\r\n imaging ") == "SEM\n imaging"
    assert check_purpose("样" * 2000) == "样" * 2000
    assert refused(check_purpose, "样" * 2001) == ("Purpose too long.", {"purpose": ["At most 2000 characters."]})
    for blank in ("", None, "  \n "):
        assert refused(check_purpose, blank) == ("Purpose required.", {"purpose": ["Say what the booking is for."]})
    assert refused(check_purpose, "a\x00b") == ("Purpose refused.", {"purpose": [
        "Must not contain control characters such as NUL (tab and line breaks are fine)."]})


# --- recurrence ---------------------------------------------------------------------

def expand(rule: str, start=START, end=END, now=NOW):
    return expand_recurrence(rule, start, end, now)


def why(rule: str, **kw) -> str:
    message, fields = refused(expand, rule, **kw)
    assert message == "Invalid recurrence."
    (reason,) = fields["recurrence"]
    return reason


def starts(rule: str, **kw) -> list[str]:
    return [s.strftime("%m-%d %H:%M") for s, _ in expand(rule, **kw)]


def test_occurrences_keep_the_bookings_length_and_its_time_zone(app_context):
    utc_start = START.astimezone(UTC)
    occurrences = expand("FREQ=WEEKLY;COUNT=2", start=utc_start, end=utc_start + timedelta(minutes=90))
    assert occurrences == [(utc_start, utc_start + timedelta(minutes=90)),
                           (utc_start + timedelta(days=7), utc_start + timedelta(days=7, minutes=90))]
    assert all(s.tzinfo is UTC and e.tzinfo is UTC for s, e in occurrences)


@pytest.mark.parametrize(("rule", "expected"), [
    ("FREQ=DAILY;COUNT=3", ["03-08 10:00", "03-09 10:00", "03-10 10:00"]),
    ("rrule:freq=daily;count=2", ["03-08 10:00", "03-09 10:00"]),
    (" RRULE: FREQ = WEEKLY ; COUNT = 2 ", ["03-08 10:00", "03-15 10:00"]),
    ("FREQ=WEEKLY;COUNT=3;INTERVAL=2", ["03-08 10:00", "03-22 10:00", "04-05 10:00"]),
    ("FREQ=WEEKLY;COUNT=2;INTERVAL=+1", ["03-08 10:00", "03-15 10:00"]),
    ("FREQ=WEEKLY;COUNT=3;BYDAY=mo, we", ["03-08 10:00", "03-10 10:00", "03-15 10:00"]),
    ("FREQ=MONTHLY;COUNT=3;BYDAY=2MO", ["03-08 10:00", "04-12 10:00", "05-10 10:00"]),
    ("FREQ=MONTHLY;COUNT=2;BYDAY=+2MO", ["03-08 10:00", "04-12 10:00"]),
    ("FREQ=MONTHLY;COUNT=2;BYMONTHDAY=8", ["03-08 10:00", "04-08 10:00"]),
    ("FREQ=MONTHLY;COUNT=2;BYMONTHDAY=-24", ["03-08 10:00", "04-07 10:00"]),
    ("FREQ=MONTHLY;COUNT=3;BYMONTHDAY=8, 20", ["03-08 10:00", "03-20 10:00", "04-08 10:00"]),
    ("FREQ=DAILY;UNTIL=20270310", ["03-08 10:00", "03-09 10:00", "03-10 10:00"]),
    ("FREQ=DAILY;UNTIL=20270310T020000Z", ["03-08 10:00", "03-09 10:00", "03-10 10:00"]),
    ("FREQ=DAILY;UNTIL=20270310T015959Z", ["03-08 10:00", "03-09 10:00"]),
    ("FREQ=WEEKLY;COUNT=1", ["03-08 10:00"]),
    ("FREQ=WEEKLY;COUNT=2;BYDAY=MO" + " " * 469 + ",MO", ["03-08 10:00", "03-15 10:00"]),  # 500 characters
    ("FREQ=WEEKLY;COUNT=0052", None),
])
def test_rules_are_read_part_by_part(app_context, rule, expected):
    found = starts(rule)
    if expected is None:
        assert len(found) == 52 and found[-1] == "02-28 10:00"
    else:
        assert found == expected


def test_weekdays_are_those_of_the_platforms_time_zone(app_context):
    """07:00 on a Monday in Shanghai is still Sunday in UTC: BYDAY counts the
    platform's days, whatever zone the start is given in."""
    early = datetime(2027, 3, 8, 7, 0, tzinfo=SHANGHAI)
    for start in (early, early.astimezone(UTC)):
        found = expand("FREQ=WEEKLY;COUNT=3;BYDAY=MO,WE", start=start, end=start + timedelta(hours=1))
        assert [s.astimezone(SHANGHAI).strftime("%a %d %H:%M") for s, _ in found] == [
            "Mon 08 07:00", "Wed 10 07:00", "Mon 15 07:00"]


def test_the_week_start_decides_which_days_an_interval_skips(app_context):
    # Every other week on Monday and Sunday: weeks from Monday hold Mon 8 and
    # Sun 14; weeks from Sunday hold Sun 7 (before the start) and Mon 8, then Sun 21.
    assert starts("FREQ=WEEKLY;INTERVAL=2;COUNT=3;BYDAY=MO,SU;WKST=MO") == ["03-08 10:00", "03-14 10:00",
                                                                          "03-22 10:00"]
    assert starts("FREQ=WEEKLY;INTERVAL=2;COUNT=3;BYDAY=MO,SU;WKST=su") == ["03-08 10:00", "03-21 10:00",
                                                                          "03-22 10:00"]


@pytest.mark.parametrize(("rule", "reason"), [
    ("", "Not an RRULE such as FREQ=WEEKLY;COUNT=6."),
    ("FREQ=DAILY;;COUNT=2", "Not an RRULE such as FREQ=WEEKLY;COUNT=6."),
    ("FREQ=DAILY;COUNT=", "Not an RRULE such as FREQ=WEEKLY;COUNT=6."),
    ("=DAILY;COUNT=2", "Not an RRULE such as FREQ=WEEKLY;COUNT=6."),
    ("FREQ=DAILY;COUNT=2;count=3", "Not an RRULE such as FREQ=WEEKLY;COUNT=6."),
    ("FREQ=WEEKLY;COUNT=2;BYDAY=MO" + " " * 470 + ",MO", "Not an RRULE such as FREQ=WEEKLY;COUNT=6."),
    ("FREQ=DAILY;COUNT=2;BYHOUR=9", "Use FREQ with COUNT or UNTIL, and optionally INTERVAL, BYDAY, BYMONTHDAY."),
    ("COUNT=2", "Use FREQ with COUNT or UNTIL, and optionally INTERVAL, BYDAY, BYMONTHDAY."),
    ("FREQ=YEARLY;COUNT=2", "FREQ must be DAILY, WEEKLY or MONTHLY."),
    ("FREQ=DAILY", "A recurrence needs COUNT or UNTIL (not both)."),
    ("FREQ=DAILY;COUNT=2;UNTIL=20270310", "A recurrence needs COUNT or UNTIL (not both)."),
    ("FREQ=MONTHLY;COUNT=2;UNTIL=20270310;INTERVAL=1;BYDAY=MO;BYMONTHDAY=8;WKST=MO",
     "A recurrence needs COUNT or UNTIL (not both)."),
    ("FREQ=DAILY;COUNT=0", "COUNT runs from 1 to 52."),
    ("FREQ=DAILY;COUNT=53", "COUNT runs from 1 to 52."),
    ("FREQ=DAILY;COUNT=2.5", "COUNT runs from 1 to 52."),
    ("FREQ=DAILY;COUNT=００２", "COUNT runs from 1 to 52."),
    ("FREQ=DAILY;COUNT=00002", "COUNT runs from 1 to 52."),
    ("FREQ=DAILY;COUNT=-", "COUNT runs from 1 to 52."),
    ("FREQ=DAILY;COUNT=X2", "COUNT runs from 1 to 52."),
    ("FREQ=DAILY;COUNT=2=3", "COUNT runs from 1 to 52."),
    ("FREQ=DAILY;COUNT=2;INTERVAL=0", "INTERVAL runs from 1 to 366."),
    ("FREQ=DAILY;COUNT=2;INTERVAL=367", "INTERVAL runs from 1 to 366."),
    ("FREQ=WEEKLY;COUNT=2;BYDAY=XX", "BYDAY takes MO, TU, WE, TH, FR, SA, SU, e.g. BYDAY=MO,WE."),
    ("FREQ=WEEKLY;COUNT=2;BYDAY=2MO", "A numbered BYDAY (2TU, -1FR) needs FREQ=MONTHLY."),
    ("FREQ=MONTHLY;COUNT=2;BYDAY=0MO", "A numbered BYDAY counts from 1 to 5 or -1 to -5."),
    ("FREQ=MONTHLY;COUNT=2;BYDAY=6MO", "A numbered BYDAY counts from 1 to 5 or -1 to -5."),
    ("FREQ=MONTHLY;COUNT=2;BYDAY=-6MO", "A numbered BYDAY counts from 1 to 5 or -1 to -5."),
    ("FREQ=MONTHLY;COUNT=2;BYMONTHDAY=0", "BYMONTHDAY takes days 1 to 31 (or -1 to -31)."),
    ("FREQ=MONTHLY;COUNT=2;BYMONTHDAY=32", "BYMONTHDAY takes days 1 to 31 (or -1 to -31)."),
    ("FREQ=MONTHLY;COUNT=2;BYMONTHDAY=-32", "BYMONTHDAY takes days 1 to 31 (or -1 to -31)."),
    ("FREQ=DAILY;COUNT=2;WKST=XX", "WKST takes MO, TU, WE, TH, FR, SA or SU."),
    ("FREQ=DAILY;UNTIL=2027-03-10", "UNTIL must be a date or a UTC time ending in Z."),
    ("FREQ=DAILY;UNTIL=20271340", "UNTIL must be a date or a UTC time ending in Z."),
    ("FREQ=DAILY;UNTIL=20270310T020000", "UNTIL must be a date or a UTC time ending in Z."),
    ("FREQ=DAILY;UNTIL=20270310T250000Z", "UNTIL must be a date or a UTC time ending in Z."),
    ("FREQ=DAILY;UNTIL=20270310T0200000Z", "UNTIL must be a date or a UTC time ending in Z."),
    ("FREQ=DAILY;UNTIL=20270310T20000Z", "UNTIL must be a date or a UTC time ending in Z."),
    ("FREQ=DAILY;UNTIL=2027031", "UNTIL must be a date or a UTC time ending in Z."),
    ("FREQ=DAILY;UNTIL=20270310t020000z", "UNTIL must be a date or a UTC time ending in Z."),
    ("FREQ=DAILY;UNTIL=20280302", "The last occurrence is more than a year ahead."),
    ("FREQ=MONTHLY;COUNT=14", "The last occurrence is more than a year ahead."),
    ("FREQ=DAILY;UNTIL=20270430", "At most 52 occurrences."),
    ("FREQ=WEEKLY;COUNT=2;BYDAY=TU", "The first occurrence must be the booking's own start."),
    ("FREQ=WEEKLY;UNTIL=20270307", "The first occurrence must be the booking's own start."),
])
def test_each_bad_part_is_refused_with_its_reason(app_context, rule, reason):
    assert why(rule) == reason


def test_an_until_date_runs_to_the_last_second_of_that_day(app_context):
    late = datetime(2027, 3, 8, 23, 59, 30, tzinfo=SHANGHAI)
    found = expand("FREQ=DAILY;UNTIL=20270310", start=late, end=late + timedelta(seconds=20))
    assert [s.strftime("%d %H:%M:%S") for s, _ in found] == ["08 23:59:30", "09 23:59:30", "10 23:59:30"]


def test_the_last_day_within_the_horizon_and_exactly_52_occurrences(app_context):
    # The horizon is `now` plus 366 days: 2028-03-01 09:00 here.
    assert starts("FREQ=MONTHLY;UNTIL=20280301T010000Z")[-1] == "02-08 10:00"
    assert len(starts("FREQ=MONTHLY;UNTIL=20280301T010000Z")) == 12
    assert why("FREQ=MONTHLY;UNTIL=20280301T010001Z") == "The last occurrence is more than a year ahead."
    assert len(starts("FREQ=DAILY;UNTIL=20270428")) == 52  # 8 March to 28 April
    assert len(starts("FREQ=MONTHLY;COUNT=12")) == 12
    # Without COUNT or UNTIL's end in reach, only the horizon stops the rule.
    assert len(starts("FREQ=WEEKLY;UNTIL=20280301T010000Z")) == 52


def test_occurrences_may_follow_each_other_with_exactly_the_buffer_between():
    day = timedelta(days=1)
    back_to_back = [(START + day, END + day), (START, END)]  # given out of order
    check_occurrences_apart(back_to_back, timedelta(0))
    with_buffer = [(START, END), (END + timedelta(minutes=15), END + timedelta(minutes=75))]
    check_occurrences_apart(with_buffer, timedelta(minutes=15))
    assert refused(check_occurrences_apart, with_buffer, timedelta(minutes=16)) == (
        "Invalid recurrence.", {"recurrence": ["The occurrences overlap one another: space them further apart."]})
    assert refused(check_occurrences_apart, [(START, END), (END - timedelta(minutes=1), END + day)], timedelta(0))[1] \
        == {"recurrence": ["The occurrences overlap one another: space them further apart."]}


def test_the_api_says_why_a_series_is_refused(api, make):
    instrument = make.instrument(max_booking_minutes=480)
    day = workday()
    booked = api.as_user(make.user()).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"), "purpose": "SEM",
        "recurrence": "FREQ=DAILY;COUNT=53"})
    assert booked.status_code == 422
    assert booked.json["fields"] == {"recurrence": ["COUNT runs from 1 to 52."]}
