"""URL converters shared by the pages and the API."""
from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .db_types import MAX_ID


class IdConverter(IntegerConverter):
    """`<int:...>` in our URLs. A number larger than any id the database can
    hold names nothing: 404 at once, instead of an overflow in the query. (A
    converter's own `max` would make werkzeug answer 405 for some methods.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound()
        return number


def id_number(text: str) -> int:
    """A positive id (or page number) from a query string or form, for
    werkzeug's `type=`: anything else, a number past MAX_ID included, raises
    ValueError, so the argument counts as not given instead of overflowing
    the query."""
    number = int(text)
    if not 0 < number <= MAX_ID:
        raise ValueError(f"not an id: {text!r}")
    return number


def page_number(text: str) -> int:
    """A page number from a query string, for werkzeug's `type=`: below 1
    counts as 1 and past MAX_ID as MAX_ID (the lists then show their last
    page), so no page number can overflow a query."""
    return min(max(1, int(text)), MAX_ID)
