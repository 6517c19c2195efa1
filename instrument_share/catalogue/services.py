"""Catalogue queries: cities, institutions, categories, one instrument."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..errors import N_, NotFound, ValidationFailed
from ..extensions import db
from .models import Category, City, Institution, Instrument


def list_cities_with_counts() -> list[tuple[City, int]]:
    """The nine cities in corridor order with their instrument counts (one query)."""
    count = (
        sa.select(sa.func.count(Instrument.id))
        .join(Institution, Instrument.institution_id == Institution.id)
        .where(Institution.city_code == City.code)
        .scalar_subquery()
    )
    rows = db.session.execute(sa.select(City, count).order_by(City.sort_order))
    return [(city, n) for city, n in rows]


def list_institutions_with_counts(city_code: str | None = None) -> list[tuple[Institution, int]]:
    """Institutions (optionally of one city) with their instrument counts."""
    count = (
        sa.select(sa.func.count(Instrument.id))
        .where(Instrument.institution_id == Institution.id)
        .scalar_subquery()
    )
    query = sa.select(Institution, count).order_by(Institution.city_code, Institution.id)
    if city_code is not None:
        require_city(city_code)
        query = query.where(Institution.city_code == city_code)
    return [(inst, n) for inst, n in db.session.execute(query)]


def list_categories() -> list[Category]:
    return list(db.session.scalars(sa.select(Category).order_by(Category.sort_order)))


def category_counts() -> dict[str, int]:
    """Instrument count per category code, a parent counting its subclasses."""
    rows = db.session.execute(
        sa.select(Instrument.category_code, sa.func.count()).group_by(Instrument.category_code)
    )
    direct = dict(rows.all())
    counts = dict(direct)
    for category in list_categories():
        if category.parent_code:
            counts[category.parent_code] = counts.get(category.parent_code, 0) + direct.get(
                category.code, 0
            )
    return counts


def require_city(code: str) -> City:
    city = db.session.get(City, code)
    if city is None:
        raise ValidationFailed(N_("Unknown city."), {"city": [f"Unknown city code: {code!r}."]})
    return city


def get_institution(institution_id: int) -> Institution:
    institution = db.session.get(Institution, institution_id)
    if institution is None:
        raise NotFound(N_("No such institution."))
    return institution


def get_instrument(instrument_id: int) -> Instrument:
    instrument = db.session.scalar(
        sa.select(Instrument)
        .where(Instrument.id == instrument_id)
        .options(
            joinedload(Instrument.institution).joinedload(Institution.city),
            joinedload(Instrument.category),
            selectinload(Instrument.opening_hours),
            selectinload(Instrument.photos),
        )
    )
    if instrument is None:
        raise NotFound(N_("No such instrument."))
    return instrument
