"""Edges of the statistics service that mutation testing of
stats/services.py found untested (issue #21, `mutation/run.py
stats/services.py`): through the service's own functions, never the
mutated line itself."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from instrument_share.accounts.policy import Scope
from instrument_share.booking.models import Blackout, Booking
from instrument_share.extensions import db
from instrument_share.stats import overview, services

from .test_rollups import FAR, assert_rollups_match_raw, at

ROUND_THE_CLOCK = [(d, 0, 24 * 60) for d in range(7)]


def _book(instrument, user, start, end) -> None:
    db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start, end=end,
                           occupied_until=end, status="confirmed", purpose="x", cost=Decimal("100.00"),
                           firm_pays=Decimal("100.00")))


def test_a_blackout_of_one_minute_takes_its_minute_from_every_grouping(make, app_context):
    """Blackouts of a single minute, one inside a whole month (read from the
    instruments' monthly rows) and one on a day at the period's edge (the
    daily rows): each takes exactly its minute from the open hours of its
    instrument, by city and institution (summed by institution in SQL) as
    by instrument, from the roll-ups as from the raw rows; and a blackout of
    an instrument open by day takes its hours from that day alone, not a
    minute from the day before's hours, which it does not touch."""
    period = services.Period(date(2026, 7, 25), date(2026, 9, 5))  # August whole, days at both ends
    manager = make.user(role="manager")
    instrument = make.instrument(institution_id=manager.institution_id, hours=ROUND_THE_CLOCK,
                                 open_on_holidays=True)
    make.instrument(institution_id=manager.institution_id, hours=ROUND_THE_CLOCK, open_on_holidays=True)
    for day in (date(2026, 7, 28), date(2026, 8, 14)):
        db.session.add(Blackout(instrument=instrument, start=at(day, 600), end=at(day, 601), reason="维护"))
    _book(instrument, make.user(), at(date(2026, 8, 3), 600), at(date(2026, 8, 3), 660))
    daytime = make.instrument()  # of another institution, Monday to Friday 09:00–17:00
    db.session.add(Blackout(instrument=daytime, start=at(date(2026, 8, 12), 13 * 60), end=at(date(2026, 8, 12), 15 * 60),
                            reason="维护"))  # a Wednesday: the day before's hours lie outside it
    db.session.commit()
    days = (period.last - period.first).days + 1
    whole = Decimal(2 * days * 24)
    own = Scope(institution_id=manager.institution_id)
    for group_by in ("city", "institution", "instrument"):
        totals = services.utilisation(own, period, group_by, today=FAR)["totals"]
        assert totals["open_hours"] == (whole - Decimal(2) / 60).quantize(Decimal("0.01")), group_by
    assert_rollups_match_raw(period, [Scope(), own])


def test_instruments_used_exactly_alike_rank_by_their_booked_time(make, app_context):
    """The least used first: two instruments whose booked share of their open
    time is exactly the same (45 of 100 minutes, 225 of 500) tie on it and
    rank by booked time, the less booked first, whatever their order of
    creation, although 45/100 and 225/500 written as decimals by way of
    hours (100/60) differ in the last place."""
    day = date(2026, 9, 28)  # a Monday
    user = make.user()
    busy = make.instrument(hours=[(0, 540, 540 + 500)])
    quiet = make.instrument(hours=[(0, 540, 540 + 100)])
    _book(busy, user, at(day, 540), at(day, 540 + 225))
    _book(quiet, user, at(day, 540), at(day, 540 + 45))
    db.session.commit()
    period = services.Period(day, day)
    for today in (FAR, day):
        ranked = services.by_use(services.instruments_over(Scope(), {"period": period}, today)["period"])
        assert [item.id for item in ranked if item.id in (busy.id, quiet.id)] == [quiet.id, busy.id]


def test_each_group_is_labelled_by_its_own_name_from_the_roll_ups_and_the_raw_rows(make, app_context):
    """By institution each row bears the institution's names, its English
    one in label_en (it was the Chinese one on every path: found by mutation
    testing); by category and by city, the reference tables' (an idle
    institution and category included), whether a period is summed from the
    roll-ups or the raw rows, and in the dashboard's tables."""
    day = date(2026, 9, 28)
    manager = make.user(role="manager")
    institution = manager.institution
    institution.name, institution.name_en, institution.city_code = "合肥工业大学", "Hefei University of Technology", "hefei"
    busy = make.instrument(institution_id=institution.id, category_code="analytical-electron-optics")
    idle = make.instrument(category_code="analytical-spectroscopy")
    _book(busy, make.user(), at(day, 600), at(day, 660))
    db.session.commit()
    period = services.Period(day, day)
    for today in (FAR, day):
        by_institution = services.utilisation(Scope(), period, "institution", today=today)["rows"]
        labels = {row["key"]: (row["label"], row["label_en"]) for row in by_institution}
        assert labels[str(institution.id)] == ("合肥工业大学", "Hefei University of Technology"), today
        assert labels[str(idle.institution_id)] == (idle.institution.name, idle.institution.name_en), today
        by_category = services.utilisation(Scope(), period, "category", today=today)["rows"]
        labels = {row["key"]: (row["label"], row["label_en"]) for row in by_category}
        assert labels["analytical-electron-optics"][0] == "电子光学仪器", today
        assert labels["analytical-spectroscopy"][0] != "analytical-spectroscopy", today
        by_city = services.utilisation(Scope(), period, "city", today=today)["rows"]
        assert {row["key"]: row["label"] for row in by_city}["hefei"] == "合肥", today
    ytd = services.year_to_date(period)  # the dashboard's tables, in one statement
    tables = overview.overview(Scope(), period, ytd, services.scope_orders(Scope(), ytd.start, period.end), 5)
    labels = {row["key"]: (row["label"], row["label_en"]) for row in tables.groupings["institution"]["rows"]}
    assert labels[str(institution.id)] == ("合肥工业大学", "Hefei University of Technology")


def test_an_instrument_used_exactly_its_quota_to_date_is_not_below_it(make, app_context):
    """On 14 March 2026, 73 of the year's 365 days, a special-purpose
    instrument's quota to date is 800 h × 73/365 = 160 h exactly: used 160 h
    it is not below quota, 15 minutes less and it is, from the roll-ups and
    from the raw rows alike."""
    period = services.Period(date(2026, 3, 1), date(2026, 3, 14))
    user = make.user()
    at_quota = make.instrument(hours=ROUND_THE_CLOCK, open_on_holidays=True, quota_class="special")
    short = make.instrument(hours=ROUND_THE_CLOCK, open_on_holidays=True, quota_class="special")
    for n in range(20):  # 20 days of 8 hours
        day = date(2026, 1, 5) + timedelta(days=n)
        for instrument, minutes in ((at_quota, 8 * 60), (short, 8 * 60 - (15 if n == 0 else 0))):
            db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=at(day, 480),
                                   end=at(day, 480 + minutes), occupied_until=at(day, 480 + minutes),
                                   status="completed", purpose="x", cost=Decimal("0.00"), firm_pays=Decimal("0.00")))
    db.session.commit()
    for today in (FAR, period.first):
        below = [row for row in services.below_quota(Scope(), period, today=today)
                 if row["id"] in (at_quota.id, short.id)]
        assert [(row["id"], row["used_hours"], row["expected_hours"]) for row in below] == [
            (short.id, Decimal("159.75"), Decimal("160.00"))], today


