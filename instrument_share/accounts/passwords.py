"""Password hashing, and the one rule that keeps sign-in from telling who
has an account: every attempt costs exactly one hash verification.

A password is checked with werkzeug's default method (scrypt). When there is
no stored hash to check against (an unknown or malformed address, an
inactive or locked account), the password is checked against `dummy_hash()`,
made once per process with the same method and parameters, so the answer
takes as long as a real wrong password. Registration likewise hashes one
password whichever way it goes.

`stats` counts hashes and verifications in this process: the tests compare
the work done per request instead of timing it.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from werkzeug.security import check_password_hash, generate_password_hash


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
