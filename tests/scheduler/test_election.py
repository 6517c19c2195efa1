"""Two scheduler processes on one database: one leads, the other takes over."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest


class SchedulerProcess:
    def __init__(self, database_url: str):
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
               "SCHEDULER_LEASE_SECONDS": "3", "SCHEDULER_POLL_SECONDS": "0.3", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "instrument_share", "scheduler"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def leading(self) -> bool:
        return any(": leading" in line for line in self.lines)

    def kill(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.reader.join(10)  # the pipe reaches its end once the process is gone
        self.process.stdout.close()


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def schedulers(database_url):
    started = []

    def start():
        process = SchedulerProcess(database_url)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def test_one_leads_and_the_other_takes_over(schedulers):
    first, second = schedulers(), schedulers()
    assert wait_for(lambda: first.leading or second.leading, 30), first.lines + second.lines
    time.sleep(2)  # long enough for a wrongly elected second leader to show
    assert [first.leading, second.leading].count(True) == 1, first.lines + second.lines
    leader, standby = (first, second) if first.leading else (second, first)
    leader.kill()
    assert wait_for(lambda: standby.leading, 20), standby.lines
    assert standby.process.poll() is None
