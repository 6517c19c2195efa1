"""Sign-in throttling that cannot lock out the site (issue #13, finding 5):
failures are counted per account in the database, an account locks for a
while and unlocks by itself, the per-address limit is high and behind a
proxy counts the real clients, and no answer tells whether an address is
registered, not even by the work it took."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from instrument_share.accounts import passwords
from instrument_share.accounts.models import User
from instrument_share.accounts.services import authenticate
from instrument_share.extensions import db
from instrument_share.timeutil import utcnow

from ..conftest import csrf_token_from
from ..factories import PASSWORD
from ..served import http_json, served
from .conftest import outbox

WRONG = "not-the-password"


def token(client, email, password, address="192.0.2.10", **headers):
    return client.post("/api/v1/tokens", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def web_login(client, email, password, address="192.0.2.10"):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token_from(page)},
                       environ_base={"REMOTE_ADDR": address})


def state(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        found = (user.failed_logins, user.login_locked_until)
        db.session.remove()
    return found


def test_ten_bad_passwords_lock_that_account_only(app, client, make):
    victim = make.user(email="victim@firm.example")
    make.user(email="colleague@firm.example")
    for attempt in range(10):
        assert token(client, victim.email, WRONG).status_code == 401, attempt
    failed, locked_until = state(app, victim.email)
    assert failed == 0 and locked_until > utcnow() + timedelta(minutes=14)
    # Locked: even the right password is refused, with the same answer as a wrong one.
    locked = token(client, victim.email, PASSWORD)
    assert locked.status_code == 401
    assert locked.json == token(client, "nobody@firm.example", PASSWORD).json
    assert web_login(client, victim.email, PASSWORD).status_code == 200
    # The same address signs in to another account, on the API and the web;
    # another address too. The site is not locked, one account is.
    assert token(client, "colleague@firm.example", PASSWORD).status_code == 201
    assert web_login(client, "colleague@firm.example", PASSWORD).status_code == 302
    assert token(client, "colleague@firm.example", PASSWORD, address="198.51.100.7").status_code == 201


def test_a_success_resets_the_count(app, client, make):
    user = make.user(email="forgetful@firm.example")
    for _ in range(9):
        token(client, user.email, WRONG)
    assert state(app, user.email)[0] == 9
    assert token(client, user.email, PASSWORD).status_code == 201
    assert state(app, user.email) == (0, None)
    for _ in range(9):
        token(client, user.email, WRONG)
    assert token(client, user.email, PASSWORD).status_code == 201  # never ten in a row


def test_the_lock_holds_across_app_instances_and_unlocks_after_the_delay(app, make, make_app):
    """Two app instances (two workers or hosts) on one database count together."""
    user = make.user(email="shared@firm.example")
    first, second = make_app().test_client(), make_app().test_client()
    for attempt in range(5):
        assert token(first, user.email, WRONG).status_code == 401, attempt
        assert state(app, user.email)[0] == 2 * attempt + 1
        assert token(second, user.email, WRONG).status_code == 401, attempt
    failed, locked_until = state(app, user.email)
    assert failed == 0 and locked_until is not None
    assert token(first, user.email, PASSWORD).status_code == 401
    assert token(second, user.email, PASSWORD).status_code == 401

    with app.app_context():  # time injected: just before, and just after the lock runs out
        assert authenticate(user.email, PASSWORD, now=locked_until - timedelta(seconds=1)) is None
        db.session.rollback()
        assert authenticate(user.email, PASSWORD, now=locked_until + timedelta(seconds=1)) is not None
        db.session.commit()
    assert state(app, user.email) == (0, None)
    assert token(first, user.email, PASSWORD).status_code == 201


def test_after_the_delay_a_wrong_password_starts_a_new_count(app, make):
    user = make.user(email="again@firm.example")
    now = utcnow()
    with app.app_context():
        for _ in range(10):
            assert authenticate(user.email, WRONG, now=now) is None
            db.session.commit()
        # Failures while locked are not counted.
        assert authenticate(user.email, WRONG, now=now + timedelta(minutes=5)) is None
        db.session.commit()
        later = now + timedelta(minutes=16)
        assert authenticate(user.email, WRONG, now=later) is None
        db.session.commit()
        row = db.session.get(User, user.id)
        assert row.failed_logins == 1  # a new count; the old lock has run out
        assert row.login_locked_until <= later
        db.session.remove()


def test_concurrent_failures_are_all_counted_on_two_served_instances(app, make, make_app, production_password_cost):
    """Twenty wrong passwords at once through two served apps: exactly ten are
    counted (then the account is locked) and exactly one lock mail is queued.
    A read-then-write count would lose updates here (checks as slow as in
    production keep the requests overlapping)."""
    email = make.user(email="crowd@firm.example").email
    with served(make_app()) as one, served(make_app()) as two:
        statuses = []

        def attempt(base):
            statuses.append(http_json("POST", f"{base}/api/v1/tokens", {"email": email, "password": WRONG})[0])

        threads = [threading.Thread(target=attempt, args=(base,)) for base in [one, two] * 10]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [401] * 20
    failed, locked_until = state(app, email)
    assert failed == 0 and locked_until is not None
    assert len(outbox(app, "account_locked")) == 1


def test_the_owner_is_told_by_mail_once_a_day(app, client, make):
    user = make.user(email="owner@firm.example", language="en")
    for _ in range(10):
        token(client, user.email, WRONG)
    ((recipient, subject, text),) = outbox(app, "account_locked")
    assert recipient == "owner@firm.example"
    assert subject == "Your account was locked after failed sign-in attempts"
    assert "After 10 failed attempts" in text
    # Another lock the same day mails nothing more (no mail flood through us).
    with app.app_context():
        db.session.execute(sa.update(User).values(login_locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    for _ in range(10):
        token(client, user.email, WRONG)
    assert state(app, user.email)[1] > utcnow()
    assert len(outbox(app, "account_locked")) == 1


def test_lock_mail_in_chinese_for_a_chinese_user(app, client, make):
    user = make.user(email="zhong@firm.example")
    for _ in range(10):
        token(client, user.email, WRONG)
    ((_to, subject, text),) = outbox(app, "account_locked")
    assert "锁定" in subject and "10" in text


def test_the_login_page_says_the_rule_but_not_whether_the_account_exists(client, make):
    user = make.user(email="page@firm.example")
    for _ in range(10):
        web_login(client, user.email, WRONG)
    locked = web_login(client, user.email, PASSWORD).get_data(as_text=True)
    unknown = web_login(client, "ghost@firm.example", PASSWORD).get_data(as_text=True)
    for html in (locked, unknown):
        assert "电子邮箱或密码错误" in html
        assert 'id="lock-rule"' in html

    def same_but_for_tokens_and_typed_address(html):
        return re.sub(r'name="csrf_token"[^>]*>', "", html.replace(user.email, "").replace("ghost@firm.example", ""))

    assert same_but_for_tokens_and_typed_address(locked) == same_but_for_tokens_and_typed_address(unknown)


@pytest.mark.parametrize("case", ["unknown", "malformed", "wrong", "locked", "inactive", "right"])
def test_every_attempt_costs_exactly_one_password_verification(app, client, make, case):
    """The timing check, deterministic: the work per request is counted, not
    timed. An unknown address is checked against a dummy hash of the same
    method and parameters as real ones."""
    user = make.user(email="known@firm.example")
    if case == "locked":
        for _ in range(10):
            token(client, user.email, WRONG)
    if case == "inactive":
        with app.app_context():
            db.session.execute(sa.update(User).values(active=False))
            db.session.commit()
    email, password = {
        "unknown": ("unknown@firm.example", WRONG), "malformed": ("not an address", WRONG),
        "wrong": (user.email, WRONG), "locked": (user.email, PASSWORD),
        "inactive": (user.email, PASSWORD), "right": (user.email, PASSWORD),
    }[case]
    passwords.dummy_hash()  # made once per process, before the first unknown address
    before = (passwords.stats.verified, passwords.stats.hashed)
    response = token(client, email, password)
    assert response.status_code == (201 if case == "right" else 401)
    assert (passwords.stats.verified - before[0], passwords.stats.hashed - before[1]) == (1, 0)
    method = lambda h: h.split("$", 1)[0]  # noqa: E731  e.g. "scrypt:32768:8:1"
    assert method(passwords.dummy_hash()) == method(user.password_hash)


# --- the per-address limit --------------------------------------------------------

def test_the_defaults_suit_a_shared_proxy(monkeypatch, tmp_path):
    from instrument_share.config import load_settings

    for name in ("LOGIN_RATE_LIMIT", "TRUSTED_PROXIES", "LOGIN_LOCK_AFTER", "LOGIN_LOCK_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(tmp_path, {"SECRET_KEY": "x"})
    assert settings["LOGIN_RATE_LIMIT"] == "60 per minute;1000 per day"
    assert (settings["TRUSTED_PROXIES"], settings["LOGIN_LOCK_AFTER"], settings["LOGIN_LOCK_MINUTES"]) == (0, 10, 15)


def test_behind_a_trusted_proxy_clients_are_counted_apart(make, make_app):
    make.user(email="proxied@firm.example")
    client = make_app(TRUSTED_PROXIES=1, LOGIN_RATE_LIMIT="3 per minute").test_client()
    proxy = "10.0.0.2"  # every request arrives from the one proxy
    alice = [token(client, "x@firm.example", WRONG, proxy, **{"X-Forwarded-For": "203.0.113.1"}).status_code
             for _ in range(4)]
    assert alice == [401, 401, 401, 429]
    bob = token(client, "proxied@firm.example", PASSWORD, proxy, **{"X-Forwarded-For": "203.0.113.2"})
    assert bob.status_code == 201
    # A client cannot escape by sending its own X-Forwarded-For: the proxy
    # appends the address it saw, and only the last one is trusted.
    spoofed = token(client, "x@firm.example", WRONG, proxy,
                    **{"X-Forwarded-For": "198.51.100.99, 203.0.113.1"})
    assert spoofed.status_code == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(make_app):
    client = make_app(LOGIN_RATE_LIMIT="3 per minute").test_client()
    statuses = [token(client, "x@firm.example", WRONG, "10.0.0.2",
                      **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_registration_and_confirmation_mails_are_throttled_per_address(make_app):
    client = make_app(LOGIN_RATE_LIMIT="2 per minute").test_client()
    statuses = []
    for _ in range(3):
        page = client.get("/register").get_data(as_text=True)
        statuses.append(client.post("/register", data={"csrf_token": csrf_token_from(page)}).status_code)
    assert statuses == [200, 200, 429]


def test_bad_trusted_proxies_setting_stops_the_start(monkeypatch, tmp_path):
    from instrument_share.config import load_settings

    monkeypatch.setenv("TRUSTED_PROXIES", "one")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        load_settings(tmp_path, {"SECRET_KEY": "x"})
    monkeypatch.setenv("TRUSTED_PROXIES", "-1")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        load_settings(tmp_path, {"SECRET_KEY": "x"})
