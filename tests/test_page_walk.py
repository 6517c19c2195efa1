"""Every word a user sees is in their language (issue #19).

Walks every page of the site (every GET route of the url_map that is not
the API, with the ids of the permission matrix's world: bookings, vouchers,
claims, orders, blackouts, so that no table is empty) as each role, in
Chinese and in English, and reads the visible text (text nodes outside
script and style, and the attributes a user reads: title, placeholder, alt,
aria-label, the confirm dialogs' data-confirm). It fails on

- a stored code shown as text: a city code (`songjiang`), a category slug,
  a status, role, service mode, quota class or ledger code; codes that are
  also English words (`pending`, `active`) only when a whole text node is
  the code, or on a Chinese page;
- on a Chinese page, an English phrase: two or more Latin words in a row
  that are not on the short allow-list of model names, brands, units and
  acronyms.

The downloads get the same check: the CSV and XLSX exports of the pages
and of the API (headings in the reader's language; `headers=codes` keeps
the machine names), the PDF receipts and statements, and the calendar
feed's name. So does every `¥` figure: thousands separators or a failure. A page that answers
302/403/404/405 to a role is not that role's page and is skipped.
"""
from __future__ import annotations

import ast
import csv
import io
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from icalendar import Calendar
from openpyxl import load_workbook
from pypdf import PdfReader

from instrument_share import formats
from instrument_share.accounts.models import City, Institution, Role, User
from instrument_share.booking.models import Blackout, Booking, BookingStatus, ServiceMode
from instrument_share.catalogue.models import Category, Instrument, InstrumentStatus, QuotaClass
from instrument_share.extensions import db
from instrument_share.mail.models import MessageStatus, OutboxMessage
from instrument_share.orders.models import OrderStatus
from instrument_share.vouchers.models import ClaimLineStatus, EntryKind, VoucherStatus

from .conftest import fixture_context
from .test_permission_matrix import ROWS, build_world, restore, take_snapshot

ROLES = ("anonymous", "firm", "manager", "city_admin", "admin")
LANGUAGES = ("zh_CN", "en")
SKIPPED_ANSWERS = {302, 403, 404, 405}
# Files with no words of ours: photos and uploaded reports.
NOT_TEXT = ("/photos/", "/report")
# The API's downloads, checked beside the pages' own.
API_EXPORTS = {
    "/api/v1/stats/utilisation": ("format=csv&group_by=city", "format=xlsx&group_by=category",
                                  "format=csv&group_by=institution"),
    "/api/v1/stats/flows": ("format=csv", "format=xlsx"),
    "/api/v1/stats/vouchers": ("format=csv", "format=xlsx"),
    "/api/v1/bookings": ("format=csv", "format=xlsx"),
    "/api/v1/bookings/<int:booking_id>/receipt.pdf": ("",),
}

