"""SQL expressions that differ between SQLite and PostgreSQL."""
from __future__ import annotations

import sqlalchemy as sa

from .extensions import db


def dialect() -> str:
    return db.session.get_bind().dialect.name


def greatest(*args):
    return sa.func.greatest(*args) if dialect() == "postgresql" else sa.func.max(*args)


def least(*args):
    return sa.func.least(*args) if dialect() == "postgresql" else sa.func.min(*args)


def epoch_seconds(column):
    """A UTC timestamp column as seconds since 1970, a float (NULL stays NULL)."""
    if dialect() == "postgresql":
        return sa.extract("epoch", column)
    return (sa.func.julianday(column) - 2440587.5) * 86400.0


def local_month(column, utc_offset_hours: int):
    """'YYYY-MM' of a UTC timestamp in the platform zone (which has no DST)."""
    if dialect() == "postgresql":
        return sa.func.to_char(column + sa.text(f"interval '{utc_offset_hours} hours'"), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, f"{utc_offset_hours:+d} hours")


def plus_minutes(moment, minutes):
    """A UTC timestamp (a column or a `UTCDateTime` literal) plus a number of
    minutes given by a column, comparable with other UTC columns."""
    if dialect() == "postgresql":
        return moment + minutes * sa.literal_column("interval '1 minute'")
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff'; datetime() answers without
    # the fraction, which sorts just before every stored value of the same
    # second. Times from clients are whole seconds (timeutil.parse_client_time),
    # so for them `<` and `>=` against it keep their exact meaning.
    return sa.func.datetime(moment, minutes.concat(" minutes"))
