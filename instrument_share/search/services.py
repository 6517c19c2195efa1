"""Instrument search: text, place, category, price, vouchers and free time
(API.md, "Catalogue"; the search page and GET /api/v1/instruments)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import City, Institution
from ..booking.availability import next_free
from ..catalogue.models import Category, Instrument
from ..db_types import CENT, MAX_MONEY
from ..errors import N_, ValidationFailed
from ..extensions import db
from ..sql import dialect
from ..timeutil import utcnow
from .free_time import MAX_FREE_SEARCH_SPAN, free_condition, free_window
from .ranking import TextShape, scores, text_match, text_shape
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
        errors["page"] = [N_("Must be at least 1.")]
    if not 1 <= filters.per_page <= 100:
        errors["per_page"] = [N_("Between 1 and 100.")]
    if errors:
        raise ValidationFailed(N_("Some search parameters are not valid."), errors)
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


MAX_OFFSET = 2**62


@dataclass(frozen=True)
class _Shape:
    """What the SQL of a search depends on; its values (the words, weights,
    codes, times and the page) are bound parameters. The statement is built
    once per shape (`_statement`): building it and working out its cache key
    took a sixth of a search."""

    dialect: str
    text: TextShape | None  # ranking.text_shape, or None without text
    city: bool
    institution: bool
    category: bool
    accepts_vouchers: bool | None
    max_rate: bool
    free: tuple | None  # free_time.free_window's shape
    order: str  # "relevance", "travel", "rate" or "name"
    near: str | None  # the city travel is measured from, for the order


def _shape(filters: SearchFilters, terms: list[QueryTerm]) -> tuple[_Shape, dict]:
    """The shape of the search's statement and the values of its filters."""
    values: dict = {"city": filters.city, "institution": filters.institution, "category": filters.category}
    # Rates are kept to the fen: "at most 1.005" is at most 1.00 (the
    # column's half-up rounding would let 1.01 in). A bound beyond what the
    # column holds leaves no rate out (and would not fit the comparison).
    max_rate = filters.max_rate is not None and filters.max_rate < MAX_MONEY
    if max_rate:
        values["max_rate"] = filters.max_rate.quantize(CENT, rounding=ROUND_FLOOR)
    free = None
    if filters.free_from is not None:
        free, times = free_window(filters.free_from, filters.free_to)
        values.update(times)
    if filters.sort == "rate":
        order = "rate"
    elif filters.near is not None and (filters.sort == "travel" or (filters.sort == "relevance" and not terms)):
        order = "travel"  # without text to rank by, the nearest come first
    elif filters.sort == "name" or not terms:
        order = "name"
    else:
        order = "relevance"
    shape = _Shape(dialect(), text_shape(terms) if terms else None, filters.city is not None,
                   filters.institution is not None, filters.category is not None, filters.accepts_vouchers,
                   max_rate, free, order, filters.near if order == "travel" else None)
    return shape, values


def _filter_conditions(shape: _Shape) -> list:
    conditions = [Instrument.retired_on.is_(None)]  # retired ones keep their page, not a place in search
    if shape.city:
        # A subquery, not a join: the planner then scans instruments once
        # instead of visiting them institution by institution.
        conditions.append(Instrument.institution_id.in_(
            sa.select(Institution.id).where(Institution.city_code == sa.bindparam("city"))))
    if shape.institution:
        conditions.append(Instrument.institution_id == sa.bindparam("institution"))
    if shape.category:
        subclasses = sa.select(Category.code).where(Category.parent_code == sa.bindparam("category"))
        conditions.append(
            sa.or_(Instrument.category_code == sa.bindparam("category"), Instrument.category_code.in_(subclasses))
        )
    if shape.accepts_vouchers is not None:
        conditions.append(Instrument.accepts_vouchers.is_(shape.accepts_vouchers))
    if shape.max_rate:
        conditions.append(Instrument.hourly_rate <= sa.bindparam("max_rate"))
    if shape.free is not None:
        conditions.append(free_condition(shape.free))
    return conditions


def _travel_order(near: str):
    """Minutes from `near` to the instrument's city, as SQL."""
    return sa.case(travel_table()[near], value=Institution.city_code, else_=10_000)


def _sort_keys(shape: _Shape, ranked) -> list[tuple]:
    """The order of the results: (SQL expression, descending) pairs, the id last."""
    by_score = [(ranked.c.score, True)] if ranked is not None else []
    if shape.order == "rate":
        return [(Instrument.hourly_rate, False), (Instrument.id, False)]
    if shape.order == "travel":
        return [(_travel_order(shape.near), False), *by_score, (Instrument.name, False), (Instrument.id, False)]
    if shape.order == "name":
        return [(Instrument.name, False), (Instrument.id, False)]
    return [*by_score, (Instrument.name, False), (Instrument.id, False)]


