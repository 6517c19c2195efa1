"""A standing hunt for the next hole (issue #13): a model-based test.

Hypothesis drives random sequences of what people do on the platform —
book, book a series, reschedule, cancel, approve, reject, check in, record
usage, let the clock run and close the day (no-shows, lapses), block time
for maintenance, grant, spend and revoke vouchers, order entrusted testing
(submit, quote, decline, accept with or without a voucher, reject,
withdraw, receive, report, rate, lapse), file, review and pay claims — through the service functions, in sessions the locking guard of
`database.py` checks, on whichever engine the suite runs on. After every
step every invariant of `instrument_share.integrity` must hold, the
statistics' roll-ups must equal the raw rows (issue #20), and every
refusal must be a ServiceError (anything else is a bug).

The default run is short and deterministic (a fixed seed, a few hundred
steps). `MODEL_EXAMPLES=200 MODEL_STEPS=60 make test PYTEST_ARGS=tests/test_model.py`
runs a long one.
"""
from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from instrument_share.accounts.models import Firm, Institution, User
from instrument_share.accounts.policy import Scope
from instrument_share.booking import schedule, services, usage
from instrument_share.booking.calendar import effective_weekday
from instrument_share.booking.models import ACTIVE_STATUSES, Booking
from instrument_share.catalogue.models import Instrument, OpeningHours
from instrument_share.database import UNGUARDED
from instrument_share.errors import ServiceError
from instrument_share.extensions import db
from instrument_share.integrity import violations
from instrument_share.orders import services as orders
from instrument_share.orders.models import Order
from instrument_share.stats import rollups
from instrument_share.stats import services as stats
from instrument_share.timeutil import platform_zone
from instrument_share.vouchers import claims as voucher_claims
from instrument_share.vouchers import services as vouchers
from instrument_share.vouchers.models import Voucher, VoucherClaim, VoucherClaimLine, VoucherEntry

from .conftest import REFERENCE_TABLES, fixture_context
from .factories import PASSWORD, valid_uscc
from .stats.test_rollups import assert_rollups_match_raw

OUTCOMES: Counter = Counter()  # what the run did, printed with -s
EXAMPLES = int(os.environ.get("MODEL_EXAMPLES", "10"))
STEPS = int(os.environ.get("MODEL_STEPS", "40"))


def wipe() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())


