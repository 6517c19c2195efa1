"""The search index: an inverted index in an ordinary table, the same on
SQLite and PostgreSQL (README, "Search")."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..booking.models import ACTIVE_STATUSES, Booking
from ..extensions import db
from .terms import MAX_TERM


class InstrumentTerm(db.Model):
    """A term of an instrument's record and its weight there: the sum, over
    its occurrences, of the weight of the field it occurs in (index.py)."""

    __tablename__ = "instrument_terms"
    # A term's rows are read with their weights and nothing else: SQLite
    # keeps the table in primary key order, PostgreSQL's key index carries
    # the weight (an index-only scan).
    __table_args__ = (
        sa.PrimaryKeyConstraint("term", "instrument_id", postgresql_include=["weight"]),
        {"sqlite_with_rowid": False},
    )

    # Byte order on PostgreSQL too, so that a prefix is a range of the index.
    term: Mapped[str] = mapped_column(
        sa.String(MAX_TERM).with_variant(sa.String(MAX_TERM, collation="C"), "postgresql"))
    instrument_id: Mapped[int] = mapped_column(
        sa.ForeignKey("instruments.id", ondelete="CASCADE"), index=True)
    weight: Mapped[int] = mapped_column(sa.Integer)


def active_booking():
    """`Booking.status IN ('pending', 'confirmed')` with the statuses written
    into the SQL: so written, the condition is the partial index's own
    (below), which SQLite uses only when a query repeats it literally (not
    with bound parameters)."""
    return Booking.status.in_([sa.literal_column(f"'{status}'") for status in ACTIVE_STATUSES])


# The free-time search asks of each instrument its text matched (thousands)
# whether an active booking holds the interval. The (instrument_id, start)
# index holds the whole history (two million bookings in the benchmark, and
# a row read for the status of each one in range); this one holds only the
# active bookings, so a probe finds nothing in a small index where most
# instruments have no booking in range. Declared here, beside the search
# that needs it; the table is the booking package's (migration 9c4e2a7f1b36).
sa.Index("ix_bookings_active_instrument_id_start",
         Booking.instrument_id, Booking.start, Booking.occupied_until,
         sqlite_where=active_booking(), postgresql_where=active_booking())
