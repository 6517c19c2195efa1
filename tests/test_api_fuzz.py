"""API fuzzing (issues #8 and #13): schemathesis against /api/v1/openapi.json
on a served app with demo data, with bearer tokens of four roles.

Stateless phase: every operation alone. Every generated request must get no
5xx and an answer the OpenAPI document declares (status, content type, body
schema); requests schemathesis makes invalid must be refused with a 4xx.
Reads are fuzzed with valid and invalid input; state-changing operations with
invalid input for the roles that could change something (admin, manager) and
with valid input for a firm that owns nothing; afterwards the data must be
exactly as before.

Stateful phase: schemathesis follows the document's links (api/links.py)
from one answer to the next call (book → read, move, cancel, approve, check
in, record usage, rate; publish → change, hours, blackouts → remove; grant →
revoke; claim → decide, paid …) as each of the four roles in turn. It changes
data by design, so it runs on its own database state, and afterwards every
invariant of integrity.py must hold.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
import requests
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Flaky, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from instrument_share import integrity
from instrument_share.accounts.models import Firm, Institution, User
from instrument_share.accounts.services import create_user, issue_token
from instrument_share.booking import services as booking_services
from instrument_share.booking import usage
from instrument_share.booking.availability import free_intervals
from instrument_share.booking.models import Blackout, Booking
from instrument_share.booking.schedule import create_blackout
from instrument_share.catalogue.models import Instrument
from instrument_share.demo.bookings import seed_bookings
from instrument_share.demo.seed import seed_catalogue
from instrument_share.extensions import db
from instrument_share.timeutil import isoformat_platform, platform_zone, utcnow
from instrument_share.vouchers.models import Voucher, VoucherClaim, VoucherEntry
from instrument_share.vouchers.services import issue_voucher

from .conftest import fixture_context
from .factories import valid_uscc
from .served import served

PASSWORD = "fuzz-password-1"
MIN_STATELESS_REQUESTS = 2000
MIN_STATEFUL_REQUESTS = 1000  # with the stateless phase, at least 3,000

# positive_data_acceptance is left out: API.md itself answers 422 to input the
# schema cannot judge (end not after start, a period over two years, an unknown
# instrument or city). ignored_auth is covered route by route in
# test_api_access.py and would double the requests.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]
# The stateful phase adds the checks that need a history: a deleted resource
# is gone (404), and one just created can be reached through its links.
STATEFUL_CHECKS = [*CHECKS, use_after_free, ensure_resource_availability]

# (role, generation mode, which operations, examples per operation)
PLAN = [
    ("admin", GenerationMode.POSITIVE, "read", 23),
    ("admin", GenerationMode.NEGATIVE, "read", 12),
    ("manager", GenerationMode.POSITIVE, "read", 10),
    ("city_admin", GenerationMode.POSITIVE, "read", 8),
    ("firm", GenerationMode.POSITIVE, "read", 8),
    ("admin", GenerationMode.NEGATIVE, "write", 26),
    ("manager", GenerationMode.NEGATIVE, "write", 10),
    ("empty_firm", GenerationMode.POSITIVE, "write", 22),
]

# Columns a fuzzed request may change without changing anything that matters.
# api_tokens is not among them: DELETE /tokens/current, the one operation that
# ends the token it comes with, is sent with throwaway tokens (see Run.send).
# A wrong current password sent to POST /me/password counts as a failed sign-in.
# A token's first use of the day is written down (`last_used_on`).
VOLATILE = {"users": {"feed_nonce", "failed_logins", "login_locked_until"}, "api_tokens": {"last_used_on"}}

# The operation that ends the bearer token it is sent with.
END_TOKEN = "DELETE /api/v1/tokens/current"


def _seed_demo_region() -> dict[str, User]:
    """The demo catalogue (69 institutions, 903 instruments, 27 firms), bookings
    on a few institutions' instruments, vouchers, a blackout, and one login per
    role (the firm and the bureau of the manager's city); returns them by role."""
    institutions, firms = seed_catalogue()
    some = sorted(institutions.values(), key=lambda i: i.id)[:6]
    firm_list = sorted(firms.values(), key=lambda f: f.id)
    city = some[0].city_code
    users = {
        "admin": create_user(email="fuzz-admin@g60.example", password=PASSWORD, role="admin"),
        "manager": create_user(email="fuzz-manager@g60.example", password=PASSWORD, role="manager",
                               institution_id=some[0].id),
        "city_admin": create_user(email="fuzz-bureau@g60.example", password=PASSWORD, role="city_admin",
                                  city_code=city),
        "firm": create_user(email="fuzz-firm@g60.example", password=PASSWORD, role="firm",
                            firm=next(f for f in firm_list if f.city_code == city)),
    }
    create_user(email="fuzz-firm-2@g60.example", password=PASSWORD, role="firm", firm=firm_list[-1])
    db.session.flush()
    seed_bookings(random.Random(2026), utcnow(), institution_ids=[i.id for i in some], history_days=120)
    db.session.commit()  # the services below open their own write transaction
    for firm in firm_list[:4]:
        issue_voucher(users["admin"], firm.id, "5000.00", date.today() + timedelta(days=180), "0.5")
        db.session.commit()
    instrument = db.session.scalar(
        sa.select(Instrument).where(Instrument.institution_id == some[0].id).order_by(Instrument.id)
    )
    far = utcnow().replace(microsecond=0) + timedelta(days=60)
    create_blackout(instrument, users["admin"], far, far + timedelta(hours=4), "年度维护", cancel_bookings=True)
    db.session.commit()
    # A firm of its own that owns nothing: valid requests from it change nothing.
    empty = Firm(name="空白测试科技有限公司", uscc=valid_uscc(990001), city_code="wuhu")
    # Not its firm's administrator: an invitation it sent would change data.
    users["empty_firm"] = create_user(email="fuzz-empty@g60.example", password=PASSWORD, role="firm",
                                      firm=empty, org_admin=False)
    db.session.commit()
    return users


def _tokens(users: dict[str, User]) -> dict[str, str]:
    tokens = {role: issue_token(user.email, PASSWORD)[0] for role, user in users.items()}
    db.session.commit()
    return tokens


def _fingerprint() -> dict[str, str]:
    """A digest of every table's rows (volatile columns left out)."""
    digests = {}
    tables = sa.MetaData()
    tables.reflect(bind=db.engine)  # the database as migrated, whatever the models say
    for table in tables.sorted_tables:
        volatile = VOLATILE.get(table.name, set())
        columns = [c for c in table.columns if c.name not in volatile]
        order = list(table.primary_key.columns) or columns
        rows = db.session.execute(sa.select(*columns).order_by(*order)).all()
        digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def _is_negative(case) -> bool:
    return case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE


class Run:
    """Fuzz one operation as one role in one generation mode; collect, never stop."""

    def __init__(self, base, session, operation, role, mode, headers, checks, counts, statuses, failures,
                 email):
        self.base, self.session, self.operation = base, session, operation
        self.role, self.mode, self.headers, self.checks = role, mode, headers, checks
        self.counts, self.statuses, self.failures = counts, statuses, failures
        self.email = email

    def fuzz(self, examples: int) -> None:
        strategy = self.operation.as_strategy(generation_mode=self.mode, headers=self.headers)

        @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def fuzz(case):
            self.send(case)

        # Unsatisfiable: nothing to make invalid (no parameters, no body).
        with contextlib.suppress(Unsatisfiable):
            fuzz()

    def send(self, case) -> None:
        self.counts[self.operation.label] += 1
        self.counts[f"role {self.role}"] += 1
        headers = self.headers
        throwaway = None
        if self.operation.label == END_TOKEN:
            # It ends the token it is sent with: with the role's own token every
            # later request of the role would be a 401 (the write plan of the
            # empty firm was, once) and api_tokens would change. So each request
            # gets a token of its own, minted at the real door; it must stop
            # working, and the table ends as it began.
            throwaway = self._mint_token()
            headers = {"Authorization": f"Bearer {throwaway}"}
        response = case.call(base_url=self.base, session=self.session, headers=headers, timeout=60)
        self.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=self.checks, headers=headers,
                                   transport_kwargs={"base_url": self.base, "headers": headers})
        except (AssertionError, BaseExceptionGroup) as error:
            self.failures.append(f"{self.role} {self.mode.value} {self.operation.label}: {error}")
        if throwaway is not None:
            self._ended(throwaway, response)

    def _mint_token(self) -> str:
        answer = self.session.post(f"{self.base}/api/v1/tokens", json={"email": self.email, "password": PASSWORD},
                                   timeout=60)
        assert answer.status_code == 201, answer.text
        return answer.json()["token"]

    def _ended(self, token: str, response) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        still = self.session.get(f"{self.base}/api/v1/me", headers=headers, timeout=60).status_code != 401
        if response.status_code == 204 and still:
            self.failures.append(f"{self.role} {END_TOKEN}: 204, but the token still works")
        if still:  # refused (a broken request): end it, so that api_tokens is as it was
            self.session.delete(f"{self.base}/api/v1/tokens/current", headers=headers, timeout=60)