def test_instruments_below_quota_rank_by_attainment_exactly_ties_by_id(make, app_context):
    """A general-purpose instrument used 12 h 15 min and a special-purpose one
    used 7 h by 14 March 2026 have attained exactly as much of their quotas
    to date (12.25 of 280 h, 7 of 160 h): they tie and rank by id, although
    the quotients divided the other way round differ in the last place; a
    third, special, used 1 h, comes first."""
    period = services.Period(date(2026, 3, 1), date(2026, 3, 14))
    user = make.user()
    general = make.instrument(hours=ROUND_THE_CLOCK, open_on_holidays=True, quota_class="general")
    special = make.instrument(hours=ROUND_THE_CLOCK, open_on_holidays=True, quota_class="special")
    least = make.instrument(hours=ROUND_THE_CLOCK, open_on_holidays=True, quota_class="special")
    day = date(2026, 1, 5)
    for instrument, minutes in ((general, 12 * 60 + 15), (special, 7 * 60), (least, 60)):
        db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=at(day, 480),
                               end=at(day, 480 + minutes), occupied_until=at(day, 480 + minutes),
                               status="completed", purpose="x", cost=Decimal("0.00"), firm_pays=Decimal("0.00")))
    db.session.commit()
    mine = (general.id, special.id, least.id)
    for today in (FAR, period.first):
        below = [row for row in services.below_quota(Scope(), period, today=today) if row["id"] in mine]
        assert [(row["id"], row["attainment"]) for row in below] == [
            (least.id, Decimal("0.0062")), (general.id, Decimal("0.0438")), (special.id, Decimal("0.0438"))], today


