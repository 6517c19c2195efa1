"""Token and identity endpoints of /api/v1 (API.md, "Auth")."""
from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields

from ..api.fields import Line
from ..api.parsing import Blueprint
from ..api.schemas import NO_AUTH, PageArgs, list_envelope, page_of
from ..errors import NotAuthenticated
from ..extensions import limiter
from ..timeutil import isoformat_platform
from . import members, recovery
from .bearer import authenticated, current_token_id, require_user
from .feed_tokens import feed_url, reset_feed_token
from .models import Role
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
    firm_admin = fields.Boolean(required=True, metadata={"description": "administers the user's firm"})
    institution_admin = fields.Boolean(required=True,
                                       metadata={"description": "administers the user's institution"})


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


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True)  # secrets: hashed, never stored as text
    new_password = fields.String(required=True)


@blp.post("/me/password")
@authenticated
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
def change_password(body):
    """A new password: every other token and every browser session of the
    user stops working; this token goes on. A wrong current password is a
    422 and counts as a failed sign-in."""
    recovery.change_password(require_user().id, body["current_password"], body["new_password"],
                             keep_token_id=current_token_id())


class ResetRequestSchema(Schema):
    email = Line(required=True)


class ResetConfirmSchema(Schema):
    token = Line(required=True)
    password = fields.String(required=True)  # a secret: hashed, never stored as text


@blp.post("/password-reset")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@blp.arguments(ResetRequestSchema)
@blp.response(202)
@blp.doc(security=NO_AUTH)
def request_password_reset(body):
    """Mail a single-use link, valid for one hour, to a registered address.
    The answer is the same whatever the address."""
    recovery.request_password_reset(body["email"])


@blp.post("/password-reset/confirm")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@blp.arguments(ResetConfirmSchema)
@blp.response(204)
@blp.doc(security=NO_AUTH)
def confirm_password_reset(body):
    """Set a new password with the link's token; 422 for a used, expired or
    forged token (`fields.token`) or a weak password (`fields.password`).
    Every session and token of the user ends."""
    recovery.reset_password(body["token"], body["password"])


class InvitationRequestSchema(Schema):
    email = Line(required=True)


class InvitationSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    created_at = fields.Function(lambda i: isoformat_platform(i.created_at), required=True,
                                 metadata={"type": "string"})
    expires_at = fields.Function(lambda i: isoformat_platform(i.expires_at), required=True,
                                 metadata={"type": "string"})


class MemberSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    active = fields.Boolean(required=True)
    firm_admin = fields.Boolean(required=True)
    email_verified = fields.Boolean(required=True)


@blp.post("/firm/invitations")
@authenticated
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@blp.arguments(InvitationRequestSchema)
@blp.response(201, InvitationSchema)
def invite_colleague(body):
    """The firm's administrator invites a colleague: a mail with a link to
    join (set name and password), valid for seven days. Inviting an address
    again replaces the earlier invitation."""
    user = require_user()
    return members.invite(user, members.firm_of(user), body["email"])


@blp.get("/firm/invitations")
@authenticated
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(InvitationSchema, "InvitationList"))
def list_invitations(page, per_page):
    """The firm's open invitations, newest first (its administrator only)."""
    user = require_user()
    return page_of(members.open_invitations(members.firm_of(user)), page, per_page)


@blp.delete("/firm/invitations/<int:invitation_id>")
@authenticated
@blp.response(204)
def withdraw_invitation(invitation_id):
    """Withdraw an open invitation: its link stops working at once."""
    members.withdraw(require_user(), Role.FIRM, invitation_id)


@blp.get("/firm/members")
@authenticated
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(MemberSchema, "MemberList"))
def list_members(page, per_page):
    """The firm's members, active first (its administrator only)."""
    user = require_user()
    return page_of(members.members(members.firm_of(user)), page, per_page)


@blp.delete("/firm/members/<int:user_id>")
@authenticated
@blp.response(204)
def deactivate_member(user_id):
    """Deactivate a member: they can no longer sign in, their sessions and
    tokens end, their bookings stay with their name."""
    members.deactivate(require_user(), Role.FIRM, user_id)
