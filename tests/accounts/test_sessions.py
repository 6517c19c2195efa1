"""Revocable sessions and tokens (issue #13, finding 8): the session is
rotated at sign-in, logging out ends every session of the user (a copied
cookie included), and a bearer token can be ended at once."""
from __future__ import annotations

import sqlalchemy as sa

from instrument_share.accounts.models import ApiToken, User
from instrument_share.accounts.services import end_sessions_and_tokens
from instrument_share.extensions import db

from ..conftest import Browser, csrf_token_from
from ..factories import PASSWORD


def _logout(client):
    page = client.get("/").get_data(as_text=True)
    return client.post("/logout", data={"csrf_token": csrf_token_from(page)})


def _copy(app, client):
    """Another browser holding a copy of `client`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_cookie_copied_before_logout_stops_working(app, client, make):
    make.user(email="eng@firm.example")
    Browser(client).login("eng@firm.example")
    copy = _copy(app, client)
    assert copy.get("/profile").status_code == 200
    assert copy.get("/api/v1/me").status_code == 200
    stolen = client.get_cookie("session").value
    assert _logout(client).status_code == 302
    assert copy.get("/profile").status_code == 302
    assert copy.get("/api/v1/me").status_code == 401
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/profile").status_code == 302


def test_logout_ends_the_users_other_sessions_and_nobody_elses(app, make):
    make.user(email="eng@firm.example")
    make.user(email="other@firm.example")
    laptop, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    Browser(laptop).login("eng@firm.example")
    Browser(phone).login("eng@firm.example")
    Browser(colleague).login("other@firm.example")
    _logout(laptop)
    assert phone.get("/profile").status_code == 302
    assert colleague.get("/profile").status_code == 200
    # Signing in again works, with the new generation.
    Browser(phone).login("eng@firm.example")
    assert phone.get("/profile").status_code == 200


def test_the_session_is_rotated_at_sign_in(app, client, make):
    user = make.user(email="eng@firm.example")
    Browser(client).english()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"  # e.g. a fixed session handed to the victim
        before = dict(session)
    assert before["csrf_token"]
    Browser(client).login("eng@firm.example")
    with client.session_transaction() as session:
        after = dict(session)
    assert "planted" not in after
    assert after.get("csrf_token") != before["csrf_token"]  # no CSRF secret survives
    assert after["language"] == "en"  # the choice that must survive does
    assert after["_user_id"] == f"{user.id}:0"


def test_a_session_of_an_older_kind_or_generation_is_anonymous(app, client, make):
    user = make.user(email="eng@firm.example")
    for value in (str(user.id), f"{user.id}:1", f"{user.id}:x", "x:0", ""):
        with client.session_transaction() as session:
            session["_user_id"] = value
        assert client.get("/profile").status_code == 302, value
    with client.session_transaction() as session:
        session["_user_id"] = f"{user.id}:0"
    assert client.get("/profile").status_code == 200


def test_delete_current_token_ends_that_token_at_once(api, client, make):
    user = make.user(email="eng@firm.example")
    first, second = api.as_user(user), api.as_user(user)
    assert first.get("/api/v1/me").status_code == 200
    response = first.delete("/api/v1/tokens/current")
    assert response.status_code == 204 and response.get_data() == b""
    gone = first.get("/api/v1/me")
    assert gone.status_code == 401 and gone.json["error"] == "unauthorized"
    assert first.delete("/api/v1/tokens/current").status_code == 401
    assert second.get("/api/v1/me").status_code == 200  # only the token sent was ended
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 1


def test_delete_current_token_needs_a_bearer_token(app, browser, client, make):
    make.user(email="eng@firm.example")
    anonymous = client.delete("/api/v1/tokens/current")
    assert anonymous.status_code == 401
    assert set(anonymous.json) == {"error", "message", "fields"}
    browser.login("eng@firm.example")  # a session cookie has no token to end
    assert client.delete("/api/v1/tokens/current").status_code == 401
    assert client.get("/api/v1/me").status_code == 200


def test_the_contract_documents_the_operation(client):
    operation = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/tokens/current"]["delete"]
    assert "204" in operation["responses"] and "401" in operation["responses"]


def test_ending_every_session_and_token_but_one(app, api, make):
    """What a password change will do (issue #17)."""
    user = make.user(email="eng@firm.example")
    kept, other = api.as_user(user), api.as_user(user)
    browser = app.test_client()
    Browser(browser).login("eng@firm.example")
    with app.app_context():
        kept_id = db.session.scalar(sa.select(ApiToken.id).order_by(ApiToken.id))
        end_sessions_and_tokens(user.id, keep_token_id=kept_id)
        db.session.commit()
        assert db.session.get(User, user.id).session_generation == 1
        db.session.remove()
    assert kept.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401
    assert browser.get("/profile").status_code == 302
    assert api.client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 201
