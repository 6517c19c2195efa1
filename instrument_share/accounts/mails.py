"""The mails of accounts: confirm an address, someone tried to register with
yours, your account was locked. Each goes through the outbox in its
recipient's language, with an idempotency key that also bounds how often it
can be sent (an attacker cannot flood a mailbox through us).
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..mail.outbox import enqueue
from ..timeutil import to_platform

RESEND_MINUTES = 10  # at most one confirmation mail per address in this window


def _platform_url(path: str) -> str:
    return current_app.config["PLATFORM_URL"].rstrip("/") + path


def _queue(kind: str, key: str, user, subject: str, template: str, **context) -> bool:
    context.setdefault("login_url", _platform_url("/login"))
    message = enqueue(
        key=key, kind=kind, recipient=user.email, subject=subject,
        text=render_template(f"mail/{template}.txt", recipient=user, **context),
        html=render_template(f"mail/{template}.html", recipient=user, **context),
    )
    return message is not None


def confirm_address(user, link: str, now: datetime) -> bool:
    """The link that verifies a new address; False when one was already
    queued in the last ten minutes (nothing is added then)."""
    window = int(now.timestamp()) // (RESEND_MINUTES * 60)
    with force_locale(user.language):
        return _queue("account_confirm", f"account:confirm:{user.id}:{window}", user,
                      _("Confirm your e-mail address for G60 Shared Instruments"),
                      "account_confirm", link=link)


def registration_attempted(owner, now: datetime) -> bool:
    """Someone registered with an address that has an account: its owner is
    told (at most once a day), the registrant learns nothing."""
    day = to_platform(now).date().isoformat()
    with force_locale(owner.language):
        return _queue("account_registration", f"account:registration-attempt:{owner.id}:{day}", owner,
                      _("Someone tried to register with your e-mail address"),
                      "account_registration_attempt", day=day)


def account_locked(user, attempts: int, until: datetime, now: datetime) -> bool:
    """The owner learns why sign-in fails for a while (at most once a day)."""
    day = to_platform(now).date().isoformat()
    with force_locale(user.language):
        return _queue("account_locked", f"account:locked:{user.id}:{day}", user,
                      _("Your account was locked after failed sign-in attempts"),
                      "account_locked", attempts=attempts,
                      until=to_platform(until).strftime("%Y-%m-%d %H:%M"))
