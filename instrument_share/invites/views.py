"""Calendar feed URLs; they carry their own secret, so no sign-in."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, request

from ..accounts.feed_tokens import user_for_feed_token
from ..catalogue.services import get_instrument
from ..errors import NotFound
from .feeds import instrument_busy_feed, user_feed

bp = Blueprint("feeds", __name__, url_prefix="/feeds")


def _calendar_response(body: bytes, last_modified=None) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    response.set_etag(hashlib.sha256(body).hexdigest())
    if last_modified is not None:
        response.last_modified = last_modified
    return response.make_conditional(request)


@bp.get("/<token>.ics")
def user_calendar(token: str):
    user = user_for_feed_token(token)
    if user is None:
        abort(404)
    body, last = user_feed(user)
    return _calendar_response(body, last)


@bp.get("/instruments/<int:instrument_id>.ics")
def instrument_calendar(instrument_id: int):
    try:
        instrument = get_instrument(instrument_id)
    except NotFound:
        abort(404)
    return _calendar_response(instrument_busy_feed(instrument))
