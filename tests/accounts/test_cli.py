"""`flask users create` exactly as API.md describes it."""
from __future__ import annotations

import sqlalchemy as sa

from instrument_share.accounts.models import Firm, User
from instrument_share.extensions import db

from ..factories import valid_uscc


def _user(email):
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_create_each_role(runner, make):
    institution = make.institution()
    uscc = valid_uscc(9, "340100")
    commands = [
        ["--email", "firm@x.example", "--password", "lab-key-20261130", "--role", "firm",
         "--firm-name", "合肥量子科技有限公司", "--firm-uscc", uscc, "--city", "hefei"],
        ["--email", "colleague@x.example", "--password", "lab-key-20261130", "--role", "firm",
         "--firm-uscc", uscc],
        ["--email", "mgr@x.example", "--password", "lab-key-20261130", "--role", "manager",
         "--institution", str(institution.id)],
        ["--email", "bureau@x.example", "--password", "lab-key-20261130", "--role", "city_admin",
         "--city", "wuhu"],
        ["--email", "office@x.example", "--password", "lab-key-20261130", "--role", "admin"],
    ]
    for args in commands:
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code == 0, result.output
        assert "Created" in result.output
    assert _user("firm@x.example").firm.city_code == "hefei"
    assert _user("colleague@x.example").firm_id == _user("firm@x.example").firm_id
    assert db.session.scalar(sa.select(sa.func.count(Firm.id))) == 1
    assert _user("mgr@x.example").institution_id == institution.id
    assert _user("bureau@x.example").city_code == "wuhu"
    assert _user("office@x.example").role == "admin"
    assert _user("office@x.example").check_password("lab-key-20261130")


def test_refusals_change_nothing(runner, make):
    make.user(email="taken@x.example")
    cases = [
        ["--email", "a@x.example", "--password", "lab-key-20261130", "--role", "manager"],
        ["--email", "a@x.example", "--password", "lab-key-20261130", "--role", "manager", "--institution", "999"],
        ["--email", "a@x.example", "--password", "lab-key-20261130", "--role", "city_admin", "--city", "paris"],
        ["--email", "a@x.example", "--password", "lab-key-20261130", "--role", "firm"],
        ["--email", "a@x.example", "--password", "lab-key-20261130", "--role", "firm",
         "--firm-name", "X", "--firm-uscc", "123", "--city", "hefei"],
        ["--email", "a@x.example", "--password", "short", "--role", "admin"],
        ["--email", "taken@x.example", "--password", "lab-key-20261130", "--role", "admin"],
        ["--email", "not-an-email", "--password", "lab-key-20261130", "--role", "admin"],
        ["--email", "a@x.example", "--password", "lab-key-20261130", "--role", "king"],
    ]
    for args in cases:
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code != 0, args
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
