"""Instrument search endpoint of /api/v1 (API.md, "Catalogue")."""
from __future__ import annotations

from ..api.parsing import Blueprint
from ..api.schemas import NO_AUTH, envelope, list_envelope
from ..catalogue.schemas import InstrumentSummarySchema
from . import services
from .schemas import InstrumentQueryArgs

blp = Blueprint("search_api", __name__,
                description="Instrument search: text, place, category, price, vouchers, free time")


@blp.get("/instruments")
@blp.doc(security=NO_AUTH)
@blp.arguments(InstrumentQueryArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(InstrumentSummarySchema, "InstrumentList"))
def search_instruments(**args):
    """Search instruments by text, place, category, price and voucher acceptance."""
    filters = services.SearchFilters(**args)
    items, total = services.search_instruments(filters)
    return envelope(items, total, filters.page, filters.per_page)
