"""Text matching and ranking over the search index (index.py).

The statements are built once per shape of the text (how many terms, each
a prefix or not and with how many keys) with its words and weights as bound
parameters, so that a search does not build and key them again (building
them took about a tenth of a search)."""
from __future__ import annotations

import math
from functools import lru_cache

import sqlalchemy as sa

from ..catalogue.models import Instrument
from ..extensions import db
from .models import InstrumentTerm
from .terms import QueryTerm

K1 = 1.2  # BM25: how soon more occurrences stop adding to the score
ALL = -1  # the key of the number of instruments among the term counts

TextShape = tuple[tuple[bool, int], ...]  # for each query term: (prefix, number of keys)


def text_shape(terms: list[QueryTerm]) -> TextShape:
    return tuple((term.prefix, len(term.terms)) for term in terms)


def _key_values(terms: list[QueryTerm]) -> dict:
    """The parameters `matching` binds: each term's keys, and for a prefix
    the byte range of the words it begins."""
    values: dict = {}
    for number, term in enumerate(terms):
        values[f"keys_{number}"] = list(term.terms)
        if term.prefix:
            for key_number, key in enumerate(term.terms):
                values[f"after_{number}_{key_number}"] = key
                values[f"before_{number}_{key_number}"] = key[:-1] + chr(ord(key[-1]) + 1)
    return values


def matching(number: int, prefix: bool, keys: int):
    """The condition on an index row that satisfies query term `number`."""
    conditions = [InstrumentTerm.term.in_(sa.bindparam(f"keys_{number}", expanding=True))]
    if prefix:
        # A range, so the index on term serves it; byte order on both engines
        # (PostgreSQL: the column's collation is "C").
        conditions += [sa.and_(InstrumentTerm.term > sa.bindparam(f"after_{number}_{key}"),
                               InstrumentTerm.term < sa.bindparam(f"before_{number}_{key}"))
                       for key in range(keys)]
    return sa.or_(*conditions)


@lru_cache(maxsize=256)
def _counts(shape: TextShape):
    """How many instruments each term matches, and the number of instruments.

    One select per term, so that a row matching two terms (7890b and the
    prefix 7890b of 7890b5977b) counts for each. The number of instruments
    comes with them: the highest id, one index probe where count() would
    scan the table. Instruments are retired, not deleted, so it is their
    number but for the few deleted ones, close enough for a term's rarity."""
    return sa.union_all(
        sa.select(sa.literal(ALL), sa.func.coalesce(sa.func.max(Instrument.id), 1)),
        *[sa.select(sa.literal(number), sa.func.count(sa.distinct(InstrumentTerm.instrument_id)))
          .where(matching(number, *term)) for number, term in enumerate(shape)])


@lru_cache(maxsize=256)
def scores(shape: TextShape):
    """(instrument_id, score) of the instruments that match every term, as a
    subquery with the parameters `text_match` gives.

    The score is BM25's without length normalisation, over fields: for each
    term, its inverse document frequency (the parameter idf_<number>) times
    the saturated weight of its best match in the record (index.py weighs a
    name occurrence ten times a description's)."""
    best = [_best(number, *term) for number, term in enumerate(shape)]
    if len(best) == 1:
        return best[0].subquery()
    each = sa.union_all(*best).subquery()
    return (
        sa.select(each.c.instrument_id, sa.func.sum(each.c.score).label("score"))
        .group_by(each.c.instrument_id)
        .having(sa.func.count() == len(shape))
        .subquery()
    )


def _best(number: int, prefix: bool, keys: int):
    """(instrument_id, score) for query term `number`: its inverse document
    frequency × the saturated weight of its best match in the record."""
    if not prefix and keys == 1:
        # One key: at most one row per instrument (term and instrument are
        # the primary key), so there is nothing to group (1 ms of a search).
        weight, query = InstrumentTerm.weight, sa.select(InstrumentTerm.instrument_id)
    else:
        weight = sa.func.max(InstrumentTerm.weight)
        query = sa.select(InstrumentTerm.instrument_id).group_by(InstrumentTerm.instrument_id)
    score = sa.bindparam(f"idf_{number}", type_=sa.Float) * weight * (K1 + 1) / (weight + K1)
    return query.add_columns(score.label("score")).where(matching(number, prefix, keys))


def text_match(terms: list[QueryTerm]) -> tuple[dict, list[str]]:
    """The parameters of `scores(text_shape(terms))`, and the terms that
    match no instrument at all (then there is nothing to rank)."""
    values = _key_values(terms)
    counts = dict(db.session.execute(_counts(text_shape(terms)), values).all())
    if any(not counts.get(number) for number in range(len(terms))):
        return {}, [term.typed for number, term in enumerate(terms) if not counts.get(number)]
    total = max(counts[ALL], *counts.values())
    for number in range(len(terms)):
        values[f"idf_{number}"] = math.log(1 + (total - counts[number] + 0.5) / (counts[number] + 0.5))
    return values, []
