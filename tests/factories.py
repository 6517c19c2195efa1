"""Factories in the Indico style: a callable that fills defaults."""
from __future__ import annotations

import itertools
from decimal import Decimal

from stdnum.cn import uscc as uscc_number

from instrument_share.accounts.models import Firm, Institution, User
from instrument_share.accounts.services import create_user, issue_token
from instrument_share.catalogue.models import Instrument, OpeningHours
from instrument_share.database import begin_write_transaction
from instrument_share.extensions import db

PASSWORD = "bench-key-4471"
_sequence = itertools.count(1)

WEEKDAYS_9_TO_17 = [(day, 9 * 60, 17 * 60) for day in range(5)]


def valid_uscc(n: int, region: str = "330100") -> str:
    """A USCC with correct check digits for test firm number n."""
    body = "91" + region + _org_code(n)
    return body + uscc_number.calc_check_digit(body)


def _org_code(n: int) -> str:
    """An organisation code (组织机构代码) with its own check digit (GB 11714)."""
    digits = f"{n:08d}"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(c) * w for c, w in zip(digits, weights, strict=True)) % 11
    return digits + {10: "X", 11: "0"}.get(check, str(check))


class Factories:
    def institution(self, **kw) -> Institution:
        n = next(_sequence)
        kw.setdefault("name", f"测试大学{n}")
        kw.setdefault("name_en", f"Test University {n}")
        kw.setdefault("city_code", "hangzhou")
        inst = Institution(**kw)
        db.session.add(inst)
        db.session.commit()
        return inst

    def instrument(self, *, hours=WEEKDAYS_9_TO_17, **kw) -> Instrument:
        n = next(_sequence)
        if "institution" not in kw and "institution_id" not in kw:
            kw["institution"] = self.institution()
        kw.setdefault("name", f"扫描电子显微镜{n}")
        kw.setdefault("name_en", f"Scanning electron microscope {n}")
        kw.setdefault("category_code", "analytical-electron-optics")
        kw.setdefault("model", f"M-{n}")
        kw.setdefault("manufacturer", "Zeiss")
        kw.setdefault("hourly_rate", Decimal("300.00"))
        instrument = Instrument(**kw)
        instrument.opening_hours = [
            OpeningHours(weekday=d, open_minute=o, close_minute=c) for d, o, c in hours
        ]
        db.session.add(instrument)
        db.session.commit()
        return instrument

    def firm(self, **kw) -> Firm:
        n = next(_sequence)
        kw.setdefault("name", f"测试科技有限公司{n}")
        kw.setdefault("uscc", valid_uscc(n))
        kw.setdefault("city_code", "jinhua")
        firm = Firm(**kw)
        db.session.add(firm)
        db.session.commit()
        return firm

    def user(self, role: str = "firm", **kw) -> User:
        n = next(_sequence)
        kw.setdefault("email", f"user{n}@test.example")
        kw.setdefault("password", PASSWORD)
        if role == "firm" and "firm" not in kw:
            kw["firm"] = self.firm()
        if role == "manager" and "institution_id" not in kw:
            kw["institution_id"] = self.institution().id
        if role == "city_admin":
            kw.setdefault("city_code", "jinhua")
        user = create_user(role=role, **kw)
        db.session.commit()
        return user


class ApiClient:
    """JSON calls with a bearer token issued through the real token service."""

    def __init__(self, client, app, token: str | None = None):
        self.client, self.app, self.token = client, app, token

    def as_user(self, user: User) -> ApiClient:
        with self.app.app_context():
            begin_write_transaction()
            token, _ = issue_token(user.email, PASSWORD)
            db.session.commit()
        return ApiClient(self.client, self.app, token)

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(), **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self._headers(), **kw)

    def put(self, url, json=None, **kw):
        return self.client.put(url, json=json, headers=self._headers(), **kw)

    def delete(self, url, **kw):
        return self.client.delete(url, headers=self._headers(), **kw)
