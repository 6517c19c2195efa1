"""Instrument search endpoint of /api/v1 (API.md, "Catalogue")."""
from __future__ import annotations

from ..accounts.bearer import api_user
from ..api.parsing import Blueprint
from ..api.schemas import NO_AUTH
from . import services
from .schemas import InstrumentQueryArgs, InstrumentSearchSchema, SuggestArgs, SuggestionSchema
from .suggest import suggest

blp = Blueprint("search_api", __name__,
                description="Instrument search: text, place, category, price, vouchers, free time")


@blp.get("/instruments/suggest")
@blp.doc(security=NO_AUTH)
@blp.arguments(SuggestArgs, location="query", as_kwargs=True)
@blp.response(200, SuggestionSchema(many=True))
def suggest_instruments(q):
    """Up to 10 completions for a search box: thesaurus terms (扫描电镜 → 扫描电子显微镜),
    categories, instruments."""
    return suggest(q)


@blp.get("/instruments")
@blp.doc(security=NO_AUTH)
@blp.arguments(InstrumentQueryArgs, location="query", as_kwargs=True)
@blp.response(200, InstrumentSearchSchema)
def search_instruments(**args):
    """Search instruments by what people type (thesaurus, brands, models), place, category,
    price, voucher acceptance and free time; with travel from `near` and facets."""
    filters = services.SearchFilters(**args)
    if filters.near is None:
        filters.near = services.home_city(api_user())
    found = services.search_instruments(filters, with_photos=False)  # the list shows no photos
    return {"items": found.items, "total": found.total, "page": filters.page, "per_page": filters.per_page,
            "facets": found.facets}
