"""Text matching and ranking over the search index (index.py)."""
from __future__ import annotations

import math

import sqlalchemy as sa

from ..catalogue.models import Instrument
from ..extensions import db
from .models import InstrumentTerm
from .terms import QueryTerm

K1 = 1.2  # BM25: how soon more occurrences stop adding to the score
ALL = -1  # the key of the number of instruments among the term counts


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
    # One select per term, so that a row matching two terms (7890b and the
    # prefix 7890b of 7890b5977b) counts for each. The number of instruments
    # comes with them: the highest id, one index probe where count() would
    # scan the table. Instruments are retired, not deleted, so it is their
    # number but for the few deleted ones, close enough for a term's rarity.
    counts = dict(db.session.execute(sa.union_all(
        sa.select(sa.literal(ALL), sa.func.coalesce(sa.func.max(Instrument.id), 1)),
        *[sa.select(sa.literal(number), sa.func.count(sa.distinct(InstrumentTerm.instrument_id)))
          .where(matching(term)) for number, term in enumerate(terms)])).all())
    if any(not counts.get(number) for number in range(len(terms))):
        return None, [term.typed for number, term in enumerate(terms) if not counts.get(number)]
    total = max(counts[ALL], *counts.values())
    best = [
        sa.select(InstrumentTerm.instrument_id,
                  # inverse document frequency × the saturated weight of the term's best match
                  (math.log(1 + (total - counts[number] + 0.5) / (counts[number] + 0.5))
                   * sa.func.max(InstrumentTerm.weight) * (K1 + 1)
                   / (sa.func.max(InstrumentTerm.weight) + K1)).label("score"))
        .where(matching(term)).group_by(InstrumentTerm.instrument_id)
        for number, term in enumerate(terms)]
    if len(best) == 1:
        return best[0].subquery(), []
    each = sa.union_all(*best).subquery()
    return (
        sa.select(each.c.instrument_id, sa.func.sum(each.c.score).label("score"))
        .group_by(each.c.instrument_id)
        .having(sa.func.count() == len(terms))
        .subquery()
    ), []
