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

    # Byte order on PostgreSQL too, so that a prefix is a range of the index.
    term: Mapped[str] = mapped_column(
        sa.String(MAX_TERM).with_variant(sa.String(MAX_TERM, collation="C"), "postgresql"), primary_key=True)
    instrument_id: Mapped[int] = mapped_column(
        sa.ForeignKey("instruments.id", ondelete="CASCADE"), primary_key=True, index=True)
    weight: Mapped[int] = mapped_column(sa.Integer)
