"""Accessibility of the main pages of every role, in Chinese and in English
(issue #19): axe-core's WCAG 2.1 A/AA rules find no serious or critical
violation (tests/browser/axe.py); flash messages are live regions, a
refusal an alert; the calendar's states are told by more than colour; the
calendar and the timeline work from the keyboard.

The corridor built here (`build_corridor`, `role_pages`) is also what the
overflow checks and the page-weight budget walk through."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from instrument_share.booking import schedule, services, usage
from instrument_share.booking.week import monday_of
from instrument_share.extensions import db
from instrument_share.orders import services as orders
from instrument_share.timeutil import platform_today
from instrument_share.vouchers import claims
from instrument_share.vouchers.models import EntryKind, Voucher, VoucherEntry

from ..booking.conftest import at, workday
from ..factories import PASSWORD
from .axe import assert_accessible
from .test_journeys import in_app, past_workdays

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips, or fails under REQUIRE_BROWSER=1
    expect = None

FIRM, MANAGER, BUREAU, ADMIN = ("engineer@a11y.example", "manager@a11y.example", "bureau@a11y.example",
                                "office@a11y.example")


@dataclass(frozen=True)
class Corridor:
    sem: int  # books at once, a blackout and bookings in its week
    xrd: int  # needs approval, takes orders
    day: str  # the working day of the SEM's bookings, ISO
    week: str  # its Monday
    institution: int = 0  # the SEM's; the firm's booking on it, its quoted order (the corridor's only)
    booking: int = 0
    order: int = 0


def build_corridor(make) -> Corridor:
    """A small corridor with something on every page: two institutions, a
    manager, a Jiaxing firm with a voucher, bookings past, pending and
    ahead, an order quoted, a blackout; the bureau of Jiaxing; an admin."""
    manager = make.user(role="manager", email=MANAGER, name="李老师")
    hangzhou = manager.institution
    hangzhou.name, hangzhou.name_en, hangzhou.city_code = "浙江大学分析测试中心", "Zhejiang University Analysis Centre", "hangzhou"
    hefei = make.institution(name="中国科学技术大学理化科学实验中心", name_en="USTC Physical and Chemical Science Centre",
                             city_code="hefei")
    sem = make.instrument(institution=hangzhou, name="场发射扫描电子显微镜", name_en="Field emission SEM",
                          manufacturer="Hitachi High-Tech", model="Regulus 8230", hourly_rate=Decimal("380.00"),
                          location="玉泉校区 分析测试中心 108 室", contact_name="李老师", contact_phone="0571-87950000",
                          description="高分辨形貌观察与能谱分析，适用于金属、陶瓷、高分子与生物样品。")
    xrd = make.instrument(institution=hangzhou, name="X射线衍射仪", name_en="X-ray diffractometer",
                          category_code="analytical-x-ray", manufacturer="Bruker", model="D8 Advance",
                          hourly_rate=Decimal("260.00"), requires_approval=True)
    confocal = make.instrument(institution=hangzhou, name="激光共聚焦显微镜", name_en="Confocal laser scanning microscope",
                               category_code="analytical-microscopy", manufacturer="Leica", model="STELLARIS 5")
    make.instrument(institution=hefei, name="液相色谱-质谱联用仪", name_en="Liquid chromatograph-mass spectrometer",
                    category_code="analytical-mass-spectrometry", manufacturer="Thermo Fisher", model="Q Exactive",
                    hourly_rate=Decimal("450.00"))
    bureau = make.user(role="city_admin", city_code="jiaxing", email=BUREAU, name="嘉兴市科技局")
    make.user(role="admin", email=ADMIN, name="联合办公室")
    engineer = make.user(email=FIRM, name="陈工", firm=make.firm(name="嘉兴新材料有限公司", city_code="jiaxing"))
    voucher = Voucher(firm_id=engineer.firm_id, issuing_city="jiaxing", amount=Decimal("20000.00"),
                      balance=Decimal("20000.00"), expires_on=platform_today() + timedelta(days=365),
                      max_share_bp=5000, created_by_id=bureau.id)
    db.session.add(voucher)
    db.session.flush()
    db.session.add(VoucherEntry(voucher_id=voucher.id, kind=EntryKind.GRANT, delta=voucher.amount,
                                amount=voucher.amount))
    db.session.commit()

    day = workday(3)
    (booking,) = services.create_booking(engineer, sem.id, at(day, "10:00"), at(day, "12:00"), "锂电池正极颗粒形貌观察")
    services.create_booking(make.user(), sem.id, at(day, "14:00"), at(day, "15:30"), "镀层截面观察")
    services.create_booking(engineer, xrd.id, at(day, "09:00"), at(day, "11:00"), "物相鉴定")  # pending
    schedule.create_blackout(sem, manager, at(day, "12:00"), at(day, "13:00"), "液氮补充")
    days = past_workdays(2)
    for past in days:  # the statistics' charts have a city, two categories (one long-named)
        for instrument, purpose in ((sem, "截面形貌"), (confocal, "细胞荧光成像")):
            start, end = at(past, "09:00"), at(past, "11:00")
            (held,) = services.create_booking(engineer, instrument.id, start, end, purpose, now=start - timedelta(days=3),
                                              voucher_id=voucher.id)
            usage.record_usage(held, manager, start, end, "guided")
    db.session.commit()
    claims.file_claim(manager, "jiaxing", days[-1], days[0])  # lines for the bureau to approve or reject
    orders.submit_order(engineer, xrd.id, "锂电正极材料物相分析", "XRD 全谱扫描，2θ 10–80°",
                        [{"name": "NCM811 粉末", "quantity": "2", "unit": "g"}])
    order = orders.submit_order(engineer, xrd.id, "陶瓷涂层物相", "XRD 掠入射", [{"name": "涂层片", "quantity": "3",
                                                                                   "unit": "片"}])
    orders.quote_order(manager, order.id, Decimal("1200"), 5, "含数据分析")
    db.session.commit()
    return Corridor(sem=sem.id, xrd=xrd.id, day=day.isoformat(), week=monday_of(day).isoformat(),
                    institution=hangzhou.id, booking=booking.id, order=order.id)


PEOPLE = {"firm": FIRM, "manager": MANAGER, "bureau": BUREAU, "admin": ADMIN}


def role_pages(c: Corridor, people: dict[str, str] = PEOPLE) -> dict[str, tuple[str | None, list[tuple[str, str]]]]:
    """Each role's sign-in (`people`: role → e-mail) and its main pages, (name, path)."""
    booking = f"/instruments/{c.sem}?week={c.week}&start={c.day}T16:00&end={c.day}T17:00"
    return {
        "anonymous": (None, [
            ("home", "/"), ("search", "/search?q=%E8%B0%B1"), ("instrument", f"/instruments/{c.sem}?week={c.week}"),
            ("login", "/login"), ("register", "/register"),
        ]),
        "firm": (people["firm"], [
            ("workspace", "/workspace"), ("my-bookings", "/bookings"), ("booking-form", booking),
            ("vouchers", "/vouchers/"), ("orders", "/orders"), ("order-form", f"/instruments/{c.xrd}/order"),
            ("profile", "/profile"),
        ]),
        "manager": (people["manager"], [
            ("desk", "/manage/"), ("timeline", "/manage/schedule"), ("timeline-week", "/manage/schedule?view=week"),
            ("instrument-editor", f"/manage/instruments/{c.sem}"), ("order-desk", "/manage/orders"),
            ("calendar", f"/instruments/{c.sem}?week={c.week}"),  # bookings named, each a link
        ]),
        "bureau": (people["bureau"], [("vouchers-admin", "/vouchers/"), ("statistics", "/stats/")]),
        "admin": (people["admin"], [("statistics", "/stats/"), ("outbox", "/admin/mail/")]),
    }


