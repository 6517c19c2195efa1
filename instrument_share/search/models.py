"""The search index: an inverted index in an ordinary table, the same on
SQLite and PostgreSQL (README, "Search")."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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

