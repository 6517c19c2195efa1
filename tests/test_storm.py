"""A concurrency storm over HTTP (issue #13).

gunicorn as deployed (4 sync workers on PostgreSQL, 2 on SQLite), 32
clients for STORM_SECONDS (30 by default) mixing every changing operation
on three instruments and a handful of vouchers: bookings and series (with
and without vouchers), reschedules, cancels (several clients cancelling the
same booking at once), approvals and rejections, usage of past bookings
(voucher captures, also raced), maintenance blackouts that cancel what is
in the way, vouchers granted and revoked while they are spent, claims filed
and reviewed and paid. Then every invariant of `instrument_share.integrity`
is checked in SQL: zero violations, and no answer is a 5xx.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from instrument_share.accounts.models import User
from instrument_share.booking.services import create_booking
from instrument_share.catalogue.models import Instrument
from instrument_share.database import begin_write_transaction
from instrument_share.extensions import db
from instrument_share.integrity import violations
from instrument_share.vouchers.services import issue_voucher

from .booking.conftest import SHANGHAI, at, workday
from .conftest import fixture_context

CLIENTS = 32
SECONDS = float(os.environ.get("STORM_SECONDS", "30"))
NEXT_YEAR = date.today() + timedelta(days=365)


def past_workdays(count: int) -> list[date]:
    day, days = datetime.now(SHANGHAI).date() - timedelta(days=2), []
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days


def future_workdays(count: int) -> list[date]:
    today = datetime.now(SHANGHAI).date()
    days = [workday(3)]
    while len(days) < count:
        days.append(workday((days[-1] - today).days + 1))
    return days


class Pool:
    """Ids the clients share, so several of them act on the same rows."""

    def __init__(self, rng_seed: int):
        self.lock = threading.Lock()
        self.bookings: list[int] = []
        self.past: list[int] = []
        self.vouchers: list[int] = []
        self.claims: list[int] = []
        self.rng = random.Random(rng_seed)

    def add(self, name: str, value: int) -> None:
        with self.lock:
            getattr(self, name).append(value)

    def pick(self, name: str, rng: random.Random) -> int | None:
        with self.lock:
            values = getattr(self, name)
            return rng.choice(values[-40:]) if values else None


@pytest.mark.slow
def test_a_storm_of_every_changing_operation_breaks_no_invariant(app, make, client, database_url, gunicorn):
    on_postgres = database_url.startswith("postgresql")
    workers = 4 if on_postgres else 2
    manager = make.user(role="manager")
    bureau = make.user(role="city_admin", city_code="jinhua")
    firm_users = [make.user() for _ in range(2)]
    firm_users += [make.user(firm=firm_users[n].firm) for n in range(2)]  # two engineers per firm
    instruments = [
        make.instrument(institution_id=manager.institution_id, max_booking_minutes=480, buffer_minutes=15),
        make.instrument(institution_id=manager.institution_id, max_booking_minutes=480),
        make.instrument(institution_id=manager.institution_id, max_booking_minutes=480, requires_approval=True,
                        hourly_rate=Decimal("450.00")),
    ]
    instrument_ids = [i.id for i in instruments]
    pool = Pool(13)
    with fixture_context(app):
        begin_write_transaction()
        for user in firm_users[:2]:
            for amount in ("3000.00", "800.00"):
                pool.add("vouchers", issue_voucher(db.session.get(User, bureau.id), user.firm_id, amount,
                                                   NEXT_YEAR, "0.5").id)
        db.session.commit()
        # Bookings that have already started, made as of a week ago, for usage to be recorded.
        for n, day in enumerate(past_workdays(6)):
            for k, hhmm in enumerate(("09:00", "11:00", "14:00")):
                user = db.session.get(User, firm_users[(n + k) % 4].id)  # of firm (n + k) % 2
                voucher = pool.vouchers[2 * ((n + k) % 2) + n % 2] if k != 2 else None
                made = create_booking(user, instrument_ids[k % 2], at(day, hhmm), at(day, hhmm) + timedelta(hours=2),
                                      "已开始的预约", voucher_id=voucher, now=at(day, "09:00") - timedelta(days=3))
                db.session.commit()
                pool.add("past", made[0].id)

    def token_of(user) -> str:
        response = client.post("/api/v1/tokens", json={"email": user.email, "password": "bench-key-4471"})
        assert response.status_code == 201, response.json
        return response.json["token"]

    tokens = {"firm": [token_of(u) for u in firm_users], "manager": token_of(manager), "bureau": token_of(bureau)}
    firm_ids = sorted({u.firm_id for u in firm_users})
    days = future_workdays(4)
    server = gunicorn(workers)
    outcomes: Counter = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(CLIENTS)
    deadline = [0.0]

    def run_client(number: int) -> None:
        rng = random.Random(1000 + number)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        firm_token = tokens["firm"][number % 4]

        def call(name: str, method: str, path: str, body=None, token=firm_token):
            try:
                conn.request(method, f"/api/v1{path}", json.dumps(body or {}),
                             {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                with lock:
                    failures.append(f"{name}: {error!r}")
                return 0, None
            with lock:
                outcomes[(name, response.status)] += 1
                if response.status >= 500:
                    failures.append(f"{name} {method} {path}: {response.status} {payload[:300]!r}")
            return response.status, json.loads(payload) if payload else None

        def slot():
            start = at(rng.choice(days), "09:00") + timedelta(minutes=30 * rng.randint(0, 14))
            return start, start + timedelta(minutes=rng.choice((30, 60, 90, 120)))

        def book():
            start, end = slot()
            body = {"instrument_id": rng.choice(instrument_ids), "start": start.isoformat(),
                    "end": end.isoformat(), "purpose": f"风暴 {number}"}
            if rng.random() < 0.5:
                body["voucher_id"] = pool.pick("vouchers", rng)
            if rng.random() < 0.2:
                body["recurrence"] = f"FREQ=WEEKLY;COUNT={rng.randint(2, 3)}"
            status, answer = call("book", "POST", "/bookings", body)
            if status == 201:
                pool.add("bookings", answer["id"])

        def reschedule():
            booking = pool.pick("bookings", rng)
            start, end = slot()
            call("reschedule", "PATCH", f"/bookings/{booking}", {"start": start.isoformat(), "end": end.isoformat()},
                 token=rng.choice([firm_token, tokens["manager"]]))

        def cancel():
            call("cancel", "POST", f"/bookings/{pool.pick('bookings', rng)}/cancel", {"reason": "风暴"},
                 token=rng.choice([firm_token, tokens["manager"]]))

        def decide():
            booking = pool.pick("bookings", rng)
            if rng.random() < 0.5:
                call("approve", "POST", f"/bookings/{booking}/approve", token=tokens["manager"])
            else:
                call("reject", "POST", f"/bookings/{booking}/reject", {"reason": "已满"}, token=tokens["manager"])

        def record_usage():
            booking = pool.pick("past", rng)
            status, answer = call("booking", "GET", f"/bookings/{booking}", token=tokens["manager"])
            if status != 200:
                return
            start = datetime.fromisoformat(answer["start"])
            used = start + timedelta(minutes=rng.choice((60, 90, 120, 150)))
            call("usage", "POST", f"/bookings/{booking}/usage", {
                "start": start.isoformat(), "end": used.isoformat(), "service_mode": "guided"}, token=tokens["manager"])

        def blackout():
            start, end = slot()
            call("blackout", "POST", f"/instruments/{rng.choice(instrument_ids)}/blackouts", {
                "start": start.isoformat(), "end": end.isoformat(), "reason": "维护",
                "cancel_bookings": rng.random() < 0.7}, token=tokens["manager"])

        def grant():
            status, answer = call("grant", "POST", "/vouchers", {
                "firm_id": rng.choice(firm_ids), "amount": rng.choice(("500.00", "1200.00")),
                "expires_on": NEXT_YEAR.isoformat(), "max_share": "0.5"}, token=tokens["bureau"])
            if status == 201:
                pool.add("vouchers", answer["id"])

        def revoke():
            call("revoke", "POST", f"/vouchers/{pool.pick('vouchers', rng)}/revoke", token=tokens["bureau"])

        def claim():
            today = datetime.now(SHANGHAI).date()
            status, answer = call("claim", "POST", "/voucher-claims", {
                "issuing_city": "jinhua", "from": (today - timedelta(days=30)).isoformat(),
                "to": today.isoformat()}, token=tokens["manager"])
            if status == 201:
                pool.add("claims", answer["id"])

        def review():
            claim_id = pool.pick("claims", rng)
            if claim_id is None:
                return
            status, answer = call("claims", "GET", "/voucher-claims", token=tokens["bureau"])
            lines = [line["id"] for item in (answer or {}).get("items", []) if item["id"] == claim_id
                     for line in item["lines"]]
            for line in lines:
                call("review", "POST", f"/voucher-claims/{claim_id}/lines/{line}",
                     {"approve": rng.random() < 0.7, "reason": "不符合"}, token=tokens["bureau"])
            call("paid", "POST", f"/voucher-claims/{claim_id}/paid", {"paid_on": date.today().isoformat()},
                 token=tokens["bureau"])

        operations = [book] * 8 + [reschedule] * 3 + [cancel] * 3 + [decide] * 2 + [record_usage] * 3 + [
            blackout, grant, revoke, claim, review]
        try:
            go.wait()
            while time.monotonic() < deadline[0]:
                operation = rng.choice(operations)
                if operation not in (book, blackout, grant, claim) and not pool.bookings:
                    operation = book
                operation()
        finally:
            conn.close()

    threads = [threading.Thread(target=run_client, args=(n,)) for n in range(CLIENTS)]
    deadline[0] = time.monotonic() + SECONDS
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    duration = time.monotonic() - began
    assert not any(t.is_alive() for t in threads), "clients still running"
    server.stop()

    with fixture_context(app):
        found = violations()
        instruments_left = db.session.query(Instrument).count()
    by_operation: dict[str, Counter] = {}
    for (name, status), count in outcomes.items():
        by_operation.setdefault(name, Counter())[status] = count
    total = sum(outcomes.values())
    print(f"\nstorm on {'PostgreSQL' if on_postgres else 'SQLite'}, gunicorn {workers} workers, "
          f"{CLIENTS} clients, {duration:.0f} s: {total} requests, {len(found)} invariant violations, "
          f"{sum(c for (_, s), c in outcomes.items() if s >= 500)} answers 5xx")
    for name, statuses in sorted(by_operation.items()):
        print(f"  {name:<11} " + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())))
    assert instruments_left == 3
    assert not failures, f"{len(failures)} failures, e.g. {failures[:5]}\n{server.stderr()}"
    assert found == [], "\n".join(map(str, found[:20]))
    for name in ("book", "cancel", "reschedule", "approve", "usage", "grant", "revoke", "claim"):
        assert any(200 <= status < 300 for status in by_operation.get(name, {})), (name, by_operation)
