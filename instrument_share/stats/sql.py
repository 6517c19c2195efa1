"""SQL expressions that differ between SQLite and PostgreSQL."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db


def dialect() -> str:
    return db.session.get_bind().dialect.name


def greatest(*args):
    return sa.func.greatest(*args) if dialect() == "postgresql" else sa.func.max(*args)


def least(*args):
    return sa.func.least(*args) if dialect() == "postgresql" else sa.func.min(*args)


def seconds_between(start, end):
    """end − start in seconds, as a float."""
    if dialect() == "postgresql":
        return sa.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def local_month(column, utc_offset_hours: int):
    """'YYYY-MM' of a UTC timestamp in the platform zone (which has no DST)."""
    if dialect() == "postgresql":
        return sa.func.to_char(column + sa.text(f"interval '{utc_offset_hours} hours'"), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, f"{utc_offset_hours:+d} hours")