def more_pages(c: Corridor) -> dict[str, list[str]]:
    """Pages beyond the main ones that axe checks too (not weighed nor pictured)."""
    return {
        "anonymous": ["/password-reset", "/guide/firms", "/guide/institutions", f"/institutions/{c.institution}"],
        "firm": [f"/bookings/{c.booking}", f"/orders/{c.order}", "/firm/members", f"/statements/{c.day[:7]}"],
        "manager": ["/manage/instruments/new", "/manage/instruments/import", "/manage/staff", "/manage/audit",
                    f"/manage/instruments/{c.sem}/history", f"/orders/{c.order}", f"/bookings/{c.booking}"],
        "bureau": [], "admin": [],
    }


def sign_in_as(journey, email: str | None, password: str = PASSWORD) -> None:
    journey.page.context.clear_cookies()
    if email is not None:
        journey.sign_in(email, password)


def tab_until(page, selector: str, most: int = 60) -> bool:
    """Press Tab until the focus is on an element matching `selector`."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return True
    return False


def switch_language(page, code: str) -> None:
    """The navbar's language switch, as its form posts it (whatever the
    navbar looks like): the session keeps the choice."""
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(f"/language/{code}", form={"csrf_token": token, "next": "/"})
    assert answer.ok, answer.status


@pytest.mark.slow
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_main_pages_of_every_role_pass_axe(app, journey, language):
    corridor = in_app(app, build_corridor)
    page = journey.page
    checked, failures, found = [], [], {}
    more = more_pages(corridor)
    for role, (email, pages) in role_pages(corridor).items():
        sign_in_as(journey, email)
        page.goto("/")
        if language == "en":
            switch_language(page, "en")
        for name, path in pages + [(path.strip("/"), path) for path in more[role]]:
            page.goto(path)
            expect(page.locator("html")).to_have_attribute("lang", "en" if language == "en" else "zh-CN")
            try:  # every page checked, then every finding reported at once
                found[f"{role}/{name}"] = assert_accessible(page, f"{role} {name} ({language}) {path}")
            except AssertionError as blocking:
                failures.append(str(blocking))
            checked.append(f"{role}/{name}")
        journey.assert_no_errors(f"{role} in {language}")
    # The lesser findings (moderate, minor) stay beside the screenshots, for reading.
    (journey.folder / "axe-lesser.json").write_text(json.dumps(found, ensure_ascii=False, indent=1))
    assert not failures, "\n\n".join(failures)
    assert len(checked) == 22 + 15


def test_flash_messages_are_live_regions(app, journey):
    """A refusal is an alert (read out at once); a confirmation is an alert
    or a status (read out when the reader is idle)."""
    corridor = in_app(app, build_corridor)
    page = journey.page
    journey.sign_in(FIRM)
    page.goto(f"/instruments/{corridor.sem}")
    with page.expect_navigation():
        page.locator("#favourite button").click()
    done = page.locator("main .alert-success")
    expect(done).to_be_visible()
    assert done.get_attribute("role") in ("alert", "status")

    sign_in_as(journey, MANAGER)
    page.goto(f"/manage/instruments/{corridor.sem}")
    page.locator("input[name=open-0-0]").fill("25:99")
    with page.expect_navigation():
        page.locator("input[name=open-0-0]").press("Enter")
    refused = page.locator("main .alert-danger")
    expect(refused).to_be_visible()
    expect(refused).to_have_attribute("role", "alert")
    journey.errors.clear()  # the refused form answers 4xx, as it should


def test_calendar_and_timeline_tell_states_by_more_than_colour_and_work_from_the_keyboard(app, journey):
    corridor = in_app(app, build_corridor)
    page = journey.page
    journey.sign_in(FIRM)
    page.goto(f"/instruments/{corridor.sem}?week={corridor.week}")
    week = page.locator("table.week")
    # Every state carries a word (shown or read) besides its colour.
    for state in ("free", "booking", "blackout", "closed"):
        cells = week.locator(f"td.cell-{state}")
        assert cells.count() > 0, state
        for index in (0, cells.count() - 1):
            cell = cells.nth(index)
            told = cell.evaluate("c => (c.innerText + ' ' + (c.querySelector('[aria-label]') || c)"
                                 ".getAttribute('aria-label') + ' ' + (c.getAttribute('title') || '')).trim()")
            assert told.replace("null", "").strip(), f"a {state} cell is told by colour alone"
    # The legend's swatches are named.
    expect(page.locator("#calendar .legend")).to_contain_text("空闲")
    # Too soon to book (inside the booking notice, 24 h): this week's half
    # hours, or next week's late on a Sunday; also told in words.
    this_week = in_app(app, lambda _make: monday_of(platform_today()))
    too_soon = 0
    for monday in (this_week, this_week + timedelta(days=7)):
        page.goto(f"/instruments/{corridor.sem}?week={monday.isoformat()}")
        cells = week.locator("td.cell-notice")
        too_soon += cells.count()
        for index in range(min(cells.count(), 2)):
            cell = cells.nth(index if index == 0 else cells.count() - 1)
            expect(cell).to_have_attribute("title", "太近：在该仪器的提前预约期限内")
            assert cell.locator("span").text_content() == "距今太近"
    assert too_soon > 0, "no half hour inside the booking notice"
    page.goto(f"/instruments/{corridor.sem}?week={corridor.week}")
    # From the keyboard: Tab from the week's navigation reaches the free half hours,
    # and Enter on one picks it.
    page.locator("#calendar h2 ~ a").last.focus()
    assert tab_until(page, "td.cell-free a"), "Tab never reaches a free half hour"
    first_free = week.locator(f'td.cell-free[data-start="{corridor.day}T16:00"] a')
    first_free.focus()
    expect(first_free).to_be_focused()
    page.keyboard.press("Enter")
    page.locator(f'td.cell-free[data-start="{corridor.day}T16:30"] a').focus()
    page.keyboard.press("Enter")
    expect(page.locator("td.cell-selected")).to_have_count(2)
    form = page.locator("#booking-form form")
    expect(form.locator("input[name=start]")).to_have_value(f"{corridor.day}T16:00")
    expect(form.locator("input[name=end]")).to_have_value(f"{corridor.day}T17:00")
    # The first taken cell of a run says what it is, on the page.
    expect(week.locator("td.cell-booking .cell-word").first).to_have_text("已预约")
    expect(week.locator("td.cell-blackout .cell-word").first).to_have_text("维护停机")

    # The instrument's manager sees whose bookings they are: each cell a named link.
    sign_in_as(journey, MANAGER)
    page.goto(f"/instruments/{corridor.sem}?week={corridor.week}")
    booked = week.locator("td.cell-booking a")
    assert booked.count() >= 4  # 10:00–12:00 in half hours
    for index in (0, booked.count() - 1):
        expect(booked.nth(index)).to_have_attribute("aria-label", re.compile("已预约 .+"))
    booked.first.focus()
    expect(booked.first).to_be_focused()

    # The manager's timeline: each booking bar is a link the keyboard reaches and names.
    page.goto(f"/manage/schedule?view=week&day={corridor.day}")
    bars = page.locator("#timeline a.tl-booking")
    assert bars.count() >= 3
    page.locator("#timeline .tl-name a").first.focus()
    assert tab_until(page, "a.tl-booking"), "Tab never reaches a booking bar"
    name = page.evaluate("document.activeElement.textContent")
    assert name.strip(), "a timeline bar has no name"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/bookings/" in page.url
