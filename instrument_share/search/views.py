"""The pages that find instruments: home, search, an institution's list."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ..catalogue import services as catalogue
from ..errors import NotFound, ValidationFailed
from ..routing import id_number, page_number
from ..text import TextRefused, clean_line
from ..timeutil import parse_client_time
from . import services
from .suggest import near_misses

bp = Blueprint("search", __name__)


@bp.get("/")
def home():
    return render_template(
        "search/home.html",
        cities=catalogue.list_cities_with_counts(),
        categories=catalogue.list_categories(),
        category_counts=catalogue.category_counts(),
    )


def _int_arg(name: str, default: int | None) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return default
    try:
        return id_number(value)
    except ValueError:
        return -1  # reported by the service as out of range


def _code_arg(name: str, errors: dict) -> str | None:
    """A code from the query string (city, category, sort) under the one-line
    rule (text.py): a NUL would reach the database, which refuses it."""
    try:
        return clean_line(request.args.get(name, "")) or None
    except TextRefused as refused:
        errors[name] = [_(refused.message)]
        return None


def _filters_from_query() -> tuple[services.SearchFilters, dict]:
    """Read the search form; values that cannot be read become form errors."""
    errors: dict[str, list[str]] = {}
    max_rate = None
    if request.args.get("max_rate", "").strip():
        try:
            max_rate = Decimal(request.args["max_rate"].strip())
            if not max_rate.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors["max_rate"] = [_("Give a number.")]
    free = {}
    for name in ("free_from", "free_to"):
        text = request.args.get(name, "").strip()
        if text:
            try:
                free[name] = parse_client_time(text)
            except (ValueError, OverflowError):
                errors[name] = [_("Give a date and time.")]
    institution = _int_arg("institution", None)
    filters = services.SearchFilters(
        q=request.args.get("q", "").strip(),
        city=_code_arg("city", errors),
        institution=institution if institution is None or institution > 0 else None,
        category=_code_arg("category", errors),
        accepts_vouchers=True if request.args.get("accepts_vouchers") else None,
        max_rate=max_rate,
        free_from=free.get("free_from"),
        free_to=free.get("free_to"),
        sort=_code_arg("sort", errors) or "relevance",
        page=request.args.get("page", 1, type=page_number),
        per_page=20,
    )
    return filters, errors


@bp.get("/search")
def search():
    filters, errors = _filters_from_query()
    filters.near = services.home_city(current_user) if current_user.is_authenticated else None
    found = services.SearchResult.nothing()
    if not errors:
        try:
            found = services.search_instruments(filters)
        except ValidationFailed as error:
            errors = error.fields
    return render_template(
        "search/search.html",
        filters=filters,
        errors=errors,
        found=found,
        hints=near_misses(found.unmatched, filters.q) if found.unmatched else [],
        items=found.items,
        total=found.total,
        pages=max(1, -(-found.total // filters.per_page)),
        cities=catalogue.list_cities_with_counts(),
        categories=catalogue.list_categories(),
        institutions=catalogue.list_institutions_with_counts(filters.city)
        if filters.city and "city" not in errors
        else [],
        # What "keep this search" keeps: the arguments, paging left out.
        saved_query=urlencode([(k, v) for k, v in request.args.items(multi=True) if k in services.QUERY_ARGS and v]),
    )


@bp.get("/institutions/<int:institution_id>")
def institution(institution_id: int):
    try:
        item = catalogue.get_institution(institution_id)
    except NotFound:
        abort(404)
    found = services.search_instruments(
        services.SearchFilters(institution=institution_id, sort="name", per_page=100,
                               page=request.args.get("page", 1, type=page_number))
    )
    return render_template(
        "search/institution.html", institution=item, instruments=found.items, total=found.total
    )
