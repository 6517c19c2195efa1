"""Numbers, days and times as people read them, in the reader's language:
the one place where a figure or a moment becomes text for a page, a chart,
a mail, a calendar event or a PDF (site.py makes them template filters of
the same names).

Built on Babel's formatters through Flask-Babel, so the locale of the
request (or of `force_locale` in mails and jobs) decides the separators, the
order of a date's parts and the names of months and weekdays; nothing here is
hand-written. Exports, the API, the calendar feed and form inputs keep plain
numbers and ISO 8601 times: a spreadsheet, a client or a browser does its own
formatting."""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.dates import DateTimePattern, format_interval, get_day_names, match_skeleton
from babel.dates import parse_pattern as parse_date_pattern
from babel.numbers import NumberPattern, parse_pattern
from flask_babel import get_locale

from .timeutil import platform_zone, to_platform

# Always the yuan sign and two decimals, whatever the language: "CN¥", which
# Babel's English currency format shows, is not how a corridor price reads.
MONEY = "¥#,##0.00;-¥#,##0.00"
HOURS = "#,##0.0"
PERCENT = "#,##0.0%"


def _number(value) -> Decimal:
    # Figures also come as the strings JSON details and API answers keep them in ("150.00").
    return value if isinstance(value, Decimal | int | float) else Decimal(str(value))


@cache
def _pattern(text: str) -> NumberPattern:
    return parse_pattern(text)


def _formatted(value, pattern: str) -> str:
    # Babel's format_decimal, less its parsing of the pattern and the locale
    # on every call: a page of a hundred figures spent 5 ms on them.
    return "" if value is None else _pattern(pattern).apply(_number(value), get_locale())


def money(value) -> str:
    """¥3,143,720.00; empty for None."""
    return _formatted(value, MONEY)


def hours(value) -> str:
    """1,234.5: machine-hours with one decimal."""
    return _formatted(value, HOURS)


def count(value) -> str:
    """12,345: a whole number with the locale's grouping."""
    return _formatted(value, "#,##0")


def percent(value) -> str:
    """0.1234 → 12.3%."""
    return _formatted(value, PERCENT)


# Days and times. A stored moment is UTC and is read in the platform's zone
# (Asia/Shanghai); a day (date) is a platform day already. The forms are
# CLDR skeletons, so each language gets its own order, words and weekday
# names: "2026年12月1日周二 09:00" / "Tue, Dec 1, 2026, 09:00". Clock times are
# the 24-hour "Hm" in both (opening hours, the calendar's rows).
#
# Babel's format_datetime matches the skeleton and parses its pattern on
# every call (~15 µs); a page lists a hundred bookings with two times each.
# The pattern of a (locale, skeleton) is found once, and the text of a day or
# of a clock time once per (locale, skeleton, day) and (locale, minute): a
# page's two hundred times cost about what strftime did (README).
DAY = "yMMMd"  # 2026年12月1日 / Dec 1, 2026
DAY_WITH_WEEKDAY = "yMMMEd"  # 2026年12月1日周二 / Tue, Dec 1, 2026
SHORT_DAY = "MMMd"  # 12月1日 / Dec 1
SHORT_DAY_WITH_WEEKDAY = "MMMEd"  # 12月1日周二 / Tue, Dec 1
MONTH = "yMMM"  # 2026年12月 / Dec 2026
CLOCK = "Hm"  # 09:00


class _Forms:
    """One language's day and clock texts, each made by Babel once."""

    LIMIT = 4096  # texts kept of each kind: a few years of days, every minute of a day

    def __init__(self, locale: Locale):
        self.locale = locale
        self.patterns: dict[str, DateTimePattern] = {}
        self.days: dict[tuple[str, date], str] = {}
        self.clocks: dict[tuple[int, int], str] = {}
        # The locale's way of putting a day and a time together: "{1} {0}" / "{1}, {0}".
        self.joined = str(locale.datetime_formats["medium"])

    def pattern(self, skeleton: str) -> DateTimePattern:
        """As babel.dates.format_skeleton finds it (fuzzy), parsed once."""
        if (pattern := self.patterns.get(skeleton)) is None:
            skeletons = self.locale.datetime_skeletons
            text = skeletons[skeleton if skeleton in skeletons else match_skeleton(skeleton, skeletons)]
            pattern = self.patterns[skeleton] = parse_date_pattern(text)
        return pattern

    def day(self, skeleton: str, value: date) -> str:
        if (text := self.days.get((skeleton, value))) is None:
            if len(self.days) >= self.LIMIT:
                self.days.clear()
            text = self.days[skeleton, value] = self.pattern(skeleton).apply(value, self.locale)
        return text

    def clock(self, value: datetime | time) -> str:
        if (text := self.clocks.get((value.hour, value.minute))) is None:
            if len(self.clocks) >= self.LIMIT:
                self.clocks.clear()
            text = self.pattern(CLOCK).apply(time(value.hour, value.minute), self.locale)
            self.clocks[value.hour, value.minute] = text
        return text