def test_only_confirmed_and_completed_bookings_bring_hours_to_a_flow(make, app_context):
    """A firm of Jinhua booked an instrument of Hefei for one hour, and had
    twenty more bookings there cancelled, rejected, awaiting approval or not
    shown up to, and one more hour on each side of the day: the day's flow is
    one hour and one booking, with no revenue until it is completed; a firm
    of Jiaxing's cancelled booking leaves its flow at nothing: from the raw
    rows as from the roll-ups."""
    day = date(2026, 9, 28)
    institution = make.institution(city_code="hefei")
    instrument = make.instrument(institution_id=institution.id, hours=ROUND_THE_CLOCK)
    user = make.user(firm=make.firm(city_code="jinhua"))
    _book(instrument, user, at(day, 600), at(day, 660))
    _book(instrument, user, at(day, -60), at(day, 0))  # ends as the period starts
    _book(instrument, user, at(day, 24 * 60), at(day, 25 * 60))  # starts as it ends
    for n, status in enumerate(["cancelled", "rejected", "pending", "no_show"] * 5):
        start = at(day, 700 + 5 * n)
        db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start, end=start
                               + timedelta(minutes=5), occupied_until=start + timedelta(minutes=5), status=status,
                               purpose="x", cost=Decimal("10.00"), firm_pays=Decimal("10.00")))
    other = make.user(firm=make.firm(city_code="jiaxing"))  # only cancelled
    idle = make.instrument(institution_id=institution.id, hours=ROUND_THE_CLOCK)
    for booked in (instrument, idle):
        db.session.add(Booking(instrument=booked, user=other, firm_id=other.firm_id, start=at(day, 900),
                               end=at(day, 960), occupied_until=at(day, 960), status="cancelled", purpose="x",
                               cost=Decimal("10.00"), firm_pays=Decimal("10.00")))
    db.session.commit()
    period = services.Period(day, day)
    for today in (day, FAR):
        cells = {(row["from"], row["to"]): (row["hours"], row["bookings"], row["revenue"])
                 for row in services.flows(Scope(), period, today=today)["rows"]}
        assert cells[("jinhua", "hefei")] == (Decimal("1.00"), 1, Decimal("0.00")), today  # confirmed: no revenue yet
        assert cells[("jiaxing", "hefei")] == (Decimal("0.00"), 0, Decimal("0.00")), today
        rows = {row["key"]: row for row in services.utilisation(Scope(), period, "instrument", today=today)["rows"]}
        figures = ("booked_hours", "used_hours", "external_hours", "bookings", "revenue", "voucher_revenue")
        assert [rows[str(instrument.id)][name] for name in figures] == [
            Decimal("1.00"), Decimal("0.00"), Decimal("0.00"), 1, Decimal("0.00"), Decimal("0.00")], today
        assert [rows[str(idle.id)][name] for name in figures] == [
            Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), 0, Decimal("0.00"), Decimal("0.00")], today


