"""`flask backup PATH` (issue #8): a consistent SQLite copy while the app
runs, restored by pointing an app at it; PostgreSQL is sent to pg_dump."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from instrument_share.booking.models import Booking
from instrument_share.extensions import db

from .booking.conftest import SHANGHAI, at, workday
from .conftest import fixture_context
from .factories import ApiClient
from .served import http_json, served
from .waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sqlite_only(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the backup command copies SQLite; PostgreSQL is backed up with pg_dump")


def slots(days: int, minutes: int = 60):
    """Back-to-back slots 09:00–17:00 on `days` working days from three days ahead."""
    today = datetime.now(SHANGHAI).date()
    found = [workday(3)]
    while len(found) < days:
        found.append(workday((found[-1] - today).days + 1))
    for day in found:
        start = at(day, "09:00")
        while start + timedelta(minutes=minutes) <= at(day, "17:00"):
            yield start, start + timedelta(minutes=minutes)
            start += timedelta(minutes=minutes)


def book(api, instrument_id, start, end, purpose="备份测试"):
    response = api.post("/api/v1/bookings", json={
        "instrument_id": instrument_id, "start": start.isoformat(), "end": end.isoformat(),
        "purpose": purpose})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def integrity(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]


def test_backup_then_restore_finds_the_bookings(sqlite_only, app, make, api, runner, make_app, tmp_path):
    instrument = make.instrument()
    booker = api.as_user(make.user())
    wanted = list(slots(1))[:5]
    ids = [book(booker, instrument.id, start, end) for start, end in wanted]
    target = tmp_path / "backups" / "g60.sqlite"
    target.parent.mkdir()

    result = runner.invoke(args=["backup", str(target)])

    assert result.exit_code == 0, result.output
    assert f"to {target}:" in result.output
    assert "5 bookings, integrity ok" in result.output
    assert integrity(target) == ["ok"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["g60.sqlite"]  # no temporary left
    with sqlite3.connect(target) as conn:  # a single self-contained file
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"

    # Restore: an app on the copy sees the bookings through the API and the models.
    restored = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{target}")
    listed = ApiClient(restored.test_client(), restored, booker.token).get("/api/v1/bookings")
    assert listed.status_code == 200
    assert sorted(item["id"] for item in listed.get_json()["items"]) == sorted(ids)
    with restored.app_context():
        rows = db.session.execute(sa.select(Booking.id, Booking.start, Booking.end)).all()
        assert sorted((r.id, r.start, r.end) for r in rows) == sorted(
            (i, s, e) for i, (s, e) in zip(ids, wanted, strict=True))
        db.session.remove()


def book_during(app, make, api, backup):
    """Book back-to-back through a served app while `backup()` runs.

    Returns the ids booked, how many were booked while `backup()` ran, and
    its result. The writer has made 5 bookings before and makes 3 after.

    It books at most 50 a second, on four instruments in turn: 1,600 free
    slots last more than 30 s, however long a slow machine takes to start the
    backup's process (a writer that ran out of slots failed this test once)."""
    instrument_ids = [make.instrument().id for _ in range(4)]
    token = api.as_user(make.user()).token
    wanted = [(instrument_id, start, end) for start, end in slots(25, minutes=30)
              for instrument_id in instrument_ids]
    made: list[tuple[int, float]] = []
    errors: list[str] = []
    stop = threading.Event()

    with served(app) as base:
        def writer():
            for n, (instrument_id, start, end) in enumerate(wanted):
                if stop.wait(0.02):
                    return
                status, body = http_json("POST", f"{base}/api/v1/bookings", {
                    "instrument_id": instrument_id, "start": start.isoformat(),
                    "end": end.isoformat(), "purpose": f"备份期间 {n}"}, token=token)
                if status != 201:
                    errors.append(f"{status} {body}")
                    return
                made.append((body["id"], time.monotonic()))
            errors.append(f"the writer ran out of slots after {len(made)} bookings")

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            wait_for(lambda: len(made) >= 5 or errors, 60, interval=0.02)
            began = time.monotonic()
            result = backup()
            ended = time.monotonic()
            during = sum(1 for _, at_ in made if began <= at_ <= ended)
            after = len(made)
            wait_for(lambda: len(made) >= after + 3 or errors, 60, interval=0.02)  # and it goes on after
        finally:
            stop.set()
            thread.join(timeout=60)
    assert not errors, errors
    return [booking_id for booking_id, _ in made], during, result


