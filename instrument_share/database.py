"""Engine set-up that differs between SQLite and PostgreSQL, and the writer
transaction that makes check-then-insert safe on both."""
from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .extensions import db

WRITE_FLAG = "instrument_share.writer"


def configure_engine_events(engine: Engine) -> None:
    """SQLite: WAL so readers never wait for the writer, a busy timeout so
    writers queue instead of failing, foreign keys enforced, and BEGIN
    IMMEDIATE for writer transactions. Other transactions keep the driver's
    own behaviour (reads in autocommit, BEGIN just before the first write)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        if connection.get_execution_options().get(WRITE_FLAG):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def begin_write_transaction() -> None:
    """Make the session's transaction a writer's from its first statement.

    SQLite: BEGIN IMMEDIATE, so two requests cannot both read "free" and then
    both insert; the second waits for the first to commit. A read-only
    transaction already open (loading the signed-in user) is ended first.
    PostgreSQL needs nothing here: services lock the rows they check
    (`lock_instrument`) and the exclusion constraint is the last guard.
    """
    session = db.session()
    if session.get_bind().dialect.name != "sqlite" or session.info.get(WRITE_FLAG):
        return
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write_transaction() after changes were made")
        session.rollback()
    session.connection(execution_options={WRITE_FLAG: True})
    session.info[WRITE_FLAG] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _end_of_transaction(session) -> None:
    # The next transaction procures a fresh connection: it is a reader again.
    session.info.pop(WRITE_FLAG, None)


def lock_row(table: str, row_id: int) -> None:
    """PostgreSQL: lock one row for the rest of the transaction (FOR UPDATE)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE"), {"id": row_id})
