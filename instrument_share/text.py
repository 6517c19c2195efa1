"""Text is clean at the door: the two rules every text obeys, written once.

- A **line** (names, e-mail addresses, phone numbers, models, codes, short
  reasons): no control character at all (C0, DEL, C1: NUL, tab, CR, LF …),
  no line or paragraph separator (U+2028, U+2029), no lone surrogate;
  surrounding whitespace is stripped.
- A **text** (descriptions, purposes, specifications, comments): no NUL, no
  lone surrogate, no control character but tab and line breaks; CRLF and
  CR become LF; surrounding whitespace is stripped.

Either is *blank* when it holds only whitespace and invisible characters
(zero-width space and joiners, U+2060, the BOM, soft hyphen, fillers …):
blank counts as empty, so a required field refuses it, and an optional one
stores "".

The API refuses what breaks a rule (422, the field named: `Line`, `Text` in
api/fields.py); a web form folds line breaks and tabs typed into a one-line
field into spaces and refuses the rest (`line_filter`, `text_filter`); the
CSV import and the CLI call `clean_line` and refuse. Old rows written
before these rules may still hold anything, so what we write out
(calendars, mail) goes through `line_for_output` / `text_for_output`, which
never refuse.
"""
from __future__ import annotations

import re
import unicodedata

from .errors import N_

# Characters that break a line (refused in a line; in a text only CR, which
# becomes LF, and LF itself are allowed among them).
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LINE_BREAK = re.compile(f"[{re.escape(LINE_BREAKS)}]")
_FOLDABLE = re.compile(r"\s*[\t\n\r\x0b\x0c\x1c-\x1f\x85\u2028\u2029]+\s*")

# Letters that show nothing: a text of these and whitespace is blank.
_INVISIBLE_LETTERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")

# The same rules for the OpenAPI document (ECMA-262 and Python alike): what
# a client may send. Lone surrogates cannot be written in a pattern; the
# JSON body parser refuses them (api/parsing.py).
LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"

MUST_BE_UNICODE = N_("Must be valid Unicode text (no lone surrogates).")
ONE_LINE = N_("Must be a single line, without line breaks.")
NO_CONTROL_IN_LINE = N_("Must not contain control characters such as NUL or tab.")
NO_CONTROL_IN_TEXT = N_("Must not contain control characters such as NUL (tab and line breaks are fine).")
REQUIRED = N_("Required: give some visible text.")


class TextRefused(ValueError):
    """Text that breaks a rule; `message` says which (English, marked for translation)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def is_blank(value: str | None) -> bool:
    """Nothing visible: only whitespace, control and format characters
    (zero-width spaces, joiners, BOM, soft hyphen) and invisible fillers."""
    return all(
        ch.isspace() or ch in _INVISIBLE_LETTERS or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")
        for ch in value or ""
    )


def _finish(value: str) -> str:
    return "" if is_blank(value) else value.strip()


def clean_line(value: str) -> str:
    """A one-line value, stripped ("" when blank); raises TextRefused."""
    if _SURROGATE.search(value):
        raise TextRefused(MUST_BE_UNICODE)
    if _LINE_BREAK.search(value):
        raise TextRefused(ONE_LINE)
    if _CONTROL.search(value):
        raise TextRefused(NO_CONTROL_IN_LINE)
    return _finish(value)


def clean_text(value: str) -> str:
    """A multi-line value with LF line ends, stripped ("" when blank); raises TextRefused."""
    if _SURROGATE.search(value):
        raise TextRefused(MUST_BE_UNICODE)
    if _TEXT_CONTROL.search(value):
        raise TextRefused(NO_CONTROL_IN_TEXT)
    return _finish(value.replace("\r\n", "\n").replace("\r", "\n"))


def fold_line(value: str) -> str:
    """What a person meant by a one-line field: line breaks and tabs typed or
    pasted into it, with the spaces around them, become one space; then
    `clean_line` (so NUL and other controls are still refused)."""
    return clean_line(_FOLDABLE.sub(" ", value))


# Web forms (WTForms filters). A filter's ValueError becomes the field's
# error, so the form is shown again with the reason next to the field.

def line_filter(value):
    if not isinstance(value, str):
        return value
    try:
        return fold_line(value)
    except TextRefused as refused:
        raise ValueError(_translated(refused.message)) from None


def text_filter(value):
    if not isinstance(value, str):
        return value
    try:
        return clean_text(value)
    except TextRefused as refused:
        raise ValueError(_translated(refused.message)) from None


def _translated(message: str) -> str:
    from flask_babel import gettext

    return gettext(message)


# Output: calendars and mail never fail on what is stored.

def line_for_output(value) -> str:
    """Any stored value as one printable line: lone surrogates become U+FFFD,
    control characters and line breaks spaces."""
    text = _SURROGATE.sub("\ufffd", "" if value is None else str(value))
    return " ".join(_CONTROL.sub(" ", text).split())


def text_for_output(value) -> str:
    """Any stored value as text with LF line ends: lone surrogates become
    U+FFFD, control characters other than tab and LF are dropped."""
    text = _SURROGATE.sub("\ufffd", "" if value is None else str(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return _TEXT_CONTROL.sub("", text)


def address_for_output(value) -> str:
    """A stored e-mail address as one token: the first word holding an @
    once control characters and line breaks are spaces ("" if none), so a
    header or a calendar address never carries a second line."""
    return next((word for word in line_for_output(value).split() if "@" in word), "")
