"""`flask bench`: a synthetic corridor in its own database, and timings.

Builds institutions, instruments, opening hours, firms and bookings in bulk
(Core executemany, no ORM objects), then measures through the WSGI app
with warm-up and repetitions, the way a client would call it.
"""
from __future__ import annotations

import gc
import io
import json
import random
import re
import resource
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from ..accounts.models import Firm, Institution, Role, User
from ..booking.models import Booking, BookingStatus
from ..bulk import bulk_insert, chunks, database_time
from ..catalogue.models import Instrument, InstrumentStatus, OpeningHours, QuotaClass
from ..database import begin_write_transaction, move_sequences_past_ids
from ..extensions import db
from ..search.index import reindex

CITIES = ("songjiang", "jiaxing", "hangzhou", "jinhua", "suzhou", "huzhou", "xuancheng", "wuhu", "hefei")
HISTORY_YEARS = 3
SUGGEST = ("扫描", "液", "质谱", "xr", "JSM", "Bru", "核磁", "电镜")  # what a search box sees typed
CHUNK = 20_000
BIG_FLEET = 200  # institution 1's instruments: the timeline of a manager with a big fleet
FLEET_MANAGER = "manager@bench.example"


@cache
def demo_records() -> list[dict]:
    from ..demo.catalogue import build_instruments

    return build_instruments()


