"""Who is calling the API: a Bearer token, or the site's session for GETs."""
from __future__ import annotations

import functools

from flask import after_this_request, current_app, g, request
from flask_login import current_user

from ..errors import N_, NotAuthenticated, PermissionDenied
from ..timeutil import platform_today
from .models import User
from .services import token_row
from .token_use import note_token_use


def api_user() -> User | None:
    """The authenticated caller or None.

    A session cookie counts only for safe methods: a cross-site form could
    otherwise make a signed-in browser change data through the API.
    """
    if "api_user" in g:
        return g.api_user
    user = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated(N_("Use 'Authorization: Bearer <token>'."))
        row = token_row(token.strip())
        if row is None:
            raise NotAuthenticated(N_("The token is unknown or has expired."))
        user, g.api_token_id = row.user, row.id
        today = platform_today()
        if row.last_used_on != today:  # noted once a day, after the answer has left
            app, token_id = current_app._get_current_object(), row.id

            @after_this_request
            def note_use(response):
                response.call_on_close(lambda: note_token_use(app, token_id, today))
                return response
    elif request.method in ("GET", "HEAD") and current_user.is_authenticated:
        user = current_user._get_current_object()
    g.api_user = user
    return user


def current_token_id() -> int:
    """The id of the bearer token this request came with; 401 without one
    (a session cookie has no token to end)."""
    api_user()
    token_id = g.get("api_token_id")
    if token_id is None:
        raise NotAuthenticated(N_("Send the bearer token to end: 'Authorization: Bearer <token>'."))
    return token_id


def require_user(*roles: str) -> User:
    """The caller, who must be signed in and, when roles are named, hold one."""
    user = api_user()
    if user is None:
        raise NotAuthenticated(N_("Sign in or send a Bearer token."))
    if roles and user.role not in roles:
        raise PermissionDenied(N_("Your role may not do this."))
    return user


def authenticated(view):
    """Refuse anonymous calls (401) before the body is even parsed."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        require_user()
        return view(*args, **kwargs)

    return wrapper
