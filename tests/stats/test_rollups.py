"""Daily roll-ups (issue #20): after any history, every statistic read from
the roll-ups equals the same statistic computed from the raw rows, for every
grouping, scope and split between the two; the rebuild finds no drift."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from instrument_share.accounts.policy import Scope
from instrument_share.booking.models import Blackout, Booking
from instrument_share.catalogue.models import OpeningHours
from instrument_share.extensions import db
from instrument_share.stats import rollups, services
from instrument_share.stats.models import DailyFigures
from instrument_share.timeutil import platform_zone

FAR = date(2100, 1, 1)  # "today" after every day: all from the roll-ups
STATUSES = ["pending", "confirmed", "completed", "completed", "no_show", "cancelled", "rejected"]


def at(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(), platform_zone()) + timedelta(minutes=minute)


def assert_rollups_match_raw(period: services.Period, scopes, middle: date | None = None) -> None:
    """Every grouping, the trend by month and the flows of each scope: from the roll-ups (today
    after the period), from the raw rows (today its first day), and split
    at `middle`, all equal; and the stored roll-ups are what a rebuild finds."""
    middle = middle or period.first + (period.last - period.first) / 2
    for scope in scopes:
        for group_by in services.GROUPS:
            raw = services.utilisation(scope, period, group_by, today=period.first)
            assert services.utilisation(scope, period, group_by, today=FAR) == raw, (scope, group_by)
            assert services.utilisation(scope, period, group_by, today=middle) == raw, (scope, group_by)
        raw_flows = services.flows(scope, period, today=period.first)
        assert services.flows(scope, period, today=FAR) == raw_flows, scope
        assert services.flows(scope, period, today=middle) == raw_flows, scope
        raw_months = services.by_month(scope, period, today=period.first)  # the trend, blackouts included
        assert services.by_month(scope, period, today=FAR) == raw_months, scope
        assert services.by_month(scope, period, today=middle) == raw_months, scope
        raw_quota = services.below_quota(scope, period, today=period.first)
        assert services.below_quota(scope, period, today=FAR) == raw_quota, scope
    assert rollups.drift(rollups.compute(period.first, period.last),
                         rollups.stored(period.first, period.last)) == []
    assert rollups.months_drift(period.first, period.last) == []
    assert rollups.derive_open_minutes(check=True) == []  # each instrument's weekly hours as changed


def _random_history(make, rng: random.Random, first: date, days: int):
    cities = ["hangzhou", "jinhua", "hefei"]
    institutions = [make.institution(city_code=city) for city in cities]
    instruments = [make.instrument(institution=institutions[n % 3]) for n in range(4)]
    instruments.append(make.instrument(institution=institutions[0], open_on_holidays=True))
    instruments.append(make.instrument(institution=institutions[1],  # open round the clock
                                       hours=[(d, 0, 24 * 60) for d in range(7)]))
    users = [make.user(firm=make.firm(city_code=city)) for city in cities]
    users.append(make.user(role="manager", institution_id=institutions[0].id))  # staff of the first
    users.append(make.user(role="manager", institution_id=institutions[2].id))

    def random_times():
        start = at(first + timedelta(days=rng.randrange(-3, days + 3)), rng.randrange(0, 24 * 60, 15))
        return start, start + timedelta(minutes=rng.choice([30, 90, 240, 600, 26 * 60, 3 * 24 * 60]))

    bookings = []
    cursor = {instrument.id: at(first - timedelta(days=3), 0) for instrument in instruments}
    for _ in range(160):
        user = rng.choice(users)
        instrument = rng.choice(instruments)
        # One after the other on each instrument: active ones never overlap.
        start = cursor[instrument.id] + timedelta(minutes=rng.randrange(0, 2 * 24 * 60, 15))
        end = start + timedelta(minutes=rng.choice([30, 90, 240, 600, 26 * 60, 3 * 24 * 60]))
        cursor[instrument.id] = end
        cost = Decimal(rng.randrange(0, 500000)) / 100
        booking = Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start, end=end,
                          occupied_until=end, status=rng.choice(STATUSES), purpose="x", cost=cost,
                          voucher_amount=(cost / 2).quantize(Decimal("0.01")),
                          firm_pays=cost - (cost / 2).quantize(Decimal("0.01")))
        if booking.status == "completed" and rng.random() < 0.6:
            booking.used_start = start + timedelta(minutes=rng.randrange(-600, 600, 5))
            # Within a day of the booked time, as record_usage allows.
            booking.used_end = min(booking.used_start + timedelta(minutes=rng.randrange(5, 2000, 5)),
                                   end + timedelta(days=1))
        bookings.append(booking)
    db.session.add_all(bookings)
    for _ in range(12):
        start, end = random_times()
        db.session.add(Blackout(instrument=rng.choice(instruments), start=start, end=end, reason="维护"))
    db.session.commit()
    return instruments, institutions, bookings


def _random_changes(rng: random.Random, instruments, bookings, first: date, days: int, steps: int) -> None:
    """Changes of every kind the roll-ups follow, committed in small batches."""
    moved = set()  # moved bookings stay inactive: active ones never overlap
    for step in range(steps):
        booking = rng.choice(bookings)
        kind = rng.randrange(8)
        if kind == 0:
            booking.status = rng.choice(STATUSES if booking.id not in moved else ["completed", "no_show", "cancelled"])
        elif kind == 1:
            shift = timedelta(minutes=rng.randrange(-3000, 3000, 15))
            if booking.status in ("pending", "confirmed"):
                booking.status = rng.choice(["completed", "cancelled"])
            booking.start, booking.end = booking.start + shift, booking.end + shift
            booking.occupied_until = booking.end
            moved.add(booking.id)
        elif kind == 2:
            booking.status = "completed"
            booking.used_start = booking.start - timedelta(minutes=rng.randrange(0, 120, 5))
            booking.used_end = booking.end + timedelta(minutes=rng.randrange(0, 120, 5))
        elif kind == 3:
            booking.cost = Decimal(rng.randrange(0, 90000)) / 100
            booking.voucher_amount = Decimal("0.00")
            booking.firm_pays = booking.cost
        elif kind == 4:
            instrument = rng.choice(instruments)
            start = at(first + timedelta(days=rng.randrange(days)), rng.randrange(0, 24 * 60, 30))
            db.session.add(Blackout(instrument=instrument, start=start,
                                    end=start + timedelta(minutes=rng.choice([60, 600, 2 * 24 * 60])), reason="x"))
        elif kind == 5:
            blackout = db.session.scalars(sa.select(Blackout).order_by(Blackout.id)).first()
            if blackout is not None:
                db.session.delete(blackout)
        elif kind == 6:
            instrument = rng.choice(instruments)
            opens = rng.choice([0, 8 * 60, 9 * 60])
            instrument.opening_hours = [OpeningHours(weekday=d, open_minute=opens, close_minute=rng.choice([17, 20, 24]) * 60)
                                        for d in rng.sample(range(7), rng.randrange(1, 7))]
        else:
            instrument = rng.choice(instruments)
            instrument.open_on_holidays = not instrument.open_on_holidays
        if step % 3 == 2:
            db.session.commit()
    db.session.commit()


def test_rollups_equal_the_raw_figures_after_a_random_history(make, app_context):
    rng = random.Random(20)
    first, days = date(2026, 9, 20), 25  # over the National Day holidays and a make-up working day
    instruments, institutions, bookings = _random_history(make, rng, first, days)
    period = services.Period(first, first + timedelta(days=days - 1))
    scopes = [Scope(), Scope(city="hangzhou"), Scope(city="hefei"), Scope(institution_id=institutions[1].id)]
    assert_rollups_match_raw(period, scopes)
    _random_changes(rng, instruments, bookings, first, days, 90)
    assert_rollups_match_raw(period, scopes)
    # A period's edges inside the history, and one day.
    assert_rollups_match_raw(services.Period(first + timedelta(days=3), first + timedelta(days=11)), scopes[:2])
    assert_rollups_match_raw(services.Period(first + timedelta(days=5), first + timedelta(days=5)), scopes[:1])


def test_monthly_rollups_equal_the_raw_figures_over_months_and_their_edges(make, app_context):
    """Periods of whole months (the monthly rows), of a month mostly inside
    (the month less its days outside) and mostly outside (its days), with
    changes of every kind in between; the monthly rows and flows always the
    sums of the daily ones."""
    rng = random.Random(31)
    first, days = date(2026, 8, 28), 70
    instruments, institutions, bookings = _random_history(make, rng, first, days)
    scopes = [Scope(), Scope(city="hefei"), Scope(institution_id=institutions[0].id)]
    periods = [services.Period(date(2026, 9, 1), date(2026, 9, 30)),     # one whole month
               services.Period(date(2026, 8, 28), date(2026, 10, 29)),   # less 2 days of October
               services.Period(date(2026, 9, 4), date(2026, 10, 3))]     # September less 3 days, 3 of October
    for period in periods:
        assert_rollups_match_raw(period, scopes)
    _random_changes(rng, instruments, bookings, first, days, 60)
    for period in periods:
        assert_rollups_match_raw(period, scopes)
    stored_months = db.session.scalar(sa.select(sa.func.count()).select_from(rollups.MONTHLY))
    assert stored_months >= len(instruments) and db.session.scalar(
        sa.select(sa.func.count()).select_from(rollups.BY_INSTITUTION)) > 0


def test_a_period_is_read_as_months_and_at_most_half_a_month_of_days_at_each_end():
    cover = services._cover(services.Period(date(2025, 11, 30), date(2026, 11, 29)))
    assert cover == [(1, "day", date(2025, 11, 30), date(2025, 11, 30)),
                     (1, "month", date(2025, 12, 1), date(2026, 11, 30)),
                     (-1, "day", date(2026, 11, 30), date(2026, 11, 30))]
    assert services._cover(services.Period(date(2026, 2, 10), date(2026, 2, 20))) == [
        (1, "day", date(2026, 2, 10), date(2026, 2, 20))]
    assert services._cover(services.Period(date(2026, 2, 2), date(2026, 2, 27))) == [
        (1, "month", date(2026, 2, 1), date(2026, 2, 28)), (-1, "day", date(2026, 2, 1), date(2026, 2, 1)),
        (-1, "day", date(2026, 2, 28), date(2026, 2, 28))]


def test_a_period_of_more_than_half_a_year_is_read_from_its_years_rows():
    # A year to 30 November: the year's rows less December's, and the
    # December before from its month.
    assert services._cover(services.Period(date(2025, 12, 1), date(2026, 11, 30)), years=True) == [
        (1, "month", date(2025, 12, 1), date(2025, 12, 31)), (1, "year", date(2026, 1, 1), date(2026, 12, 31)),
        (-1, "month", date(2026, 12, 1), date(2026, 12, 31))]
    # To the 13th of December: the months and days outside the year taken away, signs turned.
    assert services._cover(services.Period(date(2025, 12, 14), date(2026, 12, 13)), years=True) == [
        (1, "month", date(2025, 12, 1), date(2025, 12, 31)), (-1, "day", date(2025, 12, 1), date(2025, 12, 13)),
        (1, "year", date(2026, 1, 1), date(2026, 12, 31)),
        (-1, "month", date(2026, 12, 1), date(2026, 12, 31)), (1, "day", date(2026, 12, 1), date(2026, 12, 13))]
    # Exactly half a year (183 of 366 days) is not mostly inside: its months.
    assert services._cover(services.Period(date(2028, 1, 1), date(2028, 7, 1)), years=True) == [
        (1, "month", date(2028, 1, 1), date(2028, 6, 30)), (1, "day", date(2028, 7, 1), date(2028, 7, 1))]
    assert services._cover(services.Period(date(2028, 1, 1), date(2028, 7, 2)), years=True)[0] == (
        1, "year", date(2028, 1, 1), date(2028, 12, 31))
    # Without the yearly rows (per institution), as before.
    assert services._cover(services.Period(date(2025, 12, 1), date(2026, 11, 30))) == [
        (1, "month", date(2025, 12, 1), date(2026, 11, 30))]


def test_only_a_range_of_one_month_or_one_year_is_read_without_grouping(app_context):
    """A range keyed one row an instrument is read as it streams; whole
    months merged into one range, January to January of the next year
    included, are grouped (found by review: the month alone was compared)."""
    def selects(period, **kw):
        return [str(select) for select in services._cover_selects(
            period, services.MONTHLY, lambda table: [table.c.lost_minutes],
            lambda table: [table.c.instrument_id.label("k")], **kw)]

    grouped = services._grouped_arms()
    for thirteen_months in selects(services.Period(date(2025, 1, 1), date(2026, 1, 31))):
        assert ("GROUP BY" in thirteen_months) == grouped
    assert ["GROUP BY" in text for text in selects(services.Period(date(2026, 3, 1), date(2026, 3, 31)))] == [False]
    year = selects(services.Period(date(2026, 1, 1), date(2026, 11, 30)), yearly=services.YEARLY)
    assert ["GROUP BY" in text for text in year] == [False, False]


def test_yearly_rollups_equal_the_raw_figures_over_years_and_their_edges(make, app_context):
    """Periods read from the yearly rows (a whole year; more than half a
    year across New Year, less months and days at each end) equal the raw
    figures, before and after changes of every kind (bookings moved, used,
    repriced; blackouts added and removed; hours changed), and the yearly
    rows are always the monthly rows summed."""
    rng = random.Random(41)
    first, days = date(2025, 12, 10), 400
    instruments, institutions, bookings = _random_history(make, rng, first, days)
    scopes = [Scope(), Scope(city="hefei"), Scope(institution_id=institutions[0].id)]
    periods = [services.Period(date(2026, 1, 1), date(2026, 12, 31)),    # one whole year
               services.Period(date(2025, 12, 14), date(2026, 12, 13)),  # across New Year, days at both ends
               services.Period(date(2026, 1, 20), date(2026, 9, 10))]    # the year less months and days
    for period in periods:
        assert any(grain == "year" for _sign, grain, *_days in services._cover(period, years=True))
        assert_rollups_match_raw(period, scopes)
    _random_changes(rng, instruments, bookings, first, days, 45)
    for period in periods:
        assert_rollups_match_raw(period, scopes)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(rollups.YEARLY)) >= len(instruments)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(rollups.YEARLY)
                             .where(rollups.YEARLY.c.lost_minutes != 0)) > 0


def test_a_bulk_rebuild_stores_what_the_changes_kept(make, app_context):
    """rebuild_all (bulk loaders) fills the table in SQL where it can: the
    same rows as the maintenance kept and as `compute` gives, bookings
    across midnight and blackouts included."""
    rng = random.Random(11)
    first, days = date(2026, 9, 20), 25
    instruments, _institutions, bookings = _random_history(make, rng, first, days)
    _random_changes(rng, instruments, bookings, first, days, 60)
    whole = (first - timedelta(days=3), first + timedelta(days=days + 3))
    kept = rollups.stored(*whole)
    assert kept == rollups.compute(*whole)
    assert rollups.rebuild_all() > days
    db.session.commit()
    assert rollups.stored(*whole) == kept
    assert rollups.months_drift(*whole) == []
    assert any(values[rollups.LOST] for values in kept.values())  # blackouts were in the history


def test_rebuild_restores_what_drifted_and_says_so(make, app_context, caplog):
    rng = random.Random(7)
    first = date(2026, 9, 20)
    _random_history(make, rng, first, 10)
    expected = rollups.compute(first, first + timedelta(days=9))
    db.session.execute(sa.update(DailyFigures.__table__).where(DailyFigures.day == first + timedelta(days=2))
                       .values(booked_seconds=DailyFigures.booked_seconds + 3600))
    db.session.execute(sa.delete(DailyFigures.__table__).where(DailyFigures.day == first + timedelta(days=4)))
    found = rollups.rebuild(first, first + timedelta(days=9), check=True)
    assert {item["day"] for item in found} == {(first + timedelta(days=2)).isoformat(),
                                               (first + timedelta(days=4)).isoformat()}
    assert "statistics roll-up drift" in caplog.text
    assert rollups.stored(first, first + timedelta(days=9)) == expected
    assert rollups.rebuild(first, first + timedelta(days=9), check=True) == []
    # The monthly rows too: a drifted one is found, logged and derived again.
    db.session.execute(sa.update(rollups.MONTHLY).values(bookings=rollups.MONTHLY.c.bookings + 1))
    db.session.execute(sa.delete(rollups.BY_INSTITUTION))
    db.session.execute(sa.update(rollups.YEARLY).values(used_seconds=rollups.YEARLY.c.used_seconds + 60))
    found = rollups.rebuild(first, first + timedelta(days=9), check=True)
    assert {item["table"] for item in found} == {"stats_monthly", "stats_institution_monthly", "stats_yearly"}
    assert "statistics monthly roll-up drift" in caplog.text
    assert rollups.months_drift(first, first + timedelta(days=9)) == []
    assert rollups.rebuild(first, first + timedelta(days=9), check=True) == []
    # And the weekly open minutes: a lost row and a wrong one.
    rows = db.session.execute(sa.select(rollups.OPEN_MINUTES).order_by(rollups.OPEN_MINUTES.c.instrument_id)).all()
    db.session.execute(sa.delete(rollups.OPEN_MINUTES).where(rollups.OPEN_MINUTES.c.instrument_id == rows[0][0]))
    db.session.execute(sa.update(rollups.OPEN_MINUTES).where(rollups.OPEN_MINUTES.c.instrument_id == rows[1][0])
                       .values(mon=rollups.OPEN_MINUTES.c.mon + 60))
    found = rollups.rebuild(first, first + timedelta(days=9), check=True)
    assert [item["key"] for item in found] == [[str(rows[0][0])], [str(rows[1][0])]]
    assert "statistics open minutes drift" in caplog.text
    assert db.session.execute(sa.select(rollups.OPEN_MINUTES).order_by(rollups.OPEN_MINUTES.c.instrument_id)
                              ).all() == rows


def _one_booking(make, start, end, status="completed", **kw):
    user = make.user(firm=make.firm(city_code="jinhua"))
    instrument = make.instrument(hours=[(d, 0, 24 * 60) for d in range(7)])
    booking = Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start, end=end,
                      occupied_until=end, status=status, purpose="x", cost=Decimal("100.00"),
                      firm_pays=Decimal("100.00"), **kw)
    db.session.add(booking)
    db.session.commit()
    return booking


def test_used_time_outside_the_booked_time_counts_on_its_day(make, app_context):
    """Found by the roll-ups' equality test: the raw query read only bookings
    whose booked time touched the period, so usage recorded before the start
    (or after the end, each up to a day) was lost at a period's edge."""
    day = date(2026, 9, 30)
    _one_booking(make, at(day, 24 * 60 + 30), at(day, 24 * 60 + 120),
                 used_start=at(day, 23 * 60), used_end=at(day, 24 * 60 + 60))
    period = services.Period(day, day)
    for today in (day, FAR):
        totals = services.utilisation(Scope(), period, "city", today=today)["totals"]
        assert (totals["booked_hours"], totals["used_hours"], totals["bookings"]) == (0, 1, 0)


