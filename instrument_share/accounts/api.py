"""Token and identity endpoints of /api/v1 (API.md, "Auth")."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields

from ..api.fields import Line
from ..api.parsing import Blueprint
from ..api.schemas import NO_AUTH
from ..errors import NotAuthenticated
from ..extensions import limiter
from ..timeutil import isoformat_platform
from .bearer import authenticated, current_token_id, require_user
from .feed_tokens import feed_url, reset_feed_token
from .schemas import FirmRefSchema, InstitutionRefSchema
from .services import LOGIN_FAILED, authenticate, end_token, issue_token_for

blp = Blueprint("accounts_api", __name__, description="Tokens and the current user")


class TokenRequestSchema(Schema):
    email = Line(required=True)
    password = fields.String(required=True)  # a secret: hashed, never stored as text


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.String(required=True)


class MeSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    language = fields.String(required=True)
    firm = fields.Nested(FirmRefSchema, allow_none=True, required=True)
    institution = fields.Nested(InstitutionRefSchema, allow_none=True, required=True)
    city = fields.String(allow_none=True, required=True, attribute="city_code")
    feed_url = fields.Function(feed_url, allow_none=True, required=True, metadata={"type": "string"})


@blp.post("/tokens")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
@blp.alt_response(401, response="UNAUTHORIZED", description="Wrong e-mail address or password")
@blp.alt_response(429, response="TOO_MANY_REQUESTS", description="Too many attempts from this address")
@blp.doc(security=NO_AUTH)
def create_token(body):
    """Exchange an e-mail address and password for a bearer token.

    Unknown addresses, wrong passwords and locked accounts get the same 401.
    """
    user = authenticate(body["email"], body["password"])
    if user is None:
        raise NotAuthenticated(LOGIN_FAILED)
    token, expires_at = issue_token_for(user)
    return {"token": token, "expires_at": isoformat_platform(expires_at)}


@blp.delete("/tokens/current")
@blp.response(204)
def end_current_token():
    """End the bearer token this request is sent with; it stops working at once."""
    end_token(current_token_id())


@blp.get("/me")
@blp.response(200, MeSchema)
def me():
    """Who the token (or session) belongs to."""
    return require_user()


class FeedUrlSchema(Schema):
    feed_url = fields.String(required=True)


@blp.post("/me/feed-token")
@authenticated
@blp.response(200, FeedUrlSchema)
def new_feed_token():
    """A new secret feed URL; the old one stops working at once."""
    url = reset_feed_token(require_user())
    return {"feed_url": url}
