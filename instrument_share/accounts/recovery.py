"""Passwords after sign-up: reset by mail, change on the profile (API.md,
"Auth"; issue #17).

A reset link carries the user's id and a fingerprint of their current
password hash, signed with the SECRET_KEY and stamped with its time: it
expires after an hour, and it works once, because setting the password
changes the hash it names (every other reset link of the user dies with
it). Asking for a link answers the same whether or not the address has an
account; the mail goes only to an active account, at most once in ten
minutes.

A new password (reset or change) ends every browser session of the user and
every API token (but the one a change came with), lifts a sign-in lock and
mails the owner that it happened.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..database import begin_write_transaction
from ..errors import N_, ValidationFailed
from ..extensions import db
from ..timeutil import utcnow
from . import mails, passwords
from .models import User
from .services import count_failed_sign_in, end_all_tokens, is_locked, normalise_email

RESET_PATH = "/password-reset/"
RESET_SECONDS = 3600
RESET_INVALID = N_("This link is not valid: it has expired (links work for one hour), has already been used, "
                   "or was not copied whole. Ask for a new one.")
WRONG_PASSWORD = N_("This is not your current password.")
LOCKED = N_("Your account is locked after too many wrong passwords; try again later, or reset the password "
            "by mail.")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.email}\n{user.password_hash}".encode()).hexdigest()[:24]


def reset_link(user: User) -> str:
    token = _serializer().dumps([user.id, _fingerprint(user)])
    return current_app.config["PLATFORM_URL"].rstrip("/") + RESET_PATH + token


def request_password_reset(email: str, now: datetime | None = None, language: str = "zh_CN") -> None:
    """Mail a reset link if the address belongs to an active account; the
    caller answers the same either way. An address without an account gets
    the same work done (a link signed, the write lock taken, the mail
    composed) and nothing sent, so the time taken tells nothing either."""
    now = now or utcnow()
    try:
        email = normalise_email(email)
    except ValidationFailed:
        email = ""
    user = db.session.scalar(sa.select(User).where(User.email == email, User.active)) if email else None
    # A stand-in for an address without an account: never added to the session.
    addressee = user or User(id=0, email=email or "nobody@invalid", name=email.partition("@")[0],
                             language=language, password_hash="")
    link = reset_link(addressee)
    begin_write_transaction()
    mails.password_reset(addressee, link, now, send=user is not None)


def check_reset_token(token: str) -> User:
    """The active user a reset link is for; ValidationFailed (fields.token)
    when it is forged, expired or used. Reads only."""
    refused = ValidationFailed(RESET_INVALID, {"token": [RESET_INVALID]})
    try:
        user_id, fingerprint = _serializer().loads(token, max_age=RESET_SECONDS)
        user = db.session.get(User, int(user_id))
    except (SignatureExpired, BadSignature, TypeError, ValueError, OverflowError):
        raise refused from None
    if user is None or not user.active or fingerprint != _fingerprint(user):
        raise refused
    return user


def _weak(field: str, password: str) -> None:
    if weak := passwords.weakness(password):
        raise ValidationFailed(weak, {field: [weak]})


def _set_password(user: User, password_hash: str, now: datetime, keep_token_id: int | None = None) -> None:
    """Store the new hash if the user's hash is still the one read (else the
    link or the current password was used up by another request meanwhile),
    end every session and the other tokens, lift a lock, tell the owner."""
    begin_write_transaction()
    done = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, User.password_hash == user.password_hash)
        .values(password_hash=password_hash, session_generation=User.session_generation + 1,
                failed_logins=0, login_locked_until=None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise ValidationFailed(RESET_INVALID, {"token": [RESET_INVALID]})
    end_all_tokens(user.id, keep_token_id)
    db.session.refresh(user)
    mails.password_changed(user, now)


def reset_password(token: str, password: str, now: datetime | None = None) -> User:
    """Set a new password with a reset link. Following the link also proves
    the address, so an unconfirmed one is confirmed."""
    now = now or utcnow()
    _weak("password", password)
    user = check_reset_token(token)
    password_hash = passwords.hash_password(password)  # the slow step, before the write lock
    _set_password(user, password_hash, now)
    if user.email_verified_at is None:
        user.email_verified_at = now
    return user


def change_password(user_id: int, current_password: str, new_password: str, *,
                    keep_token_id: int | None = None, now: datetime | None = None) -> User:
    """A signed-in user's new password. A wrong current password counts as a
    failed sign-in (a stolen session cannot guess it freely)."""
    now = now or utcnow()
    _weak("password", new_password)  # API.md: a refused password is `fields.password`
    user = db.session.get(User, user_id)
    if is_locked(user, now):  # no guessing on through this door while sign-in is locked
        passwords.verify_nothing(current_password or "")
        raise ValidationFailed(LOCKED, {"current_password": [LOCKED]})
    if not user.check_password(current_password or ""):
        count_failed_sign_in(user.id, now)
        raise ValidationFailed(WRONG_PASSWORD, {"current_password": [WRONG_PASSWORD]})
    _set_password(user, passwords.hash_password(new_password), now, keep_token_id)
    return user