# Words that are the same in every language: acronyms, units, brands, model
# names, file formats, the corridor's name.
ALLOWED_WORDS = {
    "sem", "tem", "xrd", "nmr", "ct", "emc", "ms", "api", "csv", "xlsx", "pdf", "ics", "icalendar", "url", "uscc",
    "g60", "zeiss", "bruker", "thermo", "fisher", "shimadzu", "agilent", "hitachi", "jeol", "oxford",
    "email", "e-mail", "rrule", "ok", "kb", "mb", "gb", "cny", "rmb", "http", "https", "www", "id", "no",
    "mon", "tue", "wed", "thu", "fri", "sat", "sun", "am", "pm", "webp", "jpeg", "png", "html",
}
VISIBLE_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label", "data-confirm")
EMAIL_OR_URL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://[!-~]+|/[!-~]*")
UNGROUPED_MONEY = re.compile(r"¥\d{4,}")  # ¥3143720.00 rather than ¥3,143,720.00
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)*")
# Latin words of two letters or more, one after another (spaces, hyphens and
# plain punctuation between them, nothing Chinese).
PHRASE = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ \-,.:;/()&]+[A-Za-z][A-Za-z'’]+)+")


class VisibleText(HTMLParser):
    """The text nodes of a page outside script, style and template, and the visible attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self.hidden += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.texts.append(" ".join(data.split()))


class Words:
    """The stored codes, and the stored data that may show as it was typed."""

    def __init__(self, app):
        with fixture_context(app):
            self.cities = set(db.session.scalars(sa.select(City.code)))
            self.categories = set(db.session.scalars(sa.select(Category.code)))
            # Data typed by people (records' English names, models, makers), shown as stored.
            self.data = {text for text in db.session.scalars(sa.union(
                sa.select(Instrument.name_en), sa.select(Instrument.model), sa.select(Instrument.manufacturer),
                sa.select(Booking.purpose), sa.select(Blackout.reason), sa.select(OutboxMessage.subject))) if text}
            self.data |= {text for text in db.session.scalars(sa.union(
                sa.select(Institution.name_en), sa.select(User.name))) if text}
        enums = (BookingStatus, ServiceMode, InstrumentStatus, QuotaClass, MessageStatus, OrderStatus,
                 VoucherStatus, ClaimLineStatus, EntryKind, Role)
        self.codes = {str(member) for enum in enums for member in enum} | self.cities | self.categories
        # Codes no English sentence holds: always wrong as text.
        self.never_words = {code for code in self.codes if "_" in code or "-" in code} | self.cities

    def problems(self, text: str, language: str) -> list[str]:
        text = EMAIL_OR_URL.sub(" ", text)
        for data in sorted(self.data, key=len, reverse=True):
            text = text.replace(data, " ")
        found = []
        for token in TOKEN.findall(text):
            if token in self.never_words or token in self.codes and (language == "zh_CN" or text.strip() == token):
                found.append(f"code {token!r}")
        found += [f"figure without separators {figure!r}" for figure in UNGROUPED_MONEY.findall(text)]
        if language == "zh_CN":
            for phrase in PHRASE.findall(text):
                words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’]+", phrase) if w.lower() not in ALLOWED_WORDS]
                if len(words) >= 2:
                    found.append(f"English {phrase!r}")
        return found


@pytest.fixture(scope="module")
def _world(app):
    world = build_world(app)
    with fixture_context(app):
        # The matrix names its bookings by their status ("pending"); here they get Chinese purposes.
        db.session.execute(sa.update(Booking).values(purpose="测试用途"))
        db.session.commit()
    world.snapshot = take_snapshot(app)
    return world, Words(app)


@pytest.fixture
def walk(app, _world):
    """The world, restored for each test (every test ends with an emptied database)."""
    restore(app, _world[0].snapshot)
    return _world


def _client(app, world, role: str, language: str):
    client = app.test_client()
    client.set_cookie("session", world.cookies[role])
    client.post(f"/language/{language}", data={"csrf_token": world.csrf[role]})
    # Signed in as that role, or the walk would see the anonymous pages only.
    assert client.get("/profile").status_code == (302 if role == "anonymous" else 200)
    return client


def _pages(world):
    for row in ROWS:
        if row.method == "GET" and not row.is_api and not any(part in row.rule for part in NOT_TEXT):
            yield row.path(world)
    for path, queries in API_EXPORTS.items():
        base = next(row for row in ROWS if row.method == "GET" and row.rule == path).path(world)
        for query in queries:
            yield base + ("&" if "?" in base else "?") + query if query else base


def _table(response) -> list[list[str]]:
    if response.mimetype == "text/csv":
        return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


# The home page opens with the search itself (its hero), and a printable
# receipt or statement with its letterhead, instead of a page header.
HEADERLESS = re.compile(r'<section class="[^"]*\bhero\b|<div class="printable"')
PAGE_HEADER = re.compile(r'<div class="page-header">\s*<div class="page-header-text">\s*<h1[ >]')


def _header_problem(html: str) -> str | None:
    """Every page opens with the same header (`macros.page_header`): one h1,
    inside it (issue #19)."""
    if HEADERLESS.search(html):
        return None
    if html.count("<h1") != 1 or not PAGE_HEADER.search(html):
        return f"{html.count('<h1')} h1, {'one' if PAGE_HEADER.search(html) else 'none'} in a page header"
    return None


def _check(words: Words, response, language: str) -> list[str]:
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        if (problem := _header_problem(html)) is not None:
            return [problem]
        parser = VisibleText()
        parser.feed(html)
        texts = parser.texts
    elif response.mimetype in ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
        table = _table(response)
        texts = [cell for row in table for cell in row if cell]
        if table and any(re.fullmatch(r"[a-z]+(_[a-z]+)*", heading) for heading in table[0]):
            return [f"machine names as headings: {table[0]}"]
    elif response.mimetype == "text/calendar":
        texts = [str(Calendar.from_ical(response.get_data()).get("x-wr-calname", ""))]
        if texts == ["instrument-share"]:
            return ["the feed is named 'instrument-share'"]
    elif response.mimetype == "application/pdf":  # receipts and statements
        texts = [line for page in PdfReader(io.BytesIO(response.get_data())).pages
                 # pypdf reads the embedded CJK font's two-byte codes with a NUL before each character
                 for line in page.extract_text().replace("\x00", "").splitlines() if line.strip()]
    else:
        return []
    return [f"{problem} in {text[:80]!r}" for text in texts for problem in words.problems(text, language)]


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_speaks_the_readers_language(app, walk, role, language):
    world, words = walk
    client = _client(app, world, role, language)
    failures, seen = [], 0
    for path in _pages(world):
        response = client.get(path)
        if response.status_code in SKIPPED_ANSWERS:
            continue
        assert response.status_code < 500, f"{path}: {response.status_code}"
        seen += 1
        failures += [f"{path}: {problem}" for problem in dict.fromkeys(_check(words, response, language))]
    assert seen > 5
    assert not failures, f"{len(failures)} words not in {language} for {role}:\n" + "\n".join(failures)


def test_the_walker_sees_a_code_and_an_english_sentence(app, walk):
    _world, words = walk
    assert words.problems("songjiang 科技局", "zh_CN") == ["code 'songjiang'"]
    assert words.problems("统计 songjiang", "en") == ["code 'songjiang'"]
    assert words.problems("pending", "en") == ["code 'pending'"]
    assert words.problems("The booking is pending approval", "en") == []
    assert words.problems("Maintenance blackout clashes with a booking", "zh_CN")
    assert words.problems("蔡司 Zeiss SEM 扫描电镜", "zh_CN") == []
    assert words.problems("收入 ¥3143720.00", "zh_CN") == ["figure without separators '¥3143720'"]


SERVICE_ERRORS = {"ServiceError", "ValidationFailed", "NotFound", "PermissionDenied", "NotAuthenticated", "Conflict",
                  "Unavailable"}


def test_every_refusal_of_a_service_is_marked_for_translation():
    """A refusal's message is shown on a page through gettext (web.refused,
    the error page): written as a bare string, it is not in the catalogue and
    a Chinese page shows it in English (the blackout clash of issue #19)."""
    root = Path(__file__).resolve().parent.parent / "instrument_share"
    bare = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SERVICE_ERRORS
                    and node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr)):
                bare.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    assert bare == [], "wrap these messages in N_(...): " + ", ".join(bare)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_error_pages_speak_the_readers_language(app, walk, language):
    """The pages the walk skips: a page that is not there (404), one the role
    may not open (403), a method not allowed (405), in the reader's language."""
    world, words = walk
    client = _client(app, world, "firm", language)
    expected = {404: ("找不到该页面", "We could not find that page"),
                403: ("您无权访问此页面", "You may not open this page")}
    for path, status in (("/no-such-page", 404), (f"/instruments/{10**9}", 404), ("/admin/mail/", 403),
                         ("/stats/?city=jinhua", 403), ("/logout", 405)):
        response = client.get(path)
        assert response.status_code == status, path
        parser = VisibleText()
        parser.feed(response.get_data(as_text=True))
        assert [problem for text in parser.texts for problem in words.problems(text, language)] == [], path
        if status in expected:
            assert any(expected[status][language == "en"] in text for text in parser.texts), (path, parser.texts)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refused_blackout_speaks_the_readers_language(app, walk, language):
    """The blackout clash of issue #19: the refusal above the form, in Chinese on a Chinese page."""
    world, words = walk
    client = _client(app, world, "manager", language)
    day = world.text["free_start_local"][:10]
    response = client.post(f"/manage/instruments/{world.ids['instrument']}/blackouts", data={
        "csrf_token": world.csrf["manager"], "start": f"{day}T09:00", "end": f"{day}T12:00", "reason": "年检"})
    assert response.status_code == 409, (response.location, response.get_data(as_text=True)[:300])
    parser = VisibleText()
    parser.feed(response.get_data(as_text=True))
    expected = "该停机时段内有有效预约" if language == "zh_CN" else "Active bookings fall in this blackout"
    assert any(expected in text for text in parser.texts)
    assert [problem for text in parser.texts for problem in words.problems(text, language)] == []


