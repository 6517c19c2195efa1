"""Numbers and dates as people read them, in the reader's language: the one
place where a figure becomes text for a page, a chart, a mail, a calendar
event or a PDF (site.py makes them template filters of the same names).

Built on Babel's formatters through Flask-Babel, so the locale of the
request (or of `force_locale` in mails and jobs) decides the separators and
the names of weekdays; nothing here is hand-written. Exports and the API
keep plain numbers: a spreadsheet or a client does its own formatting."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache

from babel.dates import format_skeleton
from babel.numbers import NumberPattern, parse_pattern
from flask_babel import get_locale

from .timeutil import to_platform

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


def day_with_weekday(value: date | datetime | None) -> str:
    """2026年12月1日周二 / Tue, Dec 1, 2026; a time is read in the platform's zone."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # as JSON details keep a day
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = to_platform(value).date()
    return format_skeleton("yMMMEd", value, locale=get_locale())


def month(value: str | date | None) -> str:
    """"2025-12" (a statistics row's month) → 2025年12月 / Dec 2025."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(f"{value}-01" if len(value) == 7 else value)
    return format_skeleton("yMMM", value, locale=get_locale())
