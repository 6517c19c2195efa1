"""Who may do what: the rules about a user's role and anchor.

Every rule of the policy layer is a function of the user (and the thing
asked about) that is true when the user may. Services call it and raise
when it says no; views and templates call the same function to decide what
to show (`can.<rule>` in templates, without the `can_` prefix). Each domain
keeps its rules in its own `policy.py`; this one holds those every domain
asks about.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..errors import N_, PermissionDenied
from ..extensions import db
from .models import Institution, Role, User

# Roles that book instruments; city bureaus fund, they do not book.
BOOKING_ROLES = (Role.FIRM, Role.MANAGER, Role.ADMIN)


def is_joint_office(user: User) -> bool:
    """The corridor's joint office (role admin) may do everything."""
    return user.role == Role.ADMIN


def can_manage_institution(user: User, institution_id: int | None) -> bool:
    """Run an institution's instruments, bookings and claims: its own
    managers, and the joint office."""
    return is_joint_office(user) or (
        user.role == Role.MANAGER and institution_id is not None and user.institution_id == institution_id)


def can_manage_firm_members(user: User) -> bool:
    """Invite colleagues to the user's firm and deactivate its members: the
    firm's administrator (its first user, API.md "Firm colleagues"), once
    their own address is confirmed (a fresh self-registration cannot send
    mail to strangers in the platform's name)."""
    return user.role == Role.FIRM and user.org_admin and user.email_verified_at is not None


def can_manage_institution_staff(user: User) -> bool:
    """Invite managers to the user's institution and deactivate them: the
    institution's administrator (its first manager, or one the joint office
    made with `flask users create --org-admin`), address confirmed."""
    return user.role == Role.MANAGER and user.org_admin and user.email_verified_at is not None


def can_deactivate_member(user: User, member: User) -> bool:
    """Deactivate a member: the administrator of the member's firm or
    institution, and the joint office (whether the member is the
    administrator themselves is a refusal of its own, not a permission:
    accounts/members.py)."""
    if is_joint_office(user):
        return member.role in (Role.FIRM, Role.MANAGER)
    if member.role == Role.FIRM:
        return can_manage_firm_members(user) and member.firm_id == user.firm_id
    if member.role == Role.MANAGER:
        return can_manage_institution_staff(user) and member.institution_id == user.institution_id
    return False


def can_withdraw_invitation(user: User, invitation) -> bool:
    """Withdraw an open invitation: the administrator of the organisation it
    invites to, and the joint office."""
    if is_joint_office(user):
        return True
    if invitation.role == Role.FIRM:
        return can_manage_firm_members(user) and invitation.firm_id == user.firm_id
    return can_manage_institution_staff(user) and invitation.institution_id == user.institution_id


def can_book(user: User) -> bool:
    """Book instruments at all: firm users, managers and the joint office
    (whether this user may book now also depends on their address being
    confirmed and their booking not being suspended: booking.policy)."""
    return user.role in BOOKING_ROLES


def can_use_manager_desk(user: User) -> bool:
    """The manager desk (approvals, usage, suspensions, the audit trail):
    managers for their institution, the joint office for any."""
    return user.role in (Role.MANAGER, Role.ADMIN)


def can_see_statistics(user: User) -> bool:
    """The statistics: managers (their institution), city bureaus (their
    city) and the joint office (the corridor); firms see their own bookings."""
    return user.role in (Role.MANAGER, Role.CITY_ADMIN, Role.ADMIN)


def can_issue_vouchers(user: User) -> bool:
    """Grant innovation vouchers at all: city bureaus (to firms of their
    city: vouchers.policy.can_issue_voucher) and the joint office."""
    return user.role in (Role.CITY_ADMIN, Role.ADMIN)


def can_see_outbox(user: User) -> bool:
    """The mail outbox and its dead letters: the joint office only."""
    return is_joint_office(user)


@dataclass(frozen=True)
class Scope:
    """What a user may see: one institution, one city (as provider), or all."""

    institution_id: int | None = None
    city: str | None = None

    @property
    def label(self) -> str:
        return f"institution {self.institution_id}" if self.institution_id else self.city or "corridor"


def stats_scope(user: User, institution_id: int | None = None, city: str | None = None) -> Scope:
    """The figures a user may see, narrowed to what they asked for: the
    joint office anything, a manager their institution, a city bureau its
    city (or one institution of it); asking for another scope is refused
    (403), and so is a role without statistics."""
    if not can_see_statistics(user):
        raise PermissionDenied(N_("Your role has no statistics."))
    if user.role == Role.ADMIN:
        return Scope(institution_id=institution_id, city=city)
    if user.role == Role.MANAGER:
        if (institution_id not in (None, user.institution_id)) or city is not None:
            raise PermissionDenied(N_("Managers see the figures of their own institution only."))
        return Scope(institution_id=user.institution_id)
    institution_city = (
        db.session.scalar(sa.select(Institution.city_code).where(Institution.id == institution_id))
        if institution_id is not None else user.city_code
    )
    if city not in (None, user.city_code) or institution_city != user.city_code:
        raise PermissionDenied(N_("City bureaus see the figures of their own city only."))
    return Scope(institution_id=institution_id, city=user.city_code)
