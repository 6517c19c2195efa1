"""`flask backup PATH`: a consistent copy of the SQLite database while the app runs.

SQLite's online backup API copies the database as one read transaction.
The app keeps the database in WAL mode, where a reader never blocks a
writer: bookings go on being made during the copy, and the copy is the
database as it was when the copy began (whole transactions only). The copy
is taken in one step on purpose: a page-stepped backup restarts from the
first page whenever another connection writes between two steps, so under
steady writing it might never finish, and in WAL mode stepping buys the
writers nothing.

The copy is written beside PATH under a temporary name, switched to a
self-contained single file (journal mode DELETE), checked with
`PRAGMA integrity_check`, flushed to disk and only then renamed onto PATH,
so PATH is either the previous file or a complete, checked backup.

PostgreSQL is refused: `pg_dump` is its consistent online backup (README,
"Backups").
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine


class BackupError(Exception):
    """The backup was refused or failed; nothing was written at PATH."""


@dataclass
class BackupReport:
    source: Path
    target: Path
    size: int
    bookings: int
    seconds: float

    def describe(self) -> str:
        return (f"Backed up {self.source} to {self.target}: {self.size:,} bytes, "
                f"{self.bookings:,} bookings, integrity ok, {self.seconds:.2f} s.")


POSTGRES_ADVICE = (
    "The backup command copies SQLite databases only. On PostgreSQL use pg_dump, "
    "e.g. `pg_dump -Fc -f instrument_share.dump \"$DATABASE_URL\"`, and pg_restore "
    "to restore it (README, \"Backups\")."
)


def backup_database(engine: Engine, target: Path | str, *, force: bool = False) -> BackupReport:
    """Copy the SQLite database behind `engine` to `target` (see the module doc).

    `target` may be an existing directory: the copy is then named
    `instrument_share-<UTC time>.sqlite` inside it. An existing file is
    replaced only with `force`; the live database itself never.
    """
    if engine.dialect.name != "sqlite":
        raise BackupError(POSTGRES_ADVICE)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise BackupError("An in-memory database cannot be backed up.")
    source = Path(database).resolve()
    if not source.is_file():
        raise BackupError(f"The database {source} does not exist.")
    target = Path(target).expanduser()
    if target.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = target / f"instrument_share-{stamp}.sqlite"
    target = target.absolute()
    if not target.parent.is_dir():
        raise BackupError(f"The directory {target.parent} does not exist.")
    if target.resolve() in {source, *(source.with_name(source.name + s) for s in ("-wal", "-shm"))}:
        raise BackupError("The backup cannot replace the live database.")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; use --force to replace it.")

    began = time.monotonic()
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        bookings = _copy(engine, temporary)
        os.replace(temporary, target)
    finally:
        for leftover in (temporary, *(temporary.with_name(temporary.name + s) for s in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    _fsync_directory(target.parent)
    return BackupReport(source, target, target.stat().st_size, bookings, time.monotonic() - began)


def _copy(engine: Engine, temporary: Path) -> int:
    """Back up into `temporary`, check it, return its number of bookings."""
    # A connection of the app's own pool: WAL and the busy timeout are set.
    pooled = engine.raw_connection()
    try:
        destination = sqlite3.connect(temporary)
        try:
            pooled.driver_connection.backup(destination)  # one step: one snapshot
            destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            problems = [row[0] for row in destination.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError("The copy failed its integrity check: " + "; ".join(problems[:5]))
            bookings = destination.execute("SELECT count(*) FROM bookings").fetchone()[0]
        finally:
            destination.close()
    except sqlite3.Error as error:
        raise BackupError(f"The backup failed: {error}") from error
    finally:
        pooled.close()
    with open(temporary, "rb+") as copied:
        os.fsync(copied.fileno())
    return bookings


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