def _is_read(operation) -> bool:
    return operation.method.upper() == "GET"


@pytest.mark.slow
def test_api_fuzz_schemathesis(app):
    """Schemathesis, stateless: ≥ 2,000 generated requests, no 5xx, every answer
    as documented, no data changed."""
    with fixture_context(app):
        users = _seed_demo_region()
        emails = {role: user.email for role, user in users.items()}
        tokens = _tokens(users)
        assert db.session.scalar(sa.select(sa.func.count(Instrument.id))) >= 900
        assert db.session.scalar(sa.select(sa.func.count(Institution.id))) >= 69
        before = _fingerprint()
        db.session.remove()

    counts: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    timings: dict[str, float] = {}
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = time.monotonic()
    with served(app) as base, requests.Session() as session:
        schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        for role, mode, kind, examples in PLAN:
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            checks = NEGATIVE_CHECKS if mode == GenerationMode.NEGATIVE else CHECKS
            for operation in operations:
                if _is_read(operation) != (kind == "read"):
                    continue
                run = Run(base, session, operation, role, mode, headers, checks, counts, statuses, failures,
                          emails[role])
                t = time.monotonic()
                run.fuzz(examples)
                timings[f"{role} {mode.value} {operation.label}"] = time.monotonic() - t
    elapsed = time.monotonic() - started

    roles = {label.removeprefix("role "): counts.pop(label) for label in list(counts) if label.startswith("role ")}
    total = sum(counts.values())
    print(f"\nschemathesis, stateless: {total} generated requests in {elapsed:.1f} s; "
          f"statuses {dict(sorted(statuses.items()))}; by role {roles}")
    for label, count in sorted(counts.items()):
        print(f"  {count:5d}  {label}")
    for key, seconds in sorted(timings.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {seconds:6.2f}s {key}")
    assert not failures, f"{len(failures)} failing requests:\n\n" + "\n\n".join(failures[:20])
    assert total >= MIN_STATELESS_REQUESTS
    assert len(counts) == len(operations)
    with fixture_context(app):
        after = _fingerprint()
        changed = sorted(name for name in before if before[name] != after[name])
        assert not changed, f"fuzzing changed data in {changed}"
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 6


# -- the document's links ----------------------------------------------------

def _deref(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _schema_at(spec: dict, schema: dict, pointer: str) -> dict | None:
    """The part of `schema` that a JSON pointer into a valid document reaches, or None."""
    for part in filter(None, pointer.split("/")):
        schema = _deref(spec, schema)
        if part.isdigit() and schema.get("type") == "array":
            schema = schema["items"]
        elif part in schema.get("properties", {}):
            schema = schema["properties"][part]
        else:
            return None
    return _deref(spec, schema)


def _json_body(spec: dict, holder: dict) -> dict:
    return _deref(spec, holder.get("content", {}).get("application/json", {}).get("schema", {}))


def _operations(spec: dict):
    """(label, operation), the operation with its path's parameters."""
    for path, item in spec["paths"].items():
        shared = [_deref(spec, p) for p in item.get("parameters", [])]
        for method, operation in item.items():
            if method != "parameters":
                own = [_deref(spec, p) for p in operation.get("parameters", [])]
                yield f"{method.upper()} {path}", {**operation, "parameters": shared + own}


def _value_schema(spec: dict, expression: str, source: dict, answer: dict) -> dict | None:
    """What a runtime expression of a link of `answer` (an answer of `source`) yields."""
    if expression.startswith("$response.body#"):
        return _schema_at(spec, _json_body(spec, answer), expression.removeprefix("$response.body#"))
    if expression.startswith("$request.body#"):
        request = _json_body(spec, _deref(spec, source.get("requestBody", {})))
        return _schema_at(spec, request, expression.removeprefix("$request.body#"))
    if expression.startswith("$request.path."):
        name = expression.removeprefix("$request.path.")
        found = [p for p in source.get("parameters", []) if p["in"] == "path" and p["name"] == name]
        return found[0]["schema"] if found else None
    return None


def test_the_documents_links_lead_to_real_operations(client):
    """Every link of /api/v1/openapi.json names an operation by its unique
    operationId, fills all its path parameters, and takes each value from a
    field its source really answers (or was sent) with, of the type the target
    expects; every operation on one of our rows can be reached by a link."""
    spec = client.get("/api/v1/openapi.json").get_json()
    by_id = {}
    for label, operation in _operations(spec):
        assert operation.get("operationId"), label
        assert operation["operationId"] not in by_id, operation["operationId"]
        by_id[operation["operationId"]] = operation
    reached = set()
    for label, operation in _operations(spec):
        for status, answer in operation["responses"].items():
            answer = _deref(spec, answer)
            for name, link in answer.get("links", {}).items():
                link = _deref(spec, link)
                where = f"{label} {status} → {name}"
                target = by_id.get(link.get("operationId"))
                assert target is not None, where
                reached.add(link["operationId"])
                parameters = {p["name"]: p for p in target.get("parameters", [])}
                for key, expression in link.get("parameters", {}).items():
                    location, _, parameter = key.rpartition(".")
                    assert parameter in parameters, where
                    assert location in ("", parameters[parameter]["in"]), where
                    value = _value_schema(spec, expression, operation, answer)
                    assert value is not None, f"{where}: {expression}"
                    assert value.get("type") == parameters[parameter]["schema"]["type"], f"{where}: {expression}"
                path_parameters = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                assert path_parameters <= {key.rpartition(".")[2] for key in link.get("parameters", {})}, where
                target_body = _json_body(spec, _deref(spec, target.get("requestBody", {})))
                for key, expression in link.get("requestBody", {}).items():
                    assert key in target_body.get("properties", {}), f"{where}: body field {key}"
                    value = _value_schema(spec, expression, operation, answer)
                    assert value is not None, f"{where}: {expression}"
                    wanted = _deref(spec, target_body["properties"][key]).get("type")
                    assert value.get("type") == wanted, f"{where}: {expression}"
    # A user id is in no answer, so lifting a suspension is reached by hand.
    on_rows = {operation_id for operation_id, operation in by_id.items()
               if any(p["in"] == "path" for p in operation.get("parameters", []))}
    assert on_rows - {"lift_suspension"} <= reached, sorted(on_rows - reached)
    assert {"create_booking", "revoke_voucher", "decide_line", "mark_paid", "delete_blackout"} <= reached


# -- stateful phase ------------------------------------------------------------

# (role, scenarios, steps per scenario at most). The roles take turns on one
# database, in this order: the bureau then reviews the claims the manager
# filed, and the admin acts on everything the others left. A longer hunt:
# FUZZ_SCENARIOS=6 runs six times as many scenarios (about 15 requests each),
# FUZZ_SEED=n starts from other seeds.
SCALE = float(os.environ.get("FUZZ_SCENARIOS", "1"))
STATEFUL_PLAN = [
    (role, max(1, round(scenarios * SCALE)), 25)
    for role, scenarios in (("firm", 20), ("manager", 24), ("city_admin", 18), ("admin", 26))
]
PURPOSE = "材料表征测试"
STATEFUL_SEED = int(os.environ.get("FUZZ_SEED", "2026"))


@dataclass
class World:
    """What the stateful phase's roles know, as a client would: their token, free
    time to book (instrument, start, end), vouchers they may spend, firms they
    may grant vouchers to, the institution they publish and claim for."""

    tokens: dict[str, str]
    slots: dict[str, list[tuple[int, str, str]]]
    vouchers: dict[str, list[int]]
    firms: dict[str, list[int]]
    institution: dict[str, int]
    institutions: list[int]
    city: str
    category: str
    now: datetime = field(default_factory=utcnow)


def _free_slots(instrument: Instrument, now: datetime, count: int) -> list[tuple[int, str, str]]:
    """Up to `count` bookable slots of the instrument, one or two hours within
    its rules, in free time three to thirty days ahead."""
    zone = platform_zone()
    start_day = datetime.combine((now + timedelta(days=3)).astimezone(zone).date(), datetime.min.time(), zone)
    minutes = min(max(instrument.min_booking_minutes, 60), instrument.max_booking_minutes)
    length = timedelta(minutes=minutes)
    slots = []
    for free_start, free_end in free_intervals(instrument, start_day, start_day + timedelta(days=27)):
        start = free_start.astimezone(zone).replace(minute=0, second=0)
        start = start if start >= free_start else start + timedelta(hours=1)
        if start + length <= free_end:
            slots.append((instrument.id, isoformat_platform(start), isoformat_platform(start + length)))
        if len(slots) >= count:
            break
    return slots


def _served_voucher_booking(firm_user: User, manager: User, instrument: Instrument, voucher_id: int,
                            days_ago: int, *, recorded: bool) -> None:
    """A booking paid partly by the voucher, served `days_ago` (booked through
    the service with its clock set back) and, if `recorded`, its usage recorded:
    a capture the manager can claim; else usage the manager has yet to record."""
    now = utcnow().replace(microsecond=0)
    zone = platform_zone()
    length = timedelta(minutes=max(instrument.min_booking_minutes, 60))
    day = datetime.combine((now - timedelta(days=days_ago)).astimezone(zone).date(), datetime.min.time(), zone)
    start = next(free_start for days_back in range(14)
                 for free_start, free_end in free_intervals(instrument, day - timedelta(days=days_back),
                                                            day - timedelta(days=days_back - 1))
                 if free_start + length <= min(free_end, now))
    end = start + length
    [booking] = booking_services.create_booking(firm_user, instrument.id, start, end, PURPOSE,
                                                voucher_id=voucher_id, now=start - timedelta(days=4))
    db.session.commit()
    if recorded:
        usage.record_usage(db.session.get(Booking, booking.id), manager, start, end, "guided",
                           now=end + timedelta(hours=1))
        db.session.commit()


def _seed_stateful_world() -> World:
    """The demo region of the stateless phase, plus: the firm's own voucher from
    its city's bureau, five served voucher bookings of that firm on the
    manager's instruments (three recorded: captures to claim; two waiting for
    their usage), and free time to book."""
    users = _seed_demo_region()
    firm_user, manager, bureau = users["firm"], users["manager"], users["city_admin"]
    voucher = issue_voucher(bureau, firm_user.firm_id, "3000.00", date.today() + timedelta(days=200), "0.5")
    db.session.commit()
    own = db.session.scalars(
        sa.select(Instrument).where(Instrument.institution_id == manager.institution_id,
                                    Instrument.status == "normal").order_by(Instrument.id)).all()
    payable = [i for i in own if i.accepts_vouchers and not i.requires_approval]
    for days_ago, instrument, recorded in zip((5, 8, 11, 1, 2), payable * 5, (True,) * 3 + (False,) * 2,
                                              strict=False):
        _served_voucher_booking(db.session.get(User, firm_user.id), db.session.get(User, manager.id),
                                instrument, voucher.id, days_ago, recorded=recorded)
    institutions = sorted({i.institution_id for i in db.session.scalars(
        sa.select(Instrument).join(Booking, Booking.instrument_id == Instrument.id))})
    anywhere = db.session.scalars(
        sa.select(Instrument).where(Instrument.institution_id.in_(institutions), Instrument.status == "normal")
        .order_by(Instrument.id)).all()
    now = utcnow()
    everywhere_slots = [slot for instrument in anywhere[::4] for slot in _free_slots(instrument, now, 4)]
    own_slots = [slot for instrument in own for slot in _free_slots(instrument, now, 4)]
    firm_ids = db.session.scalars(sa.select(Firm.id).order_by(Firm.id)).all()
    city_firms = db.session.scalars(
        sa.select(Firm.id).where(Firm.city_code == bureau.city_code).order_by(Firm.id)).all()
    firm_vouchers = db.session.scalars(
        sa.select(Voucher.id).where(Voucher.firm_id == firm_user.firm_id).order_by(Voucher.id)).all()
    world = World(
        tokens=_tokens(users),
        slots={"firm": everywhere_slots, "manager": own_slots, "city_admin": everywhere_slots,
               "admin": everywhere_slots},
        vouchers={"firm": firm_vouchers},
        firms={"city_admin": city_firms, "admin": firm_ids, "manager": city_firms, "firm": city_firms},
        institution={"manager": manager.institution_id, "admin": institutions[1]},
        institutions=institutions,
        city=bureau.city_code,
        category=db.session.scalar(sa.select(Instrument.category_code).order_by(Instrument.id)),
        now=now,
    )
    assert db.session.scalar(sa.select(sa.func.count(VoucherEntry.id)).where(VoucherEntry.kind == "capture")) == 3
    assert own_slots and everywhere_slots and firm_vouchers
    return world


class Plausible:
    """Gives generated requests the values a client would send (free time of a
    real instrument, a firm of the bureau's city, a real category, a time
    window ahead …) three times in four, on the operations where random values
    would almost never get past validation; the rest, and every request made
    invalid on purpose, go as generated. Values a link filled in are kept. The
    choice is taken from the generated request itself, so a run stays
    deterministic."""

    def __init__(self, world: World, role: str):
        self.world, self.role = world, role

    def __call__(self, case) -> None:
        change = {
            "GET /api/v1/instruments": self.search,
            "GET /api/v1/bookings": self.bookings,
            "GET /api/v1/instruments/{instrument_id}/availability": self.window,
            "POST /api/v1/bookings": self.booking,
            "PATCH /api/v1/bookings/{booking_id}": self.move,
            "POST /api/v1/vouchers": self.voucher,
            "POST /api/v1/instruments": self.instrument,
            "POST /api/v1/instruments/{instrument_id}/blackouts": self.blackout,
            "POST /api/v1/voucher-claims": self.claim,
            "POST /api/v1/voucher-claims/{claim_id}/paid": self.paid,
        }.get(case.operation.label)
        if change is None or _is_negative(case):
            return
        n = zlib.crc32(repr((case.operation.label, case.path_parameters, case.query, case.body)).encode())
        if n % 4 == 0:
            return
        if case.operation.method.upper() == "GET":
            change(case.query, n // 4)
        elif isinstance(case.body, dict):
            change(case.body, n // 4)

    def _near(self, value) -> bool:
        """A time a link filled in (free time, a suggestion): within the next 62 days."""
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return False
        return moment.tzinfo is not None and self.world.now < moment < self.world.now + timedelta(days=62)

    def _slot(self, n: int, instrument_id=None) -> tuple[int, str, str]:
        slots = self.world.slots[self.role]
        own = [slot for slot in slots if slot[0] == instrument_id]
        return (own or slots)[n % len(own or slots)]

    def search(self, query: dict, n: int) -> None:
        """One instrument (per_page=1: the link takes the first item) of the
        role's own institution, or of one of those with bookings."""
        own, some = self.world.institution.get(self.role), self.world.institutions
        query.clear()
        query.update(institution=own if own and n % 3 else some[n % len(some)], sort=("name", "rate")[n % 2],
                     per_page=1, page=1 + n // 2 % 8)

    def bookings(self, query: dict, n: int) -> None:
        """One booking (per_page=1: the link takes the first item) awaiting a
        decision, to come, or past and waiting for its usage."""
        now = self.world.now.replace(microsecond=0).isoformat()
        query.clear()
        query.update(per_page=1, page=1 + n // 4 % 3, **[
            {"status": "pending"}, {"status": "confirmed", "from": now}, {"status": "confirmed", "to": now},
            {"status": "completed"},
        ][n % 4])

    def window(self, query: dict, n: int) -> None:
        start = (self.world.now + timedelta(days=3 + n % 10)).replace(microsecond=0)
        query.update({"from": start.isoformat(), "to": (start + timedelta(days=1 + n % 6)).isoformat()})

    def booking(self, body: dict, n: int) -> None:
        if not (self._near(body.get("start")) and self._near(body.get("end"))):
            body["instrument_id"], body["start"], body["end"] = self._slot(n, body.get("instrument_id"))
        if not str(body.get("purpose", "")).strip():
            body["purpose"] = PURPOSE
        body["recurrence"] = "FREQ=WEEKLY;COUNT=2" if n % 5 == 0 else None
        vouchers = self.world.vouchers.get(self.role, [])
        if body.get("voucher_id") not in vouchers:
            body["voucher_id"] = vouchers[n % len(vouchers)] if vouchers and n % 2 else None

    def move(self, body: dict, n: int) -> None:
        _, body["start"], body["end"] = self._slot(n)

    def voucher(self, body: dict, n: int) -> None:
        firms = self.world.firms[self.role]
        if body.get("firm_id") not in firms:
            body["firm_id"] = firms[n % len(firms)]
        body.update(amount=f"{200 + n % 9 * 100}.00", expires_on=(date.today() + timedelta(days=30 + n % 300)).isoformat(),
                    max_share=("0.5", "1", "0.3")[n % 3])

    def instrument(self, body: dict, n: int) -> None:
        for key in list(body):
            if key not in ("name", "name_en", "model", "manufacturer", "description"):
                del body[key]
        if not str(body.get("name", "")).strip():
            body["name"] = "场发射扫描电子显微镜"
        body.update(category=self.world.category, hourly_rate="280.00", min_booking_minutes=30,
                    max_booking_minutes=240, requires_approval=bool(n % 2), accepts_vouchers=True,
                    opening_hours=[{"weekday": d, "open": "09:00", "close": "17:00"} for d in range(5)])
        if self.role in self.world.institution:
            body["institution_id"] = self.world.institution[self.role]

    def blackout(self, body: dict, n: int) -> None:
        _, start, _ = self._slot(n)
        begin = datetime.fromisoformat(start)
        body.update(start=start, end=(begin + timedelta(hours=1 + n % 3)).isoformat(), reason="维护保养",
                    cancel_bookings=bool(n % 2))

    def claim(self, body: dict, n: int) -> None:
        today = date.today()
        body.update({"issuing_city": self.world.city, "from": (today - timedelta(days=30 + n % 60)).isoformat(),
                     "to": today.isoformat()})
        if self.role in self.world.institution and self.role != "manager":
            body["institution_id"] = self.world.institution[self.role]

    def paid(self, body: dict, n: int) -> None:
        body["paid_on"] = (date.today() - timedelta(days=n % 3)).isoformat()


@dataclass
class Tally:
    scenarios: Counter = field(default_factory=Counter)  # role → scenarios begun
    restarts: Counter = field(default_factory=Counter)  # role → runs ended by an inconsistent replay
    requests: Counter = field(default_factory=Counter)  # role → requests
    linked: Counter = field(default_factory=Counter)  # role → requests whose values a link gave
    statuses: dict[str, Counter] = field(default_factory=dict)  # role → status → n
    answers: Counter = field(default_factory=Counter)  # "label status" → n
    failures: list[str] = field(default_factory=list)


def _workflow(base: str, session, role: str, world: World, tally: Tally):
    """The document's state machine acting as `role`: its token on every request
    (a fixed header, so that negative cases never drop it), plausible values,
    every answer checked and counted, failures collected rather than raised (one
    run reports them all, and nothing is shrunk)."""
    config = schemathesis.Config.from_dict({
        "headers": {"Authorization": f"Bearer {world.tokens[role]}"},
        # Only the links the document declares: schemathesis could infer more
        # from names, but the test follows what clients are told.
        "phases": {"stateful": {"inference": {"algorithms": []}}},
    })
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json", config=config)
    plausible = Plausible(world, role)

    class Workflow(schema.as_state_machine()):
        def setup(self):
            tally.scenarios[role] += 1

        def before_call(self, case):
            plausible(case)

        def get_call_kwargs(self, case):
            return {"base_url": base, "session": session, "timeout": 60}

        def step(self, input):
            if input.transition is not None and input.is_applied:
                tally.linked[role] += 1
            # A link's body replaces a body made invalid on purpose (random
            # bytes become the booking a 409 suggests): no longer a negative case.
            self.body_from_link = any(location == ParameterLocation.BODY for location, _ in input.applied_parameters)
            return super().step(input)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            tally.requests[role] += 1
            tally.statuses.setdefault(role, Counter())[response.status_code] += 1
            tally.answers[f"{case.operation.label} {response.status_code}"] += 1
            negative = _is_negative(case) and not self.body_from_link
            checks = [*STATEFUL_CHECKS, negative_data_rejection] if negative else STATEFUL_CHECKS
            try:
                case.validate_response(response, checks=checks, transport_kwargs=kwargs, recorder=self.recorder)
            except (AssertionError, BaseExceptionGroup) as error:
                tally.failures.append(f"{role} stateful {case.operation.label}: {error}")

    return Workflow


def _run_workflow(workflow, role: str, scenarios: int, steps: int, first_seed: int, tally: Tally) -> None:
    """Run `scenarios` scenarios of at most `steps` steps, from fixed seeds.

    Hypothesis replays the start of earlier scenarios when it makes a new one;
    against a server whose data the earlier ones changed, a replay can take
    another path, and Hypothesis stops the run (Flaky: "inconsistent data
    generation"). As schemathesis's own runner does, the run then goes on from
    the next seed until the scenarios are done.
    """
    for attempt in range(20):
        remaining = scenarios - tally.scenarios[role]
        if remaining <= 0:
            return
        try:
            seed(first_seed + attempt)(workflow).run(settings=settings(
                max_examples=remaining, stateful_step_count=steps, database=None, deadline=None,
                phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
        except Flaky:
            tally.restarts[role] += 1
        else:
            return


def _census() -> Counter:
    """What the data holds: bookings by status, and the rows the stateful phase makes."""
    counts = Counter({f"bookings {status}": n for status, n in db.session.execute(
        sa.select(Booking.status, sa.func.count()).group_by(Booking.status))})
    for name, model in (("vouchers", Voucher), ("voucher entries", VoucherEntry), ("instruments", Instrument),
                        ("blackouts", Blackout), ("claims", VoucherClaim)):
        counts[name] = db.session.scalar(sa.select(sa.func.count()).select_from(model))
    counts["vouchers revoked"] = db.session.scalar(sa.select(sa.func.count()).where(Voucher.status == "revoked"))
    counts["claims paid"] = db.session.scalar(sa.select(sa.func.count()).where(VoucherClaim.paid_on.is_not(None)))
    return counts


@pytest.mark.slow
def test_api_fuzz_schemathesis_stateful(app):
    """Schemathesis, stateful: the four roles follow the document's links,
    ≥ 1,000 generated requests (≥ 3,000 with the stateless phase), no 5xx,
    every answer as documented, and every invariant holds afterwards."""
    with fixture_context(app):
        world = _seed_stateful_world()
        before = _census()
        db.session.remove()

    tally = Tally()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = time.monotonic()
    timings = {}
    with served(app) as base, requests.Session() as session:
        for number, (role, scenarios, steps) in enumerate(STATEFUL_PLAN):
            t = time.monotonic()
            _run_workflow(_workflow(base, session, role, world, tally), role, scenarios, steps,
                          STATEFUL_SEED + 100 * number, tally)
            timings[role] = time.monotonic() - t
    elapsed = time.monotonic() - started

    total = sum(tally.requests.values())
    print(f"\nschemathesis, stateful: {total} generated requests in {elapsed:.1f} s, "
          f"{sum(tally.linked.values())} of them fed by a link")
    for role, _, _ in STATEFUL_PLAN:
        print(f"  {role:10s} {tally.requests[role]:5d} requests ({tally.linked[role]} linked), "
              f"{tally.scenarios[role]} scenarios ({tally.restarts[role]} restarts) in {timings[role]:5.1f} s; "
              f"statuses {dict(sorted(tally.statuses.get(role, {}).items()))}")
    for answer, count in sorted(tally.answers.items()):
        print(f"  {count:5d}  {answer}")
    with fixture_context(app):
        after = _census()
        broken = integrity.violations()
    print("  data: " + ", ".join(f"{key} {before[key]} → {after[key]}" for key in sorted(after | before)
                                 if before[key] != after[key]))
    assert not tally.failures, f"{len(tally.failures)} failing requests:\n\n" + "\n\n".join(tally.failures[:20])
    assert not broken, "\n".join(map(str, broken))
    assert total >= MIN_STATEFUL_REQUESTS
    assert all(tally.requests[role] for role, _, _ in STATEFUL_PLAN)
