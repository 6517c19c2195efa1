"""Who may do what with orders of entrusted testing."""
from __future__ import annotations

from ..accounts.models import Role, User
from ..accounts.policy import can_manage_institution, is_joint_office


def can_order(user: User) -> bool:
    """Send samples for testing: a firm's users."""
    return user.role == Role.FIRM


def can_handle_order(user: User, order) -> bool:
    """Quote, decline, receive samples, upload the report: the institution's
    managers and the joint office."""
    return can_manage_institution(user, order.institution_id)


def can_act_for_firm(user: User, order) -> bool:
    """Accept or reject the quote, withdraw, rate: the ordering firm's users."""
    return user.firm_id is not None and user.firm_id == order.firm_id


def can_view_order(user: User, order) -> bool:
    """See an order: the firm, the institution's managers, the joint office,
    and (read-only) the bureau of the firm's city. Anyone else: 404."""
    return (can_act_for_firm(user, order) or can_handle_order(user, order) or is_joint_office(user)
            or (user.role == Role.CITY_ADMIN and user.city_code == order.firm.city_code))


def can_get_report(user: User, order) -> bool:
    """Download the report: the ordering firm, the institution's managers and
    the joint office (a city bureau sees the order, not its results)."""
    return can_act_for_firm(user, order) or can_handle_order(user, order)
