"""Tokens, Bearer authentication and /me (API.md, "Auth")."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from instrument_share.accounts.models import ApiToken
from instrument_share.extensions import db


def test_token_for_valid_credentials(client, make):
    user = make.user(email="eng@firm.example")
    response = client.post("/api/v1/tokens", json={"email": "eng@firm.example", "password": "bench-key-4471"})
    assert response.status_code == 201
    body = response.json
    assert set(body) == {"token", "expires_at"}
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == timedelta(hours=8)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json["id"] == user.id
    assert me.json["role"] == "firm"
    assert me.json["firm"] == {"id": user.firm.id, "name": user.firm.name, "city": "jinhua"}
    assert me.json["institution"] is None
    # Only the hash is stored.
    stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert body["token"] not in stored and len(stored) == 1


def test_unknown_email_and_wrong_password_get_the_same_answer(client, make):
    make.user(email="eng@firm.example")
    unknown = client.post("/api/v1/tokens", json={"email": "who@firm.example", "password": "bench-key-4471"})
    wrong = client.post("/api/v1/tokens", json={"email": "eng@firm.example", "password": "wrong-one"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json == wrong.json
    assert unknown.json["error"] == "unauthorized"


def test_token_request_validation(client):
    assert client.post("/api/v1/tokens", data="{not json", content_type="application/json").json == {
        "error": "bad_request", "message": "The request body is not valid JSON.", "fields": {}
    }
    response = client.post("/api/v1/tokens", json={"email": "a@b.cn"})
    assert response.status_code == 422
    assert response.json["error"] == "validation"
    assert "password" in response.json["fields"]


def test_bad_tokens_are_refused(client, make, app):
    user = make.user()
    for header in ["Bearer nonsense", "Basic abc", "Bearer ", "Token x"]:
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json["error"] == "unauthorized"
    from instrument_share.accounts.services import issue_token

    token, _ = issue_token(user.email, "bench-key-4471")
    row = db.session.scalar(sa.select(ApiToken))
    row.expires_at = datetime.now(row.expires_at.tzinfo) - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_inactive_user_token_stops_working(api, make):
    user = make.user()
    as_user = api.as_user(user)
    assert as_user.get("/api/v1/me").status_code == 200
    user.active = False
    db.session.commit()
    assert as_user.get("/api/v1/me").status_code == 401


def test_session_works_for_get_only(browser, client, make):
    make.user(email="eng@firm.example", role="manager")
    browser.login("eng@firm.example")
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json["role"] == "manager"
    assert me.json["institution"]["id"]
    # A cookie alone never authorises a change through the API.
    response = client.post("/api/v1/tokens", json={})
    assert response.status_code == 422


def test_me_for_each_role(api, make):
    city_admin = make.user(role="city_admin", city_code="hefei")
    admin = make.user(role="admin")
    assert api.as_user(city_admin).get("/api/v1/me").json["city"] == "hefei"
    body = api.as_user(admin).get("/api/v1/me").json
    assert (body["role"], body["firm"], body["institution"], body["city"]) == ("admin", None, None, None)
