"""Engine set-up that differs between SQLite and PostgreSQL, and the one
locking rule every change follows.

The rule, on both engines: a service validates everything it can without
the database first; then it takes the write lock and locks the rows it will
change (`lock`, `lock_all`), reads them again under that lock, decides, and
writes. Nothing is decided on a copy read before the lock.

- SQLite has one writer: `begin_write_transaction()` ends the read
  transaction (expiring every loaded object, so later reads are fresh) and
  opens `BEGIN IMMEDIATE`. Requests take it only when their service starts
  to write, never for parsing, validation or rendering.
- PostgreSQL locks rows: `lock()` reads a row `FOR NO KEY UPDATE`, so a
  second request acting on the same booking, voucher or claim waits for the
  first to commit and then sees its result. Not `FOR UPDATE`: no key ever
  changes, and FOR UPDATE also blocks the KEY SHARE lock a foreign-key check
  takes on the row it points at. A transaction that updates a booking twice
  checks the booking's keys again on the second update, so a blackout
  holding the instrument and waiting for that booking deadlocked with it
  (found by the storm).

`_guard_flush` makes the rule hold by construction: on SQLite a flush
outside the writer transaction raises, and on either engine a change to a
row of a model marked `lock_before_change` that was not read through
`lock()`/`lock_all()` in this transaction raises. A forgotten lock is a
loud bug in the tests, never a silent race in production.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .extensions import db

SQLITE_BUSY_MS = 30000  # how long a SQLite writer waits for the one before it
WRITE_FLAG = "instrument_share.writer"
LOCKED = "instrument_share.locked"
# Set on a session that writes fixtures directly (the tests' own set-up):
# its flushes are not checked. Requests, jobs and commands never set it.
UNGUARDED = "instrument_share.unguarded"
_BEGAN = "instrument_share.write_began"


@dataclass
class WriteLockStats:
    """How long SQLite's write lock was held (BEGIN IMMEDIATE to COMMIT or
    ROLLBACK) in this process: `flask bench` reports the worst case."""

    count: int = 0
    longest: float = 0.0
    total: float = 0.0

    def reset(self) -> None:
        self.count, self.longest, self.total = 0, 0.0, 0.0


write_lock_stats = WriteLockStats()


def _postgresql_settings(dbapi_connection, _record) -> None:
    """The planner's default random_page_cost (4.0) prices a random read as
    a spinning disk's; ours come from memory or SSD. With the default, a
    free-time search scanned all 20,000 instruments rather than probe the
    2,700 its text matched (README, Search: 37 → 29 ms p95).

    Every statement planned for its own values: psycopg prepares a
    statement on its fifth run, and after five more PostgreSQL may keep a
    generic plan, made blind to the dates and ids; a year by city then
    took 105 ms instead of 35 from its eleventh call in a worker on
    (issue #20). Planning costs a fraction of a millisecond."""
    dbapi_connection.autocommit = True  # a session setting, outside any transaction
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET random_page_cost = 1.1")
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.autocommit = False


def configure_engine_events(engine: Engine) -> None:
    """SQLite: WAL so readers never wait for the writer, a busy timeout so
    writers queue instead of failing, foreign keys enforced; the time each
    write transaction holds the write lock is recorded (`write_lock_stats`).
    Reads run outside any transaction (the driver's own behaviour: it opens
    one only before a write); `begin_write_transaction` opens the writer's."""
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgresql_settings)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _sqlite_end(connection):
        began = connection.info.pop(_BEGAN, None)
        if began is not None:
            held = time.perf_counter() - began
            write_lock_stats.count += 1
            write_lock_stats.total += held
            write_lock_stats.longest = max(write_lock_stats.longest, held)


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def begin_write_transaction() -> None:
    """Make the session's transaction a writer's from here on.

    SQLite: BEGIN IMMEDIATE on the session's connection, so two requests
    cannot both read "free" and then both insert; the second waits for the
    first to commit. What was read before ran outside any transaction: the
    rows a service changes it reads again under the lock (`lock`,
    `lock_all`). PostgreSQL needs nothing here: services lock the rows they
    change.
    """
    session = db.session()
    if session.info.get(WRITE_FLAG):
        return
    if session.get_bind().dialect.name == "sqlite":
        connection = session.connection()
        if connection.connection.dbapi_connection.in_transaction:
            raise RuntimeError("begin_write_transaction() after something was written")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.info[_BEGAN] = time.perf_counter()
    session.info[WRITE_FLAG] = True


