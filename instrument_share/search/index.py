"""Keeping the search index current, in the transaction that changes the
record: after every flush that added or changed an instrument, its terms
are written again (`install`, called by create_app). Rows inserted without
the ORM (the benchmark's bulk load) are indexed with `reindex`.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, joinedload

from ..accounts.models import Institution
from ..catalogue.models import Category, Instrument
from ..extensions import db
from .models import InstrumentTerm
from .terms import MAX_TERM, document_terms

# How much an occurrence counts, by field: the name says what an instrument
# is; its maker and model are what people copy from a paper; the category and
# the place narrow; the long texts only hint.
WEIGHTS = (
    ("name", 10), ("name_en", 6), ("model", 6), ("manufacturer", 5),
    ("category", 4), ("place", 3),
    ("description", 1), ("specifications", 1), ("functions", 1), ("services", 1),
)
INDEXED = {name for name, _ in WEIGHTS if hasattr(Instrument, name)} | {
    "category_code", "institution_id", "institution"}
BATCH = 500
PENDING = "instrument_share.search.pending"  # instruments a flush is writing
PENDING_PLACES = "instrument_share.search.places"  # institutions renamed or moved in it


def _field_texts(session: Session, instrument: Instrument) -> dict[str, str]:
    # By key, not through the relationships: a flush may have changed the
    # key while the relationship still holds the object it had.
    category = session.get(Category, instrument.category_code)
    parent = session.get(Category, category.parent_code) if category and category.parent_code else None
    place = session.get(Institution, instrument.institution_id)
    return {
        "name": instrument.name, "name_en": instrument.name_en, "model": instrument.model,
        "manufacturer": instrument.manufacturer,
        "category": " ".join(c.name + " " + c.name_en for c in (category, parent) if c is not None),
        "place": f"{place.name} {place.city.name}" if place is not None else "",
        "description": instrument.description, "specifications": instrument.specifications,
        "functions": instrument.functions, "services": instrument.services,
    }


@lru_cache(maxsize=32768)
def _terms_of_text(text: str) -> tuple[str, ...]:
    """A field's terms. Records repeat their texts (a kind's specifications,
    a maker, an institution), and cutting Chinese is most of indexing."""
    return tuple(term[:MAX_TERM] for term in document_terms(text))


def prepare(texts: Iterable[str]) -> None:
    """Cut these texts now, so that indexing them later is a lookup: a bulk
    import cuts its rows while it checks them, before it takes the write
    lock, instead of inside it."""
    for text in texts:
        if text:
            _terms_of_text(text)


def terms_of(session: Session, instrument: Instrument) -> Counter[str]:
    """Each term of the record with its weight."""
    texts = _field_texts(session, instrument)
    weights: Counter[str] = Counter()
    for field, weight in WEIGHTS:
        for term in _terms_of_text(texts[field] or ""):
            weights[term] += weight
    return weights


def _write(session: Session, instruments: Iterable[Instrument]) -> None:
    instruments = list(instruments)
    if not instruments:
        return
    ids = [instrument.id for instrument in instruments]
    connection = session.connection()
    connection.execute(sa.delete(InstrumentTerm).where(InstrumentTerm.instrument_id.in_(ids)))
    rows = [{"term": term, "instrument_id": instrument.id, "weight": weight}
            for instrument in instruments for term, weight in terms_of(session, instrument).items()]
    for start in range(0, len(rows), 5000):
        connection.execute(sa.insert(InstrumentTerm), rows[start:start + 5000])


def _changed_instruments(session: Session) -> list[Instrument]:
    changed = [obj for obj in session.new if isinstance(obj, Instrument)]
    for obj in session.dirty:
        if isinstance(obj, Instrument) and any(
                sa.inspect(obj).attrs[name].history.has_changes() for name in INDEXED):
            changed.append(obj)
    return changed


def _renamed_institutions(session: Session) -> list[Institution]:
    """Institutions whose name or city changed: their instruments' place terms go stale."""
    return [obj for obj in session.dirty if isinstance(obj, Institution) and any(
        sa.inspect(obj).attrs[name].history.has_changes() for name in ("name", "city_code"))]


def _before_flush(session: Session, _context, _instances) -> None:
    session.info.setdefault(PENDING, []).extend(_changed_instruments(session))
    session.info.setdefault(PENDING_PLACES, []).extend(_renamed_institutions(session))


def _after_flush(session: Session, _context) -> None:
    changed = session.info.pop(PENDING, [])
    places = [obj.id for obj in session.info.pop(PENDING_PLACES, [])]
    by_id = {}
    if places:
        # By id, not identity: inside the flush a query may load a second copy
        # of an instrument the flush has just inserted.
        by_id.update((obj.id, obj) for obj in session.scalars(
            sa.select(Instrument).where(Instrument.institution_id.in_(places))))
    by_id.update((obj.id, obj) for obj in changed)
    if by_id:
        _write(session, by_id.values())


def install() -> None:
    """Index instruments as they are flushed (once per process)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


def reindex(ids: list[int] | None = None) -> int:
    """Write the terms of the given instruments (all if None) again; returns
    how many. For rows inserted without the ORM, and `flask search reindex`."""
    query = sa.select(Instrument.id).order_by(Instrument.id)
    if ids is not None:
        query = query.where(Instrument.id.in_(ids))
    all_ids = list(db.session.scalars(query))
    for start in range(0, len(all_ids), BATCH):
        batch = db.session.scalars(
            sa.select(Instrument).where(Instrument.id.in_(all_ids[start:start + BATCH])).options(
                joinedload(Instrument.institution).joinedload(Institution.city)))
        _write(db.session(), batch)
    return len(all_ids)
