"""What the order tests share: a manager with an XRD that takes orders, a
firm's engineer with a voucher of Jinhua's bureau, each with an API client
(`world`); and people signed in on test clients of their own (`sign_in`)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from ..conftest import Browser, csrf_token_from

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


@pytest.fixture
def world(make, api):
    manager = make.user("manager", email="mgr@inst.example")
    xrd = make.instrument(institution_id=manager.institution_id, name="X射线衍射仪")
    engineer = make.user(email="eng@firm.example")
    bureau = make.user(role="city_admin", city_code="jinhua")
    firm = api.as_user(engineer)
    voucher = api.as_user(bureau).post("/api/v1/vouchers", json={
        "firm_id": engineer.firm_id, "amount": "1000.00", "expires_on": NEXT_YEAR, "max_share": "0.5"}).json
    return {"manager": manager, "xrd": xrd, "engineer": engineer, "firm": firm, "lab": api.as_user(manager),
            "bureau": api.as_user(bureau), "voucher": voucher}


class Person:
    """A signed-in person on the test client, reading the pages in English."""

    def __init__(self, client, browser, email):
        browser.login(email)
        browser.english()
        self.client = client
        self.token = csrf_token_from(client.get("/").get_data(as_text=True))

    def get(self, url):
        return self.client.get(url)

    def post(self, url, data=None, **kw):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token}, **kw)

    def page(self, url) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)


@pytest.fixture
def sign_in(app):
    """sign_in(email): that person, signed in on a client of their own."""
    def person(email: str) -> Person:
        client = app.test_client()
        return Person(client, Browser(client), email)
    return person


