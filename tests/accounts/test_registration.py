"""Firm self-registration and sign-in on the web."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from instrument_share.accounts.models import Firm, User
from instrument_share.extensions import db

from ..factories import valid_uscc
from .conftest import link_in, outbox

GOOD = {
    "name": "李工",
    "email": "li@firm.example",
    "password": "longenough1",
    "confirm": "longenough1",
    "firm_name": "金华新材料有限公司",
    "uscc": valid_uscc(4242, "330700"),
    "city": "jinhua",
}


def _users(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id)))


def test_register_creates_an_unverified_account_and_mails_a_link(app, browser, client):
    response = browser.submit("/register", GOOD)
    assert response.status_code == 200
    assert "请查收邮件" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "li@firm.example"))
        assert user.role == "firm"
        assert user.firm.uscc == GOOD["uscc"]
        assert user.firm.city_code == "jinhua"
        assert user.password_hash != GOOD["password"]
        assert user.email_verified_at is None
        assert user.language == "zh_CN"
    # Registration never signs in: only the link in the mail does.
    assert client.get("/profile").status_code == 302
    ((recipient, subject, text),) = outbox(app, "account_confirm")
    assert recipient == "li@firm.example" and "确认" in subject
    assert "24" in text
    link_in(text)


@pytest.mark.parametrize(
    ("change", "field", "chinese", "english"),
    [
        ({"uscc": "91330700000000000X"}, "uscc", "统一社会信用代码", "Unified Social Credit Code"),
        ({"email": "not-an-email"}, "email", "电子邮箱", "e-mail"),
        ({"confirm": "different"}, "confirm", "两次输入的密码不一致", "Passwords do not match"),
        ({"password": "short", "confirm": "short"}, "password", "", ""),
        ({"city": "atlantis"}, "city", "", ""),
        ({"firm_name": ""}, "firm_name", "", ""),
    ],
)
def test_bad_registration_shows_form_error_and_changes_nothing(
    app, browser, change, field, chinese, english
):
    before = _users(app)
    response = browser.submit("/register", {**GOOD, **change})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "is-invalid" in html
    assert f'id="{field}"' in html
    if chinese:
        assert chinese in html
    assert _users(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Firm.id))) == 0

    browser.english()
    html = browser.submit("/register", {**GOOD, **change}).get_data(as_text=True)
    if english:
        assert english in html


def test_registering_a_known_firm_is_refused_whatever_the_address(app, browser, make):
    """Which firms are registered is public; the refusal does not depend on the address."""
    make.firm(uscc=GOOD["uscc"])
    make.user(email="taken@firm.example")
    for email in ("li@firm.example", "taken@firm.example"):
        response = browser.submit("/register", {**GOOD, "email": email})
        assert response.status_code == 200
        assert "已注册" in response.get_data(as_text=True)
    assert _users(app) == 1
    assert outbox(app) == []


def test_login_and_logout(browser, client, make):
    user = make.user(email="eng@firm.example")
    assert browser.login("ENG@firm.example").headers["Location"] == "/workspace"  # a firm user's landing page
    assert user.name in client.get("/profile").get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    from ..conftest import csrf_token_from

    client.post("/logout", data={"csrf_token": csrf_token_from(page)})
    assert client.get("/profile").status_code == 302


def test_wrong_password_is_a_form_error(browser, make):
    make.user(email="eng@firm.example")
    response = browser.submit("/login", {"email": "eng@firm.example", "password": "nope-nope"})
    assert response.status_code == 200
    assert "电子邮箱或密码错误" in response.get_data(as_text=True)


def test_login_redirects_only_to_own_site(browser, client, make):
    make.user(email="eng@firm.example")
    page = client.get("/login?next=https://evil.example/x").get_data(as_text=True)
    from ..conftest import csrf_token_from

    for target, expected in [
        ("https://evil.example/x", "/workspace"),
        ("//evil.example/x", "/workspace"),
        ("/\\evil.example", "/workspace"),
        ("/search?q=sem", "/search?q=sem"),
    ]:
        client.post("/logout", data={"csrf_token": csrf_token_from(page)})
        page = client.get("/login").get_data(as_text=True)
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"email": "eng@firm.example", "password": "bench-key-4471",
                  "csrf_token": csrf_token_from(page)},
        )
        assert response.headers["Location"] == expected


def test_forms_without_csrf_token_are_refused(app, client):
    for url, data in [
        ("/login", {"email": "a@b.cn", "password": "x"}),
        ("/register", GOOD),
        ("/logout", {}),
        ("/language/en", {}),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 400, url
    assert _users(app) == 0


def test_login_is_throttled(make_app):
    client = make_app(LOGIN_RATE_LIMIT="3 per minute").test_client()
    statuses = []
    for _ in range(5):
        page = client.get("/login").get_data(as_text=True)
        from ..conftest import csrf_token_from

        statuses.append(
            client.post("/login", data={"email": "x@y.cn", "password": "guess-guess",
                                        "csrf_token": csrf_token_from(page)}).status_code
        )
    assert statuses == [200, 200, 200, 429, 429]
    api_statuses = [
        client.post("/api/v1/tokens", json={"email": "x@y.cn", "password": "guess"}).status_code
        for _ in range(4)
    ]
    assert api_statuses == [401, 401, 401, 429]
    response = client.post("/api/v1/tokens", json={"email": "x@y.cn", "password": "guess"})
    assert response.json["error"] == "rate_limited"


def test_session_cookie_flags(browser, client, make):
    make.user(email="eng@firm.example")
    response = browser.login("eng@firm.example")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
