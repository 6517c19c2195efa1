"""Edges of the voucher ledger that mutation testing found untested (issue
#21, `make mutation`): the bounds of an amount and a share, the words of
each refusal, granting by USCC and from a file (its header, its line
numbers, the cap on lines reported), who sees which vouchers, the last day
a voucher may be spent, and the ledger rows of a revocation. Through the
services and the API, on both engines."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from instrument_share.booking.models import Booking
from instrument_share.booking.usage import record_usage
from instrument_share.errors import NotFound, PermissionDenied, ValidationFailed
from instrument_share.extensions import db
from instrument_share.timeutil import platform_today
from instrument_share.vouchers import services
from instrument_share.vouchers.models import Voucher, VoucherEntry

from ..booking.conftest import iso

NEXT_YEAR = date.today() + timedelta(days=365)
ISSUED = "The voucher could not be issued."
AMOUNT = "An amount from 0.01 to 10,000,000.00 yuan, to the fen."
SHARE = "A share above 0 and at most 1, e.g. 0.5."
NUMBER = "Give a number."
PAST = "The expiry date must not be in the past."
NOTHING = "Nothing was granted."
UNKNOWN = "Unknown Unified Social Credit Code, or no amount."
OWN_CITY = "A city bureau issues vouchers to firms of its own city only."
NOT_USABLE = "Voucher not usable."
EXPIRED = "This voucher has expired or was revoked."


@pytest.fixture
def bureau(make):
    return make.user(role="city_admin", city_code="jinhua")


def refusal(call, *args, **kw) -> tuple:
    """What a refused service call says: its kind, message and fields."""
    with pytest.raises((ValidationFailed, PermissionDenied, NotFound)) as refused:
        call(*args, **kw)
    db.session.rollback()
    return type(refused.value).__name__, refused.value.message, refused.value.fields


def issue(user, firm_id, amount="100.00", expires_on=NEXT_YEAR, share="0.5", **kw) -> Voucher:
    voucher = services.issue_voucher(user, firm_id, amount, expires_on, share, **kw)
    db.session.commit()
    return voucher


def ledger(voucher_id: int) -> list[tuple]:
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(
        sa.select(VoucherEntry.kind, VoucherEntry.delta, VoucherEntry.amount, VoucherEntry.actor_id,
                  VoucherEntry.booking_id).where(VoucherEntry.voucher_id == voucher_id).order_by(VoucherEntry.id))]


def count_vouchers() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Voucher.id)))


# --- issuing one voucher -----------------------------------------------------

@pytest.mark.parametrize(("amount", "stored"), [
    ("0.01", "0.01"), ("10000000.00", "10000000.00"), ("10000000", "10000000.00"), (5, "5.00"), ("1E+1", "10.00"),
])
def test_the_smallest_and_the_largest_amounts_are_granted(make, bureau, app_context, amount, stored):
    firm_user = make.user()
    voucher = issue(bureau, firm_user.firm_id, amount)
    assert (voucher.amount, voucher.balance) == (Decimal(stored), Decimal(stored))
    assert ledger(voucher.id) == [("grant", Decimal(stored), Decimal(stored), bureau.id, None)]
    assert (voucher.created_by_id, voucher.issuing_city, voucher.firm_id) == (bureau.id, "jinhua", firm_user.firm_id)


@pytest.mark.parametrize(("amount", "message"), [
    ("0.00", AMOUNT), ("0.009", AMOUNT), ("10000000.01", AMOUNT), ("-1", AMOUNT), ("1.001", AMOUNT),
    ("lots", NUMBER), ("Infinity", NUMBER), ("-inf", NUMBER), ("NaN", NUMBER), (None, NUMBER), ("", NUMBER),
])
def test_amounts_out_of_bounds_are_refused_with_the_reason(make, bureau, app_context, amount, message):
    firm_user = make.user()
    assert refusal(services.issue_voucher, bureau, firm_user.firm_id, amount, NEXT_YEAR, "0.5") == (
        "ValidationFailed", ISSUED, {"amount": [message]})
    assert count_vouchers() == 0


@pytest.mark.parametrize(("share", "basis_points"), [("1", 10000), (1, 10000), ("0.0001", 1), ("0.5", 5000),
                                                     ("0.12345", None), ("0.00001", None)])
def test_a_share_is_above_nothing_at_most_the_whole_fee_in_basis_points(make, bureau, app_context, share,
                                                                        basis_points):
    firm_user = make.user()
    if basis_points is None:
        assert refusal(services.issue_voucher, bureau, firm_user.firm_id, "100", NEXT_YEAR, share) == (
            "ValidationFailed", ISSUED, {"max_share": [SHARE]})
        return
    voucher = issue(bureau, firm_user.firm_id, share=share)
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).max_share_bp == basis_points


@pytest.mark.parametrize(("share", "message"), [("0", SHARE), ("1.0001", SHARE), ("-0.5", SHARE), ("half", NUMBER),
                                                ("Infinity", NUMBER), (None, NUMBER)])
def test_shares_out_of_bounds_are_refused_with_the_reason(make, bureau, app_context, share, message):
    firm_user = make.user()
    assert refusal(services.issue_voucher, bureau, firm_user.firm_id, "100", NEXT_YEAR, share) == (
        "ValidationFailed", ISSUED, {"max_share": [message]})


def test_a_voucher_may_expire_today_but_not_yesterday(make, bureau, app_context):
    firm_user = make.user()
    today = platform_today()
    assert issue(bureau, firm_user.firm_id, expires_on=today).expires_on == today
    for expires_on in (today - timedelta(days=1), None):
        assert refusal(services.issue_voucher, bureau, firm_user.firm_id, "100", expires_on, "0.5") == (
            "ValidationFailed", ISSUED, {"expires_on": [PAST]})


def test_every_bad_field_is_named_at_once(make, bureau, app_context):
    firm_user = make.user()
    assert refusal(services.issue_voucher, bureau, firm_user.firm_id, "0", platform_today() - timedelta(days=1),
                   "2") == ("ValidationFailed", ISSUED, {"amount": [AMOUNT], "max_share": [SHARE],
                                                          "expires_on": [PAST]})
    assert refusal(services.issue_voucher, bureau, 999_999, "100", NEXT_YEAR, "0.5") == (
        "ValidationFailed", ISSUED, {"firm_id": ["No such firm."]})


def test_a_firm_is_found_by_its_uscc_written_any_way(make, bureau, app_context):
    firm_user = make.user()
    uscc = firm_user.firm.uscc
    voucher = issue(bureau, None, uscc=f"  {uscc.lower()} ")
    assert voucher.firm_id == firm_user.firm_id
    voucher = issue(bureau, "not an id", uscc=uscc)  # no id: the USCC names the firm
    assert voucher.firm_id == firm_user.firm_id
    for uscc in ("   ", None, "91330100MA0000000X"):
        assert refusal(services.issue_voucher, bureau, None, "100", NEXT_YEAR, "0.5", uscc=uscc) == (
            "ValidationFailed", ISSUED, {"firm_id": ["No such firm."]})


def test_who_is_refused_issuing_hears_why(make, bureau, app_context):
    firm_user = make.user()
    assert refusal(services.issue_voucher, firm_user, firm_user.firm_id, "100", NEXT_YEAR, "0.5") == (
        "PermissionDenied", "Only city bureaus and the joint office issue vouchers.", {})
    hefei_firm = make.firm(city_code="hefei")
    assert refusal(services.issue_voucher, bureau, hefei_firm.id, "100", NEXT_YEAR, "0.5") == (
        "PermissionDenied", OWN_CITY, {})
    admin = make.user(role="admin")
    assert issue(admin, hefei_firm.id).issuing_city == "hefei"  # the city of the firm, not of the issuer


# --- granting from a file ----------------------------------------------------

def grant(user, rows, expires_on=NEXT_YEAR, share="0.5") -> int:
    granted = services.issue_from_rows(user, rows, expires_on, share)
    db.session.commit()
    return granted


@pytest.mark.parametrize("header", ["uscc", " USCC ", "统一社会信用代码"])
def test_a_header_line_is_skipped_and_counted_in_the_line_numbers(make, bureau, app_context, header):
    first, second = make.firm(), make.firm()
    assert grant(bureau, [[header, "amount"], [first.uscc, " 100 "], [second.uscc.lower(), "250.5"]], share="0.25") == 2
    db.session.expire_all()
    vouchers = db.session.scalars(sa.select(Voucher).order_by(Voucher.id)).all()
    assert [(v.firm_id, v.amount, v.balance, v.max_share_bp, v.issuing_city, v.created_by_id, v.status, v.expires_on)
            for v in vouchers] == [
        (first.id, Decimal("100.00"), Decimal("100.00"), 2500, "jinhua", bureau.id, "active", NEXT_YEAR),
        (second.id, Decimal("250.50"), Decimal("250.50"), 2500, "jinhua", bureau.id, "active", NEXT_YEAR)]
    assert [ledger(v.id) for v in vouchers] == [[("grant", Decimal("100.00"), Decimal("100.00"), bureau.id, None)],
                                                [("grant", Decimal("250.50"), Decimal("250.50"), bureau.id, None)]]
    assert refusal(services.issue_from_rows, bureau, [[header], [first.uscc, "0"]], NEXT_YEAR, "0.5") == (
        "ValidationFailed", NOTHING, {"line 2": [AMOUNT]})
    assert refusal(services.issue_from_rows, bureau, [[first.uscc, "0"]], NEXT_YEAR, "0.5") == (
        "ValidationFailed", NOTHING, {"line 1": [AMOUNT]})


def test_each_bad_line_is_named_with_its_reason(make, bureau, app_context):
    good, hefei = make.firm(), make.firm(city_code="hefei")
    rows = [[good.uscc, "100"], [], [good.uscc], ["  ", "100"], ["91330100MA0000000X", "100"], [hefei.uscc, "100"],
            ["91330100MA0000000X", "lots"], [good.uscc, "1.001"]]
    assert refusal(services.issue_from_rows, bureau, rows, NEXT_YEAR, "0.5") == ("ValidationFailed", NOTHING, {
        "line 2": [UNKNOWN], "line 3": [UNKNOWN], "line 4": [UNKNOWN], "line 5": [UNKNOWN], "line 6": [OWN_CITY],
        "line 7": [NUMBER], "line 8": [AMOUNT]})
    assert count_vouchers() == 0
    admin = make.user(role="admin")  # the joint office grants to any city's firm
    assert grant(admin, [[good.uscc, "100"], [hefei.uscc, "100"]]) == 2


def test_the_first_twenty_bad_lines_are_named_in_order_then_more(make, bureau, app_context):
    firm = make.firm()
    rows = [[firm.uscc, "0"]] * 21
    refused = refusal(services.issue_from_rows, bureau, rows, NEXT_YEAR, "0.5")
    assert refused[:2] == ("ValidationFailed", NOTHING)
    assert list(refused[2]) == [f"line {n}" for n in range(1, 21)] + ["more"]
    assert refused[2]["more"] == ["More lines have problems too: correct the lines listed and check the rest."]
    exactly = refusal(services.issue_from_rows, bureau, rows[:20], NEXT_YEAR, "0.5")[2]
    assert list(exactly) == [f"line {n}" for n in range(1, 21)]


def test_the_file_and_its_terms_are_refused_before_its_lines(make, bureau, app_context):
    firm = make.firm()
    assert refusal(services.issue_from_rows, bureau, [], NEXT_YEAR, "0.5") == (
        "ValidationFailed", NOTHING, {"file": ["The file is empty."]})
    assert refusal(services.issue_from_rows, bureau, [["USCC", "amount"]], NEXT_YEAR, "0.5") == (
        "ValidationFailed", NOTHING, {"file": ["The file is empty."]})
    assert refusal(services.issue_from_rows, bureau, [[firm.uscc, "1"]] * 5_001, NEXT_YEAR, "0.5") == (
        "ValidationFailed", NOTHING, {"file": ["A file may hold at most 5,000 lines; split it into several files."]})
    assert refusal(services.issue_from_rows, bureau, [[firm.uscc, "1"]], platform_today() - timedelta(days=1),
                   "0") == ("ValidationFailed", NOTHING, {"max_share": [SHARE], "expires_on": [PAST]})
    assert refusal(services.issue_from_rows, make.user(), [[firm.uscc, "1"]], NEXT_YEAR, "0.5") == (
        "PermissionDenied", "Only city bureaus and the joint office issue vouchers.", {})


def test_vouchers_granted_earlier_keep_their_single_grant(make, bureau, app_context):
    firm = make.firm()
    earlier = issue(bureau, firm.id, "70")
    other_bureau = make.user(role="city_admin", city_code="jinhua")
    assert grant(other_bureau, [[firm.uscc, "30"]]) == 1
    assert ledger(earlier.id) == [("grant", Decimal("70.00"), Decimal("70.00"), bureau.id, None)]
    newest = db.session.scalar(sa.select(Voucher).order_by(Voucher.id.desc()).limit(1))
    assert ledger(newest.id) == [("grant", Decimal("30.00"), Decimal("30.00"), other_bureau.id, None)]


# --- the grant form's firms ---------------------------------------------------

def test_the_grant_form_lists_the_bureaus_firms_by_name_up_to_a_limit(make, bureau, app_context):
    a = make.firm(name="甲公司")  # made first, named last (乙 < 甲 in code points)
    b = make.firm(name="乙公司")
    make.firm(name="丙公司", city_code="hefei")
    assert [f.name for f in services.grantable_firms(bureau, 2)] == ["乙公司", "甲公司"]
    assert {f.id for f in services.grantable_firms(bureau, 2)} == {a.id, b.id}
    assert services.grantable_firms(bureau, 1) is None  # more than that: the form asks for the USCC
    admin = make.user(role="admin")
    assert len(services.grantable_firms(admin, 10)) == 3
    assert services.grantable_firms(admin, 2) is None
    assert services.grantable_firms(make.user(), 10) == []


# --- revoking, and who sees what ----------------------------------------------

def test_revoking_names_who_and_what_was_withdrawn(make, bureau, app_context):
    firm_user = make.user()
    voucher = issue(bureau, firm_user.firm_id, "80")
    assert refusal(services.revoke_voucher, firm_user, voucher.id) == (
        "PermissionDenied", "Only the issuing city's bureau may revoke this voucher.", {})
    hefei = make.user(role="city_admin", city_code="hefei")
    assert refusal(services.revoke_voucher, hefei, voucher.id) == ("NotFound", "No such voucher.", {})
    assert refusal(services.revoke_voucher, bureau, str(voucher.id)) == ("NotFound", "No such voucher.", {})
    assert refusal(services.revoke_voucher, bureau, voucher.id + 1) == ("NotFound", "No such voucher.", {})
    revoked = services.revoke_voucher(bureau, voucher.id)
    db.session.commit()
    assert (revoked.status, revoked.balance) == ("revoked", Decimal("0.00"))
    assert ledger(voucher.id) == [("grant", Decimal("80.00"), Decimal("80.00"), bureau.id, None),
                                  ("revoke", Decimal("-80.00"), Decimal("80.00"), bureau.id, None)]
    assert refusal(services.revoke_voucher, bureau, voucher.id) == (
        "ValidationFailed", NOT_USABLE, {"voucher_id": [EXPIRED]})


def test_each_role_sees_its_own_vouchers_oldest_first(make, bureau, app_context):
    firm_user, other_firm_user = make.user(), make.user()
    hefei_firm = make.firm(city_code="hefei")
    admin = make.user(role="admin")
    second = issue(bureau, firm_user.firm_id)
    first_other = issue(bureau, other_firm_user.firm_id)
    third = issue(bureau, firm_user.firm_id)
    in_hefei = issue(admin, hefei_firm.id)
    assert [v.id for v in services.list_vouchers(firm_user)] == [second.id, third.id]
    assert [v.id for v in services.list_vouchers(bureau)] == [second.id, first_other.id, third.id]
    assert [v.id for v in services.list_vouchers(admin)] == [second.id, first_other.id, third.id, in_hefei.id]
    hefei_bureau = make.user(role="city_admin", city_code="hefei")
    assert [v.id for v in services.list_vouchers(hefei_bureau)] == [in_hefei.id]
    manager = make.user(role="manager")  # neither a firm nor a bureau
    assert services.list_vouchers(manager) == []
    assert services.voucher_page(manager) == ([], 0, 1)
    assert services.ledger_page(manager) == ([], 0, 1)
    vouchers, total, page = services.voucher_page(firm_user)
    assert ([v.id for v in vouchers], total, page) == ([third.id, second.id], 2, 1)
    entries, total, page = services.ledger_page(firm_user)
    assert ({e.voucher_id for e in entries}, total, page) == ({second.id, third.id}, 2, 1)
    entries, total, page = services.ledger_page(hefei_bureau)
    assert ([e.voucher_id for e in entries], total) == ([in_hefei.id], 1)


# --- spending ------------------------------------------------------------------

def test_the_last_day_of_a_voucher_may_still_be_spent(api, make, bureau, app_context):
    """A booking on the expiry day itself is paid; one a day later is not."""
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("100.00"), accepts_vouchers=True)
    from ..booking.conftest import workday

    day = workday(5)
    voucher = issue(bureau, firm_user.firm_id, "1000", expires_on=day)
    firm = api.as_user(firm_user)
    later = firm.post("/api/v1/bookings", json={"instrument_id": instrument.id, "start": iso(day + timedelta(days=1), "10:00"),
                                                "end": iso(day + timedelta(days=1), "11:00"), "purpose": "SEM",
                                                "voucher_id": voucher.id})
    assert later.status_code == 422 and later.json["fields"] == {"voucher_id": [EXPIRED]}
    booked = firm.post("/api/v1/bookings", json={"instrument_id": instrument.id, "start": iso(day, "10:00"),
                                                 "end": iso(day, "11:00"), "purpose": "SEM", "voucher_id": voucher.id})
    assert booked.status_code == 201, booked.json
    assert booked.json["voucher_amount"] == "50.00"


def test_each_refusal_to_spend_says_why(make, bureau, app_context):
    firm_user = make.user()
    instrument = make.instrument(accepts_vouchers=True)
    voucher = issue(bureau, firm_user.firm_id, "100")
    today = platform_today()

    def why(user, voucher_id, on=instrument, last_day=today):
        return refusal(services.usable_voucher, user, voucher_id, on, last_day)

    assert services.usable_voucher(firm_user, voucher.id, instrument, voucher.expires_on).id == voucher.id
    assert why(make.user(), voucher.id) == ("ValidationFailed", NOT_USABLE, {"voucher_id": ["Not a voucher of your firm."]})
    assert why(make.user(role="manager"), voucher.id)[2] == {"voucher_id": ["Not a voucher of your firm."]}
    assert why(firm_user, str(voucher.id))[2] == {"voucher_id": ["Not a voucher of your firm."]}
    assert why(firm_user, voucher.id, last_day=voucher.expires_on + timedelta(days=1))[2] == {"voucher_id": [EXPIRED]}
    assert why(firm_user, voucher.id, on=make.instrument(accepts_vouchers=False))[2] == {
        "voucher_id": ["This instrument does not accept vouchers."]}
    make.user(firm=firm_user.firm, institution_id=instrument.institution_id)  # a related party
    assert why(firm_user, voucher.id)[2] == {
        "voucher_id": ["Vouchers cannot pay for services of an institution your firm is a related party of."]}
    spent = issue(bureau, firm_user.firm_id, "100")
    db.session.execute(sa.update(Voucher).where(Voucher.id == spent.id).values(balance=Decimal("0.00")))
    db.session.commit()
    assert why(firm_user, spent.id, on=make.instrument(accepts_vouchers=True))[2] == {
        "voucher_id": ["This voucher has no balance left."]}
    services.revoke_voucher(bureau, voucher.id)
    db.session.commit()
    assert why(firm_user, voucher.id)[2] == {"voucher_id": [EXPIRED]}


def test_the_booking_form_offers_the_spendable_vouchers_oldest_first(make, bureau, app_context):
    firm_user = make.user()
    instrument = make.instrument(accepts_vouchers=True)
    today = platform_today()
    second = issue(bureau, firm_user.firm_id, "100", expires_on=today)  # its last day
    first = issue(bureau, firm_user.firm_id, "100")
    emptied = issue(bureau, firm_user.firm_id, "100")
    revoked = issue(bureau, firm_user.firm_id, "100")
    expired = issue(bureau, firm_user.firm_id, "100")
    issue(bureau, make.user().firm_id, "100")  # another firm's
    db.session.execute(sa.update(Voucher).where(Voucher.id == emptied.id).values(balance=Decimal("0.00")))
    db.session.execute(sa.update(Voucher).where(Voucher.id == expired.id).values(expires_on=today - timedelta(days=1)))
    db.session.commit()
    services.revoke_voucher(bureau, revoked.id)
    db.session.commit()
    assert [v.id for v in services.spendable_vouchers(firm_user, instrument)] == [second.id, first.id]
    assert services.spendable_vouchers(firm_user, make.instrument(accepts_vouchers=False)) == []
    assert services.spendable_vouchers(make.user(role="manager"), instrument) == []
    make.user(firm=firm_user.firm, institution_id=instrument.institution_id)  # now a related party
    assert services.spendable_vouchers(firm_user, instrument) == []


def test_a_revoked_vouchers_hold_comes_back_withdrawn_and_a_job_names_nobody(api, make, bureau, day, app_context):
    """A booking cancelled by the close-bookings job (no actor) gives back
    its hold; on a revoked voucher that money is withdrawn at once."""
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("100.00"), accepts_vouchers=True)
    voucher = issue(bureau, firm_user.firm_id, "1000")
    firm = api.as_user(firm_user)
    booked = firm.post("/api/v1/bookings", json={"instrument_id": instrument.id, "start": iso(day, "10:00"),
                                                 "end": iso(day, "12:00"), "purpose": "SEM",
                                                 "voucher_id": voucher.id}).json
    services.revoke_voucher(bureau, voucher.id)
    db.session.commit()
    booking = db.session.get(Booking, booked["id"])
    services.release([booking], None)
    db.session.commit()
    assert ledger(voucher.id) == [
        ("grant", Decimal("1000.00"), Decimal("1000.00"), bureau.id, None),
        ("hold", Decimal("-100.00"), Decimal("100.00"), firm_user.id, booking.id),
        ("revoke", Decimal("-900.00"), Decimal("900.00"), bureau.id, None),
        ("release", Decimal("100.00"), Decimal("100.00"), None, booking.id),
        ("revoke", Decimal("-100.00"), Decimal("100.00"), None, booking.id)]
    db.session.expire_all()
    booking = db.session.get(Booking, booked["id"])
    assert (booking.voucher_amount, booking.firm_pays) == (Decimal("0.00"), Decimal("200.00"))
    assert db.session.get(Voucher, voucher.id).balance == Decimal("0.00") == services.ledger_balance(voucher.id)
    services.release([booking], None)  # a second release finds nothing held
    db.session.commit()
    assert len(ledger(voucher.id)) == 5


def test_an_hour_less_used_gives_its_share_back_in_the_managers_name(api, make, bureau, day, app_context):
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("100.00"), accepts_vouchers=True)
    voucher = issue(bureau, firm_user.firm_id, "1000", share="0.3")
    manager = make.user(role="manager", institution_id=instrument.institution_id)
    booked = api.as_user(firm_user).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "13:00"), "purpose": "SEM",
        "voucher_id": voucher.id}).json
    booking = db.session.get(Booking, booked["id"])
    booking.start, booking.end = booking.start - timedelta(days=30), booking.end - timedelta(days=30)
    booking.occupied_until = booking.end
    db.session.commit()
    record_usage(booking, manager, booking.start, booking.start + timedelta(hours=1), "guided", now=datetime.now(UTC))
    db.session.commit()
    assert ledger(voucher.id)[1:] == [("hold", Decimal("-90.00"), Decimal("90.00"), firm_user.id, booking.id),
                                      ("capture", Decimal("0.00"), Decimal("30.00"), manager.id, booking.id),
                                      ("release", Decimal("60.00"), Decimal("60.00"), manager.id, booking.id)]
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).balance == Decimal("970.00") == services.ledger_balance(voucher.id)


def test_usage_beyond_the_booked_hours_captures_no_more_than_was_booked(api, make, bureau, day, app_context):
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("100.00"), accepts_vouchers=True)
    voucher = issue(bureau, firm_user.firm_id, "1000", share="0.3")
    manager = make.user(role="manager", institution_id=instrument.institution_id)
    booked = api.as_user(firm_user).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "12:00"), "purpose": "SEM",
        "voucher_id": voucher.id}).json
    assert booked["voucher_amount"] == "60.00"
    booking = db.session.get(Booking, booked["id"])
    booking.start, booking.end = booking.start - timedelta(days=30), booking.end - timedelta(days=30)
    booking.occupied_until = booking.end
    db.session.commit()
    record_usage(booking, manager, booking.start, booking.end + timedelta(hours=1), "guided", now=datetime.now(UTC))
    db.session.commit()
    assert ledger(voucher.id)[1:] == [("hold", Decimal("-60.00"), Decimal("60.00"), firm_user.id, booking.id),
                                      ("capture", Decimal("0.00"), Decimal("60.00"), manager.id, booking.id)]
    db.session.expire_all()
    booking = db.session.get(Booking, booked["id"])
    assert (booking.voucher_amount, booking.firm_pays) == (Decimal("60.00"), Decimal("140.00"))
    assert services.ledger_balance(voucher.id) == Decimal("940.00") == db.session.get(Voucher, voucher.id).balance
    services.capture(booking, manager)  # captured once
    db.session.commit()
    assert len(ledger(voucher.id)) == 3


def test_a_series_spends_the_voucher_until_it_runs_out(api, make, bureau, day, app_context):
    """Half of each ¥100 occurrence, ¥120 on the voucher: ¥50, ¥50, ¥20, then nothing."""
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("100.00"), accepts_vouchers=True)
    voucher = issue(bureau, firm_user.firm_id, "120")
    booked = api.as_user(firm_user).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"), "purpose": "SEM",
        "voucher_id": voucher.id, "recurrence": "FREQ=WEEKLY;COUNT=4"})
    assert booked.status_code == 201, booked.json
    db.session.expire_all()
    bookings = db.session.scalars(sa.select(Booking).where(Booking.instrument_id == instrument.id)
                                  .order_by(Booking.start)).all()
    assert [(b.voucher_amount, b.firm_pays) for b in bookings] == [
        (Decimal("50.00"), Decimal("50.00")), (Decimal("50.00"), Decimal("50.00")),
        (Decimal("20.00"), Decimal("80.00")), (Decimal("0.00"), Decimal("100.00"))]
    assert [b.voucher_id for b in bookings][:3] == [voucher.id] * 3
    assert [row[:3] for row in ledger(voucher.id)[1:]] == [("hold", Decimal("-50.00"), Decimal("50.00"))] * 2 + [
        ("hold", Decimal("-20.00"), Decimal("20.00"))]
    assert db.session.get(Voucher, voucher.id).balance == Decimal("0.00") == services.ledger_balance(voucher.id)


def test_a_voucher_without_movements_sums_to_nothing(app_context):
    assert services.ledger_balance(999_999) == Decimal("0.00")


def test_what_a_shorter_use_gives_back_to_a_revoked_voucher_stays_withdrawn(api, make, bureau, day, app_context):
    """Completing a booking with fewer hours than booked returns the rest of
    its hold; once the bureau has revoked the voucher, that money is
    withdrawn at once, as when a booking on it is cancelled (`release`)."""
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("100.00"), accepts_vouchers=True)
    voucher = issue(bureau, firm_user.firm_id, "1000")
    manager = make.user(role="manager", institution_id=instrument.institution_id)
    booked = api.as_user(firm_user).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "12:00"), "purpose": "SEM",
        "voucher_id": voucher.id}).json
    services.revoke_voucher(bureau, voucher.id)
    db.session.commit()
    booking = db.session.get(Booking, booked["id"])
    booking.start, booking.end = booking.start - timedelta(days=30), booking.end - timedelta(days=30)
    booking.occupied_until = booking.end
    db.session.commit()
    record_usage(booking, manager, booking.start, booking.start + timedelta(hours=1), "guided", now=datetime.now(UTC))
    db.session.commit()
    assert ledger(voucher.id)[2:] == [
        ("revoke", Decimal("-900.00"), Decimal("900.00"), bureau.id, None),
        ("capture", Decimal("0.00"), Decimal("50.00"), manager.id, booking.id),
        ("release", Decimal("50.00"), Decimal("50.00"), manager.id, booking.id),
        ("revoke", Decimal("-50.00"), Decimal("50.00"), manager.id, booking.id)]
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).balance == Decimal("0.00") == services.ledger_balance(voucher.id)
    assert services.spendable_vouchers(firm_user, instrument) == []


def test_parts_under_one_yuan_are_offered_held_and_spent(api, make, bureau, day, app_context):
    """A voucher with ¥0.80 left is still offered; half of a ¥1.00 hour is
    held from it, and spent when the hour is used."""
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("1.00"), accepts_vouchers=True)
    voucher = issue(bureau, firm_user.firm_id, "0.80")
    assert [v.id for v in services.spendable_vouchers(firm_user, instrument)] == [voucher.id]
    manager = make.user(role="manager", institution_id=instrument.institution_id)
    booked = api.as_user(firm_user).post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"), "purpose": "SEM",
        "voucher_id": voucher.id}).json
    assert (booked["voucher_amount"], booked["firm_pays"]) == ("0.50", "0.50")
    booking = db.session.get(Booking, booked["id"])
    booking.start, booking.end = booking.start - timedelta(days=30), booking.end - timedelta(days=30)
    booking.occupied_until = booking.end
    db.session.commit()
    record_usage(booking, manager, booking.start, booking.end, "guided", now=datetime.now(UTC))
    db.session.commit()
    assert ledger(voucher.id)[1:] == [("hold", Decimal("-0.50"), Decimal("0.50"), firm_user.id, booking.id),
                                      ("capture", Decimal("0.00"), Decimal("0.50"), manager.id, booking.id)]
    assert [v.id for v in services.spendable_vouchers(firm_user, instrument)] == [voucher.id]  # ¥0.30 left
    firm = api.as_user(firm_user)
    cancelled = firm.post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "13:00"), "end": iso(day, "14:00"), "purpose": "SEM",
        "voucher_id": voucher.id}).json
    assert cancelled["voucher_amount"] == "0.30"
    assert firm.post(f"/api/v1/bookings/{cancelled['id']}/cancel", json={}).json["voucher_amount"] == "0.00"
    assert ledger(voucher.id)[-1] == ("release", Decimal("0.30"), Decimal("0.30"), firm_user.id, cancelled["id"])
    assert services.ledger_balance(voucher.id) == Decimal("0.30")


def test_a_release_gives_back_each_bookings_own_hold_and_keeps_what_was_spent(api, make, bureau, day, app_context):
    """Bookings released together each give back what they hold; a
    booking whose use was recorded holds nothing more, and a release leaves
    it the part that was spent."""
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("100.00"), accepts_vouchers=True)
    voucher = issue(bureau, firm_user.firm_id, "1000")
    manager = make.user(role="manager", institution_id=instrument.institution_id)
    firm = api.as_user(firm_user)
    ids = [firm.post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, start), "end": iso(day, end), "purpose": "SEM",
        "voucher_id": voucher.id}).json["id"] for start, end in (("09:00", "10:00"), ("11:00", "14:00"),
                                                                 ("15:00", "17:00"))]
    used = db.session.get(Booking, ids[2])
    used.start, used.end = used.start - timedelta(days=30), used.end - timedelta(days=30)
    used.occupied_until = used.end
    db.session.commit()
    record_usage(used, manager, used.start, used.start + timedelta(hours=1), "guided", now=datetime.now(UTC))
    db.session.commit()
    unpaid = firm.post("/api/v1/bookings", json={  # paid without a voucher, first in the list
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"), "purpose": "SEM"}).json
    bookings = [db.session.get(Booking, booking_id) for booking_id in [unpaid["id"], *ids]]
    services.release(bookings, manager)
    db.session.commit()
    assert [row for row in ledger(voucher.id) if row[0] == "release"] == [
        ("release", Decimal("50.00"), Decimal("50.00"), manager.id, ids[2]),  # at the usage
        ("release", Decimal("50.00"), Decimal("50.00"), manager.id, ids[0]),
        ("release", Decimal("150.00"), Decimal("150.00"), manager.id, ids[1])]
    db.session.expire_all()
    assert [(b.voucher_amount, b.firm_pays) for b in (db.session.get(Booking, i) for i in ids)] == [
        (Decimal("0.00"), Decimal("100.00")), (Decimal("0.00"), Decimal("300.00")),
        (Decimal("50.00"), Decimal("150.00"))]
    assert db.session.get(Voucher, voucher.id).balance == Decimal("950.00") == services.ledger_balance(voucher.id)


def test_the_pages_hold_fifty_and_start_at_the_first(make, bureau, app_context):
    firm_user = make.user()
    assert grant(bureau, [[firm_user.firm.uscc, "1"]] * 51, share="1") == 51
    db.session.expire_all()
    assert {v.max_share_bp for v in services.list_vouchers(firm_user)} == {10000}
    vouchers, total, page = services.voucher_page(firm_user)
    assert (len(vouchers), total, page) == (50, 51, 1)
    entries, total, page = services.ledger_page(firm_user)
    assert (len(entries), total, page) == (50, 51, 1)


def test_a_moved_booking_holds_the_share_of_its_new_fee(api, make, bureau, day, app_context):
    firm_user = make.user()
    instrument = make.instrument(hourly_rate=Decimal("100.00"), accepts_vouchers=True)
    voucher = issue(bureau, firm_user.firm_id, "1000")
    firm = api.as_user(firm_user)
    booked = firm.post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"), "purpose": "SEM",
        "voucher_id": voucher.id}).json
    moved = firm.patch(f"/api/v1/bookings/{booked['id']}", json={"start": iso(day, "13:00"), "end": iso(day, "16:00")})
    assert moved.status_code == 200, moved.json
    assert (moved.json["cost"], moved.json["voucher_amount"], moved.json["firm_pays"]) == ("300.00", "150.00", "150.00")
    db.session.expire_all()
    assert db.session.get(Booking, booked["id"]).voucher_id == voucher.id
    assert [row[:3] for row in ledger(voucher.id)[1:]] == [("hold", Decimal("-50.00"), Decimal("50.00")),
                                                           ("release", Decimal("50.00"), Decimal("50.00")),
                                                           ("hold", Decimal("-150.00"), Decimal("150.00"))]
    assert services.ledger_balance(voucher.id) == Decimal("850.00")


def test_the_check_under_the_lock_refuses_as_the_first_check_does(make, bureau, app_context):
    """locked_for_spending reads the voucher again under its lock (a revoke or
    another booking may have come between the first check and the lock) and
    refuses with the same words: the last day it is valid, no money left, revoked."""
    firm_user = make.user()
    voucher = issue(bureau, firm_user.firm_id, "100")

    def why(voucher_id, last_day):
        return refusal(services.locked_for_spending, voucher_id, last_day)

    assert services.locked_for_spending(voucher.id, voucher.expires_on).id == voucher.id
    db.session.rollback()
    assert why(voucher.id, voucher.expires_on + timedelta(days=1)) == ("ValidationFailed", NOT_USABLE,
                                                                       {"voucher_id": [EXPIRED]})
    assert why(999_999, voucher.expires_on) == ("NotFound", "No such voucher.", {})
    empty = issue(bureau, firm_user.firm_id, "100")
    db.session.execute(sa.update(Voucher).where(Voucher.id == empty.id).values(balance=Decimal("0.00")))
    db.session.commit()
    assert why(empty.id, platform_today()) == ("ValidationFailed", NOT_USABLE,
                                               {"voucher_id": ["This voucher has no balance left."]})
    small = issue(bureau, firm_user.firm_id, "0.01")
    assert services.locked_for_spending(small.id, platform_today()).balance == Decimal("0.01")
    db.session.rollback()
    services.revoke_voucher(bureau, voucher.id)
    db.session.commit()
    assert why(voucher.id, platform_today()) == ("ValidationFailed", NOT_USABLE, {"voucher_id": [EXPIRED]})
    lapsed = issue(bureau, firm_user.firm_id, "100")
    db.session.execute(sa.update(Voucher).where(Voucher.id == lapsed.id)
                       .values(expires_on=platform_today() - timedelta(days=1)))
    db.session.commit()
    assert why(lapsed.id, platform_today() - timedelta(days=1)) == ("ValidationFailed", NOT_USABLE,
                                                                    {"voucher_id": [EXPIRED]})