class CorridorMachine(RuleBasedStateMachine):
    """Two instruments of one institution (one needs approval and has a
    buffer), its manager, two firms of Jinhua with one engineer each, the
    Jinhua bureau and the joint office; the clock starts now."""

    app = None  # set by the test below

    def __init__(self):
        super().__init__()
        self.context = self.app.app_context()
        self.context.push()
        self.now = datetime.now(UTC).replace(microsecond=0)

    @initialize()
    def world(self):
        with fixture_context(self.app):
            wipe()
            institution = Institution(name="模型大学", name_en="Model University", city_code="hangzhou")
            db.session.add(institution)
            hours = [OpeningHours(weekday=d, open_minute=9 * 60, close_minute=17 * 60) for d in range(5)]
            plain = Instrument(institution=institution, name="扫描电镜", name_en="SEM", category_code="analytical-electron-optics",
                               hourly_rate=Decimal("300.00"), max_booking_minutes=480, opening_hours=hours)
            strict = Instrument(institution=institution, name="透射电镜", name_en="TEM",
                                category_code="analytical-electron-optics", hourly_rate=Decimal("450.00"),
                                requires_approval=True, buffer_minutes=30, max_booking_minutes=480,
                                opening_hours=[OpeningHours(weekday=d, open_minute=9 * 60, close_minute=17 * 60)
                                               for d in range(5)])
            db.session.add_all([plain, strict])
            firms = [Firm(name=f"模型科技{n}", uscc=valid_uscc(900 + n), city_code="jinhua") for n in (1, 2)]
            db.session.add_all(firms)
            db.session.flush()
            people = [
                User(email="manager@model.example", role="manager", institution_id=institution.id),
                User(email="bureau@model.example", role="city_admin", city_code="jinhua"),
                User(email="office@model.example", role="admin"),
                User(email="a@model.example", role="firm", firm_id=firms[0].id),
                User(email="b@model.example", role="firm", firm_id=firms[1].id),
            ]
            for person in people:
                person.set_password(PASSWORD)
                if hasattr(person, "email_verified_at"):
                    person.email_verified_at = self.now
            db.session.add_all(people)
            db.session.commit()
            self.instrument_ids = [plain.id, strict.id]
            self.institution_id = institution.id
            self.user_ids = {person.email.split("@")[0]: person.id for person in people}
            self.firm_ids = [firm.id for firm in firms]
        for firm_id in self.firm_ids:  # each firm starts with a voucher of Jinhua's bureau
            self.attempt(lambda firm_id=firm_id: vouchers.issue_voucher(
                self.user("bureau"), firm_id, "2000.00", date.today() + timedelta(days=300), "0.5"))

    def teardown(self):
        db.session.remove()
        self.context.pop()

    # -- helpers ---------------------------------------------------------

    def user(self, name: str) -> User:
        return db.session.get(User, self.user_ids[name])

    def attempt(self, action):
        """Run one action in its own transaction, as a request would: commit
        what it did, or roll back a refusal. Anything but a refusal is a bug."""
        name = sys._getframe(1).f_code.co_name.lstrip("_")
        try:
            result = action()
        except ServiceError as refusal:
            db.session.rollback()
            OUTCOMES[f"{name}: {type(refusal).__name__}"] += 1
            if os.environ.get("MODEL_VERBOSE"):
                OUTCOMES[f"{name}: {refusal.message} {refusal.fields}"] += 1
            return None
        db.session.commit()
        OUTCOMES[f"{name}: done"] += 1
        return result

    def slot(self, days: int, hour: int, hours: int) -> tuple[datetime, datetime]:
        """On the `days`-th working day from tomorrow (most are bookable)."""
        day = (self.now.astimezone(platform_zone()) + timedelta(days=1)).date()
        while days or effective_weekday(day) is None:
            if effective_weekday(day) is not None:
                days -= 1
            day += timedelta(days=1)
        start = datetime.combine(day, time(hour), platform_zone())
        return start, start + timedelta(hours=hours)

    def pick(self, query, index: int) -> int:
        """The id of one of the bookings `query` finds, by position."""
        ids = db.session.scalars(query.order_by(Booking.id)).all()
        return ids[index % len(ids)]

    # -- rules -----------------------------------------------------------
    # Rows are chosen from the database by position, so most steps act on
    # something that exists; preconditions keep rules that need a kind of
    # row from being drawn while there is none.

    def exists(self, *conditions) -> bool:
        return bool(db.session.scalar(sa.select(sa.func.count(Booking.id)).where(*conditions)))

    def spendable_voucher(self, who: str, index: int) -> int | None:
        firm_id = self.user(who).firm_id
        ids = db.session.scalars(sa.select(Voucher.id).where(Voucher.firm_id == firm_id).order_by(Voucher.id)).all()
        return ids[index % len(ids)] if ids and index % 3 else None

    def _book(self, who, which, days, hour, hours, weeks=1, voucher=None):
        start, end = self.slot(days, hour, hours)
        self.attempt(lambda: services.create_booking(
            self.user(who), self.instrument_ids[which], start, end, "模型测试",
            recurrence=f"FREQ=WEEKLY;COUNT={weeks}" if weeks > 1 else None, voucher_id=voucher, now=self.now))

    @rule(who=st.sampled_from(["a", "b", "manager"]), which=st.integers(0, 1), days=st.integers(0, 9),
          hour=st.integers(9, 14), hours=st.integers(1, 3))
    def book(self, who, which, days, hour, hours):
        self._book(who, which, days, hour, hours)

    @precondition(lambda self: db.session.scalar(sa.select(sa.func.count(Voucher.id))) > 0)
    @rule(who=st.sampled_from(["a", "b"]), which=st.integers(0, 1), days=st.integers(0, 9),
          hour=st.integers(9, 14), hours=st.integers(1, 3), index=st.integers(0, 9))
    def book_with_voucher(self, who, which, days, hour, hours, index):
        """With one of the firm's vouchers, or now and then another firm's."""
        query = sa.select(Voucher.id).order_by(Voucher.id)
        if index % 4:
            query = query.where(Voucher.firm_id == self.user(who).firm_id)
        ids = db.session.scalars(query).all() or [0]
        self._book(who, which, days, hour, hours, voucher=ids[index % len(ids)])

    @rule(who=st.sampled_from(["a", "b"]), which=st.integers(0, 1), days=st.integers(0, 9),
          hour=st.integers(9, 14), hours=st.integers(1, 3), weeks=st.integers(2, 4), voucher=st.booleans())
    def book_series(self, who, which, days, hour, hours, weeks, voucher):
        own = db.session.scalar(sa.select(Voucher.id).where(Voucher.firm_id == self.user(who).firm_id)
                                .order_by(Voucher.id.desc()).limit(1)) if voucher else None
        self._book(who, which, days, hour, hours, weeks, own)

    @precondition(lambda self: self.exists(Booking.status.in_(ACTIVE_STATUSES)))
    @rule(index=st.integers(0, 99), by_manager=st.booleans(), days=st.integers(0, 9),
          hour=st.integers(9, 14), hours=st.integers(1, 3))
    def reschedule(self, index, by_manager, days, hour, hours):
        booking = db.session.get(Booking, self.pick(sa.select(Booking.id).where(
            Booking.status.in_(ACTIVE_STATUSES)), index))
        actor = self.user("manager") if by_manager else booking.user
        start, end = self.slot(days, hour, hours)
        self.attempt(lambda: services.reschedule_booking(booking, actor, start, end, now=self.now))

    @precondition(lambda self: self.exists(Booking.status.in_(ACTIVE_STATUSES)))
    @rule(index=st.integers(0, 99), who=st.sampled_from(["booker", "manager", "other firm"]))
    def cancel(self, index, who):
        booking = db.session.get(Booking, self.pick(sa.select(Booking.id).where(
            Booking.status.in_(ACTIVE_STATUSES)), index))
        actor = {"booker": booking.user, "manager": self.user("manager"),
                 "other firm": self.user("b" if booking.user_id == self.user_ids["a"] else "a")}[who]
        self.attempt(lambda: services.cancel_booking(
            services.get_booking(booking.id, actor), actor, "计划调整", now=self.now))

    @precondition(lambda self: self.exists(Booking.status == "pending"))
    @rule(index=st.integers(0, 99), approve=st.booleans())
    def decide(self, index, approve):
        manager = self.user("manager")
        booking = db.session.get(Booking, self.pick(sa.select(Booking.id).where(Booking.status == "pending"), index))
        if approve:
            self.attempt(lambda: services.approve_booking(booking, manager))
        else:
            self.attempt(lambda: services.reject_booking(booking, manager, "已满"))

    @precondition(lambda self: self.exists(Booking.status == "confirmed", Booking.start <= self.now + timedelta(hours=1)))
    @rule(index=st.integers(0, 99))
    def check_in(self, index):
        booking = db.session.get(Booking, self.pick(sa.select(Booking.id).where(
            Booking.status == "confirmed", Booking.start <= self.now + timedelta(hours=1)), index))
        self.attempt(lambda: usage.check_in(booking, booking.user, now=self.now))

    @precondition(lambda self: self.exists(Booking.status.in_(("confirmed", "no_show", "completed")),
                                           Booking.start <= self.now + timedelta(hours=1)))
    @rule(index=st.integers(0, 99), minutes=st.integers(15, 240), mode=st.sampled_from(["self_operated", "guided"]))
    def record_usage(self, index, minutes, mode):
        """Usage of a booking that has started (or, now and then, of one about to)."""
        manager = self.user("manager")
        booking = db.session.get(Booking, self.pick(sa.select(Booking.id).where(
            Booking.status.in_(("confirmed", "no_show", "completed")),
            Booking.start <= self.now + timedelta(hours=1)), index))
        used_start = max(booking.start - timedelta(minutes=10), self.now - timedelta(hours=20))
        used_end = min(used_start + timedelta(minutes=minutes), self.now)
        self.attempt(lambda: usage.record_usage(booking, manager, used_start, used_end, mode, now=self.now))

    @precondition(lambda self: self.exists(Booking.status == "confirmed", Booking.voucher_amount > 0))
    @rule(index=st.integers(0, 99), minutes=st.sampled_from([60, 90, 400]))
    def serve_a_voucher_booking(self, index, minutes):
        """The clock runs to a voucher-paid booking's end and its usage is recorded (a capture)."""
        booking = db.session.get(Booking, self.pick(sa.select(Booking.id).where(
            Booking.status == "confirmed", Booking.voucher_amount > 0), index))
        self.now = max(self.now, booking.end)
        used_end = min(booking.start + timedelta(minutes=minutes), self.now)
        self.attempt(lambda: usage.record_usage(booking, self.user("manager"), booking.start, used_end,
                                                "guided", now=self.now))

    @precondition(lambda self: self.exists(Booking.status.in_(ACTIVE_STATUSES)))
    @rule(hours=st.sampled_from([1, 3, 12, 24, 49]))
    def time_passes(self, hours):
        self.now += timedelta(hours=hours)
        self.attempt(lambda: usage.close_past_bookings(self.now))

    @precondition(lambda self: self.exists(Booking.status.in_(ACTIVE_STATUSES), Booking.start > self.now))
    @rule(minutes_before=st.sampled_from([20, 5, -30, -70]))
    def time_passes_to_the_next_start(self, minutes_before):
        """To just before (or after) the next booking's start: check-in opens, usage can be recorded."""
        start = db.session.scalar(sa.select(sa.func.min(Booking.start)).where(
            Booking.status.in_(ACTIVE_STATUSES), Booking.start > self.now))
        self.now = max(self.now, start - timedelta(minutes=minutes_before))
        self.attempt(lambda: usage.close_past_bookings(self.now))

    @rule(which=st.integers(0, 1), days=st.integers(0, 9), hour=st.integers(8, 16), hours=st.integers(1, 4),
          cancel_bookings=st.booleans(), chance=st.integers(0, 3))
    def blackout(self, which, days, hour, hours, cancel_bookings, chance):
        if chance:  # maintenance is rarer than bookings
            return
        start, end = self.slot(days, hour, hours)
        manager = self.user("manager")
        self.attempt(lambda: schedule.create_blackout(
            db.session.get(Instrument, self.instrument_ids[which]), manager, start, end, "维护",
            cancel_bookings=cancel_bookings, now=self.now))

    @precondition(lambda self: db.session.scalar(sa.select(sa.func.count(Voucher.id))) < 3)
    @rule(firm=st.integers(0, 1), amount=st.sampled_from(["100.00", "450.00", "2000.00"]),
          share=st.sampled_from(["0.5", "0.3", "1"]))
    def grant(self, firm, amount, share):
        self.attempt(lambda: vouchers.issue_voucher(
            self.user("bureau"), self.firm_ids[firm], amount, date.today() + timedelta(days=300), share))

    @precondition(lambda self: db.session.scalar(sa.select(sa.func.count(Voucher.id)).where(Voucher.status == "active")))
    @rule(index=st.integers(0, 9), who=st.sampled_from(["bureau", "office", "a"]), chance=st.integers(0, 3))
    def revoke(self, index, who, chance):
        if chance:
            return
        ids = db.session.scalars(sa.select(Voucher.id).where(Voucher.status == "active").order_by(Voucher.id)).all()
        self.attempt(lambda: vouchers.revoke_voucher(self.user(who), ids[index % len(ids)]))

    def has_unclaimed_captures(self) -> bool:
        claimed = sa.select(VoucherClaimLine.entry_id)
        return bool(db.session.scalar(sa.select(sa.func.count(VoucherEntry.id)).where(
            VoucherEntry.kind == "capture", VoucherEntry.id.not_in(claimed))))

    def has_open_claims(self) -> bool:
        return bool(db.session.scalar(sa.select(sa.func.count(VoucherClaim.id)).where(VoucherClaim.paid_on.is_(None))))

    @precondition(lambda self: self.has_unclaimed_captures())
    @rule(days_back=st.integers(0, 3))
    def file_claim(self, days_back):
        today = self.now.astimezone(platform_zone()).date()
        self.attempt(lambda: voucher_claims.file_claim(
            self.user("manager"), "jinhua", today - timedelta(days=60), today - timedelta(days=days_back)))

    @precondition(lambda self: self.has_open_claims())
    @rule(approve=st.booleans(), pay=st.booleans())
    def review_claims(self, approve, pay):
        bureau = self.user("bureau")
        for claim_id in db.session.scalars(sa.select(VoucherClaim.id).where(VoucherClaim.paid_on.is_(None))).all():
            claim = voucher_claims.get_claim(claim_id, bureau)
            for line_id in [line.id for line in claim.lines]:
                self.attempt(lambda claim_id=claim_id, line_id=line_id: voucher_claims.review_line(
                    voucher_claims.get_claim(claim_id, bureau), line_id, bureau, approve, "不符合"))
            if pay:
                self.attempt(lambda claim_id=claim_id: voucher_claims.mark_paid(
                    voucher_claims.get_claim(claim_id, bureau), bureau, date.today()))

    # -- entrusted testing ----------------------------------------------

    def order_in(self, statuses: tuple[str, ...], index: int) -> int:
        ids = db.session.scalars(sa.select(Order.id).where(Order.status.in_(statuses)).order_by(Order.id)).all()
        return ids[index % len(ids)]

    def has_orders(self, *statuses: str) -> bool:
        return bool(db.session.scalar(sa.select(sa.func.count(Order.id)).where(Order.status.in_(statuses))))

    @rule(who=st.sampled_from(["a", "b"]), which=st.integers(0, 1), voucher=st.integers(0, 9))
    def submit_order(self, who, which, voucher):
        self.attempt(lambda: orders.submit_order(
            self.user(who), self.instrument_ids[which], "物相分析", "全谱",
            [{"name": "粉末", "quantity": "2", "unit": "份"}], voucher_id=self.spendable_voucher(who, voucher)))

    @precondition(lambda self: self.has_orders("submitted", "quoted"))
    @rule(index=st.integers(0, 99), amount=st.sampled_from(["300", "1250.50", "4000"]), days_valid=st.integers(0, 2),
          decline=st.integers(0, 5))
    def quote_order(self, index, amount, days_valid, decline):
        """A quote that may lapse soon, a new quote, or a decline."""
        order_id = self.order_in(("submitted", "quoted"), index)
        manager = self.user("manager")
        if not decline:
            self.attempt(lambda: orders.decline_order(manager, order_id, "无资质"))
            return
        valid_until = self.now.astimezone(platform_zone()).date() + timedelta(days=days_valid)
        self.attempt(lambda: orders.quote_order(manager, order_id, amount, 3, valid_until=max(valid_until, date.today())))

    @precondition(lambda self: self.has_orders("quoted"))
    @rule(index=st.integers(0, 99), choice=st.sampled_from(["keep", "none", "own", "other", "reject"]))
    def decide_quote(self, index, choice):
        order = db.session.get(Order, self.order_in(("quoted",), index))
        firm_user = db.session.get(User, order.user_id)
        if choice == "reject":
            self.attempt(lambda: orders.reject_quote(firm_user, order.id))
            return
        voucher = {"keep": orders.KEEP, "none": None,
                   "own": self.spendable_voucher("a" if firm_user.id == self.user_ids["a"] else "b", 1),
                   "other": self.spendable_voucher("b" if firm_user.id == self.user_ids["a"] else "a", 1)}[choice]
        self.attempt(lambda: orders.accept_quote(firm_user, order.id, voucher_id=voucher))

    @precondition(lambda self: self.has_orders("submitted", "quoted", "accepted", "received"))
    @rule(index=st.integers(0, 99), chance=st.integers(0, 2))
    def withdraw_order(self, index, chance):
        if chance:  # rarer than the order's way forward
            return
        order = db.session.get(Order, self.order_in(("submitted", "quoted", "accepted", "received"), index))
        self.attempt(lambda: orders.withdraw_order(db.session.get(User, order.user_id), order.id))

    @precondition(lambda self: self.has_orders("submitted", "quoted", "accepted", "received", "reported"))
    @rule(index=st.integers(0, 99), amount=st.sampled_from(["300", "1250.50", "4000"]))
    def advance_order(self, index, amount):
        """One order takes its next step on the way to a rated report (with
        the voucher chosen when it was sent): quote, accept, receive, report, rate."""
        order = db.session.get(Order, self.order_in(("submitted", "quoted", "accepted", "received", "reported"),
                                                     index))
        manager, firm_user = self.user("manager"), db.session.get(User, order.user_id)
        step = {
            "submitted": lambda: orders.quote_order(manager, order.id, amount, 3),
            "quoted": lambda: orders.accept_quote(firm_user, order.id),
            "accepted": lambda: orders.receive_samples(manager, order.id),
            "received": lambda: orders.upload_report(manager, order.id, b"%PDF-1.4\n%%EOF\n", machine_minutes=90),
            "reported": lambda: orders.rate_order(firm_user, order.id, 4),
        }[order.status]
        self.attempt(step)

    @precondition(lambda self: self.has_orders("accepted", "received", "reported"))
    @rule(index=st.integers(0, 99), chance=st.integers(0, 2))
    def decline_late(self, index, chance):
        """The samples never came or cannot be tested (refused once reported)."""
        if chance:
            return
        order_id = self.order_in(("accepted", "received", "reported"), index)
        self.attempt(lambda: orders.decline_order(self.user("manager"), order_id, "样品无法测试"))

    @precondition(lambda self: self.has_orders("quoted"))
    @rule(days=st.integers(1, 3))
    def quotes_lapse(self, days):
        self.now += timedelta(days=days)
        self.attempt(lambda: orders.lapse_quotes(self.now.astimezone(platform_zone()).date()))

    # -- invariants ------------------------------------------------------

    @invariant()
    def every_invariant_holds(self):
        if not hasattr(self, "instrument_ids"):
            return
        db.session.rollback()
        found = violations()
        assert found == [], "\n".join(map(str, found))

    @invariant()
    def statistics_roll_ups_match_the_raw_rows(self):
        """Issue #20: the roll-ups the changes kept are what a rebuild finds,
        and every grouping reads the same from them as from the raw rows."""
        if not hasattr(self, "instrument_ids"):
            return
        db.session.rollback()
        first, last = db.session.execute(sa.select(sa.func.min(Booking.start), sa.func.max(Booking.end))).one()
        if first is None:
            return
        zone = platform_zone()
        first, last = first.astimezone(zone).date() - timedelta(days=1), last.astimezone(zone).date() + timedelta(days=1)
        assert rollups.drift(rollups.compute(first, last), rollups.stored(first, last)) == []
        assert_rollups_match_raw(stats.Period(first, last), [Scope()])
        db.session.rollback()

    @invariant()
    def the_model_session_is_guarded(self):
        assert not db.session.info.get(UNGUARDED)


@pytest.mark.slow
def test_random_histories_keep_every_invariant(app):
    CorridorMachine.app = app
    test = CorridorMachine.TestCase
    test.settings = settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck), database=None,
    )
    test().runTest()
    print("\n".join(f"{count:6d}  {outcome}" for outcome, count in sorted(OUTCOMES.items())))
    done = {outcome.split(":")[0] for outcome, count in OUTCOMES.items() if outcome.endswith("done")}
    # The short run must at least have lived through a booking's whole life;
    # claims need captures first and come up in longer runs.
    assert {"book", "cancel", "reschedule", "decide", "record_usage", "grant", "time_passes",
            "submit_order", "advance_order"} <= done, OUTCOMES
