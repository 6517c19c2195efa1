"""The look in a real browser (issue #19): for each role, in Chinese and in
English, the main navigation is one line at 1366 px (its groups 找仪器 /
我的 / 管理 / 统计 as the role may use them), and on a 390 px phone the main
pages scroll only up and down and their list tables are cards. No chart
label is cut off at either width."""
from __future__ import annotations

import pytest

from instrument_share.booking import services
from instrument_share.extensions import db

from ..booking.conftest import at, workday
from .test_journeys import in_app

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips, or fails under REQUIRE_BROWSER=1
    expect = None

DESKTOP = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}

# Long names on purpose: the user link is the widest item of the bar.
PEOPLE = {
    "firm": ("look-firm@firm.example", "欧阳工程师"),
    "manager": ("look-manager@lab.example", "司马实验室主任"),
    "city_admin": ("look-bureau@jinhua.example", "金华市科技局管理员"),
    "admin": ("look-office@g60.example", "走廊联合办公室管理员"),
}
# The top level of the bar, by role: (Chinese, English).
TOP_LEVEL = {
    "anonymous": [("查找仪器", "Find instruments")],
    "firm": [("查找仪器", "Find instruments"), ("我的", "Mine")],
    "manager": [("查找仪器", "Find instruments"), ("我的", "Mine"), ("管理台", "Manager desk"),
                ("委托测试台", "Order desk"), ("管理", "Manage"), ("统计", "Statistics")],
    "city_admin": [("查找仪器", "Find instruments"), ("我的", "Mine"), ("管理", "Manage"), ("统计", "Statistics")],
    "admin": [("查找仪器", "Find instruments"), ("我的", "Mine"), ("管理台", "Manager desk"),
              ("委托测试台", "Order desk"), ("管理", "Manage"), ("统计", "Statistics")],
}
MAIN_PAGES = {
    "firm": ["/", "/search?q=%E6%98%BE%E5%BE%AE%E9%95%9C", "/workspace", "/bookings", "/vouchers/", "/orders",
             "/profile"],
    "manager": ["/manage/", "/manage/orders", "/manage/schedule", "/orders", "/bookings", "/stats/"],
    "city_admin": ["/vouchers/", "/stats/", "/bookings"],
    "admin": ["/stats/", "/manage/", "/vouchers/", "/admin/mail/", "/bookings"],
}

# Where each visible item of the bar sits: its top, height and text, and
# whether its own text is wider than the item (clipped).
BAR_ITEMS = """
() => {
  const nav = document.querySelector("nav.navbar");
  const items = [nav.querySelector(".navbar-brand"),
                 ...nav.querySelectorAll("#mainnav > .navbar-nav > .nav-item")];
  return {
    navHeight: nav.getBoundingClientRect().height,
    items: items.filter(e => e.offsetParent !== null).map(e => {
      const box = e.getBoundingClientRect();
      const link = e.querySelector(".nav-link, .btn") || e;
      return {text: e.innerText.trim(), top: box.top, bottom: box.bottom, height: box.height,
              linkHeight: link.getBoundingClientRect().height,
              clipped: !link.classList.contains("user-link") && link.scrollWidth > link.clientWidth + 1};
    }),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
}
"""
PAGE_WIDTH = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
# Every label of every chart inside its chart's box (none cut off at an edge).
CLIPPED_CHART_TEXT = """
() => [...document.querySelectorAll("svg.chart")].flatMap(svg => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll("text")].filter(t => {
    const r = t.getBoundingClientRect();
    return r.width && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1);
  }).map(t => t.textContent);
})
"""


def _world(make):
    """One person of each role, an instrument of the manager's institution,
    and a booking of the firm on it (so the lists have a row)."""
    manager = make.user(role="manager", email=PEOPLE["manager"][0], name=PEOPLE["manager"][1])
    firm_user = make.user(email=PEOPLE["firm"][0], name=PEOPLE["firm"][1])
    make.user(role="city_admin", email=PEOPLE["city_admin"][0], name=PEOPLE["city_admin"][1], city_code="jinhua")
    make.user(role="admin", email=PEOPLE["admin"][0], name=PEOPLE["admin"][1])
    instrument = make.instrument(institution_id=manager.institution_id, name="场发射扫描电子显微镜",
                                 name_en="Field emission scanning electron microscope")
    day = workday(4)
    services.create_booking(firm_user, instrument.id, at(day, "09:00"), at(day, "11:00"), "材料断口形貌观察")
    db.session.commit()


@pytest.fixture
def look_world(app):
    in_app(app, _world)


def _shot(journey, name: str) -> None:
    """A screenshot of the step (any size: the phone's is narrower than the
    journeys' usual check), and nothing went wrong in the browser."""
    journey.steps += 1
    journey.page.screenshot(path=str(journey.folder / f"{journey.steps:02d}-{name}.png"), full_page=True)
    journey.assert_no_errors(name)


def _switch_language(page, to: str) -> None:
    label = "English" if to == "en" else "中文"
    with page.expect_navigation():
        page.locator("nav.navbar").get_by_role("button", name=label).click()
    expect(page.locator("html")).to_have_attribute("lang", "en" if to == "en" else "zh-CN")


