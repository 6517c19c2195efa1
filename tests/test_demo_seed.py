"""`flask seed-demo`: the demo region, loaded once, idempotent."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from instrument_share.accounts.models import Firm, Institution, User
from instrument_share.booking.models import Booking
from instrument_share.catalogue.models import Instrument, OpeningHours
from instrument_share.extensions import db
from instrument_share.integrity import violations
from instrument_share.mail.models import OutboxMessage
from instrument_share.orders.models import Order
from instrument_share.vouchers.models import VoucherClaim, VoucherClaimLine

from .booking.conftest import iso, workday
from .factories import ApiClient


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.slow
def test_seed_demo_loads_the_region_once(runner, app_context, api):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for role in ("admin", "manager", "city_admin", "firm"):
        assert role in result.output
    counts = [_count(m) for m in (Institution, Instrument, Firm, User, OpeningHours)]

    institutions, instruments, firms, users, _hours = counts
    assert institutions >= 45 and instruments >= 600
    per_city = dict(db.session.execute(
        sa.select(Institution.city_code, sa.func.count()).group_by(Institution.city_code)
    ).all())
    assert len(per_city) == 9 and min(per_city.values()) >= 3
    firms_per_city = dict(db.session.execute(
        sa.select(Firm.city_code, sa.func.count()).group_by(Firm.city_code)
    ).all())
    assert len(firms_per_city) == 9
    categories = db.session.scalar(sa.select(sa.func.count(sa.distinct(Instrument.category_code))))
    assert categories >= 25
    names = set(db.session.scalars(sa.select(Institution.name)))
    assert {"浙江大学", "中国科学技术大学", "苏州大学", "东华大学", "嘉兴学院", "浙江师范大学",
            "湖州师范学院", "安徽师范大学", "合肥工业大学宣城校区"} <= names
    manufacturers = set(db.session.scalars(sa.select(Instrument.manufacturer)))
    for maker in ("Zeiss", "JEOL", "Thermo Fisher", "Bruker", "Agilent", "Shimadzu", "Hitachi",
                  "Rigaku", "Malvern"):
        assert any(maker in m for m in manufacturers), maker
    assert any("\u4e00" <= m[0] <= "\u9fff" for m in manufacturers)  # Chinese makers too
    assert db.session.scalar(
        sa.select(sa.func.count()).where(Instrument.name.like("%质谱%"))
    ) > 10

    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    db.session.expire_all()
    assert [_count(m) for m in (Institution, Instrument, Firm, User, OpeningHours)] == counts

    # Every demo role can sign in with the printed password.
    for email in ("office@g60.example", "bureau-hefei@g60.example",
                  "engineer-jinhua@g60.example", "manager-zju@g60.example"):
        response = api.client.post(
            "/api/v1/tokens", json={"email": email, "password": "g60-demo-2026"}
        )
        assert response.status_code == 201, email

    # Booking works after the load: it wrote bookings with their ids, and on
    # PostgreSQL left the id sequence at 1, so every new booking was a 500.
    token = api.client.post("/api/v1/tokens", json={
        "email": "engineer-jinhua@g60.example", "password": "g60-demo-2026"}).json["token"]
    busiest = db.session.scalar(sa.select(Booking.instrument_id).group_by(Booking.instrument_id)
                                .order_by(sa.func.count().desc()).limit(1))
    day = workday(days_ahead=40)
    answers = [api.client.post("/api/v1/bookings", headers={"Authorization": f"Bearer {token}"}, json={
        "instrument_id": busiest, "start": iso(day, start), "end": iso(day, end), "purpose": "演示数据之后的预约"})
        for start, end in (("09:00", "10:00"), ("13:00", "14:00"), ("15:00", "16:00"))]
    assert {a.status_code for a in answers} <= {201, 409, 422} and 201 in {a.status_code for a in answers}, [
        a.json for a in answers]

    # Orders of entrusted testing in every status, for the demo's firm and
    # manager, without a mail to anyone about the demo's history.
    statuses = set(db.session.scalars(sa.select(Order.status)))
    assert statuses == {"submitted", "quoted", "accepted", "received", "reported", "closed", "declined",
                        "withdrawn", "rejected"}
    assert db.session.scalar(sa.select(sa.func.count(Order.id))) >= 30
    ordering_cities = set(db.session.scalars(sa.select(Firm.city_code).join(Order, Order.firm_id == Firm.id)))
    assert len(ordering_cities) == 9
    assert db.session.scalar(sa.select(sa.func.count(Order.id)).where(
        Order.status == "received", Order.due_on < date.today())) >= 1  # a report is late, for the desk
    assert db.session.scalar(sa.select(sa.func.count(Order.id)).where(
        Order.status.in_(("reported", "closed")), Order.voucher_amount > 0)) >= 1  # settled voucher money
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.kind.like("order_%"))) == 0
    assert violations() == []

    _the_corridor_at_work(api)


# What the generator aims for (README, "The demo region"); the seeded region
# must land inside these ranges.
UTILISATION = (0.35, 0.75)  # median instrument, last twelve months
SHARING = (0.15, 0.5)  # external ÷ used hours, corridor
BELOW_QUOTA = (0.2, 0.8)  # share of instruments below their quota, year to date


def _the_corridor_at_work(api):
    """Issue #22's proof, through the statistics API as the joint office sees it."""
    from statistics import median

    from instrument_share.accounts.policy import Scope
    from instrument_share.stats.services import below_quota, make_period

    token = api.client.post("/api/v1/tokens", json={
        "email": "office@g60.example", "password": "g60-demo-2026"}).json["token"]
    office = ApiClient(api.client, api.app, token)
    today = date.today()
    first = date(today.year - 1, today.month, 1)
    span = {"from": first.isoformat(), "to": today.isoformat()}
    months = office.get("/api/v1/stats/utilisation", query_string={**span, "group_by": "month"}).json["rows"]
    assert len(months) == 13 and all(float(m["used_hours"]) > 0 for m in months[:-1]), months
    per_instrument = office.get("/api/v1/stats/utilisation", query_string={**span, "group_by": "instrument"}).json
    utilisation = median(float(row["utilisation"] or 0) for row in per_instrument["rows"])
    sharing = float(per_instrument["totals"]["sharing_rate"])
    assert UTILISATION[0] <= utilisation <= UTILISATION[1], utilisation
    assert SHARING[0] <= sharing <= SHARING[1], sharing
    below = len(below_quota(Scope(), make_period(date(today.year, 1, 1), today)))
    assert BELOW_QUOTA[0] <= below / len(per_instrument["rows"]) <= BELOW_QUOTA[1], below

    vouchers = office.get("/api/v1/vouchers", query_string={"per_page": 100}).json["items"]
    assert {voucher["issuing_city"] for voucher in vouchers} == {
        "songjiang", "jiaxing", "hangzhou", "jinhua", "suzhou", "huzhou", "xuancheng", "wuhu", "hefei"}
    first_page = office.get("/api/v1/voucher-claims", query_string={"per_page": 1}).json
    assert first_page["total"] > 0
    lines = db.session.execute(sa.select(VoucherClaim.id, VoucherClaim.paid_on, VoucherClaimLine.status)
                               .join(VoucherClaimLine, VoucherClaimLine.claim_id == VoucherClaim.id)).all()
    decided: dict[int, set] = {}
    for claim_id, paid_on, status in lines:
        decided.setdefault(claim_id, {"paid"} if paid_on else set()).add(status)
    states = {"paid" if "paid" in seen else "filed" if seen == {"pending"} else "partly approved"
              for seen in decided.values()}
    assert states == {"paid", "partly approved", "filed"}, states
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.booking_suspended_at.is_not(None))) == 1
    assert violations() == []
