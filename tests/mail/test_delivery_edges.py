"""Edges of the delivery run that mutation testing of mail/delivery.py found
untested (issue #21, `make mutation MODULE=mail/delivery.py`): through the
delivery run, a real relay (aiosmtpd) and the .eml files, never the
mutated line itself."""
from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from instrument_share.database import begin_write_transaction
from instrument_share.extensions import db
from instrument_share.mail.delivery import BATCH, deliver_due
from instrument_share.mail.models import OutboxMessage
from instrument_share.timeutil import utcnow

from .conftest import Inbox, SmtpServer, wait_while_alive
from .test_outbox_edges import HoldingInbox, queue, relay_app, rows


def test_a_run_holds_no_more_than_its_batch_while_the_relay_keeps_it_waiting(make_app, app_context):
    """A run claims BATCH messages at a time. While the relay keeps it
    waiting on the first, a second run sends at once the messages beyond
    that batch (they are not held under the first run's leases), and
    leaves the held ones alone; the first run then sends its own."""
    server = SmtpServer()
    server.inbox = HoldingInbox()
    server.start()
    reports = []
    try:
        app = relay_app(make_app, server.port)
        with app.app_context():
            for n in range(BATCH + 2):
                queue(f"edge:batch:{n}", recipient=f"r{n}@firm.example")

        def run():
            with app.app_context():
                reports.append(deliver_due())

        hanging = threading.Thread(target=run, daemon=True)
        hanging.start()
        assert wait_while_alive(server.inbox.holding, hanging)
        with app.app_context():
            other = deliver_due()
        assert (other.sent, other.skipped) == (2, 0)
        assert sorted(m["To"] for m in server.messages) == [f"r{BATCH}@firm.example", f"r{BATCH + 1}@firm.example"]
    finally:
        server.inbox.release.set()
        hanging.join(15)
        server.close()
    [first] = reports
    assert (first.sent, first.skipped) == (BATCH, 0)
    assert [row.status for row in rows()] == ["sent"] * (BATCH + 2)
    assert len({m["Message-ID"] for m in server.messages}) == BATCH + 2


def test_what_a_relay_that_went_down_left_untried_is_queued_as_before(mail_app, smtp, app_context):
    """The relay is down: the first message of the batch counts an attempt,
    the rest are given back exactly as they were (queued, due when they
    were, no attempt, no lease), so the next run takes them at once."""
    with mail_app.app_context():
        for n in range(3):
            queue(f"edge:down:{n}", recipient=f"r{n}@firm.example")
    due = [row.next_attempt_at for row in rows()]
    smtp.stop()
    with mail_app.app_context():
        report = deliver_due()
    assert (report.sent, report.failed) == (0, 1)
    first, *rest = rows()
    assert (first.status, first.attempts, first.claimed_at) == ("queued", 1, None)
    assert [(row.status, row.attempts, row.claimed_at, row.last_error, row.next_attempt_at) for row in rest] == [
        ("queued", 0, None, "", when) for when in due[1:]]
    smtp.start()
    with mail_app.app_context():
        assert deliver_due().sent == 2


