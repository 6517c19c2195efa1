"""The firm's workspace (issue #17): the landing page after sign-in, with the
next bookings (check-in when due), pending approvals, vouchers, receipts,
favourite instruments with their next free slot, and saved searches."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from instrument_share.booking.services import create_booking
from instrument_share.extensions import db
from instrument_share.timeutil import utcnow
from instrument_share.workspace.models import Favourite, SavedSearch

from .conftest import Browser, csrf_token_from
from .factories import PASSWORD
from .vouchers.test_vouchers import issue


def test_a_firm_user_lands_on_the_workspace_with_what_matters(api, client, make, app_context):
    bureau = make.user(role="city_admin", city_code="jinhua")
    engineer = make.user(email="eng@firm.example", name="陈工")
    issue(api, bureau, engineer.firm_id, amount="8000.00", share="0.5")
    anytime = [(d, 0, 1440) for d in range(7)]
    sem = make.instrument(name="场发射扫描电镜", advance_notice_hours=0, hours=anytime, open_on_holidays=True)
    nmr = make.instrument(name="核磁共振波谱仪", requires_approval=True, advance_notice_hours=0, hours=anytime,
                          open_on_holidays=True)
    soon = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=20)
    create_booking(engineer, sem.id, soon, soon + timedelta(hours=1), "EDS")
    create_booking(engineer, nmr.id, soon + timedelta(days=2), soon + timedelta(days=2, hours=1), "1H NMR")
    db.session.commit()
    signed_in = Browser(client).login("eng@firm.example", PASSWORD)
    assert signed_in.headers["Location"].endswith("/workspace")
    page = client.get("/workspace").get_data(as_text=True)
    upcoming = page.split('id="upcoming"')[1].split('id="favourites"')[0]
    assert "场发射扫描电镜" in upcoming and "/check-in" in upcoming  # due within 30 minutes
    assert "核磁共振波谱仪" in page.split('id="pending"')[1]
    assert "¥8,000.00" in page.split('id="vouchers"')[1]

    # A star on the instrument page; the workspace shows its next free slot.
    instrument_page = client.get(f"/instruments/{nmr.id}").get_data(as_text=True)
    assert 'id="favourite"' in instrument_page and "加入收藏" in instrument_page
    client.post(f"/instruments/{nmr.id}/favourite", data={"csrf_token": csrf_token_from(instrument_page)})
    favourites = client.get("/workspace").get_data(as_text=True).split('id="favourites"')[1]
    assert "核磁共振波谱仪" in favourites and "最早可约" in favourites
    again = client.get(f"/instruments/{nmr.id}").get_data(as_text=True)
    assert "已收藏" in again
    client.post(f"/instruments/{nmr.id}/favourite", data={"csrf_token": csrf_token_from(again)})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Favourite)) == 0  # unstarred


def test_a_search_is_kept_and_run_again_from_the_workspace(browser, client, make, app_context):
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    results = client.get("/search?q=扫描电镜&city=hefei&page=2").get_data(as_text=True)
    assert 'id="save-search"' in results
    kept = client.post("/searches", data={"csrf_token": csrf_token_from(results), "name": "合肥的扫描电镜",
                                          "query": "q=扫描电镜&city=hefei&page=2&evil=1"})
    assert kept.status_code == 302
    search = db.session.scalar(sa.select(SavedSearch))
    assert search.name == "合肥的扫描电镜" and "page" not in search.query and "evil" not in search.query
    page = client.get("/workspace").get_data(as_text=True)
    assert "合肥的扫描电镜" in page and "/search?" + search.query.replace("&", "&amp;") in page
    blank = client.post("/searches", data={"csrf_token": csrf_token_from(results), "name": " ", "query": "q=x"})
    assert blank.status_code == 302 and db.session.scalar(sa.select(sa.func.count()).select_from(SavedSearch)) == 1
    client.post(f"/searches/{search.id}/delete", data={"csrf_token": csrf_token_from(page)})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedSearch)) == 0


def test_someone_elses_saved_search_and_token_are_not_found(browser, client, make, api, app_context):
    owner = make.user(email="owner@firm.example")
    db.session.add(SavedSearch(user_id=owner.id, name="x", query="q=x"))
    db.session.commit()
    api.as_user(owner)  # a token of the owner's
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    search_id = db.session.scalar(sa.select(SavedSearch.id))
    assert client.post(f"/searches/{search_id}/delete", data={"csrf_token": token}).status_code == 404
    from instrument_share.accounts.models import ApiToken

    token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == owner.id))
    assert client.post(f"/profile/tokens/{token_id}/end", data={"csrf_token": token}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1


def test_the_profile_lists_tokens_with_their_last_use_and_ends_one(api, browser, client, make, app_context):
    user = make.user(email="eng@firm.example")
    first, second = api.as_user(user), api.as_user(user)
    answer = first.get("/api/v1/me")
    assert answer.status_code == 200
    answer.close()  # the day of use is noted once the answer has left (a server closes it)
    browser.login("eng@firm.example")
    page = client.get("/profile").get_data(as_text=True)
    table = page.split('id="token-table"')[1]
    assert table.count("<tr>") == 3 and "尚未使用" in table  # the header and two tokens, one never used
    from instrument_share.accounts.models import ApiToken

    unused = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.last_used_on.is_(None)))
    client.post(f"/profile/tokens/{unused}/end", data={"csrf_token": csrf_token_from(page)})
    assert second.get("/api/v1/me").status_code == 401 and first.get("/api/v1/me").status_code == 200


def test_noting_a_tokens_use_never_holds_or_fails_a_request(api, app, make, database_url, app_context):
    """Found by review: the day's first use took SQLite's write lock while
    authenticating (an export held it for seconds), and with the database
    busy a GET waited 30 s and failed. Now the note is written after the
    answer, on its own connection, and only if the database is free."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock to hold")
    from instrument_share.accounts.models import ApiToken

    caller = api.as_user(make.user())
    db.session.remove()
    blocker = db.engine.raw_connection()
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        answer = caller.get("/api/v1/me")
        assert answer.status_code == 200
        answer.close()  # the note is given up at once: the database is busy
    finally:
        blocker.rollback()
        blocker.close()
    assert db.session.scalar(sa.select(ApiToken.last_used_on)) is None
    caller.get("/api/v1/me").close()  # free now: noted
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken.last_used_on)) is not None


def test_a_search_with_line_breaks_is_kept_safely(browser, client, make, app_context):
    """Found by review: the redirect was built from the raw form field."""
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    token = csrf_token_from(client.get("/search?q=x").get_data(as_text=True))
    answer = client.post("/searches", data={"csrf_token": token, "name": "x", "query": "q=x\r\nSet-Cookie: a=b"})
    assert answer.status_code == 302 and "\n" not in answer.headers["Location"]


def test_the_profile_page_title_is_only_its_title(browser, client, make, app_context):
    """Found on re-reading the change: the token list and the password form
    had been written into the page's <title> as well."""
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    page = client.get("/profile").get_data(as_text=True)
    title = page.split("<title>")[1].split("</title>")[0]
    assert "<" not in title and "个人资料" in title
    assert page.count('id="token-table"') <= 1 and page.count('id="password"') == 1
