"""The one way tests wait for something another thread or process does."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 30, interval: float = 0.05,
             *, what: str | Callable[[], str] = "") -> T:
    """Call `condition` every `interval` seconds until it returns something
    true, and return that. After `timeout` seconds the test fails, saying
    `what` (a text, or a function that makes one then, e.g. a process's log).

    Only for waiting until something happens; that something does NOT
    happen is shown by waiting for a positive sign that the chance was given
    (a count of attempts, a log line), never by sleeping."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            detail = what() if callable(what) else what
            raise AssertionError(f"not within {timeout} s: {getattr(condition, '__name__', 'condition')}"
                                 + (f"\n{detail}" if detail else ""))
        time.sleep(interval)