def build_corridor(instruments: int, bookings: int, rng: random.Random, progress: bool) -> dict:
    """Catalogue, firms and the first 10,000 bookings (or all, if fewer)."""
    institution_count = max(9, instruments // 40)
    db.session.execute(sa.insert(Institution), [
        {"id": i + 1, "name": f"基准大学{i + 1}", "name_en": f"Benchmark University {i + 1}",
         "city_code": CITIES[i % 9], "kind": "university"} for i in range(institution_count)
    ])
    now = datetime.now(UTC)

    records = demo_records()

    def instrument_rows():
        for i in range(instruments):
            # The demo region's records, texts and all (230–400 characters of
            # description, specifications, functions and services), in turn.
            record = records[i % len(records)]
            yield {
                "id": i + 1,
                "institution_id": 1 if i < BIG_FLEET else rng.randrange(1, institution_count) + 1,
                "category_code": record["category"], "name": record["name"], "name_en": record["name_en"],
                "model": record["model"], "manufacturer": record["manufacturer"], "country_of_origin": "",
                "description": record["description"], "specifications": record["specifications"],
                "functions": record["functions"], "services": record["services"],
                "reference_fees": "", "sharing_rules": "",
                "status": InstrumentStatus.NORMAL, "location": "", "contact_name": "", "contact_phone": "",
                "contact_email": "", "hourly_rate": Decimal(rng.choice((150, 200, 300, 450, 600, 900))),
                "min_booking_minutes": 30, "max_booking_minutes": 480, "buffer_minutes": rng.choice((0, 0, 15, 30)),
                "advance_notice_hours": 24, "requires_approval": rng.random() < 0.3,
                "accepts_vouchers": rng.random() < 0.8, "open_on_holidays": False, "quota_class": QuotaClass.GENERAL,
                "created_at": now, "updated_at": now,
            }

    for chunk in chunks(instrument_rows()):
        db.session.execute(sa.insert(Instrument), chunk)
    hours = ({"instrument_id": i + 1, "weekday": d, "open_minute": 8 * 60, "close_minute": 20 * 60}
             for i in range(instruments) for d in range(5))
    for chunk in chunks(hours):
        db.session.execute(sa.insert(OpeningHours), chunk)
    password = generate_password_hash("bench-password")
    db.session.execute(sa.insert(Firm), [
        {"id": i + 1, "name": f"基准科技{i + 1}", "uscc": f"BENCH{i + 1:013d}", "city_code": CITIES[i % 9],
         "created_at": now} for i in range(90)])
    db.session.execute(sa.insert(User), [
        {"id": i + 1, "email": f"bench{i + 1}@bench.example", "password_hash": password, "name": f"bench{i + 1}",
         "role": Role.FIRM, "language": "zh_CN", "firm_id": i + 1, "active": True, "created_at": now,
         "email_verified_at": now}
        for i in range(90)])
    move_sequences_past_ids("institutions", "instruments", "firms", "users")
    reindex()  # inserted without the ORM, so not indexed as they were flushed
    db.session.commit()
    return {"institutions": institution_count, "instruments": instruments}


BOOKING_COLUMNS = ("instrument_id", "user_id", "firm_id", "start", "end", "occupied_until", "status",
                   "purpose", "cost", "voucher_amount", "firm_pays", "sequence", "decision_reason",
                   "rating_comment", "used_start", "used_end", "created_at", "updated_at")


def insert_bookings(first: int, last: int, instruments: int, total: int, rng: random.Random,
                    progress: bool) -> None:
    """Bookings number `first` .. `last - 1` of `total`: each instrument gets an
    equal share, one after another over the last three years, all past."""
    per_instrument = max(1, total // instruments)
    span = timedelta(days=365 * HISTORY_YEARS)
    step = span / per_instrument
    origin = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - span - timedelta(days=2)
    now = database_time(datetime.now(UTC))

    def rows(bar):
        for n in range(first, last):
            instrument, slot = n % instruments, n // instruments
            start = origin + step * slot + timedelta(hours=rng.randrange(0, 6))
            hours = rng.choice((1, 2, 3))
            end = start + timedelta(hours=hours)
            cost = 30_000 * hours  # ¥300 an hour, in fen as Money stores it
            yield (instrument + 1, n % 90 + 1, n % 90 + 1, database_time(start), database_time(end),
                   database_time(end + timedelta(minutes=30)), str(BookingStatus.COMPLETED), "bench", cost, 0, cost, 0, "", "",
                   database_time(start), database_time(end), now, now)
            if (n + 1) % CHUNK == 0:
                bar.update(n + 1 - bar.pos)

    # The bar counts all `total` bookings; this call fills its part of them.
    with click.progressbar(length=total, label="Bookings", show_pos=True,
                           file=None if progress else io.StringIO()) as bar:
        bar.update(first)
        bulk_insert("bookings", BOOKING_COLUMNS, rows(bar))
        bar.update(last - bar.pos)
    db.session.commit()


def _timings(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2)}


def _measure(call, repeat: int, warmup: int = 5) -> dict:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return _timings(samples)


def _next_workdays(count: int) -> list[date]:
    from ..booking.calendar import effective_weekday

    day, days = datetime.now(UTC).date() + timedelta(days=3), []
    while len(days) < count:
        if day.weekday() < 5 and effective_weekday(day) == day.weekday():
            days.append(day)
        day += timedelta(days=1)
    return days


def measure_bookings(client, token: str, instruments: int, rng: random.Random, repeat: int) -> dict:
    """POST /api/v1/bookings: fresh free slots (201) and slots just taken (409)."""
    headers = {"Authorization": f"Bearer {token}"}
    days = _next_workdays(40)
    taken: list[dict] = []

    def success():
        while True:
            body = {"instrument_id": rng.randrange(instruments) + 1,
                    "start": f"{rng.choice(days)}T{rng.randrange(8, 18):02d}:00:00+08:00",
                    "purpose": "benchmark"}
            body["end"] = body["start"].replace(f"T{body['start'][11:13]}", f"T{int(body['start'][11:13]) + 1:02d}")
            response = client.post("/api/v1/bookings", json=body, headers=headers)
            if response.status_code == 201:
                taken.append(body)
                return
            assert response.status_code == 409, response.get_json()

    def conflict():
        response = client.post("/api/v1/bookings", json=rng.choice(taken), headers=headers)
        assert response.status_code == 409, response.get_json()

    created = _measure(success, repeat)
    conflicted = _measure(conflict, repeat)
    return {"create": created, "conflict": conflicted}


BUSY_HISTORY = (1_000, 1_000_000)  # the busy instrument's history, before and after it grows
BUSY_AHEAD_DAYS = 120  # its active bookings: two every working day this far ahead
BUSY_FREE_HOURS = (10, 11, 12, 16, 17, 18)  # whole hours between them, clear of their 30-minute buffers


def _busy_days(first_ahead: int, days_ahead: int) -> list[date]:
    """Ordinary working days from `first_ahead` to `days_ahead` days after today."""
    from ..booking.calendar import effective_weekday

    today = datetime.now(UTC).date()
    return [day for day in (today + timedelta(days=n) for n in range(first_ahead, days_ahead))
            if day.weekday() < 5 and effective_weekday(day) == day.weekday()]


def add_busy_instrument(history: int, rng: random.Random) -> int:
    """One instrument (Mon–Fri 08:00–20:00, a 30-minute buffer, a day's
    notice) with the calendar of a busy one: every working day of the next
    120 days booked 08:00–09:30 (confirmed) and 14:00–15:00 (pending); its
    history is filled to `history` bookings by `grow_busy_history`."""
    instrument = Instrument(
        institution_id=1, category_code="analytical-mass-spectrometry", name="繁忙仪器", name_en="Busy instrument",
        hourly_rate=Decimal(300), min_booking_minutes=30, max_booking_minutes=480, buffer_minutes=30,
        advance_notice_hours=24, requires_approval=False,
        opening_hours=[OpeningHours(weekday=d, open_minute=8 * 60, close_minute=20 * 60) for d in range(5)])
    db.session.add(instrument)
    db.session.flush()
    zone, now = ZoneInfo("Asia/Shanghai"), database_time(datetime.now(UTC))

    def rows():
        for day in _busy_days(1, BUSY_AHEAD_DAYS):
            for (hour, minute), hours, status in (((8, 0), 1.5, BookingStatus.CONFIRMED),
                                                  ((14, 0), 1, BookingStatus.PENDING)):
                start = datetime.combine(day, datetime.min.time(), zone).replace(hour=hour, minute=minute)
                end = start + timedelta(hours=hours)
                yield (instrument.id, 1, 1, database_time(start), database_time(end),
                       database_time(end + timedelta(minutes=30)), str(status), "bench: busy", 45_000, 0, 45_000, 0,
                       "", "", None, None, now, now)

    active = bulk_insert("bookings", BOOKING_COLUMNS, rows())
    db.session.commit()
    grow_busy_history(instrument.id, max(0, history - active), rng, progress=False)
    return instrument.id


def grow_busy_history(instrument_id: int, count: int, rng: random.Random, progress: bool) -> None:
    """`count` more past bookings of the instrument, spread evenly over the
    last three years up to a few hours ago (most completed, some cancelled
    or no-shows): the same span whatever their number, so a big history is
    a dense one, near the requests too."""
    now = datetime.now(UTC).replace(microsecond=0)
    origin, span = now - timedelta(days=365 * HISTORY_YEARS), timedelta(days=365 * HISTORY_YEARS, hours=-4)
    step, stamp = span / max(1, count), database_time(now)
    statuses = [str(BookingStatus.COMPLETED)] * 17 + [str(BookingStatus.CANCELLED)] * 2 + [str(BookingStatus.NO_SHOW)]

    def rows(bar):
        for n in range(count):
            start = origin + step * n
            hours = rng.choice((1, 2, 3))
            end = min(start + timedelta(hours=hours), now - timedelta(hours=1))
            status = statuses[n % len(statuses)]
            used = status == BookingStatus.COMPLETED
            yield (instrument_id, n % 90 + 1, n % 90 + 1, database_time(start), database_time(end),
                   database_time(end + timedelta(minutes=30)), status, "bench: history", 30_000 * hours, 0,
                   30_000 * hours, 0, "", "", database_time(start) if used else None,
                   database_time(end) if used else None, stamp, stamp)
            if (n + 1) % CHUNK == 0:
                bar.update(CHUNK)

    with click.progressbar(length=count, label="Busy instrument's history", show_pos=True,
                           file=None if progress else io.StringIO()) as bar:
        bulk_insert("bookings", BOOKING_COLUMNS, rows(bar))
    db.session.commit()


def _analyze() -> None:
    """Fresh planner statistics, as a deployment has after a bulk load (and
    on PostgreSQL the visibility map index-only scans rely on)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")


def _measure_each(call, after, repeat: int, warmup: int = 5) -> dict:
    """`_measure`, with `after(result)` run between the timed calls; also
    the median CPU time of this process per call (`cpu_p50_ms`: on SQLite
    nearly all of a request's work, and less disturbed than the wall clock
    when other processes share the machine)."""
    samples, cpu = [], []
    for n in range(warmup + repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = call()
        if n >= warmup:
            samples.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
        after(result)
    return {**_timings(samples), "cpu_p50_ms": round(statistics.median(cpu) * 1000, 2)}


def measure_busy_instrument(app, client, token: str, instrument_id: int, rng: random.Random, repeat: int) -> dict:
    """POST /api/v1/bookings on the busy instrument, for one hour on one of
    the next three weeks' working days (whose suggestion windows reach back
    into the dense recent history): a free hour (201; the booking is then
    cancelled, untimed, so every call sees the same calendar) and 08:30–09:30,
    held by a confirmed booking (409 with suggestions). Also the SQL
    statements of one refusal."""
    headers = {"Authorization": f"Bearer {token}"}
    days = _busy_days(2, 22)

    def create():
        day, hour = rng.choice(days), rng.choice(BUSY_FREE_HOURS)
        body = {"instrument_id": instrument_id, "start": f"{day}T{hour:02d}:00:00+08:00",
                "end": f"{day}T{hour + 1:02d}:00:00+08:00", "purpose": "benchmark"}
        response = client.post("/api/v1/bookings", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def cancel(booking_id):
        with app.app_context():
            begin_write_transaction()
            db.session.execute(sa.update(Booking).where(Booking.id == booking_id).values(
                status=BookingStatus.CANCELLED))
            db.session.commit()

    def refuse():
        day = rng.choice(days)
        body = {"instrument_id": instrument_id, "start": f"{day}T08:30:00+08:00", "end": f"{day}T09:30:00+08:00",
                "purpose": "benchmark"}
        response = client.post("/api/v1/bookings", json=body, headers=headers)
        assert response.status_code == 409 and response.get_json()["suggestions"], response.get_json()

    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    refuse()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        refuse()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return {"create": _measure_each(create, cancel, repeat), "conflict": _measure_each(refuse, lambda _: None, repeat),
            "conflict_sql_statements": len(statements)}


BUSY_BOOKER = "busy@bench.example"


def run_busy_instrument(app, rng: random.Random, repeat: int, progress: bool,
                        history: tuple[int, int] = BUSY_HISTORY) -> dict:
    """One instrument with 1,000 bookings in its history, measured; grown to
    1,000,000 (past ones, as the years add them), measured again. Booked by
    a firm user of its own (the write-lock scenarios leave bench1 suspended
    for no-shows)."""
    from ..accounts.services import issue_token

    client = app.test_client()
    with app.app_context():
        begin_write_transaction()
        db.session.execute(sa.insert(User).values(
            email=BUSY_BOOKER, password_hash=generate_password_hash("bench-password"), name="busy booker",
            role=Role.FIRM, firm_id=1, language="zh_CN", active=True, created_at=datetime.now(UTC),
            email_verified_at=datetime.now(UTC)))
        token, _ = issue_token(BUSY_BOOKER, "bench-password")
        instrument_id = add_busy_instrument(history[0], rng)
        _analyze()
    gc.collect()
    gc.freeze()  # as run_bench does: the worker's heap, not the build's leftovers
    small = measure_busy_instrument(app, client, token, instrument_id, rng, repeat)
    with app.app_context():
        began = time.perf_counter()
        begin_write_transaction()
        grow_busy_history(instrument_id, history[1] - history[0], rng, progress)
        _analyze()
        grown_in = round(time.perf_counter() - began, 1)
        grown = db.session.scalar(sa.select(sa.func.count()).where(Booking.instrument_id == instrument_id))
    gc.collect()
    gc.freeze()
    large = measure_busy_instrument(app, client, token, instrument_id, rng, repeat)
    return {"instrument_id": instrument_id, "history": list(history), "history_after": grown,
            "grow_seconds": grown_in, "at_1k": small, "at_1m": large,
            "create_ratio": round(large["create"]["p50_ms"] / small["create"]["p50_ms"], 2),
            "conflict_ratio": round(large["conflict"]["p50_ms"] / small["conflict"]["p50_ms"], 2)}


def measure_reads(client, instruments: int, rng: random.Random, repeat: int) -> dict:
    day = _next_workdays(5)[-1]
    model = next((r["model"] for r in demo_records() if r["model"] == "JSM-IT800"), demo_records()[0]["model"])

    def get(url):
        return lambda: client.get(url).status_code

    # Every search answer carries its facets and each result's next free slot.
    results = {
        "search_text": _measure(get("/api/v1/instruments?q=质谱"), repeat),
        "search_thesaurus": _measure(get("/api/v1/instruments?q=扫描电镜"), repeat),
        "search_two_terms": _measure(get("/api/v1/instruments?q=电镜%20合肥"), repeat),
        "search_model": _measure(get(f"/api/v1/instruments?q={model}"), repeat),
        "search_city_category": _measure(
            lambda: client.get(f"/api/v1/instruments?city={rng.choice(CITIES)}&category=analytical").status_code,
            repeat),
        "search_free": _measure(
            get(f"/api/v1/instruments?q=显微镜&free_from={day}T10:00:00%2B08:00&free_to={day}T12:00:00%2B08:00"),
            repeat),
        "suggest": _measure(lambda: client.get(f"/api/v1/instruments/suggest?q={rng.choice(SUGGEST)}").status_code,
                            repeat),
        "week_page": _measure(
            lambda: client.get(f"/instruments/{rng.randrange(instruments) + 1}?week={day}").status_code, repeat),
    }
    return results


def measure_timeline(app, instruments: int, repeat: int) -> dict:
    """Institution 1's week timeline (its 200 instruments) and its schedule
    API, for a busy week ahead: every instrument booked twice a working day."""
    zone = ZoneInfo("Asia/Shanghai")
    first = _next_workdays(60)[-1]  # beyond the days measure_bookings books on
    monday = first - timedelta(days=first.weekday())
    now = database_time(datetime.now(UTC))

    def rows():
        for instrument in range(1, min(BIG_FLEET, instruments) + 1):
            for day in range(5):
                for hour in (9, 14):
                    start = datetime.combine(monday + timedelta(days=day), datetime.min.time(), zone).replace(hour=hour)
                    end = start + timedelta(hours=2)
                    yield (instrument, 1, 1, database_time(start), database_time(end),
                           database_time(end + timedelta(minutes=30)), str(BookingStatus.CONFIRMED), "bench",
                           60_000, 0, 60_000, 0, "", "", None, None, now, now)

    with app.app_context():
        bulk_insert("bookings", BOOKING_COLUMNS, rows())
        db.session.execute(sa.insert(User).values(
            email=FLEET_MANAGER, password_hash=generate_password_hash("bench-password"), name="fleet manager",
            role=Role.MANAGER, institution_id=1, language="zh_CN", active=True, created_at=datetime.now(UTC),
            email_verified_at=datetime.now(UTC)))
        db.session.commit()
    client = app.test_client()
    sign_in(client, FLEET_MANAGER, "bench-password")
    week = f"from={monday}T00:00:00%2B08:00&to={monday + timedelta(days=7)}T00:00:00%2B08:00"

    def get(url):
        def call():
            assert client.get(url).status_code == 200
        return call

    return {
        "timeline_week_page": _measure(get(f"/manage/schedule?view=week&day={monday}"), repeat),
        "timeline_day_page": _measure(get(f"/manage/schedule?day={monday + timedelta(days=1)}"), repeat),
        "schedule_api_week": _measure(get(f"/api/v1/institutions/1/schedule?{week}"), repeat),
    }


def measure_import(app, rows: int = 2000) -> dict:
    """Seconds to check and then import a workbook of `rows` new instruments
    into institution 2 through the API, as its manager."""
    from ..desk.transfer import FIELDS, workbook_of_rows

    importer = "importer@bench.example"
    with app.app_context():
        db.session.execute(sa.insert(User).values(
            email=importer, password_hash=generate_password_hash("bench-password"), name="importer",
            role=Role.MANAGER, institution_id=2, language="zh_CN", active=True, created_at=datetime.now(UTC),
            email_verified_at=datetime.now(UTC)))
        db.session.commit()
        records = demo_records()
        data = workbook_of_rows([[{"asset_no": f"IMPORT-{n:05d}", "category": record["category"], "name": record["name"],
                                "model": record["model"], "manufacturer": record["manufacturer"],
                                "description": record["description"], "hourly_rate": 300}.get(name)
                               for name in FIELDS] for n, record in ((n, records[n % len(records)])
                                                                     for n in range(rows))])
    client = app.test_client()
    token = client.post("/api/v1/tokens", json={"email": importer, "password": "bench-password"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    timings = {}
    for name, query in (("import_check_seconds", "?dry_run=1"), ("import_seconds", "")):
        started = time.perf_counter()
        answer = client.post(f"/api/v1/instruments/import{query}", headers=headers,
                             data={"file": (io.BytesIO(data), "instruments.xlsx")}, content_type="multipart/form-data")
        timings[name] = round(time.perf_counter() - started, 2)
        assert answer.status_code == 200 and answer.get_json()["created"] == rows, answer.get_json()
    return timings


def measure_stats(app, repeat: int) -> dict:
    """Corridor-wide figures for the last year, straight through the service,
    and the admin's dashboard page; first the daily roll-ups are built from
    the bulk-loaded rows (`flask stats rebuild`, issue #20), as every bulk
    loader does."""
    from ..database import begin_write_transaction
    from ..stats import rollups, services

    today = datetime.now(UTC).date()
    period = services.Period(today - timedelta(days=365), today - timedelta(days=1))
    scope = services.Scope()
    results = {}
    with app.app_context():
        started = time.perf_counter()
        begin_write_transaction()
        rollups.rebuild_all()
        db.session.commit()
        rebuild_seconds = round(time.perf_counter() - started, 1)
        # Every table the rebuild filled, as autovacuum does soon after a
        # bulk change: the monthly and yearly rows' statistics and visibility
        # (index-only scans) too, not only the daily rows'.
        db.session.remove()
        _analyze()
        for name, call in (
            ("utilisation_year_by_instrument", lambda: services.utilisation(scope, period, "instrument")),
            ("utilisation_year_by_city", lambda: services.utilisation(scope, period, "city")),
            ("flows_year", lambda: services.flows(scope, period)),
        ):
            results[name] = _measure(call, repeat, warmup=1)
            db.session.remove()
    client = app.test_client()
    _dashboard_admin(app)
    sign_in(client, DASHBOARD_ADMIN, "bench-password")
    # The thirty days to the 14th of last month: a period read as a month
    # less half a month of days and half a month of days (the default's
    # shape on most days of a month; on the 1st it is one whole month).
    mid = (today.replace(day=1) - timedelta(days=1)).replace(day=14)
    pages = {"": "/stats/", "_mid_month": f"/stats/?from={mid - timedelta(days=29)}&to={mid}"}

    _forget_pages(app)  # as with no scheduler running: every page is made on request

    def measure_page(name, url, after):
        def dashboard():
            assert client.get(url).status_code == 200

        measured = _measure_each(dashboard, lambda _result: after(), repeat, warmup=1)
        results[name] = {k: v for k, v in measured.items() if k != "cpu_p50_ms"}

    for suffix, url in pages.items():  # made on request after each change
        measure_page(f"dashboard_admin_computed{suffix}", url, lambda: _new_statistics_version(app))
    # As viewed again and again between changes (kept by the process).
    results["dashboard_admin_kept"] = _measure(lambda: client.get("/stats/"), repeat, warmup=1)
    # The default page as the scheduler's job stored it after each change
    # (stats/pages.py), read by a worker that has not seen it yet; and the
    # same stored page read in the half minute between a change and the
    # job's next run (served with the time of its figures).
    measure_page("dashboard_admin_stored", "/stats/", lambda: _new_statistics_version(app, make_pages=True))
    measure_page("dashboard_admin_after_a_change", "/stats/", lambda: _new_statistics_version(app))
    return results, rebuild_seconds


def _forget_pages(app) -> None:
    from ..stats.models import StatsPage

    with app.app_context():
        db.session.execute(sa.delete(StatsPage))
        db.session.commit()


def _new_statistics_version(app, make_pages: bool = False) -> None:
    """What a change of a past day does: a kept dashboard is made again;
    then, if `make_pages`, the scheduler's `statistics-pages` job runs."""
    from ..database import begin_write_transaction
    from ..stats import rollups
    from ..stats.dashboard import make_pages as make_default_pages

    with app.app_context():
        begin_write_transaction()
        rollups.bump(db.session.connection())
        db.session.commit()
        if make_pages:
            made = make_default_pages(datetime.now(UTC))
            db.session.commit()
            assert made["made"], made


def _dashboard_admin(app) -> None:
    with app.app_context():
        if db.session.scalar(sa.select(User.id).where(User.email == DASHBOARD_ADMIN)) is None:
            db.session.execute(sa.insert(User).values(
                email=DASHBOARD_ADMIN, password_hash=generate_password_hash("bench-password"),
                name="office", role=Role.ADMIN, language="zh_CN", active=True, created_at=datetime.now(UTC),
                email_verified_at=datetime.now(UTC)))
            db.session.commit()


DASHBOARD_ADMIN = "office@bench.example"
CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def sign_in(client, email: str, password: str) -> None:
    """Sign in through the sign-in page, as a person does."""
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": CSRF_INPUT.search(page).group(1)})
    if response.status_code != 302:
        raise click.ClickException(f"could not sign in as {email}")


def count_dashboard_statements(app) -> int:
    """SQL statements one dashboard request issues when it is computed (it
    must not grow with the data)."""
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    _dashboard_admin(app)
    client = app.test_client()
    sign_in(client, DASHBOARD_ADMIN, "bench-password")
    _new_statistics_version(app)
    _forget_pages(app)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/stats/")
        assert response.status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def run_bench(app, instruments: int, bookings: int, repeat: int, progress: bool, only: str | None = None,
              busy_history: tuple[int, int] = BUSY_HISTORY) -> dict:
    from ..accounts.services import issue_token

    rng = random.Random(60)
    started = time.perf_counter()
    report: dict = {"instruments": instruments, "bookings": bookings, "database": app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1]}
    if only == "booking":  # the catalogue and the busy instrument, without the corridor's history
        with app.app_context():
            build_corridor(instruments, bookings, rng, progress)
        report.update(only="booking", bookings=0)
        report["busy_instrument"] = run_busy_instrument(app, rng, repeat, progress, busy_history)
        report["build_seconds"] = round(time.perf_counter() - started, 1)
        return report
    if only == "pages":  # the demo region, and each role's main pages
        from ..demo.seed import ADMIN_EMAIL, DEMO_PASSWORD, FIRMS, INSTITUTIONS, seed_demo
        from .page_times import measure_pages

        with app.app_context():
            seed_demo()
            # The demo region's own size, not --instruments and --bookings.
            report.update(instruments=db.session.scalar(sa.select(sa.func.count()).select_from(Instrument)),
                          bookings=db.session.scalar(sa.select(sa.func.count()).select_from(Booking)))
        report.update(only="pages", build_seconds=round(time.perf_counter() - started, 1))
        gc.collect()
        gc.freeze()
        report["pages"] = measure_pages(app, {
            Role.ADMIN: ADMIN_EMAIL, Role.MANAGER: f"manager-{INSTITUTIONS[0].slug}@g60.example",
            Role.CITY_ADMIN: f"bureau-{FIRMS[0].city}@g60.example", Role.FIRM: f"engineer-{FIRMS[0].city}@g60.example",
        }, DEMO_PASSWORD, repeat)
        return report
    if only == "stats":  # the corridor's history and the statistics alone
        with app.app_context():
            build_corridor(instruments, bookings, rng, progress)
            insert_bookings(0, bookings, instruments, bookings, rng, progress)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")
        report["build_seconds"] = round(time.perf_counter() - started, 1)
        gc.collect()
        gc.freeze()
        report["stats"], report["rollups_rebuild_seconds"] = measure_stats(app, repeat)
        report["dashboard_sql_statements"] = count_dashboard_statements(app)
        report["only"] = "stats"
        return report
    with app.app_context():
        build_corridor(instruments, bookings, rng, progress)
        small = min(10_000, bookings)
        insert_bookings(0, small, instruments, bookings, rng, progress)
        begin_write_transaction()
        token, _ = issue_token("bench1@bench.example", "bench-password")
        db.session.commit()
    client = app.test_client()
    report["at_10k"] = measure_bookings(client, token, instruments, rng, repeat)
    with app.app_context():
        build_started = time.perf_counter()
        insert_bookings(small, bookings, instruments, bookings, rng, progress)
        # Fresh statistics after the bulk load, as a deployment would have
        # (and on PostgreSQL the visibility map that autovacuum keeps, which
        # index-only scans rely on).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")
        report["build_seconds"] = round(time.perf_counter() - started, 1)
        report["bulk_insert_seconds"] = round(time.perf_counter() - build_started, 1)
    # Measure as a serving worker would run: its heap is the app, not the
    # build's leftovers, which full collections would otherwise walk in the
    # middle of a measured request (create_app freezes the app the same way).
    gc.collect()
    gc.freeze()
    report["at_full"] = measure_bookings(client, token, instruments, rng, repeat)
    report["reads"] = measure_reads(client, instruments, rng, repeat)
    report["reads"].update(measure_timeline(app, instruments, repeat))
    report["import_2000_rows"] = measure_import(app)
    report["stats"], report["rollups_rebuild_seconds"] = measure_stats(app, max(3, repeat // 40))
    report["dashboard_sql_statements"] = count_dashboard_statements(app)
    report["write_lock_ms"] = measure_write_locks(app, client, token, instruments)
    # Last: its million bookings must not weigh on the figures above.
    report["busy_instrument"] = run_busy_instrument(app, rng, repeat, progress, busy_history)
    report["create_ratio_full_vs_10k"] = round(
        report["at_full"]["create"]["p50_ms"] / report["at_10k"]["create"]["p50_ms"], 2)
    report["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return report


def measure_write_locks(app, client, token: str, instruments: int) -> dict:  # noqa: C901 (one scenario each)
    """The longest SQLite write lock the worst requests we can construct hold
    (ms, BEGIN IMMEDIATE to COMMIT): a 52-occurrence series paid by a
    voucher, a blackout that cancels 100 voucher-paid bookings, a grant of
    5,000 vouchers from one CSV, and the close-bookings job finding 1,000
    no-shows (in batches). PostgreSQL locks rows and has no such lock (empty result)."""
    from ..booking.schedule import create_blackout
    from ..database import write_lock_stats
    from ..scheduler.jobs import close_bookings
    from ..vouchers.services import issue_from_rows, issue_voucher

    if db.engine.dialect.name != "sqlite":
        return {}
    headers = {"Authorization": f"Bearer {token}"}
    results = {}
    with app.app_context():
        begin_write_transaction()
        admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
        if admin is None:
            admin = User(email="locks@bench.example", password_hash="-", name="locks", role=Role.ADMIN)
            db.session.add(admin)
        firm_user = db.session.scalar(sa.select(User).where(User.email == "bench1@bench.example"))
        voucher = issue_voucher(admin, firm_user.firm_id, "10000000.00", date.today() + timedelta(days=365), "0.5")
        # Two quiet instruments of their own, so earlier measurements are not in the way.
        quiet = [Instrument(institution_id=1, category_code="analytical-mass-spectrometry", name=f"锁测试 {n}",
                            name_en=f"Lock test {n}", hourly_rate=Decimal(300), max_booking_minutes=480, open_on_holidays=True,
                            opening_hours=[OpeningHours(weekday=d, open_minute=8 * 60, close_minute=20 * 60)
                                           for d in range(5)]) for n in (1, 2)]
        db.session.add_all(quiet)
        db.session.commit()
        voucher_id, admin_id, firm_user_id = voucher.id, admin.id, firm_user.id
        series_instrument, target = quiet[0].id, quiet[1].id
    days = _next_workdays(30)

    def longest(action) -> float:
        write_lock_stats.reset()
        action()
        return round(write_lock_stats.longest * 1000, 1)

    series = {"instrument_id": series_instrument, "start": f"{days[0]}T08:00:00+08:00",
              "end": f"{days[0]}T09:00:00+08:00", "purpose": "benchmark: worst series",
              "recurrence": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=52", "voucher_id": voucher_id}

    def book_series():
        response = client.post("/api/v1/bookings", json=series, headers=headers)
        assert response.status_code == 201, response.get_json()

    results["series_52_with_voucher"] = longest(book_series)
    for day in days[:10]:
        for hour in range(8, 18):
            body = {"instrument_id": target, "start": f"{day}T{hour:02d}:00:00+08:00",
                    "end": f"{day}T{hour:02d}:45:00+08:00", "purpose": "benchmark", "voucher_id": voucher_id}
            assert client.post("/api/v1/bookings", json=body, headers=headers).status_code == 201

    def blackout():
        with app.app_context():
            zone = ZoneInfo(app.config["PLATFORM_TIMEZONE"])
            create_blackout(db.session.get(Instrument, target), db.session.get(User, admin_id),
                            datetime.combine(days[0], datetime.min.time(), zone),
                            datetime.combine(days[10], datetime.min.time(), zone), "bench", cancel_bookings=True)
            db.session.commit()

    results["blackout_cancelling_100"] = longest(blackout)
    with app.app_context():
        usccs = db.session.scalars(sa.select(Firm.uscc).order_by(Firm.id)).all()
    rows = [[usccs[n % len(usccs)], "1000.00"] for n in range(5000)]

    def grant_csv():
        with app.app_context():
            issue_from_rows(db.session.get(User, admin_id), rows, date.today() + timedelta(days=300), "0.5")
            db.session.commit()

    results["voucher_csv_5000"] = longest(grant_csv)
    with app.app_context():
        # 1,000 confirmed bookings that began two days ago and nobody came to.
        began = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        begin_write_transaction()
        db.session.execute(sa.insert(Booking), [
            {"instrument_id": n % instruments + 1, "user_id": firm_user_id, "firm_id": 1,
             "start": began - timedelta(hours=2 * (n // instruments)),
             "end": began - timedelta(hours=2 * (n // instruments) - 1),
             "occupied_until": began - timedelta(hours=2 * (n // instruments) - 1),
             "status": BookingStatus.CONFIRMED, "purpose": "benchmark", "cost": 0, "firm_pays": 0}
            for n in range(1000)])
        db.session.commit()

    def close():
        with app.app_context():
            close_bookings(datetime.now(UTC))  # the scheduler's job: batches, each its own transaction

    results["close_bookings_1000_no_shows"] = longest(close)
    return results


def print_busy_instrument(busy: dict) -> None:
    small, large = (f"{n:,}" for n in busy["history"])
    for label, key in ((small, "at_1k"), (large, "at_1m")):
        for code, figure in (("201", "create"), ("409", "conflict")):
            value = busy[key][figure]
            name = f"one instrument, {label} in history, {code}"
            click.echo(f"{name:<44}{value['p50_ms']:>10}{value['p95_ms']:>10}   (CPU p50 {value['cpu_p50_ms']})")
    click.echo(f"one instrument, {small} → {large} in history (grown in {busy['grow_seconds']} s): "
               f"ratio 201 {busy['create_ratio']}, 409 {busy['conflict_ratio']}; SQL statements of a 409: "
               f"{busy['at_1k']['conflict_sql_statements']} → {busy['at_1m']['conflict_sql_statements']}")


def print_table(report: dict) -> None:
    click.echo(f"\n{report['instruments']:,} instruments, {report['bookings']:,} bookings "
               f"({report['database']}); built in {report['build_seconds']} s")
    click.echo(f"{'measure':<38}{'p50 ms':>10}{'p95 ms':>10}")
    if report.get("only") == "booking":
        print_busy_instrument(report["busy_instrument"])
        return
    if report.get("only") == "pages":
        for name, value in report["pages"].items():
            click.echo(f"{name:<44}{value['p50_ms']:>10}{value['p95_ms']:>10}")
        return
    if report.get("only") == "stats":
        for name, value in report["stats"].items():
            click.echo(f"{'stats ' + name:<44}{value['p50_ms']:>10}{value['p95_ms']:>10}")
        click.echo(f"dashboard SQL statements: {report['dashboard_sql_statements']}; "
                   f"roll-ups rebuilt in {report['rollups_rebuild_seconds']} s")
        return
    rows = [("POST /bookings, 201, at 10,000", report["at_10k"]["create"]),
            ("POST /bookings, 409, at 10,000", report["at_10k"]["conflict"]),
            (f"POST /bookings, 201, at {report['bookings']:,}", report["at_full"]["create"]),
            (f"POST /bookings, 409, at {report['bookings']:,}", report["at_full"]["conflict"])]
    rows += [(f"GET {name}", value) for name, value in report["reads"].items()]
    rows += [(f"stats {name}", value) for name, value in report["stats"].items()]
    for name, value in rows:
        click.echo(f"{name:<44}{value['p50_ms']:>10}{value['p95_ms']:>10}")
    click.echo(f"dashboard SQL statements: {report['dashboard_sql_statements']}; "
               f"roll-ups rebuilt in {report['rollups_rebuild_seconds']} s")
    click.echo(f"import of 2,000 new instruments: check {report['import_2000_rows']['import_check_seconds']} s, "
               f"import {report['import_2000_rows']['import_seconds']} s")
    for name, value in report["write_lock_ms"].items():
        click.echo(f"longest write lock, {name}: {value} ms")
    click.echo(f"create ratio full / 10,000: {report['create_ratio_full_vs_10k']}; "
               f"peak memory {report['peak_memory_mb']} MB")
    print_busy_instrument(report["busy_instrument"])


def bench_database_url(app, database: str | None) -> str:
    if database:
        return database
    path = Path(app.instance_path) / "bench.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


@click.command("bench")
@click.option("--instruments", default=20_000, show_default=True)
@click.option("--bookings", default=2_000_000, show_default=True)
@click.option("--database", help="URL of an empty database to fill (default: instance/bench.sqlite, recreated)")
@click.option("--repeat", default=200, show_default=True, help="measured calls per figure")
@click.option("--out", type=click.Path(dir_okay=False), help="write the figures as JSON here")
@click.option("--only", type=click.Choice(["booking", "stats", "pages"]),
              help="booking: only the busy instrument (1,000 then 1,000,000 bookings in its history), "
                   "on the catalogue without the corridor's bookings; stats: only the statistics and the "
                   "dashboard (--repeat calls each), on the corridor's bookings; pages: each role's main pages "
                   "on the demo region (--instruments and --bookings do not apply)")
@click.option("--busy-history", default="1000,1000000", show_default=True,
              help="the busy instrument's history before and after it grows")
@click.pass_context
def bench_command(ctx, instruments, bookings, database, repeat, out, only, busy_history):
    """Build a synthetic corridor in a separate database and time the platform."""
    from flask import current_app
    from flask_migrate import upgrade

    from .. import create_app
    from ..config import normalise_database_url

    url = normalise_database_url(bench_database_url(current_app, database))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "LOGIN_RATE_LIMIT": "100000 per minute"})
    with app.app_context():
        upgrade()
    try:
        small, large = (int(n) for n in busy_history.split(","))
        report = run_bench(app, instruments, bookings, repeat, progress=True, only=only, busy_history=(small, large))
    finally:
        with app.app_context():
            db.engine.dispose()
    print_table(report)
    if out:
        Path(out).write_text(json.dumps(report, indent=2, ensure_ascii=False))
