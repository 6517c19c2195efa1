"""Test set-up: one migrated database per test process (SQLite, or
PostgreSQL when TEST_DATABASE_URL is set), emptied after every test. A
SQLite one is a copy of a template migrated once per version of the code
(`_migrate`).

`make test` runs the tests in parallel processes (pytest-xdist workers
gw0, gw1, ...). Each has a database of its own: a SQLite file under its own
temporary directory, or on PostgreSQL the database `<name>_gw0`, ... beside
TEST_DATABASE_URL's, made at the start and dropped at the end. Servers and
SMTP relays listen on ports the system chose for them."""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import re
import sqlite3
import tempfile
import time
from importlib.metadata import version
from itertools import zip_longest
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from instrument_share import create_app
from instrument_share.accounts import passwords
from instrument_share.database import UNGUARDED
from instrument_share.extensions import db

from .factories import Factories
from .served import Gunicorn

# Reference data written by the migrations; kept between tests.
REFERENCE_TABLES = {"cities", "categories", "alembic_version"}

# The xdist worker this process is ("gw0", ...); None when pytest runs alone.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")

# werkzeug's default is scrypt with N=2**15: ~0.17 s of CPU per hash and per
# check, by design, and it was two thirds of the suite's time. The tests hash
# with the same method, format and code at N=2**10 (~4 ms); the dummy hash of
# an unknown address is made the same way, so their methods still match.
TEST_SCRYPT = "scrypt:1024:8:1"


def pytest_configure(config):
    # Here rather than at collection: under xdist this runs in the main
    # process too, which then stops with a usage error before any worker starts.
    if os.environ.get("REQUIRE_POSTGRES") == "1" and not os.environ.get("TEST_DATABASE_URL"):
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")


def pytest_collection_modifyitems(config, items):
    # The tests marked slow first, each followed by one other: with
    # `--maxschedchunk 1` (Makefile) xdist gives each worker two tests to
    # start with and then one at a time, so the slow ones start early, one
    # per worker, and none is left running alone at the end. The order is
    # the same in every worker, as xdist requires.
    slow = [item for item in items if item.get_closest_marker("slow")]
    rest = [item for item in items if not item.get_closest_marker("slow")]
    # zip_longest: a run of slow tests only (one file of them) keeps them all.
    items[:] = [item for pair in zip_longest(slow, rest[:len(slow)]) for item in pair if item is not None] \
        + rest[len(slow):]
    if os.environ.get("TEST_DATABASE_URL"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def _cheaper_scrypt(password: str, method: str = "scrypt", salt_length: int = 16) -> str:
    return generate_password_hash(password, TEST_SCRYPT if method == "scrypt" else method, salt_length)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_dummy", None)
        patch.setattr(passwords, "generate_password_hash", _cheaper_scrypt)
        yield


@pytest.fixture
def production_password_cost(monkeypatch):
    """Hashes at werkzeug's own cost, for a test whose race needs a check
    as slow as in production to show."""
    monkeypatch.setattr(passwords, "_dummy", None)
    monkeypatch.setattr(passwords, "generate_password_hash", generate_password_hash)


def _check_test_database(name: str) -> None:
    if "test" not in name:
        raise pytest.UsageError(f"refusing to wipe {name!r}: a test database name contains 'test'")


def _reset_postgres(url: str) -> None:
    _check_test_database(sa.engine.make_url(url).database or "")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _maintenance(url: sa.engine.URL) -> sa.engine.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def _worker_database(url: str):
    """TEST_DATABASE_URL for this process: under xdist, the worker's own
    database `<name>_<worker>`, made if missing and dropped afterwards."""
    if WORKER is None:
        yield url
        return
    given = sa.engine.make_url(url)
    own = given.set(database=f"{given.database}_{WORKER}")
    _check_test_database(own.database)
    admin = _maintenance(given)
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}):
            conn.execute(sa.text(f'CREATE DATABASE "{own.database}"'))
    try:
        yield own.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"  # the worker's own directory
        return
    from instrument_share.config import normalise_database_url

    with _worker_database(normalise_database_url(url)) as own:
        _reset_postgres(own)
        yield own


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


ROOT = Path(__file__).resolve().parent.parent


def _schema_key() -> str:
    """What decides the migrated database: the migrations, the application's
    code they import and the libraries that run them."""
    digest = hashlib.sha256(f"{sqlite3.sqlite_version} {version('sqlalchemy')} {version('alembic')}".encode())
    for folder in ("migrations", "instrument_share"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _migrate(database_url: str) -> None:
    """Migrate the process's database (in an app context). A SQLite database
    is copied from a template that the first process of the same code
    migrated and left in the temporary folder: `upgrade()` took about two
    seconds of every test process, and mutation testing starts one per
    mutant. PostgreSQL's are migrated each time."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "sqlite":
        upgrade()
        return
    template = Path(tempfile.gettempdir()) / f"instrument-share-schema-{_schema_key()}.sqlite"
    db.engine.dispose()  # no connection of the app's open while its file is written
    try:
        with contextlib.closing(sqlite3.connect(f"{template.as_uri()}?mode=ro", uri=True)) as reader, \
                contextlib.closing(sqlite3.connect(url.database)) as writer:
            reader.backup(writer)
        return
    except sqlite3.OperationalError:  # none made yet by this code (or an old one pruned meanwhile)
        pass
    upgrade()
    db.engine.dispose()
    partial = template.with_name(f"{template.name}.{os.getpid()}")
    with contextlib.closing(sqlite3.connect(url.database)) as reader, \
            contextlib.closing(sqlite3.connect(partial)) as writer:
        reader.backup(writer)
        writer.execute("PRAGMA journal_mode=DELETE")  # one file, readable read-only
    os.replace(partial, template)  # whole, for processes starting meanwhile
    for old in template.parent.glob("instrument-share-schema-*.sqlite"):
        with contextlib.suppress(FileNotFoundError):
            if time.time() - old.stat().st_mtime > 86400:  # other code's, a day old
                old.unlink()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(make_test_config(database_url, tmp_path_factory.mktemp("instance")))
    app.test_client_class = IsolatedClient
    with app.app_context():
        _migrate(database_url)
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


class Cleaner:
    """Empties every table but the reference data in one short transaction:
    on SQLite a DELETE per table; on PostgreSQL the same DELETEs in one
    round trip, then the id sequences back to 1 (as TRUNCATE ... RESTART
    IDENTITY did, at 300 ms a test where this takes 5). See the README's
    "Tests" for why tests are not isolated by rolling back instead."""

    def __init__(self, engine: sa.engine.Engine):
        self.tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
        self.sequences: list[str] = []
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                self.sequences = [name for table in self.tables for column in table.primary_key.columns
                                  if (name := conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                                          {"t": table.name, "c": column.name}))]

    def clean(self, engine: sa.engine.Engine) -> None:
        with engine.begin() as conn:
            if conn.dialect.name != "postgresql":
                for table in self.tables:
                    conn.execute(table.delete())
                return
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{table.name}"' for table in self.tables))
            conn.execute(sa.text("SELECT setval(CAST(s AS regclass), 1, false) FROM unnest(CAST(:s AS text[])) AS s"),
                         {"s": self.sequences})


@pytest.fixture(scope="session")
def _cleaner(app):
    with app.app_context():
        return Cleaner(db.engine)


@pytest.fixture(autouse=True)
def _clean_database(app, _cleaner):
    """Each test starts with only the reference data."""
    yield
    with app.app_context():
        db.session.remove()
        _cleaner.clean(db.engine)


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

    def login(self, email: str, password: str = "bench-key-4471"):
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
