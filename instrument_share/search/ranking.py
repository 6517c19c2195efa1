"""Text matching and ranking over the search index (index.py)."""
from __future__ import annotations

import math

import sqlalchemy as sa

from ..catalogue.models import Instrument
from ..extensions import db
from .models import InstrumentTerm
from .terms import QueryTerm

K1 = 1.2  # BM25: how soon more occurrences stop adding to the score


def matching(term: QueryTerm):
    """The condition on an index row that satisfies the query term."""
    conditions = [InstrumentTerm.term.in_(term.terms)]
    if term.prefix:
        # A range, so the index on term serves it; byte order on both engines
        # (PostgreSQL: the column's collation is "C").
        conditions += [sa.and_(InstrumentTerm.term > t, InstrumentTerm.term < t[:-1] + chr(ord(t[-1]) + 1))
                       for t in term.terms]
    return sa.or_(*conditions)


def text_scores(terms: list[QueryTerm]):
    """(instrument_id, score) of the instruments that match every term, and
    the terms that match no instrument at all (then there is no subquery).

    The score is BM25's without length normalisation, over fields: for each
    term, its inverse document frequency times the saturated weight of its
    best match in the record (index.py weighs a name occurrence ten times a
    description's)."""
    group = sa.case(*[(matching(term), number) for number, term in enumerate(terms)])
    counts = dict(db.session.execute(
        sa.select(group, sa.func.count(sa.distinct(InstrumentTerm.instrument_id)))
        .where(sa.or_(*[matching(term) for term in terms])).group_by(group)).all())
    if len(counts) < len(terms):
        return None, [term.typed for number, term in enumerate(terms) if number not in counts]
    total = db.session.scalar(sa.select(sa.func.count(Instrument.id))) or 1
    idf = {number: math.log(1 + (total - found + 0.5) / (found + 0.5)) for number, found in counts.items()}
    best = (
        sa.select(InstrumentTerm.instrument_id, group.label("term"),
                  sa.func.max(InstrumentTerm.weight).label("weight"))
        .where(sa.or_(*[matching(term) for term in terms]))
        .group_by(InstrumentTerm.instrument_id, group)
        .subquery()
    )
    score = sa.case(*[(best.c.term == number, value) for number, value in idf.items()]) * (
        best.c.weight * (K1 + 1) / (best.c.weight + K1))
    return (
        sa.select(best.c.instrument_id, sa.func.sum(score).label("score"))
        .group_by(best.c.instrument_id)
        .having(sa.func.count() == len(terms))
        .subquery()
    ), []
