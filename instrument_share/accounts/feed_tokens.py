"""A user's secret calendar-feed address: a token that names the user and
is signed with the site's key and the user's nonce, so resetting the nonce
ends every address given out before."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app

from ..database import begin_write_transaction
from ..extensions import db
from ..web import absolute_url
from .models import User


def _mac(user: User) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"feed:{user.id}:{user.feed_nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def feed_token(user: User) -> str:
    return f"{user.id}-{_mac(user)}"


def feed_url(user: User) -> str:
    return absolute_url("feeds.user_calendar", token=feed_token(user))


def user_for_feed_token(token: str) -> User | None:
    """The active user whose current feed token this is, else None."""
    user_id, _, mac = token.partition("-")
    if not user_id.isdigit() or not mac:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not hmac.compare_digest(mac, _mac(user)):
        return None
    return user


def reset_feed_token(user: User) -> str:
    """A new secret feed URL; the old one stops working at once."""
    begin_write_transaction()
    user.feed_nonce = secrets.token_hex(16)
    db.session.flush()
    return feed_url(user)
