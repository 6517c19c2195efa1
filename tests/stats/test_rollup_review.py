"""Review of the institutions' monthly rows and the weekly open minutes
(issue #20, 2026-12-01): figures read from them must equal the same figures
from the raw rows (and from the per-instrument path) for every grouping and
scope."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from instrument_share.accounts.policy import Scope
from instrument_share.booking import schedule
from instrument_share.booking.models import Booking
from instrument_share.extensions import db
from instrument_share.stats import services

from .test_rollups import FAR, at

MONDAY = date(2026, 9, 7)  # a plain working week (no holiday)
WEEKDAYS_9_TO_17 = [(d, 9 * 60, 17 * 60) for d in range(5)]


def test_overlapping_blackouts_of_one_instrument_do_not_take_open_hours_of_its_neighbours(make, app_context):
    """Two blackouts of one instrument over the same day (create_blackout
    does not refuse a second over the first) counted their minutes twice:
    on that day the instrument's blackout minutes (960) passed its open
    minutes (480), and the per-instrument path clamped it at 0. The
    grouping by institution or city from the institutions' rows subtracted
    the sum of the institution's blackout minutes from the sum of its open
    minutes, so the excess was taken from the other instrument's open
    hours. Expected: the same open hours as the raw figures and as the
    per-instrument grouping (the neighbour's 8 h; over the week, 80 h less
    the one Tuesday, now that a minute two blackouts take counts once)."""
    institution = make.institution(city_code="hangzhou")
    blacked = make.instrument(institution=institution, hours=WEEKDAYS_9_TO_17)
    make.instrument(institution=institution, hours=WEEKDAYS_9_TO_17)
    manager = make.user(role="manager", institution_id=institution.id)
    day = MONDAY + timedelta(days=1)
    long_ago = at(day, 0) - timedelta(days=30)
    for reason in ("真空泵维修", "年度校准"):  # both over the whole of Tuesday
        schedule.create_blackout(blacked, manager, at(day, 0), at(day, 24 * 60), reason, now=long_ago)
        db.session.commit()
    for period in (services.Period(day, day),  # Tuesday alone: 0 h of the blacked-out one, 8 h of the other
                   services.Period(day - timedelta(days=1), day + timedelta(days=3))):  # Mon-Fri: 72 h
        for scope in (Scope(), Scope(institution_id=institution.id), Scope(city="hangzhou")):
            by_instrument = services.utilisation(scope, period, "instrument", today=FAR)["totals"]["open_hours"]
            raw_by_instrument = services.utilisation(scope, period, "instrument",
                                                     today=period.first)["totals"]["open_hours"]
            assert by_instrument == raw_by_instrument == (Decimal("8.00") if period.first == day
                                                          else Decimal("72.00")), (period, scope)
            for group_by in ("institution", "city"):
                raw = services.utilisation(scope, period, group_by, today=period.first)["totals"]["open_hours"]
                rolled = services.utilisation(scope, period, group_by, today=FAR)["totals"]["open_hours"]
                assert raw == by_instrument, (period, scope, group_by, raw)
                assert rolled == raw, (period, scope, group_by, rolled, raw)


def _hefei_with_a_booking(make):
    """An institution of Hefei whose instrument a Jinhua firm used for 2 h on 8 September 2026."""
    hefei = make.institution(city_code="hefei")
    instrument = make.instrument(institution=hefei, hours=WEEKDAYS_9_TO_17)
    booker = make.user(firm=make.firm(city_code="jinhua"))
    start = at(date(2026, 9, 8), 10 * 60)
    db.session.add(Booking(instrument=instrument, user=booker, firm_id=booker.firm_id, start=start,
                           end=start + timedelta(hours=2), occupied_until=start + timedelta(hours=2),
                           status="completed", purpose="x", cost=Decimal("600.00"), firm_pays=Decimal("600.00")))
    db.session.commit()
    return hefei


def test_the_trend_of_an_institution_outside_the_scopes_city_is_empty_as_every_other_figure(make, app_context):
    """An admin may ask for one institution and a city (accounts.policy.
    stats_scope does not check that they agree): every figure is then of
    no instrument (`_in_scope`: both conditions). `_rolled_by` filters the
    institutions' monthly rows by the institution alone when it is given,
    dropping the city: the trend by month (from the roll-ups) shows the
    institution's bookings where the raw trend, the groupings and the
    flows show nothing."""
    hefei = _hefei_with_a_booking(make)
    scope = Scope(institution_id=hefei.id, city="hangzhou")  # hefei's institution, Hangzhou's figures
    for period in (services.Period(date(2026, 9, 1), date(2026, 9, 30)),   # a whole month: the monthly rows
                   services.Period(date(2026, 8, 1), date(2026, 10, 31))):
        raw = services.by_month(scope, period, today=period.first)
        assert raw["totals"]["bookings"] == 0
        assert services.utilisation(scope, period, "institution", today=FAR)["totals"]["bookings"] == 0
        assert services.by_month(scope, period, today=FAR) == raw, period



def test_an_admin_asking_for_an_institution_and_another_city_gets_one_answer_over_http(make, api):
    """The same through the API an admin uses (`institution` and `city`
    both given; stats_scope keeps both): the months' totals agree with the
    grouping by institution, which shows nothing."""
    hefei = _hefei_with_a_booking(make)
    office = api.as_user(make.user(role="admin"))
    query = {"from": "2026-09-01", "to": "2026-09-30", "institution": hefei.id, "city": "hangzhou"}
    totals = {group_by: office.get("/api/v1/stats/utilisation", query_string={**query, "group_by": group_by}).json
              ["totals"] for group_by in ("institution", "month")}
    assert totals["institution"]["bookings"] == 0
    assert totals["month"] == totals["institution"]



def test_a_minute_two_blackouts_both_take_is_lost_once(make, app_context):
    """Blackouts of one instrument may overlap (create_blackout allows a
    second over the first): each minute of opening hours they take counts
    once, from the roll-ups and from the raw rows, in every grouping and in
    the trend (it counted twice on every path)."""
    institution = make.institution(city_code="hangzhou")
    blacked = make.instrument(institution=institution, hours=WEEKDAYS_9_TO_17)
    manager = make.user(role="manager", institution_id=institution.id)
    tuesday = MONDAY + timedelta(days=1)
    long_ago = at(tuesday, 0) - timedelta(days=30)
    for opens, closes in ((9, 13), (11, 15), (15, 16)):  # overlapping, then touching: 9:00 to 16:00
        schedule.create_blackout(blacked, manager, at(tuesday, opens * 60), at(tuesday, closes * 60), "维修",
                                 now=long_ago)
        db.session.commit()
    period = services.Period(MONDAY, MONDAY + timedelta(days=4))
    for today in (FAR, period.first):  # the roll-ups, the raw rows
        for group_by in ("instrument", "institution", "city", "category"):
            figures = services.utilisation(Scope(), period, group_by, today=today)["totals"]
            assert figures["open_hours"] == Decimal("33.00"), (today, group_by)  # 40 h less 7 h
        trend = services.utilisation(Scope(), period, "month", today=today)["totals"]
        assert trend["open_hours"] == Decimal("33.00"), today