_FORMS: dict[tuple, _Forms] = {}


def _forms() -> _Forms:
    # By the locale's parts: comparing Locale objects (a new one each
    # request) cost more than the formatting saved.
    locale = get_locale()
    key = (locale.language, locale.territory, locale.script)
    if (forms := _FORMS.get(key)) is None:
        forms = _FORMS[key] = _Forms(locale)
    return forms


def _moment(value: datetime | str) -> datetime:
    """A stored moment in the platform's zone; JSON details keep ISO text (a naive one is platform time)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=platform_zone())
    return to_platform(value)


def _day(value: date | datetime | str) -> date:
    if isinstance(value, str):  # as JSON details keep a day, or a moment
        return _moment(value).date() if len(value) > 10 else date.fromisoformat(value)
    return _moment(value).date() if isinstance(value, datetime) else value


def _day_form(skeleton: str, value) -> str:
    if value is None or value == "":
        return ""
    return _forms().day(skeleton, _day(value))


def day(value: date | datetime | str | None) -> str:
    """2026年12月1日 / Dec 1, 2026."""
    return _day_form(DAY, value)


def day_with_weekday(value: date | datetime | str | None) -> str:
    """2026年12月1日周二 / Tue, Dec 1, 2026; a time is read in the platform's zone."""
    return _day_form(DAY_WITH_WEEKDAY, value)


def short_day(value: date | datetime | str | None) -> str:
    """12月1日 / Dec 1: a day of the week shown (the calendar's columns)."""
    return _day_form(SHORT_DAY, value)


def weekday(value: int | date) -> str:
    """周二 / Tue: the locale's abbreviated name of a weekday (0 is Monday) or of a day's."""
    index = value if isinstance(value, int) else value.weekday()
    return get_day_names("abbreviated", locale=get_locale())[index]


def time_of_day(value: datetime | time | str | None) -> str:
    """09:00: the clock time of a moment, in the platform's zone."""
    if value is None or value == "":
        return ""
    if not isinstance(value, time):
        value = _moment(value)
    return _forms().clock(value)


def date_time(value: datetime | str | None) -> str:
    """2026年12月1日周二 09:00 / Tue, Dec 1, 2026, 09:00."""
    if value is None or value == "":
        return ""
    forms, value = _forms(), _moment(value)
    return forms.joined.format(forms.clock(value), forms.day(DAY_WITH_WEEKDAY, value.date()))


def day_and_time(value: datetime | str | None) -> str:
    """12月1日周二 09:00 / Tue, Dec 1, 09:00: a moment of the next days, without the year."""
    if value is None or value == "":
        return ""
    forms, value = _forms(), _moment(value)
    return forms.joined.format(forms.clock(value), forms.day(SHORT_DAY_WITH_WEEKDAY, value.date()))


def time_range(start: datetime | str | None, end: datetime | str | None) -> str:
    """From one moment to another: the day once when both are on it
    (2026年12月1日周二 09:00–11:30 / Tue, Dec 1, 2026, 09:00–11:30), else
    both in full, joined by " – "."""
    if start is None or start == "":
        return date_time(end)
    if end is None or end == "":
        return date_time(start)
    forms, start, end = _forms(), _moment(start), _moment(end)
    if start.date() != end.date():
        return f"{date_time(start)} – {date_time(end)}"
    return forms.joined.format(f"{forms.clock(start)}–{forms.clock(end)}", forms.day(DAY_WITH_WEEKDAY, start.date()))


def day_range(first: date | str, last: date | str) -> str:
    """A report's period as the locale writes an interval of days:
    2026年11月23日至29日 / Nov 23 – 29, 2026."""
    return format_interval(_day(first), _day(last), DAY, locale=get_locale())


def month(value: str | date | datetime | None) -> str:
    """"2025-12" (a statistics row's month), a day or a moment → 2025年12月 / Dec 2025."""
    if value is None or value == "":
        return ""
    if isinstance(value, str) and len(value) == 7:
        value = f"{value}-01"
    return _day_form(MONTH, value)