class ClosingInbox(Inbox):
    """A relay that answers 421 (closing the channel) for busy@… recipients."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("busy@"):
            return "421 4.3.2 Service shutting down, closing channel"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_relay_that_closes_the_connection_on_the_last_message_ends_the_run_quietly(make_app, app_context):
    """A 421 closes the connection (smtplib drops it): the message counts an
    attempt and waits, and the run ends with its report, though saying
    goodbye to a relay that has gone fails."""
    server = SmtpServer()
    server.inbox = ClosingInbox()
    server.start()
    try:
        app = relay_app(make_app, server.port)
        with app.app_context():
            queue("edge:421", recipient="busy@firm.example")
            report = deliver_due()
    finally:
        server.close()
    assert (report.sent, report.failed, report.dead) == (0, 1, 0)
    [row] = rows()
    assert (row.status, row.attempts, row.claimed_at) == ("queued", 1, None)
    assert "421" in row.last_error and server.messages == []


def test_without_a_relay_each_message_is_a_file_named_after_its_message_id(make_app, tmp_path, app_context):
    """Without MAIL_SERVER every message of a run is written under
    instance/mail/ (made, with its parents, when missing), byte for byte
    as queued (CRLF kept), in a file named after its Message-ID: no angle
    brackets, '@' written '_at_'."""
    instance = tmp_path / "not" / "yet"
    app = make_app(INSTANCE_PATH=str(instance), PLATFORM_URL="https://g60.example")
    with app.app_context():
        for n in range(2):
            queue(f"edge:eml:{n}", recipient=f"r{n}@firm.example")
        assert deliver_due().sent == 2
    queued = rows()
    written = {path.name: path.read_bytes() for path in (Path(app.instance_path) / "mail").glob("*.eml")}
    assert Path(app.instance_path) == instance
    expected = {}
    for row in queued:
        local, domain = row.message_id[1:-1].split("@")
        expected[f"{local}_at_{domain}.eml"] = row.raw.encode("ascii")
        assert domain == "g60.example" and "\r\n" in row.raw
    assert written == expected
    with app.app_context():  # a later run writes into the folder the first one made
        queue("edge:eml:later", recipient="later@firm.example")
        assert deliver_due().sent == 1
    assert len(list((Path(app.instance_path) / "mail").glob("*.eml"))) == 3


class EnvelopeInbox(Inbox):
    """A relay that also keeps each message's envelope (MAIL FROM, RCPT TO)."""

    def __init__(self):
        super().__init__()
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize(("sender", "address"), [("G60 共享平台 <noreply@g60.example>", "noreply@g60.example"),
                                               ("noreply@g60.example", "noreply@g60.example"),
                                               ("G60 <NOREPLY@G60.BOX>", "NOREPLY@G60.BOX")])
def test_the_envelope_names_the_bare_sender_and_the_one_stored_recipient(make_app, sender, address, app_context):
    """MAIL FROM is MAIL_DEFAULT_SENDER's address alone, whether the
    setting gives a name or not. RCPT TO is the stored recipient's address;
    a row queued before addresses were cleaned at the door (a line break
    and a Bcc in it, written here past the door) still goes to that one
    address only, as its To header says; so does one holding a second
    address after a space."""
    server = SmtpServer()
    server.inbox = EnvelopeInbox()
    server.start()
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_DEFAULT_SENDER=sender)
        with app.app_context():
            queue("edge:clean", recipient="li@firm.example")
            for key, stored in (("edge:old", "wang@firm.example\r\nBcc: all@evil.example"),
                                ("edge:older", "zhao@firm.example all@evil.example")):
                old = queue(key, recipient=stored.split()[0])
                begin_write_transaction()
                db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == old.id).values(recipient=stored))
                db.session.commit()
            assert deliver_due().sent == 3
    finally:
        server.close()
    assert server.inbox.envelopes == [(address, ["li@firm.example"]), (address, ["wang@firm.example"]),
                                      (address, ["zhao@firm.example"])]
    assert [m["To"] for m in server.messages] == ["li@firm.example", "wang@firm.example", "zhao@firm.example"]


def _book(app, make, day, hour="10:00", booker=None):
    from ..booking.conftest import iso
    from ..factories import ApiClient

    client = ApiClient(app.test_client(), app).as_user(booker or make.user(email="li@firm.example"))
    end = f"{int(hour[:2]) + 1:02d}:00"
    return client.post("/api/v1/bookings", json={
        "instrument_id": make.instrument().id, "start": iso(day, hour), "end": iso(day, end),
        "purpose": "XRD"}).json["id"]


