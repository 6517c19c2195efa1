"""The main pages at 1366 px (a laptop) and 390 px (a phone), issue #19.

Always: no page of any role scrolls sideways at either width, no
button, navigation link, table heading or form label clips its words
(its content wider than its box), and no chart's label runs past the
chart's edge. On a phone the navigation is opened as well, so its links
are measured too.

With SCREENSHOTS=1 (`make screenshots`): the demo region of `make run`
is seeded (about a minute) and PNGs of its main pages go into
docs/screenshots/, what the README's "Screenshots" shows. Each is the
viewport only (1366×900 or 390×844 at one device pixel per CSS pixel), so
the files stay small enough to commit."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from instrument_share.accounts.models import User
from instrument_share.booking.models import Booking
from instrument_share.booking.week import monday_of
from instrument_share.catalogue.models import Instrument
from instrument_share.demo.seed import DEMO_PASSWORD
from instrument_share.extensions import db

from ..booking.conftest import at, workday
from ..conftest import fixture_context
from ..factories import PASSWORD
from .test_accessibility_journey import (
    Corridor,
    build_corridor,
    role_pages,
    sign_in_as,
    switch_language,
)
from .test_journeys import in_app

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips, or fails under REQUIRE_BROWSER=1
    expect = None

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {1366: 900, 390: 844}  # width: height of the viewport
DEMO_PEOPLE = {"firm": "engineer-jiaxing@g60.example", "manager": "manager-dhu@g60.example",
               "bureau": "bureau-jiaxing@g60.example", "admin": "office@g60.example"}

# What the README shows: (role, page of role_pages, languages).
SHOWN = [
    ("anonymous", "home", ("zh_CN", "en")),
    ("anonymous", "search", ("zh_CN",)),
    ("anonymous", "instrument", ("zh_CN", "en")),
    ("firm", "workspace", ("zh_CN",)),
    ("firm", "booking-form", ("zh_CN",)),
    ("firm", "my-bookings", ("zh_CN",)),
    ("manager", "desk", ("zh_CN",)),
    ("manager", "timeline-week", ("zh_CN",)),
    ("bureau", "vouchers-admin", ("zh_CN",)),
    ("admin", "statistics", ("zh_CN", "en")),
]

# The page's sideways scroll, and the visible labels whose words do not fit their box.
MEASURE = """() => {
  const clipped = [];
  const labels = "button, .btn, nav a, .nav-link, .navbar-brand, th, label, .form-label, .badge";
  for (const el of document.querySelectorAll(labels)) {
    if (!el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    if (el.closest(".visually-hidden")) continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      clipped.push(`${el.tagName.toLowerCase()}.${[...el.classList].join(".")} "${el.innerText.trim().slice(0, 40)}"`
                   + ` ${el.scrollWidth}>${el.clientWidth}`);
    }
  }
  // A chart's words outside its box are cut off by the SVG's edge.
  for (const text of document.querySelectorAll("svg.chart text")) {
    const box = text.getBoundingClientRect(), frame = text.closest("svg.chart").getBoundingClientRect();
    if (!box.width) continue;
    if (box.left < frame.left - 1 || box.right > frame.right + 1 || box.top < frame.top - 1 || box.bottom > frame.bottom + 1) {
      clipped.push(`chart text "${text.textContent.trim().slice(0, 40)}" outside its chart`);
    }
  }
  return {overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth, clipped};
}"""


def open_phone_menu(page) -> None:
    """On a phone the navigation is behind its toggle: open it to measure its links."""
    toggler = page.locator("nav .navbar-toggler")
    if toggler.count() and toggler.is_visible():
        toggler.click()
        expect(page.locator("nav .navbar-collapse.show")).to_be_visible()


def measure(page, width: int, where: str) -> list[str]:
    """What does not fit on the page as it is now: sideways scroll, clipped labels."""
    found = page.evaluate(MEASURE)
    problems = []
    if found["overflow"] > 0:
        problems.append(f"{where} at {width} px scrolls sideways by {found['overflow']} px")
    problems.extend(f"{where} at {width} px clips {label}" for label in found["clipped"])
    return problems


def walk(journey, roles: dict, language: str, visit, password: str = PASSWORD) -> list[str]:
    """Every page of `roles` (role_pages) in `language` at both widths;
    `visit(page, role, name, width)` runs on each before it is measured."""
    page, problems = journey.page, []
    for role, (email, pages) in roles.items():
        page.set_viewport_size({"width": 1366, "height": 900})
        sign_in_as(journey, email, password)
        page.goto("/")
        if language == "en":
            switch_language(page, "en")
        for name, path in pages:
            for width, height in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": height})
                page.goto(path)
                where = f"{role} {name} ({language}) {path}"
                visit(page, role, name, width)
                problems.extend(measure(page, width, where))
                if width < 768:
                    open_phone_menu(page)
                    problems.extend(measure(page, width, where + " with the menu open"))
        journey.assert_no_errors(f"{role} in {language}")
    return problems


def demo_corridor(app, runner) -> Corridor:
    """`flask seed-demo` on the test database (about a minute), and the pages
    of its people: Jiaxing's firm and bureau, Donghua University's manager
    and the joint office; the manager's busiest instrument of the week."""
    with fixture_context(app):  # as `flask seed-demo` runs it, in an app context of its own
        try:
            result = runner.invoke(args=["seed-demo"])
        finally:
            db.session.remove()
    assert result.exit_code == 0, result.output
    day = workday(3)
    monday = monday_of(day)
    with fixture_context(app):
        try:
            institution_id = db.session.scalar(sa.select(User.institution_id).where(User.email == DEMO_PEOPLE["manager"]))
            busiest = db.session.scalar(
                sa.select(Booking.instrument_id).join(Instrument, Instrument.id == Booking.instrument_id)
                .where(Instrument.institution_id == institution_id, Booking.start >= at(monday, "00:00"),
                       Booking.start < at(monday + timedelta(days=7), "00:00"))
                .group_by(Booking.instrument_id).order_by(sa.func.count().desc(), Booking.instrument_id).limit(1))
            taking_orders = next(i.id for i in db.session.scalars(
                sa.select(Instrument).where(Instrument.accepts_orders.is_(True)).order_by(Instrument.id))
                if i.in_service)
        finally:
            db.session.remove()
    return Corridor(sem=busiest, xrd=taking_orders, day=day.isoformat(), week=monday.isoformat())


