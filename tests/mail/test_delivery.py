"""The outbox under faults: SMTP down, two delivery runs at once, dead letters."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from instrument_share.database import begin_write_transaction
from instrument_share.extensions import db
from instrument_share.mail.delivery import MAX_ATTEMPTS, deliver_due
from instrument_share.mail.models import OutboxMessage
from instrument_share.mail.outbox import enqueue

from ..conftest import csrf_token_from


def _queue(app, count: int) -> None:
    with app.app_context():
        begin_write_transaction()
        for n in range(count):
            enqueue(key=f"test:{n}", kind="test", recipient=f"r{n}@firm.example", subject=f"测试 {n}",
                    text="正文", html="<p>正文</p>")
        db.session.commit()


def _statuses():
    db.session.expire_all()
    return dict(db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all())


def test_smtp_down_then_back_each_delivered_once(mail_app, smtp, deliver, app_context):
    _queue(mail_app, 3)
    smtp.stop()
    report = deliver()
    assert (report.sent, report.failed) == (0, 1)  # stops at the first refusal
    assert _statuses() == {"queued": 3}
    failed = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.attempts == 1))
    assert failed.last_error and failed.next_attempt_at > datetime.now(UTC)
    second = deliver()  # still down: the next due message costs an attempt, the first waits
    assert (second.sent, second.failed) == (0, 1)
    smtp.start()
    assert deliver().sent == 1  # the one still due
    assert deliver(include_waiting=True).sent == 2  # --all: those in back-off too
    assert deliver(include_waiting=True).sent == 0
    assert _statuses() == {"sent": 3}
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == len(set(ids)) == 3


def test_two_delivery_runs_at_once_send_no_duplicate(mail_app, smtp, app_context):
    _queue(mail_app, 60)
    barrier = threading.Barrier(2)
    reports = []

    def run():
        with mail_app.app_context():
            barrier.wait()
            reports.append(deliver_due())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.sent for r in reports) == 60
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == len(set(ids)) == 60
    assert _statuses() == {"sent": 60}


def test_a_slow_relay_never_gets_a_message_twice(make_app, slow_smtp, app_context):
    """Claims are leases renewed per message: with a 1 s lease and a relay
    that takes 0.6 s a message, run A's batch of five outlives its claim; run
    B, started once A's unrenewed leases have run out, takes those messages,
    and A skips them instead of sending them again. (Without the renewal
    check, A sends them too: the relay receives 16 messages for 10.)"""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=slow_smtp.port, MAIL_LEASE_SECONDS=1.0)
    _queue(app, 10)
    reports = {}

    def run(name):
        with app.app_context():
            reports[name] = deliver_due(batch=5)

    first = threading.Thread(target=run, args=("A",))
    first.start()
    slow_smtp.inbox.wait_for(2, sender=first)  # A is 1.2 s into its batch: the leases of its last three ran out
    second = threading.Thread(target=run, args=("B",))
    second.start()
    for thread in (first, second):
        thread.join(60)
    ids = [m["Message-ID"] for m in slow_smtp.messages]
    assert len(ids) == len(set(ids)) == 10  # every message exactly once
    assert reports["A"].sent + reports["B"].sent == 10
    assert reports["A"].skipped >= 1  # B took over what A's lease no longer covered
    assert _statuses() == {"sent": 10}


def test_after_a_crash_the_lease_runs_out_and_the_same_message_is_sent(mail_app, smtp, app_context):
    """A run that dies holding a claim (here: claimed, never sent or marked)
    blocks nobody for longer than the lease; the message then goes out with
    the Message-ID it was queued with."""
    from instrument_share.mail.delivery import _claim, resend

    _queue(mail_app, 1)
    with mail_app.app_context():
        lease = timedelta(seconds=mail_app.config["MAIL_LEASE_SECONDS"])
        (held,) = _claim(datetime.now(UTC), lease, 10, False)  # ... and the run dies here
    queued_id = db.session.get(OutboxMessage, held.pk).message_id
    with mail_app.app_context():
        assert deliver_due().sent == 0  # the lease still holds
        assert resend(held.pk) is None  # nor can an admin queue it again meanwhile
        db.session.rollback()
        assert deliver_due(now=datetime.now(UTC) + lease + timedelta(seconds=1)).sent == 1
    assert [m["Message-ID"] for m in smtp.messages] == [queued_id]
    assert _statuses() == {"sent": 1}


def test_dead_after_max_attempts_and_resend(mail_app, smtp, deliver, browser, client, make, app_context):
    _queue(mail_app, 1)
    smtp.stop()
    now = datetime.now(UTC)
    for attempt in range(MAX_ATTEMPTS):
        deliver(now=now + timedelta(days=attempt), include_waiting=True)
    assert _statuses() == {"dead": 1}
    message = db.session.scalar(sa.select(OutboxMessage))
    assert message.attempts == MAX_ATTEMPTS

    make.user(email="firm@firm.example")
    browser.login("firm@firm.example")
    assert client.get("/admin/mail/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    make.user(role="admin", email="office@g60.example")
    browser.login("office@g60.example")
    page = client.get("/admin/mail/?status=dead").get_data(as_text=True)
    assert "测试 0" in page
    client.post(f"/admin/mail/{message.id}/resend", data={"csrf_token": csrf_token_from(page)})
    assert _statuses() == {"queued": 1}
    smtp.start()
    assert deliver().sent == 1 and len(smtp.messages) == 1


def test_without_smtp_settings_mail_is_written_as_eml_files(app, make, api, day, app_context):
    from ..booking.conftest import iso

    client = api.as_user(make.user())
    client.post("/api/v1/bookings", json={"instrument_id": make.instrument().id, "start": iso(day, "10:00"),
                                          "end": iso(day, "11:00"), "purpose": "XRD"})
    before = set((Path(app.instance_path) / "mail").glob("*.eml"))
    assert deliver_due().sent == 1
    written = set((Path(app.instance_path) / "mail").glob("*.eml")) - before
    assert len(written) == 1
    text = written.pop().read_text(encoding="utf-8")
    assert "Content-Type: text/calendar" in text and "method=\"REQUEST\"" in text.replace("method=REQUEST", 'method="REQUEST"')


def test_mail_cli(runner, mail_app, smtp, app_context):
    _queue(mail_app, 2)
    listing = runner.invoke(args=["mail", "list"])
    assert listing.exit_code == 0 and listing.output.count("queued") == 2
    assert runner.invoke(args=["mail", "resend", "999"]).exit_code != 0


def _book_three(mail_app, make, day):
    """Three confirmed bookings, so three booking mails wait to be composed."""
    from ..booking.conftest import iso
    from ..factories import ApiClient

    booker = make.user(email="li@firm.example")
    instrument = make.instrument()
    client = ApiClient(mail_app.test_client(), mail_app).as_user(booker)
    ids = []
    for hour in ("09:00", "11:00", "14:00"):
        end = f"{int(hour[:2]) + 1:02d}:00"
        ids.append(client.post("/api/v1/bookings", json={
            "instrument_id": instrument.id, "start": iso(day, hour), "end": iso(day, end),
            "purpose": "XRD"}).json["id"])
    rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [row.raw for row in rows] == [None, None, None]  # composed by the delivery run
    return [row.id for row in rows]


def test_a_message_that_cannot_be_composed_does_not_hold_up_the_rest(mail_app, smtp, deliver, make, day,
                                                                    app_context):
    first, broken, gone = _book_three(mail_app, make, day)
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == broken)
                       .values(compose_from={"template": "mail/booking"}))  # a bad snapshot
    booking_of_gone = db.session.get(OutboxMessage, gone).booking_id
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == gone).values(booking_id=None))
    db.session.commit()
    report = deliver()
    assert (report.sent, report.failed, report.dead) == (1, 1, 1)
    assert len(smtp.messages) == 1
    db.session.expire_all()
    rows = {row.id: row for row in db.session.scalars(sa.select(OutboxMessage))}
    assert rows[first].status == "sent"
    assert rows[broken].status == "queued" and rows[broken].attempts == 1
    assert "compose failed" in rows[broken].last_error
    assert rows[gone].status == "dead" and "undeliverable" in rows[gone].last_error
    assert booking_of_gone


def test_a_composed_message_is_stored_before_it_is_sent(mail_app, smtp, deliver, make, day, app_context):
    _book_three(mail_app, make, day)
    smtp.stop()
    assert deliver().failed == 1
    db.session.expire_all()
    stored = {row.message_id: row.raw for row in db.session.scalars(sa.select(OutboxMessage))}
    assert all(stored.values())  # composed and kept, though nothing was sent
    smtp.start()
    assert deliver(include_waiting=True).sent == 3
    for message in smtp.messages:
        kept = stored[message["Message-ID"]]
        assert f"Date: {message['Date']}" in kept  # the very bytes composed on the first try
