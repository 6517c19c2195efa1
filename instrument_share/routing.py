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
