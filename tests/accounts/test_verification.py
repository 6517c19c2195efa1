"""Registration never reveals whether an address is registered (issue #13,
finding 5): every registration ends on the same "check your mail" page; a
new address gets an unverified account and a single-use link valid for
24 hours, a taken one a mail to its owner. An unverified user may sign in
and look, but not book."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from instrument_share.accounts import passwords
from instrument_share.accounts.models import Firm, User
from instrument_share.accounts.services import (
    check_verification_token,
    resend_verification,
    verification_link,
)
from instrument_share.extensions import db
from instrument_share.timeutil import utcnow

from ..booking.conftest import at
from ..conftest import Browser, csrf_token_from
from ..factories import valid_uscc
from .conftest import body_text, link_in, outbox
from .test_registration import GOOD

UNSTABLE_HEADERS = {"Set-Cookie", "Date"}


def _user(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*>', "", html)


def _register(app, data):
    client = app.test_client()
    response = Browser(client).submit("/register", data)
    return client, response


def test_a_taken_address_gets_the_same_answer_and_mails_its_owner(app, make):
    owner = make.user(email="taken@firm.example", name="老用户")
    _new_client, new = _register(app, {**GOOD, "email": "new@firm.example", "uscc": valid_uscc(501)})
    hashed = passwords.stats.hashed
    taken_client, taken = _register(app, {**GOOD, "email": "TAKEN@firm.example", "uscc": valid_uscc(502)})
    assert passwords.stats.hashed - hashed == 1  # the same work as creating an account
    assert taken.status_code == new.status_code == 200
    assert _without_tokens(taken.get_data(as_text=True)) == _without_tokens(new.get_data(as_text=True))
    headers = lambda r: sorted((k, v) for k, v in r.headers.items() if k not in UNSTABLE_HEADERS)  # noqa: E731
    assert headers(taken) == headers(new)
    assert ("Set-Cookie" in taken.headers) == ("Set-Cookie" in new.headers)
    # Nothing changed for the taken address: no firm, no user, no sign-in.
    with app.app_context():
        usccs = set(db.session.scalars(sa.select(Firm.uscc)))
        assert valid_uscc(502) not in usccs and valid_uscc(501) in usccs
        db.session.remove()
    assert taken_client.get("/profile").status_code == 302
    assert _user(app, "taken@firm.example").password_hash == owner.password_hash
    ((recipient, subject, text),) = outbox(app, "account_registration")
    assert recipient == "taken@firm.example"
    assert "注册" in subject and "老用户" in text and "/login" in text
    assert "/verify-email/" not in text  # no way into the account through this mail


def test_the_owner_is_mailed_at_most_once_a_day(app, make):
    make.user(email="taken@firm.example")
    for n in range(3):
        _register(app, {**GOOD, "email": "taken@firm.example", "uscc": valid_uscc(600 + n)})
    assert len(outbox(app, "account_registration")) == 1


def test_the_link_shows_a_button_and_the_button_verifies_and_signs_in(app, client):
    browser = Browser(client)
    browser.submit("/register", GOOD)
    ((_to, _subject, text),) = outbox(app, "account_confirm")
    path = link_in(text)
    page = client.get(path)  # a GET changes nothing: mail scanners fetch links
    assert page.status_code == 200
    assert "li@firm.example" in page.get_data(as_text=True)
    assert _user(app, "li@firm.example").email_verified_at is None
    assert client.get("/profile").status_code == 302
    response = client.post(path, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert response.status_code == 302 and response.location == "/workspace"
    assert _user(app, "li@firm.example").email_verified_at is not None
    assert "李工" in client.get("/").get_data(as_text=True)
    assert 'id="unverified"' not in client.get("/").get_data(as_text=True)
    # Single use: the link now answers that it was used, and signs nobody in.
    other = app.test_client()
    used = other.get(path)
    assert used.status_code == 400 and "已使用" in used.get_data(as_text=True)
    again = other.post(path, data={"csrf_token": csrf_token_from(other.get("/").get_data(as_text=True))})
    assert again.status_code == 400
    assert other.get("/profile").status_code == 302


def test_expired_and_forged_links_are_refused(app, client):
    Browser(client).submit("/register", GOOD)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "li@firm.example"))
        old = verification_link(user, utcnow() - timedelta(hours=24, minutes=1))
        fresh = verification_link(user, utcnow() - timedelta(hours=23, minutes=59))
        db.session.remove()
    expired = client.get(link_in(old))
    assert expired.status_code == 400 and "已过期" in expired.get_data(as_text=True)
    assert client.get(link_in(fresh)).status_code == 200
    token = link_in(fresh).rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for path in (f"/verify-email/{forged}", "/verify-email/x", "/verify-email/" + "A" * 3000):
        response = client.get(path)
        assert response.status_code == 400, path
        assert "无效" in response.get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    assert client.post(link_in(old), data={"csrf_token": csrf_token_from(page)}).status_code == 400
    assert _user(app, "li@firm.example").email_verified_at is None


def test_a_link_for_a_changed_address_is_refused(app, client):
    Browser(client).submit("/register", GOOD)
    ((_to, _subject, text),) = outbox(app, "account_confirm")
    with app.app_context():
        db.session.execute(sa.update(User).values(email="other@firm.example"))
        db.session.commit()
    assert client.get(link_in(text)).status_code == 400


def test_an_unverified_user_may_sign_in_and_look_but_not_book(app, client, make, day):
    instrument = make.instrument()
    Browser(client).submit("/register", GOOD)
    browser = Browser(client)
    browser.login("li@firm.example", GOOD["password"])
    home = client.get("/").get_data(as_text=True)
    assert 'id="unverified"' in home and "li@firm.example" in home
    assert client.get(f"/instruments/{instrument.id}").status_code == 200
    # The API refuses the booking with 403 and says why.
    token = client.post("/api/v1/tokens", json={"email": "li@firm.example", "password": GOOD["password"]}).json
    body = {"instrument_id": instrument.id, "start": at(day, "10:00").isoformat(),
            "end": at(day, "11:00").isoformat(), "purpose": "test"}
    refused = client.post("/api/v1/bookings", json=body, headers={"Authorization": f"Bearer {token['token']}"})
    assert refused.status_code == 403
    assert refused.json["error"] == "forbidden" and "Confirm your e-mail address" in refused.json["message"]
    # So does the page.
    page = client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    response = client.post(f"/instruments/{instrument.id}/book", data={
        "start": at(day, "10:00").strftime("%Y-%m-%dT%H:%M"), "end": at(day, "11:00").strftime("%Y-%m-%dT%H:%M"),
        "purpose": "test", "weeks": "1", "voucher_id": "0", "confirm": "1", "csrf_token": csrf_token_from(page)})
    assert response.status_code == 403
    assert 'id="unverified"' in response.get_data(as_text=True)  # with the way out
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT count(*) FROM bookings")) == 0
        db.session.remove()
    # Confirmed, the same request books.
    ((_to, _subject, text),) = outbox(app, "account_confirm")
    path = link_in(text)
    client.post(path, data={"csrf_token": csrf_token_from(client.get(path).get_data(as_text=True))})
    booked = client.post("/api/v1/bookings", json=body, headers={"Authorization": f"Bearer {token['token']}"})
    assert booked.status_code == 201


def test_the_mail_can_be_sent_again_but_not_more_than_every_ten_minutes(app, client):
    Browser(client).submit("/register", GOOD)
    Browser(client).login("li@firm.example", GOOD["password"])
    page = client.get("/profile").get_data(as_text=True)
    assert "尚未确认" in page
    response = client.post("/profile/verify-email", data={"csrf_token": csrf_token_from(page), "next": "/search"})
    assert response.status_code == 302 and response.location == "/search"
    assert len(outbox(app, "account_confirm")) == 1  # one went out a moment ago
    assert "十分钟" in client.get("/search").get_data(as_text=True)
    user_id = _user(app, "li@firm.example").id
    with app.app_context():
        assert resend_verification(user_id, utcnow() + timedelta(minutes=11)) == "sent"
        db.session.commit()
    mails = outbox(app, "account_confirm")
    assert len(mails) == 2 and link_in(mails[0][2]) != link_in(mails[1][2])
    # Every link sent works until one of them is used.
    assert client.get(link_in(mails[0][2])).status_code == 200
    with app.app_context():
        later = utcnow() + timedelta(minutes=12)
        assert check_verification_token(link_in(mails[1][2]).rsplit("/", 1)[1], later).id == user_id
        db.session.remove()


def test_resending_to_a_verified_user_or_anonymously_sends_nothing(app, client, make):
    make.user(email="done@firm.example")
    anonymous = client.post("/profile/verify-email",
                            data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login")
    Browser(client).login("done@firm.example")
    page = client.get("/profile").get_data(as_text=True)
    assert "已确认" in page and 'id="unverified"' not in page
    client.post("/profile/verify-email", data={"csrf_token": csrf_token_from(page)})
    assert outbox(app) == []


def test_the_mail_is_in_the_language_of_the_page(app, client):
    browser = Browser(client)
    browser.english()
    response = browser.submit("/register", GOOD)
    assert "Check your mail" in response.get_data(as_text=True)
    ((_to, subject, text),) = outbox(app, "account_confirm")
    assert subject == "Confirm your e-mail address for G60 Shared Instruments"
    assert "within 24 hours" in text
    assert _user(app, "li@firm.example").language == "en"


def test_the_confirmation_arrives_by_smtp_and_its_link_works(app, make_app, smtp):
    mail_app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, PLATFORM_URL="https://g60.example")
    client = mail_app.test_client()
    Browser(client).submit("/register", GOOD)
    from instrument_share.mail.delivery import deliver_due

    with mail_app.app_context():
        deliver_due()
    (message,) = smtp.messages
    assert message["To"] == "li@firm.example"
    text = body_text(message)
    assert "https://g60.example/verify-email/" in text
    path = link_in(text)
    page = client.get(path)
    client.post(path, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert client.get("/profile").status_code == 200
    assert _user(app, "li@firm.example").email_verified_at is not None


def test_users_made_by_the_joint_office_are_verified(app, runner):
    result = runner.invoke(args=["users", "create", "--email", "office@x.example", "--password", "lab-key-20261130",
                                 "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert _user(app, "office@x.example").email_verified_at is not None


def test_the_migration_marks_existing_users_verified(tmp_path, make_app):
    """Upgrade a database that holds a user from the revision before this one."""
    from flask_migrate import upgrade

    other = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite'}")
    with other.app_context():
        upgrade(revision="e723d34a320d")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (email, password_hash, name, role, language, active, feed_nonce, created_at) "
                "VALUES ('old@x.example', 'x', 'old', 'admin', 'zh_CN', 1, 'n', '2026-01-01 00:00:00')"))
        upgrade()
        row = db.session.execute(sa.text(
            "SELECT email_verified_at, failed_logins, session_generation FROM users")).one()
        db.session.remove()
    assert row[0] is not None and row[1:] == (0, 0)