def test_a_month_holds_the_hours_that_fall_in_it(make, app_context):
    """By month, a booking counts in the month it starts and its hours in the
    months they fall in (so the months add up to the period's hours)."""
    _one_booking(make, at(date(2026, 9, 30), 22 * 60), at(date(2026, 10, 1), 3 * 60))
    period = services.Period(date(2026, 9, 1), date(2026, 10, 31))
    for today in (period.first, FAR):
        september, october = services.utilisation(Scope(), period, "month", today=today)["rows"]
        assert (september["booked_hours"], september["bookings"]) == (2, 1)
        assert (october["booked_hours"], october["bookings"]) == (3, 0)


def test_the_command_and_the_nightly_job_repair_drift(make, app, app_context):
    from instrument_share.scheduler.jobs import JOBS

    day = date(2026, 9, 29)
    booking = _one_booking(make, at(day, 600), at(day, 720))
    assert rollups.stored(day, day) == rollups.compute(day, day) != {}
    db.session.execute(sa.delete(DailyFigures.__table__))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["stats", "rebuild", "--from", "2026-09-29", "--check"])
    assert result.exit_code == 1 and "'booked_seconds': 7200" in result.output
    assert app.test_cli_runner().invoke(args=["stats", "rebuild", "--from", "2026-09-29", "--check"]).exit_code == 0
    db.session.execute(sa.update(DailyFigures.__table__).values(bookings=5))
    db.session.commit()
    assert JOBS["check-statistics"].function(at(day + timedelta(days=1), 150)) == 1
    db.session.expire_all()
    assert rollups.stored(day, day) == rollups.compute(day, day)
    assert JOBS["check-statistics"].function(at(day + timedelta(days=1), 150)) == 0
    assert app.test_cli_runner().invoke(args=["stats", "rebuild"]).exit_code == 0
    assert rollups.stored(day, day) == rollups.compute(day, day)
    assert booking.id