@pytest.mark.slow
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_no_page_scrolls_sideways_or_clips_a_label(app, journey, language):
    corridor = in_app(app, build_corridor)
    problems = walk(journey, role_pages(corridor), language, lambda *_: None)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("SCREENSHOTS") != "1", reason="screenshots are made by `make screenshots`")
def test_screenshots_of_the_main_pages(app, runner, journey):
    """The demo region (`make run`'s) as a visitor of the README would see it."""
    roles = role_pages(demo_corridor(app, runner), DEMO_PEOPLE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    made = []
    for language in ("zh_CN", "en"):
        wanted = {(role, name) for role, name, languages in SHOWN if language in languages}

        def shoot(page, role, name, width, wanted=wanted, language=language):
            if (role, name) in wanted:
                page.wait_for_load_state("networkidle")
                suffix = "" if language == "zh_CN" else f"-{language}"
                path = SCREENSHOTS / f"{role}-{name}{suffix}-{width}.png"
                page.screenshot(path=str(path), animations="disabled", caret="hide")
                made.append(path)

        problems = walk(journey, roles, language, shoot, DEMO_PASSWORD)
        assert not problems, "\n".join(problems)
    assert len(made) == 2 * sum(len(languages) for *_, languages in SHOWN)
    for path in made:
        assert path.stat().st_size < 400_000, f"{path.name} is {path.stat().st_size:,} bytes"
