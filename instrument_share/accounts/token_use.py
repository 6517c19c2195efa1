"""The day an API token was last used (the profile's "last used"), noted
after the answer has left: outside the request's transaction, on a
connection of its own, so it commits itself (tests/test_transaction.py
lists it among the work that runs outside requests)."""
from __future__ import annotations

import sqlalchemy as sa

from ..database import SQLITE_BUSY_MS
from ..extensions import db
from .models import ApiToken


def note_token_use(app, token_id: int, day) -> None:
    """Write down that a token was used on `day` (the profile's "last
    used"): once a day per token, on a connection of its own, after the
    answer has left, and only if the database is free at once. A request is
    never slowed, locked or failed by it (found by review: taking the write
    lock while authenticating held SQLite's one writer for a whole export,
    and a busy database turned a GET into a 500)."""
    with app.app_context():
        try:
            with db.engine.connect() as connection:
                sqlite = connection.dialect.name == "sqlite"
                if sqlite:
                    connection.exec_driver_sql("PRAGMA busy_timeout=0")
                else:
                    connection.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
                try:
                    connection.execute(sa.update(ApiToken).where(
                        ApiToken.id == token_id,
                        sa.or_(ApiToken.last_used_on.is_(None), ApiToken.last_used_on != day))
                        .values(last_used_on=day))
                    connection.commit()
                finally:
                    if sqlite:
                        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        except sa.exc.OperationalError:
            app.logger.info("token %s: its use today was not noted (database busy)", token_id)
