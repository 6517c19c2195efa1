"""The quote (issue #17, API.md "POST /api/v1/bookings/quote"): what a
booking would be, from the same checks, cost rule and voucher parts as the
booking, booking nothing. Each quote is compared with the booking it
predicts, made right after with the same body."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from instrument_share.booking.models import Booking
from instrument_share.extensions import db

from ..vouchers.test_vouchers import issue
from .conftest import iso, workday

MONEY = ("cost", "voucher_amount", "firm_pays")


def _count(app_context) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Booking.id)))


def _body(instrument, day, start, end, **more):
    return {"instrument_id": instrument.id, "start": iso(day, start), "end": iso(day, end), "purpose": "SEM 形貌",
            **more}


def test_a_quote_books_nothing_and_predicts_the_booking(api, make, app_context):
    sem = make.instrument(hourly_rate=Decimal("300.00"), max_booking_minutes=480)
    caller = api.as_user(make.user())
    body = _body(sem, workday(3), "10:00", "11:30")
    quoted = caller.post("/api/v1/bookings/quote", json=body)
    assert quoted.status_code == 200, quoted.json
    assert _count(app_context) == 0
    answer = quoted.json
    assert answer["bookable"] is True and answer["errors"] == {} and answer["conflicts"] == []
    booked = caller.post("/api/v1/bookings", json=body).json
    assert [answer[k] for k in (*MONEY, "status")] == [booked[k] for k in (*MONEY, "status")] == [
        "450.00", "0.00", "450.00", "confirmed"]
    (occurrence,) = answer["occurrences"]
    assert (occurrence["start"], occurrence["end"]) == (booked["start"], booked["end"])


def test_a_series_with_a_voucher_is_quoted_occurrence_by_occurrence(api, make, app_context):
    bureau = make.user(role="city_admin", city_code="jinhua")
    engineer = make.user()
    sem = make.instrument(hourly_rate=Decimal("300.00"))
    voucher = issue(api, bureau, engineer.firm_id, amount="500.00", share="0.4").json
    caller = api.as_user(engineer)
    body = _body(sem, workday(3), "10:00", "12:00", recurrence="FREQ=WEEKLY;COUNT=3", voucher_id=voucher["id"])
    answer = caller.post("/api/v1/bookings/quote", json=body).json
    # 40% of ¥600 is ¥240 a week; the balance of ¥500 pays 240, 240, then 20.
    assert [(o["cost"], o["voucher_amount"], o["firm_pays"]) for o in answer["occurrences"]] == [
        ("600.00", "240.00", "360.00"), ("600.00", "240.00", "360.00"), ("600.00", "20.00", "580.00")]
    assert (answer["cost"], answer["voucher_amount"], answer["firm_pays"]) == ("1800.00", "500.00", "1300.00")
    made = caller.post("/api/v1/bookings", json=body).json
    made_parts = [(b["cost"], b["voucher_amount"], b["firm_pays"]) for b in made["occurrences"]]
    assert made_parts == [(o["cost"], o["voucher_amount"], o["firm_pays"]) for o in answer["occurrences"]], made


def test_a_quote_shows_each_occurrences_conflict_and_suggestions(api, make, app_context):
    sem = make.instrument()
    other = api.as_user(make.user())
    day = workday(3)
    next_week = other.post("/api/v1/bookings", json=_body(sem, workday(10), "10:00", "12:00"))
    assert next_week.status_code == 201
    answer = api.as_user(make.user()).post("/api/v1/bookings/quote", json=_body(
        sem, day, "10:00", "11:00", recurrence="FREQ=WEEKLY;COUNT=3")).json
    assert answer["bookable"] is False
    blocked = [o for o in answer["occurrences"] if o["conflicts"]]
    assert len(blocked) == 1 and blocked[0]["conflicts"][0]["kind"] == "booking"
    assert answer["conflicts"][0]["occurrence"]["start"] == blocked[0]["start"]
    assert answer["suggestions"], answer
    assert _count(app_context) == 1


def test_what_the_booking_would_be_refused_for_comes_as_errors(api, make, app_context):
    sem = make.instrument()
    day = workday(3)
    past = api.as_user(make.user()).post("/api/v1/bookings/quote", json=_body(sem, workday(-30), "10:00", "11:00"))
    assert past.status_code == 200 and past.json["bookable"] is False and "start" in past.json["errors"]
    unconfirmed = make.user(email_verified=False)
    answer = api.as_user(unconfirmed).post("/api/v1/bookings/quote", json=_body(sem, day, "10:00", "11:00")).json
    assert answer["bookable"] is False and list(answer["errors"]) == ["booker"]
    assert answer["cost"] == "300.00"  # the price is shown all the same
    bureau = api.as_user(make.user(role="city_admin"))
    assert bureau.post("/api/v1/bookings/quote", json=_body(sem, day, "10:00", "11:00")).status_code == 403
    unknown = api.as_user(make.user()).post("/api/v1/bookings/quote", json={**_body(sem, day, "10:00", "11:00"),
                                                                            "instrument_id": 999999})
    assert unknown.status_code == 200 and "instrument_id" in unknown.json["errors"]
    assert _count(app_context) == 0


def test_an_instrument_that_needs_approval_is_quoted_pending(api, make, app_context):
    nmr = make.instrument(requires_approval=True)
    answer = api.as_user(make.user()).post("/api/v1/bookings/quote", json=_body(nmr, workday(3), "10:00", "11:00")).json
    assert answer["status"] == "pending" and answer["bookable"] is True


def test_a_spent_voucher_is_not_quoted_bookable(api, make, app_context):
    """Found by review: the quote checked the voucher without its balance."""
    from instrument_share.vouchers.models import Voucher

    bureau = make.user(role="city_admin", city_code="jinhua")
    engineer = make.user()
    sem = make.instrument()
    voucher = issue(api, bureau, engineer.firm_id, amount="100.00", share="0.5").json
    db.session.get(Voucher, voucher["id"]).balance = Decimal("0.00")
    db.session.commit()
    body = _body(sem, workday(3), "10:00", "11:00", voucher_id=voucher["id"])
    answer = api.as_user(engineer).post("/api/v1/bookings/quote", json=body).json
    assert answer["bookable"] is False and "voucher_id" in answer["errors"]
    assert api.as_user(engineer).post("/api/v1/bookings", json=body).status_code == 422
