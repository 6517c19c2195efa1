"""Instrument search: text, place, category, price, vouchers and free time
(API.md, "Catalogue"; the search page and GET /api/v1/instruments)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import City, Institution
from ..catalogue.models import Category, Instrument
from ..db_types import CENT, MAX_MONEY
from ..errors import N_, ValidationFailed
from ..extensions import db
from .free_time import MAX_FREE_SEARCH_SPAN, free_condition

SORTS = ("relevance", "rate", "name")
MAX_QUERY_LENGTH = 200


@dataclass
class SearchFilters:
    """What a firm asks for; every field optional."""

    q: str = ""
    city: str | None = None
    institution: int | None = None
    category: str | None = None
    accepts_vouchers: bool | None = None
    max_rate: Decimal | None = None
    free_from: datetime | None = None
    free_to: datetime | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


def _like_pattern(term: str) -> str:
    """A LIKE pattern matching the term literally: %, _ and \\ are escaped."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _validate(filters: SearchFilters) -> list[str]:
    """Refuse unknown codes and out-of-range paging; return the text terms."""
    errors: dict[str, list[str]] = {}
    if filters.city is not None and db.session.get(City, filters.city) is None:
        errors["city"] = [f"Unknown city code: {filters.city!r}."]
    if filters.category is not None and db.session.get(Category, filters.category) is None:
        errors["category"] = [f"Unknown category code: {filters.category!r}."]
    if filters.institution is not None and db.session.get(Institution, filters.institution) is None:
        errors["institution"] = [f"Unknown institution: {filters.institution!r}."]
    if filters.max_rate is not None and filters.max_rate < 0:
        errors["max_rate"] = ["Must not be negative."]
    if (filters.free_from is None) != (filters.free_to is None):
        errors["free_to" if filters.free_to is None else "free_from"] = [
            N_("Give both free_from and free_to.")
        ]
    elif filters.free_from is not None:
        if filters.free_to <= filters.free_from:
            errors["free_to"] = [N_("The end must be after the start.")]
        elif filters.free_to - filters.free_from > MAX_FREE_SEARCH_SPAN:
            errors["free_to"] = [N_("At most 7 days.")]
    if filters.sort not in SORTS:
        errors["sort"] = [f"One of {', '.join(SORTS)}."]
    if filters.page < 1:
        errors["page"] = ["Must be at least 1."]
    if not 1 <= filters.per_page <= 100:
        errors["per_page"] = ["Between 1 and 100."]
    if errors:
        raise ValidationFailed("Some search parameters are not valid.", errors)
    # Text past the limit is ignored rather than refused: a pasted paragraph
    # should give a (probably empty) result, not an error. Control characters
    # (NUL ends a pattern in SQLite and is refused by PostgreSQL) count as spaces.
    text = "".join(ch if ch.isprintable() else " " for ch in filters.q[:MAX_QUERY_LENGTH])
    return text.lower().split()


def search_instruments(filters: SearchFilters) -> tuple[list[Instrument], int]:
    """Instruments matching every given filter, one page of them, and the total.

    Text terms must all occur (substring, Chinese or English) in the name,
    English name, model, manufacturer or description.
    """
    terms = _validate(filters)
    conditions = [Instrument.search_text.like(_like_pattern(t), escape="\\") for t in terms]
    if filters.city is not None:
        # A subquery, not a join: the planner then scans instruments once
        # instead of visiting them institution by institution.
        conditions.append(Instrument.institution_id.in_(
            sa.select(Institution.id).where(Institution.city_code == filters.city)))
    if filters.institution is not None:
        conditions.append(Instrument.institution_id == filters.institution)
    if filters.category is not None:
        subclasses = sa.select(Category.code).where(Category.parent_code == filters.category)
        conditions.append(
            sa.or_(Instrument.category_code == filters.category, Instrument.category_code.in_(subclasses))
        )
    if filters.accepts_vouchers is not None:
        conditions.append(Instrument.accepts_vouchers.is_(filters.accepts_vouchers))
    if filters.max_rate is not None and filters.max_rate < MAX_MONEY:
        # Rates are kept to the fen: "at most 1.005" is at most 1.00 (the
        # column's half-up rounding would let 1.01 in). A bound beyond what the
        # column holds leaves no rate out (and would not fit the comparison).
        conditions.append(Instrument.hourly_rate <= filters.max_rate.quantize(CENT, rounding=ROUND_FLOOR))
    if filters.free_from is not None:
        conditions.append(free_condition(filters.free_from, filters.free_to))

    if filters.sort == "rate":
        order = [Instrument.hourly_rate, Instrument.id]
    elif filters.sort == "name" or not terms:
        order = [Instrument.name, Instrument.id]
    else:
        first = _like_pattern(terms[0])
        rank = sa.case(
            (sa.func.lower(Instrument.name).like(first, escape="\\"), 0),
            (sa.func.lower(Instrument.name_en).like(first, escape="\\"), 1),
            (sa.func.lower(Instrument.model).like(first, escape="\\"), 2),
            else_=3,
        )
        order = [rank, Instrument.name, Instrument.id]
    # The page's ids and the total come from one pass over the matches (a
    # window count over narrow rows); only those ids are then loaded whole.
    # A page past the end has no row to carry the total, so it asks again.
    rows = db.session.execute(
        sa.select(Instrument.id, sa.func.count().over())
        .where(*conditions)
        .order_by(*order)
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    ).all()
    if not rows:
        return [], db.session.scalar(sa.select(sa.func.count(Instrument.id)).where(*conditions))
    ids = [instrument_id for instrument_id, _ in rows]
    loaded = db.session.scalars(
        sa.select(Instrument).where(Instrument.id.in_(ids))
        .options(joinedload(Instrument.institution), joinedload(Instrument.category))
    )
    by_id = {instrument.id: instrument for instrument in loaded}
    return [by_id[instrument_id] for instrument_id in ids], rows[0][1]
