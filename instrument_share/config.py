"""Settings: defaults, then the environment, then the test override.

Every setting an operator may change is read here and nowhere else, so the
README's configuration table can be checked against this one file.
"""
from __future__ import annotations

import math
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _positive_int(name: str, default: int, minimum: int = 1) -> int:
    """A whole number setting; anything else stops the start with its name."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, or one generated once into instance/.

    Several web workers must share one key (sessions, CSRF), so the generated
    key is written to a file rather than kept in memory.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check_settings(settings: dict) -> None:
    """Settings that would let the app start and then fail on every page (or
    every delivery run) stop the start instead, with a message naming them."""
    zone = settings["PLATFORM_TIMEZONE"]
    try:
        ZoneInfo(zone)
    except (ValueError, LookupError, OSError, TypeError):
        raise ValueError(f"PLATFORM_TIMEZONE {zone!r} is not a time zone known to this system: "
                         "give an IANA name such as 'Asia/Shanghai'") from None
    url = urlsplit(str(settings["PLATFORM_URL"]))
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"PLATFORM_URL {settings['PLATFORM_URL']!r} must be the site's public address, "
                         "such as 'https://share.g60.example'")
    try:
        lease = float(settings["MAIL_LEASE_SECONDS"])
    except (TypeError, ValueError):
        lease = math.nan
    if not (math.isfinite(lease) and lease > 0):
        raise ValueError(f"MAIL_LEASE_SECONDS must be a number of seconds above 0, not {settings['MAIL_LEASE_SECONDS']!r}")
    settings["MAIL_LEASE_SECONDS"] = lease


def load_settings(instance_path: Path, overrides: dict) -> dict:
    """Defaults and environment, then `overrides` (the tests' configuration)."""
    database_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{instance_path / 'instrument_share.sqlite'}"
    )
    settings = {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "PLATFORM_TIMEZONE": os.environ.get("PLATFORM_TIMEZONE", "Asia/Shanghai"),
        # Every link in mail, feeds and files is built from it; `make run` on
        # another PORT gets a matching default.
        "PLATFORM_URL": os.environ.get("PLATFORM_URL", f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"),
        # An open CJK font for PDFs (receipts, statements): Noto Sans CJK, which
        # the install step provides (Debian's fonts-noto-cjk); face 2 of the
        # collection is Simplified Chinese.
        "PDF_FONT": os.environ.get("PDF_FONT", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
        "PDF_FONT_FACE": int(os.environ.get("PDF_FONT_FACE", "2")),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "instrument-share <noreply@instrument-share.example>"
        ),
        "MAIL_LEASE_SECONDS": os.environ.get("MAIL_LEASE_SECONDS", "300"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Per client address, on sign-in, tokens, registration and confirmation mails:
        # high enough for many people behind one proxy; accounts lock on their own.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "60 per minute;1000 per day"),
        "LOGIN_LOCK_AFTER": _positive_int("LOGIN_LOCK_AFTER", 10),
        "LOGIN_LOCK_MINUTES": _positive_int("LOGIN_LOCK_MINUTES", 15),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted.
        "TRUSTED_PROXIES": _positive_int("TRUSTED_PROXIES", 0, minimum=0),
        "API_TOKEN_DAYS": int(os.environ.get("API_TOKEN_DAYS", "30")),
        "SCHEDULER_LEASE_SECONDS": int(os.environ.get("SCHEDULER_LEASE_SECONDS", "60")),
        "SCHEDULER_POLL_SECONDS": float(os.environ.get("SCHEDULER_POLL_SECONDS", "15")),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("PLATFORM_TIMEZONE", "Asia/Shanghai"),
        "BOOTSTRAP_SERVE_LOCAL": True,
        # Pages, CSS, JavaScript and SVG compressed (issue #19's page budget);
        # streamed answers (exports, downloads) are left as they are.
        "COMPRESS_STREAMS": False,
        "API_TITLE": "instrument-share",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
    settings.update(overrides)
    check_settings(settings)
    if "SECRET_KEY" not in settings:
        settings["SECRET_KEY"] = _secret_key(instance_path)
    return settings
