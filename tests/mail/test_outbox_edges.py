"""Edges of the outbox and its delivery that mutation testing of
mail/outbox.py and mail/delivery.py found untested (issue #21,
`make mutation MODULE=mail/delivery.py`): through enqueue, the delivery
run, the relay and the admin's resend, never the mutated line itself."""
from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from instrument_share.database import begin_write_transaction
from instrument_share.extensions import db
from instrument_share.mail import delivery
from instrument_share.mail.delivery import MAX_ATTEMPTS, deliver_due, resend
from instrument_share.mail.models import OutboxMessage
from instrument_share.mail.outbox import enqueue, enqueue_many_to_compose, enqueue_to_compose

from .conftest import Inbox, SmtpServer, wait_while_alive


def queue(key="edge:1", **kw):
    kw.setdefault("recipient", "li@firm.example")
    kw.setdefault("subject", "测试")
    kw.setdefault("text", "正文")
    kw.setdefault("html", "<p>正文</p>")
    begin_write_transaction()
    row = enqueue(key=key, kind="test", **kw)
    db.session.commit()
    return row


def test_a_queued_message_is_whole_and_queued_once(mail_app, app_context):
    with mail_app.app_context():
        row = queue()
        assert queue() is None
        stored = db.session.get(OutboxMessage, row.id)
        message = message_from_string(stored.raw, policy=policy.default)
        assert (message["From"], message["To"], message["Subject"], message["Message-ID"]) == (
            "G60 <noreply@g60.example>", "li@firm.example", "测试", stored.message_id)
        assert stored.message_id.endswith("@g60.example>")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


class RefusingInbox(Inbox):
    """A relay that refuses every recipient at refused.example (550)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == "long@refused.example":  # an answer longer than what is kept of it
            return "550 5.1.1 " + "x" * 2100
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_app(make_app):
    server = SmtpServer()
    server.inbox = RefusingInbox()
    server.start()
    yield make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_DEFAULT_SENDER="G60 <noreply@g60.example>",
                   PLATFORM_URL="https://g60.example"), server
    server.close()


def rows():
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_a_refused_recipient_does_not_hold_up_the_rest_of_the_batch(refusing_app, app_context):
    """The relay refuses one message (550 for its recipient): that message
    counts an attempt, and the run goes on with the rest of its batch; only
    a relay that is down ends the run. (smtplib's errors are OSErrors: the
    refusal used to be taken for a relay that is down, and the rest of the
    batch was given back untried.)"""
    app, server = refusing_app
    with app.app_context():
        queue("edge:refused", recipient="a@refused.example")
        queue("edge:fine", recipient="c@firm.example")
        report = deliver_due()
    assert (report.sent, report.failed, report.dead) == (1, 1, 0)
    assert [(row.status, row.attempts) for row in rows()] == [("queued", 1), ("sent", 0)]
    assert [m["To"] for m in server.messages] == ["c@firm.example"]
    with app.app_context():  # `flask mail deliver --all`: each message once a run, not until it dies
        again = deliver_due(include_waiting=True)
    assert (again.sent, again.failed, again.dead) == (0, 1, 0)
    assert [(row.status, row.attempts) for row in rows()] == [("queued", 2), ("sent", 0)]


def test_refused_recipients_back_off_one_two_four_minutes_each_then_die_together(refusing_app, app_context):
    """Each refused message counts in the run's report and waits 1, 2, 4 …
    minutes (from the run's clock) before its next attempt; after
    MAX_ATTEMPTS both die in the same run, and the error says what the
    relay answered."""
    app, server = refusing_app
    start = datetime.now(UTC) + timedelta(days=1)  # a run's `now` later than the real time is its clock
    with app.app_context():
        queue("edge:a", recipient="a@refused.example")
        queue("edge:b", recipient="b@refused.example")
        queue("edge:c", recipient="c@firm.example")
        first = deliver_due(now=start)
    assert (first.sent, first.failed, first.dead) == (1, 2, 0)
    a, b, c = rows()
    assert (a.status, a.attempts, a.next_attempt_at) == ("queued", 1, start + timedelta(minutes=1))
    assert a.last_error.startswith("SMTPRecipientsRefused: {'a@refused.example': (550, ")
    assert (c.status, c.sent_at) == ("sent", start) and [m["To"] for m in server.messages] == ["c@firm.example"]
    waits = []
    for attempt in range(2, MAX_ATTEMPTS + 1):
        now = a.next_attempt_at  # due from that very moment
        with app.app_context():
            report = deliver_due(now=now)
        a = rows()[0]
        if attempt < MAX_ATTEMPTS:
            assert (report.failed, report.dead) == (2, 0)
            waits.append(a.next_attempt_at - now)
    assert waits[:3] == [timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    assert (report.sent, report.failed, report.dead) == (0, 0, 2)
    assert [row.status for row in rows()] == ["dead", "dead", "sent"]


def test_an_error_is_kept_to_2000_characters(refusing_app, app_context):
    app, _ = refusing_app
    with app.app_context():
        queue("edge:long", recipient="long@refused.example")
        assert deliver_due().failed == 1
    assert len(rows()[0].last_error) == 2000


def test_a_resent_dead_message_starts_its_attempts_afresh(refusing_app, runner, app_context):
    app, _ = refusing_app
    start = datetime.now(UTC) + timedelta(days=1)
    with app.app_context():
        queue("edge:dead", recipient="a@refused.example")
        for attempt in range(MAX_ATTEMPTS):
            deliver_due(now=start + timedelta(days=attempt))
        [dead] = rows()
        assert (dead.status, dead.attempts) == ("dead", MAX_ATTEMPTS) and dead.last_error
        assert resend(dead.id).id == dead.id
        db.session.commit()
    [again] = rows()
    assert (again.status, again.attempts, again.last_error) == ("queued", 0, "")


def test_the_deliver_command_says_what_it_did(runner, mail_app, smtp, app_context):
    with mail_app.app_context():
        queue("edge:1")
        queue("edge:2")
    result = runner.invoke(args=["mail", "deliver"])
    assert result.exit_code == 0 and result.output == "sent 2, failed 0 (will retry), dead 0\n"


def test_a_relay_that_wants_tls_from_the_first_byte_is_a_server_down(make_app, smtp, app_context):
    """MAIL_USE_SSL against a relay that speaks plain SMTP: the handshake
    fails, the message counts an attempt and waits, nothing is lost."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_USE_SSL=True,
                   MAIL_DEFAULT_SENDER="G60 <noreply@g60.example>")
    with app.app_context():
        queue("edge:ssl")
        report = deliver_due()
    assert (report.sent, report.failed) == (0, 1)
    [row] = rows()
    assert row.status == "queued" and row.attempts == 1 and "SSL" in row.last_error


