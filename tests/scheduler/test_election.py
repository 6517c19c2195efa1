"""Two scheduler processes on one database: one leads, the other takes over."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ..waiting import wait_for

LEASE_SECONDS = 3

# `flask scheduler`, printing the outcome of every election attempt, so that
# the test sees the standby try and lose instead of sleeping and hoping it
# tried. Only a print is added around the real Elector.try_acquire.
COUNTED_SCHEDULER = """
import sys
from flask.cli import main
from instrument_share.scheduler.election import Elector
elect = Elector.try_acquire
def counted(self):
    won = elect(self)
    print("election attempt:", "won" if won else "lost", flush=True)
    return won
Elector.try_acquire = counted
sys.argv = ["flask", "--app", "instrument_share", "scheduler"]
main()
"""


class SchedulerProcess:
    def __init__(self, database_url: str):
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
               "SCHEDULER_LEASE_SECONDS": str(LEASE_SECONDS), "SCHEDULER_POLL_SECONDS": "0.3",
               "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", COUNTED_SCHEDULER],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.read: list[tuple[float, str]] = []  # (when the test read it, line)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.read.append((time.monotonic(), line))

    @property
    def lines(self) -> str:
        return "".join(line for _, line in self.read)

    def led_since(self) -> float | None:
        """When the test read this process's 'leading' line; None if it has not led."""
        return next((at for at, line in self.read if ": leading" in line), None)

    @property
    def leading(self) -> bool:
        return self.led_since() is not None

    def lost_after(self, moment: float) -> int:
        return sum(1 for at, line in self.read if at > moment and "election attempt: lost" in line)

    def kill(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.reader.join(10)  # the pipe reaches its end once the process is gone
        self.process.stdout.close()


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


@pytest.mark.slow
def test_one_leads_and_the_other_takes_over(schedulers):
    first, second = schedulers(), schedulers()
    both = lambda: f"--- first\n{first.lines}--- second\n{second.lines}"  # noqa: E731
    wait_for(lambda: first.leading or second.leading, 30, what=both)
    leader, standby = (first, second) if first.leading else (second, first)

    # The standby keeps trying while the other leads. A wrongly elected second
    # leader shows on the standby's next attempt, or, if the leader failed to
    # renew its lease, once that lease has run out: so wait until the standby
    # has lost twice more than a whole lease after the leader was elected
    # (or has won, wrongly), and no longer.
    lease_out = leader.led_since() + LEASE_SECONDS
    wait_for(lambda: standby.leading or standby.lost_after(lease_out) >= 2, 30, what=both)
    assert not standby.leading, both()
    assert leader.leading and leader.process.poll() is None, both()

    leader.kill()
    wait_for(lambda: standby.leading, 20, what=both)
    assert standby.process.poll() is None
