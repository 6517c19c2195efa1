"""Text is clean at the door (issue #13, finding 6): one rule for one-line
fields and one for all text (text.py), the same through the API, the web
forms, the voucher CSV and `flask users create`. What stored text does to
calendars and mail is in mail/test_stored_text.py."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from instrument_share.accounts.models import Firm, User
from instrument_share.booking.models import Blackout, Booking
from instrument_share.catalogue.models import Instrument
from instrument_share.extensions import db
from instrument_share.text import (
    TextRefused,
    clean_line,
    clean_text,
    fold_line,
    is_blank,
    line_for_output,
    text_for_output,
)
from instrument_share.vouchers.models import Voucher

from .booking.conftest import iso
from .conftest import csrf_token_from
from .factories import valid_uscc

ZERO_WIDTH_ONLY = ["\u200b", " \u200b\u200c\u200d ", "\u2060\ufeff", "\u00ad", "\u3000\u3164", "\t\n"]


# The rules themselves.

@pytest.mark.parametrize("value, message", [
    ("a\nb", "single line"), ("a\rb", "single line"), ("a\u2028b", "single line"),
    ("a\u2029b", "single line"), ("a\x85b", "single line"), ("a\x0bb", "single line"),
    ("a\x00b", "control characters"), ("a\tb", "control characters"), ("a\x1bb", "control characters"),
    ("a\x7fb", "control characters"), ("a\x9fb", "control characters"),
    ("a\ud800b", "surrogate"), ("\udfff", "surrogate"),
])
def test_a_line_refuses_breaks_controls_and_surrogates(value, message):
    with pytest.raises(TextRefused, match=message):
        clean_line(value)


def test_a_line_is_stripped_and_keeps_what_people_write():
    assert clean_line("  场发射扫描电镜 SU8010  ") == "场发射扫描电镜 SU8010"
    assert clean_line("Zeiss\u00a0Sigma 300 — 🔬 «ok» \u200d") == "Zeiss\u00a0Sigma 300 — 🔬 «ok» \u200d"


@pytest.mark.parametrize("value", ["a\x00b", "a\x08b", "a\x1bb", "a\x7fb", "a\x85b", "a\x0cb", "\ud83d"])
def test_a_text_refuses_nul_controls_and_surrogates(value):
    with pytest.raises(TextRefused):
        clean_text(value)


def test_a_text_keeps_tabs_and_line_breaks_with_lf_endings():
    assert clean_text("第一行\r\n第二行\r第三行\n\tindented\u2028") == "第一行\n第二行\n第三行\n\tindented"


@pytest.mark.parametrize("value", ZERO_WIDTH_ONLY + ["", "   "])
def test_whitespace_and_invisible_characters_are_blank(value):
    assert is_blank(value)
    assert clean_text(value.replace("\t", " ").replace("\n", " ")) == ""
    assert fold_line(value) == ""


@pytest.mark.parametrize("value", ["a", "\u200bx", "。", "·"])
def test_anything_visible_is_not_blank(value):
    assert not is_blank(value)


def test_a_form_folds_line_breaks_in_a_line_and_still_refuses_nul():
    assert fold_line("王 \r\n 老师\t(分析中心)") == "王 老师 (分析中心)"
    with pytest.raises(TextRefused, match="control characters"):
        fold_line("王\x00老师")


def test_output_never_refuses():
    assert line_for_output("a\r\nBcc: x\x00\x1b[0m\u2028b\ud800") == "a Bcc: x [0m b\ufffd"
    assert line_for_output(None) == ""
    assert text_for_output("a\r\nb\x00c\x0bd\te\ud800\u2029f") == "a\nbcd\te\ufffd\nf"


# The API refuses (422, the field named) and changes nothing.

def _instrument_body(**fields) -> dict:
    return {"name": "原子力显微镜", "category": "analytical-electron-optics", **fields}


@pytest.mark.parametrize("field, value", [
    ("name", "原子力\n显微镜"), ("model", "SU\x008010"), ("location", "A楼\r112"),
    ("manufacturer", "Bruker\u2028Inc"), ("contact", {"email": "afm@zju.example\r\nBcc: all@evil.example"}),
    ("contact", {"name": "王\t老师"}), ("category", "analytical\x00"), ("status", "normal\n"),
    ("description", "nul\x00here"), ("specifications", "\x1b[31m red"),
])
def test_the_api_refuses_broken_text_in_an_instrument(make, api, field, value):
    manager = make.user("manager")
    response = api.as_user(manager).post("/api/v1/instruments", json=_instrument_body(**{field: value}))
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["fields"]) == [field]
    assert db.session.scalar(sa.select(sa.func.count(Instrument.id))) == 0


def test_the_api_stores_clean_text(make, api):
    manager = make.user("manager")
    created = api.as_user(manager).post("/api/v1/instruments", json=_instrument_body(
        name="  原子力显微镜 ", description="分辨率\r\n0.1 nm\r\n", contact={"email": " afm@zju.example "},
        sharing_rules="\u200b")).get_json()
    db.session.expire_all()
    instrument = db.session.get(Instrument, created["id"])
    assert (instrument.name, instrument.description) == ("原子力显微镜", "分辨率\n0.1 nm")
    assert (instrument.contact_email, instrument.sharing_rules) == ("afm@zju.example", "")


@pytest.mark.parametrize("name", ["\u200b", " \u2060 "])
def test_a_name_of_invisible_characters_is_refused(make, api, name):
    manager = make.user("manager")
    response = api.as_user(manager).post("/api/v1/instruments", json=_instrument_body(name=name))
    assert response.status_code == 422 and "name" in response.get_json()["fields"]


@pytest.mark.parametrize("purpose", ZERO_WIDTH_ONLY)
def test_a_purpose_of_only_invisible_characters_is_refused(make, api, day, purpose):
    response = api.as_user(make.user()).post("/api/v1/bookings", json={
        "instrument_id": make.instrument().id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": purpose})
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"purpose": ["Required: give some visible text."]}
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_a_blackout_reason_is_one_line(make, api, day):
    instrument = make.instrument()
    manager = make.user("manager", institution_id=instrument.institution_id)
    response = api.as_user(manager).post(f"/api/v1/instruments/{instrument.id}/blackouts", json={
        "start": iso(day, "09:00"), "end": iso(day, "12:00"), "reason": "年度\n维护"})
    assert response.status_code == 422 and list(response.get_json()["fields"]) == ["reason"]
    assert db.session.scalar(sa.select(sa.func.count(Blackout.id))) == 0


# Web forms: line breaks in a one-line field fold into spaces; NUL and other
# control characters are refused next to the field; CRLF becomes LF.

def test_the_booking_form_stores_lf_and_refuses_nul_and_invisible_purposes(browser, client, make, day):
    make.user(email="li@firm.example")
    instrument = make.instrument()
    browser.login("li@firm.example")
    browser.english()
    url = f"/instruments/{instrument.id}/book"
    form = {"start": f"{day}T10:00", "end": f"{day}T11:00", "weeks": "1", "voucher_id": "0"}
    page = f"/instruments/{instrument.id}"
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    for purpose, says in (("镀层\x00厚度", "control characters"), ("\u200b\u200b", "required")):
        response = client.post(url, data={**form, "purpose": purpose, "csrf_token": token})
        assert response.status_code == 422
        assert says in response.get_data(as_text=True).lower()
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    response = client.post(url, data={**form, "purpose": "镀层厚度\r\n截面", "csrf_token": token, "confirm": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(Booking.purpose)) == "镀层厚度\n截面"


def test_the_blackout_form_folds_a_reason_onto_one_line(browser, client, make, day):
    instrument = make.instrument()
    make.user("manager", email="mgr@uni.example", institution_id=instrument.institution_id)
    browser.login("mgr@uni.example")
    url = f"/manage/instruments/{instrument.id}/blackouts"
    token = csrf_token_from(client.get(f"/manage/instruments/{instrument.id}/schedule").get_data(as_text=True))
    form = {"start": f"{day}T09:00", "end": f"{day}T12:00", "csrf_token": token}
    assert client.post(url, data={**form, "reason": "年度\x00维护"}).status_code == 422
    assert client.post(url, data={**form, "reason": "年度\r\n维护\t保养"}).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(Blackout.reason)) == "年度 维护 保养"


def test_registration_refuses_nul_and_creates_nothing(browser, client, app_context):
    browser.english()
    page = client.get("/register").get_data(as_text=True)
    response = client.post("/register", data={
        "csrf_token": csrf_token_from(page), "name": "李\x00工", "email": "li@firm.example",
        "password": "correct horse battery", "confirm": "correct horse battery",
        "firm_name": "嘉兴\x00科技有限公司", "uscc": valid_uscc(77, "330400"), "city": "jiaxing"})
    assert response.status_code in (200, 422)
    assert response.get_data(as_text=True).count("control characters") == 2
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Firm.id))) == 0


# The voucher CSV and the CLI take the same rule.

def test_a_voucher_csv_with_a_control_character_grants_nothing(browser, client, make):
    firm = make.firm(city_code="jinhua")
    make.user("city_admin", email="bureau@jinhua.example", city_code="jinhua")
    browser.login("bureau@jinhua.example")
    browser.english()
    token = csrf_token_from(client.get("/vouchers/").get_data(as_text=True))
    next_year = (date.today() + timedelta(days=365)).isoformat()
    for cell in (f"{firm.uscc}\x00", f'"{firm.uscc}\n"'):
        csv = f"{cell},1000\n".encode()
        response = client.post("/vouchers/grant-csv", data={
            "csrf_token": token, "max_share": "0.5", "expires_on": next_year,
            "file": (io.BytesIO(csv), "grants.csv")}, content_type="multipart/form-data", follow_redirects=True)
        assert "Nothing was granted" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Voucher.id))) == 0


@pytest.mark.parametrize("option, value", [
    ("--name", "李\n工"), ("--email", "a@x.example\r\nBcc: b@x.example"), ("--name", "李\x00工")])
def test_users_create_refuses_broken_text(runner, app_context, option, value):
    args = {"--email": "a@x.example", "--password": "bench-key-4471", "--role": "admin", "--name": "李工",
            option: value}
    result = runner.invoke(args=["users", "create", *[x for pair in args.items() for x in pair]])
    assert result.exit_code == 2 and option in result.output, result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_pages_take_nul_in_query_strings_without_a_500(app, client, browser, make):
    """PostgreSQL refuses NUL in any text parameter: codes read from query
    strings (search, statistics) pass the one-line rule first."""
    make.user("admin", email="office@g60.example")
    browser.login("office@g60.example")
    query = "&".join(f"{name}=a%00" for name in (
        "q", "city", "category", "sort", "status", "institution", "page", "from", "to", "week", "of"))
    pages = sorted(rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/api/"))
    assert "/search" in pages and "/stats/" in pages
    for page in pages:
        assert client.get(f"{page}?{query}").status_code < 500, page
    search = client.get("/search?city=hang%00zhou&q=%E8%B4%A8%E8%B0%B1").get_data(as_text=True)
    assert "质谱" in search