def test_a_message_the_delivery_run_composes_is_queued_once_and_sent(mail_app, smtp, make, day, app_context):
    """enqueue_to_compose writes a small row (no bytes yet) once per key;
    the delivery run composes it from its booking and sends it."""
    from ..booking.conftest import iso
    from ..factories import ApiClient

    booker = make.user(email="li@firm.example")
    client = ApiClient(mail_app.test_client(), mail_app).as_user(booker)
    booking_id = client.post("/api/v1/bookings", json={
        "instrument_id": make.instrument().id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "XRD"}).json["id"]
    [queued] = rows()
    with mail_app.app_context():
        begin_write_transaction()
        for _ in range(2):
            enqueue_to_compose(key="edge:again", kind=queued.kind, recipient="wang@firm.example",
                               subject="再次", booking_id=booking_id, compose_from=queued.compose_from)
        db.session.commit()
    again = rows()[1:]
    assert [(row.idempotency_key, row.kind, row.recipient, row.subject, row.booking_id, row.raw,
             row.compose_from) for row in again] == [
        ("edge:again", queued.kind, "wang@firm.example", "再次", booking_id, None, queued.compose_from)]
    with mail_app.app_context():
        assert deliver_due().sent == 2
    assert sorted(m["To"] for m in smtp.messages) == ["li@firm.example", "wang@firm.example"]


# --- the connection to the relay -------------------------------------------------