def test_figures_read_as_people_read_them(app):
    with app.test_request_context():
        for language, day in (("zh_CN", "2026年12月1日周二"), ("en", "Tue, Dec 1, 2026")):
            with force_locale(language):
                assert formats.money(Decimal("3143720")) == "¥3,143,720.00"  # ¥, not CN¥, in English too
                assert formats.money("-12.5") == "-¥12.50"
                assert formats.hours(Decimal("1234.56")) == "1,234.6"
                assert formats.percent(Decimal("0.4091")) == "40.9%"
                assert formats.count(12345) == "12,345"
                assert formats.day_with_weekday(date(2026, 12, 1)) == day
                assert formats.day_with_weekday("2026-12-01") == day
                assert formats.money(None) == formats.day_with_weekday(None) == formats.month(None) == ""
                assert formats.month("2025-12") == {"zh_CN": "2025年12月", "en": "Dec 2025"}[language]


GETTEXT = {"_", "gettext", "_l", "lazy_gettext", "N_", "ngettext"}


def test_no_message_is_marked_inside_an_f_string():
    """Babel's extractor does not look inside an f-string: a message marked
    there is never in the catalogue and shows in English (the PDFs' footer)."""
    root = Path(__file__).resolve().parent.parent / "instrument_share"
    hidden = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                hidden += [f"{path.relative_to(root.parent)}:{call.lineno}" for call in ast.walk(node)
                           if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in GETTEXT]
    assert hidden == [], "mark these messages outside the f-string: " + ", ".join(hidden)
