"""Catalogue endpoints of /api/v1 (API.md, "Catalogue")."""
from __future__ import annotations

from ..accounts.bearer import authenticated, require_user
from ..api.parsing import Blueprint
from ..api.schemas import NO_AUTH, PageArgs, list_envelope, page_of
from . import manage, qualifications, services
from .hours import set_opening_hours
from .schemas import (
    CategorySchema,
    CitySchema,
    InstitutionQueryArgs,
    InstitutionSchema,
    InstrumentDetailSchema,
    InstrumentWriteSchema,
    QualificationGrantSchema,
    QualificationSchema,
)

blp = Blueprint("catalogue_api", __name__, description="Cities, institutions, categories, instrument records")


@blp.get("/cities")
@blp.doc(security=NO_AUTH)
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(CitySchema, "CityList"))
def list_cities(page, per_page):
    """The nine cities of the corridor."""
    rows = [
        {
            "code": city.code,
            "name": city.name,
            "name_en": city.name_en,
            "province": city.province,
            "instrument_count": count,
        }
        for city, count in services.list_cities_with_counts()
    ]
    return page_of(rows, page, per_page)


@blp.get("/institutions")
@blp.doc(security=NO_AUTH)
@blp.arguments(InstitutionQueryArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(InstitutionSchema, "InstitutionList"))
def list_institutions(page, per_page, city=None):
    """Institutions that share instruments, optionally of one city."""
    rows = [
        {
            "id": inst.id,
            "name": inst.name,
            "name_en": inst.name_en,
            "city": inst.city_code,
            "instrument_count": count,
        }
        for inst, count in services.list_institutions_with_counts(city)
    ]
    return page_of(rows, page, per_page)


@blp.get("/categories")
@blp.doc(security=NO_AUTH)
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(CategorySchema, "CategoryList"))
def list_categories(page, per_page):
    """The national classification: major classes and analytical subclasses."""
    rows = [
        {"code": c.code, "name": c.name, "name_en": c.name_en, "parent": c.parent_code}
        for c in services.list_categories()
    ]
    return page_of(rows, page, per_page)


@blp.get("/instruments/<int:instrument_id>")
@blp.doc(security=NO_AUTH)
@blp.response(200, InstrumentDetailSchema)
def get_instrument(instrument_id):
    """The full NRII record of one instrument with its booking settings."""
    return services.get_instrument(instrument_id)


@blp.post("/instruments")
@authenticated
@blp.arguments(InstrumentWriteSchema)
@blp.response(201, InstrumentDetailSchema)
def create_instrument(body):
    """Managers (own institution) and admins publish an instrument."""
    user = require_user()
    hours = body.pop("opening_hours", None)
    instrument = manage.create_instrument(user, body)
    if hours is not None:
        set_opening_hours(instrument, user, hours)
    return services.get_instrument(instrument.id)


@blp.patch("/instruments/<int:instrument_id>")
@authenticated
@blp.arguments(InstrumentWriteSchema)
@blp.response(200, InstrumentDetailSchema)
def update_instrument(body, instrument_id):
    """Managers (own institution) and admins change an instrument's record or settings."""
    user = require_user()
    hours = body.pop("opening_hours", None)
    instrument = manage.update_instrument(user, instrument_id, body)
    if hours is not None:
        set_opening_hours(instrument, user, hours)
    return services.get_instrument(instrument.id)


@blp.post("/instruments/<int:instrument_id>/qualifications")
@authenticated
@blp.arguments(QualificationGrantSchema)
@blp.response(201, QualificationSchema)
def grant_qualification(body, instrument_id):
    """The instrument's managers qualify an existing user to run it alone,
    optionally until a day (granting again changes the expiry)."""
    return qualifications.grant_qualification(require_user(), instrument_id, body["email"], body["expires_on"])


@blp.get("/instruments/<int:instrument_id>/qualifications")
@authenticated
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(QualificationSchema, "QualificationList"))
def list_qualifications(instrument_id, page, per_page):
    """Who is qualified to run the instrument: for its managers."""
    return page_of(qualifications.instrument_qualifications(require_user(), instrument_id), page, per_page)


@blp.delete("/qualifications/<int:qualification_id>")
@authenticated
@blp.response(204)
def revoke_qualification(qualification_id):
    """The instrument's managers revoke a qualification."""
    qualifications.revoke_qualification(require_user(), qualification_id)


@blp.get("/me/qualifications")
@authenticated
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(QualificationSchema, "MyQualificationList"))
def my_qualifications(page, per_page):
    """The instruments the signed-in user is qualified to run."""
    return page_of(qualifications.my_qualifications(require_user()), page, per_page)