def test_a_week_of_national_holidays_is_open_only_for_an_instrument_open_on_holidays(make, app_context):
    """Monday 5 to Wednesday 7 October 2026 are statutory days off (National
    Day). An instrument open on holidays is open those days by their
    weekdays' hours (round the clock: 72 h); one that is not is open not a
    minute, from the roll-ups and from the raw rows, in the table by
    instrument and by city alike."""
    period = services.Period(date(2026, 10, 5), date(2026, 10, 7))
    open_on_holidays = make.instrument(hours=ROUND_THE_CLOCK, open_on_holidays=True,
                                       institution_id=make.institution(city_code="hefei").id)
    closed = make.instrument(hours=ROUND_THE_CLOCK, institution_id=make.institution(city_code="songjiang").id)
    db.session.commit()
    for today in (FAR, period.first):
        rows = services.utilisation(Scope(), period, "instrument", today=today)["rows"]
        assert {row["key"]: row["open_hours"] for row in rows} == {
            str(open_on_holidays.id): Decimal("72.00"), str(closed.id): Decimal("0.00")}, today
        by_city = services.utilisation(Scope(), period, "city", today=today)["rows"]
        assert [(row["key"], row["open_hours"]) for row in by_city] == [
            ("songjiang", Decimal("0.00")), ("hefei", Decimal("72.00"))], today


def test_cities_come_in_the_corridors_order_institutions_and_instruments_by_id(make, app_context):
    """Songjiang, Hangzhou, Hefei in the corridor's order (the alphabet would
    put Hefei first); eleven institutions and instruments by their ids as
    numbers (as text 10 and 11 would come before 2), from the roll-ups and
    the raw rows."""
    for city in ("hefei", "hangzhou", "songjiang") + ("jinhua",) * 8:
        make.instrument(institution_id=make.institution(city_code=city).id)
    db.session.commit()
    period = services.Period(date(2026, 9, 28), date(2026, 10, 4))
    for today in (FAR, period.first):
        rows = services.utilisation(Scope(), period, "city", today=today)["rows"]
        assert [row["key"] for row in rows] == ["songjiang", "hangzhou", "jinhua", "hefei"], today
        for group_by in ("institution", "instrument"):
            keys = [int(row["key"]) for row in services.utilisation(Scope(), period, group_by, today=today)["rows"]]
            assert keys == sorted(keys) and len(keys) == 11 and max(keys) >= 10, (group_by, today)


def test_the_voucher_share_is_the_vouchers_part_of_the_revenue_exactly(make, app_context):
    """¥100 of a completed booking, ¥30.00 of it paid by an innovation voucher: a share of
    0.3000, from the roll-ups and the raw rows; with no revenue the share
    is 0."""
    day = date(2026, 9, 28)
    instrument, idle = make.instrument(hours=ROUND_THE_CLOCK), make.instrument(hours=ROUND_THE_CLOCK)
    user = make.user()
    db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=at(day, 600),
                           end=at(day, 660), occupied_until=at(day, 660), status="completed", purpose="x",
                           cost=Decimal("100.00"), voucher_amount=Decimal("30.00"), firm_pays=Decimal("70.00")))
    db.session.commit()
    period = services.Period(day, day)
    for today in (FAR, day):
        rows = {row["key"]: row for row in services.utilisation(Scope(), period, "instrument", today=today)["rows"]}
        booked = rows[str(instrument.id)]
        assert (booked["revenue"], booked["voucher_revenue"], booked["voucher_share"]) == (
            Decimal("100.00"), Decimal("30.00"), Decimal("0.3000")), today
        assert rows[str(idle.id)]["voucher_share"] == Decimal("0"), today
