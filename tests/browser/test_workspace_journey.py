"""The institution's workspace in a real browser (issue #16): a manager
publishes an instrument with a photo, imports thirty more from the
template, reads the day's timeline, moves a booking from it and grants a
qualification; a firm user who is not qualified is told so on the form."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from openpyxl import load_workbook
from PIL import Image

from instrument_share.booking import services
from instrument_share.booking.models import Booking
from instrument_share.catalogue.models import Instrument, InstrumentPhoto, Qualification
from instrument_share.desk.transfer import FIELDS
from instrument_share.extensions import db

from ..booking.conftest import at, workday
from ..conftest import fixture_context
from .test_journeys import in_app

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips, or fails under REQUIRE_BROWSER=1
    expect = None


def test_a_manager_runs_the_fleet_on_the_web(app, journey, tmp_path):
    day = workday(3)

    def build(make):
        manager = make.user(role="manager", email="wang@ahu.example", name="王老师")
        manager.institution.name = "安徽测试大学"
        engineer = make.user(email="chen@firm.example", name="陈工")
        make.user(email="zhao@firm.example", name="赵工")
        xrd = make.instrument(institution_id=manager.institution_id, name="X射线衍射仪")
        booked = services.create_booking(engineer, xrd.id, at(day, "10:00"), at(day, "11:00"), "物相分析")[0]
        db.session.commit()
        return booked.id, engineer.firm.name

    booking_id, firm_name = in_app(app, build)
    page = journey.page
    journey.sign_in("wang@ahu.example")

    def go(locator):
        """Click something that leads to another page, and let that page
        load: a click that leaves a page still loading aborts its scripts'
        requests, which the journey counts as errors."""
        with page.expect_navigation():
            locator.click()

    # Publish an instrument: the record in its NRII sections.
    go(page.locator("nav.navbar").get_by_role("link", name="管理台"))
    go(page.get_by_role("link", name="发布仪器"))
    page.get_by_label("名称", exact=True).fill("场发射扫描电子显微镜")
    page.get_by_label("资产编号").fill("AHU-2024-0001")
    page.get_by_label("类别", exact=True).select_option("analytical-electron-optics")
    page.locator("summary", has_text="收费标准").click()
    page.get_by_label("每小时收费（元）").fill("450")
    page.locator("summary", has_text="预约规则").click()
    page.get_by_label("需培训上机资格（自主上机）").check()
    journey.step("new-instrument")
    go(page.get_by_role("button", name="发布"))
    expect(page.get_by_text("仪器已发布。")).to_be_visible()

    # A photo, from a camera's JPEG.
    picture = tmp_path / "sem.jpg"
    Image.new("RGB", (1800, 1200), (30, 80, 150)).save(picture, "JPEG")
    page.get_by_label("照片（JPEG、PNG 或 WebP，最大 5 MB）").set_input_files(str(picture))
    go(page.get_by_role("button", name="添加照片"))
    expect(page.locator("#photos img")).to_have_count(1)
    journey.step("photo-added")

    # Thirty more from the template.
    go(page.locator("nav.navbar").get_by_role("link", name="管理台"))
    go(page.get_by_role("link", name="批量导入仪器"))
    template = tmp_path / "template.xlsx"
    journey.download(page.get_by_role("link", name="模板（.xlsx）")).save_as(template)
    book = load_workbook(template)
    sheet = book.worksheets[0]
    for n in range(30):
        row = dict.fromkeys(FIELDS)
        row.update({"asset_no": f"AHU-IMPORT-{n:03d}", "name": f"液相色谱仪{n}", "category": "analytical-chromatography",
                    "hourly_rate": 200})
        sheet.append([row[name] for name in FIELDS])
    workbook = tmp_path / "instruments.xlsx"
    book.save(workbook)
    page.get_by_label("工作簿（.xlsx）或 CSV 文件").set_input_files(str(workbook))
    go(page.get_by_role("button", name="仅检查"))
    expect(page.locator("#import-result")).to_contain_text("新增 30 台")
    page.get_by_label("工作簿（.xlsx）或 CSV 文件").set_input_files(str(workbook))
    go(page.get_by_role("button", name="导入", exact=True))
    expect(page.locator("#import-result")).to_contain_text("已导入")
    journey.step("imported")

    # The day's timeline: the firm's booking as a bar; moved from its page.
    go(page.locator("nav.navbar").get_by_role("link", name="管理台"))
    go(page.get_by_role("link", name="仪器排程"))
    page.locator("#timeline-filters input[name=day]").fill(day.isoformat())
    go(page.locator("#timeline-filters").get_by_role("button", name="查看"))
    bar = page.locator(f'#timeline [data-booking="{booking_id}"]')
    expect(bar).to_contain_text(firm_name)
    journey.step("timeline")
    go(bar.locator("rect"))  # where a person clicks: on the bar itself
    assert page.url.endswith(f"/bookings/{booking_id}")
    move = page.locator("#reschedule form")
    move.get_by_label("开始").fill(f"{day.isoformat()}T14:00")
    move.get_by_label("结束").fill(f"{day.isoformat()}T15:00")
    go(move.get_by_role("button", name="改期"))
    expect(page.get_by_text("预约已改期。")).to_be_visible()
    journey.step("moved")

    # Qualify the engineer for the new self-service SEM.
    with fixture_context(app):
        sem_id = db.session.scalar(sa.select(Instrument.id).where(Instrument.asset_no == "AHU-2024-0001"))
        db.session.remove()
    page.goto(f"/manage/instruments/{sem_id}")
    grant = page.locator("#qualifications form").last
    grant.get_by_label("电子邮箱").fill("chen@firm.example")
    go(grant.get_by_role("button", name="授予上机资格"))
    expect(page.locator("#qualifications table")).to_contain_text("chen@firm.example")
    journey.step("qualified")

    # A firm user without the qualification is told before typing anything.
    page.context.clear_cookies()
    journey.sign_in("zhao@firm.example")
    page.goto(f"/instruments/{sem_id}")
    expect(page.locator("#qualification-needed")).to_contain_text("您尚未取得上机资格")
    expect(page.locator("#photos img")).to_have_count(1)
    journey.step("not-qualified")

    with fixture_context(app):
        moved = db.session.get(Booking, booking_id)
        assert moved.start == at(day, "14:00") and moved.end == at(day, "14:00") + timedelta(hours=1)
        imported = db.session.scalar(sa.select(sa.func.count(Instrument.id)).where(
            Instrument.asset_no.like("AHU-IMPORT-%")))
        assert imported == 30
        assert db.session.scalar(sa.select(sa.func.count(InstrumentPhoto.id))) == 1
        assert db.session.scalar(sa.select(Qualification.instrument_id)) == sem_id
        db.session.remove()
