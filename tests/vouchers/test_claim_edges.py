"""Edges of settlement claims that mutation testing found untested (issue
#21, `make mutation`): the first and the last day of a claim's period, the
captures a claim takes (its city's, its institution's, unclaimed ones), who
files and sees which claims, and the words of each refusal. Through the
services, on both engines."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from instrument_share.booking.models import Booking
from instrument_share.booking.usage import record_usage
from instrument_share.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from instrument_share.extensions import db
from instrument_share.vouchers import claims, services
from instrument_share.vouchers.models import VoucherClaim, VoucherEntry

from ..booking.conftest import iso

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEXT_YEAR = date.today() + timedelta(days=365)
FIRST = date.today() - timedelta(days=40)  # the claims' period: FIRST to LAST
LAST = FIRST + timedelta(days=2)


def refusal(call, *args, **kw) -> tuple:
    with pytest.raises((ValidationFailed, PermissionDenied, NotFound, Conflict)) as refused:
        call(*args, **kw)
    db.session.rollback()
    return type(refused.value).__name__, refused.value.message, refused.value.fields


@pytest.fixture
def world(api, make, day, app_context):
    """A Jinhua firm with a ¥10,000 half-share voucher of Jinhua's bureau, an
    instrument at ¥100/h and its manager; `used(start)` books an hour,
    moves it to `start` (in the past) and records its use: a ¥50 capture."""
    bureau = make.user(role="city_admin", city_code="jinhua")
    firm_user = make.user()
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id, hourly_rate=Decimal("100.00"),
                                 accepts_vouchers=True)
    voucher = services.issue_voucher(bureau, firm_user.firm_id, "10000", NEXT_YEAR, "0.5")
    db.session.commit()
    hours = iter(range(9, 17))

    def used(start: datetime, voucher_id: int = voucher.id, booker=firm_user, on=instrument, recorder=manager) -> int:
        hour = next(hours)
        booked = api.as_user(booker).post("/api/v1/bookings", json={
            "instrument_id": on.id, "start": iso(day, f"{hour}:00"), "end": iso(day, f"{hour + 1}:00"),
            "purpose": "SEM", "voucher_id": voucher_id})
        assert booked.status_code == 201, booked.json
        booking = db.session.get(Booking, booked.json["id"])
        booking.start, booking.end = start, start + timedelta(hours=1)
        booking.occupied_until = booking.end
        db.session.commit()
        record_usage(booking, db.session.get(type(recorder), recorder.id), booking.start, booking.end, "guided",
                     now=datetime.now(UTC))
        db.session.commit()
        return db.session.scalar(sa.select(VoucherEntry.id).where(VoucherEntry.booking_id == booking.id,
                                                                  VoucherEntry.kind == "capture"))

    return {"bureau": bureau, "firm_user": firm_user, "manager": manager, "instrument": instrument,
            "voucher": voucher, "used": used}


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI)


def lines(claim: VoucherClaim) -> list[tuple[int, Decimal]]:
    return [(line.entry_id, line.amount) for line in claim.lines]


def test_a_claim_takes_the_services_that_started_from_its_first_to_its_last_day(world):
    used = world["used"]
    before = used(midnight(FIRST) - timedelta(minutes=1))
    first = used(midnight(FIRST))
    last = used(midnight(LAST + timedelta(days=1)) - timedelta(hours=1, minutes=1))  # 22:59 on the last day
    after = used(midnight(LAST + timedelta(days=1)))
    manager = world["manager"]
    claim = claims.file_claim(manager, "jinhua", FIRST, LAST, institution_id=999_999)  # a manager's own institution
    db.session.commit()
    assert lines(claim) == [(first, Decimal("50.00")), (last, Decimal("50.00"))]
    assert (claim.institution_id, claim.issuing_city, claim.period_from, claim.period_to, claim.created_by_id,
            claim.paid_on) == (manager.institution_id, "jinhua", FIRST, LAST, manager.id, None)
    one_day = claims.file_claim(manager, "jinhua", FIRST - timedelta(days=1), FIRST - timedelta(days=1))
    db.session.commit()
    assert lines(one_day) == [(before, Decimal("50.00"))]
    later = claims.file_claim(manager, "jinhua", LAST + timedelta(days=1), LAST + timedelta(days=1))
    db.session.commit()
    assert lines(later) == [(after, Decimal("50.00"))]
    assert refusal(claims.file_claim, manager, "jinhua", FIRST - timedelta(days=5), LAST + timedelta(days=5)) == (
        "Conflict", "Nothing to claim: no unclaimed voucher money in this period.", {})


def test_a_claim_takes_only_its_citys_vouchers_and_its_institutions_services(world, make):
    used = world["used"]
    hefei_firm_user = make.user(firm=make.firm(city_code="hefei"))
    admin = make.user(role="admin")
    hefei_voucher = services.issue_voucher(admin, hefei_firm_user.firm_id, "1000", NEXT_YEAR, "0.5")
    db.session.commit()
    elsewhere = make.instrument(hourly_rate=Decimal("100.00"), accepts_vouchers=True)  # another institution
    ours = used(midnight(FIRST) + timedelta(hours=10))
    used(midnight(FIRST) + timedelta(hours=12), voucher_id=hefei_voucher.id, booker=hefei_firm_user)
    theirs = used(midnight(FIRST) + timedelta(hours=14), on=elsewhere,
                  recorder=make.user(role="manager", institution_id=elsewhere.institution_id))
    claim = claims.file_claim(world["manager"], "jinhua", FIRST, LAST)
    db.session.commit()
    assert lines(claim) == [(ours, Decimal("50.00"))]
    for_them = claims.file_claim(admin, "jinhua", FIRST, LAST, institution_id=elsewhere.institution_id)
    db.session.commit()
    assert (lines(for_them), for_them.institution_id, for_them.created_by_id) == (
        [(theirs, Decimal("50.00"))], elsewhere.institution_id, admin.id)


def test_who_may_not_file_a_claim_and_a_period_that_ends_before_it_begins(world, make):
    manager = world["manager"]
    world["used"](midnight(FIRST) + timedelta(hours=10))
    assert refusal(claims.file_claim, world["firm_user"], "jinhua", FIRST, LAST, world["manager"].institution_id) == (
        "PermissionDenied", "Only an institution's managers file voucher claims.", {})
    admin = make.user(role="admin")
    assert refusal(claims.file_claim, admin, "jinhua", FIRST, LAST) == (
        "PermissionDenied", "Only an institution's managers file voucher claims.", {})
    assert refusal(claims.file_claim, admin, "jinhua", FIRST, LAST, 999_999) == (
        "NotFound", "No such institution.", {})
    assert refusal(claims.file_claim, manager, "jinhua", FIRST, FIRST - timedelta(days=1)) == (
        "ValidationFailed", "The period is not valid.", {"to": ["The end must be after the start."]})
    assert refusal(claims.file_claim, make.user(role="manager"), "jinhua", FIRST, LAST)[:2] == (
        "Conflict", "Nothing to claim: no unclaimed voucher money in this period.")
    assert len(claims.file_claim(manager, "jinhua", FIRST, FIRST).lines) == 1  # a period of one day


def test_each_role_sees_its_claims_newest_first(world, make):
    used, manager, bureau = world["used"], world["manager"], world["bureau"]
    used(midnight(FIRST) + timedelta(hours=10))
    older = claims.file_claim(manager, "jinhua", FIRST, FIRST)
    db.session.commit()
    used(midnight(LAST) + timedelta(hours=10))
    newer = claims.file_claim(manager, "jinhua", LAST, LAST)
    db.session.commit()
    other_manager = make.user(role="manager")
    hefei_bureau = make.user(role="city_admin", city_code="hefei")
    admin = make.user(role="admin")
    assert [c.id for c in claims.list_claims(manager)] == [newer.id, older.id]
    assert [c.id for c in claims.list_claims(bureau)] == [newer.id, older.id]
    assert [c.id for c in claims.list_claims(admin)] == [newer.id, older.id]
    for nobody in (other_manager, hefei_bureau, world["firm_user"]):
        assert claims.list_claims(nobody) == []
        assert refusal(claims.get_claim, older.id, nobody) == ("NotFound", "No such claim.", {})
    for somebody in (manager, bureau, admin):
        assert claims.get_claim(older.id, somebody).id == older.id
    assert refusal(claims.get_claim, 999_999, admin) == ("NotFound", "No such claim.", {})
    # The voucher page's pages: those still to pay first, then the paid, newest first in each.
    older.paid_on = LAST
    db.session.commit()
    assert [c.id for c in claims.claims_page(bureau, 1, 20)[0]] == [newer.id, older.id]
    newer.paid_on, older.paid_on = LAST, None
    db.session.commit()
    assert [c.id for c in claims.claims_page(bureau, 1, 20)[0]] == [older.id, newer.id]
    assert [(len(rows), total, page) for rows, total, page in [claims.claims_page(bureau, 2, 1)]] == [(1, 2, 2)]
    assert claims.claims_page(bureau, 9, 1)[0][0].id == newer.id  # past the end: the last page
    assert claims.claims_page(hefei_bureau, 1, 20) == ([], 0, 1)
    assert claims.claims_page(world["firm_user"], 1, 20) == ([], 0, 1)


def test_reviewing_lines_and_paying_a_claim(world, make):
    used, manager, bureau = world["used"], world["manager"], world["bureau"]
    used(midnight(FIRST) + timedelta(hours=10))
    used(midnight(FIRST) + timedelta(hours=12))
    claim = claims.file_claim(manager, "jinhua", FIRST, LAST)
    db.session.commit()
    first, second = (line.id for line in claim.lines)
    assert refusal(claims.review_line, claim, first, manager, True) == (
        "PermissionDenied", "Only the issuing city's bureau reviews this claim.", {})
    assert refusal(claims.mark_paid, claim, make.user(role="city_admin", city_code="hefei"), LAST) == (
        "PermissionDenied", "Only the issuing city's bureau reviews this claim.", {})
    for blank in ("", "   ", None):
        assert refusal(claims.review_line, claim, first, bureau, False, blank) == (
            "ValidationFailed", "Reason required.", {"reason": ["Say why the line is rejected."]})
    assert refusal(claims.review_line, claim, first, bureau, False) == (  # no reason given at all
        "ValidationFailed", "Reason required.", {"reason": ["Say why the line is rejected."]})
    assert refusal(claims.review_line, claim, 999_999, bureau, True) == ("NotFound", "No such claim line.", {})
    assert refusal(claims.mark_paid, claim, bureau, LAST) == (
        "Conflict", "Decide every line before marking the claim paid.", {})
    approved = claims.review_line(claim, first, bureau, True, None)  # an approval needs no reason
    db.session.commit()
    assert (approved.status, approved.reason, approved.reviewed_by_id) == ("approved", "", bureau.id)
    assert approved.reviewed_at is not None
    rejected = claims.review_line(claim, second, bureau, False, "  " + "票" * 2100)
    db.session.commit()
    assert (rejected.status, rejected.reason, rejected.reviewed_by_id) == ("rejected", "票" * 2000, bureau.id)
    assert refusal(claims.review_line, claim, first, bureau, False, "changed my mind") == (
        "Conflict", "This line has been decided already.", {})
    paid = claims.mark_paid(claim, bureau, LAST)
    db.session.commit()
    assert paid.paid_on == LAST
    assert refusal(claims.mark_paid, claim, bureau, LAST) == ("Conflict", "This claim is paid already.", {})


def test_a_paid_claims_pending_line_can_no_longer_be_decided(world, make):
    """A claim paid (by the joint office) before a line was decided keeps it undecided."""
    world["used"](midnight(FIRST) + timedelta(hours=10))
    claim = claims.file_claim(world["manager"], "jinhua", FIRST, LAST)
    db.session.commit()
    claim.paid_on = LAST  # as an earlier version recorded it
    db.session.commit()
    assert refusal(claims.review_line, claim, claim.lines[0].id, world["bureau"], True) == (
        "Conflict", "This line has been decided already.", {})


def test_every_409_of_a_claim_has_both_lists_empty(world, api, make):
    """API.md, "Errors": every 409 carries `conflicts` and `suggestions`, here empty."""
    world["used"](midnight(FIRST) + timedelta(hours=10))
    manager, bureau = api.as_user(world["manager"]), api.as_user(world["bureau"])
    period = {"issuing_city": "jinhua", "from": FIRST.isoformat(), "to": LAST.isoformat()}
    claim = manager.post("/api/v1/voucher-claims", json=period).json
    line = claim["lines"][0]["id"]
    url = f"/api/v1/voucher-claims/{claim['id']}"
    answers = [manager.post("/api/v1/voucher-claims", json=period),  # nothing left to claim
               bureau.post(f"{url}/paid", json={"paid_on": LAST.isoformat()})]  # a line is undecided
    assert bureau.post(f"{url}/lines/{line}", json={"approve": True}).status_code == 200
    answers.append(bureau.post(f"{url}/lines/{line}", json={"approve": True}))  # decided already
    assert bureau.post(f"{url}/paid", json={"paid_on": LAST.isoformat()}).status_code == 200
    answers.append(bureau.post(f"{url}/paid", json={"paid_on": LAST.isoformat()}))  # paid already
    assert [(a.status_code, a.json["message"], a.json["conflicts"], a.json["suggestions"]) for a in answers] == [
        (409, "Nothing to claim: no unclaimed voucher money in this period.", [], []),
        (409, "Decide every line before marking the claim paid.", [], []),
        (409, "This line has been decided already.", [], []),
        (409, "This claim is paid already.", [], [])]
