"""The app factory: defaults, environment, test override."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from instrument_share import create_app
from instrument_share.config import normalise_database_url


def test_defaults_use_sqlite_in_instance_and_shanghai_time(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "PLATFORM_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert not app.testing
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instrument_share.sqlite'}"
    assert app.config["PLATFORM_TIMEZONE"] == "Asia/Shanghai"


def test_the_platform_address_follows_the_port_unless_it_is_set(tmp_path, monkeypatch):
    """`PORT=8000 make run` mails links to port 8000 (issue #17)."""
    monkeypatch.delenv("PLATFORM_URL", raising=False)
    monkeypatch.setenv("PORT", "8000")
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["PLATFORM_URL"] == "http://127.0.0.1:8000"
    monkeypatch.setenv("PLATFORM_URL", "https://g60.example")
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).config["PLATFORM_URL"] == "https://g60.example"


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/g60")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("PLATFORM_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example")
    monkeypatch.setenv("MAIL_PORT", "2525")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/g60"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["PLATFORM_TIMEZONE"] == "Asia/Urumqi"
    assert app.config["MAIL_SERVER"] == "smtp.example"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["MAIL_USE_TLS"] is True
    assert not (tmp_path / "secret_key").exists()


def test_test_override_wins(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True, "SECRET_KEY": "x"})
    assert app.testing
    assert app.config["SECRET_KEY"] == "x"


def test_database_url_spellings():
    assert normalise_database_url("postgres://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("postgresql+psycopg://a/b") == "postgresql+psycopg://a/b"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(("name", "value"), [
    ("PLATFORM_TIMEZONE", "Mars/Olympus_Mons"), ("PLATFORM_TIMEZONE", "Asia/Shanghai "),
    ("PLATFORM_TIMEZONE", "Asia"), ("PLATFORM_TIMEZONE", "../etc/passwd"), ("PLATFORM_TIMEZONE", ""),
    ("PLATFORM_URL", "g60.example"), ("PLATFORM_URL", "ftp://g60.example"),
    ("MAIL_LEASE_SECONDS", "0"), ("MAIL_LEASE_SECONDS", "five"), ("MAIL_LEASE_SECONDS", "inf"),
])
def test_a_bad_setting_refuses_to_start_and_names_itself(tmp_path, monkeypatch, name, value):
    """Such a setting used to start fine and then answer 500 on every page."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    monkeypatch.delenv(name)
    with pytest.raises(ValueError, match=name):  # the tests' own override is checked the same way
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", name: value})


def test_postgresql_sessions_price_random_reads_as_memory_does(app_context):
    """Every pooled PostgreSQL connection plans with random_page_cost 1.1
    (database.py says why); SQLite has no such setting."""
    from instrument_share.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    with db.engine.connect() as first, db.engine.connect() as second:
        for connection in (first, second):
            assert connection.exec_driver_sql("SHOW random_page_cost").scalar() == "1.1"


def test_postgresql_plans_a_statement_run_again_and_again_for_its_own_values(make, app_context):
    """psycopg prepares a statement on its fifth run; PostgreSQL would then
    keep a generic plan after five more, blind to the dates and ids (a year
    by city three times slower from its eleventh call in a worker,
    database.py). A statistic asked twelve times on one connection is
    planned for its values every time: no generic plan."""
    from datetime import date

    from instrument_share.accounts.policy import Scope
    from instrument_share.extensions import db
    from instrument_share.stats import services

    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    make.instrument()
    db.session.commit()
    period = services.Period(date(2025, 12, 1), date(2026, 11, 30))
    for _ in range(12):
        services.utilisation(Scope(), period, "city")
    custom, generic = db.session.execute(sa.text(
        "SELECT coalesce(sum(custom_plans), 0), coalesce(sum(generic_plans), 0) FROM pg_prepared_statements")).one()
    assert (custom > 0, generic) == (True, 0)