def test_a_mail_that_fails_to_compose_is_logged_and_keeps_2000_characters_of_why(
        mail_app, smtp, make, day, caplog, app_context):
    """A queued booking mail whose snapshot names a template that is gone
    (written past the door: a snapshot from an older version): the run logs
    the failure with the message's id and its traceback, keeps the first
    2,000 characters of the error, and retries the message later."""
    _book(mail_app, make, day)
    [row] = rows()
    begin_write_transaction()
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row.id).values(
        compose_from={**row.compose_from, "template": "mail/" + "gone" * 800}))
    db.session.commit()
    with mail_app.app_context(), caplog.at_level("ERROR"):
        report = deliver_due()
    assert (report.sent, report.failed, report.dead) == (0, 1, 0)
    [failed] = rows()
    assert (failed.status, failed.attempts, failed.raw) == ("queued", 1, None)
    assert failed.last_error.startswith("compose failed: TemplateNotFound: mail/gonegone")
    assert len(failed.last_error) == 2000
    [record] = [r for r in caplog.records if r.name == mail_app.logger.name]
    assert record.getMessage() == f"composing outbox message {row.id} failed" and record.exc_info


def test_a_run_sends_in_the_order_the_mails_were_queued(mail_app, smtp, make, day, app_context):
    """A booking mail (composed by the run) queued before a mail queued
    composed goes out first: the batch is sent in the order queued."""
    _book(mail_app, make, day)
    with mail_app.app_context():
        queue("edge:after", recipient="later@firm.example")
        assert deliver_due().sent == 2
    assert [m["To"] for m in smtp.messages] == ["li@firm.example", "later@firm.example"]


def test_a_relay_that_is_down_ends_the_run_before_its_next_batch(mail_app, smtp, app_context):
    """With the relay down, the run stops at the first message it could not
    send: the later batches are not tried (each would cost an attempt)."""
    with mail_app.app_context():
        for n in range(3):
            queue(f"edge:down-batches:{n}", recipient=f"r{n}@firm.example")
    smtp.stop()
    with mail_app.app_context():
        report = deliver_due(batch=1)
    assert (report.sent, report.failed) == (0, 1)
    assert [(row.status, row.attempts) for row in rows()] == [("queued", 1), ("queued", 0), ("queued", 0)]


def test_a_mail_about_a_booking_that_is_gone_does_not_hold_up_the_next(mail_app, smtp, make, day, app_context):
    """The first booking mail of the batch has nothing left to be about (its
    booking was deleted): it is dead at once, and the next one, composed
    in the same run, is sent."""
    booker = make.user(email="li@firm.example")
    _book(mail_app, make, day, "09:00", booker)
    _book(mail_app, make, day, "14:00", booker)
    gone, kept = rows()
    begin_write_transaction()
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == gone.id).values(booking_id=None))
    db.session.commit()
    with mail_app.app_context():
        report = deliver_due()
    assert (report.sent, report.failed, report.dead) == (1, 0, 1)
    assert [(row.status, row.attempts) for row in rows()] == [("dead", 1), ("sent", 0)]
    assert [m["Message-ID"] for m in smtp.messages] == [kept.message_id]


def test_mails_another_run_took_while_this_one_composed_them_are_skipped(mail_app, smtp, make, day, app_context):
    """A run composing its batch is slow past its lease: another run takes
    both mails, composes and sends them. The first run then stores and
    sends neither, and says it skipped the two (each sent once)."""
    booker = make.user(email="li@firm.example")
    _book(mail_app, make, day, "09:00", booker)
    _book(mail_app, make, day, "14:00", booker)
    first_run = threading.get_ident()
    other = {}

    def other_run():
        with mail_app.app_context():
            other["report"] = deliver_due(now=utcnow() + timedelta(minutes=30))  # the first run's lease is over

    def while_composing(conn, cursor, statement, *args):
        if threading.get_ident() == first_run and "FROM bookings" in statement and not other:
            other["started"] = True
            thread = threading.Thread(target=other_run)
            thread.start()
            thread.join(60)

    with mail_app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", while_composing)
        try:
            report = deliver_due()
        finally:
            sa.event.remove(engine, "before_cursor_execute", while_composing)
    assert other.get("started"), "the first run composed nothing"
    assert (other["report"].sent, other["report"].skipped) == (2, 0)
    assert (report.sent, report.skipped, report.failed) == (0, 2, 0)
    assert [row.status for row in rows()] == ["sent", "sent"]
    assert len(smtp.messages) == 2
