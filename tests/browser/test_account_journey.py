"""Accounts in a real browser (issues #16 and #17): a forgotten password is
reset from the mail and the new one signs in; a firm's administrator invites
a colleague who joins from the mail, and deactivates another after being
asked to confirm; the workspace pages fit a phone's width."""
from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_string, policy

import sqlalchemy as sa

from instrument_share.booking.models import Booking
from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage
from instrument_share.timeutil import utcnow

from .test_journeys import in_app

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips, or fails under REQUIRE_BROWSER=1
    expect = None

PHONE = {"width": 375, "height": 740}


def mailed_path(app, kind: str, email: str, path: str) -> str:
    """The link of the newest mail of `kind` to `email`, as a path on our site."""
    with app.app_context():
        try:
            raw = db.session.scalar(sa.select(OutboxMessage.raw).where(
                OutboxMessage.recipient == email, OutboxMessage.kind == kind).order_by(OutboxMessage.id.desc()))
        finally:
            db.session.remove()
    text = message_from_string(raw, policy=policy.default).get_body(("plain",)).get_content()
    return re.search(rf"https?://[^/\s]+({path}\S+)", text).group(1)


def test_a_forgotten_password_is_reset_from_the_mail(app, journey):
    in_app(app, lambda make: make.user(email="sun@firm.example", name="孙工").id)
    page = journey.page
    page.goto("/login")
    with page.expect_navigation():
        page.get_by_role("link", name="忘记密码？").click()
    page.locator("main").get_by_label("电子邮箱").fill("sun@firm.example")
    with page.expect_navigation():
        page.get_by_role("button", name="发送链接").click()
    expect(page.locator("#reset-sent")).to_be_visible()
    journey.step("reset-requested")

    page.goto(mailed_path(app, "account_password_reset", "sun@firm.example", "/password-reset/"))
    page.get_by_label("新密码").fill("1234567890")
    page.get_by_label("再次输入密码").fill("1234567890")
    with page.expect_navigation():
        page.get_by_role("button", name="设置新密码").click()
    expect(page.get_by_text("这个密码属于最常见的已泄露密码，请换一个。")).to_be_visible()
    page.get_by_label("新密码").fill("granite-owl-2026")
    page.get_by_label("再次输入密码").fill("granite-owl-2026")
    with page.expect_navigation():
        page.get_by_role("button", name="设置新密码").click()
    expect(page.get_by_text("新密码已设置，请用新密码登录。")).to_be_visible()
    journey.step("reset-done")
    journey.sign_in("sun@firm.example", "granite-owl-2026")
    expect(page.locator("nav.navbar").get_by_text("孙工")).to_be_visible()


def test_a_firm_administrator_invites_a_colleague_who_joins(app, journey, chromium, live_server):
    def build(make):
        founder = make.user(email="zhou@firm.example", name="周经理")
        make.user(email="leaving@firm.example", name="离职的同事", firm=founder.firm)
        return founder.firm.name

    firm_name = in_app(app, build)
    page = journey.page
    journey.sign_in("zhou@firm.example")
    page.goto("/profile")
    with page.expect_navigation():
        page.get_by_role("link", name="本企业成员").click()
    page.get_by_label("同事的电子邮箱").fill("wu@firm.example")
    with page.expect_navigation():
        page.get_by_role("button", name="发送邀请").click()
    expect(page.get_by_text("邀请已发送至 wu@firm.example")).to_be_visible()
    expect(page.locator("#invitations")).to_contain_text("wu@firm.example")

    # Deactivating asks first; "cancel" keeps the member.
    row = page.locator("tr", has_text="离职的同事")
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="停用").click()
    expect(row).to_contain_text("正常")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        row.get_by_role("button", name="停用").click()
    expect(page.locator("tr", has_text="离职的同事")).to_contain_text("已停用")
    journey.step("members")

    # The colleague, in a browser of their own, follows the mailed link.
    context = chromium.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        newcomer = context.new_page()
        newcomer.goto(mailed_path(app, "account_invitation", "wu@firm.example", "/join/"))
        expect(newcomer.locator("main")).to_contain_text(firm_name)
        newcomer.get_by_label("您的姓名").fill("吴工")
        newcomer.get_by_label("新密码").fill("copper-kite-88")
        newcomer.get_by_label("再次输入密码").fill("copper-kite-88")
        with newcomer.expect_navigation():
            newcomer.get_by_role("button", name="加入并登录").click()
        expect(newcomer.get_by_text(f"欢迎！您已加入{firm_name}。")).to_be_visible()
        expect(newcomer.locator("nav.navbar").get_by_text("吴工")).to_be_visible()
    finally:
        context.close()
    page.reload()
    expect(page.locator("#members")).to_contain_text("吴工")


def test_the_workspace_pages_fit_a_phone(app, journey):
    def build(make):
        manager = make.user(role="manager", email="lin@inst.example", name="林老师")
        instrument = make.instrument(institution_id=manager.institution_id, name="场发射扫描电子显微镜")
        firm_user = make.user(email="qian@firm.example")
        # One booking in the firm's history, to see it as a card.
        start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
        db.session.add(Booking(instrument=instrument, user=firm_user, firm_id=firm_user.firm_id, start=start,
                               end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                               status="completed", purpose="SEM", cost=300, voucher_amount=0, firm_pays=300))
        db.session.commit()
        return instrument.id

    instrument_id = in_app(app, build)
    page = journey.page
    page.set_viewport_size(PHONE)
    journey.sign_in("lin@inst.example")
    pages = ["/manage/", "/manage/schedule", "/manage/instruments/new", f"/manage/instruments/{instrument_id}",
             "/manage/instruments/import", "/manage/staff", "/profile", f"/instruments/{instrument_id}"]
    for path in pages:
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow} px wider than a phone"
    journey.assert_no_errors("phone")
    journey.sign_in("qian@firm.example")
    for path in ("/workspace", "/bookings", "/vouchers", "/firm/members", "/profile", "/password-reset"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, path
    # The booking history turns into cards, each value with its heading.
    page.goto("/bookings")
    expect(page.locator("#history-table thead")).to_be_hidden()
    expect(page.locator("#history-table td").first).to_have_attribute("data-label", "仪器")