@lru_cache(maxsize=512)
def _statement(shape: _Shape):
    """The page's instrument ids in order, the facets and the total, in one
    statement (parameters: the filters', the text's, page_start, page_size).

    The matches are a materialised CTE of id, institution_id, category_code
    and the sort keys, computed once. Only the page is sorted out of them (a
    top-N sort), and the facets are counted by institution and by category
    (hundreds of groups) before they are named by city and major category:
    neither the thousands of matches nor a join of each of them with its
    institution and category come back to Python."""
    ranked = scores(shape.text) if shape.text is not None else None
    keys = _sort_keys(shape, ranked)
    matches = (sa.select(Instrument.id, Instrument.institution_id, Instrument.category_code,
                         *[key.label(f"sort_{n}") for n, (key, _) in enumerate(keys)])
               .where(*_filter_conditions(shape)))
    if ranked is not None:
        matches = matches.join(ranked, ranked.c.instrument_id == Instrument.id)
    if shape.order == "travel":
        matches = matches.join(Institution, Institution.id == Instrument.institution_id)
    # Computed once (what both engines do anyway with a CTE used more than once).
    matched = matches.cte("matched").prefix_with("MATERIALIZED")

    def order(table):
        return [table.c[f"sort_{n}"].desc() if desc else table.c[f"sort_{n}"] for n, (_, desc) in enumerate(keys)]

    page = (sa.select(matched).order_by(*order(matched))
            .limit(sa.bindparam("page_size", type_=sa.Integer)).offset(sa.bindparam("page_start", type_=sa.BigInteger))
            .subquery("page"))
    by_institution = (sa.select(matched.c.institution_id, sa.func.count().label("n"))
                      .group_by(matched.c.institution_id).subquery("by_institution"))
    by_category = (sa.select(matched.c.category_code, sa.func.count().label("n"))
                   .group_by(matched.c.category_code).subquery("by_category"))
    major = sa.func.coalesce(Category.parent_code, Category.code)
    return sa.union_all(
        # 0: the page, numbered in its order (a union keeps no order of its own)
        sa.select(sa.literal_column("0").label("part"), page.c.id.label("id"), sa.null().label("key"),
                  sa.func.row_number().over(order_by=order(page)).label("n")),
        sa.select(sa.literal_column("1"), sa.null(), Institution.city_code,
                  sa.cast(sa.func.sum(by_institution.c.n), sa.Integer))
        .join_from(by_institution, Institution, Institution.id == by_institution.c.institution_id)
        .group_by(Institution.city_code),
        sa.select(sa.literal_column("2"), sa.null(), major, sa.cast(sa.func.sum(by_category.c.n), sa.Integer))
        .join_from(by_category, Category, Category.code == by_category.c.category_code)
        .group_by(major),
    ).order_by("part", "n")


def _page_and_facets(shape: _Shape, values: dict) -> tuple[list[int], dict, int]:
    """Runs `_statement`: the page's ids in order, the facets, the total (the
    sum of the city facet: every institution has a city)."""
    ids: list[int] = []
    facets: dict[str, dict[str, int]] = {"city": {}, "category": {}}
    # Through the connection, not the ORM session: plain tuples.
    for part, instrument_id, key, n in db.session.connection().execute(_statement(shape), values):
        if part == 0:
            ids.append(instrument_id)
        else:
            facets["city" if part == 1 else "category"][key] = n
    return ids, facets, sum(facets["city"].values())


def search_instruments(filters: SearchFilters, now: datetime | None = None, *,
                       with_photos: bool = True) -> SearchResult:
    """Instruments matching every given filter: one page of them, the total,
    and the facets; the page's photos unless `with_photos` is false (the
    API's list shows none).

    Every term of the text must match (terms.py: thesaurus concepts, words,
    model numbers in part) in the name, English name, model, maker,
    category, institution and city, or the record's texts; the best matches
    come first (ranking.py), or the nearest to `near` with `sort=travel`.
    """
    terms = _validate(filters)
    text_values, unmatched = text_match(terms) if terms else ({}, _unsearchable(filters))
    if unmatched:
        return SearchResult.nothing(unmatched)
    shape, values = _shape(filters, terms)
    # A page past any catalogue is empty, with the total and facets still
    # right; the offset stays within a 64-bit integer (PostgreSQL's OFFSET).
    page_start = min((filters.page - 1) * filters.per_page, MAX_OFFSET)
    values.update(text_values, page_start=page_start, page_size=filters.per_page)
    ids, facets, total = _page_and_facets(shape, values)
    # The page's instruments whole, without their opening hours: next_free
    # reads those as plain rows (as ORM objects they cost more than the rest
    # of next_free). Photos only for the pages that show them.
    options = [joinedload(Instrument.institution), joinedload(Instrument.category)]
    if with_photos:
        options.append(selectinload(Instrument.photos))
    loaded = db.session.scalars(
        sa.select(Instrument).where(Instrument.id.in_(ids)).options(*options)) if ids else []
    by_id = {instrument.id: instrument for instrument in loaded}
    slots = next_free(list(by_id.values()), now or utcnow(), filters.free_from, filters.free_to, read_hours=True)
    items = [Found(by_id[i], travel_minutes(filters.near, by_id[i].institution.city_code),
                   {"start": slots[i][0], "end": slots[i][1]} if slots[i] else None) for i in ids]
    return SearchResult(items, total, facets, [])
