"""The mails of accounts: confirm an address, someone tried to register with
yours, your account was locked, reset your password, your password was
changed, join a firm or an institution. Each goes through the outbox in its
recipient's language, with an idempotency key that also bounds how often it
can be sent (an attacker cannot flood a mailbox through us).
"""
from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import formats
from ..mail.outbox import already_queued, compose, enqueue, mail_domain
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


def _window(now: datetime) -> int:
    return int(now.timestamp()) // (RESEND_MINUTES * 60)


def confirm_address(user, link: str, now: datetime) -> bool:
    """The link that verifies a new address; False when one was already
    queued in the last ten minutes (nothing is added then)."""
    with force_locale(user.language):
        return _queue("account_confirm", f"account:confirm:{user.id}:{_window(now)}", user,
                      _("Confirm your e-mail address for G60 Shared Instruments"),
                      "account_confirm", link=link)


def registration_attempted(owner, now: datetime) -> bool:
    """Someone registered with an address that has an account: its owner is
    told (at most once a day), the registrant learns nothing."""
    day = to_platform(now).date().isoformat()
    with force_locale(owner.language):
        return _queue("account_registration", f"account:registration-attempt:{owner.id}:{day}", owner,
                      _("Someone tried to register with your e-mail address"),
                      "account_registration_attempt", day=formats.day_with_weekday(now))


def account_locked(user, attempts: int, until: datetime, now: datetime) -> bool:
    """The owner learns why sign-in fails for a while (at most once a day)."""
    day = to_platform(now).date().isoformat()
    with force_locale(user.language):
        return _queue("account_locked", f"account:locked:{user.id}:{day}", user,
                      _("Your account was locked after failed sign-in attempts"),
                      "account_locked", attempts=attempts,
                      until=formats.date_time(until))


def password_reset(user, link: str, now: datetime, *, send: bool = True) -> bool:
    """The single-use link that sets a new password; at most one per ten
    minutes (an attacker cannot flood a mailbox through the reset form).
    With `send=False` (an address without an account) the mail is made the
    same way and thrown away: the answer takes as long either way."""
    with force_locale(user.language):
        subject = _("Reset your password on G60 Shared Instruments")
        if send:
            return _queue("account_password_reset", f"account:password-reset:{user.id}:{_window(now)}", user,
                          subject, "account_password_reset", link=link)
        text = render_template("mail/account_password_reset.txt", recipient=user, link=link)
        html = render_template("mail/account_password_reset.html", recipient=user, link=link)
        compose(recipient=user.email, subject=subject, text=text, html=html,
                message_id=make_msgid(domain=mail_domain()))
        already_queued(f"account:password-reset:0:{_window(now)}")
        return False


def password_changed(user, now: datetime) -> bool:
    """The owner learns that the password changed, in case it was not them."""
    with force_locale(user.language):
        return _queue("account_password_changed", f"account:password-changed:{user.id}:{now.timestamp()}", user,
                      _("Your password on G60 Shared Instruments was changed"),
                      "account_password_changed", reset_url=_platform_url("/password-reset"),
                      when=formats.date_time(now))


def invitation(invitation, organisation: str, link: str, days: int) -> bool:
    """The link that lets a colleague join, in the inviter's language (the
    invitee has none yet). One per invitation (keyed by its secret's hash: a deleted invitation's id may come again)."""
    inviter = invitation.invited_by
    with force_locale(inviter.language):
        message = enqueue(
            key=f"account:invitation:{invitation.token_hash[:24]}", kind="account_invitation", recipient=invitation.email,
            subject=_("%(name)s invites you to %(organisation)s on G60 Shared Instruments",
                      name=inviter.name, organisation=organisation),
            text=render_template("mail/account_invitation.txt", inviter=inviter, organisation=organisation,
                                 link=link, days=days, manager=invitation.role == "manager"),
            html=render_template("mail/account_invitation.html", inviter=inviter, organisation=organisation,
                                 link=link, days=days, manager=invitation.role == "manager"),
        )
    return message is not None
