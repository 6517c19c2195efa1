"""Real HTTP servers around the test app, for concurrency tests: werkzeug's
threaded server in this process, or gunicorn as deployed."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from .waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def http_json(method: str, url: str, body=None, token: str | None = None, timeout: float = 60):
    """(status, parsed JSON) over a real socket."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


class Gunicorn:
    """gunicorn serving `create_app()` on a socket we bound ourselves
    (`--bind fd://N`: no race for a free port), stderr kept in a file."""

    def __init__(self, database_url: str, instance_path: Path, workers: int):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.listener.set_inheritable(True)
        self.port = self.listener.getsockname()[1]
        self.log_path = instance_path / "gunicorn.log"
        self.log = self.log_path.open("wb")
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "stress-secret",
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "RATELIMIT_STORAGE_URI": "memory://",
            "MAIL_SERVER": "",
        }
        spec = f"instrument_share:create_app({{'INSTANCE_PATH': {str(instance_path)!r}}})"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers),
             "--worker-class", "sync", "--bind", f"fd://{self.listener.fileno()}",
             "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning", spec],
            cwd=ROOT, env=env, pass_fds=(self.listener.fileno(),),
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    def stderr(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")[-20000:]

    def answers(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.stderr()}")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/api/v1/cities")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def wait_until_ready(self, timeout: float = 30) -> None:
        wait_for(self.answers, timeout, interval=0.1, what=self.stderr)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.listener.close()
        self.log.close()
