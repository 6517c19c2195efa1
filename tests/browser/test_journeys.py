"""What people do on the site, in a real browser: a firm registers, confirms
its address from the mail and books, a manager approves and records usage,
an admin reads the statistics."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_string, policy

import sqlalchemy as sa
from icalendar import Calendar
from pypdf import PdfReader

from instrument_share.accounts.models import User
from instrument_share.booking import services, usage
from instrument_share.booking.calendar import effective_weekday
from instrument_share.booking.ics import booking_uid
from instrument_share.booking.models import Booking
from instrument_share.booking.week import monday_of
from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage

from ..booking.conftest import SHANGHAI, at, workday
from ..conftest import fixture_context
from ..factories import Factories, valid_uscc

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips, or fails under REQUIRE_BROWSER=1
    expect = None

MASS_SPEC = "analytical-mass-spectrometry"


def in_app(app, build):
    """Run `build(make)` in its own app context and return what it returns
    (plain values: the browser's requests must not wait on this session)."""
    with fixture_context(app):
        try:
            return build(Factories())
        finally:
            db.session.remove()


def past_workdays(count: int) -> list[date]:
    """The last `count` ordinary working days before today, latest first."""
    days, day = [], datetime.now(SHANGHAI).date() - timedelta(days=1)
    while len(days) < count:
        if day.weekday() < 5 and effective_weekday(day) == day.weekday():
            days.append(day)
        day -= timedelta(days=1)
    return days


def local(day: date, hhmm: str) -> str:
    return f"{day.isoformat()}T{hhmm}"


def shown_day(day: date) -> str:
    """A day as a Chinese page shows it (formats.py: Babel's yMMMd)."""
    return f"{day.year}年{day.month}月{day.day}日"


def shown_times(day: date, span: str) -> re.Pattern:
    """A booking's times as a Chinese page shows them: the day with its weekday, then the hours."""
    return re.compile(rf"{shown_day(day)}周. {span}")


def book_in_the_past(user: User, instrument_id: int, start: datetime, end: datetime, purpose: str) -> Booking:
    """A booking made through the service three days before it took place."""
    (booking,) = services.create_booking(user, instrument_id, start, end, purpose, now=start - timedelta(days=3))
    return booking


def confirmation_link(app, email: str) -> str:
    """The link in the confirmation mail queued for `email`, as the person
    would copy it from the mail's text."""
    with app.app_context():
        try:
            raw = db.session.scalar(sa.select(OutboxMessage.raw).where(
                OutboxMessage.recipient == email, OutboxMessage.kind == "account_confirm"))
        finally:
            db.session.remove()
    text = message_from_string(raw, policy=policy.default).get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/verify-email/\S+", text).group(0)
    return "/verify-email/" + link.rsplit("/verify-email/", 1)[1]


def test_the_error_collector_sees_csp_violations(journey):
    """The journeys' 'no errors' checks are not vacuous: an inline script and
    style under our CSP are reported."""
    page = journey.page
    policy = page.request.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    page.route("**/csp-probe", lambda route: route.fulfill(
        status=200, content_type="text/html", headers={"Content-Security-Policy": policy},
        body="<p style='color:red'>probe</p><script>document.title = 'ran'</script>"))
    page.goto("/csp-probe")
    expect(page.get_by_text("probe")).to_be_visible()
    assert page.title() != "ran"
    for _ in range(20):  # the console events may trail the load
        reported = [e for e in journey.errors if "CSP violation" in e]
        if {"script-src-elem", "style-src-attr"} <= {e.split()[-3] for e in reported}:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError(f"the blocked inline script and style were not reported: {journey.errors}")
    journey.errors.clear()


def test_firm_registers_finds_and_books_a_mass_spectrometer(app, journey):
    def build(make):
        hefei = make.institution(name="中国科学技术大学理化科学实验中心",
                                 name_en="USTC Physical and Chemical Science Centre", city_code="hefei")
        wanted = make.instrument(institution=hefei, name="液相色谱-质谱联用仪",
                                 name_en="Liquid chromatograph-mass spectrometer", category_code=MASS_SPEC,
                                 manufacturer="Thermo Fisher", model="Q Exactive", hourly_rate=Decimal("450.00"),
                                 location="理化中心 B 楼 105 室")
        make.instrument(institution=hefei, name="场发射扫描电子显微镜")  # in Hefei, not 质谱
        make.instrument(name="电感耦合等离子体质谱仪", category_code=MASS_SPEC)  # 质谱, in Hangzhou
        return wanted.id, wanted.name

    instrument_id, instrument_name = in_app(app, build)
    day = workday(3)
    page = journey.page

    # Register the firm.
    page.goto("/")
    page.get_by_role("link", name="企业注册").first.click()
    form = page.locator("main form")
    form.get_by_label("企业名称").fill("合肥微谱检测技术有限公司")
    form.get_by_label("统一社会信用代码").fill(valid_uscc(8601, "340100"))
    form.get_by_label("城市").select_option(label="合肥")
    form.get_by_label("您的姓名").fill("王工")
    form.get_by_label("电子邮箱").fill("wang@weipu.example")
    form.get_by_label("密码", exact=True).fill("weipu-2026!")
    form.get_by_label("再次输入密码").fill("weipu-2026!")
    journey.step("registration-form")
    form.get_by_role("button", name="注册").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("请查收邮件")
    expect(page.locator("nav.navbar")).not_to_contain_text("王工")  # registering does not sign in
    journey.step("check-your-mail")

    # Confirm the address with the link from the mail (read from the outbox).
    page.goto(confirmation_link(app, "wang@weipu.example"))
    expect(page.locator("main")).to_contain_text("wang@weipu.example")
    journey.step("confirm-address")
    page.get_by_role("button", name="确认并登录").click()
    expect(page.get_by_text("电子邮箱已确认，现在可以预约仪器了。")).to_be_visible()
    expect(page.locator("nav.navbar")).to_contain_text("王工")
    expect(page.locator("#unverified")).to_have_count(0)
    journey.step("registered")

    # Search 质谱 in Hefei.
    page.locator("nav.navbar").get_by_role("link", name="查找仪器").click()
    search = page.get_by_role("search")
    search.get_by_label("关键词").fill("质谱")
    search.get_by_label("城市").select_option("hefei")
    expect(search.get_by_label("城市").locator("option:checked")).to_contain_text("合肥")
    search.get_by_role("button", name="搜索").click()
    expect(page.locator("#result-count")).to_have_text("找到 1 台仪器")
    results = page.locator(".instrument-card")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("中国科学技术大学理化科学实验中心")
    assert "city=hefei" in page.url and "q=" in page.url
    journey.step("search-results")

    # Open the instrument and find the week with the chosen day.
    results.first.get_by_role("link", name=instrument_name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(instrument_name)
    week_heading = page.locator("#calendar h2")
    shown = monday_of(datetime.now(SHANGHAI).date())
    expect(week_heading).to_contain_text(shown_day(shown))
    while shown < monday_of(day):
        page.get_by_role("link", name="下一周").click()
        shown += timedelta(days=7)
        expect(week_heading).to_contain_text(shown_day(shown))
    first_cell = page.locator(f'td.cell-free[data-start="{local(day, "10:00")}"]')
    expect(first_cell).to_be_visible()
    journey.step("week-calendar")

    # Pick 10:00–11:00 as a person does: click the first free half hour, then the last.
    page_url = page.url
    first_cell.click()
    page.locator(f'td.cell-free[data-start="{local(day, "10:30")}"]').click()
    assert page.url == page_url, "the calendar script should fill the form, not follow the cell's link"
    expect(page.locator("td.cell-selected")).to_have_count(2)
    booking_form = page.locator("#booking-form form")
    expect(booking_form.get_by_label("开始")).to_have_value(local(day, "10:00"))
    expect(booking_form.get_by_label("结束")).to_have_value(local(day, "11:00"))
    booking_form.get_by_label("用途").fill("锂电池电解液添加剂的杂质鉴定")
    journey.step("slot-selected")
    # The price, the firm's part and the status come before anything is booked.
    with page.expect_navigation():
        booking_form.get_by_role("button", name="核对费用与时间").click()
    expect(page.locator("#quote-cost")).to_contain_text("¥")
    expect(page.locator("#quote-status")).to_have_text("即时确认")
    journey.step("quote")
    with page.expect_navigation():
        page.get_by_role("button", name="确认预约").click()

    # The confirmation.
    expect(page.get_by_text("预约成功，已确认。")).to_be_visible()
    expect(page.locator("main h1")).to_contain_text("已确认")
    expect(page.locator("main")).to_contain_text(shown_times(day, "10:00–11:00"))
    expect(page.locator("main")).to_contain_text("锂电池电解液添加剂的杂质鉴定")
    booking_id = int(re.search(r"/bookings/(\d+)$", page.url).group(1))
    journey.step("confirmation")

    # The invite.
    download = journey.download(page.get_by_role("link", name="下载日历文件（.ics）"))
    assert download.suggested_filename == f"booking-{booking_id}.ics"
    ics_path = journey.folder / download.suggested_filename
    download.save_as(ics_path)
    text = ics_path.read_text(encoding="utf-8")
    assert text.startswith("BEGIN:VCALENDAR")
    (event,) = Calendar.from_ical(text).walk("VEVENT")

    with fixture_context(app):
        booking = db.session.get(Booking, booking_id)
        assert booking.user.email == "wang@weipu.example"
        assert booking.user.firm.city_code == "hefei"
        assert (booking.instrument_id, booking.status) == (instrument_id, "confirmed")
        assert (booking.start, booking.end) == (at(day, "10:00"), at(day, "11:00"))
        assert str(event["uid"]) == booking_uid(booking)
        db.session.remove()
    assert event.decoded("dtstart") == at(day, "10:00").astimezone(UTC)
    assert event.decoded("dtend") == at(day, "11:00").astimezone(UTC)
    assert str(event["status"]) == "CONFIRMED"
    assert instrument_name in str(event["summary"])
    journey.step("invite-downloaded")

    # After the service the institution records the hours used; the firm
    # takes the receipt (服务结算单) to accounting.
    with fixture_context(app):
        booking = db.session.get(Booking, booking_id)
        manager = Factories().user(role="manager", institution_id=booking.instrument.institution_id)
        usage.record_usage(booking, manager, booking.start, booking.end, "guided",
                           now=booking.end + timedelta(minutes=5))
        db.session.commit()
        db.session.remove()
    page.reload()
    with page.expect_navigation():
        page.get_by_role("link", name="服务结算单").click()
    expect(page.locator("#receipt-cost")).to_have_text("¥450.00")
    expect(page.locator("#receipt")).to_contain_text("合肥微谱检测技术有限公司")
    journey.step("receipt")
    receipt = journey.download(page.get_by_role("link", name="下载（PDF）"))
    receipt_path = journey.folder / receipt.suggested_filename
    receipt.save_as(receipt_path)
    text = "".join(PdfReader(receipt_path).pages[0].extract_text().split()).replace("\x00", "")
    assert "服务结算单" in text and "¥450.00" in text and valid_uscc(8601, "340100") in text


def test_manager_approves_a_request_and_records_usage(app, journey):
    day, (past_day, *_) = workday(3), past_workdays(1)

    def build(make):
        manager = make.user(role="manager", email="zhang@ustc.example", name="张老师")
        manager.institution.city_code = "hefei"
        instrument = make.instrument(institution_id=manager.institution_id, name="气相色谱-质谱联用仪",
                                     category_code=MASS_SPEC, requires_approval=True)
        booker = make.user(email="li@firm.example", name="李工")
        pending = services.create_booking(booker, instrument.id, at(day, "14:00"), at(day, "16:00"),
                                          "挥发性有机物检测")[0]
        held = book_in_the_past(booker, instrument.id, at(past_day, "09:00"), at(past_day, "11:00"),
                                "香精香料成分分析")
        services.approve_booking(held, manager)
        db.session.commit()
        return pending.id, held.id, booker.firm.name

    request_id, held_id, firm_name = in_app(app, build)
    page = journey.page
    journey.sign_in("zhang@ustc.example")

    # The desk: one request waiting.
    page.locator("nav.navbar").get_by_role("link", name="管理台").click()
    waiting = page.locator("#pending tbody tr")
    expect(waiting).to_have_count(1)
    expect(waiting.first).to_contain_text(firm_name)
    expect(waiting.first).to_contain_text(shown_times(day, "14:00–16:00"))
    expect(page.locator("#to-record")).to_contain_text(shown_times(past_day, "09:00–11:00"))
    journey.step("manager-desk")

    waiting.first.get_by_role("button", name="通过").click()
    expect(page.get_by_text("预约已通过。")).to_be_visible()
    expect(page.locator("#pending")).to_contain_text("没有待审核的预约。")
    journey.step("approved")

    # Usage of the booking that took place: it ran until 10:30 with guidance.
    page.locator("#to-record").get_by_role("link").first.click()
    usage_form = page.locator("#usage form")
    expect(usage_form.get_by_label("使用开始")).to_have_value(local(past_day, "09:00"))
    usage_form.get_by_label("使用结束").fill(local(past_day, "10:30"))
    usage_form.get_by_label("共享方式").select_option("guided")
    journey.step("usage-form")
    usage_form.get_by_role("button", name="保存机时").click()
    expect(page.get_by_text("机时已登记。")).to_be_visible()
    expect(page.locator("main h1")).to_contain_text("已完成")
    expect(page.locator("main dl")).to_contain_text(shown_times(past_day, "09:00–10:30"))
    journey.step("usage-recorded")

    page.locator("nav.navbar").get_by_role("link", name="管理台").click()
    expect(page.locator("#to-record")).to_contain_text("均已登记。")

    with fixture_context(app):
        approved, used = db.session.get(Booking, request_id), db.session.get(Booking, held_id)
        assert approved.status == "confirmed" and approved.sequence == 1
        assert used.status == "completed" and used.service_mode == "guided"
        assert (used.used_start, used.used_end) == (at(past_day, "09:00"), at(past_day, "10:30"))
        db.session.remove()


def test_admin_reads_the_statistics(app, journey):
    days = past_workdays(3)

    def build(make):
        admin = make.user(role="admin", email="admin@g60.example", name="平台管理员")
        hefei = make.institution(name="合肥分析测试中心", city_code="hefei")
        hangzhou = make.institution(name="浙江大学分析测试中心", city_code="hangzhou")
        ms = make.instrument(institution=hefei, name="液相色谱-质谱联用仪", category_code=MASS_SPEC)
        sem = make.instrument(institution=hangzhou, name="场发射扫描电子显微镜")
        make.instrument(institution=hangzhou, name="闲置X射线衍射仪", category_code="analytical-x-ray")
        jinhua_firm, hefei_firm = make.user(), make.user(firm=make.firm(city_code="hefei"))
        for day in days:  # three hours each: 18 h in Hefei, 9 h in Hangzhou
            for user, instrument, start, end in ((jinhua_firm, ms, "09:00", "12:00"),
                                                 (hefei_firm, ms, "13:00", "16:00"),
                                                 (hefei_firm, sem, "14:00", "17:00")):
                booking = book_in_the_past(user, instrument.id, at(day, start), at(day, end), "检测")
                usage.record_usage(booking, admin, at(day, start), at(day, end), "guided")
        db.session.commit()
        return ms.name

    busiest = in_app(app, build)
    page = journey.page
    journey.sign_in("admin@g60.example")
    page.locator("nav.navbar").get_by_role("link", name="统计").click()

    expect(page.locator("main h1")).to_have_text("统计")
    expect(page.locator("main .page-subtitle")).to_have_text("全走廊")
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(4)  # by city, by category, by month, cross-city flows
    for title in ("各城市利用率", "各类别利用率", "月度利用率"):
        expect(page.locator("svg.chart title").filter(has_text=title)).to_have_count(1)
    city_chart = charts.nth(0)
    expect(city_chart.locator("text").filter(has_text="合肥")).to_have_count(1)
    bar_widths = [float(w) for w in city_chart.locator("rect").evaluate_all("rs => rs.map(r => r.getAttribute('width'))")]
    assert max(bar_widths) > 100, bar_widths
    box = city_chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 20
    expect(page.locator("#figure-booked_hours")).to_have_text("27.0")  # 9 bookings of 3 hours
    city_rows = page.locator("table").first.locator("tbody tr")
    expect(city_rows.filter(has_text="合肥")).to_contain_text("18.0")
    expect(city_rows.filter(has_text="杭州")).to_contain_text("9.0")
    expect(page.locator("#most-used tbody tr").first).to_contain_text(busiest)
    expect(page.locator("#least-used tbody tr").first).to_contain_text("闲置X射线衍射仪")
    journey.step("statistics")

    # The same dashboard in English, through the navbar's language switch.
    page.locator("nav.navbar").get_by_role("button", name="English").click()
    expect(page.locator("main .page-subtitle")).to_have_text("Whole corridor")
    expect(page.locator("svg.chart title").filter(has_text="Utilisation by city")).to_have_count(1)
    expect(page.locator("table").first.locator("tbody")).to_contain_text("Hefei")
    journey.step("statistics-english")


def test_a_firm_in_wuhu_finds_the_nearest_sem_and_books_its_first_free_slot(app, journey):
    """Issue #15: types 扫描, is offered 扫描电镜 → 扫描电子显微镜, sees the SEMs
    nearest first with their first free slot, and books that slot."""
    def build(make):
        sems = {}
        for city, name in (("hefei", "合肥光谱分析中心"), ("xuancheng", "宣城材料检测所"), ("wuhu", "芜湖新材料研究院")):
            place = make.institution(name=name, city_code=city)
            sems[city] = make.instrument(institution=place, name="场发射扫描电子显微镜",
                                         name_en="Field emission scanning electron microscope",
                                         model="Regulus 8230", manufacturer="Hitachi High-Tech",
                                         min_booking_minutes=60).id
        make.instrument(institution=make.institution(city_code="wuhu"), name="10米法电波暗室",
                        name_en="10 m semi-anechoic chamber", category_code="electronic-measurement")
        make.user(email="chen@wuhu.example", name="陈工", firm=make.firm(city_code="wuhu"))
        return sems

    sems = in_app(app, build)
    page = journey.page
    journey.sign_in("chen@wuhu.example")

    # Type in the search box of the workspace (where a firm user lands): it offers the thesaurus term with its full name.
    box = page.get_by_role("search").get_by_role("combobox", name="搜索")  # a box with suggestions
    box.fill("扫描")
    offered = page.locator("datalist option[value='扫描电镜']")
    expect(offered).to_have_attribute("label", "扫描电镜 → 扫描电子显微镜")
    journey.step("suggestions")
    box.fill(offered.get_attribute("value"))  # what choosing the suggestion puts in the box
    box.press("Enter")

    # Three SEMs (not the anechoic chamber), the nearest first once sorted by travel.
    expect(page.locator("#result-count")).to_have_text("找到 3 台仪器")
    search = page.get_by_role("search")
    search.get_by_label("排序").select_option(label="路程")
    search.get_by_role("button", name="搜索").click()
    cards = page.locator(".instrument-card")
    expect(cards).to_have_count(3)
    expect(cards.nth(0)).to_contain_text("芜湖新材料研究院")
    expect(cards.nth(0)).to_contain_text("本市")
    expect(cards.nth(1)).to_contain_text("宣城材料检测所")
    expect(cards.nth(1)).to_contain_text("约 30 分钟")
    expect(cards.nth(2)).to_contain_text("约 40 分钟")
    expect(page.locator("main")).to_contain_text("并非时刻表")
    expect(page.locator("#facets")).to_contain_text("芜湖")
    first_free = cards.nth(0).locator(".next-free a")
    expect(first_free).to_contain_text("最早可约")
    journey.step("nearest-first")

    # Its first free slot opens the instrument with that slot in the form.
    first_free.click()
    booking_form = page.locator("#booking-form form")
    start = booking_form.get_by_label("开始").input_value()
    booking_form.get_by_label("用途").fill("镀层截面形貌观察")
    journey.step("slot-from-search")
    with page.expect_navigation():
        booking_form.get_by_role("button", name="核对费用与时间").click()
    with page.expect_navigation():
        page.get_by_role("button", name="确认预约").click()
    expect(page.get_by_text("预约成功，已确认。")).to_be_visible()
    journey.step("booked")
    with fixture_context(app):
        booking = db.session.scalars(sa.select(Booking)).one()
        assert booking.instrument_id == sems["wuhu"]
        assert booking.start.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") == start
        assert booking.end - booking.start == timedelta(hours=1)
        db.session.remove()