def _locked_keys(session: Session) -> set:
    return session.info.setdefault(LOCKED, set())


def lock(model, ident):
    """The row of `model` with primary key `ident`, locked for the rest of the
    transaction and read fresh under the lock; None if there is no such row.

    Lock in one order everywhere (instrument, then booking, then voucher or
    claim) so that two transactions never wait for each other.
    """
    if not isinstance(ident, int):
        return None
    begin_write_transaction()
    session = db.session()
    key = (model.__tablename__, ident)
    if key in _locked_keys(session):
        return session.get(model, ident)
    statement = sa.select(model).where(model.id == ident).execution_options(populate_existing=True)
    if is_postgres():
        statement = statement.with_for_update(of=model, key_share=True)
    row = session.scalar(statement)
    if row is not None:
        _locked_keys(session).add(key)
    return row


def lock_all(statement) -> list:
    """Every row `statement` (a select of one model) finds, locked as `lock`
    does. On PostgreSQL the rows are locked in primary-key order, so that two
    lockers never deadlock; SQLite has one writer and keeps the statement's
    own order (an `ORDER BY id` there made its planner walk the whole table
    by id instead of using the statement's index)."""
    begin_write_transaction()
    db.session.flush()  # what this transaction changed is written before rows are read again
    model = statement.column_descriptions[0]["entity"]
    statement = statement.execution_options(populate_existing=True)
    if is_postgres():
        statement = statement.order_by(None).order_by(model.id).with_for_update(of=model, key_share=True)
    rows = list(db.session.scalars(statement))
    _locked_keys(db.session()).update((model.__tablename__, row.id) for row in rows)
    return rows


def inserted(rows: list) -> None:
    """Rows this transaction inserted with a bulk statement (not through the
    session's flush) are invisible to others until the commit: they count as
    locked, as rows a flush inserts do."""
    _locked_keys(db.session()).update((type(row).__tablename__, row.id) for row in rows)


def lock_row(table: str, row_id: int) -> None:
    """Lock one row for the rest of the transaction without loading it (the
    instrument's calendar before its bookings are checked): FOR NO KEY UPDATE on
    PostgreSQL; the writer transaction on SQLite."""
    begin_write_transaction()
    if is_postgres():
        db.session.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR NO KEY UPDATE"), {"id": row_id})


def move_sequences_past_ids(*tables: str) -> None:
    """PostgreSQL: after rows were inserted with their ids given (bulk
    loaders), move each table's id sequence past the largest id, so the
    next ordinary insert does not collide. SQLite needs nothing."""
    if not is_postgres():
        return
    for table in tables:
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"GREATEST((SELECT max(id) FROM {table}), 1))"))


@event.listens_for(Session, "before_flush")
def _guard_flush(session: Session, _context, _instances) -> None:
    if session.info.get(UNGUARDED) or not (session.new or session.dirty or session.deleted):
        return
    if not session.info.get(WRITE_FLAG) and session.get_bind().dialect.name == "sqlite":
        raise RuntimeError("a write outside begin_write_transaction(): take the lock before reading what you change")
    locked = _locked_keys(session)
    for obj in list(session.dirty) + list(session.deleted):
        if not getattr(type(obj), "lock_before_change", False):
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        if (type(obj).__tablename__, obj.id) not in locked:
            raise RuntimeError(
                f"{type(obj).__name__} {obj.id} changed without lock(): read it under the lock first"
            )


@event.listens_for(Session, "after_flush")
def _inserted_rows_are_ours(session: Session, _context) -> None:
    # A row this transaction inserted is invisible to every other until the
    # commit: it counts as locked.
    _locked_keys(session).update(
        (type(obj).__tablename__, obj.id) for obj in session.new
        if getattr(type(obj), "lock_before_change", False)
    )


@event.listens_for(Session, "after_transaction_end")
def _end_of_transaction(session, transaction) -> None:
    # Only the outermost transaction's end (a savepoint's release fires
    # after_commit too): the next transaction procures a fresh connection
    # and is a reader again, holding no locks.
    if transaction.parent is None:
        session.info.pop(WRITE_FLAG, None)
        session.info.pop(LOCKED, None)
