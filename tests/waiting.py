"""Waiting in tests: poll a condition until a deadline, never sleep a guessed time.

A test that needs the cluster (or a server) to reach some state asks for that state again and
again until it holds or the deadline passes; the caller then asserts on it, so a slow machine
only makes a test slower, and a broken one fails with the test's own message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(
    condition: Callable[[], T],
    timeout_s: float = 10.0,
    interval_s: float = 0.02,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T | None:
    """`condition()`'s first truthy value, or None once `timeout_s` has passed.

    Exceptions listed in `retry_on` (an election in progress, a node restarting) count as
    "not yet".
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = condition()
        except retry_on:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval_s)