def check_snapshot(app, copy_url: str, made_ids: list[int]) -> int:
    """The copy holds the bookings made before some moment, every one of
    them exactly, each with its history and its mail (whole transactions)."""
    copy = sa.create_engine(copy_url)
    try:
        with copy.connect() as conn:
            copied = conn.execute(sa.text(
                'SELECT id, start, "end", status FROM bookings ORDER BY id')).all()
            orphans = conn.execute(sa.text(
                "SELECT count(*) FROM bookings b WHERE NOT EXISTS"
                " (SELECT 1 FROM booking_events e WHERE e.booking_id = b.id)"
                " OR NOT EXISTS (SELECT 1 FROM outbox_messages m WHERE m.booking_id = b.id)")).scalar()
    finally:
        copy.dispose()
    with fixture_context(app):
        live = db.session.execute(sa.text(
            'SELECT id, start, "end", status FROM bookings ORDER BY id')).all()
    assert 5 <= len(copied) < len(live) == len(made_ids)
    assert [tuple(row) for row in copied] == [tuple(row) for row in live[:len(copied)]]
    assert [row[0] for row in copied] == made_ids[:len(copied)]
    assert orphans == 0
    return len(copied)


def test_backup_while_the_served_app_books_is_consistent(sqlite_only, app, make, api, database_url, tmp_path):
    target = tmp_path / "live.sqlite"
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "backup-test"}

    made_ids, during, backup = book_during(app, make, api, lambda: subprocess.run(
        [sys.executable, "-m", "flask", "--app", "instrument_share", "backup", str(target)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120))

    assert backup.returncode == 0, backup.stderr
    assert "integrity ok" in backup.stdout
    assert during > 0, "no booking was made while the backup command ran"
    assert integrity(target) == ["ok"]
    copied = check_snapshot(app, f"sqlite:///{target}", made_ids)
    assert f"{copied} bookings" in backup.stdout


def test_backup_refuses_to_overwrite_without_force(sqlite_only, app, runner, tmp_path, database_url):
    target = tmp_path / "existing.sqlite"
    target.write_bytes(b"an older backup")

    refused = runner.invoke(args=["backup", str(target)])
    assert refused.exit_code == 1
    assert "exists; use --force to replace it" in refused.output
    assert target.read_bytes() == b"an older backup"

    forced = runner.invoke(args=["backup", "--force", str(target)])
    assert forced.exit_code == 0, forced.output
    assert integrity(target) == ["ok"]

    live = Path(sa.engine.make_url(database_url).database)
    before = live.stat().st_size
    onto_live = runner.invoke(args=["backup", "--force", str(live)])
    assert onto_live.exit_code == 1
    assert "cannot replace the live database" in onto_live.output
    assert live.stat().st_size == before

    missing = runner.invoke(args=["backup", str(tmp_path / "no-such-dir" / "b.sqlite")])
    assert missing.exit_code == 1
    assert "does not exist" in missing.output


def test_backup_into_a_directory_names_the_file(sqlite_only, app, runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [copy] = tmp_path.glob("instrument_share-*.sqlite")
    assert copy.name in result.output
    assert integrity(copy) == ["ok"]


@pytest.mark.postgres_only
def test_backup_on_postgres_points_to_pg_dump(app, runner, tmp_path):
    target = tmp_path / "pg.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 1
    assert "pg_dump -Fc" in result.output and "pg_restore" in result.output
    assert not target.exists()


@pytest.fixture
def restore_database(database_url):
    """An empty PostgreSQL database beside the test database, dropped afterwards."""
    url = sa.engine.make_url(database_url)
    restored = url.set(database=f"{url.database}_restore")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{restored.database}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{restored.database}"'))
    yield restored
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{restored.database}" WITH (FORCE)'))
    admin.dispose()


def libpq(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.postgres_only
def test_pg_dump_while_the_served_app_books_restores_the_bookings(
        app, make, api, database_url, restore_database, make_app, tmp_path):
    """The README's PostgreSQL backup: pg_dump -Fc while the app runs, pg_restore."""
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed")
    dump = tmp_path / "instrument_share.dump"
    made_ids, during, backup = book_during(app, make, api, lambda: subprocess.run(
        ["pg_dump", "-Fc", "-f", str(dump), libpq(sa.engine.make_url(database_url))],
        capture_output=True, text=True, timeout=120))
    assert backup.returncode == 0, backup.stderr

    restore = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", libpq(restore_database), str(dump)],
        capture_output=True, text=True, timeout=120)

    assert restore.returncode == 0, restore.stderr
    restored_url = restore_database.render_as_string(hide_password=False)
    check_snapshot(app, restored_url, made_ids)
    restored = make_app(SQLALCHEMY_DATABASE_URI=restored_url)
    with restored.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Booking.id))) >= 5
        db.session.remove()
