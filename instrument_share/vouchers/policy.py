"""Who may do what with innovation vouchers and their claims (see
accounts/policy.py for the layer)."""
from __future__ import annotations

import sqlalchemy as sa

from ..accounts.models import Firm, Role, User
from ..accounts.policy import can_manage_institution, is_joint_office
from ..catalogue.models import Instrument
from ..extensions import db
from .models import Voucher, VoucherClaim


def can_issue_voucher(user: User, firm: Firm) -> bool:
    """Grant a firm a voucher: the bureau of the firm's own city, and the joint office."""
    return is_joint_office(user) or (user.role == Role.CITY_ADMIN and user.city_code == firm.city_code)


def can_revoke_voucher(user: User, voucher: Voucher) -> bool:
    """Withdraw what is left of a voucher: its issuing city's bureau and the joint office."""
    return is_joint_office(user) or (user.role == Role.CITY_ADMIN and user.city_code == voucher.issuing_city)


def can_see_voucher(user: User, voucher: Voucher) -> bool:
    """See a voucher and its movements: the holding firm's users, whoever
    may revoke it. Anybody else is told it does not exist (404)."""
    return can_revoke_voucher(user, voucher) or (user.firm_id is not None and user.firm_id == voucher.firm_id)


def is_related_party(firm_id: int, institution_id: int) -> bool:
    """A firm with a user who is also staff of the institution."""
    return bool(db.session.scalar(
        sa.select(sa.func.count(User.id)).where(User.firm_id == firm_id, User.institution_id == institution_id)
    ))


def can_spend_voucher(user: User, voucher: Voucher, instrument: Instrument) -> bool:
    """Pay part of a fee on this instrument with this voucher: a user of the
    holding firm, at an instrument that accepts vouchers, never at an
    institution the firm is a related party of (whether the voucher still
    has money and time left is the ledger's business: vouchers.services)."""
    return (user.firm_id is not None and user.firm_id == voucher.firm_id and instrument.accepts_vouchers
            and not is_related_party(voucher.firm_id, instrument.institution_id))


def can_see_claims(user: User) -> bool:
    """The settlement claims section: institutions' managers (their claims),
    city bureaus (claims on their city's vouchers) and the joint office."""
    return user.role in (Role.MANAGER, Role.CITY_ADMIN, Role.ADMIN)


def can_file_own_claim(user: User) -> bool:
    """File a claim from the vouchers page: an institution's managers, for
    their own institution (the joint office files for one through the API)."""
    return user.role == Role.MANAGER


def can_file_claim(user: User, institution_id: int | None) -> bool:
    """Claim captured voucher money (兑付申请) for an institution: its managers
    on the web and the API, the joint office through the API (filing is the
    institution's act, so the page offers it to managers alone)."""
    return institution_id is not None and can_manage_institution(user, institution_id)


def can_review_claim(user: User, claim: VoucherClaim) -> bool:
    """Decide a claim's lines and record its payment: the issuing city's bureau and the joint office."""
    return is_joint_office(user) or (user.role == Role.CITY_ADMIN and user.city_code == claim.issuing_city)


def can_see_claim(user: User, claim: VoucherClaim) -> bool:
    """See a claim: the claiming institution's managers and whoever reviews it."""
    return can_review_claim(user, claim) or (
        user.role == Role.MANAGER and user.institution_id == claim.institution_id)
