"""The recorder: one clock and one list for every client thread and the nemesis.

Instants are microseconds since the run began, taken from the monotonic clock and forced
strictly increasing under a lock: no two events share an instant, so "A completed before B was
invoked" is never a tie (`seshat.check.history` treats ties as concurrent, which could hide an
anomaly), and the same numbers still read as real time for the latency plot.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seshat.check import NemesisEvent, Op, Record, write_jsonl

US_PER_S = 1_000_000


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._t0_ns = time.monotonic_ns()
        self._last = -1
        self.records: list[Record] = []
        self.errors: dict[tuple[str, str], int] = {}  # (status, error class) -> count
        self.error_examples: dict[tuple[str, str], str] = {}

    def count_error(self, status: str, text: str) -> None:
        """Tally client errors by status and kind, with one example text each (report)."""
        kind = re.sub(r"\d+", "#", text)[:90]  # "Error 111 connecting to 10.0.0.3:6379" -> one kind
        with self._lock:
            self.errors[(status, kind)] = self.errors.get((status, kind), 0) + 1
            self.error_examples.setdefault((status, kind), text)

    def now(self) -> int:
        """A strictly increasing instant in microseconds since the recorder was made."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> int:
        t = (time.monotonic_ns() - self._t0_ns) // 1000
        if t <= self._last:
            t = self._last + 1
        self._last = t
        return t

    def seconds(self) -> float:
        return (time.monotonic_ns() - self._t0_ns) / 1e9

    def op(self, op: Op) -> None:
        with self._lock:
            self.records.append(op)

    def nemesis(self, fault: str, phase: str, detail: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            self.records.append(NemesisEvent(self._now_locked(), fault, phase, dict(detail or {})))

    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)

    def write(self, path: Path) -> None:
        write_jsonl(path, self.snapshot())
