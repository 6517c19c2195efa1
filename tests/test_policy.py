"""The policy layer (issue #14): every rule, allowing and refusing.

One table names each `can_*` rule of every domain's policy.py with the
roles it lets through for one fixture world; a new rule fails
`test_every_rule_is_in_the_table` until it has its row. And the two places
that disagreed before the layer existed now follow one rule each.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from instrument_share.accounts.models import Invitation, User
from instrument_share.booking.models import Booking, BookingStatus
from instrument_share.extensions import db
from instrument_share.orders.models import Order
from instrument_share.site import policy_rules
from instrument_share.timeutil import utcnow
from instrument_share.vouchers.models import Voucher, VoucherClaim

from .booking.conftest import at

ROLES = ("firm", "colleague", "other_firm", "manager", "other_manager", "city_admin", "other_city_admin",
         "admin")

# rule -> (what it is asked about, the roles it allows). "-" : no object.
TABLE = {
    "manage_institution": ("institution", {"manager", "admin"}),
    "book": ("-", {"firm", "colleague", "other_firm", "manager", "other_manager", "admin"}),
    "use_manager_desk": ("-", {"manager", "other_manager", "admin"}),
    "see_statistics": ("-", {"manager", "other_manager", "city_admin", "other_city_admin", "admin"}),
    "issue_vouchers": ("-", {"city_admin", "other_city_admin", "admin"}),
    "see_outbox": ("-", {"admin"}),
    "joint_office": ("-", {"admin"}),
    "manage_instrument": ("instrument", {"manager", "admin"}),
    "publish_instrument": ("institution", {"manager", "admin"}),
    "change_booking": ("booking", {"firm", "manager", "admin"}),
    "decide_booking": ("booking", {"manager", "admin"}),
    "view_booking": ("booking", {"firm", "colleague", "manager", "admin"}),
    "rate_booking": ("booking", {"firm", "colleague"}),
    "lift_suspension": ("booker", {"manager", "admin"}),
    "issue_voucher": ("firm_a", {"city_admin", "admin"}),
    "revoke_voucher": ("voucher", {"city_admin", "admin"}),
    "see_voucher": ("voucher", {"firm", "colleague", "city_admin", "admin"}),
    "spend_voucher": ("voucher+instrument", {"firm", "colleague"}),
    "see_claims": ("-", {"manager", "other_manager", "city_admin", "other_city_admin", "admin"}),
    "file_own_claim": ("-", {"manager", "other_manager"}),
    "file_claim": ("institution", {"manager", "admin"}),
    "review_claim": ("claim", {"city_admin", "admin"}),
    "see_claim": ("claim", {"manager", "city_admin", "admin"}),
    "see_flows": ("-", {"manager", "other_manager", "city_admin", "other_city_admin", "admin"}),
    # The first member of each firm and institution administers it.
    "manage_firm_members": ("-", {"firm", "other_firm"}),
    "manage_institution_staff": ("-", {"manager", "other_manager"}),
    "deactivate_member": ("member", {"firm", "admin"}),
    "withdraw_invitation": ("invitation", {"firm", "admin"}),
    "get_statement": ("-", {"firm", "colleague", "other_firm"}),
    "order": ("-", {"firm", "colleague", "other_firm"}),
    "view_order": ("order", {"firm", "colleague", "manager", "city_admin", "admin"}),
    "handle_order": ("order", {"manager", "admin"}),
    "act_for_firm": ("order", {"firm", "colleague"}),
    "get_report": ("order", {"firm", "colleague", "manager", "admin"}),
}


@pytest.fixture
def world(make, app_context):
    manager = make.user(role="manager")
    institution_id = manager.institution_id
    firm_user = make.user()  # a firm of Jinhua
    people = {
        "firm": firm_user,
        "colleague": make.user(firm=firm_user.firm),
        "other_firm": make.user(),
        "manager": manager,
        "other_manager": make.user(role="manager"),
        "city_admin": make.user(role="city_admin", city_code="jinhua"),
        "other_city_admin": make.user(role="city_admin", city_code="hefei"),
        "admin": make.user(role="admin"),
    }
    instrument = make.instrument(institution_id=institution_id)
    start = at(date.today() + timedelta(days=10), "10:00")
    booking = Booking(instrument=instrument, user=firm_user, firm_id=firm_user.firm_id, start=start,
                      end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                      status=BookingStatus.NO_SHOW, purpose="x", cost=0, firm_pays=0)
    voucher = Voucher(firm=firm_user.firm, issuing_city="jinhua", amount=Decimal("100.00"),
                      balance=Decimal("100.00"), expires_on=date.today() + timedelta(days=30), max_share_bp=5000)
    claim = VoucherClaim(institution_id=institution_id, issuing_city="jinhua", period_from=date.today(),
                         period_to=date.today())
    invitation = Invitation(email="invitee@test.example", role="firm", firm_id=firm_user.firm_id,
                            invited_by_id=firm_user.id, token_hash="0" * 64,
                            expires_at=utcnow() + timedelta(days=7))
    order = Order(number="WT-2026-000001", instrument_id=instrument.id, institution_id=institution_id,
                  firm_id=firm_user.firm_id, user_id=firm_user.id, title="x", requirements="", status="submitted")
    db.session.add_all([booking, voucher, claim, invitation, order])
    db.session.commit()
    return {"people": people, "institution": institution_id, "instrument": instrument, "booking": booking,
            "booker": firm_user, "member": people["colleague"], "invitation": invitation, "order": order,
            "firm_a": firm_user.firm, "voucher": voucher, "claim": claim}


def test_every_rule_is_in_the_table(app):
    with app.app_context():
        rules = set(vars(policy_rules()))
    assert rules == set(TABLE), f"rules without a row: {rules - set(TABLE)}; rows without a rule: {set(TABLE) - rules}"


def test_every_rule_says_what_it_allows(app):
    with app.app_context():
        rules = vars(policy_rules())
    undocumented = [name for name, rule in rules.items() if not (rule.__doc__ or "").strip()]
    assert undocumented == []


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_rule_allows_exactly_its_roles_and_refuses_the_rest(app, world, name):
    rule = getattr(policy_rules(), name)
    subject, allowed = TABLE[name]
    args = {"-": (), "voucher+instrument": (world["voucher"], world["instrument"])}.get(subject, (world.get(subject),))
    answers = {role for role in ROLES if rule(db.session.get(User, world["people"][role].id), *args)}
    assert answers == allowed
    assert set(ROLES) - allowed, "a rule that refuses nobody is no rule"


def test_a_related_party_voucher_is_not_offered_on_the_booking_form(api, browser, make, app_context):
    """The form offered vouchers by its own rule, without the related-party
    rule the booking service applies; now both ask `can_spend_voucher`."""
    manager = make.user(role="manager")
    firm_user = make.user(email="staff-and-firm@test.example")
    colleague_at_institution = make.user(role="firm", firm=firm_user.firm)
    db.session.execute(sa.update(User).where(User.id == colleague_at_institution.id)
                       .values(institution_id=manager.institution_id))  # a related party
    own_institution = make.instrument(institution_id=manager.institution_id, accepts_vouchers=True)
    elsewhere = make.instrument(accepts_vouchers=True)
    voucher = Voucher(firm=firm_user.firm, issuing_city="jinhua", amount=Decimal("100.00"), balance=Decimal("100.00"),
                      expires_on=date.today() + timedelta(days=30), max_share_bp=5000)
    db.session.add(voucher)
    db.session.commit()
    browser.login("staff-and-firm@test.example")
    offered = f'<option value="{voucher.id}"'
    assert offered in browser.client.get(f"/instruments/{elsewhere.id}").get_data(as_text=True)
    assert offered not in browser.client.get(f"/instruments/{own_institution.id}").get_data(as_text=True)


def test_a_manager_sees_the_flows_into_the_institution_as_the_api_serves_them(api, browser, make, app_context):
    """The dashboard hid the flow matrix from managers while
    /api/v1/stats/flows served it to them: one rule now (`can_see_flows`)."""
    manager = make.user(role="manager", email="desk@test.example")
    period = f"from={date.today() - timedelta(days=30)}&to={date.today() - timedelta(days=1)}"
    assert api.as_user(manager).get(f"/api/v1/stats/flows?{period}").status_code == 200
    browser.login("desk@test.example")
    page = browser.client.get("/stats/").get_data(as_text=True)
    assert "/api/v1/stats/flows?" in page  # the flow matrix and its exports
