"""Column types that behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")

# The largest value of an INTEGER column on PostgreSQL (and of our ids on
# both engines): a larger number in a URL or a request is no id of ours.
MAX_ID = 2**31 - 1


# The largest amount a Money column holds (hundredths in a BIGINT).
MAX_MONEY = Decimal(2**63 - 1) / 100


def sql_list(values) -> str:
    """`('a', 'b')` for a CHECK constraint, from strings or StrEnum members
    (whose repr is not their value)."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


def to_money(value) -> Decimal:
    """The one rounding rule for money: two places, half up (四舍五入)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored in UTC.

    PostgreSQL keeps `timestamptz`; SQLite keeps the naive UTC value. Python
    code always sees aware datetimes in UTC, and refuses naive ones so that a
    local time can never be stored as if it were UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator):
    """A decimal with two places stored as an integer count of hundredths.

    Integers add up exactly on every engine (SQLite has no decimal type), so
    sums over millions of bookings stay exact to the fen.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int(to_money(value) * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)
