"""Instrument search: text, place, category, price, vouchers and free time
(API.md, "Catalogue"; the search page and GET /api/v1/instruments)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import City, Institution
from ..booking.availability import next_free
from ..catalogue.models import Category, Instrument
from ..db_types import CENT, MAX_MONEY
from ..errors import N_, ValidationFailed
from ..extensions import db
from ..timeutil import utcnow
from .free_time import MAX_FREE_SEARCH_SPAN, free_condition
from .ranking import text_scores
from .terms import QueryTerm, query_terms
from .travel import travel_minutes, travel_table

SORTS = ("relevance", "travel", "rate", "name")
# The search page's query arguments that say what is searched (paging left
# out): what "keep this search" keeps.
QUERY_ARGS = ("q", "city", "institution", "category", "accepts_vouchers", "max_rate", "free_from", "free_to",
              "near", "sort")
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
    near: str | None = None  # a city code: travel from there
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


def _validate(filters: SearchFilters) -> list[QueryTerm]:
    """Refuse unknown codes and out-of-range paging; return the text terms."""
    errors: dict[str, list[str]] = {}
    if filters.city is not None and db.session.get(City, filters.city) is None:
        errors["city"] = [f"Unknown city code: {filters.city!r}."]
    if filters.near is not None and filters.near not in travel_table():
        errors["near"] = [f"Unknown city code: {filters.near!r}."]
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
    elif filters.sort == "travel" and filters.near is None:
        errors["sort"] = [N_("Say where from (near) to sort by travel.")]
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
    return query_terms(text)


def _unsearchable(filters: SearchFilters) -> list[str]:
    """Text with nothing to search for in it ("%", "—"): a query only narrows,
    so it finds nothing rather than everything."""
    typed = filters.q.strip()
    return [typed[:50]] if typed else []


@dataclass
class Found:
    """An instrument as a search shows it: the record (its attributes read
    through), and how far it is from where the searcher comes."""

    instrument: Instrument
    travel_minutes: int | None
    next_free: dict[str, datetime] | None = None  # {"start", "end"}: the earliest bookable slot

    def __getattr__(self, name):
        return getattr(self.instrument, name)


@dataclass
class SearchResult:
    items: list[Found]
    total: int
    facets: dict[str, dict[str, int]]  # city and major category → matches
    unmatched: list[str]  # terms of the text that no instrument has

    @classmethod
    def nothing(cls, unmatched: list[str] | None = None) -> SearchResult:
        return cls([], 0, {"city": {}, "category": {}}, unmatched or [])


def home_city(user) -> str | None:
    """Where a signed-in firm user travels from: the firm's city."""
    firm = getattr(user, "firm", None) if user is not None else None
    return firm.city_code if firm is not None else None


def _filter_conditions(filters: SearchFilters) -> list:
    conditions = [Instrument.retired_on.is_(None)]  # retired ones keep their page, not a place in search
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
    return conditions


def _travel_order(near: str):
    """Minutes from `near` to the instrument's city, as SQL."""
    return sa.case(travel_table()[near], value=Institution.city_code, else_=10_000)


def search_instruments(filters: SearchFilters, now: datetime | None = None) -> SearchResult:
    """Instruments matching every given filter: one page of them, the total,
    and the facets.

    Every term of the text must match (terms.py: thesaurus concepts, words,
    model numbers in part) in the name, English name, model, maker,
    category, institution and city, or the record's texts; the best matches
    come first (ranking.py), or the nearest to `near` with `sort=travel`.
    """
    terms = _validate(filters)
    scores, unmatched = text_scores(terms) if terms else (None, _unsearchable(filters))
    if unmatched:
        return SearchResult.nothing(unmatched)
    major = sa.func.coalesce(Category.parent_code, Category.code)
    matches = (sa.select(Instrument.id, Institution.city_code, major)
               .join(Institution, Institution.id == Instrument.institution_id)
               .join(Category, Category.code == Instrument.category_code)
               .where(*_filter_conditions(filters)))
    if scores is not None:
        matches = matches.join(scores, scores.c.instrument_id == Instrument.id)
    by_score = [scores.c.score.desc()] if scores is not None else []
    if filters.sort == "rate":
        order = [Instrument.hourly_rate, Instrument.id]
    elif filters.near is not None and (filters.sort == "travel" or (filters.sort == "relevance" and scores is None)):
        # Without text to rank by, the nearest come first.
        order = [_travel_order(filters.near), *by_score, Instrument.name, Instrument.id]
    elif filters.sort == "name" or scores is None:
        order = [Instrument.name, Instrument.id]
    else:
        order = [*by_score, Instrument.name, Instrument.id]
    # One pass over all matches, narrow rows in order: the page, the total
    # and the facets all come from it (counting them in SQL took a pass each);
    # only the page's instruments are then loaded whole.
    # Through the connection, not the ORM session: plain tuples, without the
    # ORM's per-row loading (a tenth of a broad search's time).
    rows = db.session.connection().execute(matches.order_by(*order)).all()
    first = (filters.page - 1) * filters.per_page
    ids = [row[0] for row in rows[first:first + filters.per_page]]
    loaded = db.session.scalars(
        sa.select(Instrument).where(Instrument.id.in_(ids))
        .options(joinedload(Instrument.institution), joinedload(Instrument.category),
                 selectinload(Instrument.opening_hours), selectinload(Instrument.photos))
    ) if ids else []
    by_id = {instrument.id: instrument for instrument in loaded}
    slots = next_free(list(by_id.values()), now or utcnow(), filters.free_from, filters.free_to)
    items = [Found(by_id[i], travel_minutes(filters.near, by_id[i].institution.city_code),
                   {"start": slots[i][0], "end": slots[i][1]} if slots[i] else None) for i in ids]
    counted = {"city": dict(Counter(row[1] for row in rows)), "category": dict(Counter(row[2] for row in rows))}
    return SearchResult(items, len(rows), counted, [])