@pytest.fixture
def self_signed(tmp_path):
    """A certificate for 127.0.0.1 that no authority signed."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def relay_app(make_app, port, **settings):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_DEFAULT_SENDER="G60 <noreply@g60.example>",
                    **settings)


@pytest.mark.parametrize("implicit", [True, False], ids=["ssl", "starttls"])
def test_a_relay_whose_certificate_nobody_signed_gets_no_mail(make_app, self_signed, implicit, app_context):
    """Over TLS (MAIL_USE_SSL, or MAIL_USE_TLS's STARTTLS) the relay's
    certificate is checked: a self-signed one is a relay that is down."""
    inbox = Inbox()
    listener = socket.create_server(("127.0.0.1", 0))
    controller = (Controller(inbox, hostname="127.0.0.1", port=listener.getsockname()[1], ssl_context=self_signed)
                  if implicit else
                  Controller(inbox, hostname="127.0.0.1", port=listener.getsockname()[1],
                             tls_context=self_signed))
    port = listener.getsockname()[1]
    listener.close()
    controller.start()
    try:
        app = relay_app(make_app, port, **({"MAIL_USE_SSL": True} if implicit else {"MAIL_USE_TLS": True}))
        with app.app_context():
            queue("edge:tls")
            report = deliver_due()
    finally:
        controller.stop()
    assert (report.sent, report.failed, inbox.messages) == (0, 1, [])
    assert "CERTIFICATE_VERIFY_FAILED" in rows()[0].last_error


@pytest.mark.parametrize("implicit", [True, False], ids=["ssl", "plain"])
def test_a_relay_that_never_answers_is_given_up_after_the_timeout(make_app, monkeypatch, implicit, app_context):
    """A relay that takes the connection and never says a word: the run
    waits SMTP_TIMEOUT (shortened here), then takes it for down."""
    monkeypatch.setattr(delivery, "SMTP_TIMEOUT", 0.5)
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        app = relay_app(make_app, silent.getsockname()[1], MAIL_USE_SSL=implicit)
        with app.app_context():
            queue("edge:silent")
        reports = []

        def run():
            with app.app_context():
                reports.append(deliver_due())

        waiting = threading.Thread(target=run, daemon=True)  # a run that waited for ever would stay behind
        waiting.start()
        waiting.join(5)  # SMTP_TIMEOUT is 0.5 s here
        assert not waiting.is_alive(), "the run still waits for a relay that never answers"
        [report] = reports
    finally:
        silent.close()
    assert (report.sent, report.failed) == (0, 1)
    assert "timed out" in rows()[0].last_error


# --- what enqueue writes ------------------------------------------------------------


def test_attachments_arrive_as_sent_text_in_utf_8_and_bytes_as_they_are(mail_app, smtp, app_context):
    table = "城市,金额\r\n金华,100.00\r\n".encode()
    pdf = b"%PDF-1.4\n\x00\xff binary"
    with mail_app.app_context():
        queue("edge:attached", attachments=(("报表.csv", "text/csv", table), ("receipt.pdf", "application/pdf", pdf)))
        assert deliver_due().sent == 1
    [message] = smtp.messages
    parts = [(part.get_content_type(), part.get_filename(), part.get_content_charset(), part["Content-Transfer-Encoding"],
              part.get_payload(decode=True)) for part in message.iter_attachments()]
    assert parts == [("text/csv", "报表.csv", "utf-8", "base64", table),
                     ("application/pdf", "receipt.pdf", None, "base64", pdf)]
    body = message.get_body(("plain",))
    assert body.get_content().rstrip() == "正文" and message.get_body(("html",)).get_content().rstrip() == "<p>正文</p>"


def _series_mail_template(app, make, day) -> dict:
    """The fields of a booking's queued mail to compose, from a booking made
    through the API, for a series' further mails (their keys to add)."""
    from ..booking.conftest import iso
    from ..factories import ApiClient

    client = ApiClient(app.test_client(), app).as_user(make.user(email="li@firm.example"))
    booking_id = client.post("/api/v1/bookings", json={
        "instrument_id": make.instrument().id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "XRD"}).json["id"]
    [first] = rows()
    template = {"kind": first.kind, "recipient": "wang@firm.example", "subject": "系列", "booking_id": booking_id,
                "compose_from": first.compose_from}
    return template


def test_many_messages_to_compose_are_queued_once_each_whatever_their_number(app, make, day, app_context):
    """A long series queues a mail per occurrence: keys already in the outbox
    (looked up 500 at a time) and keys twice in the list are queued once."""
    template = _series_mail_template(app, make, day)
    begin_write_transaction()
    enqueue_many_to_compose([{**template, "key": f"edge:many:{n}"} for n in (0, 500, 1000)])
    db.session.commit()
    begin_write_transaction()
    keys = [f"edge:many:{n}" for n in range(1001)] + ["edge:many:7"]
    enqueue_many_to_compose([{**template, "key": key} for key in keys])
    db.session.commit()
    queued = [row.idempotency_key for row in rows()[1:]]
    assert sorted(queued) == sorted(set(keys)) and len(queued) == 1001


def test_a_long_series_looks_its_keys_up_500_at_a_time(app, make, day, app_context):
    """Queueing a mail per occurrence costs one look-up of the keys already
    queued per 500 mails (1 for 500, 2 for 501, 3 for 1,002), not one per mail."""
    template = _series_mail_template(app, make, day)
    lookups = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "outbox_messages" in statement:
            lookups.append(statement)

    counts = []
    for start, size in ((0, 500), (500, 501), (1001, 1002)):
        lookups.clear()
        begin_write_transaction()
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            enqueue_many_to_compose([{**template, "key": f"edge:lookups:{n}"} for n in range(start, start + size)])
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        db.session.commit()
        counts.append(len(lookups))
    assert counts == [1, 2, 3]
    assert len(rows()) == 1 + 500 + 501 + 1002


class HoldingInbox(Inbox):
    """A relay that keeps the first message's DATA unanswered until `release` is set."""

    def __init__(self):
        super().__init__()
        self.holding, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not self.holding.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


def test_messages_whose_run_hangs_while_sending_are_sent_by_a_run_after_its_lease(make_app, app_context):
    """Run A renews its lease on the first message and hands it to a relay
    that does not answer; once A's leases have run out, run B takes all
    three over and sends them (the first one again: the same Message-ID,
    so clients show it once). A, answered at last, skips the two B took
    and says so."""
    server = SmtpServer()
    server.inbox = HoldingInbox()
    server.start()
    reports = []
    try:
        app = relay_app(make_app, server.port)
        with app.app_context():
            for n in range(3):
                queue(f"edge:held:{n}", recipient=f"r{n}@firm.example")

        start = datetime.now(UTC) + timedelta(days=1)  # A's clock, so its leases: start + lease

        def run():
            with app.app_context():
                reports.append(deliver_due(now=start))

        hanging = threading.Thread(target=run, daemon=True)
        hanging.start()
        assert wait_while_alive(server.inbox.holding, hanging)
        lease = timedelta(seconds=app.config["MAIL_LEASE_SECONDS"])
        taken_over = start + lease + timedelta(seconds=1)
        with app.app_context():
            assert deliver_due(now=start + lease).sent == 0  # the lease's last instant is A's still
            later = deliver_due(now=taken_over)
        assert (later.sent, later.skipped) == (3, 0)
    finally:
        server.inbox.release.set()
        hanging.join(15)
        server.close()
    [first] = reports
    assert str(first) == "sent 1, failed 0 (will retry), dead 0, skipped 2 (taken over by another run)"
    # Sent when B's relay took them: A, answered later, does not mark them again.
    assert [(row.status, row.sent_at) for row in rows()] == [("sent", taken_over)] * 3
    assert len({m["Message-ID"] for m in server.messages}) == 3


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_relay_that_wants_a_login_gets_the_configured_one(make_app, app_context):
    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data == LoginPassword(b"mailer", b"s3cret-key"))

    inbox = Inbox()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        app = relay_app(make_app, port, MAIL_USERNAME="mailer", MAIL_PASSWORD="s3cret-key")
        with app.app_context():
            queue("edge:login")
            assert deliver_due().sent == 1
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == ["li@firm.example"]


