"""Rows straight to the driver, for the loaders that write hundreds of
thousands of them (the benchmark's build, the demo's history): COPY on
PostgreSQL, one prepared INSERT on SQLite. SQLAlchemy Core's per-value type
processing was most of their time, so the caller hands database values
(`database_time` for UTCDateTime, `database_money` for Money), or names
each column's kind and `insert_dicts` converts, deciding per engine once.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

from .extensions import db

CHUNK = 5000
TIME, DAY, MONEY, JSON, TEXT = "time", "day", "money", "json", "text"  # column kinds for insert_dicts


def chunks(rows: Iterable, size: int = CHUNK) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _sqlite_time(moment: datetime | None) -> str | None:
    """The naive UTC text SQLAlchemy's SQLite DateTime writes."""
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def database_money(amount: Decimal | None) -> int | None:
    """What Money stores: integer fen."""
    return None if amount is None else int((amount * 100).to_integral_value())


def database_time(moment: datetime | None):
    """What UTCDateTime stores: the aware value on PostgreSQL, the naive UTC
    text SQLAlchemy writes on SQLite."""
    return moment if _postgres() else _sqlite_time(moment)


def _converters(postgres: bool) -> dict[str, Callable | None]:
    return {TIME: None if postgres else _sqlite_time, DAY: None if postgres else _sqlite_day,
            MONEY: database_money, JSON: lambda value: json.dumps(value, ensure_ascii=False), TEXT: str, None: None}


def bulk_insert(table: str, columns: tuple[str, ...], rows: Iterable[tuple], tick=lambda count: None) -> int:
    """Insert `rows` (tuples of database values in `columns`' order) into
    `table`; returns how many. `tick(n)` after each chunk (a progress bar)."""
    connection = db.session.connection().connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    if _postgres():
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for chunk in chunks(rows):
                for row in chunk:
                    copy.write_row(row)
                count += len(chunk)
                tick(len(chunk))
        return count
    marks = ", ".join("?" for _ in columns)
    cursor = connection.cursor()
    # The default page cache (2 MB) makes SQLite re-read index pages from
    # the file for every row of a large load; 256 MB for this connection
    # keeps them in memory.
    cursor.execute("PRAGMA cache_size = -262144")
    for chunk in chunks(rows):
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", chunk)
        count += len(chunk)
        tick(len(chunk))
    cursor.close()
    return count


def insert_dicts(table: str, columns: dict[str, str | None], rows: list[dict], tick=lambda count: None) -> int:
    """`bulk_insert` of rows given as dicts: `columns` names each column with
    its kind (TIME, DAY, MONEY, JSON, TEXT; None: as it is)."""
    converters = _converters(_postgres())
    pairs = [(name, converters[kind]) for name, kind in columns.items()]
    return bulk_insert(table, tuple(columns), (
        tuple(convert(row[name]) if convert else row[name] for name, convert in pairs) for row in rows), tick)
