"""The dashboard summed by the database (stats/overview.py, issue #20) equals
the per-instrument path on edge inputs, on both engines; found by a
red-team review, and kept: an instrument moved between the dashboard's two
reads must not leave an order without its group."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from instrument_share.accounts.models import User
from instrument_share.booking.models import Blackout, Booking
from instrument_share.errors import ServiceError
from instrument_share.extensions import db
from instrument_share.orders.models import Order, OrderEvent
from instrument_share.stats import services
from instrument_share.stats.dashboard import dashboard

from .test_rollups import FAR, at

_numbers = iter(range(100000, 999999))


def _order(instrument, user, reported_at, minutes, amount="100.00", status="reported"):
    order = Order(number=f"WT-R-{next(_numbers)}", instrument_id=instrument.id,
                  institution_id=instrument.institution_id, firm_id=user.firm_id, user_id=user.id, title="x",
                  status=status, quote_amount=Decimal(amount), received_on=(reported_at - timedelta(days=3)).date(),
                  machine_minutes=minutes, voucher_amount=Decimal("0.00"), firm_pays=Decimal(amount))
    order.events.append(OrderEvent(action="reported", at=reported_at))
    db.session.add(order)


def _booking(instrument, user, start, hours, status="completed"):
    end = start + timedelta(hours=hours)
    db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start, end=end,
                           occupied_until=end, status=status, purpose="x", cost=Decimal("10.00"),
                           firm_pays=Decimal("10.00")))


@pytest.fixture
def edge_world(make):
    hz, hf, jh = (make.institution(city_code=c) for c in ("hangzhou", "hefei", "jinhua"))
    general = make.instrument(institution=hz)
    special = make.instrument(institution=hz, quota_class="special", category_code="analytical-x-ray")
    closed = make.instrument(institution=hf, hours=[])                      # never open
    holidays = make.instrument(institution=hf, open_on_holidays=True)
    always = make.instrument(institution=jh, hours=[(d, 0, 24 * 60) for d in range(7)])
    twins = [make.instrument(institution=jh) for _ in range(3)]            # ties
    idle = [make.instrument(institution=hz) for _ in range(22)]             # more than a list shows
    hz_firm = make.user(firm=make.firm(city_code="hangzhou"))
    jh_firm = make.user(firm=make.firm(city_code="jinhua"))
    for day in (date(2025, 10, 1), date(2025, 12, 22), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 5)):
        _booking(general, hz_firm, at(day, 600), 3)
        _booking(holidays, jh_firm, at(day, 600), 2)
        _booking(closed, jh_firm, at(day, 600), 1)
        _booking(always, hz_firm, at(day, 0), 30)
        for twin in twins:
            _booking(twin, jh_firm, at(day, 600), 2)
    for n in range(40):  # special: well used in 2025 (another year), nothing in 2026
        _booking(special, hz_firm, at(date(2025, 8, 1) + timedelta(days=2 * n), 0), 20)
    db.session.add(Blackout(instrument=general, start=at(date(2025, 12, 22), 0), end=at(date(2025, 12, 24), 0),
                            reason="x"))
    db.session.add(Blackout(instrument=holidays, start=at(date(2026, 1, 1), 0), end=at(date(2026, 1, 2), 0),
                            reason="x"))
    # Orders: in the period, in the year but not the period, out of scope, by a Hangzhou firm in Jinhua/Hefei.
    for when, instrument, user, minutes in ((at(date(2025, 12, 23), 600), general, jh_firm, 90),
                                            (at(date(2026, 1, 5), 900), holidays, hz_firm, 600),
                                            (at(date(2026, 1, 2), 60), twins[0], hz_firm, None),
                                            (at(date(2025, 11, 3), 60), special, jh_firm, 6000),
                                            (at(date(2025, 12, 31), 23 * 60 + 59), always, hz_firm, 30),
                                            (at(date(2026, 1, 1), 0), closed, hz_firm, 45)):
        _order(instrument, user, when, minutes)
    db.session.commit()
    viewers = {
        "admin": (make.user(role="admin"), None),
        "admin-hefei": (make.user(role="admin"), "hefei"),
        "admin-empty": (make.user(role="admin"), "jiaxing"),
        "bureau": (make.user(role="city_admin", city_code="hangzhou"), None),
        "bureau-own": (make.user(role="city_admin", city_code="hangzhou"), "hangzhou"),
        "bureau-jinhua": (make.user(role="city_admin", city_code="jinhua"), None),
        "manager-hz": (make.user(role="manager", institution_id=hz.id), None),
        "manager-hf": (make.user(role="manager", institution_id=hf.id), None),
    }
    return {"viewers": viewers, "idle": idle, "hefei": hf}


PERIODS = [
    (date(2025, 12, 20), date(2026, 1, 10)),   # across the new year
    (date(2026, 1, 5), date(2026, 1, 5)),      # one day
    (date(2025, 12, 1), date(2025, 12, 31)),   # exactly a month
    (date(2025, 10, 1), date(2025, 10, 7)),    # national holidays
    (date(2025, 1, 1), date(2025, 12, 31)),    # a whole year
]


@pytest.mark.parametrize("first,last", PERIODS)
def test_both_paths_alike_on_edge_inputs(edge_world, app_context, first, last):
    for name, (user, city) in edge_world["viewers"].items():
        viewer = db.session.get(User, user.id)
        by_database = dashboard(viewer, FAR, first, last, city)
        per_instrument = dashboard(viewer, first, first, last, city)
        assert services.split(by_database.period, FAR)[1] is None
        assert by_database == per_instrument, name


def test_a_bureau_narrowing_to_another_city_is_refused_on_both_paths(edge_world, app_context):
    user, _ = edge_world["viewers"]["bureau"]
    viewer = db.session.get(User, user.id)
    for today in (FAR, date(2025, 12, 20)):
        with pytest.raises(ServiceError) as refused:
            dashboard(viewer, today, date(2025, 12, 20), date(2026, 1, 10), "hefei")
        assert refused.value.status == 403


def test_an_instrument_recategorised_during_the_dashboard_is_no_500(edge_world, app_context, monkeypatch):
    """The orders are read by one statement, the instruments' groups by a
    later one, each on its own snapshot (PostgreSQL's READ COMMITTED;
    SQLite's reads run outside any transaction, database.py). An
    instrument's category edited in between (catalogue/manage.py) leaves an
    order whose category has no group: overview() raises KeyError (a 500),
    where the per-instrument path just shows the page."""
    import sqlalchemy as sa

    from instrument_share.catalogue.models import Instrument
    from instrument_share.stats import overview as overview_module

    original = overview_module._reported_orders

    def edited_meanwhile(*args, **kwargs):
        with db.engine.begin() as other:  # another request's committed edit
            other.execute(sa.update(Instrument).where(Instrument.institution_id == edge_world["hefei"].id)
                          .values(category_code="analytical-x-ray"))
        return original(*args, **kwargs)

    monkeypatch.setattr(overview_module, "_reported_orders", edited_meanwhile)
    user, city = edge_world["viewers"]["admin-hefei"]
    dashboard(db.session.get(User, user.id), FAR, date(2025, 12, 20), date(2026, 1, 10), city)