def test_a_message_sent_after_a_failure_keeps_no_error_and_no_lease(mail_app, smtp, app_context):
    with mail_app.app_context():
        queue("edge:retry")
        smtp.stop()
        assert deliver_due().failed == 1
        assert rows()[0].last_error
        smtp.start()
        assert deliver_due(include_waiting=True).sent == 1
    [row] = rows()
    assert (row.status, row.last_error, row.claimed_at, row.attempts) == ("sent", "", None, 1)


# --- what compose writes --------------------------------------------------------------


INVITE = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
          "UID:edge@g60.example\r\nSUMMARY:场发射扫描电镜\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_an_invite_carries_its_calendar_inline_and_as_an_ics_file_all_in_seven_bits(
        mail_app, smtp, make, day, method, app_context):
    """RFC 6047: text, HTML and the calendar (with its METHOD) as
    alternatives, and the same calendar attached as invite.ics
    (application/ics, the same METHOD). Every text part quoted-printable,
    so the message is 7-bit; dated now; the row names its booking."""
    from ..booking.conftest import iso
    from ..factories import ApiClient

    client = ApiClient(mail_app.test_client(), mail_app).as_user(make.user(email="li@firm.example"))
    booking_id = client.post("/api/v1/bookings", json={
        "instrument_id": make.instrument().id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "XRD"}).json["id"]
    calendar = INVITE.format(method=method).encode()
    before = datetime.now(UTC).replace(microsecond=0)
    with mail_app.app_context():
        row = queue("edge:invite", calendar=calendar, method=method, booking_id=booking_id)
        stored = db.session.get(OutboxMessage, row.id)
        assert (stored.booking_id, stored.kind) == (booking_id, "test")
        assert stored.raw.isascii()
        message_id = stored.message_id
        assert deliver_due().sent == 2  # with the booking's own mail
    [message] = [m for m in smtp.messages if m["Message-ID"] == message_id]
    assert parsedate_to_datetime(message["Date"]) >= before
    assert parsedate_to_datetime(message["Date"]) <= datetime.now(UTC)
    alternative = next(part for part in message.walk() if part.get_content_type() == "multipart/alternative")
    inline = [(part.get_content_type(), part.get_param("method"), part["Content-Transfer-Encoding"])
              for part in alternative.iter_parts()]
    assert inline == [("text/plain", None, "quoted-printable"), ("text/html", None, "quoted-printable"),
                      ("text/calendar", method, "quoted-printable")]
    calendar_part = list(alternative.iter_parts())[2]
    assert calendar_part.get_payload(decode=True) == calendar
    [attached] = message.iter_attachments()
    assert (attached.get_content_type(), attached.get_param("method"), attached.get_filename(),
            attached.get_payload(decode=True)) == ("application/ics", method, "invite.ics", calendar)


