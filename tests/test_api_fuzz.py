"""API fuzzing (issue #8): schemathesis against /api/v1/openapi.json on a
served app with demo data, with bearer tokens of four roles.

Every generated request must get no 5xx and an answer the OpenAPI document
declares (status, content type, body schema); requests schemathesis makes
invalid must be refused with a 4xx. Reads are fuzzed with valid and invalid
input; state-changing operations with invalid input for the roles that could
change something (admin, manager) and with valid input for a firm that owns
nothing; afterwards the data must be exactly as before.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import time
from collections import Counter
from datetime import date, timedelta

import pytest
import requests
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from instrument_share.accounts.models import Firm, User
from instrument_share.accounts.services import create_user, issue_token
from instrument_share.booking.schedule import create_blackout
from instrument_share.catalogue.models import Institution, Instrument
from instrument_share.db_types import utcnow
from instrument_share.demo.bookings import seed_bookings
from instrument_share.demo.seed import seed_catalogue
from instrument_share.extensions import db
from instrument_share.vouchers.services import issue_voucher

from .conftest import fixture_context
from .factories import valid_uscc
from .served import served

PASSWORD = "fuzz-password-1"
MIN_REQUESTS = 2000

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
VOLATILE = {"users": {"feed_nonce"}, "api_tokens": None}


def _seed_demo_region() -> dict[str, str]:
    """The demo catalogue (69 institutions, 903 instruments, 27 firms), bookings
    on a few institutions' instruments, vouchers, a blackout, and one login per
    role; returns a bearer token per role."""
    institutions, firms = seed_catalogue()
    some = sorted(institutions.values(), key=lambda i: i.id)[:6]
    firm_list = sorted(firms.values(), key=lambda f: f.id)
    users = {
        "admin": create_user(email="fuzz-admin@g60.example", password=PASSWORD, role="admin"),
        "manager": create_user(email="fuzz-manager@g60.example", password=PASSWORD, role="manager",
                               institution_id=some[0].id),
        "city_admin": create_user(email="fuzz-bureau@g60.example", password=PASSWORD, role="city_admin",
                                  city_code=some[0].city_code),
        "firm": create_user(email="fuzz-firm@g60.example", password=PASSWORD, role="firm",
                            firm=firm_list[0]),
    }
    create_user(email="fuzz-firm-2@g60.example", password=PASSWORD, role="firm", firm=firm_list[-1])
    db.session.flush()
    seed_bookings(random.Random(2026), utcnow(), institution_ids=[i.id for i in some])
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
    users["empty_firm"] = create_user(email="fuzz-empty@g60.example", password=PASSWORD, role="firm",
                                      firm=empty)
    db.session.commit()
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
        if volatile is None:
            continue
        columns = [c for c in table.columns if c.name not in volatile]
        order = list(table.primary_key.columns) or columns
        rows = db.session.execute(sa.select(*columns).order_by(*order)).all()
        digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


class Run:
    """Fuzz one operation as one role in one generation mode; collect, never stop."""

    def __init__(self, base, session, operation, role, mode, headers, checks, counts, statuses, failures):
        self.base, self.session, self.operation = base, session, operation
        self.role, self.mode, self.headers, self.checks = role, mode, headers, checks
        self.counts, self.statuses, self.failures = counts, statuses, failures

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
        response = case.call(base_url=self.base, session=self.session, timeout=60)
        self.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=self.checks, headers=self.headers,
                                   transport_kwargs={"base_url": self.base, "headers": self.headers})
        except (AssertionError, BaseExceptionGroup) as error:
            self.failures.append(f"{self.role} {self.mode.value} {self.operation.label}: {error}")


def _is_read(operation) -> bool:
    return operation.method.upper() == "GET"


@pytest.mark.slow
def test_api_fuzz_schemathesis(app):
    """Schemathesis: ≥ 2,000 generated requests, no 5xx, every answer as documented."""
    with fixture_context(app):
        tokens = _seed_demo_region()
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
                run = Run(base, session, operation, role, mode, headers, checks, counts, statuses, failures)
                t = time.monotonic()
                run.fuzz(examples)
                timings[f"{role} {mode.value} {operation.label}"] = time.monotonic() - t
    elapsed = time.monotonic() - started

    total = sum(counts.values())
    print(f"\nschemathesis: {total} generated requests in {elapsed:.1f} s; statuses {dict(sorted(statuses.items()))}")
    for label, count in sorted(counts.items()):
        print(f"  {count:5d}  {label}")
    for key, seconds in sorted(timings.items(), key=lambda kv: -kv[1])[:25]:
        print(f"  {seconds:6.2f}s {key}")
    assert not failures, f"{len(failures)} failing requests:\n\n" + "\n\n".join(failures[:20])
    assert total >= MIN_REQUESTS
    assert len(counts) == len(operations)
    with fixture_context(app):
        after = _fingerprint()
        changed = sorted(name for name in before if before[name] != after[name])
        assert not changed, f"fuzzing changed data in {changed}"
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 6