# The page's landmarks (WCAG 2.1 1.3.1, 2.4.1; axe's landmark rules are
# best practice, outside the WCAG tags the journeys run): one main, one
# top-level header region (the bar) and footer, every navigation named.
LANDMARKS = """
() => ({
  main: document.querySelectorAll("main").length,
  footer: document.querySelectorAll("body > footer").length,
  unnamed: [...document.querySelectorAll("nav")].filter(n => !n.getAttribute("aria-label")
                                                        && !n.getAttribute("aria-labelledby")).length,
})
"""


def _check_bar(journey, role: str, language: str) -> None:
    page = journey.page
    where = f"{role}, {language}"
    assert page.evaluate(LANDMARKS) == {"main": 1, "footer": 1, "unnamed": 0}, f"landmarks ({where})"
    bar = page.evaluate(BAR_ITEMS)
    texts = [item["text"] for item in bar["items"]]
    wanted = [pair[0 if language == "zh_CN" else 1] for pair in TOP_LEVEL[role]]
    for label in wanted:
        assert any(text == label for text in texts), f"{label!r} is not in the bar ({where}): {texts}"
    # One row: every item (the brand too) centred on the same line; a second
    # row would put some items a whole line lower.
    middles = [(item["top"] + item["bottom"]) / 2 for item in bar["items"]]
    assert max(middles) - min(middles) <= 3, f"the bar wraps ({where}): {bar['items']}"
    for item in bar["items"]:
        assert item["linkHeight"] <= 48, f"{item['text']!r} wraps onto two lines ({where}): {item}"
        assert not item["clipped"], f"{item['text']!r} is cut off ({where})"
    assert bar["navHeight"] <= 80, f"the bar is {bar['navHeight']} px high ({where})"
    assert bar["overflow"] <= 0, f"the page scrolls sideways at 1366 px ({where})"
    # Each group opens to its links.
    groups = page.locator("nav.navbar .dropdown-toggle")
    for index in range(groups.count()):
        toggle = groups.nth(index)
        toggle.click()
        menu = page.locator(f"nav.navbar ul[aria-labelledby='{toggle.get_attribute('id')}']")
        expect(menu).to_be_visible()
        assert menu.locator("a.nav-link").count() >= 1
        page.keyboard.press("Escape")
        expect(menu).to_be_hidden()


def _check_phone(journey, role: str, language: str) -> None:
    page = journey.page
    for path in MAIN_PAGES[role]:
        page.goto(path)
        expect(page.locator("nav.navbar .navbar-toggler")).to_be_visible()
        expect(page.locator("#mainnav")).to_be_hidden()
        scroll, client = page.evaluate(PAGE_WIDTH)
        assert scroll <= client, f"{path} scrolls sideways on a phone ({role}, {language}): {scroll} > {client}"
        assert not page.evaluate(CLIPPED_CHART_TEXT), f"chart labels cut off on {path} ({role}, {language})"
        for table in page.locator("main table.table-stack").all():
            if table.locator("tbody tr").count():
                expect(table.locator("thead")).to_be_hidden()
    # The toggler opens the bar, and a group opens in place.
    page.locator("nav.navbar .navbar-toggler").click()
    expect(page.locator("#mainnav")).to_be_visible()
    mine = page.locator("nav.navbar").get_by_role("button", name="我的" if language == "zh_CN" else "Mine")
    mine.click()
    expect(page.locator("nav.navbar ul[aria-labelledby='nav-mine']")).to_be_visible()
    scroll, client = page.evaluate(PAGE_WIDTH)
    assert scroll <= client, f"the open menu scrolls sideways ({role}, {language})"


def test_the_bar_of_a_visitor_is_one_line_in_both_languages(look_world, journey):
    """Signed out: the search, the language switch, sign-in and registration
    on one line at 1366 px, in Chinese and in English."""
    page = journey.page
    page.set_viewport_size(DESKTOP)
    for language in ("zh_CN", "en"):
        page.goto("/")
        if language == "en":
            _switch_language(page, "en")
        for path in ("/", "/search?q=%E6%98%BE%E5%BE%AE%E9%95%9C"):
            page.goto(path)
            _check_bar(journey, "anonymous", language)
        _shot(journey, f"anonymous-bar-{language}")
    _switch_language(page, "zh_CN")


@pytest.mark.parametrize("role", list(PEOPLE))
def test_the_bar_is_one_line_and_the_pages_fit_a_phone(look_world, journey, role):
    page = journey.page
    page.set_viewport_size(DESKTOP)
    journey.sign_in(PEOPLE[role][0])
    name = PEOPLE[role][1]
    expect(page.locator("nav.navbar")).to_contain_text(name)
    for language in ("zh_CN", "en"):
        if language == "en":
            _switch_language(page, "en")
        for path in MAIN_PAGES[role][:2]:
            page.set_viewport_size(DESKTOP)
            page.goto(path)
            _check_bar(journey, role, language)
            assert not page.evaluate(CLIPPED_CHART_TEXT), f"chart labels cut off on {path} ({role}, {language})"
        _shot(journey, f"bar-{language}")
        page.set_viewport_size(PHONE)
        _check_phone(journey, role, language)
        _shot(journey, f"phone-{language}")
        page.set_viewport_size(DESKTOP)
        page.goto(MAIN_PAGES[role][0])
    _switch_language(page, "zh_CN")
