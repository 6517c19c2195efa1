"""Days and times as people read them (issue #19, formats.py): Babel's CLDR
forms in the reader's language, a stored UTC moment read in the platform's
zone, the day once in a range on one day; and each Babel pattern, day text
and clock text made once (pages list a hundred bookings with two times each)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask_babel import force_locale

from instrument_share import formats

START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 December, 09:00 in Shanghai
END = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)  # 11:30
LATE = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 00:30 on Wednesday in Shanghai, still Tuesday in UTC

FORMS = {
    "zh_CN": {
        "date_time": "2026年12月1日周二 09:00",
        "day": "2026年12月1日",
        "day_with_weekday": "2026年12月1日周二",
        "short_day": "12月1日",
        "day_and_time": "12月1日周二 09:00",
        "time_range": "2026年12月1日周二 09:00–11:30",
        "across_days": "2026年12月1日周二 09:00 – 2026年12月2日周三 00:30",
        "month": "2026年12月",
        "weekday": "周二",
        "day_range": "2026年11月23日\u2009–\u200929日",
    },
    "en": {
        "date_time": "Tue, Dec 1, 2026, 09:00",
        "day": "Dec 1, 2026",
        "day_with_weekday": "Tue, Dec 1, 2026",
        "short_day": "Dec 1",
        "day_and_time": "Tue, Dec 1, 09:00",
        "time_range": "Tue, Dec 1, 2026, 09:00–11:30",
        "across_days": "Tue, Dec 1, 2026, 09:00 – Wed, Dec 2, 2026, 00:30",
        "month": "Dec 2026",
        "weekday": "Tue",
        "day_range": "Nov 23\u2009–\u200929, 2026",
    },
}


@pytest.mark.parametrize("language", FORMS)
def test_days_and_times_in_the_readers_language(app, language):
    forms = FORMS[language]
    with app.test_request_context(), force_locale(language):
        assert formats.date_time(START) == forms["date_time"]
        assert formats.day(START) == formats.day(date(2026, 12, 1)) == formats.day("2026-12-01") == forms["day"]
        assert formats.day_with_weekday(START) == forms["day_with_weekday"]
        assert formats.short_day(date(2026, 12, 1)) == forms["short_day"]
        assert formats.day_and_time(START) == forms["day_and_time"]
        assert formats.time_range(START, END) == forms["time_range"]
        assert formats.time_range(START, LATE) == forms["across_days"]  # the platform's day, not UTC's
        assert formats.day(LATE) == formats.day(date(2026, 12, 2))
        assert formats.month(START) == formats.month("2026-12") == formats.month(date(2026, 12, 5)) == forms["month"]
        assert formats.weekday(1) == formats.weekday(date(2026, 12, 1)) == forms["weekday"]
        assert formats.day_range(date(2026, 11, 23), date(2026, 11, 29)) == forms["day_range"]
        assert formats.time_of_day(START) == formats.time_of_day(time(9, 0)) == "09:00"  # 24-hour in both
        # JSON details keep moments as ISO text in the platform's zone, with or without the offset.
        assert formats.time_range("2026-12-01T09:00:00+08:00", "2026-12-01T11:30") == forms["time_range"]
        for form in (formats.date_time, formats.day, formats.day_and_time, formats.time_of_day, formats.month):
            assert form(None) == form("") == ""
        assert formats.time_range(START, None) == formats.date_time(START)


def test_each_day_and_clock_time_is_made_once(app):
    """Two hundred moments over six days: six day texts and at most two
    hundred clock texts, once; formatting them again makes none."""
    moments = [START + timedelta(minutes=37 * n) for n in range(200)]
    with app.test_request_context(), force_locale("zh_CN"):
        days = {formats.to_platform(moment).date() for moment in moments}
        formats._FORMS.clear()
        first = [formats.date_time(moment) for moment in moments]
        made = formats._forms()
        assert len(made.days) == len(days) == 6 and len(made.clocks) <= 200
        assert set(made.patterns) == {"yMMMEd", "Hm"}
        sizes = (len(made.days), len(made.clocks))
        assert [formats.date_time(moment) for moment in moments] == first
        assert (len(made.days), len(made.clocks)) == sizes and formats._forms() is made
    with app.test_request_context(), force_locale("en"):
        assert formats._forms() is not made  # each language its own
