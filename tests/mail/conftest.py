"""A real SMTP server in the test process (aiosmtpd), and an app that uses it."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """Collects what the SMTP server accepted; with `delay`, a slow relay
    that takes that many seconds over every message before it answers."""

    def __init__(self, delay: float = 0.0):
        self.messages = []
        self.delay = delay
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.arrived:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30, sender: threading.Thread | None = None) -> None:
        """Until `count` messages have arrived, no longer than `sender` (the
        thread whose run sends them) lives: a run that died is not waited
        for until the timeout (mutation testing has many such runs)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.messages) < count and time.monotonic() < deadline:
                if sender is not None and not sender.is_alive():
                    break
                self.arrived.wait(0.05)
            assert len(self.messages) >= count, f"only {len(self.messages)} of {count} messages arrived"


def wait_while_alive(event: threading.Event, thread: threading.Thread, timeout: float = 15) -> bool:
    """`event.wait(timeout)`, given up as soon as `thread`, which would set
    it, has ended."""
    deadline = time.monotonic() + timeout
    while not event.wait(0.05):
        if not thread.is_alive() or time.monotonic() > deadline:
            return event.is_set()
    return True


class BoundController(Controller):
    """aiosmtpd's controller on a socket bound here first, to a port the
    system chose: no free port is looked up and then raced for (tests in
    parallel processes each start servers of their own)."""

    def __init__(self, handler, listener: socket.socket):
        self.listener = listener
        super().__init__(handler, hostname="127.0.0.1", port=listener.getsockname()[1])

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self.listener, ssl=self.ssl_context)


class SmtpServer:
    """Stopped, it refuses connections but keeps its port (a socket bound
    there, not listening), so that started again it is the same relay, back."""

    def __init__(self, delay: float = 0.0):
        self.held = socket.socket()
        self.held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.held.bind(("127.0.0.1", 0))
        self.port = self.held.getsockname()[1]
        self.inbox = Inbox(delay)
        self.controller = None

    def start(self):
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR, as `held`
        self.held.close()
        self.controller = BoundController(self.inbox, listener)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller.listener.close()
            self.controller = None
            self.held = socket.socket()
            self.held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.held.bind(("127.0.0.1", self.port))

    def close(self):
        self.stop()
        self.held.close()

    @property
    def messages(self):
        return self.inbox.messages


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def slow_smtp():
    """A relay that takes 0.6 s over every message."""
    server = SmtpServer(delay=0.6)
    server.start()
    yield server
    server.close()


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port,
                    MAIL_DEFAULT_SENDER="G60 <noreply@g60.example>",
                    PLATFORM_URL="https://g60.example")


@pytest.fixture
def deliver(mail_app):
    from instrument_share.mail.delivery import deliver_due

    def run(**kwargs):
        with mail_app.app_context():
            return deliver_due(**kwargs)

    return run
