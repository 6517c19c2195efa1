"""Entrusted testing in a real browser (issue #18): a firm in Jiaxing sends
samples for the XRD of a Hangzhou institution with a voucher, from the
instrument's page; the manager quotes from the order desk; the firm
accepts, the voucher holding its share; the manager records the samples'
arrival and uploads a PDF report; the firm downloads it and rates the
service, which closes the order; Jiaxing's bureau sees the voucher money
in its settlement list.

Locators use ids and names, not words: the words of these pages are
translated after they are written."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from fpdf import FPDF

from instrument_share.extensions import db
from instrument_share.orders.models import Order
from instrument_share.timeutil import platform_today
from instrument_share.vouchers.models import EntryKind, Voucher, VoucherEntry

from ..conftest import fixture_context
from .test_journeys import in_app

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips, or fails under REQUIRE_BROWSER=1
    expect = None

PHONE = {"width": 390, "height": 844}


def report_pdf(path) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text="XRD test report: NCM811, 2-theta 10-80 deg, single phase")
    pdf.output(str(path))
    return path.read_bytes()


def test_a_firm_sends_samples_and_gets_a_rated_report_back(app, journey, tmp_path):
    def build(make):
        manager = make.user(role="manager", email="li@zju.example", name="李老师")
        manager.institution.name, manager.institution.city_code = "杭州测试大学", "hangzhou"
        make.user(role="city_admin", city_code="jiaxing", email="bureau@jx.example", name="嘉兴市科技局")
        xrd = make.instrument(institution_id=manager.institution_id, name="X射线衍射仪")
        engineer = make.user(email="chen@jx-firm.example", name="陈工",
                             firm=make.firm(name="嘉兴新材料有限公司", city_code="jiaxing"))
        voucher = Voucher(firm_id=engineer.firm_id, issuing_city="jiaxing", amount=Decimal("2000.00"),
                          balance=Decimal("2000.00"), expires_on=platform_today() + timedelta(days=365),
                          max_share_bp=5000)
        db.session.add(voucher)
        db.session.flush()
        db.session.add(VoucherEntry(voucher_id=voucher.id, kind=EntryKind.GRANT, delta=voucher.amount,
                                    amount=voucher.amount))
        db.session.commit()
        return xrd.id, voucher.id

    xrd_id, voucher_id = in_app(app, build)
    page = journey.page

    def go(locator):
        """Click something that leads to another page and let it load."""
        with page.expect_navigation():
            locator.click()

    # The firm finds the button on the instrument's page and fills the form.
    journey.sign_in("chen@jx-firm.example")
    page.goto(f"/instruments/{xrd_id}")
    go(page.locator("#entrusted-testing a"))
    assert page.url.endswith(f"/instruments/{xrd_id}/order")
    form = page.locator("#order-form")
    form.locator("input[name=title]").fill("锂电正极材料物相分析")
    form.locator("textarea[name=requirements]").fill("XRD 全谱扫描，2θ 10–80°，给出物相鉴定")
    expect(form.locator("tr.sample-row")).to_have_count(3)
    for row in range(3):
        form.locator(f"input[name=samples-{row}-name]").fill(f"NCM811 粉末 {row + 1}")
        form.locator(f"input[name=samples-{row}-quantity]").fill("2")
        form.locator(f"input[name=samples-{row}-unit]").fill("g")
    form.locator("#add-sample-row").click()  # the fourth row, from static/order_form.js
    expect(form.locator("tr.sample-row")).to_have_count(4)
    expect(form.locator("input[name=samples-3-name]")).to_have_value("")
    form.locator("input[name=samples-3-name]").fill("LFP 极片")
    form.locator("input[name=samples-3-quantity]").fill("1.5")
    form.locator("input[name=samples-3-unit]").fill("片")
    form.locator("input[name=samples-3-hazards]").fill("含电解液残留，勿加热")
    form.locator("select[name=voucher_id]").select_option(str(voucher_id))
    journey.step("order-form")
    go(form.locator("#send-order"))
    expect(page.locator("#samples tbody tr")).to_have_count(4)
    expect(page.locator("#timeline [data-action=submitted]")).to_have_count(1)
    order_url = page.url
    journey.step("order-sent")

    # On a phone the samples table becomes cards: no header row, each cell labelled.
    page.set_viewport_size(PHONE)
    expect(page.locator("#samples thead")).to_be_hidden()
    assert page.locator("#samples tbody td").nth(1).get_attribute("data-label")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The manager quotes from the order desk.
    page.context.clear_cookies()
    journey.sign_in("li@zju.example")
    go(page.locator("nav a[href='/manage/orders']"))
    desk = page.locator("#to-quote")
    expect(desk).to_contain_text("锂电正极材料物相分析")
    journey.step("desk-to-quote")
    go(desk.locator("a").first)
    assert page.url == order_url
    quote = page.locator("#quote-form")
    quote.locator("input[name=amount]").fill("1200")
    quote.locator("input[name=turnaround_days]").fill("5")
    quote.locator("textarea[name=note]").fill("含数据分析与物相鉴定")
    go(quote.locator("#send-quote"))
    expect(page.locator("#quote-amount")).to_have_text("¥1,200.00")
    journey.step("quoted")

    # The firm accepts; the voucher chosen with the order pays half.
    page.context.clear_cookies()
    journey.sign_in("chen@jx-firm.example")
    page.goto("/workspace")
    expect(page.locator("#orders .workspace-order")).to_have_count(1)
    go(page.locator("#orders .workspace-order a").first)
    accept = page.locator("#accept")
    expect(accept.locator("select[name=voucher_id]")).to_have_value(str(voucher_id))
    expect(accept.locator("select[name=voucher_id] option:checked")).to_contain_text("600.00")
    journey.step("accept")
    go(accept.locator("#accept-quote"))
    expect(page.locator("#voucher-amount")).to_contain_text("¥600.00")
    expect(page.locator("#firm-pays")).to_have_text("¥600.00")

    # The samples arrive; the report comes back as a PDF.
    page.context.clear_cookies()
    journey.sign_in("li@zju.example")
    page.goto("/manage/orders")
    go(page.locator("#to-receive a").first)
    go(page.locator("#receive button"))
    expect(page.locator("#due-on")).to_be_visible()
    pdf = report_pdf(tmp_path / "report.pdf")
    upload = page.locator("#upload-report")
    upload.locator("input[type=file]").set_input_files(str(tmp_path / "report.pdf"))
    upload.locator("input[name=machine_minutes]").fill("90")
    journey.step("upload")
    go(upload.locator("#send-report"))
    expect(page.locator("#report")).to_be_visible()
    expect(page.locator("#timeline [data-action=reported]")).to_have_count(1)

    # The firm downloads the report and rates the service: the order is closed.
    page.context.clear_cookies()
    journey.sign_in("chen@jx-firm.example")
    page.goto(order_url)
    download = journey.download(page.locator("#download-report"))
    saved = tmp_path / "downloaded.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == pdf and download.suggested_filename.endswith("-report.pdf")
    rate = page.locator("#rate")
    rate.locator("select[name=rating]").select_option("5")
    rate.locator("input[name=comment]").fill("很快，数据清楚")
    go(rate.locator("#send-rating"))
    expect(page.locator("#rating")).to_contain_text("很快，数据清楚")
    expect(page.locator(".order-status")).to_have_attribute("data-status", "closed")
    expect(page.locator("#timeline .order-event")).to_have_count(6)
    journey.step("closed")

    # Jiaxing's bureau sees what its voucher paid Hangzhou's institution.
    page.context.clear_cookies()
    journey.sign_in("bureau@jx.example")
    page.goto("/vouchers/")
    settlement = page.locator("#settlement tbody tr")
    expect(settlement).to_have_count(1)
    expect(settlement).to_contain_text("杭州测试大学")
    expect(settlement).to_contain_text("600.00")
    journey.step("bureau-settlement")

    with fixture_context(app):
        order = db.session.scalar(sa.select(Order))
        assert (order.status, order.rating, order.machine_minutes) == ("closed", 5, 90)
        assert (order.voucher_amount, order.firm_pays) == (Decimal("600.00"), Decimal("600.00"))
        assert [s.name for s in order.samples][-1] == "LFP 极片" and len(order.samples) == 4
        kinds = db.session.scalars(sa.select(VoucherEntry.kind).where(VoucherEntry.order_id == order.id)
                                   .order_by(VoucherEntry.id)).all()
        assert kinds == [EntryKind.HOLD, EntryKind.CAPTURE]  # captured with the report: claimable
        db.session.remove()