def test_a_ratio_on_a_half_rounds_the_same_from_both(make, app_context):
    """Found by the model-based test: 1 h booked of 32 open is 0.03125; the raw
    rows' float epoch seconds (SQLite's julianday) made it 1.0000000001 h and
    0.0313, the roll-ups' whole seconds 0.0312. Seconds are whole on both paths."""
    user = make.user()
    instrument = make.instrument()
    start = at(date(2026, 11, 17), 9 * 60)  # julianday makes this hour 3600.0000267 s
    db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start,
                           end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                           status="confirmed", purpose="x", cost=Decimal("300.00"), firm_pays=Decimal("300.00")))
    db.session.commit()
    period = services.Period(date(2026, 11, 16), date(2026, 11, 19))
    for today in (period.first, FAR):
        totals = services.utilisation(Scope(), period, "city", today=today)["totals"]
        assert (totals["open_hours"], totals["booked_hours"], totals["utilisation"]) == (32, 1, Decimal("0.0312"))


def test_a_zone_with_summer_time_puts_each_booking_on_its_own_day(make, app_context, monkeypatch):
    """Found by review: the rebuild numbered the days of a whole month with
    the UTC offset of its first day, so in a zone with summer time (the
    platform zone is a setting) a booking just after midnight in summer
    landed on the day before, and the nightly check "repaired" the stored
    row into the wrong one."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    monkeypatch.setitem(current_app.config, "PLATFORM_TIMEZONE", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    instrument = make.instrument(hours=[(d, 0, 24 * 60) for d in range(7)])
    user = make.user(firm=make.firm(city_code="jinhua"))
    start = datetime(2026, 4, 2, 0, 15, tzinfo=berlin)  # summer time; the range below begins in winter time
    db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start,
                           end=start + timedelta(minutes=30), occupied_until=start + timedelta(minutes=30),
                           status="confirmed", purpose="x", cost=Decimal("1.00"), firm_pays=Decimal("1.00")))
    db.session.commit()
    first, last = date(2026, 3, 20), date(2026, 4, 5)
    computed = rollups.compute(first, last)
    assert [key[0] for key in computed] == [date(2026, 4, 2)]
    assert rollups.drift(computed, rollups.stored(first, last)) == []


def test_the_dashboards_most_and_least_used_are_the_ends_of_the_instrument_table(make, app_context):
    """The dashboard ranks the instruments without making every row (the
    corridor has 20,000): its two lists are the ends of the by-instrument
    table sorted by utilisation and booked hours, ties in id order."""
    from instrument_share.accounts.models import User
    from instrument_share.stats.dashboard import SHOWN_ROWS, dashboard

    rng = random.Random(5)
    first, days = date(2026, 9, 20), 25
    _random_history(make, rng, first, days)
    for _ in range(2):  # idle ones: ties at zero
        make.instrument()
    user = make.user()
    for hours in (2, 1):  # never open, yet booked: utilisation zero, told apart by booked hours
        closed = make.instrument(hours=[])
        start = at(first + timedelta(days=2), 600)
        db.session.add(Booking(instrument=closed, user=user, firm_id=user.firm_id, start=start,
                               end=start + timedelta(hours=hours), occupied_until=start + timedelta(hours=hours),
                               status="confirmed", purpose="x", cost=Decimal("1.00"), firm_pays=Decimal("1.00")))
    db.session.commit()
    admin = make.user(role="admin")
    period = services.Period(first, first + timedelta(days=days - 1))
    board = dashboard(db.session.get(User, admin.id), FAR, period.first, period.last, None)
    rows = {row["key"]: row for row in services.utilisation(Scope(), period, "instrument", today=FAR)["rows"]}
    # By utilisation exactly, then booked time, ties by id: the table's order of its rounded figures.
    ranked = [rows[str(item.id)] for item in services.by_use(services.instruments_over(Scope(), {"period": period}, FAR)["period"])]
    assert [(r["utilisation"], r["booked_hours"]) for r in ranked] == sorted(
        (r["utilisation"], r["booked_hours"]) for r in ranked)
    assert board.least_used == ranked[:SHOWN_ROWS]
    assert board.most_used == list(reversed(ranked[-SHOWN_ROWS:]))
    assert board.most_used[0]["utilisation"] > 0
