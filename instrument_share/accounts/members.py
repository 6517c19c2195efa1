"""Members of a firm or an institution: invitations, joining, deactivation
(API.md "Firm colleagues"; issues #16 and #17).

An organisation's administrator (`User.org_admin`: a firm's first user, an
institution's first manager) invites a colleague by address. The mail
carries a random secret of which only the SHA-256 is stored; it works once,
for INVITATION_DAYS, and only while its sender is an active member.
Following it, the colleague gives a name and a password and becomes a
member with the organisation's role, their address confirmed by the link.
Inviting an address again replaces the earlier invitation (the old link
expires), but not within RESEND_MINUTES of the last one, which is returned
instead: no mailbox is flooded through us; an organisation sends at most
MAX_PER_DAY invitations a day. An administrator withdraws an open one.

Whether an address has an account elsewhere is not told to the inviter (an
invitation would otherwise probe who is registered): only the person who
follows the link learns that the address is taken. A deactivated member
invited again gets their account back with the new password.

Deactivating a member ends their sessions and tokens; their bookings and
history stay, with their name. Nobody deactivates themselves: an
organisation is never left without its administrator by mistake.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..database import begin_write_transaction
from ..errors import N_, Conflict, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..timeutil import utcnow
from . import mails, passwords
from .models import Firm, Institution, Invitation, Role, User
from .policy import (
    can_deactivate_member,
    can_manage_firm_members,
    can_manage_institution_staff,
    can_withdraw_invitation,
    is_joint_office,
)
from .services import create_user, end_sessions_and_tokens, lock_name, normalise_email

INVITATION_DAYS = 7
MAX_PER_DAY = 50  # invitations an organisation sends in 24 hours
RESEND_MINUTES = 10  # an address is mailed again no sooner
JOIN_PATH = "/join/"
INVITATION_INVALID = N_("This invitation is not valid: it has expired, has already been used, or the link "
                        "was not copied whole. Ask your colleague for a new one.")
ADDRESS_TAKEN = N_("This address already has an account on the platform. Sign in with it, or ask for an "
                   "invitation to another address.")
ALREADY_MEMBER = N_("This address already belongs to a member.")
NOT_YOURSELF = N_("You cannot deactivate your own account.")
TOO_MANY = N_("Your organisation has sent 50 invitations in the last 24 hours; try again tomorrow.")


@dataclass(frozen=True)
class Organisation:
    """A firm (its users) or an institution (its managers)."""

    role: str
    firm_id: int | None = None
    institution_id: int | None = None

    def members(self):
        anchor = User.firm_id == self.firm_id if self.role == Role.FIRM else User.institution_id == self.institution_id
        return sa.and_(anchor, User.role == self.role)

    def invitations(self):
        return sa.and_(Invitation.role == self.role, Invitation.firm_id == self.firm_id
                       if self.role == Role.FIRM else Invitation.institution_id == self.institution_id)

    def name(self, language: str = "zh_CN") -> str:
        if self.role == Role.FIRM:
            return db.session.get(Firm, self.firm_id).name
        institution = db.session.get(Institution, self.institution_id)
        return institution.name_en if language == "en" and institution.name_en else institution.name


def organisation_name(invitation: Invitation) -> str:
    return Organisation(invitation.role, invitation.firm_id, invitation.institution_id).name()


def firm_of(user: User) -> Organisation:
    if not can_manage_firm_members(user):
        raise PermissionDenied(N_("Only your firm's administrator manages its members."))
    return Organisation(Role.FIRM, firm_id=user.firm_id)


def institution_of(user: User) -> Organisation:
    if not can_manage_institution_staff(user):
        raise PermissionDenied(N_("Only your institution's administrator manages its managers."))
    return Organisation(Role.MANAGER, institution_id=user.institution_id)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(actor: User, organisation: Organisation, email: str, now: datetime | None = None) -> Invitation:
    """Mail `email` a link to join; replaces an open invitation of the address."""
    now = now or utcnow()
    email = normalise_email(email)
    begin_write_transaction()
    lock_name("invite", f"{organisation.role}:{organisation.firm_id or organisation.institution_id}")
    if db.session.scalar(sa.select(User.id).where(organisation.members(), User.email == email, User.active)):
        raise ValidationFailed(ALREADY_MEMBER, {"email": [ALREADY_MEMBER]})
    open_ones = sa.and_(organisation.invitations(), Invitation.email == email, Invitation.accepted_at.is_(None),
                        Invitation.expires_at > now)
    recent = db.session.scalar(sa.select(Invitation).where(
        open_ones, Invitation.created_at > now - timedelta(minutes=RESEND_MINUTES)))
    if recent is not None:
        return recent
    sent_today = db.session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(
        organisation.invitations(), Invitation.created_at > now - timedelta(days=1)))
    if sent_today >= MAX_PER_DAY:
        raise Conflict(TOO_MANY)
    db.session.execute(sa.update(Invitation).where(open_ones).values(expires_at=now)
                       .execution_options(synchronize_session=False))
    token = secrets.token_urlsafe(32)
    invitation = Invitation(email=email, role=organisation.role, firm_id=organisation.firm_id,
                            institution_id=organisation.institution_id, invited_by_id=actor.id,
                            token_hash=_hash(token), created_at=now,
                            expires_at=now + timedelta(days=INVITATION_DAYS))
    db.session.add(invitation)
    db.session.flush()
    link = current_app.config["PLATFORM_URL"].rstrip("/") + JOIN_PATH + token
    mails.invitation(invitation, organisation.name(actor.language), link, INVITATION_DAYS)
    return invitation


def _administers_some(actor: User, role: str) -> bool:
    """The actor administers an organisation of this kind (or is the joint
    office): only they hear whether an id exists (404), others get 403."""
    return is_joint_office(actor) or (actor.role == role and (
        can_manage_firm_members(actor) or can_manage_institution_staff(actor)))


def withdraw(actor: User, role: str, invitation_id: int, now: datetime | None = None) -> None:
    """An open invitation stops working: the administrator of its
    organisation, or the joint office (404 for any other open one)."""
    now = now or utcnow()
    if not _administers_some(actor, role):
        raise PermissionDenied(N_("Only the organisation's administrator withdraws its invitations."))
    begin_write_transaction()
    invitation = db.session.get(Invitation, invitation_id, with_for_update=True)
    if (invitation is None or invitation.role != role or invitation.accepted_at is not None
            or invitation.expires_at <= now or not can_withdraw_invitation(actor, invitation)):
        raise NotFound(N_("No such open invitation."))
    invitation.expires_at = now


def check_invitation(token: str, now: datetime | None = None) -> Invitation:
    """The open invitation of a link; ValidationFailed when it is unknown,
    used or expired. Reads only."""
    now = now or utcnow()
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == _hash(token or "")))
    if (invitation is None or invitation.accepted_at is not None or invitation.expires_at <= now
            or not invitation.invited_by.active):  # a deactivated member's invitations die with them
        raise ValidationFailed(INVITATION_INVALID, {"token": [INVITATION_INVALID]})
    return invitation


def accept_invitation(token: str, *, name: str, password: str, language: str = "zh_CN",
                      now: datetime | None = None) -> User:
    """Join with an invitation: a new member, or a deactivated one back."""
    now = now or utcnow()
    errors = {}
    if not (name or "").strip() or len(name.strip()) > 100:
        errors["name"] = [N_("Give your name.")]
    if weak := passwords.weakness(password):
        errors["password"] = [weak]
    if errors:
        raise ValidationFailed(N_("The invitation could not be accepted."), errors)
    invitation = check_invitation(token, now)
    password_hash = passwords.hash_password(password)  # before the write lock
    begin_write_transaction()
    taken = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # another request followed the link first
        raise ValidationFailed(INVITATION_INVALID, {"token": [INVITATION_INVALID]})
    lock_name("email", invitation.email)
    organisation = Organisation(invitation.role, invitation.firm_id, invitation.institution_id)
    existing = db.session.scalar(sa.select(User).where(User.email == invitation.email))
    if existing is None:
        return create_user(email=invitation.email, password="", password_hash=password_hash,
                           name=name.strip(), role=invitation.role, firm=invitation.firm,
                           institution_id=invitation.institution_id, language=language)
    back = db.session.scalar(sa.select(User).where(User.id == existing.id, organisation.members(),
                                                   sa.not_(User.active)))
    if back is None:
        raise ValidationFailed(ADDRESS_TAKEN, {"email": [ADDRESS_TAKEN]})
    back.active, back.name, back.password_hash, back.language = True, name.strip(), password_hash, language
    back.email_verified_at = back.email_verified_at or now
    back.failed_logins, back.login_locked_until = 0, None
    back.feed_nonce = secrets.token_hex(16)  # the old calendar feed address stays dead
    back.deactivated_at = back.deactivated_by_id = None
    return back


def members(organisation: Organisation) -> list[User]:
    """Every member, active first, then by name."""
    return list(db.session.scalars(sa.select(User).where(organisation.members())
                                   .order_by(User.active.desc(), User.name, User.id)))


def open_invitations(organisation: Organisation, now: datetime | None = None) -> list[Invitation]:
    now = now or utcnow()
    return list(db.session.scalars(sa.select(Invitation).where(
        organisation.invitations(), Invitation.accepted_at.is_(None), Invitation.expires_at > now)
        .order_by(Invitation.created_at.desc())))


def deactivate(actor: User, role: str, user_id: int) -> User:
    """A member (of `role`: a firm user or a manager) can no longer sign in;
    every session and token ends, and the invitations they sent die. Who
    administers no organisation of that kind is refused (403) whatever the
    id; for an administrator an unknown id, or a member of another
    organisation, is not found (404). Decided under the lock, on both rows
    as they are then: of two administrators deactivating each other, the
    second finds that they no longer may."""
    if not _administers_some(actor, role):
        raise PermissionDenied(N_("Only the administrator of the member's firm or institution deactivates them."))
    begin_write_transaction()
    locked = {user.id: user for user in db.session.scalars(
        sa.select(User).where(User.id.in_({actor.id, user_id})).order_by(User.id)
        .with_for_update().execution_options(populate_existing=True))}
    member = locked.get(user_id)
    if not locked[actor.id].active:
        raise PermissionDenied(N_("Only the administrator of the member's firm or institution deactivates them."))
    if member is None or member.role != role or not can_deactivate_member(locked[actor.id], member):
        raise NotFound(N_("No such member."))
    if member.id == actor.id:
        raise Conflict(NOT_YOURSELF)
    db.session.execute(sa.update(User).where(User.id == member.id)
                       .values(active=False, org_admin=False, deactivated_at=utcnow(), deactivated_by_id=actor.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(sa.update(Invitation).where(Invitation.invited_by_id == member.id,
                                                   Invitation.accepted_at.is_(None), Invitation.expires_at > utcnow())
                       .values(expires_at=utcnow()).execution_options(synchronize_session=False))
    end_sessions_and_tokens(member.id)
    db.session.refresh(member)
    return member