def test_a_stored_address_with_a_line_break_is_queued_as_the_address_alone(mail_app, make, day, app_context):
    """A recipient read from a row written before the text rules (a line
    break and a Bcc after the address) is queued as the address alone, by
    enqueue and by enqueue_to_compose alike; one with no address at all
    as one printable line. Either way the Message-ID is the platform's."""
    from ..booking.conftest import iso
    from ..factories import ApiClient

    client = ApiClient(mail_app.test_client(), mail_app).as_user(make.user(email="li@firm.example"))
    booking_id = client.post("/api/v1/bookings", json={
        "instrument_id": make.instrument().id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "XRD"}).json["id"]
    [booked] = rows()
    dirty = "wang@firm.example\r\nBcc: all@evil.example"
    with mail_app.app_context():
        queue("edge:dirty", recipient=dirty)
        queue("edge:nobody", recipient="\x07王老师\r\n(no address)")
        begin_write_transaction()
        enqueue_to_compose(key="edge:dirty:compose", kind=booked.kind, recipient=dirty, subject="再次",
                           booking_id=booking_id, compose_from=booked.compose_from)
        enqueue_to_compose(key="edge:nobody:compose", kind=booked.kind, recipient="\x07王老师\r\n(no address)",
                           subject="再次", booking_id=booking_id, compose_from=booked.compose_from)
        db.session.commit()
    assert [row.recipient for row in rows()] == [
        "li@firm.example", "wang@firm.example", "王老师 (no address)", "wang@firm.example", "王老师 (no address)"]
    assert all(row.message_id.endswith("@g60.example>") for row in rows())


def test_a_recipient_with_no_address_is_addressed_as_its_one_printable_line(mail_app, app_context):
    """A stored recipient holding no address at all (a name and a note, with
    a control character and a line break) is queued, and its message's To
    header written, as that one printable line: never left empty."""
    with mail_app.app_context():
        row = queue("edge:nobody:to", recipient="\x07王老师\r\n(no address)")
        stored = db.session.get(OutboxMessage, row.id)
        to = message_from_string(stored.raw)["To"]  # as written (an address parser takes "(…)" for a comment)
    assert stored.recipient == "王老师 (no address)"
    assert str(make_header(decode_header(to))) == "王老师 (no address)"


def test_a_mail_composed_by_the_delivery_run_is_addressed_to_its_stored_address_alone(
        mail_app, smtp, make, day, app_context):
    """A row the delivery run composes, written before addresses were
    cleaned at the door (a line break and a Bcc after the address, written
    here past the door), is composed with the address alone in its To
    header, as in its envelope."""
    template = _series_mail_template(mail_app, make, day)
    with mail_app.app_context():
        begin_write_transaction()
        enqueue_to_compose(key="edge:old:compose", **template)
        db.session.commit()
        begin_write_transaction()
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.idempotency_key == "edge:old:compose")
                           .values(recipient="wang@firm.example\r\nBcc: all@evil.example"))
        db.session.commit()
        assert deliver_due().sent == 2  # with the booking's own mail
    [old] = [row for row in rows() if row.idempotency_key == "edge:old:compose"]
    composed = message_from_string(old.raw)  # the header as written: an address parser drops what follows
    assert (composed["To"], composed["Bcc"]) == ("wang@firm.example", None)
    assert [m["To"] for m in smtp.messages if m["Message-ID"] == old.message_id] == ["wang@firm.example"]
