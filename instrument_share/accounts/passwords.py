"""Password hashing, and the one rule that keeps sign-in from telling who
has an account: every attempt costs exactly one hash verification.

A password is checked with werkzeug's default method (scrypt). When there is
no stored hash to check against (an unknown or malformed address, an
inactive or locked account), the password is checked against `dummy_hash()`,
made once per process with the same method and parameters, so the answer
takes as long as a real wrong password. Registration likewise hashes one
password whichever way it goes.

A new password (registration, change, reset, joining by invitation, the
CLI) must have MIN_LENGTH characters and must not be a well-known breached
password (`data/breached_passwords.txt`, compared case-insensitively) or
made of fewer than four different characters: `weakness` says why not.

`stats` counts hashes and verifications in this process: the tests compare
the work done per request instead of timing it.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import N_

MIN_LENGTH = 10
TOO_SHORT = N_("Use at least 10 characters.")
TOO_COMMON = N_("This password is among the best known leaked passwords; choose another.")
TOO_SIMPLE = N_("Use at least four different characters.")


@dataclass
class PasswordStats:
    hashed: int = 0
    verified: int = 0


stats = PasswordStats()
_lock = threading.Lock()
_dummy: str | None = None


def hash_password(password: str) -> str:
    with _lock:
        stats.hashed += 1
    return generate_password_hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    with _lock:
        stats.verified += 1
    return check_password_hash(stored_hash, password or "")


def dummy_hash() -> str:
    """A hash of a random password, made by the method real hashes use."""
    global _dummy
    if _dummy is None:
        _dummy = generate_password_hash(secrets.token_urlsafe(16))
    return _dummy


def verify_nothing(password: str) -> None:
    """Spend the time of one verification when there is nothing to verify."""
    verify_password(dummy_hash(), password)


@cache
def breached() -> frozenset[str]:
    text = files("instrument_share.accounts").joinpath("data/breached_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def weakness(password: str | None) -> str | None:
    """Why a new password is refused (a message to translate), or None."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(set(password)) < 4:
        return TOO_SIMPLE
    if password.lower() in breached():
        return TOO_COMMON
    return None
