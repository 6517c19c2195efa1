"""Test set-up: one migrated database per run (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), emptied after every test."""
from __future__ import annotations

import contextlib
import contextvars
import os
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

from instrument_share import create_app
from instrument_share.database import UNGUARDED
from instrument_share.extensions import db

from .factories import Factories
from .served import Gunicorn

# Reference data written by the migrations; kept between tests.
REFERENCE_TABLES = {"cities", "categories", "alembic_version"}


def pytest_collection_modifyitems(config, items):
    on_postgres = bool(os.environ.get("TEST_DATABASE_URL"))
    if os.environ.get("REQUIRE_POSTGRES") == "1" and not on_postgres:
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
    if on_postgres:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def _reset_postgres(url: str) -> None:
    name = sa.engine.make_url(url).database or ""
    if "test" not in name:
        raise pytest.UsageError(f"refusing to wipe {name!r}: a test database name contains 'test'")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        from instrument_share.config import normalise_database_url

        url = normalise_database_url(url)
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def make_test_config(database_url: str, instance_path, **extra) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(instance_path),
        "LOGIN_RATE_LIMIT": "1000 per minute",
        **extra,
    }


class IsolatedClient(FlaskClient):
    """Each request runs in an empty context, so it gets its own app context,
    session and `g`, as in a deployed app, even while the test holds one."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(make_test_config(database_url, tmp_path_factory.mktemp("instance")))
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(database_url, tmp_path):
    """Another app on the same database with some settings changed."""
    made = []

    def factory(**overrides):
        new_app = create_app(make_test_config(database_url, tmp_path, **overrides))
        new_app.test_client_class = IsolatedClient
        made.append(new_app)
        return new_app

    yield factory
    for new_app in made:
        with new_app.app_context():
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(app):
    """Each test starts with only the reference data."""
    yield
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(t.name for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())


@contextlib.contextmanager
def fixture_context(app):
    """An app context whose session writes test fixtures directly (not
    checked by the locking guard of database.py)."""
    with app.app_context():
        db.session.info[UNGUARDED] = True
        yield


@pytest.fixture
def app_context(app):
    """The test's own app context. Its session writes fixtures directly, so
    the locking guard of database.py does not check it; requests, jobs and
    the model-based test run in sessions of their own, which it checks."""
    with app.app_context():
        db.session.info[UNGUARDED] = True
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def day():
    """An ordinary working day a few days ahead (see booking/conftest.py)."""
    from .booking.conftest import workday

    return workday()


@pytest.fixture
def make(app_context) -> Factories:
    """Factories that fill defaults and commit: make.instrument(name=...)."""
    return Factories()


CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Browser:
    """The test client as a person uses the site: GET the form, POST it with its token."""

    def __init__(self, client):
        self.client = client

    def submit(self, url: str, data: dict, *, follow_redirects: bool = False):
        page = self.client.get(url)
        token = csrf_token_from(page.get_data(as_text=True))
        return self.client.post(
            url, data={**data, "csrf_token": token}, follow_redirects=follow_redirects
        )

    def login(self, email: str, password: str = "password123"):
        response = self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    def english(self):
        page = self.client.get("/")
        token = csrf_token_from(page.get_data(as_text=True))
        self.client.post("/language/en", data={"csrf_token": token})


@pytest.fixture
def browser(client) -> Browser:
    return Browser(client)


@pytest.fixture
def api(client, app):
    """API calls as a given user: api.as_user(user).get(...)."""
    from .factories import ApiClient

    return ApiClient(client, app)


@pytest.fixture
def gunicorn(app, database_url, tmp_path, request):
    """Start gunicorn with `workers`; always stopped, its log shown on failure."""
    started = []

    def start(workers: int) -> Gunicorn:
        server = Gunicorn(database_url, tmp_path, workers)
        started.append(server)
        server.wait_until_ready()
        return server

    yield start
    for server in started:
        server.stop()
        print(f"--- gunicorn log ---\n{server.stderr()}")
