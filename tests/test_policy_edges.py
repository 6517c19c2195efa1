"""Edges of the policy layer that mutation testing found untested (issue
#21, `make mutation`): an administrator whose address is not confirmed,
deactivating and inviting across organisations and roles, the refusals that
say why someone may not book, approval, lifting a suspension, and the
statistics each role may ask for. The rules are asked directly, as views
and services ask them, about users made by the real services."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from instrument_share.accounts.models import Invitation
from instrument_share.accounts.policy import (
    Scope,
    can_deactivate_member,
    can_manage_firm_members,
    can_manage_institution,
    can_manage_institution_staff,
    can_withdraw_invitation,
    stats_scope,
)
from instrument_share.booking.models import Booking, BookingStatus
from instrument_share.booking.policy import (
    booking_refusal,
    can_lift_suspension,
    can_rate_booking,
    needs_approval,
)
from instrument_share.errors import PermissionDenied
from instrument_share.extensions import db
from instrument_share.orders.policy import can_view_order
from instrument_share.timeutil import utcnow
from instrument_share.vouchers.policy import can_file_claim, can_spend_voucher

from .booking.conftest import at


def test_an_administrator_manages_members_once_their_address_is_confirmed(make):
    firm_admin = make.user()
    staff_admin = make.user(role="manager")
    assert can_manage_firm_members(firm_admin) and can_manage_institution_staff(staff_admin)
    for user in (firm_admin, staff_admin):
        user.email_verified_at = None
    assert not can_manage_firm_members(firm_admin)
    assert not can_manage_institution_staff(staff_admin)
    colleague = make.user(firm=firm_admin.firm)
    assert not can_deactivate_member(firm_admin, colleague)


def test_who_deactivates_which_member(make):
    firm_admin = make.user()
    colleague = make.user(firm=firm_admin.firm)
    stranger = make.user()
    staff_admin = make.user(role="manager")
    fellow_manager = make.user(role="manager", institution_id=staff_admin.institution_id)
    other_manager = make.user(role="manager")
    bureau, admin = make.user(role="city_admin"), make.user(role="admin")
    assert can_deactivate_member(firm_admin, colleague) and not can_deactivate_member(firm_admin, stranger)
    assert not can_deactivate_member(firm_admin, fellow_manager)
    assert can_deactivate_member(staff_admin, fellow_manager) and not can_deactivate_member(staff_admin, other_manager)
    assert not can_deactivate_member(staff_admin, colleague)
    assert not can_deactivate_member(colleague, firm_admin)  # not its administrator
    assert [can_deactivate_member(admin, member) for member in (colleague, fellow_manager, bureau, admin)] == [
        True, True, False, False]
    assert not can_deactivate_member(firm_admin, bureau) and not can_deactivate_member(staff_admin, admin)


def test_who_withdraws_an_invitation_to_an_institution(make):
    staff_admin = make.user(role="manager")
    fellow_manager = make.user(role="manager", institution_id=staff_admin.institution_id, org_admin=False)
    other_admin = make.user(role="manager")
    firm_admin = make.user()
    invitation = Invitation(email="new@inst.example", role="manager", institution_id=staff_admin.institution_id,
                            invited_by_id=staff_admin.id, token_hash="1" * 64, expires_at=utcnow() + timedelta(days=7))
    db.session.add(invitation)
    db.session.commit()
    assert can_withdraw_invitation(staff_admin, invitation)
    assert not can_withdraw_invitation(fellow_manager, invitation)
    assert not can_withdraw_invitation(other_admin, invitation)
    assert not can_withdraw_invitation(firm_admin, invitation)
    assert can_withdraw_invitation(make.user(role="admin"), invitation)


def test_each_reason_not_to_book_is_said(make):
    firm_user = make.user()
    assert booking_refusal(firm_user) is None
    assert booking_refusal(make.user(role="city_admin")) == "Your role may not book instruments."
    firm_user.booking_suspended_at = utcnow()
    assert booking_refusal(firm_user) == (
        "Booking is suspended after repeated no-shows; ask an instrument manager to lift it.")
    firm_user.email_verified_at = None  # the address first
    assert booking_refusal(firm_user) == (
        "Confirm your e-mail address before booking: open the link in the mail we sent you, "
        "or have it sent again from your profile page.")


def test_a_booking_waits_for_approval_unless_its_manager_books(make):
    manager = make.user(role="manager")
    strict = make.instrument(institution_id=manager.institution_id, requires_approval=True)
    open_ = make.instrument(institution_id=manager.institution_id, requires_approval=False)
    firm_user, other_manager = make.user(), make.user(role="manager")
    assert needs_approval(firm_user, strict) and needs_approval(other_manager, strict)
    assert not needs_approval(manager, strict) and not needs_approval(make.user(role="admin"), strict)
    assert not needs_approval(firm_user, open_)


def _booking(instrument, user, status, days=-3):
    start = at(date.today() + timedelta(days=days), "10:00")
    booking = Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start,
                      end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                      status=status, purpose="x", cost=0, firm_pays=0)
    db.session.add(booking)
    db.session.commit()
    return booking


def test_a_suspension_is_lifted_where_the_booker_failed_to_show(make):
    manager, other_manager = make.user(role="manager"), make.user(role="manager")
    here = make.instrument(institution_id=manager.institution_id)
    there = make.instrument(institution_id=other_manager.institution_id)
    booker = make.user()
    _booking(there, booker, BookingStatus.COMPLETED)
    _booking(here, booker, BookingStatus.CANCELLED)
    assert not can_lift_suspension(manager, booker) and not can_lift_suspension(other_manager, booker)
    _booking(here, booker, BookingStatus.NO_SHOW)
    assert can_lift_suspension(manager, booker) and not can_lift_suspension(other_manager, booker)
    assert not can_lift_suspension(make.user(role="manager"), booker)
    assert can_lift_suspension(make.user(role="admin"), booker)
    assert not can_lift_suspension(make.user(role="city_admin"), booker)
    assert not can_lift_suspension(make.user(firm=booker.firm), booker)
    other_booker = make.user()
    _booking(here, other_booker, BookingStatus.COMPLETED)
    assert not can_lift_suspension(manager, other_booker)


def test_a_booking_is_rated_by_its_booker_and_firm_only(make):
    instrument = make.instrument()
    booker = make.user()
    booking = _booking(instrument, booker, BookingStatus.COMPLETED)
    assert can_rate_booking(booker, booking) and can_rate_booking(make.user(firm=booker.firm), booking)
    assert not can_rate_booking(make.user(), booking)
    assert not can_rate_booking(make.user(role="manager", institution_id=instrument.institution_id), booking)


def test_nobodys_institution_is_managed_and_claimed_for(make):
    manager = make.user(role="manager")
    assert can_manage_institution(manager, manager.institution_id)
    assert not can_manage_institution(manager, None) and not can_file_claim(manager, None)
    assert not can_file_claim(make.user(role="admin"), None)
    assert can_file_claim(make.user(role="admin"), manager.institution_id)


def test_a_bureau_sees_the_orders_of_its_citys_firms(make):
    from instrument_share.orders.models import Order

    firm_user = make.user()  # a firm of Jinhua
    instrument = make.instrument()
    order = Order(number="WT-2026-000009", instrument_id=instrument.id, institution_id=instrument.institution_id,
                  firm_id=firm_user.firm_id, user_id=firm_user.id, title="x", requirements="", status="submitted")
    db.session.add(order)
    db.session.commit()
    assert can_view_order(make.user(role="city_admin", city_code="jinhua"), order)
    assert not can_view_order(make.user(role="city_admin", city_code="hefei"), order)
    assert not can_view_order(make.user(role="manager"), order)


def test_a_voucher_is_spent_only_where_the_firm_has_nobody_on_the_staff(make):
    from decimal import Decimal

    from instrument_share.vouchers.models import Voucher

    firm_user = make.user()
    instrument = make.instrument(accepts_vouchers=True)
    voucher = Voucher(firm=firm_user.firm, issuing_city="jinhua", amount=Decimal("10.00"), balance=Decimal("10.00"),
                      expires_on=date.today() + timedelta(days=30), max_share_bp=5000)
    db.session.add(voucher)
    db.session.commit()
    assert can_spend_voucher(firm_user, voucher, instrument)
    make.user(role="manager", institution_id=make.institution().id, firm=None)  # staff elsewhere
    make.user(firm=make.firm(), institution_id=instrument.institution_id)  # another firm's staff member
    assert can_spend_voucher(firm_user, voucher, instrument)
    make.user(firm=firm_user.firm, institution_id=instrument.institution_id)
    assert not can_spend_voucher(firm_user, voucher, instrument)


# --- statistics ------------------------------------------------------------------

def refused(user, **asked) -> str:
    with pytest.raises(PermissionDenied) as refusal:
        stats_scope(user, **asked)
    return refusal.value.message


def test_each_role_sees_the_statistics_it_may(make):
    manager = make.user(role="manager")
    other_institution = make.institution(city_code="hangzhou")
    in_jinhua = make.institution(city_code="jinhua")
    bureau, admin = make.user(role="city_admin", city_code="jinhua"), make.user(role="admin")
    assert stats_scope(admin) == Scope()
    assert stats_scope(admin, institution_id=7, city="hefei") == Scope(institution_id=7, city="hefei")
    assert stats_scope(manager) == stats_scope(manager, institution_id=manager.institution_id) == Scope(
        institution_id=manager.institution_id)
    managers_only = "Managers see the figures of their own institution only."
    assert refused(manager, institution_id=other_institution.id) == managers_only
    assert refused(manager, city="hangzhou") == managers_only
    assert stats_scope(bureau) == stats_scope(bureau, city="jinhua") == Scope(city="jinhua")
    assert stats_scope(bureau, institution_id=in_jinhua.id) == Scope(institution_id=in_jinhua.id, city="jinhua")
    bureaus_only = "City bureaus see the figures of their own city only."
    assert refused(bureau, city="hangzhou") == bureaus_only
    assert refused(bureau, institution_id=other_institution.id) == bureaus_only
    assert refused(bureau, institution_id=999_999) == bureaus_only
    assert refused(make.user()) == "Your role has no statistics."


def test_a_scope_names_itself(app_context):
    assert [Scope(institution_id=3).label, Scope(city="jinhua").label, Scope().label,
            Scope(institution_id=3, city="jinhua").label] == ["institution 3", "jinhua", "corridor", "institution 3"]
