"""Load the demo region into the database; safe to run again."""
from __future__ import annotations

import random
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cache

import click
import sqlalchemy as sa

from ..accounts.models import City, Firm, Institution, Role, User
from ..accounts.passwords import hash_password
from ..accounts.services import create_user
from ..booking.models import Booking
from ..catalogue.models import Instrument, OpeningHours
from ..database import begin_write_transaction
from ..extensions import db
from ..orders.models import Order
from ..search.index import reindex
from ..search.models import InstrumentTerm
from ..timeutil import utcnow
from .catalogue import FIRMS, INSTITUTIONS, build_instruments
from .history import seed_history
from .orders import seed_orders

DEMO_PASSWORD = "g60-demo-2026"
ADMIN_EMAIL = "office@g60.example"


@dataclass
class SeedSummary:
    institutions: int = 0
    instruments: int = 0
    firms: int = 0
    users: int = 0
    bookings: int = 0
    bookings_added: int = 0
    orders: int = 0
    orders_added: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"Demo region: {self.institutions} institutions, {self.instruments} instruments, "
            f"{self.firms} firms, {self.users} users, {self.bookings} bookings, {self.orders} orders "
            "in the database.",
            "Demo logins:",
        ]
        lines += [f"  {role:<11} {email}" for role, email in self.logins]
        return "\n".join(lines)


def _parse_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@cache
def _demo_hash() -> str:
    """One hash of the demo password for every demo login: hashing is
    deliberately slow (a tenth of a second), and there are a hundred of them."""
    return hash_password(DEMO_PASSWORD)


def _ensure_user(email: str, **kwargs) -> None:
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is None:
        create_user(email=email, password=DEMO_PASSWORD, password_hash=_demo_hash(), **kwargs)


STAFF = (("教师", 2), ("研究生", 3))  # an institution's own people who book its instruments
SUSPENDED = "engineer-suzhou-2@g60.example"  # missed three bookings lately


def _ensure_staff(institutions: dict[str, Institution]) -> None:
    """Each institution's staff and students: members who book its
    instruments (internal use), not its administrator. The platform's roles
    are the contract's four, so they are `manager` accounts; one password
    hash for all of them (_demo_hash)."""
    for demo in INSTITUTIONS:
        for title, count in STAFF:
            for n in range(1, count + 1):
                kind = "staff" if title == "教师" else "student"
                _ensure_user(f"{kind}{n}-{demo.slug}@g60.example", role=Role.MANAGER,
                             institution_id=institutions[demo.name].id, name=f"{demo.name} {title}{n}",
                             org_admin=False)


def seed_catalogue(progress: bool = False) -> tuple[dict[str, Institution], dict[str, Firm]]:
    """The demo institutions with their instruments, and the demo firms, added
    where missing; returns them by name and by USCC."""
    institutions: dict[str, Institution] = {
        inst.name: inst for inst in db.session.scalars(sa.select(Institution))
    }
    new_institutions = set()
    for demo in INSTITUTIONS:
        if demo.name not in institutions:
            inst = Institution(
                name=demo.name, name_en=demo.name_en, city_code=demo.city, kind=demo.kind
            )
            db.session.add(inst)
            institutions[demo.name] = inst
            new_institutions.add(demo.name)
    db.session.flush()

    records = [r for r in build_instruments() if r["institution"] in new_institutions]
    bar_or_list = (
        click.progressbar(records, label="Instruments", show_pos=True)
        if progress
        else nullcontext(records)
    )
    with bar_or_list as bar:
        for record in bar:
            record = dict(record)
            hours = record.pop("opening_hours")
            record["institution_id"] = institutions[record.pop("institution")].id
            record["category_code"] = record.pop("category")
            instrument = Instrument(**record)
            instrument.opening_hours = [
                OpeningHours(weekday=d, open_minute=_parse_minutes(o), close_minute=_parse_minutes(c))
                for d, o, c in hours
            ]
            db.session.add(instrument)
    db.session.flush()

    firms = {f.uscc: f for f in db.session.scalars(sa.select(Firm))}
    for demo in FIRMS:
        if demo.uscc not in firms:
            firms[demo.uscc] = Firm(name=demo.name, uscc=demo.uscc, city_code=demo.city)
            db.session.add(firms[demo.uscc])
    db.session.flush()
    return institutions, firms


def seed_demo(progress: bool = False) -> SeedSummary:
    """Institutions, instruments, firms and one login per role, added only where missing."""
    begin_write_transaction()  # one writer transaction for the whole load
    institutions, firms = seed_catalogue(progress)
    summary = SeedSummary()
    _ensure_user(ADMIN_EMAIL, role=Role.ADMIN, name="G60 科创走廊联席办")
    summary.logins.append((Role.ADMIN, ADMIN_EMAIL))
    per_city: dict[str, int] = {}
    city_names = dict(db.session.execute(sa.select(City.code, City.name)).all())  # 嘉兴科技局, not "jiaxing"
    for demo in FIRMS:
        n = per_city[demo.city] = per_city.get(demo.city, 0) + 1
        if n == 1:
            _ensure_user(f"bureau-{demo.city}@g60.example", role=Role.CITY_ADMIN,
                         city_code=demo.city, name=f"{city_names[demo.city]}科技局")
        suffix = "" if n == 1 else f"-{n}"
        _ensure_user(f"engineer-{demo.city}{suffix}@g60.example", role=Role.FIRM,
                     firm=firms[demo.uscc], name=f"{demo.name} 工程师")
    for demo in INSTITUTIONS:
        _ensure_user(f"manager-{demo.slug}@g60.example", role=Role.MANAGER,
                     institution_id=institutions[demo.name].id, name=f"{demo.name} 管理员")
    first = INSTITUTIONS[0]
    summary.logins += [
        (Role.MANAGER, f"manager-{first.slug}@g60.example"),
        (Role.MANAGER, "manager-<institution>@g60.example (one per institution)"),
        (Role.CITY_ADMIN, f"bureau-{FIRMS[0].city}@g60.example"),
        (Role.CITY_ADMIN, "bureau-<city code>@g60.example (one per city)"),
        (Role.FIRM, f"engineer-{FIRMS[0].city}@g60.example"),
        (Role.FIRM, "engineer-<city code>@g60.example (one per city)"),
    ]
    db.session.flush()
    if db.session.scalar(sa.select(InstrumentTerm.instrument_id).limit(1)) is None:
        reindex()  # a region loaded before the search index existed
    _ensure_staff(institutions)
    db.session.flush()
    summary.bookings_added = seed_history(random.Random(2026), utcnow(), progress, suspended=SUSPENDED)
    summary.orders_added = seed_orders(random.Random(2026))
    db.session.commit()

    summary.bookings = db.session.scalar(sa.select(sa.func.count(Booking.id)))
    summary.orders = db.session.scalar(sa.select(sa.func.count(Order.id)))
    summary.institutions = db.session.scalar(sa.select(sa.func.count(Institution.id)))
    summary.instruments = db.session.scalar(sa.select(sa.func.count(Instrument.id)))
    summary.firms = db.session.scalar(sa.select(sa.func.count(Firm.id)))
    summary.users = db.session.scalar(sa.select(sa.func.count(User.id)))
    return summary
